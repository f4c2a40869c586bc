#include "cases/referral_service.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

const authz::Principal kCityWorker = Staff(31, kCity, authz::Role::kCaseworker, "caseworker.city");
const authz::Principal kCityDesk = Staff(32, kCity, authz::Role::kFrontdesk, "frontdesk.city");
const authz::Principal kStateWorker = Staff(41, kState, authz::Role::kCaseworker, "caseworker.state");
const authz::Principal kHarbourWorker = Staff(51, kHarbour, authz::Role::kCaseworker, "caseworker.ngo");

constexpr int64_t kDay = 86400LL * 1'000'000;
constexpr int64_t kHour = 3600LL * 1'000'000;
// 2026-01-30 is a Friday.
constexpr core::Timestamp kFriday30January10am{(20483 * 24 + 10) * 3600LL * 1'000'000};

registry::Person Ada() {
  registry::Person p;
  p.names.push_back({"official", "Ada", "Okafor"});
  p.birth_date = core::PartialDate::Parse("1984-05-02").value();
  p.addresses.push_back({"home", "3 Quay Lane", "", "Harbourside", "", "4000", ""});
  p.phones.push_back({"mobile", "+61 400 000 001"});
  return p;
}

TEST(WorkingDays, SkipWeekendsAndCrossMonthEnds) {
  EXPECT_EQ(core::Timestamp{kFriday30January10am}.UtcDate().ToString(), "2026-01-30");
  // Friday + 1 = Monday, the same time of day, in the next month.
  EXPECT_EQ(AddWorkingDays(kFriday30January10am, 1).micros, kFriday30January10am.micros + 3 * kDay);
  EXPECT_EQ(AddWorkingDays(kFriday30January10am, 1).UtcDate().ToString(), "2026-02-02");
  // Friday + 10 = two weeks later.
  EXPECT_EQ(AddWorkingDays(kFriday30January10am, 10).micros, kFriday30January10am.micros + 14 * kDay);
  // A Saturday afternoon counts from Monday morning: + 1 is Tuesday 00:00.
  const core::Timestamp saturday{kFriday30January10am.micros + kDay + 5 * kHour};
  EXPECT_EQ(AddWorkingDays(saturday, 1).micros, kFriday30January10am.micros - 10 * kHour + 4 * kDay);
  // 0 days from a weekday is the same moment; a Wednesday + 3 is the Monday after.
  EXPECT_EQ(AddWorkingDays(kFriday30January10am, 0).micros, kFriday30January10am.micros);
  const core::Timestamp wednesday{kFriday30January10am.micros - 2 * kDay};
  EXPECT_EQ(AddWorkingDays(wednesday, 3).UtcDate().ToString(), "2026-02-02");
  // Across a year end: Thursday 31 December 2026 + 2 = Monday 4 January 2027.
  EXPECT_EQ(AddWorkingDays(core::Timestamp{20818 * kDay + 9 * kHour}, 2).UtcDate().ToString(), "2027-01-04");
}

TEST(ReferralStateMachine, EachStateAllowsItsActionsAndTheFinalOnesNone) {
  using A = ReferralAction;
  EXPECT_THAT(AllowedActions(ReferralState::kSent), ElementsAre(A::kReceive, A::kAccept, A::kDecline, A::kWithdraw));
  EXPECT_THAT(AllowedActions(ReferralState::kReceived), ElementsAre(A::kAccept, A::kDecline, A::kWithdraw));
  EXPECT_THAT(AllowedActions(ReferralState::kAccepted), ElementsAre(A::kStart, A::kClose, A::kWithdraw));
  EXPECT_THAT(AllowedActions(ReferralState::kInProgress), ElementsAre(A::kComplete, A::kClose, A::kWithdraw));
  for (auto s : {ReferralState::kDeclined, ReferralState::kCompleted, ReferralState::kClosed,
                 ReferralState::kWithdrawn}) {
    EXPECT_TRUE(IsFinal(s));
    EXPECT_THAT(AllowedActions(s), IsEmpty());
  }
  for (int i = 0; i < 8; ++i) {
    auto s = static_cast<ReferralState>(i);
    EXPECT_EQ(*ParseReferralState(ReferralStateName(s)), s);
  }
  EXPECT_FALSE(ParseReferralState("lost").ok());
  EXPECT_FALSE(ParseReferralAction("reopen").ok());
  EXPECT_FALSE(ParseUrgency("whenever").ok());
}

