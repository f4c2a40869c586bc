#include "audit/audit_log.h"

#include <fmt/format.h>

#include "core/crypto.h"

namespace audit {
namespace {

constexpr std::string_view kColumns =
    "seq, at, user_id, agency_id, actor, roles, purpose, request_id, action, record_type, record_id, "
    "person_id, allowed, reason, prev_hash, hash";

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
  return r;
}

// Escapes the separator (and the escape character) so that text fields cannot run into each
// other: without it, moving a "\x1f" from one field to the next kept the hash. Text without
// either character is unchanged, so hashes of ordinary entries are the same as before.
std::string Escape(std::string_view text) {
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

}  // namespace

std::string AuditLog::ComputeHash(const Record& r) {
  // Fields joined by the ASCII unit separator, which Escape() keeps out of the fields.
  std::string canonical = fmt::format(
      "{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}", Escape(r.prev_hash),
      r.seq, r.at.micros, r.user_id, r.agency_id, Escape(r.actor), Escape(r.roles), Escape(r.purpose),
      Escape(r.request_id), Escape(r.entry.action), Escape(r.entry.record_type), Escape(r.entry.record_id),
      r.entry.person ? r.entry.person->value : 0, r.entry.allowed ? 1 : 0, Escape(r.entry.reason));
  return core::Sha256Hex(canonical);
}

core::Status AuditLog::Append(storage::Transaction& tx, const authz::Principal& who, const Entry& entry) {
  if (tx.dialect() == storage::Dialect::kPostgres) {
    // Concurrent PostgreSQL writers would read the same last entry and fork the chain (one
    // then fails on the seq key). This lock, held until the transaction ends, orders them
    // as SQLite's single writer does; at READ COMMITTED the SELECT below then sees the entry
    // the previous holder committed.
    RETURN_IF_ERROR(tx.Query("SELECT pg_advisory_xact_lock(7263531)").status());
  }
  ASSIGN_OR_RETURN(storage::Rows last, tx.Query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"));
  Record r;
  r.seq = last.empty() ? 1 : last[0].Int(0) + 1;
  r.prev_hash = last.empty() ? std::string(64, '0') : last[0].Text(1);
  r.at = clock_.Now();
  r.user_id = who.user.value;
  r.agency_id = who.agency.value;
  r.actor = who.name;
  r.roles = who.RoleList();
  r.purpose = std::string(authz::PurposeName(who.purpose));
  r.request_id = who.request_id;
  r.entry = entry;
  r.hash = ComputeHash(r);
  return tx
      .Execute(fmt::format("INSERT INTO audit_log ({}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", kColumns),
               {r.seq, r.at.micros, r.user_id, r.agency_id, r.actor, r.roles, r.purpose, r.request_id,
                r.entry.action, r.entry.record_type, r.entry.record_id,
                r.entry.person ? storage::Value(r.entry.person->value) : storage::Value(storage::Null{}),
                int64_t{r.entry.allowed ? 1 : 0}, r.entry.reason, r.prev_hash, r.hash})
      .status();
}

core::StatusOr<std::vector<Record>> AuditLog::ForPerson(storage::Transaction& tx, core::PersonId person,
                                                        int limit, int64_t before_seq) {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query(fmt::format("SELECT {} FROM audit_log WHERE person_id = ? AND seq < ? "
                                        "ORDER BY seq DESC LIMIT ?",
                                        kColumns),
                            {person.value, before_seq > 0 ? before_seq : INT64_MAX, int64_t{limit}}));
  std::vector<Record> out;
  for (const auto& row : rows) out.push_back(FromRow(row));
  return out;
}

core::StatusOr<std::vector<Record>> AuditLog::List(storage::Transaction& tx, int limit, int64_t before_seq) {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query(fmt::format("SELECT {} FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?", kColumns),
                            {before_seq > 0 ? before_seq : INT64_MAX, int64_t{limit}}));
  std::vector<Record> out;
  for (const auto& row : rows) out.push_back(FromRow(row));
  return out;
}

core::StatusOr<VerifyReport> AuditLog::Verify(storage::Database& db) {
  VerifyReport report;
  std::string prev(64, '0');
  int64_t expected_seq = 1;
  int64_t after = 0;
  constexpr int64_t kPage = 5000;
  for (;;) {
    storage::Rows rows;
    RETURN_IF_ERROR(db.Read([&](storage::Transaction& tx) -> core::Status {
      ASSIGN_OR_RETURN(rows, tx.Query(fmt::format("SELECT {} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
                                                  kColumns),
                                      {after, kPage}));
      return core::Status::Ok();
    }));
    for (const auto& row : rows) {
      Record r = FromRow(row);
      ++report.entries;
      auto fail = [&](std::string problem) {
        report.ok = false;
        report.first_bad_seq = r.seq;
        report.problem = std::move(problem);
      };
      if (r.seq != expected_seq) {
        fail(fmt::format("entry {} is missing (the next entry found is {})", expected_seq, r.seq));
        report.first_bad_seq = expected_seq;
      } else if (r.prev_hash != prev) {
        fail(fmt::format("entry {} does not follow entry {}: its previous hash differs", r.seq, r.seq - 1));
      } else if (ComputeHash(r) != r.hash) {
        fail(fmt::format("entry {} was modified: its content does not match its hash", r.seq));
      }
      if (!report.ok) return report;
      prev = r.hash;
      expected_seq = r.seq + 1;
      after = r.seq;
    }
    if (static_cast<int64_t>(rows.size()) < kPage) break;
  }
  return report;
}

}  // namespace audit
