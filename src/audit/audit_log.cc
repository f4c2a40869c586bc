#include "audit/audit_log.h"

#include "core/log.h"

#include "access/access_gate.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <unordered_map>

#include "core/crypto.h"

namespace audit {
namespace {

constexpr std::string_view kColumns =
    "seq, at, user_id, agency_id, actor, roles, purpose, request_id, action, record_type, "
    "record_id, person_id, allowed, reason, prev_hash, hash, chain, client_address";

// The previous hash of the first entry of every chain.
std::string Genesis() { return std::string(64, '0'); }

// On PostgreSQL: the chain this transaction appends to — the one its first entry took (kept in
// a transaction-local setting), else the proposed one — locked until the transaction ends.
// Materialized so that the setting is read once, before set_config changes it.
constexpr std::string_view kLockChain =
    "WITH pick AS MATERIALIZED (SELECT COALESCE("
    "NULLIF(current_setting('onedoor.audit_chain', true), '')::bigint, CAST(? AS BIGINT)) "
    "AS chain) "
    "SELECT chain, pg_advisory_xact_lock(7263531, chain::integer), "
    "set_config('onedoor.audit_chain', chain::text, true) FROM pick";

// Run after kLockChain, in a new statement so that at READ COMMITTED it sees the entry the
// chain's previous holder committed: the chain kLockChain settled on, the entry's seq and the
// chain's last hash. nextval comes after the lock, so seq increases along the chain in commit
// order.
constexpr std::string_view kPostgresHead =
    "WITH c AS (SELECT current_setting('onedoor.audit_chain')::bigint AS chain) "
    "SELECT c.chain, nextval('audit_log_seq'), "
    "(SELECT a.hash FROM audit_log a WHERE a.chain = c.chain ORDER BY a.seq DESC LIMIT 1) FROM c";

// The same for several entries: one row per entry (the parameter), each with its own seq, all
// with the chain and its last hash (an InitPlan, read once). A statement of its own: with a
// parameter, PostgreSQL plans each of the first executions anew, which for the one-entry case,
// by far the commonest, would cost more than the query.
constexpr std::string_view kPostgresHeadOfMany =
    "SELECT CAST(current_setting('onedoor.audit_chain') AS BIGINT), nextval('audit_log_seq'), "
    "(SELECT a.hash FROM audit_log a WHERE a.chain = CAST(current_setting('onedoor.audit_chain') AS BIGINT) "
    "ORDER BY a.seq DESC LIMIT 1) FROM generate_series(1, CAST(? AS INTEGER))";

Record FromRow(const storage::Row& row) {
  Record r;
  r.seq = row.Int(0);
  r.at = {row.Int(1)};
  r.user_id = row.Int(2);
  r.agency_id = row.Int(3);
  r.actor = row.Text(4);
  r.roles = row.Text(5);
  r.purpose = row.Text(6);
  r.request_id = row.Text(7);
  r.entry.action = row.Text(8);
  r.entry.record_type = row.Text(9);
  r.entry.record_id = row.Text(10);
  if (!row.IsNull(11)) r.entry.person = core::PersonId{row.Int(11)};
  r.entry.allowed = row.Int(12) != 0;
  r.entry.reason = row.Text(13);
  r.prev_hash = row.Text(14);
  r.hash = row.Text(15);
  r.chain = row.Int(16);
  r.client_address = row.Text(17);
  return r;
}

core::StatusOr<std::vector<Record>> Records(storage::Transaction& tx, std::string_view sql,
                                            const storage::Params& params) {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(sql, params));
  std::vector<Record> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(FromRow(row));
  return out;
}

// Escapes the separator (and the escape character) so that text fields cannot run into each
// other: without it, moving a "\x1f" from one field to the next kept the hash. Text without
// either character is unchanged, so hashes of ordinary entries are the same as before.
std::string Escape(std::string_view text) {
  if (text.find_first_of("\\\x1f") == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\x1f') {
      out += "\\x1f";
    } else {
      out += c;
    }
  }
  return out;
}

