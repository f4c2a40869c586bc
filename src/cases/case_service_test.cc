#include "cases/case_service.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "registry/household_service.h"
#include "registry/person_service.h"
#include "sharing/agreement_service.h"
#include "sharing/consent_service.h"
#include "sharing/gate_facts.h"
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
constexpr core::AgencyId kHarbour{3};
constexpr int64_t kDay = 86400LL * 1'000'000;

authz::Principal Staff(int64_t user, core::AgencyId agency, authz::Role role, const std::string& name) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{user};
  p.agency = agency;
  p.name = name;
  p.roles = {role};
  p.purpose = authz::Purpose::kCaseWork;
  return p;
}

const authz::Principal kCoordinator = Staff(30, kCity, authz::Role::kCoordinator, "coordinator.city");
const authz::Principal kCityWorker = Staff(31, kCity, authz::Role::kCaseworker, "caseworker.city");
const authz::Principal kStateWorker = Staff(41, kState, authz::Role::kCaseworker, "caseworker.state");
const authz::Principal kHarbourWorker = Staff(51, kHarbour, authz::Role::kCaseworker, "caseworker.ngo");

TEST(CaseDateTime, ParsesMinutesSecondsAndZuluAndRefusesTheRest) {
  EXPECT_EQ(ParseDateTime("2026-03-02T10:00")->ToRfc3339(), "2026-03-02T10:00:00.000Z");
  EXPECT_EQ(ParseDateTime("2026-03-02T10:00:30Z")->ToRfc3339(), "2026-03-02T10:00:30.000Z");
  EXPECT_EQ(ParseDateTime("2026-03-02T10:00:30.250Z")->ToRfc3339(), "2026-03-02T10:00:30.000Z");
  for (const char* bad : {"", "2026-03-02", "2026-03-02 10:00", "2026-02-30T10:00", "2026-03-02T24:00",
                          "2026-03-02T10:60", "2026-03-02T10:00+02:00", "2026-03-02Txx:00"}) {
    EXPECT_FALSE(ParseDateTime(bad).ok()) << bad;
  }
}

class CaseTest : public ::testing::TestWithParam<std::string> {
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
                     for (const char* code : {"city-social", "state-benefits", "harbour-trust"}) {
                       const std::string kind = std::string(code) == "harbour-trust" ? "nonprofit" : "government";
                       RETURN_IF_ERROR(tx.Execute("INSERT INTO agencies (code, name, kind, created_at) "
                                                  "VALUES (?, ?, ?, 0)",
                                                  {std::string(code), std::string(code) + " name", kind})
                                           .status());
                     }
                     return Status::Ok();
                   })
                    .ok());
    agreements_ = std::make_unique<sharing::AgreementService>(*db_, categories_, audit_, outbox_, clock_);
    facts_ = std::make_unique<sharing::GateFacts>(*db_, *agreements_, categories_, clock_);
    gate_ = std::make_unique<authz::AccessGate>(categories_, *facts_);
    persons_ = std::make_unique<registry::PersonService>(*db_, *gate_, audit_, outbox_, clock_);
    consents_ = std::make_unique<sharing::ConsentService>(*db_, categories_, *gate_, audit_, outbox_, clock_);
    cases_ = std::make_unique<CaseService>(*db_, categories_, *gate_, audit_, outbox_, clock_);
    registry::Person p;
    p.names.push_back({"official", "Mere", "Whanau"});
    p.phones.push_back({"mobile", "+61 400 000 002"});
    auto mere = persons_->Create(kCityWorker, p);
    ASSERT_TRUE(mere.ok()) << mere.status().ToString();
    mere_ = mere->id;
  }

  int forms_ = 0;
  int64_t Consent(core::AgencyId to, authz::Purpose purpose = authz::Purpose::kCaseWork) {
    sharing::ConsentGrant g;
    g.receiving_agency = to;
    g.categories = {"identity", "contact"};
    g.purpose = purpose;
    g.legal_basis = "GDPR art. 6(1)(a)";
    g.valid_from = clock_.Now().UtcDate();
    g.how_to_withdraw = "Tell the coordinator.";
    g.document_ref = "SF-" + std::to_string(++forms_);  // each a signed form of its own
    auto c = consents_->Give(kCityWorker, mere_, g);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? c->id : 0;
  }

  Case MustOpen() {
    NewCase n{mere_, std::nullopt, "Whanau family support", "Three agencies involved; the family asked for help.", 28};
    auto c = cases_->Open(kCoordinator, n);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : Case{};
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
  core::FakeClock clock_;  // Thursday 2026-01-01
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  const authz::DataCategories& categories_ = authz::DataCategories::Builtin();
  std::unique_ptr<sharing::AgreementService> agreements_;
  std::unique_ptr<sharing::GateFacts> facts_;
  std::unique_ptr<authz::AccessGate> gate_;
  std::unique_ptr<registry::PersonService> persons_;
  std::unique_ptr<sharing::ConsentService> consents_;
  std::unique_ptr<CaseService> cases_;
  core::PersonId mere_;
};

