#include "metrics/service_metrics.h"
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
using core::StatusOr;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kDay = 1440 * kMinute;
// 2026-03-02T00:00:00Z, a Monday: the period is that week.
constexpr int64_t kMonday = 1'772'409'600'000'000;

authz::Principal Staff(int64_t agency, authz::Role role) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{1};
  p.agency = core::AgencyId{agency};
  p.name = "staff";
  p.roles = {role};
  return p;
}

TEST(PercentileTest, NearestRank) {
  EXPECT_FALSE(Percentile({}, 50).has_value());
  EXPECT_EQ(*Percentile({7}, 50), 7);
  EXPECT_EQ(*Percentile({1, 2, 3, 4}, 50), 2);
  EXPECT_EQ(*Percentile({1, 2, 3, 4, 5}, 50), 3);
  EXPECT_EQ(*Percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90), 9);
  EXPECT_EQ(*Percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 90), 10);
  EXPECT_EQ(*Percentile({1, 2, 3}, 100), 3);
}

class ServiceMetricsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = testing_support::NewMigratedDatabase(GetParam(), dir_, 4);
    clock_.Set(core::Timestamp{kMonday + 10 * kDay});
    service_ = std::make_unique<ServiceMetricsService>(*db_, audit_, clock_, MetricsOptions{5, "America/New_York"});
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) -> Status { return Scenario(tx); }).ok());
  }

  // A week of the city's work, each figure chosen so that the expected metric is known.
  static Status Scenario(storage::Transaction& tx) {
    auto run = [&](const std::string& sql, storage::Params p = {}) { return tx.Execute(sql, std::move(p)).status(); };
    for (const char* code : {"city", "state"}) {
      RETURN_IF_ERROR(run("INSERT INTO agencies (code, name, kind, created_at) VALUES (?, ?, 'government', 0)",
                          {std::string(code), std::string(code) + " agency"}));
    }
    RETURN_IF_ERROR(run("INSERT INTO offices (agency_id, name, address, created_at) VALUES (1, 'Centre', '', 0)"));
    RETURN_IF_ERROR(run("INSERT INTO queues (office_id, code, name, directory_service_id, created_at) VALUES "
                        "(1, 'A', 'Benefits', NULL, 0), (1, 'B', 'Housing', NULL, 0)"));
    // Ten contacts in the week (six at the desk, four by phone), seven resolved; six rated 5, 5,
    // 4, 4, 3, 1. One the week before and one of the state's do not count.
    const int64_t t = kMonday + 9 * 60 * kMinute;
    for (int i = 0; i < 12; ++i) {
      const int64_t agency = i == 11 ? 2 : 1;
      const int64_t at = i == 10 ? kMonday - kDay : t + i * kMinute;
      const std::string channel = i < 6 || i >= 10 ? "desk" : "phone";
      const std::string outcome = i < 7 || i >= 10 ? "resolved" : "follow_up";
      const int scores[] = {5, 5, 4, 4, 3, 1};
      RETURN_IF_ERROR(run("INSERT INTO interactions (agency_id, recorded_by, channel, topic, outcome, note, "
                          "satisfaction, at) VALUES (?, 'desk', ?, 'Rent', ?, '', ?, ?)",
                          {agency, channel, outcome,
                           i < 6 ? storage::Value(int64_t{scores[i]}) : storage::Value(storage::Null{}), at}));
    }
    // Queue A: six tickets served after waits of 2, 4, 6, 8, 10 and 30 minutes, served for 5, 5,
    // 5, 10, 10 and 20 minutes. Queue B: three tickets, one of them not there when called.
    const int waits[] = {2, 4, 6, 8, 10, 30};
    const int serves[] = {5, 5, 5, 10, 10, 20};
    for (int i = 0; i < 6; ++i) {
      const int64_t arrived = t + i * 40 * kMinute;
      const int64_t called = arrived + waits[i] * kMinute;
      RETURN_IF_ERROR(run("INSERT INTO tickets (office_id, queue_id, day, code, number, label, priority, state, "
                          "recalls, arrived_at, called_at, served_at, finished_at) VALUES (1, 1, '2026-03-02', 'A', "
                          "?, ?, 0, 'done', 0, ?, ?, ?, ?)",
                          {int64_t{i + 1}, fmt::format("A{:03}", i + 1), arrived, called, called + kMinute,
                           called + kMinute + serves[i] * kMinute}));
    }
    for (int i = 0; i < 3; ++i) {
      const int64_t arrived = t + i * kMinute;
      RETURN_IF_ERROR(run("INSERT INTO tickets (office_id, queue_id, day, code, number, label, priority, state, "
                          "recalls, arrived_at, called_at, served_at, finished_at) VALUES (1, 2, '2026-03-02', 'B', "
                          "?, ?, 0, ?, 0, ?, ?, ?, ?)",
                          {int64_t{i + 1}, fmt::format("B{:03}", i + 1), i == 2 ? "no_show" : "done", arrived,
                           arrived + kMinute,
                           i == 2 ? storage::Value(storage::Null{}) : storage::Value(arrived + 2 * kMinute),
                           i == 2 ? storage::Value(storage::Null{}) : storage::Value(arrived + 9 * kMinute)}));
    }
    // A person, a consent, and eight referrals to the city: seven answered (one declined, six
    // accepted of which two completed), five of them by their respond-by time, after 30, 60, 90,
    // 120, 240, 480 and 1440 minutes; one still unanswered.
    RETURN_IF_ERROR(run("INSERT INTO persons (version, display_name, doc, created_at, updated_at, created_by, "
                        "created_agency) VALUES (1, 'Rua', '{}', 0, 0, 1, 2)"));
    RETURN_IF_ERROR(run("INSERT INTO consents (person_id, receiving_agency_id, scope, categories, purpose, legal_basis, "
                        "valid_from, how_to_withdraw, evidence, document_ref, recorded_by, recorded_by_name, agency_id, "
                        "recorded_at, state, version) VALUES (1, 1, 'full', '', 'service_delivery', 'consent', "
                        "'2026-01-01', 'Tell us.', 'signed_form', 'F-1', 1, 'x', 2, 0, 'active', 1)"));
    const int responses[] = {30, 60, 90, 120, 240, 480, 1440};
    const char* states[] = {"declined", "accepted", "accepted", "in_progress", "completed", "completed", "closed"};
    for (int i = 0; i < 8; ++i) {
      const int64_t created = t + i * kMinute;
      const bool answered = i < 7;
      const int64_t respond_by = created + (i < 5 ? 2 * kDay : kMinute);
      RETURN_IF_ERROR(run("INSERT INTO referrals (person_id, person_name, from_agency_id, from_user_id, from_actor, "
                          "to_agency_id, service, urgency, message, consent_id, state, reason, outcome, respond_by, "
                          "answered_at, created_at, updated_at, version) VALUES (1, 'Rua', 2, 1, 'x', 1, 'Help', "
                          "'routine', 'm', 1, ?, '', '', ?, ?, ?, ?, 1)",
                          {answered ? std::string(states[i]) : std::string("sent"), respond_by,
                           answered ? storage::Value(created + responses[i] * kMinute) : storage::Value(storage::Null{}),
                           created, created}));
    }
    // Six parts the city decided: five on or before their due date (in New York, where 01:00 UTC
    // on 6 March is still 5 March), one after.
    RETURN_IF_ERROR(run("INSERT INTO households (name, version, created_at, created_by) VALUES ('Rua', 1, 0, 1)"));
    RETURN_IF_ERROR(run("INSERT INTO screenings (household_id, as_of, rules_hash, input, result, created_at, "
                        "created_by, agency_id) VALUES (1, '2026-03-01', 'h', '{}', '{}', 0, 1, 1)"));
    RETURN_IF_ERROR(run("INSERT INTO applications (person_id, household_id, screening_id, agency_id, made_by, answers, "
                        "created_at) VALUES (1, 1, 1, 1, 'x', '{}', 0)"));
    const char* dues[] = {"2026-03-05", "2026-03-05", "2026-03-06", "2026-03-07", "2026-03-08", "2026-03-04"};
    for (int i = 0; i < 6; ++i) {
      RETURN_IF_ERROR(run("INSERT INTO application_parts (application_id, program, program_name, agency_id, screened, "
                          "state, expedited, received, due, clock, reason, request, decided_at, decided_by, version) "
                          "VALUES (1, 'snap', 'SNAP', 1, 'eligible', 'approved', 0, '2026-02-20', ?, '30 days', '', '', "
                          "?, 'x', 2)",
                          {std::string(dues[i]), kMonday + 4 * kDay + kMinute * 60}));  // 01:00 UTC, 6 March
    }
    return Status::Ok();
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  audit::AuditLog audit_{clock_};
  std::unique_ptr<ServiceMetricsService> service_;
  const Period week_{core::Timestamp{kMonday}, core::Timestamp{kMonday + 7 * kDay}};
};

