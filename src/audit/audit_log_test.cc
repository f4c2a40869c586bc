#include "audit/audit_log.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/crypto.h"
#include "storage/copy.h"
#include "storage/database.h"
#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "storage/sqlite/sqlite_database.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace audit {
namespace {

using core::Status;
using core::StatusCode;
using storage::Dialect;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

const std::string kGenesis(64, '0');

authz::Principal Caseworker(const std::string& request_id = "req-1") {
  authz::Principal p;
  p.user = core::UserId{7};
  p.agency = core::AgencyId{3};
  p.name = "cw.jones";
  p.roles = {authz::Role::kCaseworker};
  p.purpose = authz::Purpose::kCaseWork;
  p.request_id = request_id;
  p.client_address = "198.51.100.4";
  return p;
}

Entry ReadPerson(int64_t person, std::string reason = "role caseworker may read persons") {
  return Entry{"person.read", "person", std::to_string(person), core::PersonId{person}, true,
               std::move(reason)};
}

// A fresh PostgreSQL database of the binary's cluster, migrated to `migrations`.
std::unique_ptr<storage::Database> NewPostgres(const std::vector<storage::Migration>& migrations) {
  (void)core::InitCrypto();
  auto& cluster = testing_support::PostgresEnvironment::Cluster();
  auto db = storage::OpenPostgres(
      &migrations == &storage::OnedoorSchema() ? cluster.NewMigratedDatabaseUrl() : cluster.NewDatabaseUrl(),
      {.connections = 8});
  if (!db.ok()) throw std::runtime_error(db.status().ToString());
  auto applied = storage::Migrate(**db, migrations);
  if (!applied.ok()) throw std::runtime_error(applied.status().ToString());
  return std::move(db).value();
}

std::vector<storage::Migration> SchemaBeforeChains() {
  const auto& all = storage::OnedoorSchema();
  return {all.begin(), all.begin() + 3};
}

// Each test runs on SQLite (one chain, 0) and on PostgreSQL (chains 1..32).
class AuditLogTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override { db_ = NewDb(); }

  std::unique_ptr<storage::Database> NewDb(
      const std::vector<storage::Migration>& migrations = storage::OnedoorSchema()) {
    if (GetParam() == Dialect::kPostgres) return NewPostgres(migrations);
    dirs_.push_back(std::make_unique<testing_support::TempDir>());
    (void)core::InitCrypto();
    auto db = storage::OpenSqlite(dirs_.back()->File("t.db"), {.read_connections = 2});
    if (!db.ok()) throw std::runtime_error(db.status().ToString());
    if (!storage::Migrate(**db, migrations).ok()) throw std::runtime_error("migration failed");
    return std::move(db).value();
  }

  bool OnPostgres() const { return GetParam() == Dialect::kPostgres; }

  void Append(const Entry& entry, const authz::Principal& who = Caseworker()) {
    Status s = db_->Write([&](storage::Transaction& tx) { return log_.Append(tx, who, entry); });
    ASSERT_TRUE(s.ok()) << s.ToString();
    clock_.Advance(std::chrono::seconds(1));
  }

  // Appends `n` entries about persons 1, 2, 3, 1, 2, ...
  void AppendMany(int n) {
    for (int i = 0; i < n; ++i) Append(ReadPerson(i % 3 + 1));
  }

  // Appends `n` entries about persons 1, 2, 1, 2, ...: on PostgreSQL, odd seqs on chain 2 and
  // even ones on chain 3, so every entry but the last two has a successor on its chain.
  void AppendAlternating(int n) {
    for (int i = 0; i < n; ++i) Append(ReadPerson(i % 2 + 1));
  }

  void Sql(const std::string& sql, const storage::Params& params = {}) {
    Status s =
        db_->Write([&](storage::Transaction& tx) { return tx.Execute(sql, params).status(); });
    ASSERT_TRUE(s.ok()) << sql << ": " << s.ToString();
  }

  // Rewrites entry `seq` as `change` says and gives it the hash of its new content, as someone
  // who knows the hash function would.
  void Rehash(int64_t seq, const std::function<void(Record&)>& change) {
    Record r = At(seq);
    change(r);
    r.hash = AuditLog::ComputeHash(r);
    Sql("UPDATE audit_log SET chain = ?, reason = ?, prev_hash = ?, hash = ? WHERE seq = ?",
        {r.chain, r.entry.reason, r.prev_hash, r.hash, seq});
  }

  // Runs `op(thread, i)` for i in [0, per_thread) on each of `threads` threads at once;
  // returns how many failed (each also a test failure).
  static int Concurrently(int threads, int per_thread, const std::function<Status(int, int)>& op) {
    std::vector<std::thread> running;
    std::atomic<int> failures{0};
    for (int t = 0; t < threads; ++t) {
      running.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          Status s = op(t, i);
          if (!s.ok()) {
            ADD_FAILURE() << s.ToString();
            ++failures;
          }
        }
      });
    }
    for (auto& t : running) t.join();
    return failures.load();
  }

  VerifyReport Verify() { return VerifyOf(*db_); }

  static VerifyReport VerifyOf(storage::Database& db) {
    auto report = AuditLog::Verify(db);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : VerifyReport{-1, -1, false, -1, "Verify failed"};
  }

  // Every entry, oldest first.
  std::vector<Record> All() {
    std::vector<Record> out;
    Status s = db_->Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(out, log_.List(tx, 100000));
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::reverse(out.begin(), out.end());
    return out;
  }

  Record At(int64_t seq) {
    for (const Record& r : All()) {
      if (r.seq == seq) return r;
    }
    ADD_FAILURE() << "no entry " << seq;
    return {};
  }

  std::vector<std::unique_ptr<testing_support::TempDir>> dirs_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  AuditLog log_{clock_};
};

