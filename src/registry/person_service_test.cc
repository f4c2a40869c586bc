#include "registry/person_service.h"

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace registry {
namespace {

using authz::Principal;
using authz::PrincipalKind;
using authz::Purpose;
using authz::Role;
using core::Status;
using core::StatusCode;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

using namespace std::chrono_literals;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

std::vector<std::string> FieldNames(const Status& status) {
  std::vector<std::string> out;
  for (const auto& f : status.fields()) out.push_back(f.field);
  return out;
}

Principal StaffUser(std::vector<Role> roles, Purpose purpose = Purpose::kCaseWork) {
  Principal p;
  p.kind = PrincipalKind::kStaff;
  p.user = core::UserId{7};
  p.agency = core::AgencyId{1};
  p.name = "cw.jones";
  p.roles = std::move(roles);
  p.purpose = purpose;
  p.request_id = "req-1";
  return p;
}

Principal Caseworker() { return StaffUser({Role::kCaseworker}); }
Principal Governance() { return StaffUser({Role::kGovernance}, Purpose::kAdministration); }

Principal CitizenOf(core::PersonId id) {
  Principal p;
  p.kind = PrincipalKind::kCitizen;
  p.user = core::UserId{99};
  p.name = "citizen";
  p.purpose = Purpose::kOwnRecord;
  p.person = id;
  return p;
}

Person NewPerson(std::string given, std::string family, std::string birth = "") {
  Person p;
  p.names = {{"official", std::move(given), std::move(family)}};
  if (!birth.empty()) p.birth_date = *core::PartialDate::Parse(birth);
  return p;
}

class PersonServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing_support::NewMigratedDatabase(Backend(), dir_, 4);
    Sql("INSERT INTO agencies (code,name,kind,created_at) VALUES ('a','Agency A','government',0)");
    owned_service_ = std::make_unique<PersonService>(*db_, gate_, audit_, outbox_, clock_);
  }

  // "sqlite", or what a parameterised fixture runs on.
  virtual std::string Backend() const { return "sqlite"; }

  void Sql(const std::string& sql, const storage::Params& params = {}) {
    Status s = db_->Write([&](storage::Transaction& tx) { return tx.Execute(sql, params).status(); });
    ASSERT_TRUE(s.ok()) << sql << ": " << s.ToString();
  }

  int64_t Count(const std::string& sql, const storage::Params& params = {}) {
    int64_t n = -1;
    Status s = db_->Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(sql, params));
      n = rows.at(0).Int(0);
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return n;
  }

  int64_t AuditCount(const std::string& action, core::PersonId id) {
    return Count("SELECT COUNT(*) FROM audit_log WHERE action = ? AND person_id = ?", {action, id.value});
  }

  int64_t OutboxCount() {
    int64_t n = -1;
    Status s = db_->Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(n, outbox_.CountPending(tx));
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return n;
  }

  std::vector<exchange::Event> Events() {
    std::vector<exchange::Event> out;
    Status s = db_->Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(out, outbox_.Pending(tx, 1000));
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  std::vector<audit::Record> AuditFor(core::PersonId id) {
    std::vector<audit::Record> out;
    Status s = db_->Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(out, audit_.ForPerson(tx, id, 1000));
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  Person MustCreate(Person p, const Principal& who = Caseworker()) {
    auto created = service().Create(who, std::move(p));
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    clock_.Advance(1s);
    return created.ok() ? *created : Person{};
  }

  std::vector<int64_t> SearchIds(SearchQuery q) {
    auto page = service().Search(Caseworker(), q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<int64_t> ids;
    if (page.ok()) {
      for (const auto& item : page->items) ids.push_back(item.id.value);
    }
    return ids;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  authz::AccessGate gate_;
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  std::unique_ptr<PersonService> owned_service_;
  PersonService& service() { return *owned_service_; }
};

// -------- Create and Get --------

TEST_F(PersonServiceTest, CreateThenGetReturnsTheRecord) {
  Person input = NewPerson("Amara", "Okonkwo", "1985-03-27");
  input.phones = {{"mobile", "+64 21 555 0101"}};
  const core::Timestamp now = clock_.Now();
  auto created = service().Create(Caseworker(), input);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(created->id.valid());
  EXPECT_EQ(created->version, 1);
  EXPECT_EQ(created->created_at, now);
  EXPECT_EQ(created->updated_at, now);

  auto view = service().Get(Caseworker(), created->id);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(view->person.id, created->id);
  EXPECT_EQ(view->person.version, 1);
  EXPECT_EQ(view->person.names, input.names);
  EXPECT_EQ(view->person.birth_date, input.birth_date);
  EXPECT_EQ(view->person.phones, input.phones);
  EXPECT_EQ(view->person.created_at, now);
  EXPECT_TRUE(view->decision.allowed);
  EXPECT_TRUE(view->decision.Sees(authz::Field::kAddresses));
  EXPECT_THAT(view->sources, IsEmpty());
  EXPECT_FALSE(view->household.has_value());
}

TEST_F(PersonServiceTest, CreateWritesHistoryAuditAndOneOutboxEvent) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM person_history WHERE person_id = ?", {p.id.value}), 1);
  auto audit = AuditFor(p.id);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].entry.action, "person.create");
  EXPECT_TRUE(audit[0].entry.allowed);
  EXPECT_EQ(audit[0].actor, "cw.jones");
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "person.created");
  EXPECT_EQ(events[0].aggregate_id, std::to_string(p.id.value));
}

