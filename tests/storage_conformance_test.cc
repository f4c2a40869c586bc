// The storage conformance suite: the behaviour every storage::Database backend must have.
// Each test runs against every backend in kBackends; adding PostgreSQL is one more line there.
// Only the portable SQL subset is used (see storage/database.h).

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <latch>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/status.h"
#include "storage/database.h"
#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/sqlite/sqlite_database.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace storage {
namespace {

using core::Status;
using core::StatusCode;
using testing_support::TempDir;

struct BackendFactory {
  std::string name;
  // Opens (creating if needed) the same database each time it is given the same directory.
  std::function<std::unique_ptr<Database>(const std::string& dir)> open;
};

std::unique_ptr<Database> OpenSqliteIn(const std::string& dir) {
  auto db = OpenSqlite(dir + "/conformance.db", {.read_connections = 2});
  if (!db.ok()) throw std::runtime_error(db.status().ToString());
  return std::move(db).value();
}

// One database of the binary's PostgreSQL cluster per directory, created on first use.
std::unique_ptr<Database> OpenPostgresIn(const std::string& dir) {
  static std::mutex mu;
  static std::map<std::string, std::string> urls;  // GUARDED_BY(mu)
  std::string url;
  {
    std::lock_guard lock(mu);
    auto it = urls.find(dir);
    if (it == urls.end()) {
      it = urls.emplace(dir, testing_support::PostgresEnvironment::Cluster().NewDatabaseUrl()).first;
    }
    url = it->second;
  }
  auto db = OpenPostgres(url, {.connections = 4});
  if (!db.ok()) throw std::runtime_error(db.status().ToString());
  return std::move(db).value();
}

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

void PrintTo(const BackendFactory& f, std::ostream* os) { *os << f.name; }

const BackendFactory kBackends[] = {
    {"Sqlite", OpenSqliteIn},
    {"Postgres", OpenPostgresIn},
};

// The suite's own schema, independent of onedoor's.
std::vector<Migration> TestMigrations() {
  return {
      // DOUBLE PRECISION, not REAL: REAL is an 8-byte float in SQLite but a 4-byte one in
      // PostgreSQL (and the SQL standard), which cannot hold 1e300 nor keep 17 digits.
      {1, "kv", "CREATE TABLE kv (id {{id}}, k TEXT NOT NULL UNIQUE, v TEXT, n BIGINT, r DOUBLE PRECISION);"},
      {2, "child",
       "CREATE TABLE child (id {{id}}, kv_id BIGINT NOT NULL REFERENCES kv (id), note TEXT);\n"
       "CREATE INDEX child_kv ON child (kv_id);"},
  };
}

class StorageConformance : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override {
    db_ = Open();
    auto applied = Migrate(*db_, TestMigrations());
    ASSERT_TRUE(applied.ok()) << applied.status().ToString();
    ASSERT_EQ(*applied, 2);
  }

  std::unique_ptr<Database> Open() { return GetParam().open(dir_.path().string()); }

