#include "storage/postgres/postgres_database.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/log.h"

namespace storage {
namespace {

using core::Status;
using core::StatusOr;

// Type OIDs fixed by PostgreSQL's catalog (pg_type.dat); they never change between versions.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

// Rewrites `?` placeholders as $1..$n, leaving alone those inside string literals, quoted
// identifiers and comments. Sets `count` to n.
std::string TranslatePlaceholders(std::string_view sql, int& count) {
  enum class In { kCode, kString, kIdentifier, kLineComment, kBlockComment };
  In in = In::kCode;
  std::string out;
  out.reserve(sql.size() + 16);
  count = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    const char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
    switch (in) {
      case In::kCode:
        if (c == '?') {
          out += '$';
          out += std::to_string(++count);
          continue;
        }
        if (c == '\'') in = In::kString;
        if (c == '"') in = In::kIdentifier;
        if (c == '-' && next == '-') in = In::kLineComment;
        if (c == '/' && next == '*') in = In::kBlockComment;
        break;
      case In::kString:  // a doubled '' leaves and re-enters, which is the same
        if (c == '\'') in = In::kCode;
        break;
      case In::kIdentifier:
        if (c == '"') in = In::kCode;
        break;
      case In::kLineComment:
        if (c == '\n') in = In::kCode;
        break;
      case In::kBlockComment:
        if (c == '*' && next == '/') {
          out += "*/";
          ++i;
          in = In::kCode;
          continue;
        }
        break;
    }
    out += c;
  }
  return out;
}

std::string FormatDouble(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{:.17g}", d);
}

// One line, without the trailing newline libpq adds, and without `secret` if it is given.
std::string Clean(std::string text, const std::string& secret) {
  std::string line;
  for (char c : text) {
    if (c == '\n' || c == '\t') c = ' ';
    if (c != ' ' || (!line.empty() && line.back() != ' ')) line += c;
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  text = std::move(line);
  if (!secret.empty()) {
    for (size_t pos = text.find(secret); pos != std::string::npos;
         pos = text.find(secret, pos + 3)) {
      text.replace(pos, secret.size(), "***");
    }
  }
  return text;
}

bool IsRetryable(const std::string& sqlstate) { return sqlstate == "40001" || sqlstate == "40P01"; }

Value DecodeValue(Oid type, const char* text, int length) {
  switch (type) {
    case kInt8Oid:
    case kInt4Oid:
    case kInt2Oid:
    case kOidOid: {
      int64_t n = 0;
      std::from_chars(text, text + length, n);
      return n;
    }
    case kFloat8Oid:
    case kFloat4Oid:
      return std::strtod(text, nullptr);
    case kNumericOid: {
      // SUM() of BIGINT is NUMERIC in PostgreSQL and an integer in SQLite: keep whole
      // numbers that fit as integers so that both read the same.
      int64_t n = 0;
      auto [end, ec] = std::from_chars(text, text + length, n);
      if (ec == std::errc() && end == text + length) return n;
      return std::strtod(text, nullptr);
    }
    case kBoolOid:
      return int64_t{text[0] == 't' ? 1 : 0};
    case kByteaOid: {
      size_t size = 0;
      unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &size);
      if (raw == nullptr) return std::string(text, length);
      std::string bytes(reinterpret_cast<const char*>(raw), size);
      PQfreemem(raw);
      return bytes;
    }
    default:
      return std::string(text, length);
  }
}

// A statement waiting to be sent: its text as the caller wrote it (the key of the
// prepared-statement cache) and its parameters as text.
struct Statement {
  std::string sql;
  bool prepare = true;  // false for BEGIN and COMMIT: sent as written, without parameters
  std::vector<std::optional<std::string>> values;
  Transaction::OnError on_error;