class ReferralTest : public ::testing::TestWithParam<std::string> {
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
    clock_.Set(kFriday30January10am);
    agreements_ = std::make_unique<sharing::AgreementService>(*db_, categories_, audit_, outbox_, clock_);
    facts_ = std::make_unique<sharing::GateFacts>(*db_, *agreements_, categories_, clock_);
    gate_ = std::make_unique<authz::AccessGate>(categories_, *facts_);
    persons_ = std::make_unique<registry::PersonService>(*db_, *gate_, audit_, outbox_, clock_);
    consents_ = std::make_unique<sharing::ConsentService>(*db_, categories_, *gate_, audit_, outbox_, clock_);
    referrals_ = std::make_unique<ReferralService>(*db_, categories_, *gate_, audit_, outbox_, clock_);
    auto ada = persons_->Create(kCityWorker, Ada());
    ASSERT_TRUE(ada.ok()) << ada.status().ToString();
    ada_ = ada->id;
    consent_ = Consent(kState, {"identity", "contact"});
  }

  int64_t Consent(core::AgencyId to, std::vector<std::string> categories,
                  authz::Purpose purpose = authz::Purpose::kServiceDelivery) {
    sharing::ConsentGrant g;
    g.receiving_agency = to;
    g.categories = std::move(categories);
    g.purpose = purpose;
    g.legal_basis = "GDPR art. 6(1)(a)";
    g.valid_from = clock_.Now().UtcDate();
    g.how_to_withdraw = "Tell any caseworker.";
    g.document_ref = "FORM-7";
    auto c = consents_->Give(kCityWorker, ada_, g);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? c->id : 0;
  }

  NewReferral ToState() const {
    NewReferral r;
    r.person = ada_;
    r.to_agency = kState;
    r.service = "Emergency hardship payment";
    r.urgency = Urgency::kSoon;
    r.message = "Lost her job last week; rent due on Friday.";
    r.consent_id = consent_;
    return r;
  }

  // Each a referral of its own: the same one sent again at once is refused as sent twice.
  Referral MustSend() {
    NewReferral in = ToState();
    in.message += fmt::format(" (note {})", ++sent_);
    auto r = referrals_->Send(kCityWorker, in);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Referral{};
  }

  int sent_ = 0;

  core::StatusOr<Referral> Do(const Referral& r, ReferralAction a, const std::string& note = "noted") {
    const auto& who = BySender(a) ? kCityWorker : kStateWorker;
    return referrals_->Act(who, r.id, a, r.version, note);
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
  const authz::DataCategories& categories_ = authz::DataCategories::Builtin();
  std::unique_ptr<sharing::AgreementService> agreements_;
  std::unique_ptr<sharing::GateFacts> facts_;
  std::unique_ptr<authz::AccessGate> gate_;
  std::unique_ptr<registry::PersonService> persons_;
  std::unique_ptr<sharing::ConsentService> consents_;
  std::unique_ptr<ReferralService> referrals_;
  core::PersonId ada_;
  int64_t consent_ = 0;
};

TEST_P(ReferralTest, ASentReferralIsDueByItsUrgencyAndAuditedWithItsEvent) {
  Referral r = MustSend();
  EXPECT_EQ(r.state, ReferralState::kSent);
  EXPECT_EQ(r.person_name, "Ada Okafor");
  EXPECT_EQ(r.from_agency, kCity);
  EXPECT_EQ(r.to_agency_name, "state-benefits name");
  EXPECT_EQ(r.version, 1);
  // Soon: three working days from Friday 10:00 is Wednesday 10:00.
  EXPECT_EQ(r.respond_by.micros, kFriday30January10am.micros + 5 * kDay);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].action, "sent");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'referral.send' AND allowed = 1"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'referral.sent'"), 1);
  EXPECT_FALSE(r.OverdueAt(clock_.Now()));
  EXPECT_TRUE(r.OverdueAt(core::Timestamp{r.respond_by.micros + 1}));

  NewReferral urgent = ToState();
  urgent.urgency = Urgency::kUrgent;
  auto u = referrals_->Send(kCityWorker, urgent);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->respond_by.micros, kFriday30January10am.micros + 3 * kDay);  // Monday
}

