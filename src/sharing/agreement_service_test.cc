#include "sharing/agreement_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace sharing {
namespace {

using core::Status;
using core::StatusCode;
using ::testing::HasSubstr;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

constexpr core::AgencyId kCity{1};
constexpr core::AgencyId kState{2};
constexpr core::AgencyId kHealth{3};
constexpr core::AgencyId kBoard{4};  // the consortium's data governance board

authz::Principal Staff(int64_t user, core::AgencyId agency, authz::Role role,
                       const std::string& name) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{user};
  p.agency = agency;
  p.name = name;
  p.roles = {role};
  p.purpose = authz::Purpose::kAdministration;
  return p;
}

const authz::Principal kGus = Staff(11, kHealth, authz::Role::kGovernance, "governance.health");
const authz::Principal kGwen = Staff(12, kCity, authz::Role::kGovernance, "governance.city");
const authz::Principal kPia = Staff(13, kBoard, authz::Role::kGovernance, "pia.board");
const authz::Principal kBo = Staff(14, kBoard, authz::Role::kGovernance, "bo.board");
const authz::Principal kMina = Staff(21, kState, authz::Role::kManager, "manager.state");
const authz::Principal kCasey = Staff(31, kCity, authz::Role::kCaseworker, "caseworker.city");

// The shipped categories, with health of class `health_class`.
std::unique_ptr<authz::DataCategories> Categories(const std::string& health_class = "grey") {
  std::string text =
      "categories:\n"
      "  - {id: identity, label: Identity, class: white}\n"
      "  - {id: income, label: Income, class: grey}\n"
      "  - {id: health, label: Health, class: " +
      health_class +
      "}\n"
      "  - {id: justice, label: Justice, class: black}\n"
      "fields:\n"
      "  person: {names: identity, birth_date: identity, sex: identity, gender: identity, "
      "identifiers: identity,\n"
      "           addresses: identity, phones: identity, emails: identity, preferred_language: "
      "identity,\n"
      "           needs: health, death_date: identity}\n"
      "  records: {household: identity, source_record: identity, screening: income, history: "
      "justice, interaction: identity}\n";
  auto parsed = authz::DataCategories::Parse(text, "test.yaml");
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return std::make_unique<authz::DataCategories>(std::move(parsed).value());
}

Proposal For(core::AgencyId agency, const std::string& category,
             authz::Purpose purpose = authz::Purpose::kCaseWork) {
  Proposal p;
  p.receiving_agency = agency;
  p.category = category;
  p.purpose = purpose;
  p.legal_basis = "GDPR art. 6(1)(e); Social Services Act s.12";
  p.valid_from = {2026, 1, 1};
  p.description = "To coordinate support for shared clients.";
  return p;
}

// The same tests on SQLite and on a throwaway PostgreSQL.
class AgreementServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      db_ = testing_support::NewMigratedSqlite(dir_);
    } else {
      auto opened = storage::OpenPostgres(
          testing_support::PostgresEnvironment::Cluster().NewMigratedDatabaseUrl(), {.connections = 4});
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      db_ = std::move(opened).value();
      ASSERT_TRUE(storage::Migrate(*db_, storage::OnedoorSchema()).ok());
    }
    ASSERT_TRUE(
        db_->Write([](storage::Transaction& tx) -> Status {
             for (const char* code :
                  {"city-social", "state-benefits", "health-authority", "board"}) {
               RETURN_IF_ERROR(
                   tx.Execute("INSERT INTO agencies (code, name, kind, created_at) VALUES "
                              "(?, ?, 'government', 0)",
                              {std::string(code), std::string(code) + " name"})
                       .status());
             }
             return Status::Ok();
           })
            .ok());
    service_ = std::make_unique<AgreementService>(*db_, *categories_, audit_, outbox_, clock_);
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

  // Proposed by the board, approved (once, or twice for grey) by governance users of other
  // agencies than the receiving one.
  Agreement Approved(const Proposal& p) {
    auto proposed = service_->Propose(kPia, p);
    EXPECT_TRUE(proposed.ok()) << proposed.status().ToString();
    Agreement done = *proposed;
    for (const authz::Principal* who : {&kGus, &kGwen, &kBo}) {
      if (done.state != AgreementState::kProposed || who->agency == p.receiving_agency) continue;
      auto decided = service_->Decide(*who, proposed->id, AgreementDecision::kApprove, "");
      EXPECT_TRUE(decided.ok()) << decided.status().ToString();
      if (decided.ok()) done = *decided;
    }
    EXPECT_EQ(done.state, AgreementState::kApproved);
    return done;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;  // 2026-01-01
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  std::unique_ptr<authz::DataCategories> categories_ = Categories();
  std::unique_ptr<AgreementService> service_;
};

