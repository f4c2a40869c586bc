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

}  // namespace testing_support