  static Statement Plain(std::string_view sql) { return {std::string(sql), false, {}, nullptr}; }
};

// One session with its prepared-statement cache. Used by one thread at a time.
//
// Statements are sent in pipelines: a transaction's BEGIN waits for its first statement, and
// statements queued with Queue() wait for the next statement or the commit, so that all of them
// make one round trip to the server. Within a pipeline the server runs them in order and skips
// the rest after a failure; the first failure is the one reported.
class Connection {
 public:
  ~Connection() {
    if (conn_ != nullptr) PQfinish(conn_);
  }

  static StatusOr<std::unique_ptr<Connection>> Open(const std::string& url,
                                                    const std::string& redacted,
                                                    const std::string& password,
                                                    const PostgresOptions& options) {
    const std::string timeout = std::to_string(options.connect_timeout_seconds);
    // Later entries win: the URL may override the timeout and the name, never the encoding.
    const char* keys[] = {"connect_timeout", "application_name", "dbname", "client_encoding",
                          nullptr};
    const char* values[] = {timeout.c_str(), "onedoor", url.c_str(), "UTF8", nullptr};
    auto conn = std::unique_ptr<Connection>(new Connection());
    conn->conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (conn->conn_ == nullptr)
      return Status::Unavailable("cannot connect to the database: out of memory");
    if (PQstatus(conn->conn_) != CONNECTION_OK) {
      return Status::Unavailable(fmt::format("cannot connect to the database {}: {}", redacted,
                                             Clean(PQerrorMessage(conn->conn_), password)));
    }
    // libpq prints notices ("relation already exists, skipping") on stderr by default.
    PQsetNoticeProcessor(
        conn->conn_, [](void*, const char*) {}, nullptr);
    return conn;
  }

  // Starts a transaction with `command`; it is sent with the transaction's first statement.
  void Begin(std::string_view command) {
    pending_.clear();
    pending_.push_back(Statement::Plain(command));
    begin_pending_ = true;
  }

  // Ends the transaction with `command` (COMMIT); `tag` gets the server's command tag
  // ("COMMIT", or "ROLLBACK" when COMMIT found a failed transaction). A transaction that ran
  // nothing ends without a round trip.
  Status End(std::string_view command, std::string* tag) {
    if (begin_pending_ && pending_.size() == 1) {
      pending_.clear();
      begin_pending_ = false;
      if (tag != nullptr) *tag = std::string(command);
      return Status::Ok();
    }
    // A session lost meanwhile is replaced only before anything is committed: the statements
    // go first, the commit after.
    if (begin_pending_) RETURN_IF_ERROR(Flush(nullptr, nullptr, nullptr, nullptr));
    Statement end = Statement::Plain(command);
    return Flush(&end, nullptr, nullptr, tag);
  }

  // Forgets what is queued and rolls back what the server has begun.
  void Abandon() {
    pending_.clear();
    begin_pending_ = false;
    if (!broken() && PQtransactionStatus(conn_) != PQTRANS_IDLE) (void)Simple("ROLLBACK");
  }

  // Runs statements without parameters through the simple protocol, after what is queued.
  Status Simple(std::string_view sql) {
    if (!pending_.empty()) RETURN_IF_ERROR(Flush(nullptr, nullptr, nullptr, nullptr));
    ResultPtr res(PQexec(conn_, std::string(sql).c_str()), &PQclear);
    const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
      return Fail(res.get(), "script");
    }
    return Status::Ok();
  }

  // Runs one statement after what is queued; collects rows when `rows` is given. Returns the
  // rows changed.
  StatusOr<int64_t> Run(std::string_view sql, const Params& params, Rows* rows) {
    ASSIGN_OR_RETURN(Statement stmt, Make(sql, params, nullptr));
    int64_t changed = 0;
    RETURN_IF_ERROR(Flush(&stmt, rows, &changed, nullptr));
    return changed;
  }