TEST_F(PersonServiceTest, CreateRejectsInvalidInputWithFieldErrorsAndWritesNothing) {
  Person bad = NewPerson("", "");
  bad.sex = "yes";
  auto created = service().Create(Caseworker(), bad);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(created.status()), UnorderedElementsAre("names/0/family", "sex"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM persons"), 0);
  EXPECT_EQ(OutboxCount(), 0);
}

TEST_F(PersonServiceTest, ADateOfBirthOrDeathAfterTodayIsRefused) {
  // The fake clock's today is 2026-01-01.
  for (const char* birth : {"2026-01-02", "2026-02", "2027"}) {
    auto created = service().Create(Caseworker(), NewPerson("Amara", "Okonkwo", birth));
    ASSERT_FALSE(created.ok()) << birth;
    EXPECT_THAT(FieldNames(created.status()), ElementsAre("birth_date")) << birth;
  }
  Person dead = NewPerson("Amara", "Okonkwo", "1950-05-05");
  dead.death_date = *core::PartialDate::Parse("2026-03-01");
  EXPECT_THAT(FieldNames(service().Create(Caseworker(), dead).status()), ElementsAre("death_date"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM persons"), 0);
  for (const char* birth : {"2026-01-01", "2026-01", "2026", "1901"}) {
    EXPECT_TRUE(service().Create(Caseworker(), NewPerson("Amara", "Okonkwo", birth)).ok()) << birth;
  }
  Person p = MustCreate(NewPerson("Amara", "Okonkwo", "1980-01-01"));
  p.birth_date = *core::PartialDate::Parse("2030-01-01");
  auto updated = service().Update(Caseworker(), p.id, p.version, p);
  ASSERT_FALSE(updated.ok());
  EXPECT_THAT(FieldNames(updated.status()), ElementsAre("birth_date"));
}

TEST_F(PersonServiceTest, GetOfUnknownPersonIsNotFound) {
  auto view = service().Get(Caseworker(), core::PersonId{404});
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.status().code(), StatusCode::kNotFound);
}

TEST_F(PersonServiceTest, EveryGetWritesExactlyOneReadAuditEntry) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  Person other = MustCreate(NewPerson("John", "Smith"));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(service().Get(Caseworker(), p.id).ok());
    EXPECT_EQ(AuditCount("person.read", p.id), i);
  }
  EXPECT_EQ(AuditCount("person.read", other.id), 0);
  auto audit = AuditFor(p.id);
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit[0].entry.action, "person.read");
  EXPECT_TRUE(audit[0].entry.allowed);
  EXPECT_EQ(audit[0].purpose, "case_work");
  EXPECT_EQ(audit[0].entry.record_id, std::to_string(p.id.value));
  // Reads are not domain events.
  EXPECT_EQ(OutboxCount(), 2);
}

TEST_F(PersonServiceTest, GetOfUnknownPersonIsStillAudited) {
  const core::PersonId missing{404};
  auto view = service().Get(Caseworker(), missing);
  EXPECT_EQ(view.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(AuditCount("person.read", missing), 1);
}

// -------- Update --------

TEST_F(PersonServiceTest, UpdateBumpsVersionAndKeepsCreation) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  Person changed = p;
  changed.sex = "female";
  const core::Timestamp now = clock_.Now();
  auto updated = service().Update(Caseworker(), p.id, 1, changed);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->version, 2);
  EXPECT_EQ(updated->id, p.id);
  EXPECT_EQ(updated->created_at, p.created_at);
  EXPECT_EQ(updated->updated_at, now);
  auto view = service().Get(Caseworker(), p.id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->person.version, 2);
  EXPECT_EQ(view->person.sex, "female");
  EXPECT_EQ(view->person.created_at, p.created_at);
  EXPECT_EQ(view->person.updated_at, now);
  EXPECT_EQ(AuditCount("person.update", p.id), 1);
}

TEST_F(PersonServiceTest, UpdateWithoutChangesKeepsTheVersionAndWritesNoEvent) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  auto same = service().Update(Caseworker(), p.id, 1, p);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->version, 1);
  EXPECT_EQ(OutboxCount(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM person_history WHERE person_id = ?", {p.id.value}), 1);
}

TEST_F(PersonServiceTest, UpdateWithStaleVersionFailsAndChangesNothing) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  Person first = p;
  first.sex = "female";
  ASSERT_TRUE(service().Update(Caseworker(), p.id, 1, first).ok());
  const int64_t history = Count("SELECT COUNT(*) FROM person_history WHERE person_id = ?", {p.id.value});
  const int64_t outbox = OutboxCount();

  Person stale = p;
  stale.gender = "woman";
  auto s = service().Update(Caseworker(), p.id, 1, stale);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("version 2"));

  auto view = service().Get(Caseworker(), p.id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->person.version, 2);
  EXPECT_EQ(view->person.sex, "female");
  EXPECT_EQ(view->person.gender, "");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM person_history WHERE person_id = ?", {p.id.value}), history);
  EXPECT_EQ(OutboxCount(), outbox);
}

TEST_F(PersonServiceTest, UpdateOfUnknownPersonIsNotFound) {
  auto s = service().Update(Caseworker(), core::PersonId{404}, 1, NewPerson("A", "B"));
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
}

TEST_F(PersonServiceTest, UpdateValidatesInput) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  Person bad = p;
  bad.emails = {{"", "nope"}};
  auto s = service().Update(Caseworker(), p.id, 1, bad);
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(s.status()), ElementsAre("emails/0/value"));
}

// -------- Denied principals --------

TEST_F(PersonServiceTest, GovernanceGetIsDeniedAndAudited) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  const int64_t outbox = OutboxCount();
  auto view = service().Get(Governance(), p.id);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(view.status().message(), HasSubstr("governance"));
  auto audit = AuditFor(p.id);
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit[0].entry.action, "person.read");
  EXPECT_FALSE(audit[0].entry.allowed);
  EXPECT_EQ(audit[0].roles, "governance");
  EXPECT_THAT(audit[0].entry.reason, HasSubstr("governance"));
  EXPECT_EQ(OutboxCount(), outbox);
}

TEST_F(PersonServiceTest, GovernanceUpdateIsDeniedAuditedAndChangesNothing) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  const int64_t outbox = OutboxCount();
  Person changed = p;
  changed.sex = "female";
  auto s = service().Update(Governance(), p.id, 1, changed);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kPermissionDenied);
  auto audit = AuditFor(p.id);
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit[0].entry.action, "person.update");
  EXPECT_FALSE(audit[0].entry.allowed);
  EXPECT_EQ(OutboxCount(), outbox);
  EXPECT_EQ(Count("SELECT version FROM persons WHERE id = ?", {p.id.value}), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM person_history WHERE person_id = ?", {p.id.value}), 1);
}