  // Rows in `table`, read through a fresh snapshot.
  int64_t Count(const std::string& table = "kv") {
    int64_t n = -1;
    Status s = db_->Read([&](Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT COUNT(*) FROM " + table));
      n = rows.at(0).Int(0);
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return n;
  }

  std::set<std::string> Keys() {
    std::set<std::string> keys;
    Status s = db_->Read([&](Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT k FROM kv"));
      for (const Row& row : rows) keys.insert(row.Text(0));
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return keys;
  }

  Status Insert(const std::string& k, Value v = Null{}) {
    return db_->Write([&](Transaction& tx) -> Status {
      return tx.Execute("INSERT INTO kv (k, v) VALUES (?, ?)", {k, v}).status();
    });
  }

  TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_P(StorageConformance, ValuesRoundTripWithTheirTypes) {
  std::string unicode = "Zo\xC3\xAB \xE2\x80\x94 \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x8F\xA0 'quoted' \"double\" \\ % _";
  // Every ASCII byte except NUL, including control characters: valid UTF-8, so portable to a
  // backend that checks text encoding.
  std::string bytes;
  for (int c = 1; c < 128; ++c) bytes += static_cast<char>(c);
  std::string big(1 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);

  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  struct Case {
    std::string k;
    Value v;
    Value n;
    Value r;
  };
  const std::vector<Case> cases = {
      {"nulls", Null{}, Null{}, Null{}},
      {"min", std::string(""), kMin, -1.5e300},
      {"max", unicode, kMax, 3.141592653589793},
      {"zero", bytes, int64_t{0}, 0.1},
      {"neg", big, int64_t{-1}, -2.0},
  };
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> Status {
                   for (const Case& c : cases) {
                     RETURN_IF_ERROR(
                         tx.Execute("INSERT INTO kv (k, v, n, r) VALUES (?, ?, ?, ?)", {c.k, c.v, c.n, c.r}).status());
                   }
                   return Status::Ok();
                 }).ok());
  ASSERT_TRUE(db_->Read([&](Transaction& tx) -> Status {
                   for (const Case& c : cases) {
                     ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT v, n, r FROM kv WHERE k = ?", {c.k}));
                     EXPECT_EQ(rows.size(), 1u) << c.k;
                     if (rows.size() != 1) continue;
                     EXPECT_EQ(rows[0].size(), 3u);
                     EXPECT_TRUE(rows[0].at(0) == c.v) << c.k << " v";
                     EXPECT_TRUE(rows[0].at(1) == c.n) << c.k << " n";
                     EXPECT_TRUE(rows[0].at(2) == c.r) << c.k << " r";
                   }
                   return Status::Ok();
                 }).ok());
  // Parameters compare by value too: the 1 MB text and the unicode text find their rows.
  ASSERT_TRUE(db_->Read([&](Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT k FROM kv WHERE v = ?", {big}));
                   EXPECT_EQ(rows.size(), 1u);
                   ASSIGN_OR_RETURN(Rows rows2, tx.Query("SELECT k, n FROM kv WHERE v = ? AND n = ?", {unicode, kMax}));
                   EXPECT_EQ(rows2.size(), 1u);
                   if (!rows2.empty()) {
                     EXPECT_EQ(rows2[0].Text(0), "max");
                   }
                   return Status::Ok();
                 }).ok());
}

TEST_P(StorageConformance, TransactionsReportTheBackendDialect) {
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> Status {
                   EXPECT_EQ(tx.dialect(), db_->dialect());
                   return Status::Ok();
                 }).ok());
  ASSERT_TRUE(db_->Read([&](Transaction& tx) -> Status {
                   EXPECT_EQ(tx.dialect(), db_->dialect());
                   return Status::Ok();
                 }).ok());
}

TEST_P(StorageConformance, ExecuteReturnsRowsChanged) {
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> Status {
                   for (int i = 0; i < 5; ++i) {
                     ASSIGN_OR_RETURN(int64_t n, tx.Execute("INSERT INTO kv (k, n) VALUES (?, ?)",
                                                            {"k" + std::to_string(i), int64_t{i}}));
                     EXPECT_EQ(n, 1);
                   }
                   ASSIGN_OR_RETURN(int64_t updated, tx.Execute("UPDATE kv SET v = ? WHERE n >= ?", {"x", int64_t{2}}));
                   EXPECT_EQ(updated, 3);
                   ASSIGN_OR_RETURN(int64_t none, tx.Execute("UPDATE kv SET v = ? WHERE n > ?", {"y", int64_t{100}}));
                   EXPECT_EQ(none, 0);
                   ASSIGN_OR_RETURN(int64_t deleted, tx.Execute("DELETE FROM kv WHERE n < ?", {int64_t{2}}));
                   EXPECT_EQ(deleted, 2);
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(Count(), 3);
}

TEST_P(StorageConformance, InsertReturningGivesTheNewId) {
  int64_t first = 0;
  int64_t second = 0;
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(Rows a, tx.Query("INSERT INTO kv (k) VALUES (?) RETURNING id", {"a"}));
                   ASSIGN_OR_RETURN(Rows b, tx.Query("INSERT INTO kv (k) VALUES (?) RETURNING id, k", {"b"}));
                   EXPECT_EQ(a.size(), 1u);
                   EXPECT_EQ(b.size(), 1u);
                   if (a.size() != 1 || b.size() != 1) return Status::Internal("no row returned");
                   first = a[0].Int(0);
                   second = b[0].Int(0);
                   EXPECT_EQ(b[0].Text(1), "b");
                   return Status::Ok();
                 }).ok());
  EXPECT_GT(first, 0);
  EXPECT_GT(second, first);
  ASSERT_TRUE(db_->Read([&](Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT k FROM kv WHERE id = ?", {second}));
                   EXPECT_EQ(rows.size(), 1u);
                   if (!rows.empty()) {
                     EXPECT_EQ(rows[0].Text(0), "b");
                   }
                   return Status::Ok();
                 }).ok());
}

TEST_P(StorageConformance, FailingWriteLeavesNothing) {
  ASSERT_TRUE(Insert("before").ok());
  Status s = db_->Write([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO kv (k) VALUES (?)", {"lost"}).status());
    return Status::NotFound("no such referral");
  });
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "no such referral");
  EXPECT_EQ(Keys(), std::set<std::string>{"before"});
}

TEST_P(StorageConformance, WriteFailingAfterSeveralChangesLeavesNothing) {
  ASSERT_TRUE(Insert("keep", std::string("original")).ok());
  Status s = db_->Write([&](Transaction& tx) -> Status {
    for (int i = 0; i < 10; ++i) {
      ASSIGN_OR_RETURN(Rows r, tx.Query("INSERT INTO kv (k) VALUES (?) RETURNING id", {"lost" + std::to_string(i)}));
      RETURN_IF_ERROR(tx.Execute("INSERT INTO child (kv_id, note) VALUES (?, ?)", {r.at(0).Int(0), "c"}).status());
    }
    RETURN_IF_ERROR(tx.Execute("UPDATE kv SET v = ? WHERE k = ?", {"changed", "keep"}).status());
    RETURN_IF_ERROR(
        tx.Execute("DELETE FROM child WHERE kv_id = (SELECT id FROM kv WHERE k = ?)", {"lost3"}).status());
    RETURN_IF_ERROR(tx.Execute("DELETE FROM kv WHERE k = ?", {"lost3"}).status());
    return Status::Aborted("changed my mind");
  });
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_EQ(Keys(), std::set<std::string>{"keep"});
  EXPECT_EQ(Count("child"), 0);
  ASSERT_TRUE(db_->Read([&](Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT v FROM kv WHERE k = ?", {"keep"}));
                   EXPECT_EQ(rows.at(0).Text(0), "original");
                   return Status::Ok();
                 }).ok());
}

TEST_P(StorageConformance, UniqueViolationIsAlreadyExists) {
  ASSERT_TRUE(Insert("dup").ok());
  Status s = db_->Write([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO kv (k) VALUES (?)", {"fresh"}).status());
    return tx.Execute("INSERT INTO kv (k) VALUES (?)", {"dup"}).status();
  });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  EXPECT_EQ(Keys(), std::set<std::string>{"dup"});
}

TEST_P(StorageConformance, PrimaryKeyViolationIsAlreadyExists) {
  Status s = db_->Write([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO kv (id, k) VALUES (?, ?)", {int64_t{7}, "a"}).status());
    return tx.Execute("INSERT INTO kv (id, k) VALUES (?, ?)", {int64_t{7}, "b"}).status();
  });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  EXPECT_EQ(Count(), 0);
}