TEST_P(AgreementServiceTest, WhiteCategoryIsApprovedByOneGovernanceUserWithAuditAndEvents) {
  auto p = service_->Propose(kPia, For(kState, "identity"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_GT(p->id, 0);
  EXPECT_EQ(p->state, AgreementState::kProposed);
  EXPECT_EQ(p->sharing_class, authz::SharingClass::kWhite);
  EXPECT_EQ(p->approvals_needed, 1);
  EXPECT_EQ(p->receiving_agency_code, "state-benefits");
  EXPECT_EQ(p->valid_from, (core::Date{2026, 1, 1}));
  EXPECT_FALSE(p->valid_to.has_value());
  EXPECT_FALSE(p->consent_required);
  ASSERT_EQ(p->events.size(), 1u);
  EXPECT_EQ(p->events[0].action, "proposed");
  EXPECT_EQ(p->events[0].actor, "pia.board");
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM audit_log WHERE action = 'agreement.propose' AND allowed = 1"),
      1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'agreement.proposed'"), 1);

  auto a = service_->Decide(kGus, p->id, AgreementDecision::kApprove, "meets the protocol");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->state, AgreementState::kApproved);
  EXPECT_EQ(a->approvals(), 1);
  ASSERT_TRUE(a->decided_at.has_value());
  EXPECT_EQ(a->decided_at->micros, clock_.Now().micros);
  EXPECT_EQ(a->events.back().reason, "meets the protocol");
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM audit_log WHERE action = 'agreement.approve' AND allowed = 1 AND "
            "reason = 'approval 1 of 1: approved: meets the protocol'"),
      1);
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM outbox WHERE type = 'agreement.approved' AND aggregate_type = "
            "'sharing_agreement' AND payload LIKE '%\"state\":\"approved\"%'"),
      1);
}

TEST_P(AgreementServiceTest, GreyCategoryNeedsTwoDifferentGovernanceUsers) {
  auto p = service_->Propose(kMina, For(kState, "income", authz::Purpose::kEligibility));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->approvals_needed, 2);
  auto first = service_->Decide(kGus, p->id, AgreementDecision::kApprove, "");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->state, AgreementState::kProposed);
  EXPECT_EQ(first->approvals(), 1);
  EXPECT_FALSE(first->decided_at.has_value());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'agreement.approval_recorded'"), 1);

  auto again = service_->Decide(kGus, p->id, AgreementDecision::kApprove, "");
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("second, different governance user"));

  auto second = service_->Decide(kGwen, p->id, AgreementDecision::kApprove, "");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->state, AgreementState::kApproved);
  EXPECT_EQ(second->approvals(), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'agreement.approve'"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE reason = 'approval 2 of 2: approved'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'agreement.approved'"), 1);
}