  // Runs one statement and ends the transaction with `end`, all in one round trip. Only for a
  // read-only transaction: if the session turns out lost, the whole is sent again.
  Status RunAndEnd(std::string_view sql, const Params& params, Rows* rows, std::string_view end) {
    ASSIGN_OR_RETURN(Statement stmt, Make(sql, params, nullptr));
    Statement then = Statement::Plain(end);
    return Flush(&stmt, rows, nullptr, nullptr, &then);
  }

  // Queues a statement for the next round trip. Only a wrong parameter count fails here.
  Status Queue(std::string_view sql, const Params& params, const Transaction::OnError& on_error) {
    ASSIGN_OR_RETURN(Statement stmt, Make(sql, params, on_error));
    pending_.push_back(std::move(stmt));
    // The server's answers to a pipeline wait in the socket until it is read; keep them few.
    if (pending_.size() >= kMaxQueued) return Flush(nullptr, nullptr, nullptr, nullptr);
    return Status::Ok();
  }

  // True once the session cannot be used again; the pool then drops it.
  bool broken() const { return broken_ || PQstatus(conn_) != CONNECTION_OK; }
  // Idle, with nothing queued: fit to go back to the pool.
  bool idle() const { return pending_.empty() && PQtransactionStatus(conn_) == PQTRANS_IDLE; }
  PGTransactionStatusType transaction_status() const { return PQtransactionStatus(conn_); }
  // The SQLSTATE of the last failed statement since ClearError(), or "".
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  void ClearError() { last_sqlstate_.clear(); }

 private:
  static constexpr size_t kMaxQueued = 256;

  struct Prepared {
    std::string name;
    int params;
  };

  Connection() = default;

  static Status WrongCount(int expected, size_t got, std::string_view sql) {
    return Status::Internal(
        fmt::format("statement expects {} parameters, got {}: {}", expected, got, sql));
  }