TEST_P(CaseTest, ACoordinatorOpensACaseThatItsAgencyCoordinatesAndIsDueForReview) {
  NewCase n{mere_, std::nullopt, "", "", 3};
  auto bad = cases_->Open(kCoordinator, n);
  ASSERT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : bad.status().fields()) fields.push_back(f.field);
  EXPECT_THAT(fields, ElementsAre("title", "criteria", "review_every_days"));
  // A caseworker does not open cases; the refusal is audited.
  n = {mere_, std::nullopt, "Support", "Criteria met.", 28};
  EXPECT_EQ(cases_->Open(kCityWorker, n).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'case.open' AND allowed = 0"), 1);
  // Not a member of the household named.
  n.household = core::HouseholdId{99};
  EXPECT_EQ(cases_->Open(kCoordinator, n).status().code(), StatusCode::kInvalidArgument);

  Case c = MustOpen();
  EXPECT_EQ(c.state, "open");
  EXPECT_EQ(c.person_name, "Mere Whanau");
  EXPECT_EQ(c.coordinating_agency, kCity);
  EXPECT_EQ(c.coordinator, "coordinator.city");
  ASSERT_EQ(c.participants.size(), 1u);
  EXPECT_EQ(c.participants[0].agency, kCity);
  EXPECT_EQ(c.next_review_at.micros, clock_.Now().micros + 28 * kDay);
  EXPECT_FALSE(c.ReviewOverdueAt(clock_.Now()));
  EXPECT_TRUE(c.ReviewOverdueAt(core::Timestamp{clock_.Now().micros + 29 * kDay}));
  ASSERT_EQ(c.timeline.size(), 1u);
  EXPECT_EQ(c.timeline[0].kind, "opened");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'case.opened'"), 1);
}

