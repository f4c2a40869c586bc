#include "cases/document_service.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/crypto.h"
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

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

authz::Principal Staff(authz::Role role, const std::string& name) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{role == authz::Role::kFrontdesk ? 32 : 31};
  p.agency = core::AgencyId{1};
  p.name = name;
  p.roles = {role};
  p.purpose = role == authz::Role::kFrontdesk ? authz::Purpose::kFrontDesk : authz::Purpose::kCaseWork;
  return p;
}

const authz::Principal kWorker = Staff(authz::Role::kCaseworker, "caseworker.city");
const authz::Principal kDesk = Staff(authz::Role::kFrontdesk, "frontdesk.city");

// A small PDF whose bytes include NULs and high bytes, to show that they come back exactly.
std::string Pdf() {
  std::string s = "%PDF-1.4\n";
  for (int i = 0; i < 3000; ++i) s.push_back(static_cast<char>(i % 256));
  return s + "\n%%EOF\n";
}

class DocumentTest : public ::testing::TestWithParam<std::string> {
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
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) {
                     return tx.Execute("INSERT INTO agencies (code, name, kind, created_at) VALUES ('city-social', "
                                       "'City', 'government', 0)")
                         .status();
                   })
                    .ok());
    persons_ = std::make_unique<registry::PersonService>(*db_, gate_, audit_, outbox_, clock_);
    documents_ = std::make_unique<DocumentService>(*db_, authz::DataCategories::Builtin(), gate_, audit_, outbox_,
                                                   clock_, DocumentOptions{64 * 1024});
    registry::Person p;
    p.names = {{"official", "Ana", "Papers"}};
    auto created = persons_->Create(kWorker, p);
    ASSERT_TRUE(created.ok());
    ana_ = created->id;
  }

  NewDocument Payslip() const { return {ana_, std::nullopt, "payslip", "income", "payslip-march.pdf", "application/pdf", Pdf()}; }

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
  std::unique_ptr<registry::PersonService> persons_;
  std::unique_ptr<DocumentService> documents_;
  core::PersonId ana_;
};

TEST_P(DocumentTest, AnUploadKeepsTheExactBytesWithTheirChecksumAndIsAudited) {
  auto doc = documents_->Upload(kWorker, Payslip());
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->size, static_cast<int64_t>(Pdf().size()));
  EXPECT_EQ(doc->sha256, core::Sha256Hex(Pdf()));
  EXPECT_EQ(doc->category_label, "Income");
  EXPECT_EQ(doc->uploaded_by, "caseworker.city");
  auto list = documents_->ForPerson(kWorker, ana_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->first.size(), 1u);
  EXPECT_EQ(list->second, 0);
  auto content = documents_->Content(kWorker, doc->id);
  ASSERT_TRUE(content.ok()) << content.status().ToString();
  EXPECT_EQ(content->second, Pdf());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action IN ('document.upload', 'document.download') AND "
                  "allowed = 1"),
            2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'document.uploaded'"), 1);
  // A stored document that no longer matches its checksum is reported, not served.
  ASSERT_TRUE(db_->Write([&](storage::Transaction& tx) {
                   return tx.Execute("UPDATE documents SET content = ? WHERE id = ?",
                                     {std::string("JVBERi0xLjQK"), doc->id})
                       .status();
                 })
                  .ok());
  EXPECT_EQ(documents_->Content(kWorker, doc->id).status().code(), StatusCode::kDataLoss);
}

TEST_P(DocumentTest, EveryWrongFieldIsNamedAndNothingIsStored) {
  NewDocument bad{ana_, int64_t{999}, "selfie", "hobbies", "../etc/passwd", "image/gif", ""};
  auto refused = documents_->Upload(kWorker, bad);
  ASSERT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : refused.status().fields()) fields.push_back(f.field);
  EXPECT_THAT(fields, ElementsAre("kind", "category", "file_name", "media_type", "content", "application_id"));
  NewDocument big = Payslip();
  big.content += std::string(64 * 1024, 'x');
  EXPECT_THAT(documents_->Upload(kWorker, big).status().fields().at(0).message, HasSubstr("the limit is 64 KiB"));
  NewDocument lying = Payslip();
  lying.media_type = "image/png";
  EXPECT_EQ(documents_->Upload(kWorker, lying).status().fields().at(0).message, "the file is not a PNG file");
  // The name's ending must be the type's, whatever its case; a name without one is taken.
  NewDocument disguised = Payslip();
  disguised.file_name = "payslip.pdf.exe";
  auto named = documents_->Upload(kWorker, disguised).status();
  ASSERT_EQ(named.fields().size(), 1u);
  EXPECT_EQ(named.fields()[0].field, "file_name");
  EXPECT_EQ(named.fields()[0].message, "the name ends in .exe, but the file is a PDF: name it with .pdf");
  NewDocument photo = Payslip();
  photo.file_name = "scan.JPG";
  EXPECT_EQ(documents_->Upload(kWorker, photo).status().fields().at(0).message,
            "the name ends in .JPG, but the file is a PDF: name it with .pdf");
  EXPECT_EQ(documents_->Upload(kWorker, NewDocument{core::PersonId{777}, std::nullopt, "payslip", "income", "a.pdf",
                                                    "application/pdf", Pdf()})
                .status()
                .code(),
            StatusCode::kNotFound);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM documents"), 0);
  NewDocument plain = Payslip();
  plain.file_name = "PAYSLIP";
  EXPECT_TRUE(documents_->Upload(kWorker, plain).ok());
  NewDocument upper = Payslip();
  upper.file_name = "Payslip.PDF";
  EXPECT_TRUE(documents_->Upload(kWorker, upper).ok());
}

TEST_P(DocumentTest, ACategoryTheGateWithholdsHidesTheDocumentAndItsContent) {
  NewDocument note = Payslip();
  note.kind = "letter";
  note.category = "case_notes";  // black-class: caseworkers of the holding agency only
  auto doc = documents_->Upload(kWorker, note);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  ASSERT_TRUE(documents_->Upload(kWorker, Payslip()).ok());
  auto seen = documents_->ForPerson(kDesk, ana_);
  ASSERT_TRUE(seen.ok());
  ASSERT_EQ(seen->first.size(), 1u);
  EXPECT_EQ(seen->first[0].category, "income");
  EXPECT_EQ(seen->second, 1);
  EXPECT_EQ(documents_->Content(kDesk, doc->id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'document.download' AND allowed = 0"), 1);
  // Nor may the front desk file a document in it.
  auto filed = documents_->Upload(kDesk, note);
  ASSERT_EQ(filed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(filed.status().fields().at(0).message, HasSubstr("withheld from you"));
}

INSTANTIATE_TEST_SUITE_P(Databases, DocumentTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cases