TEST_P(ServiceMetricsTest, EveryMetricMatchesTheHandComputedWeek) {
  auto m = service_->Compute(Staff(1, authz::Role::kManager), core::AgencyId{1}, week_);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->agency_name, "city agency");
  EXPECT_EQ(m->contacts.value, 10);
  ASSERT_EQ(m->by_channel.size(), 2u);
  EXPECT_EQ(m->by_channel[0].channel, "desk");
  EXPECT_EQ(m->by_channel[0].contacts.value, 6);
  EXPECT_EQ(m->by_channel[1].contacts.value, 4);
  EXPECT_TRUE(m->by_channel[1].contacts.suppressed);  // four by phone: fewer than five
  EXPECT_TRUE(m->by_channel[0].contacts.suppressed);  // else ten less six would give the four away
  EXPECT_TRUE(m->by_channel[0].contacts.secondary);
  EXPECT_FALSE(m->by_channel[1].contacts.secondary);
  EXPECT_EQ(m->first_contact_resolution.part, 7);
  EXPECT_EQ(*m->first_contact_resolution.Percent(), 70.0);
  EXPECT_EQ(m->satisfaction_responses.value, 6);
  EXPECT_TRUE(m->satisfied.suppressed);  // four satisfied: fewer than five
  EXPECT_EQ(m->satisfied.part, 4);

  ASSERT_EQ(m->queues.size(), 2u);
  const QueueMetrics& a = m->queues[0];
  EXPECT_EQ(a.queue_name, "Benefits");
  EXPECT_EQ(a.tickets.value, 6);
  EXPECT_EQ(a.served.value, 6);
  EXPECT_EQ(a.wait.count, 6);
  EXPECT_EQ(*a.wait.median, 6.0);  // nearest rank: the third of six
  EXPECT_EQ(*a.wait.p90, 30.0);
  EXPECT_EQ(*a.service.median, 5.0);
  EXPECT_EQ(*a.service.p90, 20.0);
  const QueueMetrics& b = m->queues[1];
  EXPECT_EQ(b.queue_name, "Housing");
  EXPECT_TRUE(b.tickets.suppressed);
  EXPECT_TRUE(b.no_shows.suppressed);
  EXPECT_EQ(b.no_shows.value, 1);
  EXPECT_TRUE(b.wait.suppressed);
  EXPECT_FALSE(b.wait.median.has_value());

  EXPECT_EQ(m->referrals_received.value, 8);
  EXPECT_EQ(m->referrals_accepted.part, 6);
  EXPECT_EQ(m->referrals_accepted.whole, 7);
  EXPECT_EQ(*m->referrals_accepted.Percent(), 85.7);
  EXPECT_TRUE(m->referrals_completed.suppressed);  // two of six
  EXPECT_EQ(m->referrals_answered_in_time.part, 5);
  EXPECT_EQ(*m->referrals_answered_in_time.Percent(), 71.4);
  EXPECT_EQ(*m->referral_response.median, 120.0);
  EXPECT_EQ(*m->referral_response.p90, 1440.0);

  EXPECT_EQ(m->decisions.value, 6);
  EXPECT_EQ(m->decided_in_time.part, 5);
  EXPECT_EQ(*m->decided_in_time.Percent(), 83.3);
}

