#include "sharing/consent_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
constexpr core::AgencyId kHarbour{3};  // nonprofit
constexpr core::PersonId kAda{1};
constexpr core::PersonId kBo{2};

authz::Principal Staff(int64_t user, core::AgencyId agency, authz::Role role,
                       const std::string& name) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{user};
  p.agency = agency;
  p.name = name;
  p.roles = {role};
  p.purpose = authz::Purpose::kCaseWork;
  return p;
}

authz::Principal Citizen(int64_t user, core::PersonId person) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kCitizen;
  p.user = core::UserId{user};
  p.name = "citizen";
  p.purpose = authz::Purpose::kOwnRecord;
  p.person = person;
  return p;
}

const authz::Principal kCasey = Staff(31, kCity, authz::Role::kCaseworker, "caseworker.city");
const authz::Principal kFrank = Staff(32, kCity, authz::Role::kFrontdesk, "frontdesk.city");
const authz::Principal kGus = Staff(11, kState, authz::Role::kGovernance, "governance.state");
const authz::Principal kAdaSelf = Citizen(90, kAda);

std::unique_ptr<authz::DataCategories> Categories() {
  auto parsed = authz::DataCategories::Parse(
      "categories:\n"
      "  - {id: identity, label: Identity, class: white}\n"
      "  - {id: income, label: Income, class: grey}\n"
      "  - {id: health, label: Health, class: grey}\n"
      "  - {id: justice, label: Justice, class: black}\n"
      "fields:\n"
      "  person: {names: identity, birth_date: identity, sex: identity, gender: identity, "
      "identifiers: identity,\n"
      "           addresses: identity, phones: identity, emails: identity, preferred_language: "
      "identity,\n"
      "           needs: health, death_date: identity}\n"
      "  records: {household: identity, source_record: identity, screening: income, history: "
      "justice, interaction: identity}\n",
      "test.yaml");
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return std::make_unique<authz::DataCategories>(std::move(parsed).value());
}

ConsentGrant To(core::AgencyId agency, std::vector<std::string> categories,
                authz::Purpose purpose = authz::Purpose::kCaseWork) {
  ConsentGrant g;
  g.receiving_agency = agency;
  g.categories = std::move(categories);
  g.purpose = purpose;
  g.legal_basis = "GDPR art. 6(1)(a) and 9(2)(a): consent";
  g.valid_from = {2026, 1, 1};
  g.how_to_withdraw = "Tell any caseworker, or use the citizen portal.";
  g.evidence = "signed_form";
  g.document_ref = "DOC-2026-0001";
  return g;
}

class ConsentServiceTest : public ::testing::TestWithParam<std::string> {
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
             for (const char* code : {"city-social", "state-benefits", "harbour-trust"}) {
               const std::string kind =
                   std::string(code) == "harbour-trust" ? "nonprofit" : "government";
               RETURN_IF_ERROR(tx.Execute("INSERT INTO agencies (code, name, kind, created_at) "
                                          "VALUES (?, ?, ?, 0)",
                                          {std::string(code), std::string(code) + " name", kind})
                                   .status());
             }
             for (const char* name : {"Ada", "Bo"}) {
               RETURN_IF_ERROR(
                   tx.Execute("INSERT INTO persons (version, display_name, birth_date, doc, "
                              "created_at, updated_at, created_by, created_agency) VALUES "
                              "(1, ?, NULL, '{}', 0, 0, 1, 1)",
                              {std::string(name)})
                       .status());
             }
             return Status::Ok();
           })
            .ok());
    service_ = std::make_unique<ConsentService>(*db_, *categories_, gate_, audit_, outbox_, clock_);
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

  Consent Given(const ConsentGrant& g, const authz::Principal& who = kCasey,
                core::PersonId person = kAda) {
    auto c = service_->Give(who, person, g);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return *c;
  }

  std::optional<Consent> ActiveFor(core::AgencyId agency, std::string_view kind,
                                   std::string_view category,
                                   authz::Purpose purpose = authz::Purpose::kCaseWork,
                                   core::Date date = {2026, 6, 1}, core::PersonId person = kAda) {
    auto a = service_->Active(person, agency, kind, category, purpose, date);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? *a : std::nullopt;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;  // 2026-01-01
  authz::AccessGate gate_;
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  std::unique_ptr<authz::DataCategories> categories_ = Categories();
  std::unique_ptr<ConsentService> service_;
};