TEST_P(StorageConformance, ForeignKeyViolationIsFailedPrecondition) {
  Status s = db_->Write([&](Transaction& tx) -> Status {
    return tx.Execute("INSERT INTO child (kv_id, note) VALUES (?, ?)", {int64_t{12345}, "orphan"}).status();
  });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(Count("child"), 0);

  // Deleting a parent that still has children is refused the same way.
  int64_t parent = 0;
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(Rows r, tx.Query("INSERT INTO kv (k) VALUES (?) RETURNING id", {"parent"}));
                   parent = r.at(0).Int(0);
                   return tx.Execute("INSERT INTO child (kv_id) VALUES (?)", {parent}).status();
                 }).ok());
  Status del = db_->Write([&](Transaction& tx) -> Status {
    return tx.Execute("DELETE FROM kv WHERE id = ?", {parent}).status();
  });
  EXPECT_EQ(del.code(), StatusCode::kFailedPrecondition) << del.ToString();
  EXPECT_EQ(Count(), 1);
  EXPECT_EQ(Count("child"), 1);
}

TEST_P(StorageConformance, ReadSeesCommittedWrites) {
  EXPECT_EQ(Count(), 0);
  ASSERT_TRUE(Insert("a", std::string("1")).ok());
  EXPECT_EQ(Count(), 1);
  ASSERT_TRUE(Insert("b", std::string("2")).ok());
  EXPECT_EQ(Keys(), (std::set<std::string>{"a", "b"}));
}

TEST_P(StorageConformance, ReadIsASnapshot) {
  ASSERT_TRUE(Insert("first").ok());
  Status s = db_->Read([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Rows before, tx.Query("SELECT COUNT(*) FROM kv"));
    EXPECT_EQ(before.at(0).Int(0), 1);
    // Another transaction commits while this snapshot is open; Write returns once durable.
    EXPECT_TRUE(Insert("second").ok());
    EXPECT_TRUE(db_->Write([&](Transaction& w) -> Status {
                     return w.Execute("DELETE FROM kv WHERE k = ?", {"first"}).status();
                   }).ok());
    ASSIGN_OR_RETURN(Rows after, tx.Query("SELECT k FROM kv"));
    EXPECT_EQ(after.size(), 1u);
    if (after.size() == 1) {
      EXPECT_EQ(after[0].Text(0), "first");
    }
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Keys(), std::set<std::string>{"second"});
}

TEST_P(StorageConformance, ReadCannotWrite) {
  Status s = db_->Read([&](Transaction& tx) -> Status {
    return tx.Execute("INSERT INTO kv (k) VALUES (?)", {"sneaky"}).status();
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(Count(), 0);
}

TEST_P(StorageConformance, ReadReturnsTheCallbacksError) {
  Status s = db_->Read([&](Transaction&) -> Status { return Status::PermissionDenied("nope"); });
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "nope");
}

// Writes that are committed together still succeed or fail alone. A gate write holds the
// writer while 64 threads queue up, so that many of them share one commit.
TEST_P(StorageConformance, ConcurrentWritesSucceedOrFailAlone) {
  constexpr int kThreads = 64;
  std::latch gate_running(1);
  std::latch arrived(kThreads);
  std::thread gate([&] {
    Status s = db_->Write([&](Transaction&) -> Status {
      gate_running.count_down();
      arrived.wait();
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
  });
  gate_running.wait();

  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      arrived.count_down();
      results[i] = db_->Write([i](Transaction& tx) -> Status {
        const std::string k = "t" + std::to_string(i);
        ASSIGN_OR_RETURN(Rows r, tx.Query("INSERT INTO kv (k, n) VALUES (?, ?) RETURNING id", {k, int64_t{i}}));
        RETURN_IF_ERROR(tx.Execute("INSERT INTO child (kv_id, note) VALUES (?, ?)", {r.at(0).Int(0), k}).status());
        if (i % 8 == 7) return Status::Aborted("thread " + std::to_string(i) + " gives up");
        return Status::Ok();
      });
    });
  }
  for (auto& t : threads) t.join();
  gate.join();

  std::set<std::string> expected;
  for (int i = 0; i < kThreads; ++i) {
    if (i % 8 == 7) {
      EXPECT_EQ(results[i].code(), StatusCode::kAborted) << i;
      EXPECT_EQ(results[i].message(), "thread " + std::to_string(i) + " gives up") << i;
    } else {
      EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].ToString();
      expected.insert("t" + std::to_string(i));
    }
  }
  ASSERT_EQ(expected.size(), 56u);
  EXPECT_EQ(Keys(), expected);
  EXPECT_EQ(Count("child"), 56);
  ASSERT_TRUE(db_->Read([&](Transaction& tx) -> Status {
                   // Every child belongs to its own thread's row.
                   ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT COUNT(*) FROM child JOIN kv ON kv.id = child.kv_id "
                                                        "WHERE child.note = kv.k"));
                   EXPECT_EQ(rows.at(0).Int(0), 56);
                   return Status::Ok();
                 }).ok());
}

// A unique violation in one write of a group does not disturb the writes around it.
TEST_P(StorageConformance, ConcurrentConflictsFailAlone) {
  constexpr int kThreads = 32;
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  std::latch start(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      // Pairs of threads race for the same key: exactly one of each pair wins.
      results[i] = Insert("pair" + std::to_string(i / 2), int64_t{i});
    });
  }
  for (auto& t : threads) t.join();
  int won = 0;
  for (int i = 0; i < kThreads; i += 2) {
    const bool a = results[i].ok();
    const bool b = results[i + 1].ok();
    EXPECT_NE(a, b) << i;
    won += a + b;
    EXPECT_EQ((a ? results[i + 1] : results[i]).code(), StatusCode::kAlreadyExists) << i;
  }
  EXPECT_EQ(won, kThreads / 2);
  EXPECT_EQ(Count(), kThreads / 2);
}