TEST_F(PersonServiceTest, GovernanceCreateIsDeniedAuditedAndStoresNothing) {
  auto s = service().Create(Governance(), NewPerson("Amara", "Okonkwo"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM persons"), 0);
  EXPECT_EQ(OutboxCount(), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'person.create' AND allowed = 0"), 1);
}

TEST_F(PersonServiceTest, GovernanceSearchAndHistoryAreDeniedAndAudited) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  auto page = service().Search(Governance(), SearchQuery{.name = "amara"});
  EXPECT_EQ(page.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'person.search' AND allowed = 0"), 1);
  EXPECT_EQ(AuditCount("person.search_result", p.id), 0);

  auto history = service().History(Governance(), p.id);
  EXPECT_EQ(history.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'person.history' AND allowed = 0 AND "
                  "person_id = ?",
                  {p.id.value}),
            1);
}

TEST_F(PersonServiceTest, CitizenReadsOwnRecordButNotAnother) {
  Person mine = MustCreate(NewPerson("Amara", "Okonkwo"));
  Person other = MustCreate(NewPerson("John", "Smith"));
  auto own = service().Get(CitizenOf(mine.id), mine.id);
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ(own->person.DisplayName(), "Amara Okonkwo");
  auto theirs = service().Get(CitizenOf(mine.id), other.id);
  EXPECT_EQ(theirs.status().code(), StatusCode::kPermissionDenied);
  // Their own contact details they change; anything else they send is kept as it was.
  Person changed = mine;
  changed.sex = "female";
  changed.names = {{"official", "Someone", "Else"}};
  changed.addresses = {{"home", "9 New Road", "", "Riverside", "", "1002", ""}};
  ASSERT_TRUE(service().Update(CitizenOf(mine.id), mine.id, 1, changed).ok());
  auto stored = service().Get(CitizenOf(mine.id), mine.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->person.DisplayName(), "Amara Okonkwo");
  EXPECT_EQ(stored->person.sex, "");
  ASSERT_EQ(stored->person.addresses.size(), 1u);
  EXPECT_EQ(stored->person.addresses[0].line1, "9 New Road");
  EXPECT_EQ(service().Update(CitizenOf(mine.id), other.id, 1, changed).status().code(),
            StatusCode::kPermissionDenied);
}

// -------- Search --------

TEST_F(PersonServiceTest, SearchByNameWordsInAnyOrder) {
  Person amara_o = MustCreate(NewPerson("Amara", "Okonkwo"));
  Person amara_s = MustCreate(NewPerson("Amara", "Smith"));
  Person john_o = MustCreate(NewPerson("John", "Okonkwo"));
  Person obrien = MustCreate(NewPerson("Siobhan", "O'Brien-Smith"));

  EXPECT_THAT(SearchIds({.name = "okonkwo amara"}), ElementsAre(amara_o.id.value));
  EXPECT_THAT(SearchIds({.name = "Amara Okonkwo"}), ElementsAre(amara_o.id.value));
  EXPECT_THAT(SearchIds({.name = "AMARA"}), ElementsAre(amara_o.id.value, amara_s.id.value));
  // Words match the start of a name part.
  EXPECT_THAT(SearchIds({.name = "oko"}), ElementsAre(amara_o.id.value, john_o.id.value));
  EXPECT_THAT(SearchIds({.name = "konkwo"}), IsEmpty());
  EXPECT_THAT(SearchIds({.name = "smith"}), ElementsAre(amara_s.id.value, obrien.id.value));
  EXPECT_THAT(SearchIds({.name = "obrien"}), ElementsAre(obrien.id.value));
  EXPECT_THAT(SearchIds({.name = "john amara"}), IsEmpty());
}

TEST_F(PersonServiceTest, SearchFindsAliasesAndUnicodeNames) {
  Person p = NewPerson("Ngā", "Tama");
  p.names.push_back({"other_script", "芳", "王"});
  p = MustCreate(p);
  EXPECT_THAT(SearchIds({.name = "ngā"}), ElementsAre(p.id.value));
  EXPECT_THAT(SearchIds({.name = "王"}), ElementsAre(p.id.value));
}

TEST_F(PersonServiceTest, SearchIgnoresCaseAndAccentsInEveryScript) {
  Person a = MustCreate(NewPerson("Émilie", "Østergård"));
  Person b = MustCreate(NewPerson("Александр", "Пушкин"));
  Person c = MustCreate(NewPerson("Tomás", "Hughes"));
  for (const char* q : {"émilie", "EMILIE", "emilie østergård", "ØSTERGÅRD"}) {
    EXPECT_THAT(SearchIds({.name = q}), ElementsAre(a.id.value)) << q;
  }
  for (const char* q : {"пушкин", "ПУШКИН", "александр"})
    EXPECT_THAT(SearchIds({.name = q}), ElementsAre(b.id.value)) << q;
  for (const char* q : {"tomas hughes", "TOMÁS", "Tomás Hughes"})
    EXPECT_THAT(SearchIds({.name = q}), ElementsAre(c.id.value)) << q;
}

TEST_F(PersonServiceTest, SearchNameUsesTheCurrentNamesAfterUpdate) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  Person renamed = p;
  renamed.names = {{"official", "Amara", "Mensah"}};
  ASSERT_TRUE(service().Update(Caseworker(), p.id, 1, renamed).ok());
  EXPECT_THAT(SearchIds({.name = "okonkwo"}), IsEmpty());
  EXPECT_THAT(SearchIds({.name = "mensah"}), ElementsAre(p.id.value));
}

TEST_F(PersonServiceTest, SearchByPartialAndFullBirthDate) {
  Person full = MustCreate(NewPerson("A", "Full", "1985-03-27"));
  Person month = MustCreate(NewPerson("B", "Month", "1985-03"));
  Person other_month = MustCreate(NewPerson("C", "July", "1985-07"));
  Person year = MustCreate(NewPerson("D", "Year", "1985"));
  Person other_year = MustCreate(NewPerson("E", "Other", "1990-03-27"));
  Person unknown = MustCreate(NewPerson("F", "Unknown"));

  EXPECT_THAT(SearchIds({.birth_date = "1985"}),
              ElementsAre(full.id.value, month.id.value, other_month.id.value, year.id.value));
  EXPECT_THAT(SearchIds({.birth_date = "1985-03"}), ElementsAre(full.id.value, month.id.value, year.id.value));
  // A person stored with only a year (or month) matches a full date in that year (or month).
  EXPECT_THAT(SearchIds({.birth_date = "1985-03-27"}), ElementsAre(full.id.value, month.id.value, year.id.value));
  EXPECT_THAT(SearchIds({.birth_date = "1985-03-28"}), ElementsAre(month.id.value, year.id.value));
  EXPECT_THAT(SearchIds({.birth_date = "1990-03-27"}), ElementsAre(other_year.id.value));
  EXPECT_THAT(SearchIds({.birth_date = "2001"}), IsEmpty());
  (void)unknown;
}

TEST_F(PersonServiceTest, SearchWithBadBirthDateIsInvalidArgument) {
  auto page = service().Search(Caseworker(), {.birth_date = "27/03/1985"});
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(page.status()), ElementsAre("birth_date"));
}

