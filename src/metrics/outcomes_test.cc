#include "metrics/outcomes.h"

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
constexpr int64_t kMar = 1'772'323'200'000'000;  // 2026-03-01T00:00:00Z

authz::Principal Staff(int64_t agency, authz::Role role) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{agency * 10 + static_cast<int64_t>(role)};
  p.agency = core::AgencyId{agency};
  p.name = "staff";
  p.roles = {role};
  return p;
}

std::vector<std::string> Fields(const Status& s) {
  std::vector<std::string> out;
  for (const auto& f : s.fields()) out.push_back(f.field + ": " + f.message);
  return out;
}

class OutcomesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = testing_support::NewMigratedDatabase(GetParam(), dir_, 2);
    clock_.Set(core::Timestamp{kMar + 40 * kDay});
    metrics_ = std::make_unique<ServiceMetricsService>(*db_, audit_, clock_, MetricsOptions{5, "UTC"});
    cards_ = std::make_unique<ScorecardService>(*db_, audit_, clock_, *metrics_, "UTC");
    outcomes_ = std::make_unique<OutcomeService>(*db_, audit_, clock_, *cards_, *metrics_, [] {
      return std::vector<KnownProgram>{{"rent", "Rent help", "city"}, {"snap", "Food assistance", "state"}};
    });
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) -> Status {
                     auto run = [&](const std::string& sql, storage::Params p = {}) {
                       return tx.Execute(sql, std::move(p)).status();
                     };
                     for (const char* code : {"city", "state"}) {
                       RETURN_IF_ERROR(run("INSERT INTO agencies (code, name, kind, created_at) VALUES (?, ?, "
                                           "'government', 0)",
                                           {std::string(code), std::string(code) + " agency"}));
                     }
                     RETURN_IF_ERROR(run("INSERT INTO directory_services (service_id, name, status, modified_at, "
                                         "search_text) VALUES ('svc-debt', 'Debt advice', 'active', 0, '')"));
                     // March: the city's ten contacts, nine resolved at the first contact.
                     for (int i = 0; i < 10; ++i) {
                       RETURN_IF_ERROR(run("INSERT INTO interactions (agency_id, recorded_by, channel, topic, "
                                           "outcome, note, at) VALUES (1, 'x', 'desk', 'Rent', ?, '', ?)",
                                           {std::string(i < 9 ? "resolved" : "follow_up"), kMar + kDay + i * kMinute}));
                     }
                     return Status::Ok();
                   })
                    .ok());
  }

  int64_t Refusals(const std::string& action) {
    int64_t n = -1;
    EXPECT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                     ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT COUNT(*) FROM audit_log WHERE action = ? "
                                                                   "AND allowed = 0",
                                                                   {action}));
                     n = rows.at(0).Int(0);
                     return Status::Ok();
                   }).ok());
    return n;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  audit::AuditLog audit_{clock_};
  std::unique_ptr<ServiceMetricsService> metrics_;
  std::unique_ptr<ScorecardService> cards_;
  std::unique_ptr<OutcomeService> outcomes_;
  const authz::Principal governance_ = Staff(2, authz::Role::kGovernance);
  const authz::Principal city_manager_ = Staff(1, authz::Role::kManager);
};