TEST_P(ServiceMetricsTest, OnlyTheAgencysManagersAndTheConsortiumsGovernanceSeeThemAndEachReadIsAudited) {
  EXPECT_TRUE(service_->Compute(Staff(1, authz::Role::kAuditor), core::AgencyId{1}, week_).ok());
  EXPECT_TRUE(service_->Compute(Staff(2, authz::Role::kGovernance), core::AgencyId{1}, week_).ok());
  EXPECT_EQ(service_->Compute(Staff(2, authz::Role::kManager), core::AgencyId{1}, week_).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Compute(Staff(1, authz::Role::kCaseworker), core::AgencyId{1}, week_).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Compute(Staff(2, authz::Role::kGovernance), core::AgencyId{9}, week_).status().code(),
            StatusCode::kNotFound);
  // 366 local days that cross the autumn clock change are an hour longer; 367 days are too many.
  constexpr int64_t kHour = 3'600'000'000;
  EXPECT_TRUE(service_
                  ->Compute(Staff(1, authz::Role::kManager), core::AgencyId{1},
                            {week_.from, core::Timestamp{week_.from.micros + 366 * kDay + kHour}})
                  .ok());
  EXPECT_EQ(service_
                ->Compute(Staff(1, authz::Role::kManager), core::AgencyId{1},
                          {week_.from, core::Timestamp{week_.from.micros + 367 * kDay}})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  auto backwards = service_->Compute(Staff(1, authz::Role::kManager), core::AgencyId{1}, {week_.to, week_.from});
  ASSERT_EQ(backwards.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(backwards.status().fields().at(0).field, "to");
  int64_t allowed = 0, refused = 0;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(storage::Rows r, tx.Query("SELECT SUM(CASE WHEN allowed = 1 THEN 1 ELSE 0 END), "
                                                              "SUM(CASE WHEN allowed = 0 THEN 1 ELSE 0 END) FROM "
                                                              "audit_log WHERE action = 'metrics.read'"));
                   allowed = r.at(0).Int(0);
                   refused = r.at(0).Int(1);
                   return Status::Ok();
                 })
                  .ok());
  EXPECT_EQ(allowed, 3);  // the auditor's, governance's and the year across the clock change
  EXPECT_EQ(refused, 2);
}

