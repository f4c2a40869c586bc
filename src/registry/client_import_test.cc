#include "registry/client_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/clock.h"
#include "exchange/outbox.h"
#include "tests/testing/testing.h"

namespace registry {
namespace {

using core::Status;
using core::StatusCode;
using ::testing::HasSubstr;

authz::Principal AgencySystem() {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kSystem;
  p.user = core::UserId{0};
  p.agency = core::AgencyId{1};
  p.name = "housing-sync";
  p.roles = {authz::Role::kCaseworker};
  p.scopes = {"source-records:write"};
  p.purpose = authz::Purpose::kCaseWork;
  p.request_id = "import-1";
  return p;
}

constexpr const char* kMapping = R"(# Harbour Trust client list
local_id: client_no
date_format: DD/MM/YYYY
values:
  sex: {F: female, M: male}
fields:
  given: first_name
  family: surname
  birth_date: dob
  sex: gender
  address.line1: [house, street]
  address.postcode: zip
  identifier.national_id: nin
)";

constexpr const char* kFile =
    "client_no,first_name,surname,dob,gender,house,street,zip,nin\n"
    "H-1,Amara,Okonkwo,07/03/1984,F,3,Station Road,TN23 1PP,AB123456C\n"
    "H-2,Ben,Ashby,31/02/1990,M,1,Mill Lane,TN24 2AA,\n"          // no such date
    "H-3,Cleo,Marsh,01/01/2001,X,2,High Street,TN25 3BB,\n"        // unknown sex code
    "H-4,Dev,Patel,12/12/1975\n"                                   // too few fields
    "H-1,Amara,Okonkwo,07/03/1984,F,3,Station Road,TN23 1PP,\n"    // the same id again
    ",Eve,Stone,05/05/1965,F,9,Quay,TN26 4CC,\n"                    // no id
    "H-5,\"Fern, Jr\",Hill,,F,,,,\n";

class ClientImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) {
                    return tx.Execute("INSERT INTO agencies (code,name,kind,created_at) VALUES ('h','Harbour','nonprofit',0)")
                        .status();
                  }).ok());
    auto m = ImportMapping::Parse(kMapping, "harbour.yaml");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    mapping_ = *m;
  }
  core::StatusOr<ImportSummary> Import(const std::string& text, std::string* rejects = nullptr) {
    std::istringstream in(text);
    std::ostringstream out;
    auto s = ImportClients(persons_, AgencySystem(), mapping_, in, out, {.batch = 2, .source_name = "clients.csv"});
    if (rejects) *rejects = out.str();
    return s;
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
  std::unique_ptr<storage::Database> db_ = testing_support::NewMigratedSqlite(dir_);
  core::FakeClock clock_;
  authz::AccessGate gate_;
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  PersonService persons_{*db_, gate_, audit_, outbox_, clock_};
  ImportMapping mapping_;
};

TEST(ImportMapping, ErrorsNameFileLineAndKey) {
  auto unknown = ImportMapping::Parse("local_id: id\nfields:\n  given: a\n  nickname: b\n", "m.yaml");
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("m.yaml:4: 'fields.nickname' is not a target"));
  auto no_id = ImportMapping::Parse("fields:\n  given: a\n", "m.yaml");
  EXPECT_THAT(no_id.status().message(), HasSubstr("m.yaml: 'local_id' is required"));
  auto format = ImportMapping::Parse("local_id: id\ndate_format: D/M/Y\nfields: {given: a}\n", "m.yaml");
  EXPECT_THAT(format.status().message(), HasSubstr("m.yaml:2: 'date_format' must be one of"));
  auto yaml = ImportMapping::Parse("local_id: [unclosed\n", "m.yaml");
  EXPECT_THAT(yaml.status().message(), HasSubstr("m.yaml:"));
  auto setting = ImportMapping::Parse("local_id: id\nsheet: 2\nfields: {given: a}\n", "m.yaml");
  EXPECT_THAT(setting.status().message(), HasSubstr("m.yaml:2: 'sheet' is not a mapping setting"));
  auto recoded = ImportMapping::Parse(
      "local_id: id\nvalues:\n  sex: {F: female, X: mail}\nfields: {given: a, sex: g}\n", "m.yaml");
  EXPECT_THAT(
      recoded.status().message(),
      HasSubstr(
          "m.yaml:3: 'values.sex.X' is 'mail', which a record cannot have: it must be one of"));
}

TEST(DateInFormat, ParsesEachFormatAndRefusesImpossibleDates) {
  EXPECT_EQ(ParseDateInFormat("07/03/1984", "DD/MM/YYYY")->ToString(), "1984-03-07");
  EXPECT_EQ(ParseDateInFormat("03/07/1984", "MM/DD/YYYY")->ToString(), "1984-03-07");
  EXPECT_EQ(ParseDateInFormat("19840307", "YYYYMMDD")->ToString(), "1984-03-07");
  EXPECT_EQ(ParseDateInFormat("07.03.1984", "DD.MM.YYYY")->ToString(), "1984-03-07");
  EXPECT_THAT(ParseDateInFormat("1984-3-7", "YYYY-MM-DD").status().message(), HasSubstr("format YYYY-MM-DD"));
  EXPECT_THAT(ParseDateInFormat("31/02/1990", "DD/MM/YYYY").status().message(), HasSubstr("not a date that exists"));
}

