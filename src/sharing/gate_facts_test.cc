// The access gate with its real facts: the reference directory, the agreements in force and the
// person's consents, through the registry's services, on SQLite and PostgreSQL.
#include "sharing/gate_facts.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "registry/person_service.h"
#include "sharing/break_glass_service.h"
#include "sharing/change_notice_service.h"
#include "sharing/notice_delivery.h"
#include "sharing/consent_service.h"
#include "sharing/reference_directory.h"
#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace sharing {
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

authz::Principal Staff(int64_t user, core::AgencyId agency, authz::Role role, const std::string& name,
                       authz::Purpose purpose = authz::Purpose::kCaseWork) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{user};
  p.agency = agency;
  p.name = name;
  p.roles = {role};
  p.purpose = purpose;
  return p;
}

const authz::Principal kCityWorker = Staff(31, kCity, authz::Role::kCaseworker, "caseworker.city");
const authz::Principal kStateWorker = Staff(41, kState, authz::Role::kCaseworker, "caseworker.state");
const authz::Principal kStateEligibility =
    Staff(41, kState, authz::Role::kCaseworker, "caseworker.state", authz::Purpose::kEligibility);
const authz::Principal kHarbourWorker = Staff(51, kHarbour, authz::Role::kCaseworker, "caseworker.ngo");
const authz::Principal kGus = Staff(11, kCity, authz::Role::kGovernance, "governance.city");
const authz::Principal kGwen = Staff(12, kState, authz::Role::kGovernance, "governance.state");
const authz::Principal kPia = Staff(13, kHarbour, authz::Role::kGovernance, "governance.ngo");
const authz::Principal kBo = Staff(14, kCity, authz::Role::kGovernance, "governance2.city");

// identity (white), contact (white), health (grey: the needs), income (grey: screenings),
// case_notes (black: the history).
std::unique_ptr<authz::DataCategories> Categories() {
  auto parsed = authz::DataCategories::Parse(
      "categories:\n"
      "  - {id: identity, label: Identity, class: white}\n"
      "  - {id: contact, label: Contact details, class: white}\n"
      "  - {id: health, label: Health, class: grey}\n"
      "  - {id: income, label: Income, class: grey}\n"
      "  - {id: case_notes, label: Case notes, class: black}\n"
      "fields:\n"
      "  person: {names: identity, birth_date: identity, sex: identity, gender: identity, identifiers: identity,\n"
      "           addresses: contact, phones: contact, emails: contact, preferred_language: contact,\n"
      "           needs: health, death_date: identity}\n"
      "  records: {household: contact, source_record: identity, screening: income, history: case_notes,\n"
      "            interaction: contact}\n",
      "test.yaml");
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return std::make_unique<authz::DataCategories>(std::move(parsed).value());
}

registry::Person Ada() {
  registry::Person p;
  p.names.push_back({"official", "Ada", "Okafor"});
  p.birth_date = core::PartialDate::Parse("1984-05-02").value();
  p.addresses.push_back({"home", "3 Quay Lane", "", "Harbourside", "", "4000", ""});
  p.phones.push_back({"mobile", "+61 400 000 001"});
  p.needs = {true, "ig", "step-free access"};
  return p;
}

class GateFactsTest : public ::testing::TestWithParam<std::string> {
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
    agreements_ = std::make_unique<AgreementService>(*db_, *categories_, audit_, outbox_, clock_);
    facts_ = std::make_unique<GateFacts>(*db_, *agreements_, *categories_, clock_);
    gate_ = std::make_unique<authz::AccessGate>(*categories_, *facts_);
    persons_ = std::make_unique<registry::PersonService>(*db_, *gate_, audit_, outbox_, clock_);
    consents_ = std::make_unique<ConsentService>(*db_, *categories_, *gate_, audit_, outbox_, clock_);
    directory_ = std::make_unique<ReferenceDirectory>(*db_, *gate_, audit_);
    auto ada = persons_->Create(kCityWorker, Ada());
    ASSERT_TRUE(ada.ok()) << ada.status().ToString();
    ada_ = ada->id;
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