TEST_F(PersonServiceTest, SearchByIdentifierIsExact) {
  Person a = NewPerson("Amara", "Okonkwo");
  a.identifiers = {{"passport", "P123", ""}};
  a = MustCreate(a);
  Person b = NewPerson("John", "Okonkwo");
  b.identifiers = {{"passport", "P1234", ""}};
  b = MustCreate(b);
  EXPECT_THAT(SearchIds({.identifier = "P123"}), ElementsAre(a.id.value));
  EXPECT_THAT(SearchIds({.identifier = "P12"}), IsEmpty());
  EXPECT_THAT(SearchIds({.name = "john", .identifier = "P123"}), IsEmpty());
  auto page = service().Search(Caseworker(), {.identifier = "P1234"});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name, "John Okonkwo");
  EXPECT_THAT(page->items[0].identifiers, ElementsAre(Identifier{"passport", "P1234", ""}));
}

TEST_F(PersonServiceTest, SearchCursorCoversAllWithoutDuplicates) {
  std::set<int64_t> created;
  for (int i = 0; i < 7; ++i) created.insert(MustCreate(NewPerson("Amara", "Person" + std::to_string(i))).id.value);
  MustCreate(NewPerson("John", "Smith"));  // not matching
  std::vector<int64_t> seen;
  SearchQuery q{.name = "amara", .limit = 3};
  std::vector<size_t> page_sizes;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = service().Search(Caseworker(), q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    page_sizes.push_back(page->items.size());
    for (const auto& item : page->items) seen.push_back(item.id.value);
    if (!page->next_after) break;
    EXPECT_EQ(*page->next_after, page->items.back().id.value);
    q.after = *page->next_after;
  }
  EXPECT_THAT(page_sizes, ElementsAre(3u, 3u, 1u));
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()), created);
  EXPECT_EQ(seen.size(), created.size());
}

TEST_F(PersonServiceTest, SearchExactlyFullPageHasNoNextCursor) {
  for (int i = 0; i < 3; ++i) MustCreate(NewPerson("Amara", "P" + std::to_string(i)));
  auto page = service().Search(Caseworker(), {.name = "amara", .limit = 3});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), 3u);
  EXPECT_FALSE(page->next_after.has_value());
}

TEST_F(PersonServiceTest, SearchLimitOutOfRangeIsInvalidArgument) {
  for (int limit : {0, -1, 101}) {
    SCOPED_TRACE(limit);
    auto page = service().Search(Caseworker(), {.limit = limit});
    ASSERT_FALSE(page.ok());
    EXPECT_EQ(page.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(FieldNames(page.status()), ElementsAre("limit"));
  }
  EXPECT_TRUE(service().Search(Caseworker(), {.limit = 1}).ok());
  EXPECT_TRUE(service().Search(Caseworker(), {.limit = 100}).ok());
}

TEST_F(PersonServiceTest, SearchAuditsOneResultEntryPerPersonShown) {
  Person a = MustCreate(NewPerson("Amara", "Okonkwo"));
  Person b = MustCreate(NewPerson("Amara", "Smith"));
  Person c = MustCreate(NewPerson("John", "Smith"));
  auto page = service().Search(Caseworker(), {.name = "amara"});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(AuditCount("person.search_result", a.id), 1);
  EXPECT_EQ(AuditCount("person.search_result", b.id), 1);
  EXPECT_EQ(AuditCount("person.search_result", c.id), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'person.search_result'"), 2);
  // Only the page shown counts, not the look-ahead row.
  ASSERT_TRUE(service().Search(Caseworker(), {.name = "amara", .limit = 1}).ok());
  EXPECT_EQ(AuditCount("person.search_result", a.id), 2);
  EXPECT_EQ(AuditCount("person.search_result", b.id), 1);
}

// -------- History --------

TEST_F(PersonServiceTest, HistoryIsNewestFirstWithTheChangedFields) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  Person v2 = p;
  v2.sex = "female";
  ASSERT_TRUE(service().Update(Caseworker(), p.id, 1, v2).ok());
  clock_.Advance(1s);
  Person v3 = v2;
  v3.names[0].family = "Mensah";
  Principal other = Caseworker();
  other.name = "cw.smith";
  ASSERT_TRUE(service().Update(other, p.id, 2, v3).ok());

  auto history = service().History(Caseworker(), p.id);
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_EQ(history->size(), 3u);
  const auto& h = *history;
  EXPECT_EQ(h[0].version, 3);
  EXPECT_EQ(h[0].action, "updated");
  EXPECT_EQ(h[0].actor, "cw.smith");
  ASSERT_EQ(h[0].changes.size(), 1u);
  EXPECT_EQ(h[0].changes[0].field, "names/0/family");
  EXPECT_EQ(h[0].changes[0].before, "Okonkwo");
  EXPECT_EQ(h[0].changes[0].after, "Mensah");
  EXPECT_EQ(h[1].version, 2);
  ASSERT_EQ(h[1].changes.size(), 1u);
  EXPECT_EQ(h[1].changes[0].field, "sex");
  EXPECT_EQ(h[1].changes[0].after, "female");
  EXPECT_EQ(h[2].version, 1);
  EXPECT_EQ(h[2].action, "created");
  EXPECT_EQ(h[2].agency_id, 1);
  EXPECT_GT(h[0].at, h[1].at);
  EXPECT_EQ(AuditCount("person.history", p.id), 1);
}

TEST_F(PersonServiceTest, FrontdeskHistoryIsWithheldWithTheReason) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  auto history = service().History(StaffUser({Role::kFrontdesk}, Purpose::kFrontDesk), p.id);
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(history.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(history.status().message(), HasSubstr("front desk"));
}

TEST_F(PersonServiceTest, HistoryOfUnknownPersonIsNotFound) {
  EXPECT_EQ(service().History(Caseworker(), core::PersonId{404}).status().code(), StatusCode::kNotFound);
}

// -------- AccessLog --------

TEST_F(PersonServiceTest, CitizenReadsOwnAccessLog) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  ASSERT_TRUE(service().Get(Caseworker(), p.id).ok());
  auto log = service().AccessLog(CitizenOf(p.id), p.id, 50);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  std::vector<std::string> actions;
  for (const auto& e : log->items) actions.push_back(e.record.entry.action);
  EXPECT_THAT(actions, ElementsAre("person.access_log", "person.read", "person.create"));
  // The person sees the role and purpose, not the staff member's username or the gate's reason.
  EXPECT_EQ(log->items[1].record.actor, "");
  EXPECT_EQ(log->items[1].record.roles, "caseworker");
  EXPECT_EQ(log->items[1].record.entry.reason, "");
  EXPECT_FALSE(log->next_before.has_value());
  // An auditor sees who.
  auto full = service().AccessLog(StaffUser({Role::kAuditor}, Purpose::kAudit), p.id, 50);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->items[2].record.actor, "cw.jones");
}

