#include "identity/registry_linker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "audit/audit_log.h"
#include "exchange/outbox.h"
#include "registry/client_import.h"
#include "tests/testing/testing.h"

namespace identity {
namespace {

using core::Status;
using core::StatusCode;

authz::Principal ImportingSystem() {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kSystem;
  p.agency = core::AgencyId{1};
  p.name = "import";
  p.roles = {authz::Role::kCaseworker};
  p.scopes = {"source-records:write"};
  p.purpose = authz::Purpose::kCaseWork;
  return p;
}

class RegistryLinkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) {
                    return tx.Execute("INSERT INTO agencies (code,name,kind,created_at) VALUES ('a','A','government',0)")
                        .status();
                  }).ok());
  }
  void ImportFebrl(const std::string& file) {
    auto mapping = registry::ImportMapping::Load(std::string(ONEDOOR_SOURCE_DIR) + "/docs/examples/febrl-mapping.yaml");
    ASSERT_TRUE(mapping.ok()) << mapping.status().ToString();
    std::ifstream in(file);
    ASSERT_TRUE(in) << file;
    std::ostringstream rejects;
    auto s = registry::ImportClients(persons_, ImportingSystem(), *mapping, in, rejects, {.source_name = "febrl"});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
  }
  storage::Rows Query(const std::string& sql) {
    storage::Rows rows;
    EXPECT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                    ASSIGN_OR_RETURN(rows, tx.Query(sql));
                    return Status::Ok();
                  }).ok());
    return rows;
  }
  int64_t Count(const std::string& sql) { return Query(sql).at(0).Int(0); }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_ = testing_support::NewMigratedSqlite(dir_);
  core::FakeClock clock_;
  authz::AccessGate gate_;
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  registry::PersonService persons_{*db_, gate_, audit_, outbox_, clock_};
  RegistryLinker linker_{persons_, *db_, clock_};
};

TEST(ToPersonRecord, TakesTheOfficialNameAndSplitsTheHouseNumber) {
  registry::Person p;
  p.names = {{"alias", "Bill", "X"}, {"official", "William", "Okafor"}};
  p.birth_date = core::PartialDate{1984, 3, 7};
  p.addresses = {{"postal", "PO Box 4", "", "Ashford", "", "TN23", ""},
                 {"home", "12a Mill Lane", "Flat 2", "Ashford", "Kent", "TN23 1PP", ""}};
  p.identifiers = {{"passport", "X1", ""}, {"national_id", "AB123456C", ""}};
  p.phones = {{"mobile", "07700 900123"}};
  PersonRecord r = ToPersonRecord(p);
  EXPECT_EQ(r.given_name, "William");
  EXPECT_EQ(r.family_name, "Okafor");
  EXPECT_EQ(r.date_of_birth, "1984-03-07");
  EXPECT_EQ(r.street_number, "12a");
  EXPECT_EQ(r.address_line1, "Mill Lane");
  EXPECT_EQ(r.address_line2, "Flat 2");
  EXPECT_EQ(r.postcode, "TN23 1PP");
  EXPECT_EQ(r.identifier, "AB123456C");
  EXPECT_EQ(r.phone, "07700 900123");
}

// FEBRL3 imported as one agency's client list (5,000 rows of 2,000 people; the import rejects 41
// of them: 35 dates of birth that do not exist and 6 without a name), then linked: each new person
// holds the records of one true person, and running it again changes nothing.
TEST_F(RegistryLinkerTest, FebrlClientListBecomesOnePersonPerTruePerson) {
  ImportFebrl(std::string(ONEDOOR_SOURCE_DIR) + "/third_party/febrl/dataset3.csv");
  const int64_t records = Count("SELECT COUNT(*) FROM source_records");
  ASSERT_EQ(records, 4959);

  auto report = linker_.Dedupe(ClientIndexPrincipal(), MatchOptions{}, /*dry_run=*/false);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->records, records);
  EXPECT_EQ(report->unusable, 0);
  EXPECT_EQ(report->records_linked, records);
  EXPECT_EQ(report->persons_created, report->clusters);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM persons"), report->persons_created);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records WHERE person_id IS NULL"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_record_links WHERE action = 'linked' AND cause = 'auto'"), records);

  // Against the truth in the FEBRL ids (rec-N-org, rec-N-dup-k: person N).
  std::map<int64_t, std::set<std::string>> truth_of_person;
  std::map<std::string, std::set<int64_t>> persons_of_truth;
  for (const auto& row : Query("SELECT person_id, local_id FROM source_records")) {
    const std::string id = row.Text(1);
    const std::string entity = id.substr(4, id.find('-', 4) - 4);
    truth_of_person[row.Int(0)].insert(entity);
    persons_of_truth[entity].insert(row.Int(0));
  }
  int64_t mixed = 0, split = 0;
  for (const auto& [person, entities] : truth_of_person) mixed += entities.size() > 1;
  for (const auto& [entity, ps] : persons_of_truth) split += ps.size() > 1;
  EXPECT_EQ(mixed, 0) << "persons holding records of different people";
  EXPECT_LE(split, 2) << "people spread over several persons (FEBRL3's engine recall is 0.9994)";
  EXPECT_EQ(report->clusters, static_cast<int64_t>(persons_of_truth.size()) + split);

  // Each link is in the person's access log.
  const int64_t some_person = Query("SELECT MIN(person_id) FROM source_records").at(0).Int(0);
  EXPECT_GE(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'source_record.link' AND person_id = " +
                  std::to_string(some_person)),
            1);

  auto again = linker_.Dedupe(ClientIndexPrincipal(), MatchOptions{}, false);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->persons_created, 0);
  EXPECT_EQ(again->records_linked, 0);
  EXPECT_EQ(again->review_queued, 0);
  EXPECT_EQ(again->review_known, report->review_queued);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM persons"), report->persons_created);
}