  Agreement Approved(core::AgencyId agency, const std::string& category, authz::Purpose purpose,
                     const std::string& basis = "GDPR art. 6(1)(e)") {
    Proposal p;
    p.receiving_agency = agency;
    p.category = category;
    p.purpose = purpose;
    p.legal_basis = basis;
    p.valid_from = {2026, 1, 1};
    p.description = "To coordinate support for shared clients.";
    // Proposed by one governance user, approved by the others but the receiving agency's.
    const authz::Principal& proposer = agency == kHarbour ? kGus : kPia;
    auto proposed = agreements_->Propose(proposer, p);
    EXPECT_TRUE(proposed.ok()) << proposed.status().ToString();
    Agreement done = *proposed;
    for (const authz::Principal* who : {&kGus, &kGwen, &kPia, &kBo}) {
      if (done.state != AgreementState::kProposed || who == &proposer || who->agency == agency)
        continue;
      auto decided = agreements_->Decide(*who, proposed->id, AgreementDecision::kApprove, "");
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
  std::unique_ptr<AgreementService> agreements_;
  std::unique_ptr<GateFacts> facts_;
  std::unique_ptr<authz::AccessGate> gate_;
  std::unique_ptr<registry::PersonService> persons_;

  // The state keeps a client record of `person`: the record comes without a person, and the
  // client index links it, as matching does (an agency names only a person it holds already).
  void StateKeepsRecordOf(core::PersonId person, const std::string& local_id, const std::string& data = "{}") {
    auto rec = persons_->PutSourceRecord(kStateWorker, local_id, std::nullopt, data);
    ASSERT_TRUE(rec.ok()) << rec.status().ToString();
    authz::Principal index;
    index.kind = authz::PrincipalKind::kSystem;
    index.name = "client index";
    index.roles = {authz::Role::kCaseworker};
    index.scopes = {"source-records:write"};
    index.purpose = authz::Purpose::kServiceDelivery;
    auto linked = persons_->LinkSources(index, person, nullptr, {{rec->id, std::nullopt}}, "auto");
    ASSERT_TRUE(linked.ok()) << linked.status().ToString();
  }
  std::unique_ptr<ConsentService> consents_;
  std::unique_ptr<ReferenceDirectory> directory_;
  core::PersonId ada_;
};

TEST_P(GateFactsTest, TheRegisteringAgencySeesEverythingAnotherNothingWithoutAnAgreement) {
  auto own = persons_->Get(kCityWorker, ada_);
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ(own->person.needs.interpreter_language, "ig");
  EXPECT_THAT(own->decision.withheld, IsEmpty());

  auto other = persons_->Get(kStateWorker, ada_);
  ASSERT_EQ(other.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(other.status().message(), HasSubstr("does not hold this person"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'person.read' AND allowed = 0 AND actor = "
                  "'caseworker.state'"),
            1);
  // Nor in a search: the state's caseworker does not learn the person is there.
  auto found = persons_->Search(kStateWorker, {.name = "Okafor"});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_THAT(found->items, IsEmpty());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'person.search_result' AND allowed = 0"), 1);
}

TEST_P(GateFactsTest, AnAgreementOpensItsCategoriesFieldByFieldFromTheNextRequest) {
  Agreement identity = Approved(kState, "identity", authz::Purpose::kCaseWork);
  auto view = persons_->Get(kStateWorker, ada_);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(view->person.DisplayName(), "Ada Okafor");
  EXPECT_TRUE(view->person.birth_date.has_value());
  EXPECT_THAT(view->person.addresses, IsEmpty());
  EXPECT_THAT(view->person.phones, IsEmpty());
  EXPECT_FALSE(view->person.needs.interpreter);
  EXPECT_THAT(view->decision.agreements, ElementsAre(identity.id));
  nlohmann::json j = registry::ToJson(view->person, view->decision);
  EXPECT_FALSE(j.contains("addresses"));
  EXPECT_EQ(j.dump().find("Quay"), std::string::npos);
  EXPECT_EQ(j.dump().find("step-free"), std::string::npos);
  // The audit entry names the agreement the read relied on.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'person.read' AND allowed = 1 AND actor = "
                  "'caseworker.state' AND reason LIKE '%agreement " +
                  std::to_string(identity.id) + "%'"),
            1);
  // Black never: the history stays with the agency that holds it.
  auto history = persons_->History(kStateWorker, ada_);
  ASSERT_EQ(history.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(history.status().message(), HasSubstr("black-class"));
  // For another purpose the agreement does not count.
  EXPECT_EQ(persons_->Get(kStateEligibility, ada_).status().code(), StatusCode::kPermissionDenied);

  // Revoked: refused from the very next request.
  ASSERT_TRUE(agreements_->Decide(kGus, identity.id, AgreementDecision::kRevoke, "the project ended").ok());
  EXPECT_EQ(persons_->Get(kStateWorker, ada_).status().code(), StatusCode::kPermissionDenied);
}

TEST_P(GateFactsTest, AnUpdateByAnotherAgencyKeepsWhatItCannotSee) {
  Approved(kState, "identity", authz::Purpose::kCaseWork);
  auto view = persons_->Get(kStateWorker, ada_);
  ASSERT_TRUE(view.ok());
  registry::Person changed = view->person;  // redacted: no address, phone or needs
  changed.names[0].given = "Adaeze";
  authz::Decision decision;
  auto updated = persons_->Update(kStateWorker, ada_, view->person.version, changed, &decision);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_THAT(updated->addresses, IsEmpty());  // the answer stays redacted
  EXPECT_FALSE(decision.Sees(authz::Field::kAddresses));
  auto stored = persons_->Get(kCityWorker, ada_);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->person.names[0].given, "Adaeze");
  EXPECT_EQ(stored->person.addresses, Ada().addresses);
  EXPECT_EQ(stored->person.phones, Ada().phones);
  EXPECT_EQ(stored->person.needs, Ada().needs);
}

TEST_P(GateFactsTest, AgreementOnConsentNeedsTheConsentAndAWithdrawalCountsAtOnce) {
  Approved(kState, "identity", authz::Purpose::kEligibility);
  Approved(kState, "health", authz::Purpose::kEligibility, "consent");
  auto before = persons_->Get(kStateEligibility, ada_);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_FALSE(before->decision.Sees(authz::Field::kNeeds));
  EXPECT_THAT(before->decision.WithheldReason(authz::Field::kNeeds, *categories_), HasSubstr("has not consented"));

  ConsentGrant g;
  g.receiving_agency = kState;
  g.scope = ConsentScope::kPartial;
  g.categories = {"health"};
  g.purpose = authz::Purpose::kEligibility;
  g.legal_basis = "GDPR art. 9(2)(a): explicit consent";
  g.valid_from = {2026, 1, 1};
  g.how_to_withdraw = "Tell any caseworker.";
  g.evidence = "signed_form";
  g.document_ref = "DOC-1";
  auto consent = consents_->Give(kCityWorker, ada_, g);
  ASSERT_TRUE(consent.ok()) << consent.status().ToString();
  auto with = persons_->Get(kStateEligibility, ada_);
  ASSERT_TRUE(with.ok());
  EXPECT_TRUE(with->decision.Sees(authz::Field::kNeeds));
  EXPECT_EQ(with->person.needs, Ada().needs);
  EXPECT_THAT(with->decision.consents, ElementsAre(consent->id));

  ASSERT_TRUE(consents_->Record(kCityWorker, consent->id, ConsentAction::kWithdraw, "the person asked").ok());
  auto after = persons_->Get(kStateEligibility, ada_);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->decision.Sees(authz::Field::kNeeds));
  EXPECT_FALSE(after->person.needs.interpreter);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'person.read' AND actor = 'caseworker.state' AND "
                  "reason LIKE '%consent%'"),
            1);
}

