#pragma once

#include <optional>
#include <string>
#include <vector>

#include "access/principal.h"
#include "core/clock.h"
#include "core/ids.h"
#include "storage/database.h"

namespace audit {

// What happened, by whom, about whom and why. Never holds personal data beyond ids.
struct Entry {
  std::string action;       // "person.read", "person.update", "login.failed"...
  std::string record_type;  // "person", "household", "user"...
  std::string record_id;
  std::optional<core::PersonId> person;  // whom the entry is about, if anyone
  bool allowed = true;
  std::string reason;  // why allowed or refused: "role caseworker may read persons"
};

// A stored entry.
struct Record {
  int64_t seq = 0;
  core::Timestamp at;
  int64_t user_id = 0;
  int64_t agency_id = 0;
  std::string actor;  // username or token name
  std::string roles;
  std::string purpose;
  std::string request_id;
  Entry entry;
  std::string prev_hash;
  std::string hash;
};

struct VerifyReport {
  int64_t entries = 0;
  bool ok = true;
  int64_t first_bad_seq = 0;  // when !ok
  std::string problem;        // when !ok
};

// The append-only audit log. Each entry's hash is SHA-256 over the previous hash and the
// entry's fields, so a changed, removed or reordered entry breaks the chain from there on.
// Thread-safe; Append must run inside a write transaction (the single writer serialises
// the chain).
class AuditLog {
 public:
  explicit AuditLog(const core::Clock& clock) : clock_(clock) {}

  core::Status Append(storage::Transaction& tx, const authz::Principal& who, const Entry& entry);

  // Entries about `person`, newest first.
  core::StatusOr<std::vector<Record>> ForPerson(storage::Transaction& tx, core::PersonId person,
                                                int limit, int64_t before_seq = 0);
  // All entries, newest first, optionally filtered.
  core::StatusOr<std::vector<Record>> List(storage::Transaction& tx, int limit, int64_t before_seq = 0);

  // Walks the whole chain in order.
  static core::StatusOr<VerifyReport> Verify(storage::Database& db);

  // The hash of `r` given the previous hash: exposed for verification and tests.
  static std::string ComputeHash(const Record& r);

 private:
  const core::Clock& clock_;
};

}  // namespace audit