TEST_P(StorageConformance, MigrateAppliesEachMigrationOnce) {
  auto again = Migrate(*db_, TestMigrations());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, 0);
  auto version = SchemaVersion(*db_);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 2);

  auto more = TestMigrations();
  more.push_back({3, "extra", "CREATE TABLE extra (id {{id}}, payload {{blob}});"});
  auto applied = Migrate(*db_, more);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(*applied, 1);
  EXPECT_EQ(*SchemaVersion(*db_), 3);
  EXPECT_EQ(Count("extra"), 0);
  EXPECT_EQ(*Migrate(*db_, more), 0);
}

// A migration may hold statements for one database only, where the portable subset has no
// equivalent (a PostgreSQL sequence, say).
TEST_P(StorageConformance, MigrationDialectSectionsRunOnlyOnTheirDatabase) {
  auto more = TestMigrations();
  more.push_back({3, "per dialect",
                  "CREATE TABLE both_dbs (id {{id}});\n"
                  "{{sqlite}}CREATE TABLE only_sqlite (id {{id}});{{end}}\n"
                  "{{postgres}}\n"
                  "CREATE TABLE only_postgres (id {{id}});\n"
                  "INSERT INTO only_postgres (id) VALUES (7);\n"
                  "{{end}}\n"
                  "CREATE TABLE after_sections (id {{id}});"});
  auto applied = Migrate(*db_, more);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(*applied, 1);
  const bool postgres = db_->dialect() == Dialect::kPostgres;
  EXPECT_EQ(Count("both_dbs"), 0);
  EXPECT_EQ(Count("after_sections"), 0);
  EXPECT_EQ(Count(postgres ? "only_postgres" : "only_sqlite"), postgres ? 1 : 0);
  const std::string other_table = postgres ? "only_sqlite" : "only_postgres";
  Status other = db_->Read([&](Transaction& tx) -> Status {
    return tx.Query("SELECT COUNT(*) FROM " + other_table).status();
  });
  EXPECT_EQ(other.code(), StatusCode::kInternal) << "the other database's table should not exist";
}

TEST(TranslateDdl, KeepsTheDialectsSectionsAndDropsTheOthers) {
  const std::string sql =
      "A;{{sqlite}} S1;{{end}} B;{{postgres}} P1;{{end}}{{sqlite}} S2;{{end}} C;";
  EXPECT_EQ(TranslateDdl(sql, Dialect::kSqlite), "A; S1; B; S2; C;");
  EXPECT_EQ(TranslateDdl(sql, Dialect::kPostgres), "A; B; P1; C;");
  // Unterminated: left as written, so that the database rejects it rather than run half of it.
  EXPECT_EQ(TranslateDdl("A;{{postgres}} P1;", Dialect::kSqlite), "A;{{postgres}} P1;");
  EXPECT_EQ(TranslateDdl("x {{id}}", Dialect::kSqlite), "x INTEGER PRIMARY KEY");
}

TEST_P(StorageConformance, SchemaVersionOfAnEmptyDatabaseIsZero) {
  TempDir other;
  auto db = GetParam().open(other.path().string());
  auto version = SchemaVersion(*db);
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(*version, 0);
  auto applied = Migrate(*db, TestMigrations());
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(*applied, 2);
  EXPECT_EQ(*SchemaVersion(*db), 2);
}

TEST_P(StorageConformance, FailedMigrationLeavesNothingAndStops) {
  auto more = TestMigrations();
  more.push_back({3, "broken", "CREATE TABLE half (x BIGINT);\nTHIS IS NOT SQL;"});
  more.push_back({4, "never", "CREATE TABLE never (x BIGINT);"});
  auto applied = Migrate(*db_, more);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), StatusCode::kInternal) << applied.status().ToString();
  EXPECT_NE(applied.status().message().find("broken"), std::string::npos) << applied.status().message();
  EXPECT_EQ(*SchemaVersion(*db_), 2);
  for (const char* table : {"half", "never"}) {
    Status s = db_->Read([&](Transaction& tx) -> Status {
      return tx.Query(std::string("SELECT COUNT(*) FROM ") + table).status();
    });
    EXPECT_EQ(s.code(), StatusCode::kInternal) << table << " should not exist";
  }
}

TEST_P(StorageConformance, NewerDatabaseIsFailedPrecondition) {
  auto newer = TestMigrations();
  newer.push_back({3, "from the future", "CREATE TABLE future (id {{id}});"});
  ASSERT_EQ(*Migrate(*db_, newer), 1);
  ASSERT_TRUE(Insert("kept").ok());

  auto older = Migrate(*db_, TestMigrations());
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.status().code(), StatusCode::kFailedPrecondition) << older.status().ToString();
  EXPECT_EQ(*SchemaVersion(*db_), 3);
  EXPECT_EQ(Keys(), std::set<std::string>{"kept"});

  auto none = Migrate(*db_, {});
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);
}

TEST_P(StorageConformance, DataSurvivesReopening) {
  ASSERT_TRUE(Insert("durable", std::string("yes")).ok());
  db_.reset();
  db_ = Open();
  EXPECT_EQ(*SchemaVersion(*db_), 2);
  EXPECT_EQ(*Migrate(*db_, TestMigrations()), 0);
  ASSERT_TRUE(db_->Read([&](Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT v FROM kv WHERE k = ?", {"durable"}));
                   EXPECT_EQ(rows.size(), 1u);
                   if (!rows.empty()) {
                     EXPECT_EQ(rows[0].Text(0), "yes");
                   }
                   return Status::Ok();
                 }).ok());
}