TEST_P(GateFactsTest, ASourceRecordMakesTheAgencyAHolderAndTheDirectoryListsIt) {
  // The state cannot name Ada in its record before it holds her: naming would open her record.
  EXPECT_EQ(persons_->PutSourceRecord(kStateWorker, "ST-77", ada_, R"({"case":"x"})").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(persons_->Get(kStateWorker, ada_).status().code(), StatusCode::kPermissionDenied);
  StateKeepsRecordOf(ada_, "ST-77", R"({"case":"x"})");
  auto view = persons_->Get(kStateWorker, ada_);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(view->person.needs, Ada().needs);
  EXPECT_THAT(view->decision.reason, HasSubstr("holds the person"));

  auto entries = directory_->Entries(kCityWorker, ada_);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].agency, kCity);
  EXPECT_EQ((*entries)[0].capacity, Capacity::kRegistered);
  EXPECT_EQ((*entries)[1].agency, kState);
  EXPECT_EQ((*entries)[1].capacity, Capacity::kClientRecord);
  // An agency that does not hold the person and has no agreement does not see where they have been.
  EXPECT_EQ(directory_->Entries(kHarbourWorker, ada_).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'person.directory'"), 2);
  EXPECT_EQ(directory_->Entries(kCityWorker, core::PersonId{999}).status().code(), StatusCode::kNotFound);
}