TEST_F(PersonServiceTest, AccessLogKeepsWhereEachRequestCameFromForAuditorsAndThePersonsOwnForThem) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  Principal staff = Caseworker();
  staff.client_address = "198.51.100.4";
  ASSERT_TRUE(service().Get(staff, p.id).ok());
  Principal citizen = CitizenOf(p.id);
  citizen.client_address = "203.0.113.9";
  auto mine = service().AccessLog(citizen, p.id, 50);  // itself an entry, from the person's address
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  auto again = service().AccessLog(citizen, p.id, 50);
  ASSERT_TRUE(again.ok());
  ASSERT_GE(again->items.size(), 3u);
  EXPECT_EQ(again->items[1].record.entry.action, "person.access_log");
  EXPECT_EQ(again->items[1].record.client_address, "203.0.113.9") << "the person's own request";
  EXPECT_EQ(again->items[2].record.entry.action, "person.read");
  EXPECT_EQ(again->items[2].record.client_address, "") << "a caseworker's address is for auditors";
  auto full = service().AccessLog(StaffUser({Role::kAuditor}, Purpose::kAudit), p.id, 50);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->items[3].record.entry.action, "person.read");
  EXPECT_EQ(full->items[3].record.client_address, "198.51.100.4");
  EXPECT_EQ(full->items[1].record.client_address, "203.0.113.9");
}

TEST_F(PersonServiceTest, AccessLogPagesNewestFirstAndHidesTheLegalExceptionsFromThePerson) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(service().Get(Caseworker(), p.id).ok());
  const auto auditor = StaffUser({Role::kAuditor}, Purpose::kAudit);
  auto first = service().AccessLog(auditor, p.id, 2);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->items.size(), 2u);
  ASSERT_TRUE(first->next_before.has_value());
  auto second = service().AccessLog(auditor, p.id, 2, *first->next_before);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->items.size(), 2u);
  EXPECT_LT(second->items[0].record.seq, first->items[1].record.seq);
  EXPECT_EQ(service().AccessLog(auditor, p.id, 0).status().code(), StatusCode::kInvalidArgument);

  // The caseworker's agency is under a legal exception: the person does not see its reads,
  // the auditor still does.
  std::string code;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT code FROM agencies WHERE id = ?",
                                                                  {Caseworker().agency.value}));
                    code = rows.at(0).Text(0);
                    return Status::Ok();
                  })
                  .ok());
  service().SetAccessLogExceptions({code});
  auto mine = service().AccessLog(CitizenOf(p.id), p.id, 50);
  ASSERT_TRUE(mine.ok());
  for (const auto& e : mine->items) EXPECT_NE(e.record.entry.action, "person.read");
  auto all = service().AccessLog(auditor, p.id, 50);
  ASSERT_TRUE(all.ok());
  int reads = 0;
  for (const auto& e : all->items) reads += e.record.entry.action == "person.read";
  EXPECT_EQ(reads, 4);
}

TEST_F(PersonServiceTest, CitizenCannotReadAnotherPersonsAccessLog) {
  Person mine = MustCreate(NewPerson("Amara", "Okonkwo"));
  Person other = MustCreate(NewPerson("John", "Smith"));
  auto log = service().AccessLog(CitizenOf(mine.id), other.id, 50);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kPermissionDenied);
  auto audit = AuditFor(other.id);
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit[0].entry.action, "person.access_log");
  EXPECT_FALSE(audit[0].entry.allowed);
}

TEST_F(PersonServiceTest, AccessLogForStaffNeedsAuditorOrManager) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  EXPECT_EQ(service().AccessLog(Caseworker(), p.id, 50).status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(service().AccessLog(StaffUser({Role::kAuditor}, Purpose::kAudit), p.id, 50).ok());
}

TEST_F(PersonServiceTest, AccessLogIsForTheAuditorsAndManagersOfAnAgencyThatHoldsThePerson) {
  Sql("INSERT INTO agencies (code,name,kind,created_at) VALUES ('b','Agency B','nonprofit',0)");
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));  // held by agency 1
  Principal b_caseworker = Caseworker();
  b_caseworker.agency = core::AgencyId{2};
  b_caseworker.user = core::UserId{8};
  b_caseworker.name = "cw.other";
  b_caseworker.client_address = "192.0.2.8";
  (void)service().Get(b_caseworker, p.id);  // in the log, allowed or not

  // Agency B's auditor and manager: B does not hold the person. Refused, and the refusal audited.
  for (Role role : {Role::kAuditor, Role::kManager}) {
    Principal b = StaffUser({role}, Purpose::kAudit);
    b.agency = core::AgencyId{2};
    auto log = service().AccessLog(b, p.id, 50);
    ASSERT_EQ(log.status().code(), StatusCode::kPermissionDenied);
    EXPECT_THAT(log.status().message(), HasSubstr("does not hold this client"));
    EXPECT_FALSE(AuditFor(p.id)[0].entry.allowed);
  }
  Principal b_manager = StaffUser({Role::kManager}, Purpose::kAudit);
  b_manager.agency = core::AgencyId{2};
  EXPECT_EQ(service().AccessLog(b_manager, core::PersonId{404}, 50).status().code(),
            StatusCode::kNotFound);

  // Agency 1's auditor sees its own staff in full, and of agency B what the person sees.
  auto log = service().AccessLog(StaffUser({Role::kAuditor}, Purpose::kAudit), p.id, 50);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  bool saw_b = false;
  for (const auto& e : log->items) {
    if (e.record.agency_id == 2 && e.record.entry.action == "person.read") {
      saw_b = true;
      EXPECT_EQ(e.record.actor, "");
      EXPECT_EQ(e.record.client_address, "");
      EXPECT_EQ(e.record.entry.reason, "");
      EXPECT_EQ(e.agency_name, "Agency B");
    }
    if (e.record.entry.action == "person.create") {
      EXPECT_EQ(e.record.actor, "cw.jones");
    }
  }
  EXPECT_TRUE(saw_b);
}