  // The statement with its parameters as text, checked before anything reaches the server so
  // that a wrong count leaves the transaction usable.
  StatusOr<Statement> Make(std::string_view sql, const Params& params,
                           const Transaction::OnError& on_error) {
    Statement stmt{std::string(sql), true, {}, on_error};
    int count = 0;
    auto it = cache_.find(stmt.sql);
    if (it != cache_.end()) {
      count = it->second.params;
    } else {
      (void)TranslatePlaceholders(sql, count);
    }
    if (static_cast<int>(params.size()) != count) return WrongCount(count, params.size(), sql);
    stmt.values.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (std::holds_alternative<Null>(v)) continue;
      if (auto* n = std::get_if<int64_t>(&v)) {
        stmt.values[i] = std::to_string(*n);
      } else if (auto* d = std::get_if<double>(&v)) {
        stmt.values[i] = FormatDouble(*d);
      } else {
        const auto& s = std::get<std::string>(v);
        if (std::memchr(s.data(), '\0', s.size()) != nullptr) {
          return Status::Internal(
              fmt::format("parameter {} contains a NUL character, which PostgreSQL text "
                          "cannot hold: {}",
                          i + 1, sql));
        }
        stmt.values[i] = s;
      }
    }
    return stmt;
  }

  // Sends what is queued, then `last` and `then` if given, in one pipeline, and reads the
  // answers: the rows, rows changed and command tag of `last`, and the first failure of any.
  Status Flush(Statement* last, Rows* rows, int64_t* changed, std::string* tag,
               Statement* then = nullptr) {
    // While its BEGIN is in the batch, nothing of the transaction has been committed: a pooled
    // session the server closed meanwhile (a restart, an idle timeout) is opened again and the
    // batch sent once more. Never with a COMMIT of a write in it, which may have been carried
    // out (RunAndEnd's `then` ends a read).
    const bool resendable = begin_pending_ && (last == nullptr || last->prepare);
    begin_pending_ = false;
    std::vector<Statement> batch = std::move(pending_);
    pending_.clear();
    size_t out = batch.size();  // the statement whose outputs are wanted
    if (last != nullptr) batch.push_back(std::move(*last));
    if (then != nullptr) batch.push_back(std::move(*then));
    Status s = Send(batch, out, rows, changed, tag);
    if (s.ok() || !resendable || !broken() || !Reconnect()) return s;
    if (rows != nullptr) rows->clear();
    return Send(batch, out, rows, changed, tag);
  }

  bool Reconnect() {
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK) return false;
    if (PQpipelineStatus(conn_) != PQ_PIPELINE_OFF && PQexitPipelineMode(conn_) != 1) return false;
    cache_.clear();
    broken_ = false;
    last_sqlstate_.clear();
    core::LogInfo("database session opened again", {});
    return true;
  }

  Status Lost(std::string_view what) {
    broken_ = true;
    const std::string message = Clean(PQerrorMessage(conn_), "");
    core::LogWarn("database session lost; it will be replaced", {{"error", message}});
    return Status::Unavailable(
        fmt::format("the database connection was lost during {}: {}", what, message));
  }

  Status Send(const std::vector<Statement>& batch, size_t out, Rows* rows, int64_t* changed,
              std::string* tag) {
    if (PQenterPipelineMode(conn_) != 1) return Lost("a pipeline");
    // Statements seen for the first time are prepared in the same pipeline, just before.
    std::vector<char> prepared_here(batch.size(), 0);
    for (size_t i = 0; i < batch.size(); ++i) {
      const Statement& st = batch[i];
      int sent = 0;
      if (!st.prepare) {
        sent = PQsendQueryParams(conn_, st.sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0);
      } else {
        auto it = cache_.find(st.sql);
        if (it == cache_.end()) {
          int count = 0;
          const std::string text = TranslatePlaceholders(st.sql, count);
          std::string name = fmt::format("onedoor_{}", ++names_);
          if (PQsendPrepare(conn_, name.c_str(), text.c_str(), count, nullptr) != 1) {
            return Lost("a prepare");
          }
          it = cache_.emplace(st.sql, Prepared{std::move(name), count}).first;
          prepared_here[i] = 1;
        }
        std::vector<const char*> values(st.values.size(), nullptr);
        for (size_t v = 0; v < st.values.size(); ++v) {
          if (st.values[v]) values[v] = st.values[v]->c_str();
        }
        sent = PQsendQueryPrepared(conn_, it->second.name.c_str(), it->second.params,
                                   values.data(), nullptr, nullptr, 0);
      }
      if (sent != 1) return Lost("a statement");
    }
    if (PQpipelineSync(conn_) != 1) return Lost("a pipeline");

    Status first = Status::Ok();
    auto failed = [&](const PGresult* res, const Statement& st, std::string_view verb) {
      if (!first.ok()) return;
      first = Fail(res, fmt::format("{} [{}]", verb, st.sql));
      if (st.on_error) first = st.on_error(std::move(first));
    };
    for (size_t i = 0; i < batch.size(); ++i) {
      const Statement& st = batch[i];
      if (prepared_here[i]) {
        ResultPtr res(PQgetResult(conn_), &PQclear);
        if (!res) return Lost("a prepare");
        const ExecStatusType ps = PQresultStatus(res.get());
        if (ps != PGRES_COMMAND_OK) {
          cache_.erase(st.sql);
          if (ps != PGRES_PIPELINE_ABORTED) failed(res.get(), st, "prepare");
        }
        if (PQgetResult(conn_) != nullptr) return Lost("a prepare");
      }
      ResultPtr res(PQgetResult(conn_), &PQclear);
      if (!res) return Lost("a statement");
      const ExecStatusType rs = PQresultStatus(res.get());
      if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
        if (i == out) {
          if (rs == PGRES_TUPLES_OK && rows != nullptr) Collect(res.get(), rows);
          if (changed != nullptr) {
            const char* tuples = PQcmdTuples(res.get());
            std::from_chars(tuples, tuples + std::strlen(tuples), *changed);
          }
          if (tag != nullptr) *tag = PQcmdStatus(res.get());
        }
      } else if (rs != PGRES_PIPELINE_ABORTED) {
        failed(res.get(), st, st.prepare ? "statement" : "command");
        if (broken()) return first;
      }
      if (PQgetResult(conn_) != nullptr) return Lost("a statement");
    }
    ResultPtr sync(PQgetResult(conn_), &PQclear);
    if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) return Lost("a pipeline");
    if (PQexitPipelineMode(conn_) != 1) return Lost("a pipeline");
    return first;
  }

  static void Collect(const PGresult* res, Rows* rows) {
    const int nrows = PQntuples(res);
    const int ncols = PQnfields(res);
    std::vector<Oid> types(ncols);
    for (int c = 0; c < ncols; ++c) types[c] = PQftype(res, c);
    rows->reserve(rows->size() + nrows);
    for (int r = 0; r < nrows; ++r) {
      std::vector<Value> row;
      row.reserve(ncols);
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(res, r, c)) {
          row.emplace_back(Null{});
        } else {
          row.push_back(DecodeValue(types[c], PQgetvalue(res, r, c), PQgetlength(res, r, c)));
        }
      }
      rows->emplace_back(std::move(row));
    }
  }

  // Maps a failed result to the storage::Transaction error codes. The public message never
  // carries a DETAIL (it shows the values of the row) nor, for data errors, the primary
  // message (it quotes the offending value).
  Status Fail(const PGresult* res, std::string_view what) {
    const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    const std::string code = state != nullptr ? state : "";
    last_sqlstate_ = code;
    const char* primary =
        res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    const std::string message = Clean(primary != nullptr ? primary : PQerrorMessage(conn_), "");
    if (PQstatus(conn_) != CONNECTION_OK) broken_ = true;
    const std::string_view klass =
        std::string_view(code).substr(0, std::min<size_t>(code.size(), 2));

    if (code == "23505") return Status::AlreadyExists("a record with the same key already exists");
    if (klass == "23") {
      return Status::FailedPrecondition(
          "the change refers to a record that does not exist or breaks a rule");
    }
    if (code.empty() || klass == "08" || code.rfind("57P0", 0) == 0) {
      broken_ = true;
      core::LogWarn("database session lost; it will be replaced",
                    {{"error", message}, {"sqlstate", code}});
      return Status::Unavailable("the database connection was lost: " + message);
    }
    if (klass == "53" || IsRetryable(code) || code == "55P03" || code == "57014") {
      return Status::Unavailable(
          fmt::format("the database is busy: {} (SQLSTATE {})", message, code));
    }
    if (code == "25006") {
      return Status::Internal(fmt::format("{}: a read-only transaction cannot change data", what));
    }
    if (klass == "22") {
      return Status::Internal(
          fmt::format("{}: a value is not valid for its column (SQLSTATE {})", what, code));
    }
    return Status::Internal(fmt::format("{}: {} (SQLSTATE {})", what, message, code));
  }

  PGconn* conn_ = nullptr;
  std::unordered_map<std::string, Prepared> cache_;
  int64_t names_ = 0;  // prepared statements named so far
  std::vector<Statement> pending_;
  bool begin_pending_ = false;  // pending_ starts with the transaction's BEGIN
  bool broken_ = false;
  std::string last_sqlstate_;
};

