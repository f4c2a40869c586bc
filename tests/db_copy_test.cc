// Moving a deployment between databases (`onedoor db copy`) and backing one up.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "app/app.h"
#include "app/demo_data.h"
#include "audit/audit_log.h"
#include "core/config.h"
#include "core/crypto.h"
#include "storage/copy.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "storage/sqlite/sqlite_database.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace {

using core::Status;
using core::StatusCode;
using testing_support::TempDir;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

std::unique_ptr<app::App> OpenApp(const std::string& db) {
  EXPECT_TRUE(core::InitCrypto().ok());
  core::Config config;
  config.db = db;
  config.read_connections = 2;
  auto app = app::App::Open(config, false);
  EXPECT_TRUE(app.ok()) << app.status().ToString();
  return app.ok() ? std::move(app).value() : nullptr;
}

int64_t Scalar(storage::Database& db, const std::string& sql) {
  int64_t n = -1;
  Status s = db.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(sql));
    n = rows.at(0).IsNull(0) ? 0 : rows.at(0).Int(0);
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return n;
}

authz::Principal Caseworker() {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{1};
  p.agency = core::AgencyId{1};
  p.name = "cw.copy";
  p.roles = {authz::Role::kCaseworker};
  p.purpose = authz::Purpose::kCaseWork;
  p.request_id = "req-copy";
  return p;
}

registry::Person NewPerson(const std::string& given, const std::string& family) {
  registry::Person p;
  p.names = {{"official", given, family}};
  return p;
}

std::unique_ptr<storage::Database> MigratedPostgres() {
  auto db = storage::OpenPostgres(testing_support::PostgresEnvironment::Cluster().NewMigratedDatabaseUrl(),
                                  {.connections = 2});
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  auto applied = storage::Migrate(**db, storage::OnedoorSchema());
  EXPECT_TRUE(applied.ok()) << applied.status().ToString();
  return std::move(db).value();
}

TEST(OnedoorTables, CoverEverySchemaTable) {
  TempDir dir;
  auto db = testing_support::NewMigratedSqlite(dir);
  std::set<std::string> listed(storage::OnedoorTables().begin(), storage::OnedoorTables().end());
  std::set<std::string> present;
  Status s = db->Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' "
                              "AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'"));
    for (const auto& r : rows) present.insert(r.Text(0));
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(listed, present);
}

TEST(DbCopy, SqliteDemoDataToPostgresThenOnedoorWorksOnTarget) {
  TempDir dir;
  const std::string sqlite_path = dir.File("demo.db");
  std::string url = testing_support::PostgresEnvironment::Cluster().NewDatabaseUrl();
  {
    auto source = OpenApp(sqlite_path);
    ASSERT_NE(source, nullptr);
    auto loaded = app::LoadDemoData(*source, 40);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  }
  auto from = storage::OpenSqlite(sqlite_path);
  ASSERT_TRUE(from.ok());
  auto to = storage::OpenPostgres(url, {.connections = 2});
  ASSERT_TRUE(to.ok()) << to.status().ToString();
  ASSERT_TRUE(storage::Migrate(**to, storage::OnedoorSchema()).ok());

  // Small batches, so that paging is exercised.
  auto report = storage::CopyDatabase(**from, **to, storage::OnedoorTables(), 7);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->tables.size(), storage::OnedoorTables().size());
  for (const auto& t : report->tables) {
    EXPECT_EQ(t.source_rows, t.target_rows) << t.table;
    EXPECT_EQ(t.target_rows, Scalar(**from, "SELECT COUNT(*) FROM " + t.table)) << t.table;
  }
  EXPECT_EQ(Scalar(**to, "SELECT COUNT(*) FROM persons"), 40);
  auto audit = audit::AuditLog::Verify(**to);
  ASSERT_TRUE(audit.ok()) << audit.status().ToString();
  EXPECT_TRUE(audit->ok) << audit->problem;
  EXPECT_EQ(audit->entries, Scalar(**from, "SELECT COUNT(*) FROM audit_log"));
  EXPECT_GT(audit->entries, 0);
  const int64_t max_person = Scalar(**to, "SELECT MAX(id) FROM persons");
  const int64_t max_history = Scalar(**to, "SELECT MAX(id) FROM person_history");
  const int64_t max_outbox = Scalar(**to, "SELECT MAX(id) FROM outbox");
  to->reset();

  auto target = OpenApp(url);
  ASSERT_NE(target, nullptr);
  auto created = target->persons().Create(Caseworker(), NewPerson("Nadia", "Copied"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_GT(created->id.value, max_person);
  EXPECT_GT(Scalar(target->db(), "SELECT MAX(id) FROM person_history"), max_history);
  EXPECT_GT(Scalar(target->db(), "SELECT MAX(id) FROM outbox"), max_outbox);
  auto after = audit::AuditLog::Verify(target->db());
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_TRUE(after->ok) << after->problem;
  EXPECT_GT(after->entries, audit->entries);
}

TEST(DbCopy, NonEmptyTargetFailsAndChangesNothing) {
  TempDir dir;
  auto source = OpenApp(dir.File("demo.db"));
  ASSERT_NE(source, nullptr);
  ASSERT_TRUE(app::LoadDemoData(*source, 5).ok());
  auto to = MigratedPostgres();
  Status s = to->Write([](storage::Transaction& tx) {
    return tx.Execute("INSERT INTO login_failures (username, at) VALUES ('someone', 1)").status();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();

  auto report = storage::CopyDatabase(source->db(), *to, storage::OnedoorTables());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("login_failures"), std::string::npos) << report.status().message();
  for (const std::string& t : storage::OnedoorTables()) {
    EXPECT_EQ(Scalar(*to, "SELECT COUNT(*) FROM " + t), t == "login_failures" ? 1 : 0) << t;
  }
}

TEST(Backup, SqliteBackupWhileWritingHasEveryAcknowledgedPerson) {
  TempDir dir;
  auto live = OpenApp(dir.File("live.db"));
  ASSERT_NE(live, nullptr);
  ASSERT_TRUE(app::LoadDemoData(*live, 40).ok());

  std::mutex mu;
  std::vector<int64_t> acknowledged;  // GUARDED_BY(mu)
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      auto p = live->persons().Create(Caseworker(), NewPerson("Writer", "Number" + std::to_string(i)));
      if (!p.ok()) {
        ++failures;
        continue;
      }
      std::lock_guard lock(mu);
      acknowledged.push_back(p->id.value);
    }
  });
  // Let the writer acknowledge some persons first, without sleeping on a clock.
  for (;;) {
    std::lock_guard lock(mu);
    if (acknowledged.size() >= 20) break;
  }
  std::vector<int64_t> before;
  {
    std::lock_guard lock(mu);
    before = acknowledged;
  }
  before.push_back(Scalar(live->db(), "SELECT MAX(id) FROM persons"));
  Status s = storage::BackupSqlite(dir.File("live.db"), dir.File("backup.db"));
  stop = true;
  writer.join();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(failures.load(), 0);

  auto backup = storage::OpenSqlite(dir.File("backup.db"));
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  std::set<int64_t> present;
  Status read = (*backup)->Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id FROM persons"));
    for (const auto& r : rows) present.insert(r.Int(0));
    return Status::Ok();
  });
  ASSERT_TRUE(read.ok()) << read.ToString();
  for (int64_t id = 1; id <= before.back(); ++id) EXPECT_TRUE(present.count(id)) << "person " << id;
  for (int64_t id : before) EXPECT_TRUE(present.count(id)) << "person " << id;
  auto audit = audit::AuditLog::Verify(**backup);
  ASSERT_TRUE(audit.ok()) << audit.status().ToString();
  EXPECT_TRUE(audit->ok) << audit->problem;
  EXPECT_GT(audit->entries, 0);
}