TEST_P(CaseTest, AgenciesJoinOnlyWithThePersonsConsentAndTheLeadMustTakePart) {
  Case c = MustOpen();
  auto no_consent = cases_->AddParticipant(kCoordinator, c.id, c.version, kState, 0);
  ASSERT_EQ(no_consent.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(no_consent.status().fields().at(0).field, "consent_id");
  auto wrong_agency = cases_->AddParticipant(kCoordinator, c.id, c.version, kState, Consent(kHarbour));
  ASSERT_EQ(wrong_agency.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_agency.status().fields().at(0).message, HasSubstr("does not name state-benefits name"));
  auto not_yet = cases_->AppointLead(kCoordinator, c.id, c.version, kState);
  ASSERT_EQ(not_yet.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(not_yet.status().fields().at(0).field, "agency_id");
  // The state's caseworker does not know the case before the state joins.
  EXPECT_EQ(cases_->Get(kStateWorker, c.id).status().code(), StatusCode::kNotFound);

  auto joined = cases_->AddParticipant(kCoordinator, c.id, c.version, kState, Consent(kState));
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  ASSERT_EQ(joined->participants.size(), 2u);
  EXPECT_GT(joined->participants[1].consent_id, 0);
  EXPECT_EQ(cases_->AddParticipant(kCoordinator, c.id, joined->version, kState, Consent(kState)).status().code(),
            StatusCode::kInvalidArgument);  // already in
  auto lead = cases_->AppointLead(kCoordinator, c.id, joined->version, kState);
  ASSERT_TRUE(lead.ok()) << lead.status().ToString();
  EXPECT_EQ(lead->lead_agency, kState);
  EXPECT_EQ(lead->lead_agency_name, "state-benefits name");
  // A stale version is a conflict; a participant that does not coordinate is refused, audited.
  EXPECT_EQ(cases_->AppointLead(kCoordinator, c.id, joined->version, kCity).status().code(), StatusCode::kAborted);
  auto by_state = cases_->AppointLead(kStateWorker, c.id, lead->version, kState);
  ASSERT_EQ(by_state.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(by_state.status().message(), HasSubstr("city-social name, which coordinates the case"));
  ASSERT_TRUE(cases_->Get(kStateWorker, c.id).ok());
  EXPECT_EQ(cases_->Get(kHarbourWorker, c.id).status().code(), StatusCode::kNotFound);
}

TEST_P(CaseTest, AnAgencyLeavesWhenTheCoordinatorSaysOrWhenThePersonWithdrawsTheConsentItJoinedOn) {
  consents_->OnWithdrawal([this](storage::Transaction& tx, int64_t consent, const authz::Principal& who,
                                 core::Timestamp now) {
    return CaseService::LeaveOnWithdrawnConsent(tx, audit_, outbox_, who, consent, now);
  });
  Case c = MustOpen();
  auto joined = cases_->AddParticipant(kCoordinator, c.id, c.version, kState, Consent(kState));
  ASSERT_TRUE(joined.ok());
  auto lead = cases_->AppointLead(kCoordinator, c.id, joined->version, kState);
  ASSERT_TRUE(lead.ok());
  auto coordinating = cases_->RemoveParticipant(kCoordinator, c.id, lead->version, kCity, "done");
  ASSERT_EQ(coordinating.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(coordinating.status().fields().at(0).message, HasSubstr("coordinates the case and cannot leave it"));
  auto no_reason = cases_->RemoveParticipant(kCoordinator, c.id, lead->version, kState, "");
  ASSERT_EQ(no_reason.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(no_reason.status().fields().at(0).field, "reason");
  EXPECT_EQ(cases_->RemoveParticipant(kCoordinator, c.id, lead->version, kHarbour, "x").status().code(),
            StatusCode::kInvalidArgument);  // not in the case
  EXPECT_EQ(cases_->RemoveParticipant(kStateWorker, c.id, lead->version, kState, "x").status().code(),
            StatusCode::kPermissionDenied);
  auto left = cases_->RemoveParticipant(kCoordinator, c.id, lead->version, kState, "Support ended");
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  EXPECT_EQ(left->participants.size(), 1u);
  EXPECT_FALSE(left->lead_agency.has_value());
  EXPECT_EQ(left->timeline.back().text,
            "state-benefits name left the case: Support ended. The case has no lead agency now: appoint another");
  EXPECT_EQ(cases_->Get(kStateWorker, c.id).status().code(), StatusCode::kNotFound);

  // Back on a new consent; the person withdraws it, and the agency leaves with it.
  const int64_t consent = Consent(kState);
  auto again = cases_->AddParticipant(kCoordinator, c.id, left->version, kState, consent);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_TRUE(consents_->Record(kCityWorker, consent, sharing::ConsentAction::kWithdraw, "the family asked").ok());
  auto after = cases_->Get(kCoordinator, c.id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->participants.size(), 1u);
  EXPECT_EQ(after->version, again->version + 1);
  EXPECT_EQ(after->timeline.back().kind, "participant_removed");
  EXPECT_THAT(after->timeline.back().text, HasSubstr(fmt::format("the person withdrew consent {}", consent)));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'case.participant_removed'"), 2);
}

TEST_P(CaseTest, AConferenceAgreesAPlanWhoseActionsTheirAgenciesCarryOutThenReviewAndClosure) {
  Case c = MustOpen();
  auto v = cases_->AddParticipant(kCoordinator, c.id, c.version, kState, Consent(kState));
  ASSERT_TRUE(v.ok());
  // Held on the morning of the day before (the clock is at 2026-01-01), recorded afterwards.
  NewConference conf{ParseDateTime("2025-12-31T10:00").value(), "Riverside One-Stop Centre, room 2",
                     "Mere Whanau (the mother)\ncoordinator.city\ncaseworker.state"};
  // A date long before the case, or years ahead, is a mistake.
  for (const char* when : {"1900-01-01T10:00", "2029-01-01T10:00"}) {
    auto wrong =
        cases_->ScheduleConference(kCoordinator, c.id, v->version,
                                   {ParseDateTime(when).value(), "Riverside", "coordinator.city"});
    ASSERT_EQ(wrong.status().code(), StatusCode::kInvalidArgument) << when;
    EXPECT_EQ(wrong.status().fields().at(0).field, "scheduled_at");
  }
  // One still to come is not held yet: it may be cancelled.
  NewConference later{ParseDateTime("2026-01-08T10:00").value(), "Riverside", "coordinator.city"};
  auto planned = cases_->ScheduleConference(kCoordinator, c.id, v->version, later);
  ASSERT_TRUE(planned.ok()) << planned.status().ToString();
  const int64_t later_id = planned->conferences[0].id;
  auto too_soon = cases_->RecordConference(kCoordinator, c.id, planned->version, later_id, true,
                                           "Met.", "Agreed.");
  ASSERT_EQ(too_soon.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(too_soon.status().message(), HasSubstr("the conference is on 2026-01-08 10:00"));
  auto cancelled =
      cases_->RecordConference(kCoordinator, c.id, planned->version, later_id, false, "Moved.", "");
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  v = cancelled;
  auto scheduled = cases_->ScheduleConference(kCoordinator, c.id, v->version, conf);
  ASSERT_TRUE(scheduled.ok()) << scheduled.status().ToString();
  ASSERT_EQ(scheduled->conferences.size(), 2u);
  const int64_t conf_id = scheduled->conferences[0].id;  // by date: the earlier first
  ASSERT_NE(conf_id, later_id);
  // Not closed while a conference is scheduled.
  auto early = cases_->Close(kCoordinator, c.id, scheduled->version, "x", "y");
  ASSERT_EQ(early.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(early.status().message(), HasSubstr("still scheduled"));
  EXPECT_EQ(cases_->RecordConference(kCoordinator, c.id, scheduled->version, conf_id, true, "", "").status().code(),
            StatusCode::kInvalidArgument);
  auto held = cases_->RecordConference(kCoordinator, c.id, scheduled->version, conf_id, true,
                                       "The family wants stable housing and income.", "State leads on income.");
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  EXPECT_EQ(held->conferences[0].state, "held");
  EXPECT_EQ(held->conferences[1].state, "cancelled");
  EXPECT_EQ(cases_->RecordConference(kCoordinator, c.id, held->version, conf_id, false, "no", "").status().code(),
            StatusCode::kFailedPrecondition);

  auto goal = cases_->AddGoal(kCoordinator, c.id, held->version, "A steady income within three months");
  ASSERT_TRUE(goal.ok());
  const int64_t goal_id = goal->plan[0].id;
  NewAction a{goal_id, "Assess for income support", kState, "caseworker.state", core::Date{2026, 1, 15}};
  auto action = cases_->AddAction(kCoordinator, c.id, goal->version, a);
  ASSERT_TRUE(action.ok()) << action.status().ToString();
  const PlanItem& item = action->plan[1];
  EXPECT_EQ(item.kind, "action");
  EXPECT_EQ(item.agency_name, "state-benefits name");
  EXPECT_FALSE(item.OverdueOn(core::Date{2026, 1, 15}));
  EXPECT_TRUE(item.OverdueOn(core::Date{2026, 1, 16}));
  NewAction elsewhere{0, "Food parcels", kHarbour, "", std::nullopt};
  EXPECT_EQ(cases_->AddAction(kCoordinator, c.id, action->version, elsewhere).status().code(),
            StatusCode::kInvalidArgument);  // the trust does not take part
  // The state does its action; it may not mark the goal, nor add to the plan.
  EXPECT_EQ(cases_->SetItemState(kStateWorker, c.id, action->version, goal_id, "achieved", "").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(cases_->AddGoal(kStateWorker, c.id, action->version, "More").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(cases_->SetItemState(kStateWorker, c.id, action->version, item.id, "achieved", "").status().code(),
            StatusCode::kInvalidArgument);  // an action is done or cancelled
  auto done = cases_->SetItemState(kStateWorker, c.id, action->version, item.id, "done", "Granted from 12 January.");
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->plan[1].state, "done");
  EXPECT_EQ(cases_->SetItemState(kStateWorker, c.id, done->version, item.id, "cancelled", "x").status().code(),
            StatusCode::kFailedPrecondition);
  auto achieved = cases_->SetItemState(kCoordinator, c.id, done->version, goal_id, "achieved", "");
  ASSERT_TRUE(achieved.ok());

  // A review four weeks on, then closure.
  clock_.Advance(std::chrono::hours(24 * 29));
  EXPECT_TRUE(achieved->ReviewOverdueAt(clock_.Now()));
  auto reviewed =
      cases_->Review(kCoordinator, c.id, achieved->version, "Income steady; housing next");
  ASSERT_TRUE(reviewed.ok());
  EXPECT_FALSE(reviewed->ReviewOverdueAt(clock_.Now()));
  // The notes are a sentence of their own on the timeline.
  EXPECT_THAT(reviewed->timeline.back().text,
              ::testing::StartsWith("Reviewed: Income steady; housing next. Next review by "));
  // Kept for the service metrics: due on day 28, done a day late.
  EXPECT_EQ(Count(fmt::format("SELECT COUNT(*) FROM case_reviews WHERE case_id = {} AND due_at = {} AND "
                              "reviewed_at = {} AND agency_id = {}",
                              c.id, achieved->next_review_at.micros, clock_.Now().micros,
                              achieved->coordinating_agency.value)),
            1);
  EXPECT_EQ(cases_->Close(kCoordinator, c.id, reviewed->version, "", "").status().fields().size(), 2u);
  auto closed = cases_->Close(kCoordinator, c.id, reviewed->version, "The family's goals were met.", "goals met");
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_EQ(closed->state, "closed");
  ASSERT_TRUE(closed->closed_at.has_value());
  auto after = cases_->AddGoal(kCoordinator, c.id, closed->version, "More");
  ASSERT_EQ(after.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(after.status().message(), HasSubstr("the case is closed"));

  std::vector<std::string> kinds;
  for (const auto& e : closed->timeline) kinds.push_back(e.kind);
  EXPECT_THAT(kinds, ElementsAre("opened", "participant_added", "conference_scheduled",
                                 "conference_cancelled", "conference_scheduled", "conference_held",
                                 "goal_added", "action_added", "action_done", "goal_achieved",
                                 "reviewed", "closed"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type LIKE 'case.%'"), 12);
  EXPECT_EQ(Count(fmt::format("SELECT COUNT(*) FROM audit_log WHERE person_id = {} AND action LIKE 'case.%' AND "
                              "allowed = 0",
                              mere_.value)),
            2);  // the goal the state may not mark, the goal it may not add
}

TEST_P(CaseTest, ListsAndThePersonsOwnView) {
  Case c = MustOpen();
  auto cases = cases_->List(kCityWorker, "open");
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  ASSERT_EQ(cases->size(), 1u);
  EXPECT_THAT(*cases_->List(kStateWorker, "all"), IsEmpty());
  EXPECT_EQ(cases_->List(kCityWorker, "shut").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cases_->ForPerson(kCityWorker, mere_)->size(), 1u);
  EXPECT_THAT(*cases_->ForPerson(kHarbourWorker, mere_), IsEmpty());
  authz::Principal mere;
  mere.kind = authz::PrincipalKind::kCitizen;
  mere.user = core::UserId{99};
  mere.name = "mere";
  mere.purpose = authz::Purpose::kOwnRecord;
  mere.person = mere_;
  EXPECT_EQ(cases_->ForPerson(mere, mere_)->size(), 1u);
  EXPECT_TRUE(cases_->Get(mere, c.id).ok());
  EXPECT_EQ(cases_->AddGoal(mere, c.id, c.version, "x").status().code(), StatusCode::kPermissionDenied);
  authz::Principal token = kCoordinator;
  token.kind = authz::PrincipalKind::kSystem;
  token.token = core::ApiTokenId{3};
  token.scopes = {"cases:read"};
  EXPECT_TRUE(cases_->Get(token, c.id).ok());
  EXPECT_EQ(cases_->AddGoal(token, c.id, c.version, "x").status().code(), StatusCode::kPermissionDenied);
}

INSTANTIATE_TEST_SUITE_P(Databases, CaseTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cases