TEST_F(ClientImportTest, GoodRowsAreStoredAndEveryBadRowIsRejectedWithItsLineAndReason) {
  std::string rejects;
  auto s = Import(kFile, &rejects);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->rows, 7);
  EXPECT_EQ(s->created, 2);
  EXPECT_EQ(s->rejected, 5);
  EXPECT_EQ(s->rows, s->created + s->updated + s->unchanged + s->rejected);
  EXPECT_EQ(rejects,
            "line,reason,record\n"
            "3,column dob: is not a date that exists,"
            "\"H-2,Ben,Ashby,31/02/1990,M,1,Mill Lane,TN24 2AA,\"\n"
            "4,column gender: a value not listed under values.sex in the mapping,"
            "\"H-3,Cleo,Marsh,01/01/2001,X,2,High Street,TN25 3BB,\"\n"
            "5,has 4 fields where the header has 9,\"H-4,Dev,Patel,12/12/1975\"\n"
            "6,column client_no: the same id is already on line 2,"
            "\"H-1,Amara,Okonkwo,07/03/1984,F,3,Station Road,TN23 1PP,\"\n"
            "7,column client_no: the agency's id must be 1 to 64 characters,\",Eve,Stone,05/05/1965,F,9,Quay,TN26 4CC,\"\n");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'source_record.updated'"), 2);
  // One audit entry per batch, naming the file and lines but no personal data.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'source_record.import'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE record_id LIKE '%Okonkwo%'"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records WHERE data LIKE '%\"family\":\"Okonkwo\"%' "
                  "AND data LIKE '%\"birth_date\":\"1984-03-07\"%' AND data LIKE '%\"line1\":\"3 Station Road\"%'"),
            1);
}

TEST_F(ClientImportTest,
       ADateOfBirthInTheFutureOrTooLongAgoIsRejectedWithItsLineAndTheRestIsStored) {
  // Checked as a single create checks it; it once reached the batch, which refused it whole.
  std::string rejects;
  auto s = Import(
      "client_no,first_name,surname,dob,gender,house,street,zip,nin\n"
      "H-1,Amara,Okonkwo,07/03/1984,F,3,Station Road,TN23 1PP,\n"
      "H-2,Ben,Ashby,11/02/2937,M,1,Mill Lane,TN24 2AA,\n"
      "H-3,Cleo,Marsh,01/01/1801,F,2,High Street,TN25 3BB,\n",
      &rejects);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->created, 1);
  EXPECT_EQ(s->rejected, 2);
  EXPECT_EQ(rejects,
            "line,reason,record\n"
            "3,column dob: is in the future,\"H-2,Ben,Ashby,11/02/2937,M,1,Mill Lane,TN24 2AA,\"\n"
            "4,column dob: is more than 130 years ago: check the year,"
            "\"H-3,Cleo,Marsh,01/01/1801,F,2,High Street,TN25 3BB,\"\n");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records"), 1);
}

TEST_F(ClientImportTest, EveryProblemOfARowIsNamedByItsOwnColumn) {
  // A postcode too long was blamed on the street, a given name on the surname, and only the
  // first problem of a row was named, so that a corrected file was refused again.
  std::string rejects;
  const std::string zip(300, '9');
  auto s = Import(
      "client_no,first_name,surname,dob,gender,house,street,zip,nin\n"
      "H-1,\"Ama\tra\",Okonkwo,07/03/2984,F,3,Station Road," +
          zip + ",\n",
      &rejects);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->rejected, 1);
  const std::string reason = rejects.substr(rejects.find('\n') + 1);
  EXPECT_THAT(reason, ::testing::HasSubstr("column first_name: "));
  EXPECT_THAT(reason, ::testing::HasSubstr("column dob: is in the future"));
  EXPECT_THAT(reason, ::testing::HasSubstr("column zip: "));
  EXPECT_THAT(reason, ::testing::Not(::testing::HasSubstr("column surname")));
  EXPECT_THAT(reason, ::testing::Not(::testing::HasSubstr("house+street")));
  EXPECT_EQ(reason.find(zip),
            reason.rfind(zip));  // the value only in the record, never in the reason
}

// A sex code the mapping does not list, or a date that does not exist, is named with the row's
// other problems, not instead of them.
TEST_F(ClientImportTest, AnUnlistedCodeOrAnImpossibleDateIsNamedWithTheRowsOtherProblems) {
  std::string rejects;
  const std::string zip(300, '9');
  auto s = Import(
      "client_no,first_name,surname,dob,gender,house,street,zip,nin\n"
      "H-1,\"Ama\tra\",Okonkwo,31/02/1980,X,3,Station Road," +
          zip + ",\n",
      &rejects);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->rejected, 1);
  const std::string reason = rejects.substr(rejects.find('\n') + 1);
  EXPECT_THAT(reason, ::testing::HasSubstr("column gender: a value not listed under values.sex"));
  EXPECT_THAT(reason, ::testing::HasSubstr("column dob: "));
  EXPECT_THAT(reason, ::testing::HasSubstr("column first_name: "));
  EXPECT_THAT(reason, ::testing::HasSubstr("column zip: "));
}