class PostgresTransaction final : public Transaction {
 public:
  explicit PostgresTransaction(Connection& conn) : conn_(conn) {}
  StatusOr<Rows> Query(std::string_view sql, const Params& params) override {
    Rows rows;
    RETURN_IF_ERROR(conn_.Run(sql, params, &rows).status());
    return rows;
  }
  StatusOr<int64_t> Execute(std::string_view sql, const Params& params) override {
    return conn_.Run(sql, params, nullptr);
  }
  Status Queue(std::string_view sql, const Params& params, const OnError& on_error) override {
    return conn_.Queue(sql, params, on_error);
  }
  Status ExecuteScript(std::string_view sql) override { return conn_.Simple(sql); }
  Dialect dialect() const override { return Dialect::kPostgres; }

 private:
  Connection& conn_;
};

// Up to `max` sessions, opened when first needed.
class Pool {
 public:
  using Opener = std::function<StatusOr<std::unique_ptr<Connection>>()>;
  Pool(int max, Opener open) : max_(max), open_(std::move(open)) {}

  int max() const { return max_; }

  StatusOr<std::unique_ptr<Connection>> Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || opened_ < max_; });
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    ++opened_;
    lock.unlock();
    auto conn = open_();
    if (!conn.ok()) {
      lock.lock();
      --opened_;
      lock.unlock();
      cv_.notify_one();
    }
    return conn;
  }

  // Takes back a session; one that is broken, or was left inside a transaction or with
  // statements queued, is closed.
  void Release(std::unique_ptr<Connection> conn) {
    if (conn->broken() || !conn->idle()) conn.reset();
    {
      std::lock_guard lock(mu_);
      if (conn) {
        idle_.push_back(std::move(conn));
      } else {
        --opened_;
      }
    }
    cv_.notify_one();
  }

 private:
  const int max_;
  const Opener open_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // GUARDED_BY(mu_)
  int opened_ = 0;                                 // GUARDED_BY(mu_)
};

