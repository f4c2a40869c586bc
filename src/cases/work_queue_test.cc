#include "cases/work_queue.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cases/case_service.h"
#include "cases/referral_service.h"
#include "registry/person_service.h"
#include "sharing/consent_service.h"
#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace cases {
namespace {

using core::Status;
using core::StatusCode;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

IntakeFacts Facts(std::string kind, std::string urgency, double agencies = 1) {
  return {{"kind", std::move(kind)}, {"urgency", std::move(urgency)}, {"program", std::string()},
          {"expedited", false}, {"agencies", agencies}};
}

TEST(IntakeRules, TheFirstRuleThatHoldsRoutesTheWork) {
  const auto& rules = IntakeRules::Default();
  EXPECT_EQ(rules.Route(Facts("referral", "urgent"))->tier, "specialist");
  EXPECT_EQ(rules.Route(Facts("referral", "urgent"))->rule, "Urgent referrals go to the specialists");
  EXPECT_EQ(rules.Route(Facts("referral", "soon"))->tier, "front_line");
  EXPECT_EQ(rules.Route(Facts("application", "", 3))->complexity, "complex");
  EXPECT_EQ(rules.Route(Facts("application", "", 2))->complexity, "simple");
  EXPECT_EQ(rules.Route({{"kind", std::string("referral")}}).status().code(), StatusCode::kInternal);
}

TEST(IntakeRules, AFileWithAMistakeIsRefusedNamingTheLineAndColumn) {
  auto check = [](const std::string& text, const std::string& expected) {
    auto r = IntakeRules::Parse(text, "intake.yaml");
    ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(r.status().message(), HasSubstr(expected)) << text;
  };
  check("rules:\n  - name: x\n    when: colour == \"red\"\n    complexity: simple\n    tier: front_line\n",
        "intake.yaml:3:11: 'colour' is not a fact");
  check("rules:\n  - name: x\n    when: urgency == 3\n    complexity: simple\n    tier: front_line\n",
        "'==' compares a text with a number");
  check("rules:\n  - name: x\n    when: agencies + 1\n    complexity: simple\n    tier: front_line\n",
        "`when` must be true or false");
  check("rules:\n  - name: x\n    when: kind == \"referral\"\n    complexity: simple\n    tier: front_line\n",
        "the last rule must have `when: true`");
  check("rules:\n  - name: x\n    when: true\n    complexity: hard\n    tier: front_line\n",
        "intake.yaml:4:17: complexity must be simple or complex");
  check("rules:\n  - name: x\n    when: (kind ==\n    complexity: simple\n    tier: front_line\n", "intake.yaml:3:");
  check("rules:\n  - name: x\n    when: true\n    complexity: simple\n    tier: front_line\n    colour: red\n",
        "unknown key 'colour'");
  auto shipped = IntakeRules::Load(std::string(ONEDOOR_SOURCE_DIR) + "/config/intake.yaml");
  ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
  EXPECT_EQ(shipped->Route(Facts("referral", "urgent"))->tier, "specialist");
}

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

class WorkQueueTest : public ::testing::TestWithParam<std::string> {
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
                     for (const char* code : {"city-social", "state-benefits"}) {
                       RETURN_IF_ERROR(tx.Execute("INSERT INTO agencies (code, name, kind, created_at) VALUES (?, ?, "
                                                  "'government', 0)",
                                                  {std::string(code), std::string(code) + " name"})
                                           .status());
                     }
                     // Staff of the state: two front-line workers, a specialist and a manager.
                     for (const char* user : {"front.one", "front.two", "specialist.one", "manager.state"}) {
                       RETURN_IF_ERROR(tx.Execute("INSERT INTO users (kind, username, display_name, password_hash, "
                                                  "agency_id, created_at, updated_at) VALUES ('staff', ?, ?, 'x', 2, 0, 0)",
                                                  {std::string(user), std::string(user)})
                                           .status());
                     }
                     return Status::Ok();
                   })
                    .ok());
    persons_ = std::make_unique<registry::PersonService>(*db_, gate_, audit_, outbox_, clock_);
    consents_ = std::make_unique<sharing::ConsentService>(*db_, authz::DataCategories::Builtin(), gate_, audit_,
                                                          outbox_, clock_);
    referrals_ = std::make_unique<ReferralService>(*db_, authz::DataCategories::Builtin(), gate_, audit_, outbox_,
                                                   clock_);
    referrals_->SetIntake(&IntakeRules::Default());
    queue_ = std::make_unique<WorkQueueService>(*db_, IntakeRules::Default(), audit_, outbox_, clock_);
    registry::Person p;
    p.names = {{"official", "Tui", "Queue"}};
    auto made = persons_->Create(city_, p);
    ASSERT_TRUE(made.ok());
    person_ = made->id;
    sharing::ConsentGrant g;
    g.receiving_agency = core::AgencyId{2};
    g.scope = sharing::ConsentScope::kFull;
    g.legal_basis = "consent";
    g.valid_from = clock_.Now().UtcDate();
    g.how_to_withdraw = "Tell us.";
    g.document_ref = "Q-1";
    auto c = consents_->Give(city_, person_, g);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    consent_ = c->id;
  }

  Referral Send(Urgency u) {
    // Each a referral of its own: the same one sent again at once is refused as sent twice.
    NewReferral r{
        person_, core::AgencyId{2}, "Hardship payment", u, fmt::format("Needs help ({}).", ++sent_),
        consent_};
    auto sent = referrals_->Send(city_, r);
    EXPECT_TRUE(sent.ok()) << sent.status().ToString();
    return sent.ok() ? *sent : Referral{};
  }

  int sent_ = 0;
  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  authz::AccessGate gate_;
  std::unique_ptr<registry::PersonService> persons_;
  std::unique_ptr<sharing::ConsentService> consents_;
  std::unique_ptr<ReferralService> referrals_;
  std::unique_ptr<WorkQueueService> queue_;
  core::PersonId person_;
  int64_t consent_ = 0;
  const authz::Principal city_ = Staff(31, core::AgencyId{1}, authz::Role::kCaseworker, "caseworker.city");
  const authz::Principal front1_ = Staff(1, core::AgencyId{2}, authz::Role::kCaseworker, "front.one");
  const authz::Principal front2_ = Staff(2, core::AgencyId{2}, authz::Role::kCaseworker, "front.two");
  const authz::Principal specialist_ = Staff(3, core::AgencyId{2}, authz::Role::kSpecialist, "specialist.one");
  const authz::Principal manager_ = Staff(4, core::AgencyId{2}, authz::Role::kManager, "manager.state");
};