// Nobody approves what they asked for: the proposer may not approve (they may withdraw, by
// refusing), nor may a governance user of the agency that would receive the data. Each refusal
// is audited; the agreement waits for someone else.
TEST_P(AgreementServiceTest, NobodyApprovesWhatTheyProposedOrWhatTheirAgencyReceives) {
  auto own = service_->Propose(kGus, For(kState, "identity"));
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  auto self = service_->Decide(kGus, own->id, AgreementDecision::kApprove, "");
  EXPECT_EQ(self.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(self.status().message(), HasSubstr("you proposed agreement"));
  EXPECT_EQ(service_->Get(own->id)->state, AgreementState::kProposed);
  EXPECT_EQ(service_->Get(own->id)->approvals(), 0);
  auto withdrawn =
      service_->Decide(kGus, own->id, AgreementDecision::kRefuse, "withdrawn: asked by mistake");
  ASSERT_TRUE(withdrawn.ok()) << withdrawn.status().ToString();
  EXPECT_EQ(withdrawn->state, AgreementState::kRefused);

  auto for_health = service_->Propose(kPia, For(kHealth, "identity"));
  ASSERT_TRUE(for_health.ok());
  auto receiver = service_->Decide(kGus, for_health->id, AgreementDecision::kApprove, "");
  EXPECT_EQ(receiver.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(receiver.status().message(), HasSubstr("for your own agency to receive data"));
  auto other = service_->Decide(kGwen, for_health->id, AgreementDecision::kApprove, "");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(other->state, AgreementState::kApproved);

  // A grey agreement for the city: health approves, the city may not, the board's second user does.
  auto grey = service_->Propose(kPia, For(kCity, "income"));
  ASSERT_TRUE(grey.ok());
  ASSERT_TRUE(service_->Decide(kGus, grey->id, AgreementDecision::kApprove, "").ok());
  EXPECT_EQ(service_->Decide(kGwen, grey->id, AgreementDecision::kApprove, "").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Decide(kPia, grey->id, AgreementDecision::kApprove, "").status().code(),
            StatusCode::kPermissionDenied);
  auto second = service_->Decide(kBo, grey->id, AgreementDecision::kApprove, "");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->state, AgreementState::kApproved);

  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM audit_log WHERE action = 'agreement.approve' AND allowed = 0"),
      4);
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM audit_log WHERE action = 'agreement.approve' AND allowed = 0 AND "
            "reason LIKE '%own agency%'"),
      2);
}

TEST_P(AgreementServiceTest, ABlackCategoryCannotBeProposed) {
  auto r = service_->Propose(kPia, For(kState, "justice"));
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(r.status().fields().size(), 1u);
  EXPECT_EQ(r.status().fields()[0].field, "category");
  EXPECT_THAT(r.status().fields()[0].message,
              HasSubstr("Justice is a black-class category: it never leaves"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM sharing_agreements"), 0);
}

TEST_P(AgreementServiceTest, AnInvalidProposalNamesEveryField) {
  Proposal p = For(core::AgencyId{99}, "shoe_sizes", authz::Purpose::kAudit);
  p.legal_basis = "";
  p.valid_to = core::Date{2025, 12, 1};
  p.description = std::string(1001, 'x');
  auto r = service_->Propose(kPia, p);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : r.status().fields()) fields.push_back(f.field);
  EXPECT_THAT(fields, ::testing::ElementsAre("receiving_agency_id", "category", "purpose",
                                             "legal_basis", "valid_to", "description"));
  Proposal past = For(kState, "identity");
  past.valid_from = {2025, 1, 1};
  past.valid_to = core::Date{2025, 6, 30};
  auto r2 = service_->Propose(kPia, past);
  ASSERT_EQ(r2.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r2.status().fields()[0].message, "must not be in the past");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM sharing_agreements"), 0);
}

TEST_P(AgreementServiceTest, OnlyManagersAndGovernancePropose_ManagersForTheirOwnAgency) {
  EXPECT_EQ(service_->Propose(kCasey, For(kCity, "identity")).status().code(),
            StatusCode::kPermissionDenied);
  auto other = service_->Propose(kMina, For(kCity, "identity"));
  EXPECT_EQ(other.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(other.status().message(), HasSubstr("their own agency"));
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM audit_log WHERE action = 'agreement.propose' AND allowed = 0"),
      2);
  EXPECT_TRUE(service_->Propose(kMina, For(kState, "identity")).ok());
  EXPECT_TRUE(service_->Propose(kGwen, For(kHealth, "identity")).ok());
}

TEST_P(AgreementServiceTest, OnlySignedInGovernanceUsersDecideAndRefusalsAreAudited) {
  auto p = service_->Propose(kPia, For(kState, "identity"));
  ASSERT_TRUE(p.ok());
  auto by_manager = service_->Decide(kMina, p->id, AgreementDecision::kApprove, "");
  EXPECT_EQ(by_manager.status().code(), StatusCode::kPermissionDenied);
  authz::Principal token = kGus;
  token.kind = authz::PrincipalKind::kSystem;
  token.user = core::UserId{};
  token.name = "governance-sync";
  EXPECT_EQ(service_->Decide(token, p->id, AgreementDecision::kApprove, "").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM audit_log WHERE action = 'agreement.approve' AND allowed = 0 AND "
            "record_id = '" +
            std::to_string(p->id) + "'"),
      2);
  EXPECT_EQ(service_->Get(p->id)->state, AgreementState::kProposed);
}

