#include "metrics/glance.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace metrics {
namespace {

using core::Status;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kDay = 1440 * kMinute;
constexpr int64_t kToday = 1'772'409'600'000'000;  // 2026-03-02T00:00:00Z
constexpr int64_t kNow = kToday + 12 * 60 * kMinute;

class GlanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = testing_support::NewMigratedDatabase(GetParam(), dir_, 2);
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) -> Status { return Scenario(tx); }).ok());
  }

  static Status Scenario(storage::Transaction& tx) {
    auto run = [&](const std::string& sql, storage::Params p = {}) { return tx.Execute(sql, std::move(p)).status(); };
    for (const char* code : {"city", "state"}) {
      RETURN_IF_ERROR(run("INSERT INTO agencies (code, name, kind, created_at) VALUES (?, ?, 'government', 0)",
                          {std::string(code), std::string(code) + " agency"}));
    }
    RETURN_IF_ERROR(run("INSERT INTO offices (agency_id, name, address, created_at) VALUES (1, 'C', '', 0)"));
    RETURN_IF_ERROR(run("INSERT INTO queues (office_id, code, name, directory_service_id, created_at) VALUES (1, 'A', "
                        "'Benefits', NULL, 0)"));
    // Two visitors waiting, since 10 and 40 minutes; one served.
    int64_t n = 0;
    for (const auto& [state, ago] : std::vector<std::pair<std::string, int64_t>>{{"waiting", 10}, {"waiting", 40}, {"done", 50}}) {
      RETURN_IF_ERROR(run("INSERT INTO tickets (office_id, queue_id, day, code, number, label, priority, state, recalls, "
                          "arrived_at) VALUES (1, 1, '2026-03-02', 'A', ?, 'A', 0, ?, 0, ?)",
                          {++n, state, kNow - ago * kMinute}));
    }
    // Three contacts today, one yesterday, one of the state's.
    for (const auto& [agency, at] : std::vector<std::pair<int64_t, int64_t>>{
             {1, kNow - kMinute}, {1, kToday + kMinute}, {1, kToday + 2 * kMinute}, {1, kToday - kMinute}, {2, kNow}}) {
      RETURN_IF_ERROR(run("INSERT INTO interactions (agency_id, recorded_by, channel, topic, outcome, note, at) VALUES "
                          "(?, 'x', 'desk', 'Rent', 'resolved', '', ?)",
                          {agency, at}));
    }
    RETURN_IF_ERROR(run("INSERT INTO persons (version, display_name, doc, created_at, updated_at, created_by, "
                        "created_agency) VALUES (1, 'P', '{}', 0, 0, 1, 1)"));
    for (const char* name : {"me", "other"}) {
      RETURN_IF_ERROR(run("INSERT INTO users (kind, username, display_name, password_hash, agency_id, created_at, "
                          "updated_at) VALUES ('staff', ?, ?, 'x', 1, 0, 0)",
                          {std::string(name), std::string(name)}));
    }
    for (const char* team : {"Front line", "Specialists"}) {
      RETURN_IF_ERROR(run("INSERT INTO teams (agency_id, name, tier, skills, created_at) VALUES (1, ?, 'front_line', '', "
                          "0)",
                          {std::string(team)}));
    }
    RETURN_IF_ERROR(run("INSERT INTO team_members (team_id, user_id, username) VALUES (1, 1, 'me'), (1, 2, 'other'), "
                        "(2, 2, 'other')"));
    // Work: mine, claimed and overdue; open in my team (due tomorrow) and one without a due
    // date; claimed by the other; open in the other team; done.
    struct Item {
      int64_t team;
      std::string state;
      std::optional<int64_t> assignee;
      std::optional<std::string> due;
    };
    for (const auto& w : std::vector<Item>{{1, "claimed", 1, "2026-03-01"},
                                           {1, "open", std::nullopt, "2026-03-03"},
                                           {1, "open", std::nullopt, std::nullopt},
                                           {1, "claimed", 2, "2026-02-01"},
                                           {2, "open", std::nullopt, "2026-02-01"},
                                           {1, "done", 1, "2026-02-01"}}) {
      RETURN_IF_ERROR(run("INSERT INTO work_items (agency_id, source, source_id, person_id, title, complexity, tier, "
                          "skills, rule, team_id, state, assignee_user_id, assignee, escalated, due, created_at, "
                          "updated_at, version) VALUES (1, 'referral', 1, 1, 't', 'simple', 'front_line', '', 'r', ?, "
                          "?, ?, '', 0, ?, 0, 0, 1)",
                          {w.team, w.state, w.assignee ? storage::Value(*w.assignee) : storage::Value(storage::Null{}),
                           w.due ? storage::Value(*w.due) : storage::Value(storage::Null{})}));
    }
    RETURN_IF_ERROR(run("INSERT INTO consents (person_id, receiving_agency_id, scope, categories, purpose, legal_basis, "
                        "valid_from, how_to_withdraw, evidence, document_ref, recorded_by, recorded_by_name, agency_id, "
                        "recorded_at, state, version) VALUES (1, 1, 'full', '', 'service_delivery', 'consent', "
                        "'2026-01-01', 'x', 'signed_form', 'x', 1, 'x', 1, 0, 'active', 1)"));
    // Referrals to the city: two not answered (one late), one accepted.
    for (const auto& [state, respond_by] : std::vector<std::pair<std::string, int64_t>>{
             {"sent", kNow - kDay}, {"received", kNow + kDay}, {"accepted", kNow - kDay}}) {
      RETURN_IF_ERROR(run("INSERT INTO referrals (person_id, person_name, from_agency_id, from_user_id, from_actor, "
                          "to_agency_id, service, urgency, message, consent_id, state, reason, outcome, respond_by, "
                          "created_at, updated_at, version) VALUES (1, 'P', 2, 1, 'x', 1, 's', 'routine', 'm', 1, ?, "
                          "'', '', ?, 0, 0, 1)",
                          {state, respond_by}));
    }
    // Decisions: one due yesterday, one tomorrow, one decided.
    RETURN_IF_ERROR(run("INSERT INTO households (name, version, created_at, created_by) VALUES ('P', 1, 0, 1)"));
    RETURN_IF_ERROR(run("INSERT INTO screenings (household_id, as_of, rules_hash, input, result, created_at, created_by, "
                        "agency_id) VALUES (1, '2026-03-01', 'h', '{}', '{}', 0, 1, 1)"));
    RETURN_IF_ERROR(run("INSERT INTO applications (person_id, household_id, screening_id, agency_id, made_by, answers, "
                        "created_at) VALUES (1, 1, 1, 1, 'x', '{}', 0)"));
    for (const auto& [state, due] : std::vector<std::pair<std::string, std::string>>{
             {"pending", "2026-03-01"}, {"more_information", "2026-03-03"}, {"approved", "2026-02-01"}}) {
      RETURN_IF_ERROR(run("INSERT INTO application_parts (application_id, program, program_name, agency_id, screened, "
                          "state, expedited, received, due, clock, reason, request, decided_by, version) VALUES (1, "
                          "'snap', 'SNAP', 1, 'eligible', ?, 0, '2026-02-01', ?, '30 days', '', '', '', 1)",
                          {state, due}));
    }
    // Cases: one review overdue, one not yet due, one closed.
    for (const auto& [state, next] : std::vector<std::pair<std::string, int64_t>>{
             {"open", kNow - kDay}, {"open", kNow + kDay}, {"closed", kNow - kDay}}) {
      RETURN_IF_ERROR(run("INSERT INTO cases (person_id, title, criteria, coordinator_user_id, coordinator, "
                          "coordinating_agency_id, state, review_every_days, next_review_at, outcome, close_reason, "
                          "opened_at, version) VALUES (1, 'P', 'x', 1, 'c', 1, ?, 28, ?, '', '', 0, 1)",
                          {state, next}));
    }
    for (const char* state : {"pending", "applied"}) {
      RETURN_IF_ERROR(run("INSERT INTO change_notices (person_id, agency_id, from_agency_id, type, fields, version, "
                          "created_at, state) VALUES (1, 1, 2, 'address', '[]', 1, 0, ?)",
                          {std::string(state)}));
    }
    return Status::Ok();
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
};

