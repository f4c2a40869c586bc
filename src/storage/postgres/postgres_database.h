#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "storage/database.h"

namespace storage {

struct PostgresOptions {
  // Most sessions kept for reads, and as many again for writes. Sessions are opened when
  // first needed and reused; a broken one is dropped and replaced on the next use.
  int connections = 8;
  // Seconds to wait for the server when opening a session.
  int connect_timeout_seconds = 10;
  // Times a write is run in all when PostgreSQL aborts it as a serialization failure or a
  // deadlock (SQLSTATE 40001, 40P01). The whole callback runs again each time.
  int max_write_attempts = 3;
};

// Opens the PostgreSQL database at `url` ("postgres://user@host:port/dbname", also
// "postgresql://"; any libpq URI parameter is accepted). Fails with kUnavailable if the
// server cannot be reached, kInvalidArgument if `url` is not a PostgreSQL URL.
//
// Behaviour beside the storage::Database contract:
//   - Read runs in BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; the snapshot is taken
//     at its first statement. A write attempted in a Read fails with kInternal.
//   - Write runs in a READ COMMITTED transaction on its own session; concurrent writes
//     share WAL flushes in PostgreSQL itself. The write is durable when Write returns
//     (synchronous_commit as configured on the server, "on" by default).
//   - Unlike SQLite, a failed statement aborts the whole transaction: every later statement
//     of the same callback fails with kInternal, so callers return the first error.
//   - Text values cannot contain NUL characters (kInternal).
// Errors never carry a password or a statement's parameter values. Thread-safe.
core::StatusOr<std::unique_ptr<Database>> OpenPostgres(const std::string& url,
                                                       const PostgresOptions& options = {});

// True if `db` names a PostgreSQL database ("postgres://" or "postgresql://").
bool IsPostgresUrl(std::string_view db);

// `url` with any password removed, for logs and Describe().
std::string RedactPostgresUrl(std::string_view url);

}  // namespace storage
