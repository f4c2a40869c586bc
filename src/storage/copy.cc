#include "storage/copy.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace storage {
namespace {

using core::Status;
using core::StatusOr;

// Rows per INSERT statement: well under the bound-parameter limits of both databases
// (32766 in SQLite, 65535 in PostgreSQL) for any onedoor table.
constexpr int kRowsPerInsert = 100;

bool IsPlainName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string Quoted(const std::string& name) { return "\"" + name + "\""; }

// The table's columns in declaration order.
StatusOr<std::vector<std::string>> Columns(Transaction& tx, const std::string& table) {
  std::vector<std::string> out;
  if (tx.dialect() == Dialect::kSqlite) {
    ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT name FROM pragma_table_info(?) ORDER BY cid", {table}));
    for (const Row& r : rows) out.push_back(r.Text(0));
  } else {
    ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT column_name FROM information_schema.columns "
                                         "WHERE table_schema = current_schema() AND table_name = ? "
                                         "ORDER BY ordinal_position",
                                         {table}));
    for (const Row& r : rows) out.push_back(r.Text(0));
  }
  if (out.empty()) return Status::FailedPrecondition(fmt::format("the source has no table {}", table));
  for (const std::string& c : out) {
    if (!IsPlainName(c)) return Status::FailedPrecondition(fmt::format("table {} has a column named unusually", table));
  }
  return out;
}

StatusOr<std::vector<std::string>> TableNames(Transaction& tx) {
  std::vector<std::string> out;
  Rows rows;
  if (tx.dialect() == Dialect::kSqlite) {
    // Plain tables only: a full-text index (a virtual table and its shadow tables) is filled on
    // the target by its triggers as the rows arrive.
    ASSIGN_OR_RETURN(rows, tx.Query("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' "
                                    "AND name NOT LIKE 'sqlite_%'"));
  } else {
    ASSIGN_OR_RETURN(rows, tx.Query("SELECT table_name FROM information_schema.tables "
                                    "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"));
  }
  for (const Row& r : rows) out.push_back(r.Text(0));
  return out;
}

StatusOr<int64_t> MaxVersion(Database& db) {
  int64_t version = 0;
  RETURN_IF_ERROR(db.Read([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    version = rows.at(0).Int(0);
    return Status::Ok();
  }));
  return version;
}

StatusOr<int64_t> CountRows(Database& db, const std::string& table) {
  int64_t n = 0;
  RETURN_IF_ERROR(db.Read([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Rows rows, tx.Query("SELECT COUNT(*) FROM " + Quoted(table)));
    n = rows.at(0).Int(0);
    return Status::Ok();
  }));
  return n;
}

// Writes `rows` into `table` of `to` in one transaction.
Status WriteBatch(Database& to, const std::string& table, const std::vector<std::string>& columns,
                  const Rows& rows) {
  std::string column_list;
  std::string one_row = "(";
  for (size_t i = 0; i < columns.size(); ++i) {
    column_list += (i ? ", " : "") + Quoted(columns[i]);
    one_row += i ? ", ?" : "?";
  }
  one_row += ")";
  return to.Write([&](Transaction& tx) -> Status {
    for (size_t start = 0; start < rows.size(); start += kRowsPerInsert) {
      const size_t end = std::min(rows.size(), start + kRowsPerInsert);
      std::string sql = fmt::format("INSERT INTO {} ({}) VALUES ", Quoted(table), column_list);
      Params params;
      params.reserve((end - start) * columns.size());
      for (size_t r = start; r < end; ++r) {
        sql += (r == start ? "" : ", ") + one_row;
        if (rows[r].size() != columns.size()) return Status::Internal("a row has the wrong number of columns");
        for (size_t c = 0; c < columns.size(); ++c) params.push_back(rows[r].at(c));
      }
      ASSIGN_OR_RETURN(int64_t n, tx.Execute(sql, params));
      (void)n;
    }
    return Status::Ok();
  });
}

// Copies one table from the source snapshot `tx` in batches. Tables keyed by an integer
// first column (id, seq) are paged by key; the others are ordered by every column, which is
// a total order within the snapshot, and paged by offset.
Status CopyTable(Transaction& tx, Database& to, const std::string& table, int batch_rows) {
  ASSIGN_OR_RETURN(std::vector<std::string> columns, Columns(tx, table));
  const bool keyed = columns[0] == "id" || columns[0] == "seq";
  std::string order;
  for (size_t i = 0; i < columns.size(); ++i) order += (i ? ", " : "") + Quoted(columns[i]);
  const std::string select = fmt::format("SELECT {} FROM {}", order, Quoted(table));
  int64_t last_key = 0;
  int64_t offset = 0;
  bool first = true;
  for (;;) {
    Rows rows;
    if (keyed) {
      if (first) {
        ASSIGN_OR_RETURN(rows, tx.Query(fmt::format("{} ORDER BY {} LIMIT ?", select, Quoted(columns[0])),
                                        {int64_t{batch_rows}}));
      } else {
        ASSIGN_OR_RETURN(rows, tx.Query(fmt::format("{} WHERE {} > ? ORDER BY {} LIMIT ?", select,
                                                    Quoted(columns[0]), Quoted(columns[0])),
                                        {last_key, int64_t{batch_rows}}));
      }
    } else {
      ASSIGN_OR_RETURN(rows, tx.Query(fmt::format("{} ORDER BY {} LIMIT ? OFFSET ?", select, order),
                                      {int64_t{batch_rows}, offset}));
    }
    first = false;
    if (rows.empty()) return Status::Ok();
    RETURN_IF_ERROR(WriteBatch(to, table, columns, rows));
    if (keyed) last_key = rows.back().Int(0);
    offset += static_cast<int64_t>(rows.size());
    if (static_cast<int>(rows.size()) < batch_rows) return Status::Ok();
  }
}

