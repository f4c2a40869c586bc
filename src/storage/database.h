#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

// The narrow interface every store is written against. SQL uses `?` placeholders and the
// portable subset of SQL that SQLite and PostgreSQL share; a backend translates the rest.
namespace storage {

using Null = std::monostate;
using Value = std::variant<Null, int64_t, double, std::string>;
using Params = std::vector<Value>;

// One result row. Column access by index; a wrong type is a programming error, so the
// accessors convert where they can (an integer read as text) and never throw.
class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  bool IsNull(size_t i) const { return std::holds_alternative<Null>(values_.at(i)); }
  int64_t Int(size_t i) const;
  double Real(size_t i) const;
  std::string Text(size_t i) const;
  std::optional<std::string> OptText(size_t i) const;
  std::optional<int64_t> OptInt(size_t i) const;
  const Value& at(size_t i) const { return values_.at(i); }

 private:
  std::vector<Value> values_;
};

using Rows = std::vector<Row>;

enum class Dialect { kSqlite, kPostgres };

// A unit of work. Errors from the database come back as Status:
//   kAlreadyExists      a unique constraint was violated
//   kFailedPrecondition a foreign key or check constraint was violated
//   kUnavailable        the database is busy, locked, or unreachable
//   kInternal           anything else (bad SQL is a programming error)
// Not thread-safe: a transaction belongs to the thread running the callback.
class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual core::StatusOr<Rows> Query(std::string_view sql, const Params& params = {}) = 0;
  // Returns the number of rows changed.
  virtual core::StatusOr<int64_t> Execute(std::string_view sql, const Params& params = {}) = 0;
  // Runs a statement whose result the caller does not need (an INSERT into a log, an index
  // row). A database may hold it and send it with the next statement or the commit
  // (PostgreSQL sends them together, one round trip for all); a failure is then reported by
  // that later call, or by the commit, and fails the write all the same. `on_error`, when
  // given, turns such a failure into the error the caller would have returned for it.
  using OnError = std::function<core::Status(core::Status)>;
  virtual core::Status Queue(std::string_view sql, const Params& params = {},
                             const OnError& on_error = nullptr) {
    core::Status s = Execute(sql, params).status();
    return s.ok() || !on_error ? s : on_error(std::move(s));
  }
  // Runs several statements without parameters (schema migrations).
  virtual core::Status ExecuteScript(std::string_view sql) = 0;
  virtual Dialect dialect() const = 0;
};

class Database;

// Marks, for its lifetime, the calling thread as inside a read of `db` in `tx`: what lets a
// nested Read join the outer one. For implementations of Database.
class ReadScope {
 public:
  ReadScope(const Database* db, Transaction* tx);
  ~ReadScope();
  ReadScope(const ReadScope&) = delete;
  ReadScope& operator=(const ReadScope&) = delete;
  // The read of `db` the calling thread is inside, or null.
  static Transaction* Current(const Database* db);
};

// A write handed to the database without waiting for it (Database::Submit): its result, once
// it is committed or has failed. Thread-safe.
class Submitted {
 public:
  using Then = std::function<void(core::Status)>;
  // Calls `then` once with the result: at once, on the calling thread, if the write is already
  // finished; else on the thread that finishes it (the database's writer), which commits
  // nothing more until `then` returns, so `then` must be short and must not wait for a write.
  // Several requests may wait on one write (entries written together): each `then` is called
  // once, in the order given.
  void OnFinished(Then then);
  // For implementations: sets the result and calls each waiting `then`.
  void Finish(core::Status result);

 private:
  std::mutex mu_;
  bool finished_ = false;  // GUARDED_BY(mu_)
  core::Status result_;    // GUARDED_BY(mu_)
  std::vector<Then> then_;  // GUARDED_BY(mu_)
};

// Calls `then` once, with the first error among `writes` or Ok, when all of them are finished.
void WhenAllFinished(std::vector<std::shared_ptr<Submitted>> writes, Submitted::Then then);

// A database. Thread-safe.
class Database {
 public:
  using Work = std::function<core::Status(Transaction&)>;
  virtual ~Database() = default;

  // Runs `work` in a read-only snapshot. Many readers run at once. A Read (or ReadOne) made
  // inside a Read of the same database, on the same thread, joins it: it runs in the outer
  // read's snapshot, on its session, so that nested reads never wait for a second session
  // (with every session held by a reader waiting for another, they would wait forever).
  virtual core::Status Read(const Work& work) = 0;

  // Runs one read-only statement in a snapshot of its own: Read with a single Query, in one
  // round trip where the database can (PostgreSQL sends BEGIN, the statement and COMMIT
  // together).
  virtual core::StatusOr<Rows> ReadOne(std::string_view sql, const Params& params = {}) {
    Rows rows;
    RETURN_IF_ERROR(Read([&](Transaction& tx) -> core::Status {
      ASSIGN_OR_RETURN(rows, tx.Query(sql, params));
      return core::Status::Ok();
    }));
    return rows;
  }

  // Runs `work` in a write transaction and returns once it is durable or has failed.
  // If `work` returns an error, none of its changes are kept and the error is returned.
  // Writes that arrive together may be committed together (group commit); each still
  // succeeds or fails alone.
  virtual core::Status Write(const Work& work) = 0;

  // Submits `work` as a Write, without waiting for it: the result comes through the returned
  // Submitted. Only where CanSubmit() is true is the calling thread free at once; elsewhere
  // this is Write, and what it returns is already finished.
  virtual std::shared_ptr<Submitted> Submit(Work work);
  virtual bool CanSubmit() const { return false; }

  virtual Dialect dialect() const = 0;
  // "sqlite:var/onedoor.db" — never a password.
  virtual std::string Describe() const = 0;
};

// Marks, for its lifetime, the calling thread as handling a request whose answer is held back
// until the writes it defers are durable, instead of the thread waiting for each of them: what
// lets a request be answered by a thread that must never wait (an I/O thread). Only writes
// whose result the caller does not need are deferred (an audit entry, a token's last use), by
// WriteOrDefer. Scopes do not nest.
class DeferScope {
 public:
  DeferScope();
  ~DeferScope();
  DeferScope(const DeferScope&) = delete;
  DeferScope& operator=(const DeferScope&) = delete;
  // The writes deferred so far, handed over to whatever holds the answer back.
  std::vector<std::shared_ptr<Submitted>> Take() { return std::move(writes_); }
  // Whether the calling thread is inside a scope: a thread that must not wait, which a
  // database serves without waiting for a free connection where it can.
  static bool Active();

 private:
  friend void DeferOn(std::shared_ptr<Submitted> write);
  std::vector<std::shared_ptr<Submitted>> writes_;
};

// Inside a DeferScope, on a database that CanSubmit(): submits `work` and returns Ok at once,
// leaving the scope to hold the answer back until it is durable (and to answer with an error
// if it failed). Elsewhere: db.Write(work).
core::Status WriteOrDefer(Database& db, Database::Work work);
// Whether WriteOrDefer on `db` would defer, here and now.
bool WillDefer(const Database& db);
// Inside a DeferScope: holds the answer back until `write`, already submitted (by this request
// or shared with others, as the audit log's entries written together are), is durable, and
// answers with an error if it failed. Only where WillDefer is true.
void DeferOn(std::shared_ptr<Submitted> write);

}  // namespace storage
