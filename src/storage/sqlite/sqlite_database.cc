#include "storage/sqlite/sqlite_database.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/log.h"

namespace storage {
namespace {

using core::Status;
using core::StatusOr;

Status FromSqlite(int rc, sqlite3* db, std::string_view what) {
  const int primary = rc & 0xff;
  const int extended = sqlite3_extended_errcode(db);
  std::string msg = fmt::format("{}: {}", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Status::AlreadyExists("a record with the same key already exists");
  }
  if (primary == SQLITE_CONSTRAINT) {
    return Status::FailedPrecondition("the change refers to a record that does not exist or breaks a rule");
  }
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Status::Unavailable("the database is busy");
  if (primary == SQLITE_FULL || primary == SQLITE_IOERR) return Status::Unavailable(msg);
  if (primary == SQLITE_READONLY) return Status::Unavailable(msg);
  return Status::Internal(msg);
}

// One connection with its prepared-statement cache.
class Connection {
 public:
  ~Connection() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    if (db_ != nullptr) sqlite3_close_v2(db_);
  }

  static StatusOr<std::unique_ptr<Connection>> Open(const std::string& path, bool readonly,
                                                    const SqliteOptions& options) {
    auto conn = std::unique_ptr<Connection>(new Connection());
    int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &conn->db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      return Status::Unavailable(fmt::format("cannot open the database {}: {}", path,
                                             conn->db_ ? sqlite3_errmsg(conn->db_) : sqlite3_errstr(rc)));
    }
    sqlite3_extended_result_codes(conn->db_, 1);
    sqlite3_busy_timeout(conn->db_, options.busy_timeout_ms);
    std::string pragmas = "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;";
    if (!readonly) pragmas = "PRAGMA journal_mode=WAL; " + pragmas;
    RETURN_IF_ERROR(conn->Script(pragmas));
    return conn;
  }

  Status Script(std::string_view sql) {
    std::string s(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      Status st = FromSqlite(rc, db_, "script");
      sqlite3_free(err);
      return st;
    }
    return Status::Ok();
  }

  StatusOr<sqlite3_stmt*> Prepare(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                &stmt, nullptr);
    if (rc != SQLITE_OK) return FromSqlite(rc, db_, fmt::format("prepare [{}]", sql));
    cache_.emplace(std::string(sql), stmt);
    return stmt;
  }

  // Runs one statement; collects rows when `rows` is given.
  StatusOr<int64_t> Run(std::string_view sql, const Params& params, Rows* rows) {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(stmt)) {
      return Status::Internal(fmt::format("statement expects {} parameters, got {}: {}",
                                          sqlite3_bind_parameter_count(stmt), params.size(), sql));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const int idx = static_cast<int>(i + 1);
      const Value& v = params[i];
      int rc = SQLITE_OK;
      if (std::holds_alternative<Null>(v)) {
        rc = sqlite3_bind_null(stmt, idx);
      } else if (auto* n = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, idx, *n);
      } else if (auto* d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, idx, *d);
      } else {
        const auto& s = std::get<std::string>(v);
        rc = sqlite3_bind_text64(stmt, idx, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8);
      }
      if (rc != SQLITE_OK) return FromSqlite(rc, db_, "bind");
    }
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return FromSqlite(rc, db_, "step");
      if (rows == nullptr) continue;
      const int n = sqlite3_column_count(stmt);
      std::vector<Value> values;
      values.reserve(n);
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_NULL: values.emplace_back(Null{}); break;
          case SQLITE_INTEGER: values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c))); break;
          case SQLITE_FLOAT: values.emplace_back(sqlite3_column_double(stmt, c)); break;
          default: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(stmt, c));
            values.emplace_back(std::string(p ? p : "", sqlite3_column_bytes(stmt, c)));
          }
        }
      }
      rows->emplace_back(std::move(values));
    }
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  sqlite3* raw() { return db_; }

 private:
  Connection() = default;
  sqlite3* db_ = nullptr;
  // Looked up by the statement's text as given, without a copy of it.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> cache_;
};