TEST_P(StorageConformance, ExceptionInWriteIsInternalAndWritesNothing) {
  Status s = db_->Write([&](Transaction& tx) -> Status {
    (void)tx.Execute("INSERT INTO kv (k) VALUES (?)", {"thrown"});
    throw std::runtime_error("bug in a store");
  });
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(Count(), 0);
  // The database keeps working.
  EXPECT_TRUE(Insert("after").ok());
  EXPECT_EQ(Keys(), std::set<std::string>{"after"});
}

TEST_P(StorageConformance, NonStandardExceptionInWriteIsInternal) {
  Status s = db_->Write([&](Transaction& tx) -> Status {
    (void)tx.Execute("INSERT INTO kv (k) VALUES (?)", {"thrown"});
    throw 42;
  });
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(Count(), 0);
  EXPECT_TRUE(Insert("after").ok());
}

TEST_P(StorageConformance, ExceptionInReadIsInternal) {
  Status s = db_->Read([&](Transaction&) -> Status { throw std::out_of_range("row 3"); });
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  Status s2 = db_->Read([&](Transaction&) -> Status { throw "a string"; });
  EXPECT_EQ(s2.code(), StatusCode::kInternal);
  EXPECT_EQ(Count(), 0);
}

TEST_P(StorageConformance, WrongParameterCountIsAnErrorNotACrash) {
  Status s = db_->Write([&](Transaction& tx) -> Status {
    return tx.Execute("INSERT INTO kv (k, v) VALUES (?, ?)", {"only one"}).status();
  });
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  Status s2 = db_->Write([&](Transaction& tx) -> Status {
    return tx.Execute("INSERT INTO kv (k) VALUES (?)", {"one", "two"}).status();
  });
  EXPECT_EQ(s2.code(), StatusCode::kInternal) << s2.ToString();
  Status s3 = db_->Read([&](Transaction& tx) -> Status {
    return tx.Query("SELECT k FROM kv WHERE k = ?").status();
  });
  EXPECT_EQ(s3.code(), StatusCode::kInternal) << s3.ToString();
  EXPECT_EQ(Count(), 0);
  // The same statements with the right parameters still work (nothing stale was cached).
  EXPECT_TRUE(db_->Write([&](Transaction& tx) -> Status {
                   return tx.Execute("INSERT INTO kv (k, v) VALUES (?, ?)", {"a", "b"}).status();
                 }).ok());
  EXPECT_EQ(Keys(), std::set<std::string>{"a"});
}

TEST_P(StorageConformance, BadSqlIsInternal) {
  Status s = db_->Write([&](Transaction& tx) -> Status { return tx.Execute("INSRT INTO kv VALUES (1)").status(); });
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  Status s2 = db_->Read([&](Transaction& tx) -> Status { return tx.Query("SELECT nope FROM kv").status(); });
  EXPECT_EQ(s2.code(), StatusCode::kInternal);
}

TEST_P(StorageConformance, QueuedStatementsAreKeptWithTheWrite) {
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> Status {
                   RETURN_IF_ERROR(tx.Queue("INSERT INTO kv (k, n) VALUES (?, ?)", {"a", int64_t{1}}));
                   RETURN_IF_ERROR(tx.Queue("INSERT INTO kv (k, n) VALUES (?, ?)", {"b", int64_t{2}}));
                   // A later statement of the same transaction sees what was queued before it.
                   ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT SUM(n) FROM kv"));
                   EXPECT_EQ(rows.at(0).Int(0), 3);
                   // Queued last, sent with the commit.
                   return tx.Queue("UPDATE kv SET v = ? WHERE k = ?", {"last", "b"});
                 }).ok());
  // A write made of queued statements only.
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> Status {
                   return tx.Queue("INSERT INTO kv (k) VALUES (?)", {"c"});
                 }).ok());
  EXPECT_EQ(Keys(), (std::set<std::string>{"a", "b", "c"}));
  auto b = db_->ReadOne("SELECT v FROM kv WHERE k = ?", {"b"});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->at(0).Text(0), "last");
}

TEST_P(StorageConformance, ManyQueuedStatementsAreAllKept) {
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> Status {
                   for (int i = 0; i < 1000; ++i) {
                     RETURN_IF_ERROR(tx.Queue("INSERT INTO kv (k) VALUES (?)", {"k" + std::to_string(i)}));
                   }
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(Count(), 1000);
}

TEST_P(StorageConformance, FailingQueuedStatementFailsTheWriteAtCommit) {
  ASSERT_TRUE(Insert("dup").ok());
  Status s = db_->Write([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Queue("INSERT INTO kv (k) VALUES (?)", {"fresh"}));
    return tx.Queue("INSERT INTO kv (k) VALUES (?)", {"dup"});
  });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  EXPECT_EQ(Keys(), std::set<std::string>{"dup"});
  // The caller's own error for the failure, wherever it is reported.
  auto refuse = [](Status) { return Status::Unavailable("the log cannot be written"); };
  Status s2 = db_->Write([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Queue("INSERT INTO kv (k) VALUES (?)", {"dup"}, refuse));
    return tx.Queue("INSERT INTO kv (k) VALUES (?)", {"after"});
  });
  EXPECT_EQ(s2.code(), StatusCode::kUnavailable) << s2.ToString();
  EXPECT_EQ(s2.message(), "the log cannot be written");
  EXPECT_EQ(Keys(), std::set<std::string>{"dup"});
}

TEST_P(StorageConformance, FailingQueuedStatementIsReportedByTheNextStatement) {
  bool reported = false;  // by Queue itself (SQLite runs it at once) or by the next statement
  Status s = db_->Write([&](Transaction& tx) -> Status {
    Status queued = tx.Queue("INSERT INTO child (kv_id, note) VALUES (?, ?)", {int64_t{12345}, "orphan"});
    if (!queued.ok()) {
      reported = true;
      return queued;
    }
    auto rows = tx.Query("SELECT COUNT(*) FROM kv");
    reported = !rows.ok();
    return rows.status();
  });
  EXPECT_TRUE(reported);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(Count("child"), 0);
}