INSTANTIATE_TEST_SUITE_P(Backends, AuditLogTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kPostgres),
                         [](const ::testing::TestParamInfo<Dialect>& info) {
                           return info.param == Dialect::kSqlite ? "Sqlite" : "Postgres";
                         });

TEST_P(AuditLogTest, EmptyLogVerifies) {
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok);
  EXPECT_EQ(report.entries, 0);
  EXPECT_EQ(report.chains, 0);
}

TEST_P(AuditLogTest, AppendedEntriesFormChainsThatVerify) {
  const core::Timestamp start = clock_.Now();
  AppendMany(5);
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 5);
  EXPECT_EQ(report.chains, OnPostgres() ? 3 : 1);  // persons 1, 2, 3: chains 2, 3, 4

  std::vector<Record> all = All();
  ASSERT_EQ(all.size(), 5u);
  std::map<int64_t, std::string> last_hash;  // by chain
  for (size_t i = 0; i < all.size(); ++i) {
    const Record& r = all[i];
    const int64_t person = static_cast<int64_t>(i % 3 + 1);
    EXPECT_EQ(r.seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(r.chain, OnPostgres() ? 1 + person : 0);
    EXPECT_EQ(r.at, start.PlusSeconds(r.seq - 1));
    EXPECT_EQ(r.user_id, 7);
    EXPECT_EQ(r.agency_id, 3);
    EXPECT_EQ(r.actor, "cw.jones");
    EXPECT_EQ(r.roles, "caseworker");
    EXPECT_EQ(r.purpose, "case_work");
    EXPECT_EQ(r.request_id, "req-1");
    EXPECT_EQ(r.client_address, "198.51.100.4");
    EXPECT_EQ(r.entry.action, "person.read");
    EXPECT_EQ(r.entry.record_type, "person");
    EXPECT_EQ(r.entry.person, core::PersonId{person});
    EXPECT_EQ(r.hash, AuditLog::ComputeHash(r));
    EXPECT_EQ(r.hash.size(), 64u);
    // The first entry of a chain links to the all-zero genesis hash, the others to the one
    // before them on their chain.
    auto it = last_hash.find(r.chain);
    EXPECT_EQ(r.prev_hash, it == last_hash.end() ? kGenesis : it->second) << r.seq;
    last_hash[r.chain] = r.hash;
  }
}

TEST_P(AuditLogTest, EntriesGoOnTheChainOfTheirPersonElseOfTheAgency) {
  Append(ReadPerson(5));
  Append(ReadPerson(37));  // 37 mod 32 = 5
  Append(ReadPerson(64));  // 64 mod 32 = 0
  // No person: the agency's chain, 3 and 35 both giving 4.
  Append(Entry{"login.failed", "user", "cw.jones", std::nullopt, false, "wrong password"});
  authz::Principal other = Caseworker();
  other.agency = core::AgencyId{35};
  Append(Entry{"token.created", "api_token", "4", std::nullopt, true, "admin"}, other);
  std::vector<int64_t> chains;
  for (const Record& r : All()) chains.push_back(r.chain);
  if (OnPostgres()) {
    EXPECT_EQ(chains, (std::vector<int64_t>{6, 6, 1, 4, 4}));
  } else {
    EXPECT_EQ(chains, (std::vector<int64_t>{0, 0, 0, 0, 0}));
  }
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.chains, OnPostgres() ? 3 : 1);
}

TEST(AuditLogChains, PostgresChainIsOnePlusTheKeyModuloTheChainCount) {
  authz::Principal who = Caseworker();
  EXPECT_EQ(AuditLog::PostgresChain(who, ReadPerson(1)), 2);
  EXPECT_EQ(AuditLog::PostgresChain(who, ReadPerson(31)), 32);
  EXPECT_EQ(AuditLog::PostgresChain(who, ReadPerson(32)), 1);
  EXPECT_EQ(AuditLog::PostgresChain(who, ReadPerson(-1)), 32);  // never below 1
  Entry anonymous{"login.failed", "user", "x", std::nullopt, false, ""};
  EXPECT_EQ(AuditLog::PostgresChain(who, anonymous), 4);
  who.agency = core::AgencyId{0};
  EXPECT_EQ(AuditLog::PostgresChain(who, anonymous), 1);
  EXPECT_EQ(AuditLog::kPostgresChains, 32);
}

// On PostgreSQL a transaction holds one chain lock: its later entries follow its first.
TEST_P(AuditLogTest, EntriesOfOneTransactionShareTheFirstEntrysChain) {
  Status s = db_->Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(log_.Append(tx, Caseworker(), ReadPerson(9)));
    RETURN_IF_ERROR(log_.Append(tx, Caseworker(), ReadPerson(1)));
    return log_.Append(tx, Caseworker(),
                       Entry{"person.search", "person", "", std::nullopt, true, "ok"});
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  Append(ReadPerson(1));  // a new transaction: person 1's own chain
  std::vector<int64_t> chains;
  for (const Record& r : All()) chains.push_back(r.chain);
  EXPECT_EQ(chains, OnPostgres() ? (std::vector<int64_t>{10, 10, 10, 2})
                                 : (std::vector<int64_t>{0, 0, 0, 0}));
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 4);
}

TEST_P(AuditLogTest, AppendInAFailedWriteLeavesNoEntry) {
  AppendMany(2);
  Status s = db_->Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(log_.Append(tx, Caseworker(), ReadPerson(9)));
    return Status::PermissionDenied("refused later");
  });
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  AppendMany(1);
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 3);
  std::vector<int64_t> seqs;
  for (const Record& r : All()) seqs.push_back(r.seq);
  // PostgreSQL's sequence does not roll back: the failed write leaves a gap.
  EXPECT_EQ(seqs, OnPostgres() ? (std::vector<int64_t>{1, 2, 4}) : (std::vector<int64_t>{1, 2, 3}));
}