// The walk of Verify: the last entry seen on each chain, and the entry before in seq order.
class ChainWalk {
 public:
  // Checks `r`, the next entry in seq order. Returns the problem, or "" if `r` is sound.
  std::string Check(const Record& r) {
    if (r.chain == 0 && r.seq != previous_seq_ + 1) {
      // Chain 0 is contiguous (SQLite's single writer, and PostgreSQL before chains), so a
      // gap is an entry removed.
      missing_ = previous_seq_ + 1;
      return fmt::format("entry {} is missing (the next entry found is {})", *missing_, r.seq);
    }
    previous_seq_ = r.seq;
    if (AuditLog::ComputeHash(r) != r.hash) {
      return fmt::format("entry {} was modified: its content does not match its hash", r.seq);
    }
    auto head = heads_.find(r.chain);
    if (head == heads_.end()) {
      if (r.prev_hash != Genesis()) {
        return fmt::format(
            "entry {} is the first on chain {} but does not start a chain: an entry before it "
            "on that chain was removed or changed",
            r.seq, r.chain);
      }
      heads_.emplace(r.chain, Head{r.seq, r.hash});
      return "";
    }
    if (r.prev_hash != head->second.hash) {
      if (r.chain == 0) {
        return fmt::format("entry {} does not follow entry {}: its previous hash differs", r.seq,
                           head->second.seq);
      }
      return fmt::format(
          "entry {} on chain {} does not follow entry {}, the one before it on that chain: "
          "an entry between them was removed or changed",
          r.seq, r.chain, head->second.seq);
    }
    head->second = Head{r.seq, r.hash};
    return "";
  }

  // The seq to report for the last problem: the missing entry's, else the entry's.
  int64_t BadSeq(const Record& r) const { return missing_.value_or(r.seq); }
  int64_t chains() const { return static_cast<int64_t>(heads_.size()); }

 private:
  struct Head {
    int64_t seq;
    std::string hash;
  };
  std::unordered_map<int64_t, Head> heads_;  // by chain: O(chains) memory
  int64_t previous_seq_ = 0;
  std::optional<int64_t> missing_;
};

}  // namespace

std::string AuditLog::ComputeHash(const Record& r) {
  // Fields joined by the ASCII unit separator, which Escape() keeps out of the fields.
  std::string canonical = fmt::format(
      "{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}",
      Escape(r.prev_hash), r.seq, r.at.micros, r.user_id, r.agency_id, Escape(r.actor),
      Escape(r.roles), Escape(r.purpose), Escape(r.request_id), Escape(r.entry.action),
      Escape(r.entry.record_type), Escape(r.entry.record_id),
      r.entry.person ? r.entry.person->value : 0, r.entry.allowed ? 1 : 0, Escape(r.entry.reason));
  // A 16th field only off chain 0: chain 0's hashes, written before chains existed, stay valid.
  if (r.chain != 0) canonical += fmt::format("\x1f{}", r.chain);
  // The client's address last, tagged so that it cannot pass for a chain: only when there is
  // one, so that entries without (all those from before addresses were kept) hash as before.
  if (!r.client_address.empty()) canonical += "\x1f" "a=" + Escape(r.client_address);
  return core::Sha256Hex(canonical);
}

int64_t AuditLog::PostgresChain(const authz::Principal& who, const Entry& entry) {
  const int64_t key = entry.person ? entry.person->value : who.agency.value;
  const int64_t m = key % kPostgresChains;
  return 1 + (m < 0 ? m + kPostgresChains : m);
}

core::Status AuditLog::Append(storage::Transaction& tx, const authz::Principal& who,
                              const Entry& entry) {
  const Item item{&who, &entry};
  return AppendAll(tx, std::span<const Item>(&item, 1));
}