TEST_P(ConsentServiceTest, GivenByStaffOnASignedFormWithAuditAndEvent) {
  Consent c = Given(To(kState, {"income", "justice"}));
  EXPECT_GT(c.id, 0);
  EXPECT_EQ(c.person, kAda);
  EXPECT_EQ(c.receiving_agency_code, "state-benefits");
  EXPECT_EQ(c.categories, (std::vector<std::string>{"income", "justice"}));
  EXPECT_EQ(c.state, ConsentState::kActive);
  EXPECT_EQ(c.evidence, "signed_form");
  EXPECT_EQ(c.document_ref, "DOC-2026-0001");
  EXPECT_EQ(c.recorded_by_name, "caseworker.city");
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].event, "given");
  EXPECT_EQ(c.StateOn({2026, 1, 1}), "active");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'consent.give' AND allowed = 1 "
                  "AND person_id = 1"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'consent.given' AND aggregate_type = "
                  "'consent'"),
            1);
}

TEST_P(ConsentServiceTest, PauseResumeWithdrawAndNoUndo) {
  Consent c = Given(To(kState, {"income"}));
  auto resumed = service_->Record(kCasey, c.id, ConsentAction::kResume, "");
  EXPECT_EQ(resumed.status().code(), StatusCode::kFailedPrecondition);
  auto paused = service_->Record(kCasey, c.id, ConsentAction::kPause, "the person asked to pause");
  ASSERT_TRUE(paused.ok()) << paused.status().ToString();
  EXPECT_EQ(paused->state, ConsentState::kPaused);
  EXPECT_EQ(paused->events.back().evidence, "staff_record");
  EXPECT_FALSE(ActiveFor(kState, "", "income").has_value());
  EXPECT_EQ(service_->Record(kCasey, c.id, ConsentAction::kPause, "again").status().code(),
            StatusCode::kFailedPrecondition);
  auto back = service_->Record(kCasey, c.id, ConsentAction::kResume, "");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->state, ConsentState::kActive);
  EXPECT_TRUE(ActiveFor(kState, "", "income").has_value());

  auto gone = service_->Record(kAdaSelf, c.id, ConsentAction::kWithdraw, "");
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  EXPECT_EQ(gone->state, ConsentState::kWithdrawn);
  EXPECT_EQ(gone->events.back().evidence, "citizen_action");
  EXPECT_FALSE(ActiveFor(kState, "", "income").has_value());
  for (ConsentAction a :
       {ConsentAction::kResume, ConsentAction::kPause, ConsentAction::kWithdraw}) {
    auto again = service_->Record(kCasey, c.id, a, "undo");
    EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(again.status().message(), HasSubstr("must be given anew"));
  }
  auto events = service_->Get(kCasey, c.id);
  ASSERT_TRUE(events.ok());
  std::vector<std::string> names;
  for (const auto& e : events->events) names.push_back(e.event);
  EXPECT_EQ(names, (std::vector<std::string>{"given", "paused", "resumed", "withdrawn"}));
  for (const char* type : {"consent.paused", "consent.resumed", "consent.withdrawn"}) {
    EXPECT_EQ(Count(std::string("SELECT COUNT(*) FROM outbox WHERE type = '") + type + "'"), 1)
        << type;
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'consent.withdraw' AND "
                  "allowed = 1 AND person_id = 1"),
            1);
  // Given anew, it is in force again.
  Given(To(kState, {"income"}));
  EXPECT_TRUE(ActiveFor(kState, "", "income").has_value());
}