TEST_P(AgreementServiceTest, RefusalAndRevocationNeedReasonsAndFollowTheStates) {
  auto p = service_->Propose(kPia, For(kState, "identity"));
  ASSERT_TRUE(p.ok());
  auto no_reason = service_->Decide(kGwen, p->id, AgreementDecision::kRefuse, "");
  ASSERT_EQ(no_reason.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(no_reason.status().fields()[0].field, "reason");
  EXPECT_EQ(service_->Decide(kGwen, p->id, AgreementDecision::kRevoke, "not yet").status().code(),
            StatusCode::kFailedPrecondition);
  auto refused =
      service_->Decide(kGwen, p->id, AgreementDecision::kRefuse, "no legal basis for case work");
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  EXPECT_EQ(refused->state, AgreementState::kRefused);
  EXPECT_EQ(refused->reason, "no legal basis for case work");
  auto late = service_->Decide(kGus, p->id, AgreementDecision::kApprove, "");
  EXPECT_EQ(late.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(late.status().message(),
              HasSubstr("is refused: only a proposed agreement can be approved"));

  Agreement a = Approved(For(kState, "identity"));
  EXPECT_EQ(service_->Decide(kGwen, a.id, AgreementDecision::kRefuse, "too late").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->Decide(kGwen, a.id, AgreementDecision::kRevoke, "").status().code(),
            StatusCode::kInvalidArgument);
  auto revoked = service_->Decide(kGwen, a.id, AgreementDecision::kRevoke, "the protocol ended");
  ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
  EXPECT_EQ(revoked->state, AgreementState::kRevoked);
  EXPECT_EQ(revoked->reason, "the protocol ended");
  EXPECT_EQ(service_->Decide(kGwen, a.id, AgreementDecision::kRevoke, "again").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->Decide(kGwen, 999, AgreementDecision::kApprove, "").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action IN ('agreement.refuse', "
                  "'agreement.revoke')"),
            2);
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM outbox WHERE type IN ('agreement.refused', 'agreement.revoked')"),
      2);
  std::vector<std::string> actions;
  for (const auto& e : revoked->events) actions.push_back(e.action);
  EXPECT_THAT(actions, ::testing::ElementsAre("proposed", "approved", "revoked"));
}

TEST_P(AgreementServiceTest, InForceByAgencyCategoryPurposeAndDate) {
  Proposal p = For(kState, "identity", authz::Purpose::kCaseWork);
  p.valid_from = {2026, 2, 1};
  p.valid_to = core::Date{2026, 6, 30};
  Agreement a = Approved(p);
  auto pending = service_->Propose(kPia, For(kState, "identity", authz::Purpose::kEligibility));
  ASSERT_TRUE(pending.ok());

  auto in = [&](core::AgencyId agency, const std::string& category, authz::Purpose purpose,
                core::Date d) {
    auto r = service_->InForce(agency, category, purpose, d);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && r->has_value() ? (*r)->id : 0;
  };
  EXPECT_EQ(in(kState, "identity", authz::Purpose::kCaseWork, {2026, 3, 1}), a.id);
  EXPECT_EQ(in(kState, "identity", authz::Purpose::kCaseWork, {2026, 2, 1}), a.id);   // first day
  EXPECT_EQ(in(kState, "identity", authz::Purpose::kCaseWork, {2026, 6, 30}), a.id);  // last day
  EXPECT_EQ(in(kState, "identity", authz::Purpose::kCaseWork, {2026, 1, 31}), 0);
  EXPECT_EQ(in(kState, "identity", authz::Purpose::kCaseWork, {2026, 7, 1}), 0);
  EXPECT_EQ(in(kState, "identity", authz::Purpose::kEligibility, {2026, 3, 1}),
            0);  // only proposed
  EXPECT_EQ(in(kHealth, "identity", authz::Purpose::kCaseWork, {2026, 3, 1}), 0);
  EXPECT_EQ(in(kState, "income", authz::Purpose::kCaseWork, {2026, 3, 1}), 0);

  // A later agreement that starts later wins from its start; revocation takes effect at once.
  Proposal renewal = For(kState, "identity", authz::Purpose::kCaseWork);
  renewal.valid_from = {2026, 4, 1};
  Agreement b = Approved(renewal);
  EXPECT_EQ(in(kState, "identity", authz::Purpose::kCaseWork, {2026, 3, 1}), a.id);
  EXPECT_EQ(in(kState, "identity", authz::Purpose::kCaseWork, {2026, 5, 1}), b.id);
  EXPECT_EQ(in(kState, "identity", authz::Purpose::kCaseWork, {2027, 5, 1}), b.id);
  ASSERT_TRUE(service_->Decide(kGwen, b.id, AgreementDecision::kRevoke, "replaced").ok());
  EXPECT_EQ(in(kState, "identity", authz::Purpose::kCaseWork, {2026, 5, 1}), a.id);
  EXPECT_EQ(in(kState, "identity", authz::Purpose::kCaseWork, {2027, 5, 1}), 0);
}

TEST_P(AgreementServiceTest, InForceSeesDecisionsMadeByAnotherServer) {
  EXPECT_FALSE(
      service_->InForce(kState, "identity", authz::Purpose::kCaseWork, {2026, 3, 1})->has_value());
  AgreementService other(*db_, *categories_, audit_, outbox_, clock_);
  auto p = other.Propose(kPia, For(kState, "identity"));
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(other.Decide(kGus, p->id, AgreementDecision::kApprove, "").ok());
  auto r = service_->InForce(kState, "identity", authz::Purpose::kCaseWork, {2026, 3, 1});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->id, p->id);
}