TEST_P(AuditLogTest, ConcurrentAppendsKeepTheChains) {
  constexpr int kThreads = 16;
  std::vector<std::thread> threads;
  std::vector<Status> results(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      results[i] = db_->Write([&, i](storage::Transaction& tx) {
        return log_.Append(tx, Caseworker("req-" + std::to_string(i)), ReadPerson(i + 1));
      });
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, kThreads);
  EXPECT_EQ(report.chains, OnPostgres() ? kThreads : 1);
}

// Many writers at once, each appending many entries about its own person (so on PostgreSQL
// its own chain), or all about the same person (one chain they contend for).
TEST_P(AuditLogTest, ManyWritersAppendingManyEntriesKeepEveryChainValid) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  for (bool same_person : {false, true}) {
    SCOPED_TRACE(same_person ? "same person" : "different persons");
    db_ = NewDb();
    const int failures = Concurrently(kThreads, kPerThread, [&](int t, int) {
      return db_->Write([&](storage::Transaction& tx) {
        return log_.Append(tx, Caseworker("req-" + std::to_string(t)), ReadPerson(same_person ? 5 : t + 1));
      });
    });
    EXPECT_EQ(failures, 0);
    VerifyReport report = Verify();
    EXPECT_TRUE(report.ok) << report.problem;
    EXPECT_EQ(report.entries, kThreads * kPerThread);
    EXPECT_EQ(report.chains, OnPostgres() && !same_person ? kThreads : 1);
    for (const Record& r : All()) {
      EXPECT_EQ(r.chain, OnPostgres() ? AuditLog::PostgresChain(Caseworker(), r.entry) : 0)
          << r.seq;
    }
  }
}

// Write: entries made durable in transactions of their own, concurrent ones grouped. Every
// entry of every thread is there once, in its chain, and the chains verify.
TEST_P(AuditLogTest, WritesFromManyThreadsAreAllKeptInChainsThatVerify) {
  constexpr int kThreads = 12;
  constexpr int kPerThread = 25;
  const int failures = Concurrently(kThreads, kPerThread, [&](int t, int i) {
    return log_.Write(*db_, Caseworker("req-" + std::to_string(t)), ReadPerson(t * 100 + i, "n" + std::to_string(i)));
  });
  EXPECT_EQ(failures, 0);
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, kThreads * kPerThread);
  std::set<std::pair<std::string, int64_t>> seen;
  for (const Record& r : All()) {
    EXPECT_TRUE(seen.emplace(r.request_id, r.entry.person->value).second) << "twice: " << r.seq;
    // Each entry is the one its thread wrote, whole.
    EXPECT_EQ(r.entry.reason, "n" + std::to_string(r.entry.person->value % 100));
    if (!OnPostgres()) {
      EXPECT_EQ(r.chain, 0);
    }
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kPerThread));
}

// AppendAll: several entries in one go are consecutive entries of the first one's chain (on
// PostgreSQL), after what was there, and the chains verify.
TEST_P(AuditLogTest, AppendAllPutsItsEntriesInOrderOnOneChain) {
  AppendMany(3);
  const authz::Principal who = Caseworker("req-all");
  const Entry a = ReadPerson(5, "a"), b = ReadPerson(6, "b"), c = ReadPerson(7, "c");
  const std::vector<AuditLog::Item> items{{&who, &a}, {&who, &b}, {&who, &c}};
  ASSERT_TRUE(db_->Write([&](storage::Transaction& tx) { return log_.AppendAll(tx, items); }).ok());
  AppendMany(1);
  std::vector<Record> all = All();
  ASSERT_EQ(all.size(), 7u);
  const int64_t chain = OnPostgres() ? AuditLog::PostgresChain(who, a) : 0;
  for (int i = 0; i < 3; ++i) {
    const Record& r = all[3 + i];
    EXPECT_EQ(r.entry.reason, std::string(1, static_cast<char>('a' + i)));
    EXPECT_EQ(r.chain, chain);
    if (i > 0) {
      EXPECT_EQ(r.prev_hash, all[2 + i].hash);
      EXPECT_GT(r.seq, all[2 + i].seq);
    }
  }
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 7);
}

// AuditedRead: the read sees the data, and the entry it filled in is stored before it returns;
// a read that fails stores nothing.
TEST_P(AuditLogTest, AuditedReadStoresTheEntryItsReadFilledInAndNothingIfTheReadFails) {
  AppendMany(2);
  int64_t seen = -1;
  Status s = log_.AuditedRead(*db_, Caseworker("req-r"), [&](storage::Transaction& tx, Entry& entry) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT COUNT(*) FROM audit_log"));
    seen = rows.at(0).Int(0);
    entry = ReadPerson(42, "read what it saw");
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(seen, 2);  // its own entry comes after the read
  std::vector<Record> all = All();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.back().entry.person->value, 42);
  EXPECT_EQ(all.back().entry.reason, "read what it saw");
  EXPECT_EQ(all.back().request_id, "req-r");

  s = log_.AuditedRead(*db_, Caseworker(), [&](storage::Transaction&, Entry& entry) -> Status {
    entry = ReadPerson(43);
    return Status::NotFound("gone");
  });
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(All().size(), 3u);
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
}

// Makes the audit log refuse entries whose action is "refused.read", as a full disk would.
void RefuseAction(storage::Database& db) {
  Status s = testing_support::RefuseInserts(db, "audit_log", "NEW.action = 'refused.read'");
  ASSERT_TRUE(s.ok()) << s.ToString();
}

