#include "eligibility/screening_service.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace eligibility {
namespace {

using core::Status;
using core::StatusCode;
using nlohmann::json;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

authz::Principal Staff(authz::Role role) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{7};
  p.agency = core::AgencyId{1};
  p.name = "worker";
  p.roles = {role};
  p.purpose = authz::Purpose::kEligibility;
  return p;
}

std::unique_ptr<RuleSet> ShippedRules() {
  std::string root = std::string(ONEDOOR_SOURCE_DIR) + "/rules";
  std::vector<std::string> warnings;
  auto rules = RuleSet::Load({root + "/inputs.yaml", root + "/us", root + "/demo"}, {2026, 12, 1}, &warnings);
  EXPECT_TRUE(rules.ok()) << rules.status().message();
  return std::move(rules).value();
}

// The same tests on SQLite and on a throwaway PostgreSQL.
class ScreeningServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      db_ = testing_support::NewMigratedSqlite(dir_);
    } else {
      auto opened = storage::OpenPostgres(testing_support::PostgresEnvironment::Cluster().NewMigratedDatabaseUrl(),
                                          {.connections = 4});
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      db_ = std::move(opened).value();
      ASSERT_TRUE(storage::Migrate(*db_, storage::OnedoorSchema()).ok());
    }
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) {
                    return tx.Execute("INSERT INTO agencies (code,name,kind,created_at) VALUES ('a','A','government',0)")
                        .status();
                  }).ok());
    clock_.Set(core::Timestamp{1764547200LL * 1000000});  // 2025-12-01
    persons_ = std::make_unique<registry::PersonService>(*db_, gate_, audit_, outbox_, clock_);
    households_ = std::make_unique<registry::HouseholdService>(*db_, gate_, audit_, outbox_, clock_);
    service_ = std::make_unique<ScreeningService>(*db_, *rules_, *persons_, *households_, gate_, audit_, outbox_, clock_);
    auto h = households_->Create(Staff(authz::Role::kCaseworker), "Okafor household");
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    household_ = h->id;
    for (auto [given, birth] : {std::pair{"Ada", core::PartialDate{1990, 5, 2}}, std::pair{"Obi", core::PartialDate{2022, 1, 9}}}) {
      registry::Person p;
      p.names = {{"official", given, "Okafor"}};
      p.birth_date = birth;
      auto created = persons_->Create(Staff(authz::Role::kCaseworker), p);
      ASSERT_TRUE(created.ok()) << created.status().ToString();
      ASSERT_TRUE(households_->AddMember(Staff(authz::Role::kCaseworker), household_, created->id,
                                         std::string(given) == "Ada" ? "head" : "child", {2024, 1, 1})
                      .ok());
    }
  }

  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    EXPECT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(sql));
                    n = rows.at(0).Int(0);
                    return Status::Ok();
                  }).ok());
    return n;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  authz::AccessGate gate_;
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  std::unique_ptr<RuleSet> rules_ = ShippedRules();
  std::unique_ptr<registry::PersonService> persons_;
  std::unique_ptr<registry::HouseholdService> households_;
  std::unique_ptr<ScreeningService> service_;
  core::HouseholdId household_;
};

const ProgramResult* Find(const Screening& s, const std::string& id) {
  for (const auto& p : s.programs) {
    if (p.program == id) return &p;
  }
  return nullptr;
}