TEST_F(ClientImportTest, ReimportingTheSameFileChangesNothingAndAChangedRowUpdates) {
  ASSERT_TRUE(Import(kFile).ok());
  const int64_t events = Count("SELECT COUNT(*) FROM outbox");
  auto again = Import(kFile);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->created, 0);
  EXPECT_EQ(again->updated, 0);
  EXPECT_EQ(again->unchanged, 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox"), events);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records"), 2);

  std::string moved = kFile;
  moved.replace(moved.find("3,Station Road"), 14, "8,Harbour View");
  auto third = Import(moved);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->updated, 1);
  EXPECT_EQ(third->unchanged, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records WHERE data LIKE '%8 Harbour View%'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox"), events + 1);
}

TEST_F(ClientImportTest, AMappedColumnMissingFromTheHeaderStopsBeforeAnyWrite) {
  auto s = Import("client_no,first_name,surname\nH-1,Amara,Okonkwo\n");
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "harbour.yaml:9: 'fields.birth_date' names the column 'dob', which is not in the "
            "file's header (its "
            "columns: 'client_no', 'first_name', 'surname')");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records"), 0);
}

// A batch the database refuses (here a trigger, as a full disk or a lock would) stops the
// import: the batches before it are stored, the message says which lines are not, and running
// the import again finishes it.
TEST_F(ClientImportTest, AnImportStoppedPartWaySaysHowFarItGotAndARerunFinishesIt) {
  const std::string file =
      "client_no,first_name,surname,dob,gender,house,street,zip,nin\n"
      "H-1,Amara,Okonkwo,,F,,,,\nH-2,Bo,Lind,,M,,,,\nH-3,Cy,Moss,,M,,,,\nH-4,Di,Nash,,F,,,,\n";
  ASSERT_TRUE(db_->Write([](storage::Transaction& tx) {
                   return tx
                       .Execute(
                           "CREATE TRIGGER stop_h3 BEFORE INSERT ON source_records "
                           "WHEN NEW.local_id = 'H-3' BEGIN SELECT RAISE(ABORT, 'disk full'); END")
                       .status();
                 })
                  .ok());
  auto stopped = Import(file);
  ASSERT_FALSE(stopped.ok());
  EXPECT_THAT(stopped.status().message(),
              HasSubstr("the import stopped at lines 4-5, which are not stored"));
  EXPECT_THAT(
      stopped.status().message(),
      HasSubstr(
          "The lines before line 4 are stored (2 created, 0 updated, 0 unchanged); run the import "
          "again to finish it"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records"), 2);
  ASSERT_TRUE(db_->Write([](storage::Transaction& tx) {
                   return tx.Execute("DROP TRIGGER stop_h3").status();
                 })
                  .ok());
  auto again = Import(file);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->created, 2);
  EXPECT_EQ(again->unchanged, 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records"), 4);
}

TEST_F(ClientImportTest, BatchWithAnInvalidRecordWritesNothing) {
  Person bad;  // no name
  Person good;
  good.names = {{"official", "Ann", "Lee"}};
  auto s = persons_.PutSourceRecords(AgencySystem(), {{"X-1", good}, {"X-2", bad}, {"X-1", good}}, "api");
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : s.status().fields()) fields.push_back(f.field);
  EXPECT_THAT(fields, ::testing::ElementsAre("records/1/person/names", "records/2/local_id"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log"), 0);
}

TEST_F(ClientImportTest, FebrlFileImportsWithTheShippedMapping) {
  auto m = ImportMapping::Load(std::string(ONEDOOR_SOURCE_DIR) + "/docs/examples/febrl-mapping.yaml");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  mapping_ = *m;
  std::ifstream in(std::string(ONEDOOR_SOURCE_DIR) + "/third_party/febrl/dataset4a.csv");
  ASSERT_TRUE(in) << "the FEBRL data set is missing";
  std::ostringstream rejects;
  auto s = ImportClients(persons_, AgencySystem(), mapping_, in, rejects, {.batch = 500, .source_name = "4a"});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->rows, 5000);
  EXPECT_EQ(s->created, 4999);
  // One FEBRL record has neither a given name nor a surname.
  EXPECT_EQ(rejects.str(),
            "line,reason,record\n"
            "3778,column surname: enter the family name or the given name,"
            "\"rec-725-org, , , 1, william street, woodsong, nickol, 6149, qld, 19000430, 6432290\"\n");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records"), 4999);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_records WHERE local_id = 'rec-1070-org' AND "
                  "data LIKE '%\"line1\":\"8 stanley street\"%' AND data LIKE '%\"birth_date\":\"1915-11-11\"%'"),
            1);
}

}  // namespace
}  // namespace registry