// A Write whose entry cannot be stored fails, and leaves nothing; so does every Write grouped
// with it, and only those: an entry is kept exactly when its Write said so.
TEST_P(AuditLogTest, AWriteThatCannotBeStoredFailsAndKeepsNothingOfItsGroup) {
  RefuseAction(*db_);
  Entry refused = ReadPerson(7);
  refused.action = "refused.read";
  Status alone = log_.Write(*db_, Caseworker(), refused);
  EXPECT_EQ(alone.code(), StatusCode::kUnavailable) << alone.ToString();
  EXPECT_TRUE(All().empty());

  constexpr int kThreads = 8;
  constexpr int kPerThread = 30;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<std::string> kept;  // "thread:i" of each Write that succeeded
  int refusals = 0;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const authz::Principal who = Caseworker("req-" + std::to_string(t));
      for (int i = 0; i < kPerThread; ++i) {
        Entry e = ReadPerson(t + 1, fmt::format("{}:{}", t, i));
        if (t == 0 && i % 3 == 0) e.action = "refused.read";
        Status s = log_.Write(*db_, who, e);
        std::lock_guard lock(mu);
        if (s.ok()) {
          EXPECT_NE(e.action, "refused.read");
          kept.insert(e.reason);
        } else {
          EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
          ++refusals;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(refusals, kPerThread / 3);
  std::set<std::string> stored;
  for (const Record& r : All()) stored.insert(r.entry.reason);
  EXPECT_EQ(stored, kept);
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  // And once entries are accepted again, Write works.
  ASSERT_TRUE(log_.Write(*db_, Caseworker(), ReadPerson(3, "after")).ok());
  EXPECT_EQ(All().back().entry.reason, "after");
}

// Waits for a deferred write and gives its result.
Status Await(const std::shared_ptr<storage::Submitted>& write) {
  std::promise<Status> result;
  write->OnFinished([&](Status s) { result.set_value(std::move(s)); });
  return result.get_future().get();
}

// Holds the database's writer in a write of its own until Release(), so that what is submitted
// meanwhile waits for it.
class HeldWriter {
 public:
  explicit HeldWriter(storage::Database& db) {
    std::promise<void> started;
    held_ = db.Submit([this, &started](storage::Transaction&) {
      started.set_value();
      release_.get_future().wait();
      return Status::Ok();
    });
    started.get_future().wait();
  }
  void Release() { release_.set_value(); }
  ~HeldWriter() { (void)Await(held_); }

 private:
  std::promise<void> release_;
  std::shared_ptr<storage::Submitted> held_;
};

// Inside a DeferScope (on SQLite, a request answered by an I/O thread) Write returns at once
// and its request waits on the entry's write. Entries deferred while the writer is busy are
// appended by one write, in the order they came, and each request is answered only once that
// write is durable.
TEST_P(AuditLogTest, DeferredEntriesAreWrittenTogetherAndEachRequestWaitsForThem) {
  if (OnPostgres()) GTEST_SKIP() << "writes are deferred only where the database takes them without waiting (SQLite)";
  ASSERT_TRUE(log_.Write(*db_, Caseworker(), ReadPerson(9, "before")).ok());
  std::vector<std::vector<std::shared_ptr<storage::Submitted>>> held;
  {
    HeldWriter writer(*db_);
    for (int i = 0; i < 5; ++i) {
      storage::DeferScope request;
      ASSERT_TRUE(storage::WillDefer(*db_));
      ASSERT_TRUE(log_.Write(*db_, Caseworker("req-" + std::to_string(i)), ReadPerson(i + 1, fmt::format("r{}", i))).ok());
      held.push_back(request.Take());
    }
    for (const auto& writes : held) {
      ASSERT_EQ(writes.size(), 1u);
      EXPECT_EQ(writes[0], held[0][0]) << "every entry deferred while the writer is busy is in one write";
    }
    EXPECT_EQ(All().size(), 1u) << "nothing is written before the writer gets to it";
    writer.Release();
  }
  std::vector<int> answered;
  std::mutex mu;
  std::promise<void> all;
  for (int i = 0; i < 5; ++i) {
    held[i][0]->OnFinished([&, i](Status s) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      std::lock_guard lock(mu);
      answered.push_back(i);
      if (answered.size() == 5) all.set_value();
    });
  }
  all.get_future().wait();
  EXPECT_THAT(answered, ::testing::UnorderedElementsAre(0, 1, 2, 3, 4));
  const std::vector<Record> records = All();
  ASSERT_EQ(records.size(), 6u);
  for (int i = 0; i < 5; ++i) {
    const Record& r = records[static_cast<size_t>(i) + 1];
    EXPECT_EQ(r.seq, records[0].seq + i + 1);
    EXPECT_EQ(r.entry.reason, fmt::format("r{}", i));
    EXPECT_EQ(r.request_id, fmt::format("req-{}", i));
    EXPECT_EQ(r.client_address, "198.51.100.4");
  }
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  // The next request's entry, the writer being free, is a write of its own.
  storage::DeferScope later;
  ASSERT_TRUE(log_.Write(*db_, Caseworker(), ReadPerson(1, "later")).ok());
  auto writes = later.Take();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_NE(writes[0], held[0][0]);
  EXPECT_TRUE(Await(writes[0]).ok());
  EXPECT_EQ(All().back().entry.reason, "later");
}

// An entry of a deferred write that cannot be stored fails the write: none of its entries is
// kept, every request waiting on it is answered with the error, and the next write is not
// affected.
TEST_P(AuditLogTest, ADeferredWriteThatCannotBeStoredAnswersEveryRequestInItWithTheError) {
  if (OnPostgres()) GTEST_SKIP() << "writes are deferred only where the database takes them without waiting (SQLite)";
  RefuseAction(*db_);
  std::vector<std::shared_ptr<storage::Submitted>> held;
  {
    HeldWriter writer(*db_);
    for (int i = 0; i < 3; ++i) {
      storage::DeferScope request;
      Entry e = ReadPerson(i + 1, fmt::format("r{}", i));
      if (i == 1) e.action = "refused.read";
      ASSERT_TRUE(log_.Write(*db_, Caseworker(), e).ok());
      auto writes = request.Take();
      ASSERT_EQ(writes.size(), 1u);
      held.push_back(writes[0]);
    }
    writer.Release();
  }
  for (const auto& write : held) {
    Status s = Await(write);
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
    EXPECT_THAT(s.message(), ::testing::HasSubstr("the audit log cannot be written"));
  }
  EXPECT_TRUE(All().empty());
  storage::DeferScope next;
  ASSERT_TRUE(log_.Write(*db_, Caseworker(), ReadPerson(4, "next")).ok());
  auto writes = next.Take();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_TRUE(Await(writes[0]).ok());
  ASSERT_EQ(All().size(), 1u);
  EXPECT_EQ(All()[0].entry.reason, "next");
}

// Two transactions each append about persons on two chains, in opposite orders, and each
// waits for the other to have made its first append before making its second. With a lock per
// entry's chain they would deadlock; with one chain per transaction neither waits.
TEST_P(AuditLogTest, TransactionsAppendingOnChainsInOppositeOrdersDoNotDeadlock) {
  // SQLite's single writer runs one transaction at a time, so the two could not overlap.
  if (!OnPostgres()) GTEST_SKIP() << "one writer at a time on SQLite";
  std::atomic<int> first_appends{0};
  auto writer = [&](int64_t first, int64_t second, const std::string& request) {
    return db_->Write([&, first, second](storage::Transaction& tx) -> Status {
      RETURN_IF_ERROR(log_.Append(tx, Caseworker(request), ReadPerson(first)));
      // A retried attempt finds the count already reached, so nothing can hang here.
      ++first_appends;
      while (first_appends.load() < 2) std::this_thread::yield();
      return log_.Append(tx, Caseworker(request), ReadPerson(second));
    });
  };
  Status a;
  Status b;
  std::thread ta([&] { a = writer(1, 2, "req-a"); });
  std::thread tb([&] { b = writer(2, 1, "req-b"); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok()) << a.ToString();
  ASSERT_TRUE(b.ok()) << b.ToString();
  std::map<std::string, std::vector<int64_t>> chains;
  for (const Record& r : All()) chains[r.request_id].push_back(r.chain);
  EXPECT_EQ(chains["req-a"], (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(chains["req-b"], (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(first_appends.load(), 2);  // neither transaction ran twice
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 4);
}

// Changing any stored field of entry 3 is reported as a modification of entry 3.
TEST_P(AuditLogTest, ModifiedFieldIsReportedAtThatEntry) {
  const std::vector<std::pair<std::string, storage::Value>> changes = {
      {"at", int64_t{1}},
      {"user_id", int64_t{8}},
      {"agency_id", int64_t{4}},
      {"actor", std::string("someone.else")},
      {"roles", std::string("admin")},
      {"purpose", std::string("audit")},
      {"request_id", std::string("req-2")},
      {"action", std::string("person.update")},
      {"record_type", std::string("household")},
      {"record_id", std::string("99")},
      {"person_id", int64_t{99}},
      {"person_id", storage::Null{}},
      {"allowed", int64_t{0}},
      {"reason", std::string("no reason")},
      {"prev_hash", kGenesis},
      {"hash", std::string(64, 'a')},
      {"chain", int64_t{7}},  // moved to another chain
      {"client_address", std::string("192.0.2.9")},
      {"client_address", std::string("")},
  };
  AppendAlternating(6);
  const Record original = At(3);
  for (const auto& [column, value] : changes) {
    SCOPED_TRACE(column);
    Sql("UPDATE audit_log SET " + column + " = ? WHERE seq = 3", {value});
    VerifyReport report = Verify();
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.first_bad_seq, 3);
    EXPECT_EQ(report.problem, "entry 3 was modified: its content does not match its hash");
    Sql("UPDATE audit_log SET at = ?, user_id = ?, agency_id = ?, actor = ?, roles = ?, "
        "purpose = ?, request_id = ?, action = ?, record_type = ?, record_id = ?, person_id = ?, "
        "allowed = ?, reason = ?, prev_hash = ?, hash = ?, chain = ?, client_address = ? WHERE seq = 3",
        {original.at.micros, original.user_id, original.agency_id, original.actor, original.roles,
         original.purpose, original.request_id, original.entry.action, original.entry.record_type,
         original.entry.record_id, original.entry.person->value,
         int64_t{original.entry.allowed ? 1 : 0}, original.entry.reason, original.prev_hash,
         original.hash, original.chain, original.client_address});
    ASSERT_TRUE(Verify().ok) << "restoring entry 3";
  }
}

// Rewriting an entry and its hash is caught by the next entry on its chain, whose previous
// hash no longer matches.
TEST_P(AuditLogTest, RehashedEntryIsCaughtByTheNextOneOnItsChain) {
  AppendAlternating(6);
  Rehash(3, [](Record& r) { r.entry.reason = "rewritten"; });
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  if (OnPostgres()) {
    EXPECT_EQ(report.first_bad_seq, 5);
    EXPECT_EQ(report.problem,
              "entry 5 on chain 2 does not follow entry 3, the one before it on that chain: "
              "an entry between them was removed or changed");
  } else {
    EXPECT_EQ(report.first_bad_seq, 4);
    EXPECT_EQ(report.problem, "entry 4 does not follow entry 3: its previous hash differs");
  }
}

TEST_P(AuditLogTest, DeletedMiddleEntryIsReported) {
  AppendAlternating(6);
  Sql("DELETE FROM audit_log WHERE seq = 3");
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  if (OnPostgres()) {
    EXPECT_EQ(report.first_bad_seq, 5);
    EXPECT_EQ(report.problem,
              "entry 5 on chain 2 does not follow entry 1, the one before it on that chain: "
              "an entry between them was removed or changed");
  } else {
    EXPECT_EQ(report.first_bad_seq, 3);
    EXPECT_EQ(report.problem, "entry 3 is missing (the next entry found is 4)");
  }
}

TEST_P(AuditLogTest, DeletedFirstEntryIsReported) {
  AppendAlternating(4);
  Sql("DELETE FROM audit_log WHERE seq = 1");
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  if (OnPostgres()) {
    EXPECT_EQ(report.first_bad_seq, 3);
    EXPECT_EQ(report.problem,
              "entry 3 is the first on chain 2 but does not start a chain: an entry before it "
              "on that chain was removed or changed");
  } else {
    EXPECT_EQ(report.first_bad_seq, 1);
    EXPECT_EQ(report.problem, "entry 1 is missing (the next entry found is 2)");
  }
}

// Two entries of one chain change places (their sequence numbers are swapped).
TEST_P(AuditLogTest, ReorderedEntriesAreDetectedAtTheFirstSwappedOne) {
  AppendAlternating(6);
  const int64_t other = OnPostgres() ? 5 : 4;  // the next entry on entry 3's chain
  Sql("UPDATE audit_log SET seq = -1 WHERE seq = ?", {other});
  Sql("UPDATE audit_log SET seq = ? WHERE seq = 3", {other});
  Sql("UPDATE audit_log SET seq = 3 WHERE seq = -1");
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 3);
  EXPECT_EQ(report.problem, "entry 3 was modified: its content does not match its hash");
}

// Two entries of one chain exchange their whole contents, sequence numbers staying put.
TEST_P(AuditLogTest, SwappedContentsAreDetectedAtTheFirstSwappedOne) {
  AppendAlternating(6);
  const int64_t other = OnPostgres() ? 5 : 4;
  // One transaction: on PostgreSQL a temporary table belongs to one pooled session.
  Status s = db_->Write([&](storage::Transaction& tx) -> Status {
    const std::string copy = fmt::format(
        "CREATE TEMP TABLE swap AS SELECT * FROM audit_log WHERE seq IN (3, {})", other);
    const std::string columns =
        "at, user_id, agency_id, actor, roles, purpose, request_id, action, record_type, "
        "record_id, person_id, allowed, reason, prev_hash, hash, chain";
    const std::string swap = fmt::format(
        "UPDATE audit_log SET ({0}) = (SELECT {0} FROM swap WHERE swap.seq = {1} - audit_log.seq) "
        "WHERE seq IN (3, {2})",
        columns, 3 + other, other);
    RETURN_IF_ERROR(tx.Execute(copy).status());
    RETURN_IF_ERROR(tx.Execute(swap).status());
    return tx.Execute("DROP TABLE swap").status();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  // The later entry's content, now at seq 3, links to the earlier one's, now at seq `other`.
  ASSERT_EQ(At(3).prev_hash, At(other).hash);
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 3);
  EXPECT_EQ(report.problem, "entry 3 was modified: its content does not match its hash");
}

// Moving an entry to another chain and rehashing it is caught where it no longer fits.
TEST_P(AuditLogTest, EntryMovedToAnotherChainAndRehashedIsDetectedAtThatEntry) {
  AppendAlternating(6);
  const int64_t to = OnPostgres() ? 3 : 5;  // on PostgreSQL, the chain of entries 2, 4 and 6
  Rehash(3, [&](Record& r) { r.chain = to; });
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 3);
  if (OnPostgres()) {
    EXPECT_EQ(report.problem,
              "entry 3 on chain 3 does not follow entry 2, the one before it on that chain: "
              "an entry between them was removed or changed");
  } else {
    EXPECT_EQ(report.problem,
              "entry 3 is the first on chain 5 but does not start a chain: an entry before it "
              "on that chain was removed or changed");
  }
}

// Truncating the newest entries leaves shorter chains that are still valid: a hash chain alone
// cannot show that its end is missing. Detecting this needs the heads of the chains sealed
// elsewhere (signed checkpoints), which is later work. This test documents the limit; when
// sealing lands it should expect a failure instead.
TEST_P(AuditLogTest, TruncatedTailIsNotDetectableByTheChainAlone) {
  AppendAlternating(6);
  Sql("DELETE FROM audit_log WHERE seq > 4");
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 4);
}

// Regression: fields were joined by \x1f without escaping, so moving a \x1f from one field to
// the next kept the hash and the tampering went unnoticed.
TEST_P(AuditLogTest, MovingASeparatorBetweenFieldsIsDetected) {
  Append(Entry{"person.read", "person", "12\x1fx", core::PersonId{12}, true, "ok"},
         Caseworker("req\x1fy"));
  Sql("UPDATE audit_log SET request_id = ?, action = ? WHERE seq = 1",
      {std::string("req"), std::string("y\x1fperson.read")});
  Sql("UPDATE audit_log SET record_type = ?, record_id = ? WHERE seq = 1",
      {std::string("person\x1f" "12"), std::string("x")});
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 1);
  EXPECT_EQ(report.problem, "entry 1 was modified: its content does not match its hash");
}

// The entries written before chains existed are chain 0 and verify unchanged after the
// migration; new ones continue chain 0 on SQLite and start chains 1.. on PostgreSQL, after
// the old entries' seqs.
TEST_P(AuditLogTest, EntriesFromBeforeChainsKeepVerifyingAfterTheMigration) {
  db_ = NewDb(SchemaBeforeChains());
  std::string prev = kGenesis;
  for (int64_t seq = 1; seq <= 3; ++seq) {
    Record r;
    r.seq = seq;
    r.at = {1000 + seq};
    r.user_id = 7;
    r.agency_id = 3;
    r.actor = "cw.jones";
    r.roles = "caseworker";
    r.purpose = "case_work";
    r.request_id = "old";
    r.entry = ReadPerson(seq);
    r.prev_hash = prev;
    r.hash = AuditLog::ComputeHash(r);
    prev = r.hash;
    Sql("INSERT INTO audit_log (seq, at, user_id, agency_id, actor, roles, purpose, request_id, "
        "action, record_type, record_id, person_id, allowed, reason, prev_hash, hash) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        {r.seq, r.at.micros, r.user_id, r.agency_id, r.actor, r.roles, r.purpose, r.request_id,
         r.entry.action, r.entry.record_type, r.entry.record_id, r.entry.person->value, int64_t{1},
         r.entry.reason, r.prev_hash, r.hash});
  }
  auto applied = storage::Migrate(*db_, storage::OnedoorSchema());
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  // Every migration from 4 (the chains) on.
  EXPECT_EQ(*applied, static_cast<int>(storage::OnedoorSchema().size()) - 3);
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 3);
  EXPECT_EQ(report.chains, 1);

  Append(ReadPerson(1));
  Append(ReadPerson(2));
  std::vector<Record> all = All();
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[2].chain, 0);
  EXPECT_EQ(all[3].seq, 4);
  EXPECT_EQ(all[4].seq, 5);
  EXPECT_EQ(all[3].chain, OnPostgres() ? 2 : 0);
  EXPECT_EQ(all[4].chain, OnPostgres() ? 3 : 0);
  EXPECT_EQ(all[3].prev_hash, OnPostgres() ? kGenesis : all[2].hash);
  report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 5);
  EXPECT_EQ(report.chains, OnPostgres() ? 3 : 1);

  // Chain 0 keeps its gap check on both databases.
  Sql("DELETE FROM audit_log WHERE seq = 2");
  report = Verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 2);
  EXPECT_EQ(report.problem, "entry 2 is missing (the next entry found is 3)");
}