TEST_F(RegistryLinkerTest, ANewRecordOfAKnownPersonJoinsThatPerson) {
  registry::Person amara;
  amara.names = {{"official", "Amara", "Okonkwo"}};
  amara.birth_date = core::PartialDate{1984, 3, 7};
  amara.addresses = {{"home", "3 Station Road", "", "Ashford", "", "TN23 1PP", ""}};
  amara.identifiers = {{"national_id", "AB123456C", ""}};
  registry::Person ben;
  ben.names = {{"official", "Ben", "Ashby"}};
  ben.birth_date = core::PartialDate{1990, 5, 1};
  ben.addresses = {{"home", "1 Mill Lane", "", "Hythe", "", "CT21 5AA", ""}};
  ASSERT_TRUE(persons_.PutSourceRecords(ImportingSystem(), {{"A-1", amara}, {"A-2", ben}}, "test").ok());
  auto first = linker_.Dedupe(ClientIndexPrincipal(), MatchOptions{}, false);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->persons_created, 2);

  registry::Person amara_again = amara;
  amara_again.names = {{"official", "Amara", "Okonkow"}};  // a typo
  ASSERT_TRUE(persons_.PutSourceRecords(ImportingSystem(), {{"A-3", amara_again}}, "test").ok());
  auto second = linker_.Dedupe(ClientIndexPrincipal(), MatchOptions{}, false);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->persons_created, 0);
  EXPECT_EQ(second->records_linked, 1);
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT person_id) FROM source_records WHERE local_id IN ('A-1', 'A-3')"), 1);
}

// Someone registered at a desk (or through the API) has no source record: an agency's record of
// them later joins them instead of making a second person.
TEST_F(RegistryLinkerTest, AnAgencysRecordOfSomeoneRegisteredAtADeskJoinsThem) {
  registry::Person theo;
  theo.names = {{"official", "Theodora", "Quillfeather"}};
  theo.birth_date = core::PartialDate{1979, 11, 23};
  theo.addresses = {{"home", "8 Harbour View", "", "Ashford", "", "2600", ""}};
  theo.identifiers = {{"national_id", "QF987654Z", ""}};
  authz::Principal desk = ImportingSystem();
  desk.kind = authz::PrincipalKind::kStaff;
  desk.name = "desk";
  auto registered = persons_.Create(desk, theo);
  ASSERT_TRUE(registered.ok()) << registered.status().ToString();
  registry::Person other;
  other.names = {{"official", "Ben", "Ashby"}};
  other.birth_date = core::PartialDate{1990, 5, 1};
  ASSERT_TRUE(
      persons_.PutSourceRecords(ImportingSystem(), {{"BEN-QF-1", theo}, {"BEN-2", other}}, "test")
          .ok());
  auto report = linker_.Dedupe(ClientIndexPrincipal(), MatchOptions{}, false);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->registered, 1);
  EXPECT_EQ(report->records_linked, 2);
  EXPECT_EQ(report->persons_created, 1) << "only for Ben";
  EXPECT_EQ(Query("SELECT person_id FROM source_records WHERE local_id = 'BEN-QF-1'").at(0).Int(0),
            registered->id.value);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM persons"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'person.index_read'"), 1);
  // Theodora now has a record: the next run reads her through it.
  auto again = linker_.Dedupe(ClientIndexPrincipal(), MatchOptions{}, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->registered, 0);
  EXPECT_EQ(again->records_linked, 0);
}

TEST_F(RegistryLinkerTest, DryRunWritesNothing) {
  registry::Person p;
  p.names = {{"official", "Cleo", "Marsh"}};
  ASSERT_TRUE(persons_.PutSourceRecords(ImportingSystem(), {{"C-1", p}}, "test").ok());
  auto report = linker_.Dedupe(ClientIndexPrincipal(), MatchOptions{}, /*dry_run=*/true);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->persons_created, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM persons"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records WHERE person_id IS NOT NULL"), 0);
}

TEST_F(RegistryLinkerTest, LinkingARecordAlreadyLinkedFailsAndWritesNothing) {
  registry::Person p;
  p.names = {{"official", "Dev", "Patel"}};
  ASSERT_TRUE(persons_.PutSourceRecords(ImportingSystem(), {{"D-1", p}}, "test").ok());
  const core::SourceRecordId rec{Query("SELECT id FROM source_records").at(0).Int(0)};
  auto made = persons_.LinkSources(ClientIndexPrincipal(), std::nullopt, &p, {{rec, 12.5}}, "manual");
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  auto again = persons_.LinkSources(ClientIndexPrincipal(), std::nullopt, &p, {{rec, 12.5}}, "manual");
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM persons"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_record_links"), 1);
}

TEST_F(RegistryLinkerTest, WithoutTheScopeTheIndexReadsNothing) {
  authz::Principal who = ClientIndexPrincipal();
  who.scopes = {"persons:write"};
  auto report = linker_.Dedupe(who, MatchOptions{}, false);
  EXPECT_EQ(report.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'source_record.index_read' AND allowed = 0"), 1);
}

}  // namespace
}  // namespace identity