core::Status AuditLog::AppendAll(storage::Transaction& tx, std::span<const Item> items) {
  if (items.empty()) return core::Status::Ok();
  int64_t chain = 0;
  std::vector<int64_t> seqs;
  std::string prev_hash = Genesis();
  if (tx.dialect() == storage::Dialect::kPostgres) {
    // Concurrent appenders to one chain would read the same last entry and fork it; the chain's
    // lock, held until the transaction ends, orders them. One lock per transaction: with two,
    // transactions taking them in opposite orders would deadlock.
    // The lock is queued: it goes to the server with the head's query, in one round trip.
    RETURN_IF_ERROR(tx.Queue(kLockChain, {PostgresChain(*items[0].who, *items[0].entry)}));
    ASSIGN_OR_RETURN(storage::Rows head, items.size() == 1
                                             ? tx.Query(kPostgresHead)
                                             : tx.Query(kPostgresHeadOfMany, {static_cast<int64_t>(items.size())}));
    if (head.size() != items.size()) {
      return core::Status::Internal(
          fmt::format("the audit log's head gave {} sequence numbers for {} entries", head.size(), items.size()));
    }
    chain = head[0].Int(0);
    if (!head[0].IsNull(2)) prev_hash = head[0].Text(2);
    for (const auto& row : head) seqs.push_back(row.Int(1));
    // Along the chain in the order they were taken, whatever order the rows came in.
    std::sort(seqs.begin(), seqs.end());
  } else {
    // The single writer: chain 0, seq one past the last entry. After a copy from PostgreSQL the
    // last entry may be on another chain; chain 0 then continues from its own last entry.
    ASSIGN_OR_RETURN(storage::Rows last,
                     tx.Query("SELECT seq, hash, chain FROM audit_log ORDER BY seq DESC LIMIT 1"));
    const int64_t first = last.empty() ? 1 : last[0].Int(0) + 1;
    for (size_t i = 0; i < items.size(); ++i) seqs.push_back(first + static_cast<int64_t>(i));
    if (!last.empty() && last[0].Int(2) == 0) {
      prev_hash = last[0].Text(1);
    } else if (!last.empty()) {
      ASSIGN_OR_RETURN(
          storage::Rows zero,
          tx.Query("SELECT hash FROM audit_log WHERE chain = 0 ORDER BY seq DESC LIMIT 1"));
      if (!zero.empty()) prev_hash = zero[0].Text(0);
    }
  }
  // Refuse rather than lose: what cannot be audited is neither released nor changed (the
  // transaction rolls back). A conflict the database retries keeps its code. The entries are
  // queued, so on PostgreSQL a failure may be reported by the transaction's next statement or
  // its commit; either way, no data goes out before the entries are durable.
  auto refuse = [](core::Status written) {
    if (written.code() == core::StatusCode::kAborted || written.code() == core::StatusCode::kAlreadyExists) {
      return written;
    }
    core::LogError("the audit log cannot be written", {{"error", written.ToString()}});
    return core::Status::Unavailable("the audit log cannot be written, so nothing was released or changed: try again "
                                     "later");
  };
  static const std::string kInsert =
      fmt::format("INSERT INTO audit_log ({}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", kColumns);
  for (size_t i = 0; i < items.size(); ++i) {
    const authz::Principal& who = *items[i].who;
    const Entry& entry = *items[i].entry;
    Record r;
    r.chain = chain;
    r.seq = seqs[i];
    r.prev_hash = std::move(prev_hash);
    r.at = clock_.Now();
    r.user_id = who.user.value;
    r.agency_id = who.agency.value;
    r.actor = who.name;
    r.roles = who.RoleList();
    r.purpose = std::string(authz::PurposeName(who.purpose));
    r.request_id = who.request_id;
    r.client_address = who.client_address;
    r.entry = entry;
    // Every action says who acted: a representative's entries say so.
    if (who.representation != 0) {
      r.entry.reason += fmt::format("{}{})", kActedByRepresentative, who.representation);
    }
    r.hash = ComputeHash(r);
    prev_hash = r.hash;
    RETURN_IF_ERROR(tx.Queue(
        kInsert,
        {r.seq, r.at.micros, r.user_id, r.agency_id, r.actor, r.roles, r.purpose, r.request_id, r.entry.action,
         r.entry.record_type, r.entry.record_id,
         r.entry.person ? storage::Value(r.entry.person->value) : storage::Value(storage::Null{}),
         int64_t{r.entry.allowed ? 1 : 0}, r.entry.reason, r.prev_hash, r.hash, r.chain, r.client_address},
        refuse));
    // A person's data released by break-glass is queued for review with the entry, in the same
    // transaction: no emergency access goes unreviewed. One review per person and request (a
    // page that reads the record and its directory is one access).
    if (!who.break_glass.empty() && entry.allowed && entry.person &&
        entry.reason.find(authz::kBreakGlassMarker) != std::string::npos) {
      bool queued = false;
      if (!who.request_id.empty()) {
        ASSIGN_OR_RETURN(storage::Rows same,
                         tx.Query("SELECT 1 FROM break_glass_accesses WHERE request_id = ? AND person_id = ?",
                                  {who.request_id, entry.person->value}));
        queued = !same.empty();
      }
      if (!queued) {
        RETURN_IF_ERROR(tx.Execute("INSERT INTO break_glass_accesses (audit_seq, at, user_id, actor, agency_id, "
                                   "person_id, action, justification, request_id, state) "
                                   "VALUES (?,?,?,?,?,?,?,?,?,'pending')",
                                   {r.seq, r.at.micros, r.user_id, r.actor, r.agency_id, entry.person->value,
                                    entry.action, who.break_glass.substr(0, 500), who.request_id})
                            .status());
      }
    }
  }
  return core::Status::Ok();
}