TEST_P(ReferralTest, EveryTransitionIsAllowedOrRefusedNamingTheStateAndTheActionsItAllows) {
  using A = ReferralAction;
  // The way to each state from a new referral.
  const std::vector<std::pair<ReferralState, std::vector<A>>> paths = {
      {ReferralState::kSent, {}},
      {ReferralState::kReceived, {A::kReceive}},
      {ReferralState::kAccepted, {A::kAccept}},
      {ReferralState::kDeclined, {A::kDecline}},
      {ReferralState::kInProgress, {A::kAccept, A::kStart}},
      {ReferralState::kCompleted, {A::kAccept, A::kStart, A::kComplete}},
      {ReferralState::kClosed, {A::kAccept, A::kClose}},
      {ReferralState::kWithdrawn, {A::kWithdraw}},
  };
  const std::vector<A> actions = {A::kReceive, A::kAccept, A::kDecline, A::kStart,
                                  A::kComplete, A::kClose, A::kWithdraw};
  for (const auto& [state, path] : paths) {
    for (A action : actions) {
      SCOPED_TRACE(fmt::format("{} then {}", ReferralStateName(state), ReferralActionName(action)));
      Referral r = MustSend();
      for (A step : path) {
        auto next = Do(r, step);
        ASSERT_TRUE(next.ok()) << next.status().ToString();
        r = *next;
      }
      ASSERT_EQ(r.state, state);
      const auto allowed = AllowedActions(state);
      const bool ok = std::find(allowed.begin(), allowed.end(), action) != allowed.end();
      auto done = Do(r, action);
      if (ok) {
        ASSERT_TRUE(done.ok()) << done.status().ToString();
        EXPECT_EQ(done->version, r.version + 1);
        EXPECT_EQ(done->events.back().to_state, ReferralStateName(done->state));
        EXPECT_EQ(done->events.back().action, std::string(ReferralActionName(action)) == "start" ? "started"
                                              : done->events.back().action);
      } else {
        ASSERT_EQ(done.status().code(), StatusCode::kFailedPrecondition) << done.status().ToString();
        EXPECT_THAT(done.status().message(), HasSubstr(fmt::format("the referral is {}", ReferralStateName(state))));
        EXPECT_THAT(done.status().message(), HasSubstr(allowed.empty() ? "final" : "may only be"));
      }
    }
  }
}

TEST_P(ReferralTest, AcceptingASentReferralReceivesItInTheSameStepAndAnswersIt) {
  Referral r = MustSend();
  clock_.Advance(std::chrono::hours(2));
  auto accepted = Do(r, ReferralAction::kAccept, "");
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  ASSERT_EQ(accepted->events.size(), 3u);
  EXPECT_EQ(accepted->events[1].action, "received");
  EXPECT_EQ(accepted->events[2].action, "accepted");
  EXPECT_EQ(accepted->events[2].actor, "caseworker.state");
  ASSERT_TRUE(accepted->answered_at.has_value());
  EXPECT_EQ(accepted->answered_at->micros, kFriday30January10am.micros + 2 * kHour);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'referral.accepted'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'referral.accept' AND actor = 'caseworker.state'"),
            1);
}