// `onedoor db copy` both ways: the copy verifies, and the target appends after the copied
// entries (on PostgreSQL, audit_log_seq is moved past them).
TEST_P(AuditLogTest, CopiedLogVerifiesAndTakesNewEntriesOnTheOtherDatabase) {
  AppendAlternating(5);
  Append(Entry{"login.failed", "user", "cw.jones", std::nullopt, false, "wrong password"});
  // The other database.
  testing_support::TempDir dir;
  std::unique_ptr<storage::Database> target = OnPostgres() ? testing_support::NewMigratedSqlite(dir)
                                                           : NewPostgres(storage::OnedoorSchema());
  auto copied = storage::CopyDatabase(*db_, *target, storage::OnedoorTables(), 4);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  VerifyReport report = VerifyOf(*target);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 6);
  EXPECT_EQ(report.chains, OnPostgres() ? 3 : 1);

  Status s = target->Write(
      [&](storage::Transaction& tx) { return log_.Append(tx, Caseworker(), ReadPerson(1)); });
  ASSERT_TRUE(s.ok()) << s.ToString();
  int64_t seq = 0;
  int64_t chain = -1;
  s = target->Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<Record> newest, log_.List(tx, 1));
    seq = newest.at(0).seq;
    chain = newest.at(0).chain;
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(seq, 7);
  EXPECT_EQ(chain, OnPostgres() ? 0 : 2);  // the target's own kind of chain
  report = VerifyOf(*target);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 7);
  EXPECT_EQ(report.chains, OnPostgres() ? 4 : 2);
}