core::Status AuditLog::Write(storage::Database& db, const authz::Principal& who, const Entry& entry) {
  if (storage::WillDefer(db)) return Defer(db, who, entry);
  if (db.dialect() == storage::Dialect::kSqlite) {
    return db.Write([&](storage::Transaction& tx) { return Append(tx, who, entry); });
  }
  // The caller that finds no group being written writes every entry waiting for the same
  // database (up to kMaxGroup), its own first: one transaction, one chain lock, one commit.
  Pending mine{Item{&who, &entry}, core::Status::Ok()};
  writes_.Submit(&db, mine, [this, &db](std::span<Pending* const> group) {
    std::vector<Item> items;
    items.reserve(group.size());
    for (const Pending* p : group) items.push_back(p->item);
    const core::Status result = db.Write([&](storage::Transaction& tx) { return AppendAll(tx, items); });
    for (Pending* p : group) p->result = result;
  });
  return mine.result;
}

core::Status AuditLog::Defer(storage::Database& db, const authz::Principal& who, const Entry& entry) {
  std::shared_ptr<DeferredBatch> batch;
  bool first = false;
  {
    std::lock_guard lock(deferred_mu_);
    if (open_batch_ == nullptr || open_batch_->db != &db || open_batch_->items.size() >= kMaxGroup) {
      open_batch_ = std::make_shared<DeferredBatch>();
      open_batch_->db = &db;
      first = true;
    }
    open_batch_->items.emplace_back(who, entry);
    batch = open_batch_;
  }
  // The answer is held back until the batch is durable.
  storage::DeferOn(batch->done);
  if (!first) return core::Status::Ok();
  auto close = [this](const std::shared_ptr<DeferredBatch>& b) {
    std::lock_guard lock(deferred_mu_);
    if (open_batch_ == b) open_batch_.reset();
  };
  db.Submit([this, batch, close](storage::Transaction& tx) -> core::Status {
      // No entry joins once the writer has started: `items` is read without the lock.
      close(batch);
      std::vector<Item> items;
      items.reserve(batch->items.size());
      for (const auto& [w, e] : batch->items) items.push_back(Item{&w, &e});
      return AppendAll(tx, items);
    })->OnFinished([batch, close](core::Status result) {
    close(batch);  // a write that never ran (the database closing) takes no more entries
    batch->done->Finish(std::move(result));
  });
  return core::Status::Ok();
}

core::Status AuditLog::AuditedRead(storage::Database& db, const authz::Principal& who, const ReadWork& read) {
  if (db.dialect() == storage::Dialect::kSqlite && !storage::WillDefer(db)) {
    return db.Write([&](storage::Transaction& tx) -> core::Status {
      Entry entry;
      RETURN_IF_ERROR(read(tx, entry));
      return Append(tx, who, entry);
    });
  }
  Entry entry;
  RETURN_IF_ERROR(db.Read([&](storage::Transaction& tx) { return read(tx, entry); }));
  return Write(db, who, entry);
}

