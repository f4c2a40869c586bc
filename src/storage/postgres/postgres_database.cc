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

// One session with its prepared-statement cache. Used by one thread at a time.
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

  // Runs statements without parameters through the simple protocol; `tag` gets the command
  // tag of the last one ("COMMIT", or "ROLLBACK" when COMMIT found a failed transaction).
  Status Simple(std::string_view sql, std::string* tag = nullptr) {
    ResultPtr res(PQexec(conn_, std::string(sql).c_str()), &PQclear);
    const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
      return Fail(res.get(), "script");
    }
    if (tag != nullptr) *tag = PQcmdStatus(res.get());
    return Status::Ok();
  }

  // Runs one statement; collects rows when `rows` is given. Returns the rows changed.
  StatusOr<int64_t> Run(std::string_view sql, const Params& params, Rows* rows) {
    const std::string key(sql);
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      int count = 0;
      const std::string text = TranslatePlaceholders(sql, count);
      // Checked before anything reaches the server, so the transaction stays usable.
      if (static_cast<int>(params.size()) != count) return WrongCount(count, params.size(), sql);
      std::string name = fmt::format("onedoor_{}", cache_.size() + 1);
      ResultPtr res(PQprepare(conn_, name.c_str(), text.c_str(), count, nullptr), &PQclear);
      if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
        return Fail(res.get(), fmt::format("prepare [{}]", sql));
      }
      it = cache_.emplace(key, Prepared{std::move(name), count}).first;
    }
    const Prepared& stmt = it->second;
    if (static_cast<int>(params.size()) != stmt.params)
      return WrongCount(stmt.params, params.size(), sql);

    // Parameters go as text; the server converts them to the types it inferred.
    std::vector<std::string> formatted(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (std::holds_alternative<Null>(v)) continue;
      if (auto* n = std::get_if<int64_t>(&v)) {
        formatted[i] = std::to_string(*n);
        values[i] = formatted[i].c_str();
      } else if (auto* d = std::get_if<double>(&v)) {
        formatted[i] = FormatDouble(*d);
        values[i] = formatted[i].c_str();
      } else {
        const auto& s = std::get<std::string>(v);
        if (std::memchr(s.data(), '\0', s.size()) != nullptr) {
          return Status::Internal(
              fmt::format("parameter {} contains a NUL character, which PostgreSQL text "
                          "cannot hold: {}",
                          i + 1, sql));
        }
        values[i] = s.c_str();
      }
    }
    ResultPtr res(
        PQexecPrepared(conn_, stmt.name.c_str(), stmt.params, values.data(), nullptr, nullptr, 0),
        &PQclear);
    const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
      return Fail(res.get(), fmt::format("statement [{}]", sql));
    if (st == PGRES_TUPLES_OK && rows != nullptr) {
      const int nrows = PQntuples(res.get());
      const int ncols = PQnfields(res.get());
      std::vector<Oid> types(ncols);
      for (int c = 0; c < ncols; ++c) types[c] = PQftype(res.get(), c);
      rows->reserve(rows->size() + nrows);
      for (int r = 0; r < nrows; ++r) {
        std::vector<Value> row;
        row.reserve(ncols);
        for (int c = 0; c < ncols; ++c) {
          if (PQgetisnull(res.get(), r, c)) {
            row.emplace_back(Null{});
          } else {
            row.push_back(
                DecodeValue(types[c], PQgetvalue(res.get(), r, c), PQgetlength(res.get(), r, c)));
          }
        }
        rows->emplace_back(std::move(row));
      }
    }
    int64_t changed = 0;
    const char* tuples = PQcmdTuples(res.get());
    std::from_chars(tuples, tuples + std::strlen(tuples), changed);
    return changed;
  }

  // True once the session cannot be used again; the pool then drops it.
  bool broken() const { return broken_ || PQstatus(conn_) != CONNECTION_OK; }
  PGTransactionStatusType transaction_status() const { return PQtransactionStatus(conn_); }
  // The SQLSTATE of the last failed statement since ClearError(), or "".
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  void ClearError() { last_sqlstate_.clear(); }

 private:
  struct Prepared {
    std::string name;
    int params;
  };

  Connection() = default;

  static Status WrongCount(int expected, size_t got, std::string_view sql) {
    return Status::Internal(
        fmt::format("statement expects {} parameters, got {}: {}", expected, got, sql));
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

  // Takes back a session; one that is broken or was left inside a transaction is closed.
  void Release(std::unique_ptr<Connection> conn) {
    if (conn->broken() || conn->transaction_status() != PQTRANS_IDLE) conn.reset();
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
    ASSIGN_OR_RETURN(auto conn, Begin(readers_, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    PostgresTransaction tx(*conn);
    Status result = RunWork(work, tx);
    // A read keeps nothing, so a transaction a failed statement has aborted simply ends.
    Status end =
        conn->Simple(conn->transaction_status() == PQTRANS_INERROR ? "ROLLBACK" : "COMMIT");
    readers_.Release(std::move(conn));
    return result.ok() ? end : result;
  }

  Status Write(const Work& work) override {
    for (int attempt = 1;; ++attempt) {
      ASSIGN_OR_RETURN(auto conn, Begin(writers_, "BEGIN"));
      conn->ClearError();
      PostgresTransaction tx(*conn);
      Status result = RunWork(work, tx);
      bool retry = false;
      if (!result.ok()) {
        retry = IsRetryable(conn->last_sqlstate());
        (void)conn->Simple("ROLLBACK");
      } else if (conn->transaction_status() == PQTRANS_INERROR) {
        // The callback went on after a failed statement; PostgreSQL has already discarded
        // the transaction, and COMMIT would quietly roll it back.
        (void)conn->Simple("ROLLBACK");
        result =
            Status::Internal("a statement of this write failed, so none of its changes were kept");
      } else {
        std::string tag;
        result = conn->Simple("COMMIT", &tag);
        if (!result.ok()) {
          retry = IsRetryable(conn->last_sqlstate());
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

  // A session inside a transaction begun with `begin`. Pooled sessions the server has closed
  // meanwhile (a restart, an idle timeout) are replaced, up to the size of the pool.
  static StatusOr<std::unique_ptr<Connection>> Begin(Pool& pool, const char* begin) {
    for (int attempt = 0;; ++attempt) {
      ASSIGN_OR_RETURN(auto conn, pool.Acquire());
      Status s = conn->Simple(begin);
      if (s.ok()) return conn;
      const bool lost = conn->broken();
      pool.Release(std::move(conn));
      if (!lost || attempt >= pool.max()) return s;
    }
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