TEST_P(ReferralTest, DeclineWithdrawCompleteAndCloseNeedTheirReasonOrOutcome) {
  Referral r = MustSend();
  for (auto a : {ReferralAction::kDecline, ReferralAction::kWithdraw}) {
    auto refused = Do(r, a, "");
    ASSERT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(refused.status().fields().at(0).field, "note");
  }
  auto declined = Do(r, ReferralAction::kDecline, "We do not serve her postcode; try the harbour trust.");
  ASSERT_TRUE(declined.ok());
  EXPECT_EQ(declined->reason, "We do not serve her postcode; try the harbour trust.");
  EXPECT_EQ(Do(r, ReferralAction::kWithdraw, std::string(2001, 'x')).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ReferralTest, EachSideTakesItsOwnActionsAndOtherAgenciesDoNotKnowTheReferral) {
  Referral r = MustSend();
  // The sender may not accept; the receiver may not withdraw: refused and audited.
  auto by_sender = referrals_->Act(kCityWorker, r.id, ReferralAction::kAccept, r.version, "");
  ASSERT_EQ(by_sender.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(by_sender.status().message(), HasSubstr("which received the referral"));
  auto by_receiver = referrals_->Act(kStateWorker, r.id, ReferralAction::kWithdraw, r.version, "no");
  ASSERT_EQ(by_receiver.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'referral.%' AND allowed = 0"), 2);
  // A third agency does not know of it; the front desk of the sender neither.
  EXPECT_EQ(referrals_->Get(kHarbourWorker, r.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(referrals_->Act(kHarbourWorker, r.id, ReferralAction::kAccept, r.version, "").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(referrals_->Get(kCityDesk, r.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(referrals_->Send(kCityDesk, ToState()).status().code(), StatusCode::kPermissionDenied);
  // A stale version is a conflict.
  auto received = Do(r, ReferralAction::kReceive);
  ASSERT_TRUE(received.ok());
  EXPECT_EQ(referrals_->Act(kStateWorker, r.id, ReferralAction::kAccept, r.version, "").status().code(),
            StatusCode::kAborted);
  // Both agencies read it, each read audited about Ada.
  ASSERT_TRUE(referrals_->Get(kCityWorker, r.id).ok());
  ASSERT_TRUE(referrals_->Get(kStateWorker, r.id).ok());
  EXPECT_EQ(Count(fmt::format("SELECT COUNT(*) FROM audit_log WHERE action = 'referral.read' AND person_id = {}",
                              ada_.value)),
            2);
}

TEST_P(ReferralTest, TokensNeedTheirScopeAndStaffAClientPurpose) {
  Referral r = MustSend();
  authz::Principal token = kStateWorker;
  token.kind = authz::PrincipalKind::kSystem;
  token.user = core::UserId{};
  token.token = core::ApiTokenId{7};
  token.name = "state-sync";
  token.scopes = {"persons:read"};
  auto refused = referrals_->Get(token, r.id);
  ASSERT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.status().message(), HasSubstr("lacks the scope referrals:read"));
  EXPECT_EQ(referrals_->List(token, ReferralQuery{}).status().code(), StatusCode::kPermissionDenied);
  token.scopes = {"referrals:read"};
  EXPECT_TRUE(referrals_->Get(token, r.id).ok());
  EXPECT_EQ(referrals_->Act(token, r.id, ReferralAction::kAccept, r.version, "").status().code(),
            StatusCode::kPermissionDenied);
  token.scopes = {"referrals:read", "referrals:write"};
  EXPECT_TRUE(referrals_->Act(token, r.id, ReferralAction::kAccept, r.version, "").ok());
  authz::Principal admin_purpose = kCityWorker;
  admin_purpose.purpose = authz::Purpose::kAdministration;
  auto sent = referrals_->Send(admin_purpose, ToState());
  ASSERT_EQ(sent.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(sent.status().message(), HasSubstr("purpose administration"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'referral.%' AND allowed = 0"), 4);
}

TEST_P(ReferralTest, AReferralWithoutAConsentThatCoversItIsRefusedByField) {
  auto field_error = [&](NewReferral r, const std::string& contains) {
    auto sent = referrals_->Send(kCityWorker, r);
    ASSERT_EQ(sent.status().code(), StatusCode::kInvalidArgument) << sent.status().ToString();
    ASSERT_FALSE(sent.status().fields().empty());
    EXPECT_EQ(sent.status().fields().back().field, "consent_id");
    EXPECT_THAT(sent.status().fields().back().message, HasSubstr(contains));
  };
  NewReferral none = ToState();
  none.consent_id = 0;
  field_error(none, "the person's consent is needed to share their details with state-benefits name");
  NewReferral unknown = ToState();
  unknown.consent_id = 999;
  field_error(unknown, "no consent with this id");
  NewReferral elsewhere = ToState();
  elsewhere.consent_id = Consent(kHarbour, {"identity", "contact"});
  field_error(elsewhere, "does not name state-benefits name");
  NewReferral names_only = ToState();
  names_only.consent_id = Consent(kState, {"identity"});
  field_error(names_only, "does not cover Contact details");
  NewReferral eligibility = ToState();
  eligibility.consent_id = Consent(kState, {"identity", "contact"}, authz::Purpose::kEligibility);
  field_error(eligibility, "not for service delivery or case work");
  // Withdrawn: refused from the very next referral.
  ASSERT_TRUE(consents_->Record(kCityWorker, consent_, sharing::ConsentAction::kWithdraw, "she asked").ok());
  field_error(ToState(), "was withdrawn");
  // Other fields are named too, all at once.
  NewReferral bad = ToState();
  bad.to_agency = kCity;
  bad.urgency.reset();
  bad.message = "";
  auto sent = referrals_->Send(kCityWorker, bad);
  ASSERT_EQ(sent.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : sent.status().fields()) fields.push_back(f.field);
  EXPECT_THAT(fields, ElementsAre("to_agency_id", "urgency", "message", "consent_id"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM referrals"), 0);
}

TEST_P(ReferralTest, WithdrawingTheConsentClosesTheOpenReferralsThatReliedOnIt) {
  consents_->OnWithdrawal([this](storage::Transaction& tx, int64_t consent, const authz::Principal& who,
                                 core::Timestamp now) {
    return ReferralService::CloseOnWithdrawnConsent(tx, audit_, outbox_, who, consent, now);
  });
  Referral sent = MustSend();
  Referral started = MustSend();
  ASSERT_TRUE(Do(started, ReferralAction::kAccept).ok());
  auto accepted = referrals_->Get(kStateWorker, started.id);
  ASSERT_TRUE(accepted.ok());
  ASSERT_TRUE(Do(*accepted, ReferralAction::kStart).ok());
  Referral declined = MustSend();
  ASSERT_TRUE(Do(declined, ReferralAction::kDecline, "no capacity").ok());
  ASSERT_TRUE(consents_->Record(kCityWorker, consent_, sharing::ConsentAction::kWithdraw, "she asked").ok());
  for (int64_t id : {sent.id, started.id}) {
    auto r = referrals_->Get(kCityWorker, id);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->state, ReferralState::kClosed) << id;
    EXPECT_THAT(r->outcome, HasSubstr("the person withdrew consent"));
    // The receiving agency answers it no more.
    EXPECT_EQ(Do(*r, ReferralAction::kComplete).status().code(), StatusCode::kFailedPrecondition);
  }
  auto still = referrals_->Get(kCityWorker, declined.id);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->state, ReferralState::kDeclined);  // already settled: left as it was
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'referral.closed'"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'referral.close'"), 2);
}

TEST_P(ReferralTest, InboxAndSentListsPageNewestFirstAndFilterByState) {
  std::vector<Referral> sent;
  for (int i = 0; i < 5; ++i) sent.push_back(MustSend());
  ASSERT_TRUE(Do(sent[0], ReferralAction::kDecline, "full").ok());
  ReferralQuery q;
  q.limit = 2;
  auto first = referrals_->List(kStateWorker, q);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].id, sent[4].id);
  ASSERT_TRUE(first->next.has_value());
  q.after = *first->next;
  auto second = referrals_->List(kStateWorker, q);
  ASSERT_EQ(second->items.size(), 2u);
  EXPECT_EQ(second->items[1].id, sent[1].id);
  EXPECT_FALSE(second->next.has_value());  // the declined one is not open
  ReferralQuery declined{Box::kReceived, "declined", 0, 50};
  EXPECT_EQ(referrals_->List(kStateWorker, declined)->items.size(), 1u);
  ReferralQuery mine{Box::kSent, "all", 0, 50};
  EXPECT_EQ(referrals_->List(kCityWorker, mine)->items.size(), 5u);
  EXPECT_THAT(referrals_->List(kHarbourWorker, ReferralQuery{})->items, IsEmpty());
  EXPECT_EQ(referrals_->List(kStateWorker, ReferralQuery{Box::kReceived, "lost", 0, 50}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(referrals_->List(kCityDesk, ReferralQuery{}).status().code(), StatusCode::kPermissionDenied);

  // The person's referrals: those the caller's agency is party to; all for the person.
  EXPECT_EQ(referrals_->ForPerson(kStateWorker, ada_)->size(), 5u);
  EXPECT_THAT(*referrals_->ForPerson(kHarbourWorker, ada_), IsEmpty());
  authz::Principal ada;
  ada.kind = authz::PrincipalKind::kCitizen;
  ada.user = core::UserId{99};
  ada.name = "ada";
  ada.purpose = authz::Purpose::kOwnRecord;
  ada.person = ada_;
  EXPECT_EQ(referrals_->ForPerson(ada, ada_)->size(), 5u);
  EXPECT_TRUE(referrals_->Get(ada, sent[0].id).ok());
  EXPECT_EQ(referrals_->Act(ada, sent[1].id, ReferralAction::kWithdraw, 1, "no").status().code(),
            StatusCode::kPermissionDenied);
}

INSTANTIATE_TEST_SUITE_P(Databases, ReferralTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
TEST_P(ReferralTest, TheSameReferralSentTwiceAtOnceIsSentOnce) {
  ASSERT_TRUE(referrals_->Send(kCityWorker, ToState()).ok());
  auto twice = referrals_->Send(kCityWorker, ToState());
  EXPECT_EQ(twice.status().code(), StatusCode::kAlreadyExists);
  NewReferral other = ToState();
  other.message = "Another matter.";
  EXPECT_TRUE(referrals_->Send(kCityWorker, other).ok());
  clock_.Advance(std::chrono::minutes(3));
  EXPECT_TRUE(referrals_->Send(kCityWorker, ToState()).ok());
}

}  // namespace cases