TEST_P(ConsentServiceTest, ActiveByDateCategoryPurposeAgencyAndKind) {
  ConsentGrant g = To(kState, {"income"});
  g.valid_to = core::Date{2026, 12, 31};
  Consent c = Given(g);
  EXPECT_EQ(ActiveFor(kState, "", "income")->id, c.id);
  EXPECT_FALSE(ActiveFor(kState, "", "health").has_value());
  EXPECT_FALSE(ActiveFor(kState, "", "income", authz::Purpose::kEligibility).has_value());
  EXPECT_FALSE(ActiveFor(kCity, "", "income").has_value());
  EXPECT_FALSE(ActiveFor(kState, "", "income", authz::Purpose::kCaseWork, {2025, 12, 31}));
  EXPECT_FALSE(ActiveFor(kState, "", "income", authz::Purpose::kCaseWork, {2026, 6, 1}, kBo));
  // Expired after valid_to.
  EXPECT_TRUE(ActiveFor(kState, "", "income", authz::Purpose::kCaseWork, {2026, 12, 31}));
  EXPECT_FALSE(ActiveFor(kState, "", "income", authz::Purpose::kCaseWork, {2027, 1, 1}));
  EXPECT_EQ(c.StateOn({2027, 1, 1}), "expired");

  // A full consent to every nonprofit: every non-black category, not the black one.
  ConsentGrant kind = To(kHarbour, {});
  kind.receiving_agency.reset();
  kind.agency_kind = "nonprofit";
  kind.scope = ConsentScope::kFull;
  Consent full = Given(kind);
  EXPECT_EQ(ActiveFor(kHarbour, "nonprofit", "health")->id, full.id);
  EXPECT_EQ(ActiveFor(kHarbour, "nonprofit", "identity")->id, full.id);
  EXPECT_FALSE(ActiveFor(kHarbour, "nonprofit", "justice").has_value());
  EXPECT_FALSE(ActiveFor(kCity, "government", "health").has_value());
  // A black category named in a partial consent is covered.
  Given(To(kCity, {"justice"}));
  EXPECT_TRUE(ActiveFor(kCity, "government", "justice").has_value());
}

TEST_P(ConsentServiceTest, InvalidFieldsAreNamed) {
  ConsentGrant g = To(kState, {"nope"});
  g.purpose = authz::Purpose::kAudit;
  g.valid_to = core::Date{2025, 1, 1};
  g.legal_basis = "";
  g.how_to_withdraw = "";
  g.document_ref = "";
  auto r = service_->Give(kCasey, kAda, g);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : r.status().fields()) fields.push_back(f.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"categories", "purpose", "legal_basis", "valid_to",
                                              "how_to_withdraw", "document_ref"}));
  ConsentGrant both = To(kState, {"income"});
  both.agency_kind = "government";
  EXPECT_EQ(service_->Give(kCasey, kAda, both).status().code(), StatusCode::kInvalidArgument);
  ConsentGrant partial = To(kState, {});
  EXPECT_EQ(service_->Give(kCasey, kAda, partial).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Give(kCasey, core::PersonId{99}, To(kState, {"income"})).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM consents"), 0);
}

TEST_P(ConsentServiceTest, WhoMayRecordAndReadIsCheckedAndAudited) {
  EXPECT_EQ(service_->Give(kFrank, kAda, To(kState, {"income"})).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Give(kGus, kAda, To(kState, {"income"})).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Give(kAdaSelf, kBo, To(kState, {"income"})).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'consent.give' AND allowed = 0"),
            3);

  // The person gives their own, evidenced by their action.
  ConsentGrant own = To(kState, {"income"});
  own.evidence = "";
  own.document_ref = "";
  Consent c = Given(own, kAdaSelf);
  EXPECT_EQ(c.evidence, "citizen_action");
  ConsentGrant signed_by_citizen = To(kState, {"income"});
  EXPECT_EQ(service_->Give(kAdaSelf, kAda, signed_by_citizen).status().code(),
            StatusCode::kInvalidArgument);
  // A citizen may not pause; staff without a role may not withdraw.
  EXPECT_EQ(service_->Record(kAdaSelf, c.id, ConsentAction::kPause, "").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Record(kFrank, c.id, ConsentAction::kWithdraw, "x").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Record(kCasey, c.id, ConsentAction::kWithdraw, "").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action IN ('consent.pause', "
                  "'consent.withdraw') AND allowed = 0 AND person_id = 1"),
            2);

  // Reads: the person and staff who may read; not another citizen nor governance.
  auto list = service_->ForPerson(kAdaSelf, kAda);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->size(), 1u);
  EXPECT_TRUE(service_->ForPerson(kCasey, kAda).ok());
  EXPECT_EQ(service_->ForPerson(kGus, kAda).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Get(Citizen(91, kBo), c.id).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Get(kCasey, 999).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'consent.list'"), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'consent.read' AND allowed = 0"),
            1);
}