TEST_P(AgreementServiceTest, ACategoryReclassifiedAsBlackIsNoLongerShared) {
  Agreement a = Approved(For(kState, "health"));
  auto pending = service_->Propose(kPia, For(kHealth, "health"));
  ASSERT_TRUE(pending.ok());
  auto black = Categories("black");
  AgreementService now(*db_, *black, audit_, outbox_, clock_);
  EXPECT_FALSE(now.InForce(kState, "health", authz::Purpose::kCaseWork, {2026, 3, 1})->has_value());
  AgreementQuery q;
  q.in_force_on = core::Date{2026, 3, 1};
  EXPECT_TRUE(now.List(q)->empty());
  auto approve = now.Decide(kGwen, pending->id, AgreementDecision::kApprove, "");
  EXPECT_EQ(approve.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(approve.status().message(), HasSubstr("black-class"));
  EXPECT_TRUE(
      service_->InForce(kState, "health", authz::Purpose::kCaseWork, {2026, 3, 1})->has_value());
  (void)a;
}

TEST_P(AgreementServiceTest, ListFiltersByStateAgencyAndInForce) {
  Agreement a = Approved(For(kState, "identity"));
  auto p = service_->Propose(kPia, For(kHealth, "income"));
  ASSERT_TRUE(p.ok());
  Proposal future = For(kCity, "identity");
  future.valid_from = {2027, 1, 1};
  Agreement f = Approved(future);
  AgreementQuery all;
  EXPECT_EQ(service_->List(all)->size(), 3u);
  AgreementQuery proposed;
  proposed.state = AgreementState::kProposed;
  ASSERT_EQ(service_->List(proposed)->size(), 1u);
  EXPECT_EQ(service_->List(proposed)->front().id, p->id);
  AgreementQuery in_force;
  in_force.in_force_on = core::Date{2026, 3, 1};
  ASSERT_EQ(service_->List(in_force)->size(), 1u);
  EXPECT_EQ(service_->List(in_force)->front().id, a.id);
  AgreementQuery health;
  health.receiving_agency = kHealth;
  EXPECT_EQ(service_->List(health)->size(), 1u);
  AgreementQuery page;
  page.limit = 2;
  auto first = service_->List(page);
  ASSERT_EQ(first->size(), 2u);
  page.after = first->back().id;
  ASSERT_EQ(service_->List(page)->size(), 1u);
  EXPECT_EQ(service_->List(page)->front().id, f.id);
  page.limit = 0;
  EXPECT_EQ(service_->List(page).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(AgreementServiceTest, ConsentAsTheLegalBasisMeansConsentIsNeeded) {
  Proposal p = For(kState, "identity");
  p.legal_basis = "consent";
  auto r = service_->Propose(kPia, p);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->consent_required);
}

// Two governance users approving a grey agreement at the same moment: one may be told to look
// again (kAborted) and does; the agreement ends approved with both approvals and one event. The
// same user approving twice at once records one approval.
TEST_P(AgreementServiceTest, ConcurrentApprovalsNeitherLoseOneNorCountAUserTwice) {
  for (int round = 0; round < 5; ++round) {
    auto p = service_->Propose(kPia, For(kState, "income"));
    ASSERT_TRUE(p.ok());
    auto approve = [&](const authz::Principal& who) {
      for (;;) {
        auto r = service_->Decide(who, p->id, AgreementDecision::kApprove, "");
        if (r.status().code() != StatusCode::kAborted) return r.status().code();
      }
    };
    StatusCode first = StatusCode::kUnknown, second = StatusCode::kUnknown;
    std::thread a([&] { first = approve(kGus); });
    std::thread b([&] { second = approve(kGwen); });
    a.join();
    b.join();
    EXPECT_EQ(first, StatusCode::kOk);
    EXPECT_EQ(second, StatusCode::kOk);
    auto done = service_->Get(p->id);
    EXPECT_EQ(done->state, AgreementState::kApproved);
    EXPECT_EQ(done->approvals(), 2);
    EXPECT_EQ(
        Count("SELECT COUNT(*) FROM outbox WHERE type = 'agreement.approved' AND aggregate_id = '" +
              std::to_string(p->id) + "'"),
        1);

    auto q = service_->Propose(kPia, For(kState, "income"));
    ASSERT_TRUE(q.ok());
    StatusCode once = StatusCode::kUnknown, twice = StatusCode::kUnknown;
    std::thread c([&] {
      once = service_->Decide(kGus, q->id, AgreementDecision::kApprove, "").status().code();
    });
    std::thread d([&] {
      twice = service_->Decide(kGus, q->id, AgreementDecision::kApprove, "").status().code();
    });
    c.join();
    d.join();
    EXPECT_EQ((once == StatusCode::kOk) + (twice == StatusCode::kOk), 1);
    EXPECT_EQ(service_->Get(q->id)->approvals(), 1);
    EXPECT_EQ(service_->Get(q->id)->state, AgreementState::kProposed);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, AgreementServiceTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST(AgreementNames, ParseAndPrintRoundTrip) {
  for (auto s : {AgreementState::kProposed, AgreementState::kApproved, AgreementState::kRefused,
                 AgreementState::kRevoked}) {
    EXPECT_EQ(*ParseAgreementState(AgreementStateName(s)), s);
  }
  EXPECT_EQ(ParseAgreementState("pending").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseAgreementDecision("revoke"), AgreementDecision::kRevoke);
  EXPECT_EQ(ParseAgreementDecision("same").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sharing