// -------- Source records --------

TEST_F(PersonServiceTest, PutSourceRecordUpsertsByLocalId) {
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  auto first = service().PutSourceRecord(Caseworker(), "case-9", p.id, R"({"status":"open"})");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->id.valid());
  EXPECT_EQ(first->agency, core::AgencyId{1});
  clock_.Advance(1s);
  auto second = service().PutSourceRecord(Caseworker(), "case-9", p.id, R"({"status":"closed"})");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->id, first->id);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records WHERE data LIKE '%closed%'"), 1);

  auto view = service().Get(Caseworker(), p.id);
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->sources.size(), 1u);
  EXPECT_EQ(view->sources[0].agency_name, "Agency A");
  EXPECT_EQ(view->sources[0].local_id, "case-9");

  auto other = service().PutSourceRecord(Caseworker(), "case-10", p.id, "{}");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->id, first->id);
}

TEST_F(PersonServiceTest, PutSourceRecordForMissingPersonNamesPersonId) {
  auto rec = service().PutSourceRecord(Caseworker(), "case-9", core::PersonId{404}, "{}");
  ASSERT_FALSE(rec.ok());
  EXPECT_EQ(rec.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(rec.status()), ElementsAre("person_id"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records"), 0);
}

// Keeping a record of a person makes an agency one that holds them, and so opens their record:
// an agency names only a person it holds already; the client index links the others.
TEST_F(PersonServiceTest, AnAgencyNamesInItsSourceRecordOnlyAPersonItHolds) {
  Sql("INSERT INTO agencies (code,name,kind,created_at) VALUES ('b','Agency B','nonprofit',0)");
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  Principal other = Caseworker();
  other.agency = core::AgencyId{2};
  other.name = "cw.other";
  auto rec = service().PutSourceRecord(other, "B-1", p.id, "{}");
  ASSERT_FALSE(rec.ok());
  EXPECT_EQ(rec.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(rec.status().message(), testing::HasSubstr("client index"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'source_record.put' AND allowed = 0"), 1);
  // Without a person the record is kept, for the client index to match; the holding agency
  // names its own client.
  EXPECT_TRUE(service().PutSourceRecord(other, "B-1", std::nullopt, "{}").ok());
  EXPECT_TRUE(service().PutSourceRecord(Caseworker(), "A-1", p.id, "{}").ok());
}

// A nightly sync sends its records again: without person_id a record keeps the person the client
// index linked it to, and one sent unchanged changes nothing and tells no one. A link the agency
// makes itself is kept in the link history.
TEST_F(PersonServiceTest, ARecordSentAgainKeepsItsLinkAndOneUnchangedTellsNoOne) {
  Sql("INSERT INTO agencies (code,name,kind,created_at) VALUES ('b','Agency B','nonprofit',0)");
  Person p = MustCreate(NewPerson("Amara", "Okonkwo"));
  Principal other = Caseworker();
  other.agency = core::AgencyId{2};
  other.name = "cw.other";
  const std::string events = "SELECT COUNT(*) FROM outbox WHERE type = 'source_record.updated'";
  ASSERT_TRUE(service().PutSourceRecord(other, "B-1", std::nullopt, R"({"tenancy":"T-1"})").ok());
  EXPECT_EQ(Count(events), 1);
  // The client index links it (as a run of link dedupe would).
  Sql("UPDATE source_records SET person_id = " + std::to_string(p.id.value) +
      " WHERE local_id = 'B-1'");

  clock_.Advance(1s);
  auto again = service().PutSourceRecord(other, "B-1", std::nullopt, R"({"tenancy":"T-2"})");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->person, p.id);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records WHERE local_id = 'B-1' AND person_id = " +
                  std::to_string(p.id.value) + " AND data LIKE '%T-2%'"),
            1);
  EXPECT_EQ(Count(events), 2);
  EXPECT_TRUE(service().Get(other, p.id).ok()) << "the agency still holds the person";

  clock_.Advance(1s);
  auto same = service().PutSourceRecord(other, "B-1", std::nullopt, R"({"tenancy":"T-2"})");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->updated_at, again->updated_at);
  EXPECT_EQ(same->person, p.id);
  EXPECT_EQ(Count(events), 2);

  // The registering agency names its client: the link is in the history, once.
  ASSERT_TRUE(service().PutSourceRecord(Caseworker(), "A-1", p.id, "{}").ok());
  ASSERT_TRUE(service().PutSourceRecord(Caseworker(), "A-1", p.id, "{}").ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_record_links WHERE cause = 'agency' AND action = "
                  "'linked' AND "
                  "person_id = " +
                  std::to_string(p.id.value)),
            1);
  EXPECT_EQ(Count(events), 3);
}

TEST_F(PersonServiceTest, PutSourceRecordValidatesLocalIdAndData) {
  auto rec = service().PutSourceRecord(Caseworker(), "", std::nullopt, "[1]");
  ASSERT_FALSE(rec.ok());
  EXPECT_EQ(rec.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(rec.status()), ElementsAre("local_id", "data"));
}

// -------- Outbox --------