core::StatusOr<std::vector<Record>> AuditLog::ForPerson(storage::Transaction& tx,
                                                        core::PersonId person, int limit,
                                                        int64_t before_seq) {
  return Records(
      tx,
      fmt::format(
          "SELECT {} FROM audit_log WHERE person_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
          kColumns),
      {person.value, before_seq > 0 ? before_seq : INT64_MAX, int64_t{limit}});
}

core::StatusOr<std::vector<Record>> AuditLog::List(storage::Transaction& tx, int limit,
                                                   int64_t before_seq) {
  return Records(
      tx, fmt::format("SELECT {} FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?", kColumns),
      {before_seq > 0 ? before_seq : INT64_MAX, int64_t{limit}});
}

core::StatusOr<std::vector<Record>> AuditLog::Search(storage::Transaction& tx, const Query& q) {
  std::string where = "seq < ?";
  std::vector<storage::Value> args{q.before_seq > 0 ? q.before_seq : INT64_MAX};
  if (q.agency) {
    where += " AND agency_id = ?";
    args.emplace_back(q.agency->value);
  }
  if (!q.actor.empty()) {
    where += " AND actor = ?";
    args.emplace_back(q.actor);
  }
  if (!q.action.empty()) {
    // A family matches its actions only: "person" is person.read, person.update... The family's
    // own characters are plain (letters, digits and '_' escaped), so LIKE matches them as such.
    if (q.action.find('.') != std::string::npos) {
      where += " AND action = ?";
      args.emplace_back(q.action);
    } else {
      std::string pattern;
      for (char c : q.action) {
        if (c == '_' || c == '%' || c == '\\') pattern += '\\';
        pattern += c;
      }
      where += " AND action LIKE ? ESCAPE '\\'";
      args.emplace_back(pattern + ".%");
    }
  }
  if (q.person) {
    where += " AND person_id = ?";
    args.emplace_back(q.person->value);
  }
  if (q.refused_only) where += " AND allowed = 0";
  if (q.from) {
    where += " AND at >= ?";
    args.emplace_back(q.from->micros);
  }
  if (q.to) {
    where += " AND at < ?";
    args.emplace_back(q.to->micros);
  }
  args.emplace_back(int64_t{q.limit});
  return Records(
      tx,
      fmt::format("SELECT {} FROM audit_log WHERE {} ORDER BY seq DESC LIMIT ?", kColumns, where),
      args);
}

core::StatusOr<VerifyReport> AuditLog::Verify(storage::Database& db) {
  constexpr int64_t kPage = 5000;
  const std::string page_sql =
      fmt::format("SELECT {} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", kColumns);
  VerifyReport report;
  // One snapshot for the whole walk: on PostgreSQL, entries of different chains commit out of
  // seq order, so pages read in separate snapshots could miss an entry that committed late
  // while seeing the next one on its chain, and report a broken chain that is not.
  RETURN_IF_ERROR(db.Read([&](storage::Transaction& tx) -> core::Status {
    report = VerifyReport{};
    ChainWalk walk;
    // Not 0: an entry moved to seq 0 or below is still checked.
    int64_t after = std::numeric_limits<int64_t>::min();
    for (;;) {
      ASSIGN_OR_RETURN(std::vector<Record> page, Records(tx, page_sql, {after, kPage}));
      for (const Record& r : page) {
        ++report.entries;
        std::string problem = walk.Check(r);
        report.chains = walk.chains();
        if (!problem.empty()) {
          report.ok = false;
          report.first_bad_seq = walk.BadSeq(r);
          report.problem = std::move(problem);
          return core::Status::Ok();
        }
        after = r.seq;
      }
      if (static_cast<int64_t>(page.size()) < kPage) return core::Status::Ok();
    }
  }));
  return report;
}

}  // namespace audit