TEST_P(GateFactsTest, BreakGlassOpensWhiteAndGreyButNotBlackAndSaysSo) {
  authz::Principal urgent = kHarbourWorker;
  urgent.break_glass = "found unwell at the drop-in; need her GP and next of kin";
  auto view = persons_->Get(urgent, ada_);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_TRUE(view->decision.break_glass);
  EXPECT_EQ(view->person.needs, Ada().needs);
  EXPECT_EQ(persons_->History(urgent, ada_).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'person.read' AND reason LIKE '%BREAK-GLASS%'"), 1);

  // Queued for review with the entry; a refused request queues nothing.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM break_glass_accesses"), 1);
  BreakGlassService glass(*db_, audit_, outbox_, clock_);
  const authz::Principal harbour_manager = Staff(52, kHarbour, authz::Role::kManager, "manager.ngo");
  const authz::Principal city_manager = Staff(33, kCity, authz::Role::kManager, "manager.city");
  auto queue = glass.List(harbour_manager, {.state = GlassState::kPending});
  ASSERT_TRUE(queue.ok()) << queue.status().ToString();
  ASSERT_EQ(queue->size(), 1u);
  EXPECT_EQ((*queue)[0].person, ada_);
  EXPECT_EQ((*queue)[0].actor, "caseworker.ngo");
  EXPECT_EQ((*queue)[0].justification, urgent.break_glass);
  // Another agency's manager does not see it; the one who used it may not review it.
  auto other = glass.List(city_manager, {});
  ASSERT_TRUE(other.ok());
  EXPECT_THAT(*other, IsEmpty());
  EXPECT_EQ(glass.Review(city_manager, (*queue)[0].id, GlassState::kJustified, "").status().code(),
            StatusCode::kNotFound);
  authz::Principal self = kHarbourWorker;
  self.roles = {authz::Role::kManager};
  EXPECT_EQ(glass.Review(self, (*queue)[0].id, GlassState::kJustified, "").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(glass.Review(kHarbourWorker, (*queue)[0].id, GlassState::kJustified, "").status().code(),
            StatusCode::kPermissionDenied);
  auto no_note = glass.Review(harbour_manager, (*queue)[0].id, GlassState::kNotJustified, " ");
  EXPECT_EQ(no_note.status().code(), StatusCode::kInvalidArgument);
  auto reviewed = glass.Review(harbour_manager, (*queue)[0].id, GlassState::kJustified, "confirmed with the GP");
  ASSERT_TRUE(reviewed.ok()) << reviewed.status().ToString();
  EXPECT_EQ(reviewed->state, GlassState::kJustified);
  EXPECT_EQ(reviewed->reviewer, "manager.ngo");
  EXPECT_EQ(glass.Review(harbour_manager, (*queue)[0].id, GlassState::kJustified, "").status().code(),
            StatusCode::kFailedPrecondition);
  auto pending = glass.List(harbour_manager, {.state = GlassState::kPending});
  ASSERT_TRUE(pending.ok());
  EXPECT_THAT(*pending, IsEmpty());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'break_glass.reviewed'"), 1);

  // The front desk may not break the glass: refused, nothing queued.
  authz::Principal desk = Staff(53, kHarbour, authz::Role::kFrontdesk, "frontdesk.ngo", authz::Purpose::kFrontDesk);
  desk.break_glass = "wants to see everything";
  EXPECT_EQ(persons_->Get(desk, ada_).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM break_glass_accesses"), 1);
}

TEST_P(GateFactsTest, TellUsOnceNotifiesEveryOtherAgencyThatKnowsThePersonAndTracksWhoApplied) {
  // The state keeps a client record of Ada; the trust does not know her.
  StateKeepsRecordOf(ada_, "ST-1");
  auto view = persons_->Get(kCityWorker, ada_);
  ASSERT_TRUE(view.ok());
  registry::Person moved = view->person;
  moved.addresses[0].line1 = "11 New Street";
  moved.phones.clear();
  ASSERT_TRUE(persons_->Update(kCityWorker, ada_, view->person.version, moved).ok());

  ChangeNoticeService changes(*db_, *gate_, audit_, outbox_, clock_);
  auto state_feed = changes.Feed(kStateWorker, 0, 100, false);
  ASSERT_TRUE(state_feed.ok()) << state_feed.status().ToString();
  ASSERT_EQ(state_feed->size(), 1u);
  const ChangeNotice& n = state_feed->front();
  EXPECT_EQ(n.person, ada_);
  EXPECT_EQ(n.type, "person.updated");
  EXPECT_THAT(n.fields, ElementsAre("addresses", "phones"));
  EXPECT_EQ(n.from_agency, kCity);
  EXPECT_EQ(n.version, 2);
  EXPECT_FALSE(n.applied);
  // Nobody tells the agency that made the change, nor one that does not know the person.
  auto city_feed = changes.Feed(kCityWorker, 0, 100, false);
  ASSERT_TRUE(city_feed.ok());
  EXPECT_THAT(*city_feed, IsEmpty());
  auto harbour_feed = changes.Feed(kHarbourWorker, 0, 100, false);
  ASSERT_TRUE(harbour_feed.ok());
  EXPECT_THAT(*harbour_feed, IsEmpty());
  // The notice carries no values.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM change_notices WHERE fields LIKE '%New Street%'"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'change.feed' AND actor = 'caseworker.state'"), 1);

  // Pending and then overdue, until the state applies it.
  auto where = changes.ForPerson(kCityWorker, ada_);
  ASSERT_TRUE(where.ok()) << where.status().ToString();
  ASSERT_EQ(where->size(), 1u);
  EXPECT_FALSE((*where)[0].overdue);
  clock_.Advance(std::chrono::hours(24 * 6));
  where = changes.ForPerson(kCityWorker, ada_);
  EXPECT_TRUE((*where)[0].overdue);
  EXPECT_EQ(changes.MarkApplied(kHarbourWorker, n.id, "").status().code(), StatusCode::kNotFound);
  auto applied = changes.MarkApplied(kStateWorker, n.id, "updated in the benefits system");
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_TRUE(applied->applied);
  EXPECT_EQ(applied->applied_by, "caseworker.state");
  EXPECT_EQ(changes.MarkApplied(kStateWorker, n.id, "").status().code(), StatusCode::kFailedPrecondition);
  where = changes.ForPerson(kCityWorker, ada_);
  EXPECT_TRUE((*where)[0].applied);
  EXPECT_FALSE((*where)[0].overdue);
  auto pending = changes.Feed(kStateWorker, 0, 100, true);
  ASSERT_TRUE(pending.ok());
  EXPECT_THAT(*pending, IsEmpty());
  // Ada herself sees where her change went; she may not mark it applied.
  authz::Principal ada;
  ada.kind = authz::PrincipalKind::kCitizen;
  ada.user = core::UserId{99};
  ada.name = "ada";
  ada.purpose = authz::Purpose::kOwnRecord;
  ada.person = ada_;
  auto hers = changes.ForPerson(ada, ada_);
  ASSERT_TRUE(hers.ok()) << hers.status().ToString();
  ASSERT_EQ(hers->size(), 1u);
  EXPECT_TRUE((*hers)[0].applied);
  EXPECT_EQ(changes.Feed(ada, 0, 10, false).status().code(), StatusCode::kPermissionDenied);
  authz::Principal someone_else = ada;
  someone_else.person = core::PersonId{ada_.value + 1000};
  EXPECT_EQ(changes.ForPerson(someone_else, ada_).status().code(), StatusCode::kPermissionDenied);
  // Another agency that does not hold Ada may not see where her changes went.
  EXPECT_EQ(changes.ForPerson(kHarbourWorker, ada_).status().code(), StatusCode::kPermissionDenied);
  // A governance user reads no feed.
  EXPECT_EQ(changes.Feed(kGus, 0, 10, false).status().code(), StatusCode::kPermissionDenied);
}

TEST_P(GateFactsTest, ADeathIsItsOwnNoticeAndCannotPrecedeTheBirthOrComeFromTheFuture) {
  StateKeepsRecordOf(ada_, "ST-1");
  auto view = persons_->Get(kCityWorker, ada_);
  ASSERT_TRUE(view.ok());
  registry::Person died = view->person;
  ASSERT_TRUE(died.birth_date.has_value());
  // Before the birth, and after today (the fake clock's date), are refused by field.
  died.death_date = core::PartialDate{died.birth_date->year - 1, 0, 0};
  auto refused = persons_->Update(kCityWorker, ada_, view->person.version, died);
  ASSERT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().fields().at(0).field, "death_date");
  const core::Date today = clock_.Now().UtcDate();
  died.death_date = core::PartialDate{today.year + 1, 0, 0};
  refused = persons_->Update(kCityWorker, ada_, view->person.version, died);
  ASSERT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().fields().at(0).field, "death_date");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM change_notices"), 0);

  died.death_date = core::PartialDate{today.year, today.month, today.day};
  ASSERT_TRUE(persons_->Update(kCityWorker, ada_, view->person.version, died).ok());
  ChangeNoticeService changes(*db_, *gate_, audit_, outbox_, clock_);
  auto feed = changes.Feed(kStateWorker, 0, 100, false);
  ASSERT_TRUE(feed.ok()) << feed.status().ToString();
  ASSERT_EQ(feed->size(), 1u);
  EXPECT_EQ(feed->front().type, "person.died");
  EXPECT_THAT(feed->front().fields, ElementsAre("death_date"));
  auto seen = persons_->Get(kStateWorker, ada_);
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->person.death_date, died.death_date);

  // A later correction of the date is an ordinary update.
  auto again = persons_->Get(kCityWorker, ada_);
  registry::Person corrected = again->person;
  corrected.death_date = core::PartialDate{today.year, 0, 0};
  ASSERT_TRUE(persons_->Update(kCityWorker, ada_, again->person.version, corrected).ok());
  feed = changes.Feed(kStateWorker, 0, 100, false);
  ASSERT_EQ(feed->size(), 2u);
  EXPECT_EQ((*feed)[1].type, "person.updated");
}