// Moves each sequence owned by a column of `tables` (the identity `id` columns, and
// audit_log.seq's audit_log_seq) past the column's largest value, so that the next value
// generated is MAX + 1.
Status ResetSequences(Database& to, const std::vector<std::string>& tables) {
  return to.Write([&](Transaction& tx) -> Status {
    for (const std::string& table : tables) {
      ASSIGN_OR_RETURN(Rows owning, tx.Query("SELECT column_name::text FROM information_schema.columns "
                                             "WHERE table_schema = current_schema() AND table_name = ? "
                                             "AND pg_get_serial_sequence(?, column_name::text) IS NOT NULL",
                                             {table, table}));
      for (const Row& row : owning) {
        const std::string column = row.Text(0);
        if (!IsPlainName(column)) {
          return Status::FailedPrecondition(fmt::format("table {} has a column named unusually", table));
        }
        ASSIGN_OR_RETURN(Rows ignored,
                         tx.Query(fmt::format("SELECT setval(pg_get_serial_sequence('{}', '{}'), "
                                              "COALESCE(MAX({}), 0) + 1, false) FROM {}",
                                              table, column, Quoted(column), Quoted(table))));
        (void)ignored;
      }
    }
    return Status::Ok();
  });
}

}  // namespace

const std::vector<std::string>& OnedoorTables() {
  static const auto* tables = new std::vector<std::string>{
      "agencies",      "offices",       "users",
      "user_roles",    "sessions",      "login_failures",
      "api_tokens",    "persons",       "person_names",
      "person_identifiers", "person_history", "households",
      "household_members",  "source_records", "audit_log",
      "outbox",        "source_record_links", "match_reviews",
      "identity_models", "screenings",
      "sharing_agreements", "sharing_agreement_events",
      "consents", "consent_events",
      "break_glass_accesses", "change_notices", "agency_webhooks", "referrals", "referral_events",
      "cases", "case_participants", "case_conferences", "case_items", "case_events",
      "applications", "application_parts", "documents",
      "teams", "team_members", "work_items", "work_events",
      "directory_records", "directory_services", "directory_service_facets", "directory_meta", "interactions",
      "queues", "counters", "tickets", "ticket_events", "appointment_slots", "appointments", "outgoing_messages",
      "office_hours", "office_closures", "team_agencies", "service_targets", "outcomes", "outcome_indicators",
      "outcome_contributions", "diagnostics", "case_reviews", "take_up_runs", "take_up_counts", "citizen_profiles", "representatives", "oidc_logins", "external_identities",
      "portal_link_requests", "audit_seals",
  };
  return *tables;
}

StatusOr<CopyReport> CopyDatabase(Database& from, Database& to, const std::vector<std::string>& tables,
                                  int batch_rows) {
  if (batch_rows < 1) return Status::InvalidArgument("batch_rows must be at least 1");
  for (const std::string& t : tables) {
    if (!IsPlainName(t)) return Status::InvalidArgument(fmt::format("'{}' is not a table name", t));
  }
  ASSIGN_OR_RETURN(int64_t from_version, MaxVersion(from));
  ASSIGN_OR_RETURN(int64_t to_version, MaxVersion(to));
  if (from_version != to_version) {
    return Status::FailedPrecondition(fmt::format(
        "the source is at schema version {} and the target at {}; migrate both with the same onedoor first",
        from_version, to_version));
  }
  for (const std::string& t : tables) {
    ASSIGN_OR_RETURN(int64_t n, CountRows(to, t));
    if (n != 0) {
      return Status::FailedPrecondition(
          fmt::format("the target is not empty: table {} has {} rows; copy into a new database", t, n));
    }
  }

  Status copied = from.Read([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<std::string> present, TableNames(tx));
    const std::set<std::string> wanted(tables.begin(), tables.end());
    for (const std::string& t : present) {
      if (t != "schema_migrations" && !wanted.count(t)) {
        return Status::FailedPrecondition(
            fmt::format("the source has a table {} that would not be copied; add it to the list", t));
      }
    }
    for (const std::string& t : tables) {
      Status s = CopyTable(tx, to, t, batch_rows);
      if (!s.ok()) return Status(s.code(), fmt::format("copying table {}: {}", t, s.message()));
    }
    return Status::Ok();
  });
  RETURN_IF_ERROR(copied);
  if (to.dialect() == Dialect::kPostgres) RETURN_IF_ERROR(ResetSequences(to, tables));

  CopyReport report;
  std::vector<std::string> mismatches;
  for (const std::string& t : tables) {
    TableCopy c{t, 0, 0};
    ASSIGN_OR_RETURN(c.source_rows, CountRows(from, t));
    ASSIGN_OR_RETURN(c.target_rows, CountRows(to, t));
    if (c.source_rows != c.target_rows) {
      mismatches.push_back(fmt::format("{} ({} rows in the source, {} in the target)", t, c.source_rows, c.target_rows));
    }
    report.tables.push_back(std::move(c));
  }
  if (!mismatches.empty()) {
    std::string list;
    for (const std::string& m : mismatches) list += (list.empty() ? "" : ", ") + m;
    return Status::DataLoss("row counts differ after the copy: " + list);
  }
  return report;
}

}  // namespace storage
