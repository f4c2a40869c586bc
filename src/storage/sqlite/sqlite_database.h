#pragma once

#include <memory>
#include <string>

#include "storage/database.h"

namespace storage {

struct SqliteOptions {
  int read_connections = 4;
  int busy_timeout_ms = 5000;
  // Most writes committed together in one transaction.
  int max_group_size = 256;
  // Length of the write-ahead log, in pages, at which a checkpoint copies it back into the
  // database file, on a thread of its own; 0 leaves checkpoints to SQLite, in the commits.
  int checkpoint_pages = 8192;
};

// Opens (creating if needed) the SQLite database at `path` in WAL mode with foreign keys on
// and synchronous=FULL, so that a write is durable when Write() returns. Writes run on one
// writer thread with group commit; reads run on a pool of read connections.
core::StatusOr<std::unique_ptr<Database>> OpenSqlite(const std::string& path,
                                                     const SqliteOptions& options = {});

// Copies a consistent snapshot of the database at `from` into the file `to` (SQLite's
// online backup API), while the database stays in use.
core::Status BackupSqlite(const std::string& from, const std::string& to);

}  // namespace storage
