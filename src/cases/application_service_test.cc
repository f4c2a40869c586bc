#include "cases/application_service.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "registry/household_service.h"
#include "registry/person_service.h"
#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace cases {
namespace {

using core::Status;
using core::StatusCode;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

constexpr core::AgencyId kCity{1};
constexpr core::AgencyId kState{2};
constexpr core::AgencyId kHealth{3};
constexpr core::AgencyId kHarbour{4};

authz::Principal Staff(int64_t user, core::AgencyId agency, authz::Role role, const std::string& name) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{user};
  p.agency = agency;
  p.name = name;
  p.roles = {role};
  p.purpose = authz::Purpose::kEligibility;
  return p;
}

const authz::Principal kCityWorker = Staff(31, kCity, authz::Role::kCaseworker, "caseworker.city");
const authz::Principal kStateWorker = Staff(41, kState, authz::Role::kCaseworker, "caseworker.state");
const authz::Principal kStateDesk = Staff(42, kState, authz::Role::kFrontdesk, "frontdesk.state");
const authz::Principal kHealthWorker = Staff(61, kHealth, authz::Role::kCaseworker, "caseworker.health");
const authz::Principal kHarbourWorker = Staff(51, kHarbour, authz::Role::kCaseworker, "caseworker.ngo");

core::Timestamp At(const char* rfc3339_minute) {
  auto d = core::Date::Parse(std::string(rfc3339_minute).substr(0, 10)).value();
  const int h = std::stoi(std::string(rfc3339_minute).substr(11, 2));
  const int m = std::stoi(std::string(rfc3339_minute).substr(14, 2));
  return core::Timestamp{(d.ToDays() * 86400LL + h * 3600 + m * 60) * 1'000'000};
}

TEST(LocalDate, CountsInTheDeploymentsTimeZoneAcrossMonthEnds) {
  // Late on 31 January in UTC is already 1 February in New Zealand (UTC+13 in summer)...
  EXPECT_EQ(LocalDate(At("2026-01-31T12:00"), "Pacific/Auckland")->ToString(), "2026-02-01");
  EXPECT_EQ(LocalDate(At("2026-01-31T12:00"), "UTC")->ToString(), "2026-01-31");
  // ...and early on 1 March in UTC is still 28 February in New York (UTC-5).
  EXPECT_EQ(LocalDate(At("2026-03-01T03:00"), "America/New_York")->ToString(), "2026-02-28");
  // Summer time: UTC-4 in New York from 8 March 2026.
  EXPECT_EQ(LocalDate(At("2026-07-01T03:30"), "America/New_York")->ToString(), "2026-06-30");
  EXPECT_EQ(LocalDate(At("2026-07-01T04:30"), "America/New_York")->ToString(), "2026-07-01");
  EXPECT_EQ(LocalDate(At("2026-01-01T00:00"), "Mars/Olympus").status().code(), StatusCode::kInvalidArgument);
}

std::unique_ptr<eligibility::RuleSet> ShippedRules() {
  std::string root = std::string(ONEDOOR_SOURCE_DIR) + "/rules";
  std::vector<std::string> warnings;
  auto rules = eligibility::RuleSet::Load({root + "/inputs.yaml", root + "/us", root + "/demo"}, {2026, 12, 1},
                                          &warnings);
  EXPECT_TRUE(rules.ok()) << rules.status().message();
  return std::move(rules).value();
}

TEST(DecisionClock, TheShippedPacksGiveSnapAndMedicaidTheirStatutoryDays) {
  auto rules = ShippedRules();
  const auto& snap = rules->programs()[static_cast<size_t>(rules->FindProgram("snap"))];
  EXPECT_EQ(snap.decision_days, 30);
  EXPECT_EQ(snap.expedited_days, 7);
  EXPECT_THAT(snap.clock_citation, HasSubstr("7 CFR 273.2(g)(1)"));
  const auto& medicaid = rules->programs()[static_cast<size_t>(rules->FindProgram("medicaid_adult"))];
  EXPECT_EQ(medicaid.decision_days, 45);
  EXPECT_EQ(medicaid.expedited_days, 0);
  const auto& wic = rules->programs()[static_cast<size_t>(rules->FindProgram("wic"))];
  EXPECT_EQ(wic.decision_days, 0);
}