TEST_F(PersonServiceTest, OutboxEventsNameFieldsButCarryNoPersonalData) {
  Person input = NewPerson("Amara", "Okonkwo", "1985-03-27");
  input.identifiers = {{"passport", "P987654", ""}};
  input.addresses = {{"home", "12 High Street", "", "Wellington", "", "6011", "NZ"}};
  Person p = MustCreate(input);
  Person changed = p;
  changed.phones = {{"mobile", "+64 21 555 0101"}};
  changed.names[0].family = "Mensah";
  changed.addresses[0].city = "Porirua";
  changed.addresses[0].line2 = "Flat 2";  // an added path in a changed field
  changed.sex = "female";
  ASSERT_TRUE(service().Update(Caseworker(), p.id, 1, changed).ok());

  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "person.created");
  EXPECT_EQ(events[1].type, "person.updated");
  json created = json::parse(events[0].payload);
  EXPECT_EQ(created["person_id"], p.id.value);
  EXPECT_EQ(created["version"], 1);
  json updated = json::parse(events[1].payload);
  EXPECT_EQ(updated["person_id"], p.id.value);
  EXPECT_EQ(updated["version"], 2);
  std::vector<std::string> fields = updated["fields"].get<std::vector<std::string>>();
  // Each top-level field once.
  EXPECT_THAT(fields, UnorderedElementsAre("addresses", "names", "phones", "sex"));
  for (const auto& e : events) {
    for (const char* secret : {"Amara", "Okonkwo", "Mensah", "1985", "P987654", "High Street", "Wellington",
                               "Porirua", "555", "female"}) {
      EXPECT_EQ(e.payload.find(secret), std::string::npos) << e.type << " payload has " << secret;
    }
  }
}

// -------- Concurrent creates, written together --------

// Concurrent creates go to the database in batches (one transaction each); on both databases.
class PersonCreateBatchTest : public PersonServiceTest, public ::testing::WithParamInterface<std::string> {
 protected:
  std::string Backend() const override { return GetParam(); }

  storage::Rows Query(const std::string& sql) {
    storage::Rows rows;
    Status s = db_->Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(rows, tx.Query(sql));
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return rows;
  }

  // Person id -> the text of `column`, from `sql` (two columns: the id and the text).
  std::map<int64_t, std::string> Column(const std::string& sql) {
    std::map<int64_t, std::string> out;
    for (const auto& r : Query(sql)) EXPECT_TRUE(out.emplace(r.Int(0), r.Text(1)).second) << r.Int(0);
    return out;
  }

  // Each thread makes `per_thread` creates through the service, all at once; `name(t, i)` is the
  // family name of create i of thread t. Returns the persons created (id -> family name) and
  // counts the creates that failed with each status code.
  std::map<int64_t, std::string> CreateConcurrently(int threads, int per_thread,
                                                    const std::function<std::string(int, int)>& name,
                                                    std::map<StatusCode, int>& failed) {
    std::map<int64_t, std::string> made;
    std::mutex mu;
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
      running.emplace_back([&, t] {
        const Principal who = t == 0 ? Governance() : Caseworker();
        for (int i = 0; i < per_thread; ++i) {
          Person p = NewPerson("Given", name(t, i), "1980-02-03");
          p.identifiers = {{"agency_number", fmt::format("{}-{}", t, i), "Agency A"}};
          auto created = service().Create(who, p);
          std::lock_guard lock(mu);
          if (!created.ok()) {
            ++failed[created.status().code()];
            continue;
          }
          EXPECT_EQ(created->names.at(0).family, name(t, i));
          EXPECT_EQ(created->version, 1);
          EXPECT_TRUE(made.emplace(created->id.value, name(t, i)).second) << "id given twice: " << created->id.value;
        }
      });
    }
    for (auto& t : running) t.join();
    return made;
  }

  // Every person in the database is one of `made`, whole: its record, name index row,
  // identifier, one history row, one allowed audit entry and one event, each under its own id;
  // nothing else was kept, and the audit chains verify.
  void ExpectExactly(const std::map<int64_t, std::string>& made, int refusals) {
    std::map<int64_t, std::string> family;
    for (const auto& [id, doc] : Column("SELECT id, doc FROM persons")) {
      family[id] = json::parse(doc)["names"][0]["family"].get<std::string>();
    }
    EXPECT_EQ(family, made);
    std::map<int64_t, std::string> keys;
    for (const auto& [id, name] : made) keys[id] = NameKey(name);
    EXPECT_EQ(Column("SELECT person_id, family_key FROM person_names"), keys);
    EXPECT_EQ(Column("SELECT person_id, value FROM person_identifiers").size(), made.size());
    std::map<int64_t, std::string> created;
    for (const auto& [id, name] : made) created[id] = "created";
    EXPECT_EQ(Column("SELECT person_id, action FROM person_history"), created);
    std::map<int64_t, std::string> entries;
    for (const auto& [id, name] : made) entries[id] = std::to_string(id);
    EXPECT_EQ(Column("SELECT person_id, record_id FROM audit_log WHERE action = 'person.create' AND allowed = 1 "
                     "AND person_id IS NOT NULL"),
              entries);
    EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'person.create' AND allowed = 0"), refusals);
    std::map<int64_t, std::string> events;
    for (const auto& r : Query("SELECT aggregate_id, payload FROM outbox WHERE type = 'person.created'")) {
      EXPECT_EQ(json::parse(r.Text(1))["person_id"].get<int64_t>(), std::stoll(r.Text(0)));
      EXPECT_TRUE(events.emplace(std::stoll(r.Text(0)), "created").second) << "two events for " << r.Text(0);
    }
    EXPECT_EQ(events, created);
    auto report = audit::AuditLog::Verify(*db_);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->ok) << report->problem;
  }
};

// Thread 0 is refused (governance may not create); the others' creates are each kept whole,
// under the id each was told, however they were batched.
TEST_P(PersonCreateBatchTest, ConcurrentCreatesAreEachKeptWholeUnderTheIdTheyWereGiven) {
  constexpr int kThreads = 12;
  constexpr int kPerThread = 20;
  std::map<StatusCode, int> failed;
  auto made = CreateConcurrently(kThreads, kPerThread, [](int t, int i) { return fmt::format("Fam{}x{}", t, i); },
                                 failed);
  EXPECT_EQ(made.size(), static_cast<size_t>((kThreads - 1) * kPerThread));
  EXPECT_EQ(failed, (std::map<StatusCode, int>{{StatusCode::kPermissionDenied, kPerThread}}));
  ExpectExactly(made, kPerThread);
  if (GetParam() == "postgres") {
    // They were written together: fewer transactions than persons (xmin is the writing one).
    const int64_t transactions = Count("SELECT COUNT(DISTINCT xmin::text) FROM persons");
    EXPECT_LT(transactions, static_cast<int64_t>(made.size()));
    std::cout << made.size() << " creates in " << transactions << " transactions\n";
  }
}