TEST_P(ScreeningServiceTest, RegisteredHouseholdIsScreenedWithRegistryFactsSavedAndAudited) {
  ScreeningRequest req;
  req.household = household_;
  req.input.values = {{"earned_income", "1500"}, {"unearned_income", "0"}, {"shelter_costs", "900"},
                      {"has_elderly_or_disabled_member", "false"}, {"countable_assets", "200"}};
  auto r = service_->Screen(Staff(authz::Role::kCaseworker), req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->id, 0);
  EXPECT_EQ(r->as_of, (core::Date{2025, 12, 1}));
  // household_size and each member's age come from the registry.
  EXPECT_EQ(r->input.values.back(), (std::pair<std::string, std::string>{"household_size", "2"}));
  EXPECT_EQ(r->input.members.at(0), (HouseholdInput::Values{{"age", "35"}}));
  EXPECT_EQ(r->input.members.at(1), (HouseholdInput::Values{{"age", "3"}}));
  const ProgramResult* snap = Find(r->result, "snap");
  ASSERT_NE(snap, nullptr);
  EXPECT_EQ(snap->outcome, Outcome::kEligible);
  const ProgramResult* wic = Find(r->result, "wic");
  ASSERT_NE(wic, nullptr);
  EXPECT_EQ(wic->outcome, Outcome::kEligible) << wic->reason;  // a child under 5
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'screening.create'"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'screening.completed'"), 1);

  auto got = service_->Get(Staff(authz::Role::kCaseworker), r->id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->result_json, r->result_json);
  EXPECT_EQ(json::parse(got->result_json)["as_of"], "2025-12-01");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'screening.read'"), 2);
  auto list = service_->ForHousehold(Staff(authz::Role::kCaseworker), household_, 10);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST_P(ScreeningServiceTest, APersonScreensTheirOwnHouseholdWithoutSeeingTheOthersRecords) {
  int64_t ada = 0;
  int64_t obi = 0;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT person_id FROM household_members ORDER BY id"));
                  ada = rows.at(0).Int(0);
                  obi = rows.at(1).Int(0);
                  return Status::Ok();
                }).ok());
  authz::Principal citizen;
  citizen.kind = authz::PrincipalKind::kCitizen;
  citizen.user = core::UserId{900};
  citizen.person = core::PersonId{ada};
  citizen.purpose = authz::Purpose::kOwnRecord;
  // Their household: who lives there, and nothing more of the child's record.
  auto h = households_->Get(citizen, household_);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->members.size(), 2u);
  EXPECT_EQ(persons_->Get(citizen, core::PersonId{obi}).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(*households_->CurrentOf(core::PersonId{ada}), household_);
  // The questionnaire's steps save nothing; the ages come from the records all the same.
  ScreeningRequest req;
  req.household = household_;
  req.input.values = {{"earned_income", "1500"}, {"unearned_income", "0"}, {"shelter_costs", "900"},
                      {"has_elderly_or_disabled_member", "false"}, {"countable_assets", "200"}};
  req.save = false;
  auto trial = service_->Screen(citizen, req);
  ASSERT_TRUE(trial.ok()) << trial.status().ToString();
  EXPECT_EQ(trial->id, 0);
  EXPECT_EQ(trial->input.members.at(1), (HouseholdInput::Values{{"age", "3"}}));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings"), 0);
  req.save = true;
  auto saved = service_->Screen(citizen, req);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  EXPECT_EQ(Find(saved->result, "wic")->outcome, Outcome::kEligible);
  // The child's record shows the screening; the person reads it back.
  EXPECT_EQ(Count(fmt::format("SELECT COUNT(*) FROM audit_log WHERE action = 'screening.create' AND person_id = {}", obi)), 1);
  EXPECT_TRUE(service_->Get(citizen, saved->id).ok());
  // Not someone else's household.
  authz::Principal stranger = citizen;
  stranger.person = core::PersonId{ada + 1000};
  EXPECT_EQ(service_->Screen(stranger, req).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Get(stranger, saved->id).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings"), 1);
}

TEST_P(ScreeningServiceTest, RefusedReadIsAuditedAndReleasesNothing) {
  ScreeningRequest req;
  req.household = household_;
  auto r = service_->Screen(Staff(authz::Role::kCaseworker), req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto got = service_->Get(Staff(authz::Role::kAdmin), r->id);
  EXPECT_EQ(got.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'screening.read' AND allowed = 0"), 2);
  EXPECT_EQ(service_->Get(Staff(authz::Role::kCaseworker), 999).status().code(), StatusCode::kNotFound);
}

TEST_P(ScreeningServiceTest, AFormSentAgainWithTheSameAnswersGivesTheScreeningItSaved) {
  ScreeningRequest req;
  req.household = household_;
  req.input.values = {{"earned_income", "1500"}};
  req.form_token = "form-1";
  auto first = service_->Screen(Staff(authz::Role::kCaseworker), req);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->repeated);
  clock_.Advance(std::chrono::minutes(1));
  // A reload: the same form, the same answers. The first screening, nothing saved or told again.
  auto again = service_->Screen(Staff(authz::Role::kCaseworker), req);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->repeated);
  EXPECT_EQ(again->id, first->id);
  EXPECT_EQ(again->created_at, first->created_at);
  EXPECT_EQ(again->result_json, first->result_json);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'screening.create'"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'screening.completed'"), 1);
  // The same form with an answer changed (back, changed, sent) is a screening of its own; so is
  // one made by another account with a form key that happens to be the same.
  req.input.values = {{"earned_income", "900"}};
  auto changed = service_->Screen(Staff(authz::Role::kCaseworker), req);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_FALSE(changed->repeated);
  EXPECT_NE(changed->id, first->id);
  // That one sent again (its results page reloaded) finds it in turn.
  auto changed_again = service_->Screen(Staff(authz::Role::kCaseworker), req);
  ASSERT_TRUE(changed_again.ok());
  EXPECT_TRUE(changed_again->repeated);
  EXPECT_EQ(changed_again->id, changed->id);
  req.as_of = core::Date{2025, 11, 1};
  req.input.values = {{"earned_income", "1500"}};
  auto other_date = service_->Screen(Staff(authz::Role::kCaseworker), req);
  ASSERT_TRUE(other_date.ok()) << other_date.status().ToString();
  EXPECT_FALSE(other_date->repeated);
  req.as_of.reset();
  authz::Principal other = Staff(authz::Role::kCaseworker);
  other.user = core::UserId{8};
  auto theirs = service_->Screen(other, req);
  ASSERT_TRUE(theirs.ok()) << theirs.status().ToString();
  EXPECT_FALSE(theirs->repeated);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings"), 4);
  // Without a form key (the API) each request is a screening.
  req.form_token.clear();
  ASSERT_TRUE(service_->Screen(Staff(authz::Role::kCaseworker), req).ok());
  ASSERT_TRUE(service_->Screen(Staff(authz::Role::kCaseworker), req).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings"), 6);
}