TEST_P(ConsentServiceTest, FrontDeskReadsNoConsentsAndReasonsStayWithTheirAgency) {
  Consent c = Given(To(kHarbour, {"income"}));
  ASSERT_TRUE(
      service_->Record(kCasey, c.id, ConsentAction::kWithdraw, "my ex-partner works there").ok());

  // The front desk reads no consent, listed or one by one; each refusal is in the person's log.
  EXPECT_EQ(service_->ForPerson(kFrank, kAda).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Get(kFrank, c.id).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action IN ('consent.list', 'consent.read') "
                  "AND allowed = 0 AND person_id = 1"),
            2);

  auto reason_of = [&](const authz::Principal& who) -> std::pair<std::string, bool> {
    auto got = service_->Get(who, c.id);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok() || got->events.size() != 2) return {"?", false};
    return {got->events[1].reason, got->events[1].reason_withheld};
  };
  // The agency that recorded the withdrawal, and the person, read the reason in their words.
  EXPECT_EQ(reason_of(kCasey), std::make_pair(std::string("my ex-partner works there"), false));
  EXPECT_EQ(reason_of(kAdaSelf), std::make_pair(std::string("my ex-partner works there"), false));
  // Another agency's caseworker (the one withdrawn from among them) sees that it was withdrawn, not
  // why.
  const authz::Principal harbour = Staff(51, kHarbour, authz::Role::kCaseworker, "caseworker.ngo");
  EXPECT_EQ(reason_of(harbour), std::make_pair(std::string(), true));
  auto listed = service_->ForPerson(harbour, kAda);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().events.back().event, "withdrawn");
  EXPECT_TRUE(listed->front().events.back().reason.empty());
}

TEST_P(ConsentServiceTest, TheSameConsentRecordedAgainIsRecordedOnce) {
  Consent first = Given(To(kState, {"income"}));
  // Sent again (Back and send): refused, naming the consent, and nothing more is recorded.
  auto again = service_->Give(kCasey, kAda, To(kState, {"income"}));
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("consent " + std::to_string(first.id)),
            std::string::npos);
  // The same signed form later, by someone else, is the same consent while it stands.
  clock_.Advance(std::chrono::hours(1));
  const authz::Principal other = Staff(33, kCity, authz::Role::kCaseworker, "caseworker2.city");
  EXPECT_EQ(service_->Give(other, kAda, To(kState, {"income"})).status().code(),
            StatusCode::kAlreadyExists);
  // Another form, or the same form once the consent is withdrawn, is a new consent.
  ConsentGrant renewed = To(kState, {"income"});
  renewed.document_ref = "DOC-2026-0002";
  EXPECT_TRUE(service_->Give(other, kAda, renewed).ok());
  ASSERT_TRUE(service_->Record(kCasey, first.id, ConsentAction::kWithdraw, "no longer").ok());
  EXPECT_TRUE(service_->Give(kCasey, kAda, To(kState, {"income"})).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM consents"), 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, ConsentServiceTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST(ConsentNames, Parse) {
  EXPECT_EQ(*ParseConsentScope("full"), ConsentScope::kFull);
  EXPECT_FALSE(ParseConsentScope("some").ok());
  EXPECT_EQ(*ParseConsentAction("withdraw"), ConsentAction::kWithdraw);
  EXPECT_FALSE(ParseConsentAction("undo").ok());
}

}  // namespace
}  // namespace sharing