TEST_P(AuditLogTest, ForPersonReturnsOnlyThatPersonNewestFirst) {
  AppendMany(9);  // persons 1,2,3,1,2,3,1,2,3 at seq 1..9
  Append(Entry{"login.failed", "user", "cw.jones", std::nullopt, false, "wrong password"});
  std::vector<Record> records;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(records, log_.ForPerson(tx, core::PersonId{2}, 10));
                   return Status::Ok();
                 })
                  .ok());
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].seq, 8);
  EXPECT_EQ(records[1].seq, 5);
  EXPECT_EQ(records[2].seq, 2);
  for (const Record& r : records) {
    ASSERT_TRUE(r.entry.person.has_value());
    EXPECT_EQ(r.entry.person->value, 2);
    EXPECT_EQ(r.entry.record_id, "2");
    EXPECT_EQ(r.chain, OnPostgres() ? 3 : 0);
  }

  // Limit and paging.
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(records, log_.ForPerson(tx, core::PersonId{1}, 2));
                   EXPECT_EQ(records.size(), 2u);
                   if (records.size() == 2) {
                     EXPECT_EQ(records[0].seq, 7);
                     EXPECT_EQ(records[1].seq, 4);
                   }
                   ASSIGN_OR_RETURN(records,
                                    log_.ForPerson(tx, core::PersonId{1}, 2, /*before_seq=*/4));
                   EXPECT_EQ(records.size(), 1u);
                   if (records.size() == 1) {
                     EXPECT_EQ(records[0].seq, 1);
                   }
                   ASSIGN_OR_RETURN(records, log_.ForPerson(tx, core::PersonId{42}, 10));
                   EXPECT_TRUE(records.empty());
                   return Status::Ok();
                 })
                  .ok());
}

