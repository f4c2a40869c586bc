#pragma once

#include <functional>
#include <string>
#include <vector>

#include "storage/database.h"

namespace storage {

// One schema change. `sql` is written once for both dialects; these tokens are replaced:
//   {{id}}   an auto-assigned 64-bit primary key column type
//   {{key}}  a 64-bit primary key whose values the program assigns (SQLite's rowid)
//   {{blob}} a binary column type
// and sections for one dialect only (not nested), kept on that database and dropped on the other:
//   {{postgres}} CREATE SEQUENCE ...; {{end}}
//   {{sqlite}} ... {{end}}
// In a {{sqlite}} section, {{next_schema_version}} is SQLite's schema cookie plus one: the
// documented way to drop a NOT NULL constraint by editing sqlite_schema under
// PRAGMA writable_schema, after which the cookie must change so that every connection reloads it.
struct Migration {
  int version;
  std::string name;
  std::string sql;
  // Work in the program's terms that SQL cannot do (keys made by its code), run after `sql` in
  // the same transaction; set by the program that owns the code (app::App for the schema's).
  std::function<core::Status(Transaction&)> step = nullptr;
};

// Replaces the dialect tokens in `sql`.
std::string TranslateDdl(const std::string& sql, Dialect dialect);

// Applies, in order and each in its own transaction, the migrations not yet applied.
// Fails with kFailedPrecondition if the database has a version this program does not know
// (it was written by a newer onedoor). Returns the number applied.
core::StatusOr<int> Migrate(Database& db, const std::vector<Migration>& migrations);

// The highest applied version, 0 for an empty database.
core::StatusOr<int> SchemaVersion(Database& db);
// The same, read without writing anything: 0 when the database has no schema table (an empty
// file, or one that was never migrated). For commands that check a database and must leave it
// as it was.
core::StatusOr<int> ReadSchemaVersion(Database& db);

}  // namespace storage
