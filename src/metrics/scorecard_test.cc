#include "metrics/scorecard.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace metrics {
namespace {

using core::Status;
using core::StatusCode;
using ::testing::ElementsAre;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kDay = 1440 * kMinute;
constexpr int64_t kJan = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kFeb = kJan + 31 * kDay;
constexpr int64_t kMar = kFeb + 28 * kDay;

authz::Principal Staff(int64_t agency, authz::Role role) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{1};
  p.agency = core::AgencyId{agency};
  p.name = "staff";
  p.roles = {role};
  return p;
}

class ScorecardTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = testing_support::NewMigratedDatabase(GetParam(), dir_, 4);
    clock_.Set(core::Timestamp{kMar + 40 * kDay});
    metrics_ = std::make_unique<ServiceMetricsService>(*db_, audit_, clock_, MetricsOptions{5, "UTC"});
    cards_ = std::make_unique<ScorecardService>(*db_, audit_, clock_, *metrics_, "UTC");
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) -> Status {
                     auto run = [&](const std::string& sql, storage::Params p = {}) {
                       return tx.Execute(sql, std::move(p)).status();
                     };
                     for (const char* code : {"city", "state"}) {
                       RETURN_IF_ERROR(run("INSERT INTO agencies (code, name, kind, created_at) VALUES (?, ?, "
                                           "'government', 0)",
                                           {std::string(code), std::string(code) + " agency"}));
                     }
                     RETURN_IF_ERROR(run("INSERT INTO offices (agency_id, name, address, created_at) VALUES (1, "
                                         "'Centre', '', 0)"));
                     RETURN_IF_ERROR(run("INSERT INTO queues (office_id, code, name, directory_service_id, "
                                         "created_at) VALUES (1, 'A', 'Benefits', NULL, 0)"));
                     // January: 3 contacts (too few to show); February: 10, 9 resolved; March: 10, 6.
                     auto contacts = [&](int64_t month, int n, int resolved) -> Status {
                       for (int i = 0; i < n; ++i) {
                         RETURN_IF_ERROR(run("INSERT INTO interactions (agency_id, recorded_by, channel, topic, "
                                             "outcome, note, at) VALUES (1, 'x', 'desk', 'Rent', ?, '', ?)",
                                             {std::string(i < resolved ? "resolved" : "follow_up"),
                                              month + 3 * kDay + i * kMinute}));
                       }
                       return Status::Ok();
                     };
                     RETURN_IF_ERROR(contacts(kJan, 3, 3));
                     RETURN_IF_ERROR(contacts(kFeb, 10, 9));
                     RETURN_IF_ERROR(contacts(kMar, 10, 6));
                     // March: six visitors called after 2, 4, 6, 8, 10 and 30 minutes.
                     const int waits[] = {2, 4, 6, 8, 10, 30};
                     for (int i = 0; i < 6; ++i) {
                       const int64_t arrived = kMar + 5 * kDay + i * 40 * kMinute;
                       const int64_t called = arrived + waits[i] * kMinute;
                       RETURN_IF_ERROR(run("INSERT INTO tickets (office_id, queue_id, day, code, number, label, "
                                           "priority, state, recalls, arrived_at, called_at, served_at, finished_at) "
                                           "VALUES (1, 1, '2026-03-06', 'A', ?, ?, 0, 'done', 0, ?, ?, ?, ?)",
                                           {int64_t{i + 1}, fmt::format("A{:03}", i + 1), arrived, called, called,
                                            called + 10 * kMinute}));
                     }
                     return Status::Ok();
                   })
                    .ok());
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  audit::AuditLog audit_{clock_};
  std::unique_ptr<ServiceMetricsService> metrics_;
  std::unique_ptr<ScorecardService> cards_;
  const authz::Principal manager_ = Staff(1, authz::Role::kManager);
};

