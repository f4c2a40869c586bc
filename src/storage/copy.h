#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/database.h"

// Copying a whole onedoor database from one backend to another (SQLite -> PostgreSQL to
// outgrow one machine, or back).
namespace storage {

// Every table of the onedoor schema (OnedoorSchema in schema.h) except schema_migrations,
// in foreign-key order: a table comes after every table it references. A migration that adds
// a table adds it here too; CopyDatabase refuses a source with a table missing from this list.
const std::vector<std::string>& OnedoorTables();

struct TableCopy {
  std::string table;
  int64_t source_rows = 0;  // counted after the copy, in a fresh snapshot of the source
  int64_t target_rows = 0;
};

struct CopyReport {
  std::vector<TableCopy> tables;  // in the order copied
};

// Copies every row of `tables` (in that order, which must respect foreign keys) from `from`
// into `to`, then checks that each table has as many rows in the target as in the source.
//
// REQUIRES: `to` is migrated to the same schema version as `from`, and nothing writes to
// `from` while the copy runs (stop the servers first). The rows are read from one snapshot of
// `from` and written in batches of `batch_rows`, one Write per batch; on PostgreSQL each
// identity sequence is then moved past the largest copied id so new rows do not collide.
//
// Does not check the audit chain, since storage is below audit/: callers run
// audit::AuditLog::Verify(to) afterwards (the `onedoor db copy` command does).
//
// Errors:
//   kFailedPrecondition  the schema versions differ, a table of `to` is not empty (named; the
//                        target is left untouched), or `from` has a table not in `tables`
//                        (other than schema_migrations) that would be left behind
//   kDataLoss            a table's row count differs after the copy (named, with both counts)
//   anything the databases return (kUnavailable, kInternal...); a failure part-way leaves
//   the batches already written in `to`: empty it (or use a fresh database) and run again.
core::StatusOr<CopyReport> CopyDatabase(Database& from, Database& to, const std::vector<std::string>& tables,
                                        int batch_rows = 1000);

}  // namespace storage