constexpr std::string_view kReadBegin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(std::string url, std::string password, PostgresOptions options)
      : url_(std::move(url)),
        redacted_(RedactPostgresUrl(url_)),
        password_(std::move(password)),
        options_(options),
        readers_(options.connections, [this] { return Open(); }),
        writers_(options.connections, [this] { return Open(); }) {}

  // Opens one session, so that a wrong URL or an unreachable server fails here.
  Status Init() {
    ASSIGN_OR_RETURN(auto conn, writers_.Acquire());
    writers_.Release(std::move(conn));
    return Status::Ok();
  }

  Status Read(const Work& work) override {
    if (Transaction* outer = ReadScope::Current(this)) return RunWork(work, *outer);
    ASSIGN_OR_RETURN(auto conn, readers_.Acquire());
    conn->Begin(kReadBegin);
    PostgresTransaction tx(*conn);
    Status result;
    {
      ReadScope scope(this, &tx);
      result = RunWork(work, tx);
    }
    // A read keeps nothing, so a transaction a failed statement has aborted simply ends.
    Status end = Status::Ok();
    if (!result.ok() || conn->transaction_status() == PQTRANS_INERROR) {
      conn->Abandon();
    } else {
      end = conn->End("COMMIT", nullptr);
      if (!end.ok()) conn->Abandon();
    }
    readers_.Release(std::move(conn));
    return result.ok() ? end : result;
  }

  StatusOr<Rows> ReadOne(std::string_view sql, const Params& params) override {
    if (Transaction* outer = ReadScope::Current(this)) return outer->Query(sql, params);
    ASSIGN_OR_RETURN(auto conn, readers_.Acquire());
    conn->Begin(kReadBegin);
    Rows rows;
    Status s = conn->RunAndEnd(sql, params, &rows, "COMMIT");
    if (!s.ok() || !conn->idle()) conn->Abandon();
    readers_.Release(std::move(conn));
    RETURN_IF_ERROR(s);
    return rows;
  }

  Status Write(const Work& work) override {
    for (int attempt = 1;; ++attempt) {
      ASSIGN_OR_RETURN(auto conn, writers_.Acquire());
      conn->Begin("BEGIN");
      conn->ClearError();
      PostgresTransaction tx(*conn);
      Status result = RunWork(work, tx);
      bool retry = false;
      if (!result.ok()) {
        retry = IsRetryable(conn->last_sqlstate());
        conn->Abandon();
      } else if (conn->transaction_status() == PQTRANS_INERROR) {
        // The callback went on after a failed statement; PostgreSQL has already discarded
        // the transaction, and COMMIT would quietly roll it back.
        conn->Abandon();
        result =
            Status::Internal("a statement of this write failed, so none of its changes were kept");
      } else {
        // Statements still queued go with the COMMIT; the first to fail fails the write.
        std::string tag;
        result = conn->End("COMMIT", &tag);
        if (!result.ok()) {
          retry = IsRetryable(conn->last_sqlstate());
          conn->Abandon();
        } else if (tag != "COMMIT") {
          result = Status::Internal("the database rolled the write back instead of committing it");
        }
      }
      writers_.Release(std::move(conn));
      if (!retry || attempt >= options_.max_write_attempts) return result;
      core::LogInfo("write retried after a serialization failure or deadlock",
                    {{"attempt", std::to_string(attempt + 1)}});
    }
  }

  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string Describe() const override { return redacted_; }

 private:
  StatusOr<std::unique_ptr<Connection>> Open() {
    return Connection::Open(url_, redacted_, password_, options_);
  }

  static Status RunWork(const Work& work, Transaction& tx) {
    try {
      return work(tx);
    } catch (const std::exception& e) {
      core::LogError("unexpected exception in a database transaction", {{"what", e.what()}});
      return Status::Internal("unexpected error in a database transaction");
    } catch (...) {
      core::LogError("unexpected exception in a database transaction",
                     {{"what", "not a std::exception"}});
      return Status::Internal("unexpected error in a database transaction");
    }
  }

  const std::string url_;
  const std::string redacted_;
  const std::string password_;  // only to scrub it out of connection errors
  const PostgresOptions options_;
  Pool readers_;
  Pool writers_;
};

}  // namespace