TEST_P(WorkQueueTest, ReferralsAreRoutedByTierClaimedEscalatedAndSettledByTheAnswer) {
  EXPECT_EQ(queue_->CreateTeam(front1_, "Front", "front_line", {}).status().code(), StatusCode::kPermissionDenied);
  auto front = queue_->CreateTeam(manager_, "Front desk team", "front_line", {});
  ASSERT_TRUE(front.ok()) << front.status().ToString();
  auto specialists = queue_->CreateTeam(manager_, "Complex needs", "specialist", {"crisis"});
  ASSERT_TRUE(specialists.ok());
  EXPECT_EQ(queue_->CreateTeam(manager_, "Complex needs", "specialist", {}).status().code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(queue_->AddMember(manager_, front->id, 1).ok());
  ASSERT_TRUE(queue_->AddMember(manager_, front->id, 2).ok());
  ASSERT_TRUE(queue_->AddMember(manager_, specialists->id, 3).ok());
  EXPECT_EQ(queue_->AddMember(manager_, front->id, 999).status().code(), StatusCode::kInvalidArgument);

  Referral soon = Send(Urgency::kSoon);
  Referral urgent = Send(Urgency::kUrgent);
  auto mine = queue_->Queue(front1_);
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  ASSERT_EQ(mine->size(), 1u);
  WorkItem item = mine->front();
  EXPECT_EQ(item.source_id, soon.id);
  EXPECT_EQ(item.tier, "front_line");
  EXPECT_EQ(item.complexity, "simple");
  EXPECT_EQ(item.team_name, "Front desk team");
  ASSERT_TRUE(item.due.has_value());
  auto theirs = queue_->Queue(specialist_);
  ASSERT_EQ(theirs->size(), 1u);
  EXPECT_EQ(theirs->front().source_id, urgent.id);
  EXPECT_EQ(theirs->front().rule, "Urgent referrals go to the specialists");
  EXPECT_EQ(queue_->Queue(manager_)->size(), 2u);

  // Claim: the team's members only; then only the one who has it finishes it.
  EXPECT_EQ(queue_->Act(specialist_, item.id, WorkAction::kClaim, item.version, "").status().code(),
            StatusCode::kPermissionDenied);
  auto claimed = queue_->Act(front1_, item.id, WorkAction::kClaim, item.version, "");
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  EXPECT_EQ(claimed->assignee, "front.one");
  auto twice = queue_->Act(front2_, item.id, WorkAction::kClaim, claimed->version, "");
  ASSERT_EQ(twice.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(twice.status().message(), HasSubstr("claimed; it may only be given release, assign, escalate or done"));
  EXPECT_EQ(queue_->Act(front2_, item.id, WorkAction::kDone, claimed->version, "").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(queue_->Act(front1_, item.id, WorkAction::kRelease, 1, "").status().code(), StatusCode::kAborted);
  // Another member of the team may not give back or send on the work someone has claimed.
  EXPECT_EQ(
      queue_->Act(front2_, item.id, WorkAction::kRelease, claimed->version, "").status().code(),
      StatusCode::kPermissionDenied);
  EXPECT_EQ(queue_->Act(front2_, item.id, WorkAction::kEscalate, claimed->version, "Not mine")
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  // Too complex for the front line: escalated to the specialists, with the reason.
  EXPECT_EQ(queue_->Act(front1_, item.id, WorkAction::kEscalate, claimed->version, "").status().code(),
            StatusCode::kInvalidArgument);
  auto up = queue_->Act(front1_, item.id, WorkAction::kEscalate, claimed->version, "Debts with three creditors");
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_TRUE(up->escalated);
  EXPECT_EQ(up->state, "open");
  EXPECT_EQ(up->team_name, "Complex needs");
  EXPECT_THAT(*queue_->Queue(front1_), IsEmpty());
  EXPECT_EQ(queue_->Queue(specialist_)->size(), 2u);
  // The manager assigns it; the referral's answer settles it.
  EXPECT_EQ(queue_->Act(manager_, item.id, WorkAction::kAssign, up->version, "", 1).status().code(),
            StatusCode::kInvalidArgument);  // not in the specialist team
  auto assigned = queue_->Act(manager_, item.id, WorkAction::kAssign, up->version, "", 3);
  ASSERT_TRUE(assigned.ok()) << assigned.status().ToString();
  EXPECT_EQ(assigned->assignee, "specialist.one");
  ASSERT_TRUE(referrals_->Act(specialist_, soon.id, ReferralAction::kAccept, soon.version, "").ok());
  auto left = queue_->Queue(specialist_);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().source_id, urgent.id);
}

TEST_P(WorkQueueTest, AJointTeamOfTheCityDoesTheStatesWorkUnderAnAgreementAndActsForTheState) {
  // The city's joint assessment team (joint.one, user 5), and the agreement that lets the city
  // receive the state's data for case work.
  ASSERT_TRUE(db_->Write([](storage::Transaction& tx) -> Status {
                   for (const char* user : {"joint.one", "manager.city"}) {
                     RETURN_IF_ERROR(tx.Execute("INSERT INTO users (kind, username, display_name, password_hash, "
                                                "agency_id, created_at, updated_at) VALUES ('staff', ?, ?, 'x', 1, 0, 0)",
                                                {std::string(user), std::string(user)})
                                         .status());
                   }
                   for (int64_t receiving : {1, 2}) {
                     RETURN_IF_ERROR(tx.Execute("INSERT INTO sharing_agreements (receiving_agency_id, holding_agency_id, "
                                                "category, sharing_class, purpose, legal_basis, consent_required, "
                                                "valid_from, description, state, approvals_needed, proposed_by, "
                                                "proposed_at, reason, version) VALUES (?, ?, 'contact', 'white', "
                                                "'case_work', 'Joint working order 2026', 0, '2025-01-01', '', "
                                                "'approved', 1, 4, 0, '', 2)",
                                                {receiving, receiving == 1 ? int64_t{2} : int64_t{1}})
                                         .status());
                   }
                   return Status::Ok();
                 })
                  .ok());
  const int64_t lets_city_receive = 1;
  const int64_t lets_state_receive = 2;
  const authz::Principal city_manager = Staff(6, core::AgencyId{1}, authz::Role::kManager, "manager.city");
  const authz::Principal joint = Staff(5, core::AgencyId{1}, authz::Role::kCaseworker, "joint.one");
  auto team = queue_->CreateTeam(city_manager, "Joint assessment", "front_line", {});
  ASSERT_TRUE(team.ok()) << team.status().ToString();
  ASSERT_TRUE(queue_->AddMember(city_manager, team->id, 5).ok());

  // The state's managers decide, on an agreement letting the city receive the state's data.
  EXPECT_EQ(queue_->JoinTeam(front1_, team->id, lets_city_receive).status().code(), StatusCode::kPermissionDenied);
  auto wrong = queue_->JoinTeam(manager_, team->id, lets_state_receive);
  ASSERT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wrong.status().fields().at(0).field, "agreement_id");
  EXPECT_THAT(wrong.status().fields().at(0).message, HasSubstr("does not let city-social name receive"));
  EXPECT_EQ(queue_->JoinTeam(city_manager, team->id, lets_city_receive).status().code(), StatusCode::kInvalidArgument);
  auto candidates = queue_->JointCandidates(manager_);
  ASSERT_TRUE(candidates.ok());
  ASSERT_EQ(candidates->size(), 1u);
  EXPECT_EQ(candidates->front().team.id, team->id);
  EXPECT_EQ(candidates->front().agreement, lets_city_receive);
  auto joined = queue_->JoinTeam(manager_, team->id, lets_city_receive);
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  ASSERT_EQ(joined->joint.size(), 1u);
  EXPECT_EQ(joined->joint.front().name, "state-benefits name");
  auto states_teams = queue_->Teams(manager_);
  ASSERT_TRUE(states_teams.ok());
  ASSERT_EQ(states_teams->size(), 1u);  // the state has none of its own: the joint one shows
  EXPECT_EQ(states_teams->front().agency_name, "city-social name");

  // The state's referral goes to the joint team; its member claims it and answers it for the state.
  Referral r = Send(Urgency::kSoon);
  auto work = queue_->Queue(joint);
  ASSERT_TRUE(work.ok()) << work.status().ToString();
  ASSERT_EQ(work->size(), 1u);
  EXPECT_EQ(work->front().agency, core::AgencyId{2});
  EXPECT_EQ(work->front().team, team->id);
  auto claimed = queue_->Act(joint, work->front().id, WorkAction::kClaim, work->front().version, "");
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  EXPECT_EQ(referrals_->Get(city_manager, r.id).status().code(), StatusCode::kOk);  // the sender sees it anyway
  auto accepted = referrals_->Act(joint, r.id, ReferralAction::kAccept, r.version, "");
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ(accepted->state, ReferralState::kAccepted);
  EXPECT_EQ(accepted->events.back().actor, "joint.one for state-benefits name");
  EXPECT_EQ(accepted->events.back().agency, core::AgencyId{2});
  auto settled = queue_->Queue(joint);
  ASSERT_TRUE(settled.ok());
  EXPECT_THAT(*settled, IsEmpty());  // answered: its work is done

  // A member who leaves the team gives back what they had claimed.
  Referral second = Send(Urgency::kSoon);
  work = queue_->Queue(joint);
  ASSERT_TRUE(work.ok());
  ASSERT_EQ(work->size(), 1u);
  ASSERT_TRUE(queue_->Act(joint, work->front().id, WorkAction::kClaim, work->front().version, "").ok());
  EXPECT_EQ(queue_->RemoveMember(manager_, team->id, 5).status().code(), StatusCode::kNotFound);  // not the state's team
  auto removed = queue_->RemoveMember(city_manager, team->id, 5);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_TRUE(removed->members.empty());
  auto back = queue_->Queue(manager_);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ(back->front().state, "open");
  EXPECT_EQ(back->front().assignee, "");
  // No longer in the team: no longer acting for the state (only as the city, which sent it).
  auto as_city = referrals_->Act(joint, second.id, ReferralAction::kAccept, second.version, "");
  ASSERT_EQ(as_city.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(as_city.status().message(), HasSubstr("only state-benefits name, which received the referral"));
  ASSERT_TRUE(queue_->AddMember(city_manager, team->id, 5).ok());
  // A revoked agreement ends it at once.
  ASSERT_TRUE(db_->Write([](storage::Transaction& tx) {
                   return tx.Execute("UPDATE sharing_agreements SET state = 'revoked' WHERE id = 1").status();
                 })
                  .ok());
  EXPECT_EQ(referrals_->Act(joint, second.id, ReferralAction::kReceive, second.version, "").status().code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(db_->Write([](storage::Transaction& tx) {
                   return tx.Execute("UPDATE sharing_agreements SET state = 'approved' WHERE id = 1").status();
                 })
                  .ok());
  auto received = referrals_->Act(joint, second.id, ReferralAction::kReceive, second.version, "");
  ASSERT_TRUE(received.ok()) << received.status().ToString();

  // The state takes its work back: what was at the joint team is routed again (no team of its own).
  auto left = queue_->LeaveTeam(manager_, team->id);
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  EXPECT_TRUE(left->joint.empty());
  auto returned = queue_->Queue(manager_);
  ASSERT_TRUE(returned.ok());
  ASSERT_EQ(returned->size(), 1u);
  EXPECT_EQ(returned->front().team, 0);
  EXPECT_THAT(*queue_->Queue(joint), IsEmpty());
  EXPECT_EQ(queue_->LeaveTeam(manager_, team->id).status().code(), StatusCode::kNotFound);
}

TEST_P(WorkQueueTest, AnActionOfACasePlanIsWorkForItsAgencyUntilItIsDone) {
  auto front = queue_->CreateTeam(manager_, "Front line", "front_line", {});
  ASSERT_TRUE(front.ok());
  ASSERT_TRUE(queue_->AddMember(manager_, front->id, 1).ok());
  CaseService cases(*db_, authz::DataCategories::Builtin(), gate_, audit_, outbox_, clock_);
  cases.SetIntake(&IntakeRules::Default());
  const authz::Principal coordinator = Staff(30, core::AgencyId{1}, authz::Role::kCoordinator, "coordinator.city");
  auto c = cases.Open(coordinator, {person_, std::nullopt, "Support", "Criteria met.", 28});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto joined = cases.AddParticipant(coordinator, c->id, c->version, core::AgencyId{2}, consent_);
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  auto planned = cases.AddAction(coordinator, c->id, joined->version,
                                 {0, "Assess for income support", core::AgencyId{2}, "", core::Date{2026, 1, 20}});
  ASSERT_TRUE(planned.ok()) << planned.status().ToString();
  auto mine = queue_->Queue(front1_);
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ(mine->front().source, "case_action");
  EXPECT_EQ(mine->front().title, "Case action: Assess for income support");
  EXPECT_EQ(mine->front().Link(), fmt::format("/cases/{}", c->id));
  ASSERT_TRUE(mine->front().due.has_value());
  ASSERT_TRUE(cases.SetItemState(front1_, c->id, planned->version, planned->plan[0].id, "done", "Granted.").ok());
  EXPECT_THAT(*queue_->Queue(front1_), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Databases, WorkQueueTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cases