TEST_P(ScorecardTest, EachTargetIsMetMissedOrUnknownWithItsTrend) {
  auto add = [&](NewTarget t) {
    auto r = cards_->AddTarget(manager_, core::AgencyId{1}, t);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Target{};
  };
  const Target fcr = add({"first_contact_resolution_percent", "at_least", 80, 0});
  const Target within = add({"waited_within_percent", "at_least", 80, 20});
  const Target p90 = add({"wait_p90_minutes", "at_most", 20, 0});
  const Target satisfied = add({"satisfied_percent", "at_least", 90, 0});
  EXPECT_EQ(within.label, "Visitors called within 20 minutes: at least 80%");
  EXPECT_EQ(p90.label, "Waiting time at the offices, 90th percentile: at most 20 minutes");

  auto card = cards_->Monthly(manager_, core::AgencyId{1}, "2026-03");
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  EXPECT_EQ(card->agency_name, "city agency");
  ASSERT_EQ(card->results.size(), 4u);
  const TargetResult& r0 = card->results[0];
  EXPECT_EQ(r0.target.id, fcr.id);
  EXPECT_EQ(r0.status, "missed");
  EXPECT_EQ(*r0.actual, 60.0);
  std::vector<std::string> months;
  for (const auto& m : r0.trend) months.push_back(m.month);
  EXPECT_THAT(months, ElementsAre("2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"));
  EXPECT_FALSE(r0.trend[0].value.has_value());
  EXPECT_FALSE(r0.trend[0].suppressed);  // nothing then: not a small cell
  EXPECT_TRUE(r0.trend[3].suppressed);   // January's three
  EXPECT_EQ(*r0.trend[4].value, 90.0);
  EXPECT_EQ(card->results[1].status, "met");  // five of six within 20 minutes
  EXPECT_EQ(*card->results[1].actual, 83.3);
  EXPECT_EQ(card->results[2].status, "missed");
  EXPECT_EQ(*card->results[2].actual, 30.0);
  EXPECT_EQ(card->results[3].target.id, satisfied.id);
  EXPECT_EQ(card->results[3].status, "unknown");  // no rating at all
  EXPECT_EQ(card->met, 1);
  EXPECT_EQ(card->missed, 2);
  EXPECT_EQ(card->unknown, 1);

  // February's card: the resolution target met then.
  auto february = cards_->Monthly(manager_, core::AgencyId{1}, "2026-02");
  ASSERT_TRUE(february.ok());
  EXPECT_EQ(february->results[0].status, "met");
  EXPECT_EQ(cards_->Monthly(manager_, core::AgencyId{1}, "2026-13").status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ScorecardTest, TargetsAreSetByGovernanceAndTheAgencysManagersAndEveryMistakeIsNamed) {
  // Another agency's manager is refused before the target is judged.
  EXPECT_EQ(cards_->AddTarget(manager_, core::AgencyId{2}, {"happiness", "about", -1, 0}).status().code(),
            StatusCode::kPermissionDenied);
  auto bad = cards_->AddTarget(manager_, core::AgencyId{1}, {"happiness", "about", -1, 0});
  ASSERT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : bad.status().fields()) fields.push_back(f.field);
  EXPECT_THAT(fields, ElementsAre("metric", "comparison"));
  auto no_minutes = cards_->AddTarget(manager_, core::AgencyId{1}, {"waited_within_percent", "at_least", 120, 0});
  fields.clear();
  for (const auto& f : no_minutes.status().fields()) fields.push_back(f.field);
  EXPECT_THAT(fields, ElementsAre("value", "minutes"));
  EXPECT_EQ(cards_->AddTarget(Staff(1, authz::Role::kCaseworker), core::AgencyId{1},
                              {"satisfied_percent", "at_least", 90, 0})
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(cards_->AddTarget(Staff(2, authz::Role::kManager), core::AgencyId{1}, {"satisfied_percent", "at_least", 90, 0})
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  auto set = cards_->AddTarget(Staff(2, authz::Role::kGovernance), core::AgencyId{1},
                               {"satisfied_percent", "at_least", 90, 0});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  auto listed = cards_->Targets(Staff(1, authz::Role::kAuditor), core::AgencyId{1});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().set_by, "staff");
  EXPECT_EQ(cards_->Targets(Staff(2, authz::Role::kManager), core::AgencyId{1}).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(cards_->RemoveTarget(Staff(1, authz::Role::kAuditor), set->id).code(), StatusCode::kPermissionDenied);
  int64_t refused = 0;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(storage::Rows r, tx.Query("SELECT COUNT(*) FROM audit_log WHERE action IN "
                                                              "('target.add', 'target.remove') AND allowed = 0"));
                   refused = r.at(0).Int(0);
                   return Status::Ok();
                 })
                  .ok());
  EXPECT_EQ(refused, 4);  // three additions (the first above), one removal
  ASSERT_TRUE(cards_->RemoveTarget(manager_, set->id).ok());
  EXPECT_EQ(cards_->RemoveTarget(manager_, set->id).code(), StatusCode::kNotFound);
  EXPECT_TRUE(cards_->Targets(manager_, core::AgencyId{1})->empty());
}

INSTANTIATE_TEST_SUITE_P(Databases, ScorecardTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace metrics