bool IsPostgresUrl(std::string_view db) {
  return db.rfind("postgres://", 0) == 0 || db.rfind("postgresql://", 0) == 0;
}

std::string RedactPostgresUrl(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t start = scheme + 3;
  size_t end = url.find_first_of("/?", start);
  if (end == std::string_view::npos) end = url.size();
  std::string out(url.substr(0, start));
  std::string_view authority = url.substr(start, end - start);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view user = authority.substr(0, at);
    out += user.substr(0, user.find(':'));
    out += authority.substr(at);
  } else {
    out += authority;
  }
  std::string_view rest = url.substr(end);
  const size_t q = rest.find('?');
  out += rest.substr(0, q);
  if (q != std::string_view::npos) {
    std::string query;
    std::string_view params = rest.substr(q + 1);
    while (!params.empty()) {
      const size_t amp = params.find('&');
      std::string_view param = params.substr(0, amp);
      if (param.rfind("password=", 0) != 0 && !param.empty()) {
        query += query.empty() ? "?" : "&";
        query += param;
      }
      params = amp == std::string_view::npos ? std::string_view{} : params.substr(amp + 1);
    }
    out += query;
  }
  return out;
}

StatusOr<std::unique_ptr<Database>> OpenPostgres(const std::string& url,
                                                 const PostgresOptions& options) {
  const std::string redacted = RedactPostgresUrl(url);
  if (!IsPostgresUrl(url)) {
    return Status::InvalidArgument(
        fmt::format("{} is not a PostgreSQL URL (postgres://user@host:port/dbname)", redacted));
  }
  if (options.connections < 1 || options.max_write_attempts < 1) {
    return Status::InvalidArgument(
        "a PostgreSQL database needs at least one connection and one write attempt");
  }
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &error);
  if (parsed == nullptr) {
    PQfreemem(error);
    // The parser may quote part of the URL, which may hold the password: say only where.
    return Status::InvalidArgument(fmt::format("{} is not a valid PostgreSQL URL", redacted));
  }
  std::string password;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr) password = o->val;
  }
  PQconninfoFree(parsed);
  auto db = std::make_unique<PostgresDatabase>(url, std::move(password), options);
  RETURN_IF_ERROR(db->Init());
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace storage