TEST_P(ScreeningServiceTest, APastDateIsScreenedWithThoseWhoLivedThereThen) {
  // Obi moves out on 15 November; Nia moves in on 1 November.
  auto household = households_->Get(Staff(authz::Role::kCaseworker), household_);
  ASSERT_TRUE(household.ok()) << household.status().ToString();
  const core::PersonId obi = household->members.at(1).person;
  registry::Person nia;
  nia.names = {{"official", "Nia", "Okafor"}};
  nia.birth_date = core::PartialDate{1960, 3, 3};
  auto created = persons_->Create(Staff(authz::Role::kCaseworker), nia);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ASSERT_TRUE(households_
                  ->AddMember(Staff(authz::Role::kCaseworker), household_, created->id,
                              "grandparent", {2025, 11, 1})
                  .ok());
  ASSERT_TRUE(
      households_->EndMembership(Staff(authz::Role::kCaseworker), household_, obi, {2025, 11, 15})
          .ok());
  auto size_and_ages = [&](std::optional<core::Date> as_of) {
    ScreeningRequest req;
    req.household = household_;
    req.as_of = as_of;
    auto r = service_->Screen(Staff(authz::Role::kCaseworker), req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> out;
    if (!r.ok()) return out;
    for (const auto& [k, v] : r->input.values) {
      if (k == "household_size") out.push_back(v);
    }
    for (const auto& m : r->input.members) {
      for (const auto& [k, v] : m) {
        if (k == "age") out.push_back(v);
      }
    }
    return out;
  };
  // Today: Ada and Nia. On 1 October: Ada and Obi, with their ages then. On 10 November, all three
  // (in the order of the household: its current members first).
  EXPECT_EQ(size_and_ages(std::nullopt), (std::vector<std::string>{"2", "35", "65"}));
  EXPECT_EQ(size_and_ages(core::Date{2025, 10, 1}), (std::vector<std::string>{"2", "35", "3"}));
  EXPECT_EQ(size_and_ages(core::Date{2025, 11, 10}),
            (std::vector<std::string>{"3", "35", "65", "3"}));
  // On the day Obi left, he is no longer counted.
  EXPECT_EQ(size_and_ages(core::Date{2025, 11, 15}), (std::vector<std::string>{"2", "35", "65"}));
  // Answers for more members than lived there then are refused, naming the date.
  ScreeningRequest req;
  req.household = household_;
  req.as_of = core::Date{2025, 10, 1};
  req.input.members = {{}, {}, {}};
  auto r = service_->Screen(Staff(authz::Role::kCaseworker), req);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("had 2 members on 2025-10-01"));
}