TEST_P(AuditLogTest, ListReturnsEveryChainNewestFirst) {
  AppendMany(6);
  std::vector<Record> records;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(records, log_.List(tx, 4, /*before_seq=*/6));
                   return Status::Ok();
                 })
                  .ok());
  std::vector<int64_t> seqs;
  for (const Record& r : records) seqs.push_back(r.seq);
  EXPECT_EQ(seqs, (std::vector<int64_t>{5, 4, 3, 2}));
}

TEST_P(AuditLogTest, RefusedEntriesAreStoredWithTheirReason) {
  Append(ReadPerson(1));
  Append(Entry{"person.read", "person", "1", core::PersonId{1}, false,
               "role frontdesk may not read case notes"});
  Append(Entry{"login.failed", "user", "cw.jones", std::nullopt, false, "wrong password"});
  std::vector<Record> all = All();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_FALSE(all[2].entry.allowed);
  EXPECT_EQ(all[2].entry.reason, "wrong password");
  EXPECT_FALSE(all[2].entry.person.has_value());
  EXPECT_FALSE(all[1].entry.allowed);
  EXPECT_EQ(all[1].entry.reason, "role frontdesk may not read case notes");
  EXPECT_TRUE(all[0].entry.allowed);
  std::vector<Record> about;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(about, log_.ForPerson(tx, core::PersonId{1}, 10));
                   return Status::Ok();
                 })
                  .ok());
  ASSERT_EQ(about.size(), 2u);
  EXPECT_FALSE(about[0].entry.allowed);
  EXPECT_EQ(about[0].entry.reason, "role frontdesk may not read case notes");
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 3);
}