class ApplicationTest : public ::testing::TestWithParam<std::string> {
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
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) -> Status {
                     for (const char* code : {"city-social", "state-benefits", "health-authority", "harbour-trust"}) {
                       RETURN_IF_ERROR(tx.Execute("INSERT INTO agencies (code, name, kind, created_at) VALUES (?, ?, "
                                                  "'government', 0)",
                                                  {std::string(code), std::string(code) + " name"})
                                           .status());
                     }
                     return Status::Ok();
                   })
                    .ok());
    // 31 January 2026, 12:00 UTC: already 1 February in Auckland.
    clock_.Set(At("2026-01-31T12:00"));
    persons_ = std::make_unique<registry::PersonService>(*db_, gate_, audit_, outbox_, clock_);
    households_ = std::make_unique<registry::HouseholdService>(*db_, gate_, audit_, outbox_, clock_);
    applications_ = std::make_unique<ApplicationService>(*db_, gate_, rules_.get(), audit_, outbox_, clock_,
                                                         ApplicationOptions{"Pacific/Auckland", 30});
    auto h = households_->Create(kCityWorker, "Tane household");
    ASSERT_TRUE(h.ok());
    household_ = h->id;
    for (const char* given : {"Hine", "Rawiri"}) {
      registry::Person p;
      p.names = {{"official", given, "Tane"}};
      auto created = persons_->Create(kCityWorker, p);
      ASSERT_TRUE(created.ok());
      (std::string(given) == "Hine" ? hine_ : rawiri_) = created->id;
    }
    ASSERT_TRUE(households_->AddMember(kCityWorker, household_, hine_, "head", {2024, 1, 1}).ok());
    // A saved screening: what the city's screening found for the household.
    const std::string result = R"({"as_of":"2026-01-31","rules_hash":"x","programs":[
      {"program":"snap","name":"SNAP","agency":"state-benefits","result":"eligible"},
      {"program":"medicaid_adult","name":"Medicaid for adults","agency":"health-authority","result":"unknown"},
      {"program":"winter_fuel_grant","name":"Winter fuel grant","agency":"city-social","result":"not_eligible"},
      {"program":"lost_program","name":"Lost","agency":"nowhere","result":"eligible"}]})";
    ASSERT_TRUE(db_->Write([&](storage::Transaction& tx) -> Status {
                     ASSIGN_OR_RETURN(storage::Rows rows,
                                      tx.Query("INSERT INTO screenings (household_id, as_of, rules_hash, input, result, "
                                               "created_at, created_by, agency_id) VALUES (?, '2026-01-31', 'x', "
                                               "'{\"earned_income\":\"1200\"}', ?, 0, 31, 1) RETURNING id",
                                               {household_.value, result}));
                     screening_ = rows.at(0).Int(0);
                     return Status::Ok();
                   })
                    .ok());
  }

  NewApplication ThreePrograms() const {
    return {screening_, hine_, {"snap", "medicaid_adult", "winter_fuel_grant"}, {"snap"}};
  }

  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    EXPECT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                     ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(sql));
                     n = rows.at(0).Int(0);
                     return Status::Ok();
                   })
                    .ok());
    return n;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  authz::AccessGate gate_;
  std::unique_ptr<eligibility::RuleSet> rules_ = ShippedRules();
  std::unique_ptr<registry::PersonService> persons_;
  std::unique_ptr<registry::HouseholdService> households_;
  std::unique_ptr<ApplicationService> applications_;
  core::HouseholdId household_;
  core::PersonId hine_;
  core::PersonId rawiri_;
  int64_t screening_ = 0;
};