TEST_P(ScreeningServiceTest, AScreeningIsReadAsAboutThoseItWasMadeForWhoeverLivesThereNow) {
  ScreeningRequest req;
  req.household = household_;
  auto saved = service_->Screen(Staff(authz::Role::kCaseworker), req);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  auto h = households_->Get(Staff(authz::Role::kCaseworker), household_);
  ASSERT_TRUE(h.ok());
  const core::PersonId ada = h->members.at(0).person;
  const core::PersonId obi = h->members.at(1).person;
  // Obi leaves: a read of the screening is still a read of his data, recorded for him.
  clock_.Advance(std::chrono::hours(24 * 3));
  ASSERT_TRUE(
      households_->EndMembership(Staff(authz::Role::kCaseworker), household_, obi, {2025, 12, 2})
          .ok());
  ASSERT_TRUE(service_->Get(Staff(authz::Role::kCaseworker), saved->id).ok());
  EXPECT_EQ(Count(fmt::format(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'screening.read' AND person_id = {}",
                obi.value)),
            1);
  // Both taken back as mistakes: no one is left to decide for. Only the agency that made it reads
  // it; another is refused, and the refusal recorded.
  ASSERT_TRUE(
      households_
          ->RemoveMistake(Staff(authz::Role::kCaseworker), household_, ada, "Wrong household")
          .ok());
  ASSERT_TRUE(db_->Write([&](storage::Transaction& tx) {
                   return tx
                       .Execute("DELETE FROM household_members WHERE person_id = ?", {obi.value})
                       .status();
                 })
                  .ok());
  authz::Principal other = Staff(authz::Role::kCaseworker);
  other.agency = core::AgencyId{2};
  EXPECT_EQ(service_->Get(other, saved->id).status().code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(service_->MayRead(other, saved->id));
  EXPECT_TRUE(service_->Get(Staff(authz::Role::kCaseworker), saved->id).ok());
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM audit_log WHERE action = 'screening.read' AND allowed = 0 AND "
            "person_id IS NULL"),
      1);
}

TEST_P(ScreeningServiceTest, ADateFarAheadIsRefusedNamingTheDate) {
  ScreeningRequest req;
  req.household = household_;
  req.as_of = core::Date{2100, 1, 1};
  auto r = service_->Screen(Staff(authz::Role::kCaseworker), req);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(r.status().fields().size(), 1u);
  EXPECT_EQ(r.status().fields().at(0).field, "as_of");
  req.as_of = core::Date{2026, 12, 1};  // a year ahead of the fixture's today
  EXPECT_TRUE(service_->Screen(Staff(authz::Role::kCaseworker), req).ok());
}

TEST_P(ScreeningServiceTest, InlineHouseholdIsScreenedButNotSaved) {
  ScreeningRequest req;
  req.input.values = {{"household_size", "1"}, {"earned_income", "5000"}};
  req.as_of = core::Date{2025, 11, 1};
  auto r = service_->Screen(Staff(authz::Role::kFrontdesk), req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->id, 0);
  EXPECT_EQ(Find(r->result, "snap")->outcome, Outcome::kUnknown);  // unearned income not given
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings"), 0);
}

TEST_P(ScreeningServiceTest, BadAnswerNamesTheFieldAndSavesNothing) {
  ScreeningRequest req;
  req.household = household_;
  req.input.values = {{"earned_income", "a lot"}};
  auto r = service_->Screen(Staff(authz::Role::kCaseworker), req);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().fields().at(0).field, "earned_income");
  req.input.values = {};
  req.input.members = {{}, {}, {}};
  EXPECT_EQ(service_->Screen(Staff(authz::Role::kCaseworker), req).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings"), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ScreeningServiceTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace eligibility
