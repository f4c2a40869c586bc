#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "storage/database.h"

namespace testing_support {

// A directory removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A fresh SQLite database with onedoor's schema in `dir`.
std::unique_ptr<storage::Database> NewMigratedSqlite(const TempDir& dir, const std::string& name = "t.db");

// A fresh database with onedoor's schema on `backend`: "sqlite" in `dir`, or "postgres" as a new
// database of the binary's cluster (tests/testing/postgres_cluster.h; register the environment)
// with `connections` connections. Throws std::runtime_error when it cannot be made.
std::unique_ptr<storage::Database> NewMigratedDatabase(const std::string& backend, const TempDir& dir,
                                                       int connections = 2);

// Makes `db` refuse, as a full disk or a broken rule would, every insert into `table` for which
// `condition` holds: SQL over the new row (`NEW.column`) that SQLite and PostgreSQL both read.
// A trigger named refuse_<table>; SQLite reports the refusal as a failed check, PostgreSQL as an
// error.
core::Status RefuseInserts(storage::Database& db, const std::string& table, const std::string& condition);

}  // namespace testing_support