TEST_P(ApplicationTest, OneApplicationGivesEachProgramItsOwnAgencyAndStatutoryDueDate) {
  auto a = applications_->Apply(kCityWorker, ThreePrograms());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->applicant_name, "Hine Tane");
  EXPECT_EQ(a->answers, R"({"earned_income":"1200"})");
  ASSERT_EQ(a->parts.size(), 3u);
  // Received on 1 February (Auckland); SNAP expedited: 7 days; Medicaid: 45 days, across
  // February's 28; the winter fuel grant has no clock in its pack: the default 30.
  EXPECT_EQ(a->parts[0].received.ToString(), "2026-02-01");
  EXPECT_EQ(a->parts[0].due.ToString(), "2026-02-08");
  EXPECT_TRUE(a->parts[0].expedited);
  EXPECT_THAT(a->parts[0].clock, HasSubstr("7 days, expedited (7 CFR"));
  EXPECT_EQ(a->parts[0].agency, kState);
  EXPECT_EQ(a->parts[0].screened, "eligible");
  EXPECT_EQ(a->parts[1].due.ToString(), "2026-03-18");
  EXPECT_EQ(a->parts[2].due.ToString(), "2026-03-03");
  EXPECT_THAT(a->parts[2].clock, HasSubstr("default"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'application.submitted'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'application.submit' AND allowed = 1"), 1);

  // Not expedited: SNAP's 30 days from 1 February is 3 March (applied for again once the first
  // SNAP part is decided).
  ASSERT_TRUE(
      db_->Write([](storage::Transaction& tx) {
           return tx.Execute("UPDATE application_parts SET state = 'denied' WHERE program = 'snap'")
               .status();
         })
          .ok());
  NewApplication plain = ThreePrograms();
  plain.programs = {"snap"};
  plain.expedited.clear();
  auto again = applications_->Apply(kCityWorker, plain);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->parts[0].due.ToString(), "2026-03-03");
}