// A receiver that records what it got, failing while `fail` says so.
struct FakeReceiver {
  std::vector<exchange::Event> got;
  core::Status next = core::Status::Ok();
};

class FakeSink final : public exchange::EventSink {
 public:
  explicit FakeSink(FakeReceiver& r) : r_(r) {}
  core::Status Deliver(const exchange::Event& e) override {
    if (!r_.next.ok()) return r_.next;
    r_.got.push_back(e);
    return core::Status::Ok();
  }

 private:
  FakeReceiver& r_;
};

TEST_P(GateFactsTest, NoticesArePushedInOrderRetriedWithBackoffDeadLetteredAfter72HoursAndA410Disables) {
  StateKeepsRecordOf(ada_, "ST-1");
  ChangeNoticeService changes(*db_, *gate_, audit_, outbox_, clock_);
  const authz::Principal state_manager = Staff(42, kState, authz::Role::kManager, "manager.state");
  EXPECT_EQ(changes.SetWebhook(kStateWorker, "http://127.0.0.1:9/hook", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  auto bad = changes.SetWebhook(state_manager, "ftp://x", "nope");
  ASSERT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().fields().size(), 2u);
  ASSERT_TRUE(changes.SetWebhook(state_manager, "http://127.0.0.1:9/hook", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").ok());

  FakeReceiver receiver;
  std::vector<std::string> urls;
  NoticeDelivery delivery(*db_, clock_, {.owner = "test", .first_backoff = std::chrono::seconds(10), .audit = &audit_},
                          [&](const std::string& url, const std::vector<std::string>&) {
                            urls.push_back(url);
                            return core::StatusOr<std::unique_ptr<exchange::EventSink>>(
                                std::make_unique<FakeSink>(receiver));
                          });
  auto change = [&](const std::string& line1) {
    auto v = persons_->Get(kCityWorker, ada_);
    ASSERT_TRUE(v.ok());
    registry::Person p = v->person;
    p.addresses[0].line1 = line1;
    ASSERT_TRUE(persons_->Update(kCityWorker, ada_, v->person.version, p).ok());
  };
  change("1 First Street");
  change("2 Second Street");
  // The receiver is down: the first is retried later, and the second waits behind it.
  receiver.next = core::Status::Unavailable("connection refused");
  auto round = delivery.RunOnce();
  ASSERT_TRUE(round.ok()) << round.status().ToString();
  EXPECT_EQ(*round, 0);
  EXPECT_EQ(delivery.failed(), 1);
  receiver.next = core::Status::Ok();
  EXPECT_EQ(*delivery.RunOnce(), 0);  // not yet due
  clock_.Advance(std::chrono::seconds(11));
  EXPECT_EQ(*delivery.RunOnce(), 1);
  EXPECT_EQ(*delivery.RunOnce(), 1);  // then the second, in order
  ASSERT_EQ(receiver.got.size(), 2u);
  EXPECT_LT(receiver.got[0].id, receiver.got[1].id);
  EXPECT_EQ(receiver.got[0].type, "change.person.updated");
  EXPECT_EQ(receiver.got[0].payload.find("First Street"), std::string::npos);  // thin: no values
  EXPECT_NE(receiver.got[0].payload.find(R"("fields":["addresses"])"), std::string::npos);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM change_notices WHERE delivery_state = 'delivered'"), 2);
  // Each push is audited as the state's, about Ada: she sees who was told.
  EXPECT_EQ(Count(fmt::format("SELECT COUNT(*) FROM audit_log WHERE action = 'change.push' AND person_id = {} "
                              "AND agency_id = {} AND reason LIKE '%addresses%'",
                              ada_.value, kState.value)),
            2);
  authz::Principal ada;
  ada.kind = authz::PrincipalKind::kCitizen;
  ada.user = core::UserId{99};
  ada.name = "ada";
  ada.purpose = authz::Purpose::kOwnRecord;
  ada.person = ada_;
  auto log = persons_->AccessLog(ada, ada_, 50);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  int pushes = 0;
  for (const auto& e : log->items) {
    if (e.record.entry.action == "change.push") {
      ++pushes;
      EXPECT_EQ(e.record.agency_id, kState.value);
    }
  }
  EXPECT_EQ(pushes, 2);

  // Down for good: retried with growing gaps, then dead-lettered after 72 hours.
  change("3 Third Street");
  receiver.next = core::Status::Unavailable("HTTP 503");
  int attempts = 0;
  for (int hour = 0; hour <= 73; ++hour) {
    attempts += delivery.RunOnce().ok();
    clock_.Advance(std::chrono::hours(1));
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM change_notices WHERE delivery_state = 'dead'"), 1);
  EXPECT_GE(Count("SELECT attempts FROM change_notices WHERE delivery_state = 'dead'"), 5);
  EXPECT_EQ(delivery.dead(), 1);
  // The dead-letter list, and a redelivery that starts the 72 hours over.
  auto dead = changes.Feed(kStateWorker, 0, 100, false, true);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].delivery, "dead");
  EXPECT_EQ((*dead)[0].last_error, "HTTP 503");
  EXPECT_EQ(changes.Redeliver(kStateWorker, (*dead)[0].id).status().code(), StatusCode::kPermissionDenied);
  auto again = changes.Redeliver(state_manager, (*dead)[0].id);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->delivery, "waiting");
  EXPECT_EQ(changes.Redeliver(state_manager, (*dead)[0].id).status().code(), StatusCode::kFailedPrecondition);
  receiver.next = core::Status::Ok();
  ASSERT_EQ(*delivery.RunOnce(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM change_notices WHERE delivery_state = 'dead'"), 0);

  // 410 Gone: the webhook is disabled, the notice stays in the feed.
  change("4 Fourth Street");
  receiver.next = core::Status::FailedPrecondition("the webhook answered HTTP 410 Gone");
  ASSERT_TRUE(delivery.RunOnce().ok());
  auto hook = changes.GetWebhook(state_manager);
  ASSERT_TRUE(hook.ok());
  EXPECT_FALSE(hook->active);
  EXPECT_THAT(hook->disabled_reason, HasSubstr("410"));
  receiver.next = core::Status::Ok();
  clock_.Advance(std::chrono::hours(1));
  EXPECT_EQ(*delivery.RunOnce(), 0);
  auto feed = changes.Feed(kStateWorker, 0, 100, true);
  ASSERT_TRUE(feed.ok());
  EXPECT_EQ(feed->size(), 4u);
  // An agency without a webhook is only read from its feed.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM change_notices WHERE agency_id = 1"), 0);
}

TEST_P(GateFactsTest, ANewSecretRotatesTheOldOneOutOverADay) {
  StateKeepsRecordOf(ada_, "ST-1");
  ChangeNoticeService changes(*db_, *gate_, audit_, outbox_, clock_);
  const authz::Principal state_manager = Staff(42, kState, authz::Role::kManager, "manager.state");
  const std::string first = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string second = "whsec_c2Vjb25kLXNlY3JldC0wMTIzNDU2Nzg5";
  ASSERT_TRUE(changes.SetWebhook(state_manager, "http://127.0.0.1:9/hook", first).ok());
  ASSERT_TRUE(changes.SetWebhook(state_manager, "http://127.0.0.1:9/hook", second).ok());
  std::vector<std::vector<std::string>> made;
  FakeReceiver receiver;
  NoticeDelivery delivery(*db_, clock_, {.owner = "test"},
                          [&](const std::string&, const std::vector<std::string>& secrets) {
                            made.push_back(secrets);
                            return core::StatusOr<std::unique_ptr<exchange::EventSink>>(
                                std::make_unique<FakeSink>(receiver));
                          });
  auto change = [&](const std::string& line1) {
    auto v = persons_->Get(kCityWorker, ada_);
    ASSERT_TRUE(v.ok());
    registry::Person p = v->person;
    p.addresses[0].line1 = line1;
    ASSERT_TRUE(persons_->Update(kCityWorker, ada_, v->person.version, p).ok());
  };
  change("1 Rotation Road");
  ASSERT_EQ(*delivery.RunOnce(), 1);
  ASSERT_EQ(made.size(), 1u);
  EXPECT_EQ(made[0], (std::vector<std::string>{second, first}));
  // The same secret set again within the day (to enable the webhook again, say) keeps the old
  // one for the rest of it.
  clock_.Advance(std::chrono::hours(2));
  ASSERT_TRUE(changes.SetWebhook(state_manager, "http://127.0.0.1:9/hook", second).ok());
  change("1a Rotation Road");
  ASSERT_EQ(*delivery.RunOnce(), 1);
  EXPECT_EQ(made.back(), (std::vector<std::string>{second, first}));
  clock_.Advance(std::chrono::hours(23));
  change("2 Rotation Road");
  ASSERT_EQ(*delivery.RunOnce(), 1);
  EXPECT_EQ(made.back(), (std::vector<std::string>{second}));
}

INSTANTIATE_TEST_SUITE_P(Databases, GateFactsTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace sharing