TEST_P(OutcomesTest, GovernanceDefinesOutcomesAndIndicators) {
  auto o = outcomes_->AddOutcome(governance_, "People are helped at their first contact", "Asked once, served once.");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  auto i = outcomes_->AddIndicator(governance_, o->id, {"first_contact_resolution_percent", 0, "at_least", 80});
  ASSERT_TRUE(i.ok()) << i.status().ToString();
  EXPECT_EQ(i->label, "Contacts resolved at the first contact: at least 80%");

  EXPECT_EQ(outcomes_->AddOutcome(city_manager_, "Mine", "").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Refusals("outcome.add"), 1);
  EXPECT_EQ(outcomes_->AddIndicator(city_manager_, o->id, {"satisfied_percent", 0, "at_least", 90}).status().code(),
            StatusCode::kPermissionDenied);
  auto same = outcomes_->AddOutcome(governance_, "People are helped at their first contact", "");
  EXPECT_THAT(Fields(same.status()), ElementsAre("name: another outcome has this name"));
  auto bad = outcomes_->AddIndicator(governance_, o->id, {"happiness", 5, "more", 50});
  EXPECT_THAT(Fields(bad.status()),
              ElementsAre(::testing::StartsWith("metric: must be one of waited_within_percent"),
                          "comparison: must be at_least or at_most"));
  auto over = outcomes_->AddIndicator(governance_, o->id, {"satisfied_percent", 0, "at_least", 120});
  EXPECT_THAT(Fields(over.status()), ElementsAre("target: a share from 0 to 100"));
  EXPECT_EQ(outcomes_->AddIndicator(governance_, 999, {"satisfied_percent", 0, "at_least", 90}).status().code(),
            StatusCode::kNotFound);

  auto all = outcomes_->List(Staff(1, authz::Role::kCaseworker));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].indicators.size(), 1u);
}

TEST_P(OutcomesTest, AgenciesMapTheirOwnProgramsAndServices) {
  auto o = outcomes_->AddOutcome(governance_, "Households have enough to live on", "");
  ASSERT_TRUE(o.ok());
  auto rent = outcomes_->AddContribution(city_manager_, o->id,
                                         {core::AgencyId{1}, "program", "rent", "Keeps families in their homes"});
  ASSERT_TRUE(rent.ok()) << rent.status().ToString();
  EXPECT_EQ(rent->name, "Rent help");
  EXPECT_EQ(rent->agency_name, "city agency");
  auto debt = outcomes_->AddContribution(city_manager_, o->id,
                                         {core::AgencyId{1}, "service", "svc-debt", "Debts settled before eviction"});
  ASSERT_TRUE(debt.ok()) << debt.status().ToString();
  EXPECT_EQ(debt->name, "Debt advice");

  // Not another agency's work, not another agency's program, not twice, not an unknown service.
  EXPECT_EQ(outcomes_->AddContribution(city_manager_, o->id, {core::AgencyId{2}, "program", "snap", "Food"})
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Refusals("contribution.add"), 1);
  // Refused before the form is judged: a wrong form from someone who may not map is a refusal.
  EXPECT_EQ(outcomes_->AddContribution(city_manager_, o->id, {core::AgencyId{2}, "office", "", ""}).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Refusals("contribution.add"), 2);
  EXPECT_THAT(Fields(outcomes_->AddContribution(city_manager_, o->id, {core::AgencyId{1}, "program", "snap", "Food"})
                         .status()),
              ElementsAre("ref: city agency has no program snap"));
  EXPECT_THAT(Fields(outcomes_->AddContribution(city_manager_, o->id, {core::AgencyId{1}, "program", "rent", "Again"})
                         .status()),
              ElementsAre("ref: already mapped to this outcome"));
  EXPECT_THAT(Fields(outcomes_->AddContribution(city_manager_, o->id, {core::AgencyId{1}, "service", "svc-x", "?"})
                         .status()),
              ElementsAre("ref: the service directory has no such service"));
  EXPECT_THAT(Fields(outcomes_->AddContribution(city_manager_, o->id, {core::AgencyId{1}, "office", "", ""}).status()),
              ElementsAre("kind: must be program or service", "ref: choose a program",
                          "how: say how it contributes, in 1 to 500 characters"));
  // Governance maps any agency's.
  ASSERT_TRUE(
      outcomes_->AddContribution(governance_, o->id, {core::AgencyId{2}, "program", "snap", "Food on the table"}).ok());

  auto got = outcomes_->Get(city_manager_, o->id);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->contributions.size(), 3u);
  EXPECT_EQ(got->contributions[0].name, "Rent help");  // agency, then kind, then name
  EXPECT_EQ(got->contributions[1].name, "Debt advice");
  EXPECT_EQ(got->contributions[2].agency_name, "state agency");

  // Removing: the other agency's manager may not; the agency's own may.
  EXPECT_EQ(outcomes_->RemoveContribution(Staff(2, authz::Role::kManager), rent->id).code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(outcomes_->RemoveContribution(city_manager_, rent->id).ok());
  EXPECT_EQ(outcomes_->RemoveContribution(city_manager_, rent->id).code(), StatusCode::kNotFound);
}