Record SampleRecord() {
  Record base;
  base.seq = 3;
  base.at = {1000};
  base.user_id = 1;
  base.agency_id = 2;
  base.actor = "a";
  base.roles = "caseworker";
  base.purpose = "case_work";
  base.request_id = "r";
  base.entry = ReadPerson(5);
  base.prev_hash = kGenesis;
  return base;
}

TEST(AuditLogHash, CoversEveryField) {
  const Record base = SampleRecord();
  const std::string h = AuditLog::ComputeHash(base);
  EXPECT_EQ(h, AuditLog::ComputeHash(base));  // deterministic
  std::vector<Record> variants(18, base);
  variants[0].seq = 4;
  variants[1].at = {1001};
  variants[2].user_id = 9;
  variants[3].agency_id = 9;
  variants[4].actor = "b";
  variants[5].roles = "admin";
  variants[6].purpose = "audit";
  variants[7].request_id = "s";
  variants[8].entry.action = "person.update";
  variants[9].entry.record_type = "household";
  variants[10].entry.record_id = "6";
  variants[11].entry.person = core::PersonId{6};
  variants[12].entry.allowed = false;
  variants[13].entry.reason = "other";
  variants[14].prev_hash = std::string(64, '1');
  variants[15].chain = 6;
  variants[16].chain = -1;
  variants[17].client_address = "203.0.113.7";
  for (size_t i = 0; i < variants.size(); ++i)
    EXPECT_NE(AuditLog::ComputeHash(variants[i]), h) << i;
  Record on_6 = base;
  on_6.chain = 6;
  Record on_7 = base;
  on_7.chain = 7;
  EXPECT_NE(AuditLog::ComputeHash(on_6), AuditLog::ComputeHash(on_7));
  // The same characters split differently between two neighbouring fields.
  Record shifted = base;
  shifted.actor = "a\x1f" "b";
  shifted.roles = "c";
  Record other = base;
  other.actor = "a";
  other.roles = "b\x1f" "c";
  EXPECT_NE(AuditLog::ComputeHash(shifted), AuditLog::ComputeHash(other));
}

// Golden values: SHA-256 of the fields joined by \x1f, computed outside onedoor. Chain 0 hashes
// as before chains existed (so stored entries keep verifying); other chains add the chain as
// a last field.
TEST(AuditLogHash, ChainZeroHashesAsBeforeChainsAndOtherChainsAddTheChain) {
  Record r = SampleRecord();
  EXPECT_EQ(AuditLog::ComputeHash(r),
            "f0580a9a8475a9ec8b94c26327e5ff3ee7eb20510d0e8cf976bb4fc0d00942dd");
  r.chain = 6;
  EXPECT_EQ(AuditLog::ComputeHash(r),
            "7b6a9e46fed0e46937b57b1ce2915f79001290dab6e3111c7d8ae8e9720053fc");
}

// The client's address comes last, as "a=" and the address, only when there is one: entries
// without keep their hashes.
TEST(AuditLogHash, TheClientAddressIsALastTaggedFieldOnlyWhenKnown) {
  Record r = SampleRecord();
  r.client_address = "203.0.113.7";
  EXPECT_EQ(AuditLog::ComputeHash(r),
            "357c6fe2369971b1561899e2deea879001657a7986bfbc1f1e7228c796a376dc");
  r.chain = 6;
  r.client_address = "2001:db8::1";
  EXPECT_EQ(AuditLog::ComputeHash(r),
            "a72f37f9bdd1d977caf7cdadfe94bd76d60c3a2415a4cd660bc32e8b61615533");
  // An address cannot pass for a chain, nor a chain for an address.
  Record chain_only = SampleRecord();
  chain_only.chain = 6;
  Record address_only = SampleRecord();
  address_only.client_address = "6";
  EXPECT_NE(AuditLog::ComputeHash(chain_only), AuditLog::ComputeHash(address_only));
}

}  // namespace
}  // namespace audit