TEST_P(StorageConformance, QueuedStatementErrorsLeaveTheSessionUsable) {
  Status count = db_->Write([&](Transaction& tx) -> Status {
    return tx.Queue("INSERT INTO kv (k, v) VALUES (?, ?)", {"only one"});
  });
  EXPECT_EQ(count.code(), StatusCode::kInternal) << count.ToString();
  Status bad = db_->Write([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Queue("INSRT INTO kv VALUES (1)"));
    return tx.Queue("INSERT INTO kv (k) VALUES (?)", {"never"});
  });
  EXPECT_EQ(bad.code(), StatusCode::kInternal) << bad.ToString();
  // Every session of the pool, with whatever it cached, still writes and reads.
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(db_->Write([&](Transaction& tx) -> Status {
                     return tx.Queue("INSERT INTO kv (k) VALUES (?)", {"ok" + std::to_string(i)});
                   }).ok());
  }
  EXPECT_EQ(Count(), 8);
}

TEST_P(StorageConformance, WorkThatRunsNothingSucceeds) {
  EXPECT_TRUE(db_->Write([](Transaction&) { return Status::Ok(); }).ok());
  EXPECT_TRUE(db_->Read([](Transaction&) { return Status::Ok(); }).ok());
  EXPECT_EQ(db_->Write([](Transaction&) { return Status::NotFound("nothing"); }).code(), StatusCode::kNotFound);
  EXPECT_EQ(Count(), 0);
}

TEST_P(StorageConformance, ReadOneRunsOneStatementInItsOwnSnapshot) {
  ASSERT_TRUE(Insert("a", std::string("x")).ok());
  auto rows = db_->ReadOne("SELECT k, v FROM kv WHERE k = ?", {"a"});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->at(0).Text(1), "x");
  EXPECT_TRUE(db_->ReadOne("SELECT k FROM kv WHERE k = ?", {"none"})->empty());
  // It cannot write, and its errors are those of Query.
  EXPECT_FALSE(db_->ReadOne("INSERT INTO kv (k) VALUES (?) RETURNING id", {"sneaky"}).ok());
  EXPECT_EQ(db_->ReadOne("SELECT nope FROM kv").status().code(), StatusCode::kInternal);
  EXPECT_EQ(db_->ReadOne("SELECT k FROM kv WHERE k = ?").status().code(), StatusCode::kInternal);
  EXPECT_EQ(Keys(), std::set<std::string>{"a"});
  // The sessions it used are still good.
  for (int i = 0; i < 6; ++i) EXPECT_EQ(db_->ReadOne("SELECT COUNT(*) FROM kv")->at(0).Int(0), 1);
}

// A Read inside a Read of the same database on the same thread joins it: with every session
// held by a reader waiting for a second one, the nested reads would wait forever. Here more
// threads than sessions each read inside a read inside a read (a cache filled during a
// read does this).
TEST_P(StorageConformance, NestedReadsJoinTheOuterReadAndNeverWaitForASession) {
  ASSERT_TRUE(Insert("a", std::string("x")).ok());
  constexpr int kThreads = 12;  // more than either pool's sessions (2 and 4)
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        Status s = db_->Read([&](Transaction& outer) -> Status {
          RETURN_IF_ERROR(outer.Query("SELECT COUNT(*) FROM kv").status());
          return db_->Read([&](Transaction& inner) -> Status {
            // The outer read's own transaction, not another one.
            EXPECT_EQ(&inner, &outer);
            ASSIGN_OR_RETURN(Rows rows, db_->ReadOne("SELECT v FROM kv WHERE k = ?", {"a"}));
            EXPECT_EQ(rows.at(0).Text(0), "x");
            return inner.Query("SELECT k FROM kv").status();
          });
        });
        EXPECT_TRUE(s.ok()) << s.ToString();
      }
      ++done;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), kThreads);
  // The nested read sees the outer read's snapshot: a write committed in between is not in it.
  Status s = db_->Read([&](Transaction& outer) -> Status {
    EXPECT_EQ(outer.Query("SELECT COUNT(*) FROM kv")->at(0).Int(0), 1);
    EXPECT_TRUE(Insert("b").ok());
    return db_->Read([&](Transaction& inner) -> Status {
      EXPECT_EQ(inner.Query("SELECT COUNT(*) FROM kv")->at(0).Int(0), 1);
      EXPECT_EQ(db_->ReadOne("SELECT COUNT(*) FROM kv")->at(0).Int(0), 1);
      return Status::Ok();
    });
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  // Outside it, reads are their own again.
  EXPECT_EQ(Count(), 2);
  EXPECT_EQ(db_->ReadOne("SELECT COUNT(*) FROM kv")->at(0).Int(0), 2);
}

// Pooled sessions the server closed meanwhile (a restart, an idle timeout, an operator's
// pg_terminate_backend) are opened again, and the work goes through.
TEST_P(StorageConformance, LostPooledSessionsAreReplaced) {
  if (db_->dialect() != Dialect::kPostgres) GTEST_SKIP() << "PostgreSQL sessions only";
  ASSERT_TRUE(Insert("before").ok());
  ASSERT_EQ(Count(), 1);  // a reading session in the pool too
  auto other = Open();
  auto terminate = [&] {
    ASSERT_TRUE(other->Write([](Transaction& tx) -> Status {
                       ASSIGN_OR_RETURN(Rows rows,
                                        tx.Query("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                                 "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                                                 "AND backend_type = 'client backend'"));
                       EXPECT_GE(rows.at(0).Int(0), 1);
                       return Status::Ok();
                     }).ok());
  };
  terminate();
  auto one = db_->ReadOne("SELECT COUNT(*) FROM kv");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->at(0).Int(0), 1);
  EXPECT_TRUE(Insert("after").ok());
  EXPECT_EQ(Keys(), (std::set<std::string>{"before", "after"}));
  terminate();
  // A write of queued statements only: sent first, committed after, so it too goes through.
  EXPECT_TRUE(db_->Write([](Transaction& tx) { return tx.Queue("INSERT INTO kv (k) VALUES (?)", {"queued"}); }).ok());
  EXPECT_EQ(Count(), 3);
}