TEST_P(ApplicationTest, AJointTeamsMemberDecidesThePartOfTheAgencyWhoseWorkTheTeamDoes) {
  auto a = applications_->Apply(kCityWorker, ThreePrograms());
  ASSERT_TRUE(a.ok());
  auto theirs = applications_->Get(kStateWorker, a->id);
  ASSERT_TRUE(theirs.ok());
  const int64_t snap = theirs->parts.at(0).id;
  // Not in a joint team yet: the trust's caseworker neither sees nor decides the state's part.
  EXPECT_EQ(applications_->Get(kHarbourWorker, a->id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(applications_->Decide(kHarbourWorker, snap, PartDecision::kApprove, 1, "").status().code(),
            StatusCode::kNotFound);
  // The trust's team does the state's work, under an agreement letting the trust receive it.
  ASSERT_TRUE(db_->Write([&](storage::Transaction& tx) -> Status {
                   RETURN_IF_ERROR(tx.Execute("INSERT INTO users (id, kind, username, display_name, password_hash, "
                                              "agency_id, created_at, updated_at) VALUES (51, 'staff', 'caseworker.ngo', "
                                              "'Ngo', 'x', ?, 0, 0)",
                                              {kHarbour.value})
                                       .status());
                   ASSIGN_OR_RETURN(storage::Rows team,
                                    tx.Query("INSERT INTO teams (agency_id, name, tier, skills, created_at) VALUES "
                                             "(?, 'Joint benefits team', 'front_line', '', 0) RETURNING id",
                                             {kHarbour.value}));
                   ASSIGN_OR_RETURN(storage::Rows agreement,
                                    tx.Query("INSERT INTO sharing_agreements (receiving_agency_id, holding_agency_id, "
                                             "category, sharing_class, purpose, legal_basis, consent_required, valid_from, "
                                             "description, state, approvals_needed, proposed_by, proposed_at, reason, "
                                             "version) VALUES (?, ?, 'contact', 'white', 'service_delivery', 'Joint "
                                             "working', 0, '2025-01-01', '', 'approved', 1, 1, 0, '', 2) RETURNING id",
                                             {kHarbour.value, kState.value}));
                   RETURN_IF_ERROR(tx.Execute("INSERT INTO team_members (team_id, user_id, username) VALUES (?, 51, "
                                              "'caseworker.ngo')",
                                              {team.at(0).Int(0)})
                                       .status());
                   return tx.Execute("INSERT INTO team_agencies (team_id, agency_id, agreement_id, added_at, added_by) "
                                     "VALUES (?, ?, ?, 0, 'admin.state')",
                                     {team.at(0).Int(0), kState.value, agreement.at(0).Int(0)})
                       .status();
                 })
                  .ok());
  authz::Principal ngo = kHarbourWorker;
  ngo.purpose = authz::Purpose::kServiceDelivery;
  auto seen = applications_->Get(ngo, a->id);
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  ASSERT_EQ(seen->parts.size(), 1u);  // as the state sees it: its part only
  EXPECT_EQ(seen->parts.at(0).id, snap);
  auto approved = applications_->Decide(ngo, snap, PartDecision::kApprove, 1, "");
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  auto decided = applications_->Get(kStateWorker, a->id);
  ASSERT_TRUE(decided.ok());
  EXPECT_EQ(decided->parts.at(0).decided_by, "caseworker.ngo for state-benefits name");
}

TEST_P(ApplicationTest, EveryWrongFieldIsNamedAndNothingIsStored) {
  NewApplication bad = ThreePrograms();
  bad.applicant = rawiri_;  // not a member of the household
  bad.programs = {"snap", "snap", "wic", "lost_program", "medicaid_adult"};
  bad.expedited = {"medicaid_adult", "harbour_food_card"};
  auto refused = applications_->Apply(kCityWorker, bad);
  ASSERT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> messages;
  for (const auto& f : refused.status().fields()) messages.push_back(f.field + ": " + f.message);
  EXPECT_THAT(messages, ElementsAre(HasSubstr("applicant_id: the applicant must be a current member"),
                                    "programs: snap is listed twice", "programs: the screening did not cover wic",
                                    HasSubstr("programs: lost_program belongs to agency 'nowhere'"),
                                    "expedited: medicaid_adult has no expedited service",
                                    "expedited: harbour_food_card is not among the programs applied for"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM applications"), 0);
  NewApplication none = ThreePrograms();
  none.programs.clear();
  none.expedited.clear();
  EXPECT_EQ(applications_->Apply(kCityWorker, none).status().fields().at(0).field, "programs");
  EXPECT_EQ(applications_->Apply(kCityWorker, {999, hine_, {"snap"}, {}}).status().code(), StatusCode::kNotFound);
}

TEST_P(ApplicationTest, EachAgencyDecidesItsOwnPartThroughItsStateMachine) {
  auto a = applications_->Apply(kCityWorker, ThreePrograms());
  ASSERT_TRUE(a.ok());
  // The state sees only its part; the health authority its own; the trust nothing.
  auto theirs = applications_->Get(kStateWorker, a->id);
  ASSERT_TRUE(theirs.ok()) << theirs.status().ToString();
  ASSERT_EQ(theirs->parts.size(), 1u);
  const ApplicationPart snap = theirs->parts[0];
  EXPECT_EQ(snap.program, "snap");
  EXPECT_EQ(applications_->Get(kHarbourWorker, a->id).status().code(), StatusCode::kNotFound);
  // Another agency's part is not found; the front desk does not decide; a stale version conflicts.
  EXPECT_EQ(applications_->Decide(kHealthWorker, snap.id, PartDecision::kApprove, 1, "").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(applications_->Decide(kStateDesk, snap.id, PartDecision::kApprove, 1, "").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(applications_->Decide(kStateWorker, snap.id, PartDecision::kApprove, 7, "").status().code(),
            StatusCode::kAborted);
  EXPECT_EQ(applications_->Decide(kStateWorker, snap.id, PartDecision::kDeny, 1, "").status().fields().at(0).field,
            "note");
  // Through another application's page, the part is not found and nothing is decided.
  EXPECT_EQ(applications_->Decide(kStateWorker, snap.id, PartDecision::kApprove, 1, "", a->id + 1)
                .status()
                .code(),
            StatusCode::kNotFound);
  auto approved =
      applications_->Decide(kStateWorker, snap.id, PartDecision::kApprove, 1, "", a->id);
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  EXPECT_EQ(approved->parts[0].state, "approved");
  EXPECT_EQ(approved->parts[0].decided_by, "caseworker.state");
  auto again = applications_->Decide(kStateWorker, snap.id, PartDecision::kDeny, 2, "no");
  ASSERT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("approved, which is final"));

  const int64_t medicaid = a->parts[1].id;
  auto asked = applications_->Decide(kHealthWorker, medicaid, PartDecision::kRequestInformation, 1,
                                     "Proof of income for January");
  ASSERT_TRUE(asked.ok());
  EXPECT_EQ(asked->parts[0].state, "more_information");
  EXPECT_EQ(asked->parts[0].request, "Proof of income for January");
  auto wrong = applications_->Decide(kHealthWorker, medicaid, PartDecision::kRequestInformation, 2, "more");
  ASSERT_EQ(wrong.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(wrong.status().message(), HasSubstr("more_information; it may only be given information_received"));
  ASSERT_TRUE(applications_->Decide(kHealthWorker, medicaid, PartDecision::kInformationReceived, 2, "").ok());
  auto denied = applications_->Decide(kHealthWorker, medicaid, PartDecision::kDeny, 3, "Income above the limit.");
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->parts[0].reason, "Income above the limit.");

  // The city, where it was made, sees every part and its state.
  auto all = applications_->Get(kCityWorker, a->id);
  ASSERT_EQ(all->parts.size(), 3u);
  EXPECT_EQ(all->parts[0].state, "approved");
  EXPECT_EQ(all->parts[1].state, "denied");
  EXPECT_EQ(all->parts[2].state, "pending");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type LIKE 'application.%'"), 5);
}

TEST_P(ApplicationTest, TheSameApplicationSentTwiceAtOnceIsMadeOnce) {
  ASSERT_TRUE(applications_->Apply(kCityWorker, ThreePrograms()).ok());
  auto twice = applications_->Apply(kCityWorker, ThreePrograms());
  ASSERT_EQ(twice.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(twice.status().message(), HasSubstr("was made a moment ago"));
  // Another choice that holds a program applied for and not decided yet: refused, naming it.
  NewApplication fewer = ThreePrograms();
  fewer.programs = {"snap"};
  fewer.expedited.clear();
  auto again = applications_->Apply(kCityWorker, fewer);
  ASSERT_EQ(again.status().code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(again.status().fields().size(), 1u);
  EXPECT_EQ(again.status().fields()[0].field, "programs");
  EXPECT_THAT(again.status().fields()[0].message,
              HasSubstr("SNAP is applied for already (application"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM applications"), 1);
}

TEST_P(ApplicationTest, TheAgencysListIsSoonestDueFirstAndFlagsWhatIsOverdue) {
  // Two households apply for SNAP: Rawiri's own (a copy of the screening, saved with it), then
  // Hine's.
  auto other = households_->Start(kCityWorker, "Rawiri household", rawiri_, "head", {2024, 1, 1});
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  int64_t other_screening = 0;
  ASSERT_TRUE(
      db_->Write([&](storage::Transaction& tx) -> Status {
           ASSIGN_OR_RETURN(
               storage::Rows rows,
               tx.Query("INSERT INTO screenings (household_id, as_of, rules_hash, input, result, "
                        "created_at, created_by, agency_id) SELECT ?, as_of, rules_hash, input, "
                        "result, created_at, created_by, agency_id FROM screenings WHERE id = ? "
                        "RETURNING id",
                        {other->id.value, screening_}));
           other_screening = rows.at(0).Int(0);
           return Status::Ok();
         })
          .ok());
  NewApplication first = ThreePrograms();
  first.screening_id = other_screening;
  first.applicant = rawiri_;
  first.programs = {"snap"};
  first.expedited.clear();
  auto made = applications_->Apply(kCityWorker, first);  // due 3 March
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  ASSERT_TRUE(applications_->Apply(kCityWorker, ThreePrograms()).ok());  // SNAP due 8 February
  auto list = applications_->ToDecide(kStateWorker, "open");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].parts.at(0).due.ToString(), "2026-02-08");
  EXPECT_TRUE((*list)[0].answers.empty());
  EXPECT_FALSE((*list)[0].parts[0].OverdueOn(applications_->Today()));
  clock_.Set(At("2026-02-08T12:00"));  // 9 February in Auckland
  EXPECT_TRUE((*list)[0].parts[0].OverdueOn(applications_->Today()));
  EXPECT_FALSE((*list)[1].parts[0].OverdueOn(applications_->Today()));
  EXPECT_THAT(*applications_->ToDecide(kStateWorker, "decided"), IsEmpty());
  EXPECT_EQ(applications_->ToDecide(kStateWorker, "later").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(applications_->ForPerson(kCityWorker, hine_)->size(), 1u);
  EXPECT_EQ(applications_->ForPerson(kCityWorker, rawiri_)->size(), 1u);
  EXPECT_EQ(applications_->ForPerson(kHarbourWorker, hine_)->size(), 0u);
}

authz::Principal Citizen(int64_t user, core::PersonId person, const std::string& name) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kCitizen;
  p.user = core::UserId{user};
  p.person = person;
  p.name = name;
  p.purpose = authz::Purpose::kOwnRecord;
  return p;
}

TEST_P(ApplicationTest, APersonAppliesInThePortalForThemselfAndAnswersARequest) {
  const authz::Principal hine = Citizen(900, hine_, "citizen-0a1b2c");
  // For themself only: not for someone else, even of their household.
  NewApplication theirs = ThreePrograms();
  theirs.applicant = rawiri_;
  EXPECT_EQ(applications_->Apply(hine, theirs).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'application.submit' AND allowed = 0"), 1);
  auto a = applications_->Apply(hine, ThreePrograms());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  // Made at no agency: each owning agency sees its own part only, the person every part.
  EXPECT_TRUE(a->FromPortal());
  EXPECT_EQ(a->made_by, "Hine Tane");
  EXPECT_EQ(a->parts.size(), 3u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM applications WHERE agency_id IS NULL"), 1);
  auto for_state = applications_->Get(kStateWorker, a->id);
  ASSERT_TRUE(for_state.ok()) << for_state.status().ToString();
  ASSERT_EQ(for_state->parts.size(), 1u);
  EXPECT_EQ(for_state->parts[0].program, "snap");
  auto for_city = applications_->Get(kCityWorker, a->id);  // the winter fuel grant's agency
  ASSERT_TRUE(for_city.ok());
  ASSERT_EQ(for_city->parts.size(), 1u);
  EXPECT_EQ(applications_->Get(kHarbourWorker, a->id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(applications_->ForPerson(hine, hine_)->size(), 1u);

  // Nothing is asked yet: no answer.
  const int64_t snap = for_state->parts[0].id;
  EXPECT_EQ(applications_->Answer(hine, snap, 1, "Here").status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(applications_->Decide(kStateWorker, snap, PartDecision::kRequestInformation, 1, "Payslips").ok());
  EXPECT_EQ(applications_->Answer(hine, snap, 2, " ").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(applications_->Answer(hine, snap, 2, std::string(2001, 'x')).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(applications_->Answer(hine, snap, 1, "Here").status().code(), StatusCode::kAborted);
  // Not someone else's part, nor by staff.
  const authz::Principal rawiri = Citizen(901, rawiri_, "citizen-3d4e5f");
  EXPECT_EQ(applications_->Answer(rawiri, snap, 2, "Here").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(applications_->Answer(kStateWorker, snap, 2, "Here").status().code(), StatusCode::kNotFound);
  auto answered = applications_->Answer(hine, snap, 2, "Brought to the office");
  ASSERT_TRUE(answered.ok()) << answered.status().ToString();
  const ApplicationPart& part = answered->parts[0];
  EXPECT_EQ(part.state, "pending");
  EXPECT_EQ(part.answer, "Brought to the office");
  EXPECT_EQ(part.request, "Payslips");
  EXPECT_TRUE(part.answered_at.has_value());
  EXPECT_EQ(part.version, 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'application.information_received'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'application.answer' AND allowed = 1"), 1);
  EXPECT_EQ(applications_->Get(kStateWorker, a->id)->parts[0].answer, "Brought to the office");
}

INSTANTIATE_TEST_SUITE_P(Databases, ApplicationTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cases