TEST_P(ServiceMetricsTest, ASmallerMinimumShowsWhatFiveHides) {
  ServiceMetricsService two(*db_, audit_, clock_, MetricsOptions{2, "UTC"});
  auto m = two.Compute(Staff(1, authz::Role::kManager), core::AgencyId{1}, week_);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->satisfied.suppressed);
  EXPECT_EQ(*m->satisfied.Percent(), 66.7);
  EXPECT_FALSE(m->queues[1].wait.suppressed);
  EXPECT_EQ(*m->queues[1].wait.median, 1.0);
  EXPECT_TRUE(m->queues[1].no_shows.suppressed);  // one: still fewer than two
  // In UTC the part due on 5 March, decided at 01:00 on 6 March, is late.
  EXPECT_EQ(m->decided_in_time.part, 3);
}

TEST_P(ServiceMetricsTest, RepeatsReviewsTellUsOnceAndTakeUpMatchTheHandComputedWeek) {
  ASSERT_TRUE(db_->Write([](storage::Transaction& tx) -> Status {
                   auto run = [&](const std::string& sql, storage::Params p = {}) {
                     return tx.Execute(sql, std::move(p)).status();
                   };
                   // Rua's contacts with the city: Rent ten days before the week, then in the week
                   // Rent, Rent, Food, Food and Jobs (Jobs last 40 days before): three repeats of five.
                   const int64_t t = kMonday + 12 * 60 * kMinute;
                   // Each flagged as the contact service flags it when it records the contact.
                   const std::vector<std::tuple<int64_t, std::string, int64_t>> contacts = {
                       {kMonday - 10 * kDay, "Rent", 0}, {kMonday - 40 * kDay, "Jobs", 0}, {t, "Rent", 1},
                       {t + kDay, "Rent", 1},           {t + 2 * kDay, "Food", 0},       {t + 3 * kDay, "Food", 1},
                       {t + 4 * kDay, "Jobs", 0}};
                   for (const auto& [at, topic, repeat] : contacts) {
                     RETURN_IF_ERROR(run("INSERT INTO interactions (person_id, agency_id, recorded_by, channel, topic, "
                                         "outcome, note, at, repeat_contact) VALUES (1, 1, 'desk', 'desk', ?, "
                                         "'resolved', '', ?, ?)",
                                         {topic, at, repeat}));
                   }
                   // Case reviews of the city's cases: one due on Tuesday done the hour before, one due
                   // Wednesday done on Thursday, one due Friday not done; one due after today and one
                   // due the week before do not count.
                   auto open_case = [&](int64_t next_review) -> StatusOr<int64_t> {
                     ASSIGN_OR_RETURN(storage::Rows rows,
                                      tx.Query("INSERT INTO cases (person_id, title, criteria, coordinator_user_id, "
                                               "coordinator, coordinating_agency_id, state, review_every_days, "
                                               "next_review_at, outcome, close_reason, opened_at, version) VALUES (1, "
                                               "'Plan', 'x', 1, 'c', 1, 'open', 28, ?, '', '', 0, 1) RETURNING id",
                                               {next_review}));
                     return rows.at(0).Int(0);
                   };
                   const std::vector<std::pair<int64_t, int64_t>> reviews = {
                       {kMonday + kDay, kMonday + kDay - 60 * kMinute},
                       {kMonday + 2 * kDay, kMonday + 3 * kDay},
                       {kMonday - 2 * kDay, kMonday - 2 * kDay}};
                   for (const auto& [due, done] : reviews) {
                     ASSIGN_OR_RETURN(int64_t id, open_case(done + 28 * kDay));
                     RETURN_IF_ERROR(run("INSERT INTO case_reviews (case_id, agency_id, due_at, reviewed_at) VALUES "
                                         "(?, 1, ?, ?)",
                                         {id, due, done}));
                   }
                   RETURN_IF_ERROR(open_case(kMonday + 4 * kDay).status());
                   RETURN_IF_ERROR(open_case(kMonday + 20 * kDay).status());
                   // Four changes told to the state and sent to the city in the week, applied after
                   // 60, 120 and 180 minutes, one not yet; one sent to the state does not count.
                   const std::vector<std::pair<int64_t, std::optional<int64_t>>> notices = {
                       {1, 60}, {1, 120}, {1, 180}, {1, std::nullopt}, {2, 5}};
                   for (size_t i = 0; i < notices.size(); ++i) {
                     const int64_t created = kMonday + static_cast<int64_t>(i) * kDay;
                     const auto& [to, after] = notices[i];
                     RETURN_IF_ERROR(run("INSERT INTO change_notices (person_id, agency_id, from_agency_id, type, "
                                         "fields, version, created_at, state, applied_at) VALUES (1, ?, 2, "
                                         "'address', '[]', 1, ?, ?, ?)",
                                         {to, created, std::string(after ? "applied" : "pending"),
                                          after ? storage::Value(created + *after * kMinute)
                                                : storage::Value(storage::Null{})}));
                   }
                   // Take-up: the bulk screening of Tuesday counts; the one after the week does not.
                   for (const auto& [run_at, rent_enrolled] : std::vector<std::pair<int64_t, int64_t>>{
                            {kMonday + kDay, 30}, {kMonday + 8 * kDay, 39}}) {
                     ASSIGN_OR_RETURN(storage::Rows r,
                                      tx.Query("INSERT INTO take_up_runs (run_at, as_of, households) VALUES (?, "
                                               "'2026-03-03', 500) RETURNING id",
                                               {run_at}));
                     const int64_t id = r.at(0).Int(0);
                     RETURN_IF_ERROR(run("INSERT INTO take_up_counts (run_id, program, program_name, agency_code, "
                                         "eligible, eligible_enrolled, enrolled_not_eligible) VALUES (?, 'rent', 'Rent "
                                         "help', 'city', 40, ?, 3), (?, 'food', 'Food card', 'city', 10, 2, 0), (?, "
                                         "'snap', 'SNAP', 'state', 100, 50, 0)",
                                         {id, rent_enrolled, id, id}));
                   }
                   return Status::Ok();
                 })
                  .ok());
  ServiceMetricsService one(*db_, audit_, clock_, MetricsOptions{1, "UTC"});
  auto m = one.Compute(Staff(1, authz::Role::kManager), core::AgencyId{1}, week_);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->repeat_contacts.part, 3);
  EXPECT_EQ(m->repeat_contacts.whole, 5);
  EXPECT_EQ(m->reviews_on_time.part, 1);
  EXPECT_EQ(m->reviews_on_time.whole, 3);
  EXPECT_EQ(*m->reviews_on_time.Percent(), 33.3);
  EXPECT_EQ(m->changes_received.value, 4);
  EXPECT_EQ(*m->changes_applied.Percent(), 75.0);
  EXPECT_EQ(*m->change_applied.median, 120.0);
  EXPECT_EQ(*m->change_applied.p90, 180.0);
  ASSERT_EQ(m->take_up.size(), 2u);
  EXPECT_EQ(m->take_up[0].program, "food");
  EXPECT_EQ(*m->take_up[0].enrolled.Percent(), 20.0);
  EXPECT_EQ(*m->take_up[1].enrolled.Percent(), 75.0);
  EXPECT_EQ(m->take_up[1].as_of, "2026-03-03");
  EXPECT_EQ(m->take_up_all.part, 32);
  EXPECT_EQ(m->take_up_all.whole, 50);
  bool suppressed = true;
  EXPECT_EQ(*MetricValue(*m, "take_up_percent", 0, &suppressed), 64.0);
  EXPECT_EQ(*MetricValue(*m, "reviews_on_time_percent", 0, &suppressed), 33.3);

  // With the minimum of five: three repeats and one review on time are too few to show.
  auto five = service_->Compute(Staff(1, authz::Role::kManager), core::AgencyId{1}, week_);
  ASSERT_TRUE(five.ok());
  EXPECT_TRUE(five->repeat_contacts.suppressed);
  EXPECT_TRUE(five->reviews_on_time.suppressed);
  EXPECT_TRUE(five->changes_received.suppressed);
  EXPECT_FALSE(five->take_up_all.suppressed);
}

INSTANTIATE_TEST_SUITE_P(Databases, ServiceMetricsTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace metrics