// Waits for `submitted` and gives its result.
Status AwaitSubmitted(const std::shared_ptr<Submitted>& submitted) {
  std::promise<Status> result;
  submitted->OnFinished([&](Status s) { result.set_value(std::move(s)); });
  return result.get_future().get();
}

// A submitted write is a Write whose result comes later: kept when it succeeds, nothing of it
// kept when it fails, each on its own among writes submitted together.
TEST_P(StorageConformance, SubmittedWritesSucceedOrFailAlone) {
  std::vector<std::shared_ptr<Submitted>> writes;
  for (int i = 0; i < 20; ++i) {
    writes.push_back(db_->Submit([i](Transaction& tx) -> Status {
      RETURN_IF_ERROR(
          tx.Execute("INSERT INTO kv (k) VALUES (?)", {"k" + std::to_string(i)}).status());
      if (i % 5 == 4) return Status::FailedPrecondition("refused " + std::to_string(i));
      return Status::Ok();
    }));
  }
  for (int i = 0; i < 20; ++i) {
    Status s = AwaitSubmitted(writes[i]);
    if (i % 5 == 4) {
      EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << i;
      EXPECT_EQ(s.message(), "refused " + std::to_string(i));
    } else {
      EXPECT_TRUE(s.ok()) << i << ": " << s.ToString();
    }
  }
  EXPECT_EQ(Count(), 16);
  EXPECT_EQ(Keys().count("k4"), 0u);
  EXPECT_EQ(Keys().count("k5"), 1u);
}

// Once finished, a submitted write's result is given at once, on the calling thread.
TEST_P(StorageConformance, FinishedSubmittedWriteAnswersAtOnce) {
  auto submitted = db_->Submit(
      [](Transaction& tx) { return tx.Execute("INSERT INTO kv (k) VALUES ('x')").status(); });
  ASSERT_TRUE(AwaitSubmitted(submitted).ok());
  const auto caller = std::this_thread::get_id();
  std::thread::id answered_on;
  Status again = Status::Internal("not called");
  submitted->OnFinished([&](Status s) {
    answered_on = std::this_thread::get_id();
    again = std::move(s);
  });
  EXPECT_TRUE(again.ok()) << again.ToString();
  EXPECT_EQ(answered_on, caller);
}

// Several requests may wait on one write: each is answered once, in the order it asked, both
// when it asked before the write finished and after.
TEST_P(StorageConformance, EveryWaiterOnASubmittedWriteIsAnsweredOnce) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  // Where Submit is a Write (the caller waits), the write must not wait for the caller.
  if (!db_->CanSubmit()) release.set_value();
  auto submitted = db_->Submit([released](Transaction& tx) {
    released.wait();
    return tx.Execute("INSERT INTO kv (k) VALUES ('shared')").status();
  });
  std::mutex mu;
  std::vector<int> calls;
  for (int i = 0; i < 3; ++i) {
    submitted->OnFinished([&, i](Status s) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      std::lock_guard lock(mu);
      calls.push_back(i);
    });
  }
  if (db_->CanSubmit()) release.set_value();
  ASSERT_TRUE(AwaitSubmitted(submitted).ok());
  submitted->OnFinished([&](Status s) {
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::lock_guard lock(mu);
    calls.push_back(3);
  });
  std::lock_guard lock(mu);
  EXPECT_EQ(calls, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(Count(), 1);
}

// Inside a DeferScope, where the database can take a write without the caller waiting,
// WriteOrDefer returns at once and the scope holds the write; elsewhere it is a Write.
TEST_P(StorageConformance, WriteOrDeferDefersOnlyInsideAScope) {
  auto insert = [](std::string k) {
    return
        [k](Transaction& tx) { return tx.Execute("INSERT INTO kv (k) VALUES (?)", {k}).status(); };
  };
  EXPECT_FALSE(WillDefer(*db_));
  ASSERT_TRUE(WriteOrDefer(*db_, insert("outside")).ok());
  EXPECT_EQ(Count(), 1);
  std::vector<std::shared_ptr<Submitted>> held;
  {
    DeferScope scope;
    EXPECT_EQ(WillDefer(*db_), db_->CanSubmit());
    ASSERT_TRUE(WriteOrDefer(*db_, insert("inside")).ok());
    ASSERT_TRUE(
        WriteOrDefer(*db_, [](Transaction&) { return Status::Unavailable("disk full"); }).ok() ||
        !db_->CanSubmit());
    held = scope.Take();
  }
  EXPECT_FALSE(WillDefer(*db_));
  if (!db_->CanSubmit()) {
    EXPECT_TRUE(held.empty());
    EXPECT_EQ(Keys(), (std::set<std::string>{"outside", "inside"}));
    return;
  }
  ASSERT_EQ(held.size(), 2u);
  std::promise<Status> all;
  WhenAllFinished(held, [&](Status s) { all.set_value(std::move(s)); });
  Status s = all.get_future().get();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "disk full");
  EXPECT_EQ(Keys(), (std::set<std::string>{"outside", "inside"}));
}