// The PostgreSQL procedure of docs/operators.md, "Backing up PostgreSQL": pg_dump while the
// deployment runs, pg_restore into a new database, and the restored database has every row and
// an intact audit chain, and takes new records.
TEST(Backup, AFailedBackupLeavesNoNewFileBehind) {
  // SQLite would open an empty file left behind as an empty database: someone could take it for
  // a backup. The source here is not a database, so the copy fails part-way.
  testing_support::TempDir dir;
  {
    std::ofstream text(dir.File("notes.txt"));
    text << std::string(8192, 'x');
  }
  Status s = storage::BackupSqlite(dir.File("notes.txt"), dir.File("backup.db"));
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(std::filesystem::exists(dir.File("backup.db")));
  // A file that was there before is left as it was.
  { std::ofstream old(dir.File("kept.db")); }
  ASSERT_FALSE(storage::BackupSqlite(dir.File("notes.txt"), dir.File("kept.db")).ok());
  EXPECT_TRUE(std::filesystem::exists(dir.File("kept.db")));
}

TEST(Backup, PostgresDumpAndRestoreKeepEveryRowAndTheAuditChain) {
  TempDir dir;
  auto& cluster = testing_support::PostgresEnvironment::Cluster();
  const std::string source_url = cluster.NewDatabaseUrl();
  auto live = OpenApp(source_url);
  ASSERT_NE(live, nullptr);
  ASSERT_TRUE(app::LoadDemoData(*live, 30).ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(live->persons().Create(Caseworker(), NewPerson("Dumped", "Person" + std::to_string(i))).ok());
  }

  const std::string bindir = "/usr/lib/postgresql/15/bin";
  const std::string dump = dir.File("onedoor.dump");
  ASSERT_EQ(std::system((bindir + "/pg_dump -Fc -f '" + dump + "' '" + source_url + "'").c_str()), 0);
  const std::string restored_url = cluster.NewDatabaseUrl();
  ASSERT_EQ(std::system((bindir + "/pg_restore --no-owner -d '" + restored_url + "' '" + dump + "'").c_str()), 0);

  auto restored = OpenApp(restored_url);
  ASSERT_NE(restored, nullptr);
  for (const std::string& t : storage::OnedoorTables()) {
    EXPECT_EQ(Scalar(restored->db(), "SELECT COUNT(*) FROM " + t), Scalar(live->db(), "SELECT COUNT(*) FROM " + t))
        << t;
  }
  auto audit = audit::AuditLog::Verify(restored->db());
  ASSERT_TRUE(audit.ok()) << audit.status().ToString();
  EXPECT_TRUE(audit->ok) << audit->problem;
  EXPECT_EQ(audit->entries, Scalar(live->db(), "SELECT COUNT(*) FROM audit_log"));
  // The sequences came along: a new person gets a fresh id.
  auto added = restored->persons().Create(Caseworker(), NewPerson("After", "Restore"));
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_GT(added->id.value, Scalar(live->db(), "SELECT MAX(id) FROM persons"));
}

}  // namespace