class SqliteTransaction final : public Transaction {
 public:
  explicit SqliteTransaction(Connection& conn) : conn_(conn) {}
  StatusOr<Rows> Query(std::string_view sql, const Params& params) override {
    Rows rows;
    RETURN_IF_ERROR(conn_.Run(sql, params, &rows).status());
    return rows;
  }
  StatusOr<int64_t> Execute(std::string_view sql, const Params& params) override {
    return conn_.Run(sql, params, nullptr);
  }
  Status ExecuteScript(std::string_view sql) override { return conn_.Script(sql); }
  Dialect dialect() const override { return Dialect::kSqlite; }

 private:
  Connection& conn_;
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::string path, SqliteOptions options) : path_(std::move(path)), options_(options) {}

  ~SqliteDatabase() override {
    {
      std::lock_guard lock(write_mu_);
      stopping_ = true;
    }
    write_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_stopping_ = true;
    }
    checkpoint_cv_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
  }

  Status Init() {
    ASSIGN_OR_RETURN(writer_conn_, Connection::Open(path_, false, options_));
    for (int i = 0; i < options_.read_connections; ++i) {
      ASSIGN_OR_RETURN(auto conn, Connection::Open(path_, true, options_));
      readers_.push_back(std::move(conn));
    }
    // Checkpoints run on a thread of their own rather than in the writer's commits (SQLite's
    // default, every 1,000 pages): a group's commit no longer waits for pages to be copied back
    // into the database file and synced, and each page changed often is copied once per
    // `checkpoint_pages` of log instead of once per 1,000.
    if (options_.checkpoint_pages > 0) {
      ASSIGN_OR_RETURN(checkpoint_conn_, Connection::Open(path_, false, options_));
      sqlite3_wal_hook(writer_conn_->raw(), &SqliteDatabase::OnWalCommit, this);
      checkpointer_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "od-sqlite-ckpt");
        CheckpointLoop();
      });
    }
    writer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "od-sqlite-write");  // as `top -H` and `ps -L` show it
      WriterLoop();
    });
    return Status::Ok();
  }

  Status Read(const Work& work) override {
    if (Transaction* outer = ReadScope::Current(this)) return RunWork(work, *outer);
    std::unique_ptr<Connection> conn;
    {
      std::unique_lock lock(read_mu_);
      // A thread that must not wait (an I/O thread answering a request) opens one more
      // connection rather than wait for one held by a long read elsewhere.
      if (readers_.empty() && DeferScope::Active() && extra_readers_ < kMaxExtraReaders) {
        ++extra_readers_;
        lock.unlock();
        auto opened = Connection::Open(path_, true, options_);
        if (!opened.ok()) {
          std::lock_guard again(read_mu_);
          --extra_readers_;
          return opened.status();
        }
        conn = std::move(opened).value();
      } else {
        read_cv_.wait(lock, [&] { return !readers_.empty(); });
        conn = std::move(readers_.back());
        readers_.pop_back();
      }
    }
    Status result = RunRead(*conn, work, this);
    {
      std::lock_guard lock(read_mu_);
      readers_.push_back(std::move(conn));
    }
    read_cv_.notify_one();
    return result;
  }

  Status Write(const Work& work) override {
    Pending pending{&work};
    {
      std::lock_guard lock(write_mu_);
      if (stopping_) return Status::Unavailable("the database is closing");
      queue_.push_back(&pending);
    }
    write_cv_.notify_one();
    // Woken once per group, not once per write: the writer marks every write of the group done,
    // then moves `committed_groups_` on and wakes all waiters in one call.
    uint32_t seen = committed_groups_.load(std::memory_order_acquire);
    while (!pending.done.load(std::memory_order_acquire)) {
      committed_groups_.wait(seen, std::memory_order_acquire);
      seen = committed_groups_.load(std::memory_order_acquire);
    }
    return std::move(pending.result);
  }

  std::shared_ptr<Submitted> Submit(Work work) override {
    auto submitted = std::make_shared<Submitted>();
    auto pending = std::make_unique<Pending>();
    pending->owned = std::move(work);
    pending->work = &pending->owned;
    pending->submitted = submitted;
    bool closing = false;
    {
      std::lock_guard lock(write_mu_);
      closing = stopping_;
      if (!closing) queue_.push_back(pending.release());  // the writer deletes it once finished
    }
    if (closing) {
      submitted->Finish(Status::Unavailable("the database is closing"));
      return submitted;
    }
    write_cv_.notify_one();
    return submitted;
  }
  bool CanSubmit() const override { return true; }

  Dialect dialect() const override { return Dialect::kSqlite; }
  std::string Describe() const override { return "sqlite:" + path_; }

 private:
  // One write waiting for its group's commit. The writer sets `result`, then `done`; the waiting
  // thread reads `result` once it sees `done`.
  // A submitted write (Submit) owns its work and is finished through `submitted`, after which
  // the writer deletes it; nothing waits on `done`.
  struct Pending {
    const Work* work = nullptr;
    Status result;
    std::atomic<bool> done{false};
    Work owned;
    std::shared_ptr<Submitted> submitted;
    // After this, the writer no longer touches a waited-for Pending: its thread may return at once.
    void Finish(Status s) {
      result = std::move(s);
      done.store(true, std::memory_order_release);
    }
  };

  // Marks every write of `batch` finished with its result, wakes the threads waiting for theirs,
  // then hands the submitted ones their results.
  void FinishAll(const std::vector<Pending*>& batch, std::vector<Status> results) {
    std::vector<std::pair<std::shared_ptr<Submitted>, Status>> submitted;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i]->submitted) {
        submitted.emplace_back(std::move(batch[i]->submitted), std::move(results[i]));
        delete batch[i];
      } else {
        batch[i]->Finish(std::move(results[i]));
      }
    }
    WakeWaiters();
    for (auto& [s, result] : submitted) s->Finish(std::move(result));
  }

  static Status RunWork(const Work& work, Transaction& tx) {
    try {
      return work(tx);
    } catch (const std::exception& e) {
      core::LogError("unexpected exception in a database transaction", {{"what", e.what()}});
      return Status::Internal("unexpected error in a database transaction");
    } catch (...) {
      // Anything else would escape the writer thread and end the process.
      core::LogError("unexpected exception in a database transaction", {{"what", "not a std::exception"}});
      return Status::Internal("unexpected error in a database transaction");
    }
  }

  static Status RunRead(Connection& conn, const Work& work, const Database* db) {
    RETURN_IF_ERROR(conn.Run("BEGIN", {}, nullptr).status());
    SqliteTransaction tx(conn);
    Status result;
    {
      ReadScope scope(db, &tx);
      result = RunWork(work, tx);
    }
    Status end = conn.Run("COMMIT", {}, nullptr).status();
    if (!end.ok()) (void)conn.Run("ROLLBACK", {}, nullptr);
    return result.ok() ? end : result;
  }

  void WriterLoop() {
    for (;;) {
      std::vector<Pending*> batch;
      {
        std::unique_lock lock(write_mu_);
        write_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty() && stopping_) return;
        while (!queue_.empty() && static_cast<int>(batch.size()) < options_.max_group_size) {
          batch.push_back(queue_.front());
          queue_.pop_front();
        }
      }
      CommitGroup(batch);
    }
  }

  // Runs each write in its own savepoint inside one transaction and commits them together.
  void CommitGroup(const std::vector<Pending*>& batch) {
    Connection& conn = *writer_conn_;
    std::vector<Status> results(batch.size());
    Status begin = conn.Run("BEGIN IMMEDIATE", {}, nullptr).status();
    if (!begin.ok()) {
      FinishAll(batch, std::vector<Status>(batch.size(), begin));
      return;
    }
    SqliteTransaction tx(conn);
    for (size_t i = 0; i < batch.size(); ++i) {
      Status sp = conn.Run("SAVEPOINT w", {}, nullptr).status();
      if (!sp.ok()) {
        results[i] = sp;
        continue;
      }
      results[i] = RunWork(*batch[i]->work, tx);
      if (!results[i].ok()) (void)conn.Run("ROLLBACK TO w", {}, nullptr);
      (void)conn.Run("RELEASE w", {}, nullptr);
    }
    Status commit = conn.Run("COMMIT", {}, nullptr).status();
    if (!commit.ok()) {
      (void)conn.Run("ROLLBACK", {}, nullptr);
      core::LogError("group commit failed", {{"error", commit.ToString()}});
      for (auto& r : results) {
        if (r.ok()) r = Status::Unavailable("the change could not be saved: " + commit.message());
      }
    }
    FinishAll(batch, std::move(results));
  }

  // Called by SQLite on the writer's thread after each commit, with the log's length in pages.
  // Once the checkpointer has copied all but the last few pages, the writer copies those itself
  // (a sixteenth of the log at most, where it would otherwise copy every page of it): the log is then
  // entirely in the database file, and the next write starts it again from its beginning. A
  // checkpointer alone would stay behind a writer that never pauses, and the log would grow.
  static int OnWalCommit(void* self, sqlite3* db, const char* /*name*/, int pages) {
    auto* d = static_cast<SqliteDatabase*>(self);
    if (d->checkpoint_caught_up_.exchange(false, std::memory_order_acq_rel)) {
      (void)sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (pages >= d->options_.checkpoint_pages) {
      {
        std::lock_guard lock(d->checkpoint_mu_);
        d->checkpoint_wanted_ = true;
      }
      d->checkpoint_cv_.notify_one();
    }
    return SQLITE_OK;
  }

  // Copies the log's committed pages into the database file without blocking the writer or the
  // readers (passive checkpoints), until fewer than a sixteenth of `checkpoint_pages` remain.
  void CheckpointLoop() {
    sqlite3* db = checkpoint_conn_->raw();
    const int catch_up = std::max(16, options_.checkpoint_pages / 16);
    for (;;) {
      {
        std::unique_lock lock(checkpoint_mu_);
        checkpoint_cv_.wait(lock, [&] { return checkpoint_stopping_ || checkpoint_wanted_; });
        if (checkpoint_stopping_) return;
        checkpoint_wanted_ = false;
      }
      for (int round = 0; round < 8; ++round) {
        int log = 0;
        int copied = 0;
        int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
        if (rc != SQLITE_OK) {
          if (rc != SQLITE_BUSY) {
            core::LogError("checkpoint failed", {{"error", FromSqlite(rc, db, "checkpoint").ToString()}});
          }
          break;
        }
        if (log - copied < catch_up) {
          checkpoint_caught_up_.store(true, std::memory_order_release);
          break;
        }
        // The writer appended while this checkpoint ran: copy what it appended.
      }
    }
  }

  void WakeWaiters() {
    committed_groups_.fetch_add(1, std::memory_order_release);
    committed_groups_.notify_all();
  }

  const std::string path_;
  const SqliteOptions options_;
  std::atomic<uint32_t> committed_groups_{0};

  std::unique_ptr<Connection> writer_conn_;
  std::thread writer_;
  std::mutex write_mu_;
  std::condition_variable write_cv_;
  std::deque<Pending*> queue_;  // GUARDED_BY(write_mu_)
  bool stopping_ = false;       // GUARDED_BY(write_mu_)

  std::unique_ptr<Connection> checkpoint_conn_;
  std::thread checkpointer_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;    // GUARDED_BY(checkpoint_mu_)
  std::atomic<bool> checkpoint_caught_up_{false};
  bool checkpoint_stopping_ = false;  // GUARDED_BY(checkpoint_mu_)

  // Connections opened beyond read_connections, for threads that must not wait; they join the
  // pool once opened.
  static constexpr int kMaxExtraReaders = 8;

  std::mutex read_mu_;
  std::condition_variable read_cv_;
  std::vector<std::unique_ptr<Connection>> readers_;  // GUARDED_BY(read_mu_)
  int extra_readers_ = 0;                             // GUARDED_BY(read_mu_)
};

}  // namespace