// A thread inside a DeferScope (one that must not wait) reads even while every pooled
// connection is held by a long read elsewhere.
TEST_P(StorageConformance, ReadsThatMustNotWaitGetAConnectionWhenThePoolIsHeld) {
  if (!db_->CanSubmit()) GTEST_SKIP() << "only where writes can be deferred";
  ASSERT_TRUE(Insert("x").ok());
  std::latch held(2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<std::thread> long_reads;
  for (int i = 0; i < 2; ++i) {  // the suite's SQLite pool has two connections
    long_reads.emplace_back([&] {
      EXPECT_TRUE(db_->Read([&](Transaction&) {
                       held.count_down();
                       released.wait();
                       return Status::Ok();
                     })
                      .ok());
    });
  }
  held.wait();
  int64_t n = -1;
  std::thread quick([&] {
    DeferScope scope;
    EXPECT_TRUE(db_->Read([&](Transaction& tx) -> Status {
                     ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT COUNT(*) FROM kv"));
                     n = rows.at(0).Int(0);
                     return Status::Ok();
                   })
                    .ok());
  });
  quick.join();  // would hang here if it waited for the pool
  EXPECT_EQ(n, 1);
  release.set_value();
  for (auto& t : long_reads) t.join();
}

// WhenAllFinished answers once, after the last, with the first error if any.
TEST_P(StorageConformance, WhenAllFinishedWaitsForEveryWrite) {
  std::atomic<int> calls{0};
  WhenAllFinished({}, [&](Status s) {
    EXPECT_TRUE(s.ok());
    ++calls;
  });
  EXPECT_EQ(calls.load(), 1);
  std::vector<std::shared_ptr<Submitted>> writes;
  for (int i = 0; i < 10; ++i) writes.push_back(std::make_shared<Submitted>());
  Status seen = Status::Internal("not called");
  WhenAllFinished(writes, [&](Status s) {
    seen = std::move(s);
    ++calls;
  });
  for (int i = 0; i < 9; ++i) writes[i]->Finish(i == 3 ? Status::NotFound("third") : Status::Ok());
  EXPECT_EQ(calls.load(), 1);
  writes[9]->Finish(Status::Aborted("last"));
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(seen.code(), StatusCode::kNotFound);
}

// Writes submitted before the database closes are committed, and their results given.
TEST_P(StorageConformance, SubmittedWritesAreCommittedBeforeClosing) {
  std::vector<Status> results(50, Status::Internal("not called"));
  std::atomic<int> answered{0};
  for (int i = 0; i < 50; ++i) {
    db_->Submit([i](Transaction& tx) {
         return tx.Execute("INSERT INTO kv (k) VALUES (?)", {"c" + std::to_string(i)}).status();
       })
        ->OnFinished([&, i](Status s) {
          results[i] = std::move(s);
          ++answered;
        });
  }
  db_.reset();
  EXPECT_EQ(answered.load(), 50);
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  db_ = Open();
  EXPECT_EQ(Count(), 50);
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageConformance, ::testing::ValuesIn(kBackends),
                         [](const ::testing::TestParamInfo<BackendFactory>& info) { return info.param.name; });

// SQLite only: checkpoints run on a thread of their own (storage/sqlite/sqlite_database.h). While
// writes keep coming and reads run beside them, the write-ahead log is still copied back into
// the database file and started again, so that it does not grow with every write.
TEST(SqliteCheckpoints, TheLogIsStartedAgainWhileWritesKeepComing) {
  TempDir dir;
  const std::string path = dir.File("checkpoints.db");
  constexpr int kWriters = 4;
  constexpr int kWritesEach = 300;
  const std::string filler(3000, 'x');  // about one page of table per write
  {
    auto opened = OpenSqlite(path, {.read_connections = 2, .checkpoint_pages = 64});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    auto db = std::move(opened).value();
    ASSERT_TRUE(db->Write([](Transaction& tx) {
                    return tx.ExecuteScript("CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
                  }).ok());
    std::atomic<bool> writing{true};
    std::atomic<int64_t> last_seen{0};
    std::atomic<bool> went_back{false};
    std::thread reader([&] {
      while (writing.load()) {
        (void)db->Read([&](Transaction& tx) -> Status {
          ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT COALESCE(MAX(id), 0) FROM big", {}));
          const int64_t n = rows[0].Int(0);
          if (n < last_seen.load()) went_back = true;
          last_seen = n;
          return Status::Ok();
        });
      }
    });
    std::vector<std::thread> writers;
    std::atomic<int> failed{0};
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&] {
        for (int i = 0; i < kWritesEach; ++i) {
          Status s = db->Write([&](Transaction& tx) {
            return tx.Execute("INSERT INTO big (v) VALUES (?)", {filler}).status();
          });
          if (!s.ok()) ++failed;
        }
      });
    }
    for (auto& t : writers) t.join();
    writing = false;
    reader.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_FALSE(went_back.load()) << "a read saw less than an earlier one";
    // Every write added a page or more to the log; had it never been started again, it would
    // hold them all. It was started again, so it is shorter: its file is as long as the longest
    // the log has been.
    const auto wal_bytes = std::filesystem::file_size(path + "-wal");
    const auto all_writes_bytes = static_cast<uintmax_t>(kWriters * kWritesEach) * 4096;
    EXPECT_LT(wal_bytes, all_writes_bytes * 3 / 4) << "the log held " << wal_bytes << " bytes";
    // Pages were copied into the database file while it was open.
    EXPECT_GT(std::filesystem::file_size(path), all_writes_bytes / 4);
  }
  auto reopened = OpenSqlite(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  int64_t count = -1;
  ASSERT_TRUE((*reopened)
                  ->Read([&](Transaction& tx) -> Status {
                    ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT COUNT(*) FROM big", {}));
                    count = rows[0].Int(0);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(count, kWriters * kWritesEach);
}

}  // namespace
}  // namespace storage