// A create the database refuses (here a trigger, as a full disk or a constraint would) fails
// alone: the creates batched with it are written again without it and kept.
TEST_P(PersonCreateBatchTest, ACreateTheDatabaseRefusesFailsAloneAndTheOthersAreKept) {
  Status trigger = testing_support::RefuseInserts(*db_, "persons", "NEW.doc LIKE '%Refused%'");
  ASSERT_TRUE(trigger.ok()) << trigger.ToString();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 15;
  auto name = [](int t, int i) { return fmt::format("{}{}x{}", t == 1 && i % 3 == 0 ? "Refused" : "Fam", t, i); };
  std::map<StatusCode, int> failed;
  auto made = CreateConcurrently(kThreads, kPerThread, name, failed);
  EXPECT_EQ(made.size(), static_cast<size_t>((kThreads - 1) * kPerThread - kPerThread / 3));
  for (const auto& [id, family] : made) EXPECT_EQ(family.find("Refused"), std::string::npos) << id;
  // SQLite reports the trigger's refusal as a failed check (kFailedPrecondition), PostgreSQL as
  // an error (kInternal).
  const StatusCode refused = GetParam() == "sqlite" ? StatusCode::kFailedPrecondition : StatusCode::kInternal;
  EXPECT_EQ(failed, (std::map<StatusCode, int>{{StatusCode::kPermissionDenied, kPerThread}, {refused, kPerThread / 3}}));
  ExpectExactly(made, kPerThread);
}

// Migration 45's step makes again the keys of names indexed before folding, finding them with
// each database's own pattern match.
TEST_P(PersonCreateBatchTest, NamesIndexedBeforeFoldingAreRekeyed) {
  Person a = MustCreate(NewPerson("Émilie", "Østergård"));
  Person b = MustCreate(NewPerson("Jack", "Cohen"));
  // The keys as the program made them before folding: bytes other than A-Z left as they were.
  Sql("UPDATE person_names SET given_key = 'émilie', family_key = 'østergård', "
      "full_key = ' émilie østergård ' WHERE person_id = " + std::to_string(a.id.value));
  EXPECT_THAT(SearchIds({.name = "emilie"}), IsEmpty());
  ASSERT_TRUE(db_->Write([](storage::Transaction& tx) { return RekeyFoldedNames(tx); }).ok());
  EXPECT_THAT(SearchIds({.name = "emilie"}), ElementsAre(a.id.value));
  EXPECT_THAT(SearchIds({.name = "ÉMILIE"}), ElementsAre(a.id.value));
  EXPECT_THAT(SearchIds({.name = "ÉMILIE østergård"}), ElementsAre(a.id.value));
  EXPECT_THAT(SearchIds({.name = "cohen"}), ElementsAre(b.id.value));
  EXPECT_THAT(SearchIds({.name = "jack cohen"}), ElementsAre(b.id.value));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM person_names"), 2);
}

// A name in Arabic script is found with or without its article: "علي" finds العلي, as people
// often give the name without it; migration 48's step keys the names stored before.
TEST_P(PersonCreateBatchTest, ArabicNamesAreFoundWithoutTheirArticle) {
  Person a = MustCreate(NewPerson("محمد", "العلي"));
  Person b = MustCreate(NewPerson("عبدالله", "حسن"));
  Person c = MustCreate(NewPerson("Ali", "Al-Hassan"));
  EXPECT_THAT(SearchIds({.name = "العلي"}), ElementsAre(a.id.value));
  EXPECT_THAT(SearchIds({.name = "علي"}), ElementsAre(a.id.value));
  EXPECT_THAT(SearchIds({.name = "محمد علي"}), ElementsAre(a.id.value));
  // The article inside a word (عبدالله) is part of the name; a word that is only the article
  // and one letter is not cut.
  EXPECT_THAT(SearchIds({.name = "الله"}), IsEmpty());
  EXPECT_THAT(SearchIds({.name = "عبدالله"}), ElementsAre(b.id.value));
  EXPECT_THAT(SearchIds({.name = "hassan"}), ElementsAre(c.id.value));
  // Keys written before the article was known are made again by the step.
  Sql("UPDATE person_names SET full_key = ' محمد العلي ' WHERE person_id = " +
      std::to_string(a.id.value));
  EXPECT_THAT(SearchIds({.name = "علي"}), IsEmpty());
  ASSERT_TRUE(db_->Write([](storage::Transaction& tx) { return RekeyFoldedNames(tx); }).ok());
  EXPECT_THAT(SearchIds({.name = "علي"}), ElementsAre(a.id.value));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM person_names"), 3);
}

// Identifiers are found however they are typed; migration 46's step keys those stored before.
TEST_P(PersonCreateBatchTest, IdentifiersAreFoundHoweverTyped) {
  Person p = NewPerson("Ruth", "Cohen");
  p.identifiers = {{"national_id", "qz 771-204", ""}};
  Person a = MustCreate(p);
  for (const char* typed : {"QZ771204", "qz771204", "QZ 771 204", "Qz-771.204"}) {
    EXPECT_THAT(SearchIds({.identifier = typed}), ElementsAre(a.id.value)) << typed;
  }
  EXPECT_THAT(SearchIds({.identifier = "QZ771205"}), IsEmpty());
  Sql("UPDATE person_identifiers SET value_key = ''");
  EXPECT_THAT(SearchIds({.identifier = "QZ771204"}), IsEmpty());
  ASSERT_TRUE(db_->Write([](storage::Transaction& tx) { return KeyIdentifiers(tx); }).ok());
  EXPECT_THAT(SearchIds({.identifier = "QZ771204"}), ElementsAre(a.id.value));
  EXPECT_EQ(IdentifierKey("ab 12-34.56 c"), "AB123456C");
  EXPECT_EQ(IdentifierKey("é-1"), "é1");
}

INSTANTIATE_TEST_SUITE_P(Databases, PersonCreateBatchTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace registry