StatusOr<std::unique_ptr<Database>> OpenSqlite(const std::string& path, const SqliteOptions& options) {
  if (sqlite3_threadsafe() == 0) return Status::Internal("SQLite was built without thread safety");
  // Memory statistics take a process-wide mutex on every allocation; nothing here reads them.
  // Has effect only before SQLite is first used, so it is done once, before the first open.
  static const int no_memstatus = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)no_memstatus;
  // Each write of a group runs in a savepoint, whose undo pages (the statement journal) SQLite
  // keeps in memory up to 64 KiB and then writes to a temporary file: a write of a few dozen
  // entries went over it. Up to 16 MiB stay in memory.
  static const int stmt_spill = sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 16 << 20);
  (void)stmt_spill;
  // A new database holds personal data: readable by its owner only (SQLite gives its write-ahead
  // log and shared-memory files the database file's permissions).
  if (std::error_code ec; !path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0 &&
                          !std::filesystem::exists(path, ec)) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) ::close(fd);
  }
  auto db = std::make_unique<SqliteDatabase>(path, options);
  RETURN_IF_ERROR(db->Init());
  return std::unique_ptr<Database>(std::move(db));
}

Status BackupSqlite(const std::string& from, const std::string& to) {
  if (to.empty())
    return Status::InvalidArgument("give the name of the backup file: onedoor backup FILE");
  if (std::error_code ec;
      std::filesystem::exists(to, ec) && std::filesystem::equivalent(from, to, ec)) {
    return Status::InvalidArgument(
        fmt::format("{} is the database itself: write the backup to another file", to));
  }
  if (std::error_code ec; std::filesystem::is_directory(to, ec)) {
    return Status::InvalidArgument(
        fmt::format("{} is a folder: give the backup a file name inside it", to));
  }
  std::error_code exists_ec;
  const bool existed = std::filesystem::exists(to, exists_ec);
  sqlite3* src = nullptr;
  sqlite3* dst = nullptr;
  int rc = sqlite3_open_v2(from.c_str(), &src, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close_v2(src);
    return Status::NotFound(fmt::format("cannot open the database {}", from));
  }
  // The source is checked first, so that a mistake in it is not blamed on the backup file.
  rc = sqlite3_exec(src, "SELECT COUNT(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    const Status bad =
        rc == SQLITE_NOTADB
            ? Status::InvalidArgument(fmt::format(
                  "the database {} is a file that is not a SQLite database: check the db setting",
                  from))
            : FromSqlite(rc, src, "backup");
    sqlite3_close_v2(src);
    return bad;
  }
  // A new backup holds the whole register: readable by its owner only, like the database.
  if (!existed) {
    const int fd = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
      const int err = errno;
      sqlite3_close_v2(src);
      return Status::Unavailable(
          fmt::format("cannot create the backup file {}: {}", to, std::strerror(err)));
    }
    ::close(fd);
  }
  rc = sqlite3_open_v2(to.c_str(), &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close_v2(src);
    sqlite3_close_v2(dst);
    return Status::Unavailable(fmt::format("cannot create the backup file {}", to));
  }
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  Status result = Status::Ok();
  if (b == nullptr && sqlite3_errcode(dst) == SQLITE_NOTADB) {
    result = Status::InvalidArgument(fmt::format(
        "{} is a file that is not a SQLite database: give the backup a new file name", to));
  } else if (b == nullptr) {
    result = FromSqlite(sqlite3_errcode(dst), dst, "backup");
  } else {
    do {
      rc = sqlite3_backup_step(b, 256);
      if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(50);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (rc == SQLITE_NOTADB) {
      result = Status::InvalidArgument(fmt::format(
          "{} is a file that is not a SQLite database: give the backup a new file name", to));
    } else if (rc != SQLITE_DONE) {
      result = FromSqlite(rc, dst, "backup");
    }
  }
  sqlite3_close_v2(src);
  sqlite3_close_v2(dst);
  // A file replaced (the nightly copy to the same name) is made readable by its owner only too.
  if (result.ok()) {
    std::error_code ec;
    std::filesystem::permissions(
        to, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
        std::filesystem::perm_options::replace, ec);
  }
  // A backup that failed (a full disk, say) leaves no new file behind, which SQLite would open as
  // an empty database and someone might take for a backup.
  if (!result.ok() && !existed) {
    std::error_code ec;
    std::filesystem::remove(to, ec);
    std::filesystem::remove(to + "-journal", ec);
  }
  return result;
}

}  // namespace storage