TEST_P(GlanceTest, TheWorkWaitingForTheUserAndTheAgency) {
  authz::Principal me;
  me.kind = authz::PrincipalKind::kStaff;
  me.user = core::UserId{1};
  me.agency = core::AgencyId{1};
  me.name = "me";
  me.roles = {authz::Role::kManager};
  auto g = AtAGlance(*db_, me, core::Timestamp{kNow}, "2026-03-02", core::Timestamp{kToday});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->waiting, 2);
  EXPECT_EQ(g->oldest_wait_minutes, 40);
  EXPECT_EQ(g->contacts_today, 3);
  EXPECT_EQ(g->my_work, 1);
  EXPECT_EQ(g->team_open, 2);
  EXPECT_EQ(g->work_overdue, 1);
  EXPECT_EQ(g->referrals_waiting, 2);
  EXPECT_EQ(g->referrals_overdue, 1);
  EXPECT_EQ(g->decisions_pending, 2);
  EXPECT_EQ(g->decisions_overdue, 1);
  EXPECT_EQ(g->cases_open, 2);
  EXPECT_EQ(g->reviews_overdue, 1);
  EXPECT_EQ(g->changes_pending, 1);
  ASSERT_EQ(g->teams.size(), 2u);
  EXPECT_EQ(g->teams[0].team, "Front line");
  EXPECT_EQ(g->teams[0].members, 2);
  EXPECT_EQ(g->teams[0].open, 2);
  EXPECT_EQ(g->teams[0].claimed, 2);
  EXPECT_EQ(g->teams[0].overdue, 2);
  EXPECT_EQ(g->teams[1].open, 1);
  EXPECT_EQ(g->teams[1].overdue, 1);

  authz::Principal citizen;
  citizen.kind = authz::PrincipalKind::kCitizen;
  EXPECT_EQ(AtAGlance(*db_, citizen, core::Timestamp{kNow}, "2026-03-02", core::Timestamp{kToday}).status().code(),
            core::StatusCode::kPermissionDenied);
}

INSTANTIATE_TEST_SUITE_P(Databases, GlanceTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace metrics