TEST_P(OutcomesTest, EachAgencySeesWhereItsWorkCountsMeasuredOnItsMonth) {
  auto first = outcomes_->AddOutcome(governance_, "People are helped at their first contact", "");
  auto money = outcomes_->AddOutcome(governance_, "Households have enough to live on", "");
  ASSERT_TRUE(first.ok() && money.ok());
  ASSERT_TRUE(outcomes_->AddIndicator(governance_, first->id, {"first_contact_resolution_percent", 0, "at_least", 80}).ok());
  ASSERT_TRUE(outcomes_->AddIndicator(governance_, first->id, {"satisfied_percent", 0, "at_least", 90}).ok());
  ASSERT_TRUE(outcomes_->AddIndicator(governance_, money->id, {"first_contact_resolution_percent", 0, "at_least", 95}).ok());
  ASSERT_TRUE(outcomes_->AddContribution(governance_, first->id, {core::AgencyId{1}, "service", "svc-debt", "Advice"}).ok());
  ASSERT_TRUE(outcomes_->AddContribution(governance_, first->id, {core::AgencyId{2}, "program", "snap", "Food"}).ok());
  ASSERT_TRUE(outcomes_->AddContribution(governance_, money->id, {core::AgencyId{2}, "program", "snap", "Food"}).ok());

  auto city = outcomes_->ForAgency(city_manager_, core::AgencyId{1}, "2026-03");
  ASSERT_TRUE(city.ok()) << city.status().ToString();
  EXPECT_EQ(city->agency_name, "city agency");
  ASSERT_EQ(city->outcomes.size(), 1u);  // only where the city's work is mapped
  const auto& o = city->outcomes[0];
  EXPECT_EQ(o.outcome.name, "People are helped at their first contact");
  ASSERT_EQ(o.mine.size(), 1u);
  EXPECT_EQ(o.mine[0].name, "Debt advice");
  EXPECT_THAT(o.partners, ElementsAre("state agency"));
  ASSERT_EQ(o.results.size(), 2u);
  EXPECT_DOUBLE_EQ(*o.results[0].actual, 90.0);  // 9 of 10
  EXPECT_EQ(o.results[0].status, "met");
  EXPECT_FALSE(o.results[1].actual.has_value());  // nobody rated a contact
  EXPECT_EQ(o.results[1].status, "unknown");

  // The state agency had no contacts: its indicators are not known; it sees both outcomes.
  auto state = outcomes_->ForAgency(governance_, core::AgencyId{2}, "2026-03");
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->outcomes.size(), 2u);
  EXPECT_EQ(state->outcomes[1].results[0].status, "unknown");

  // April for the city: no contacts at all.
  auto april = outcomes_->ForAgency(city_manager_, core::AgencyId{1}, "2026-04");
  ASSERT_TRUE(april.ok());
  EXPECT_EQ(april->outcomes[0].results[0].status, "unknown");

  // A caseworker does not see the agency's metrics; nor another agency's manager.
  EXPECT_EQ(outcomes_->ForAgency(Staff(1, authz::Role::kCaseworker), core::AgencyId{1}, "2026-03").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(outcomes_->ForAgency(Staff(2, authz::Role::kManager), core::AgencyId{1}, "2026-03").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(outcomes_->ForAgency(city_manager_, core::AgencyId{1}, "March").status().code(),
            StatusCode::kInvalidArgument);

  // Removing an outcome takes its indicators and map with it.
  ASSERT_TRUE(outcomes_->RemoveOutcome(governance_, first->id).ok());
  auto after = outcomes_->ForAgency(city_manager_, core::AgencyId{1}, "2026-03");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->outcomes.empty());
}

INSTANTIATE_TEST_SUITE_P(Databases, OutcomesTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace metrics
