#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "access/principal.h"
#include "core/batch.h"
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

// Added to the reason of every entry a representative's request made (with the grant's number).
inline constexpr std::string_view kActedByRepresentative =
    " (acted by the person's representative, grant ";
// Whether a representative acting for the person made the entry.
inline bool ActedByRepresentative(const Entry& e) {
  return e.reason.find(kActedByRepresentative) != std::string::npos;
}

// The actor of what was done with an appointment's reference alone, without an account (a
// cancellation on the public page, a check-in at a kiosk).
inline constexpr std::string_view kAppointmentReferenceActor = "appointment reference";

// A stored entry.
struct Record {
  int64_t seq = 0;
  int64_t chain = 0;  // 0 on SQLite and for entries written before chains existed
  core::Timestamp at;
  int64_t user_id = 0;
  int64_t agency_id = 0;
  std::string actor;  // username or token name
  std::string roles;
  std::string purpose;
  std::string request_id;
  // The address the request came from (its principal's client_address); empty for entries of
  // commands and background jobs, and for entries written before addresses were kept.
  std::string client_address;
  Entry entry;
  std::string prev_hash;  // the hash of the entry before this one on its chain; 64 zeros first
  std::string hash;
};

// What an auditor looks for in the log. Every filter set must hold.
struct Query {
  std::optional<core::AgencyId> agency;  // entries made by this agency's staff and systems
  std::string actor;                     // a username or token name, exactly
  std::string action;                    // "person.read" exactly, or a family: "person" is person.*
  std::optional<core::PersonId> person;  // entries about this person
  bool refused_only = false;
  std::optional<core::Timestamp> from;  // at or after
  std::optional<core::Timestamp> to;    // before
  int64_t before_seq = 0;               // entries before this one (the next page); 0: the newest
  int limit = 50;
};

struct VerifyReport {
  int64_t entries = 0;
  int64_t chains = 0;  // distinct chains among the entries checked
  bool ok = true;
  int64_t first_bad_seq = 0;  // when !ok
  std::string problem;        // when !ok
};

// The append-only audit log, made of hash chains. Each entry's hash is SHA-256 over the
// previous hash on its chain and the entry's fields (the chain number included, when not 0),
// so a changed, removed, reordered or moved entry breaks its chain from there on.
//
// Chains. On SQLite every entry is on chain 0 and `seq` runs 1, 2, 3… without gaps: the single
// writer serialises the chain. On PostgreSQL there are kPostgresChains chains, numbered 1 to
// kPostgresChains, so that appends on different chains commit in parallel and share WAL
// flushes: an entry goes on chain 1 + (person id mod kPostgresChains) when it names a person,
// on 1 + (agency id mod kPostgresChains) otherwise, except that every further entry of the
// same transaction goes on the chain its first entry took (so that a transaction holds one
// chain lock, and two transactions never wait on each other's chains in opposite orders).
// `seq` comes from one sequence: unique, increasing along each chain in commit order, with
// gaps where a transaction rolled back, and not in commit order across chains. Entries from
// before chains existed stay on chain 0 with their seq and hashes.
//
// Thread-safe; Append must run inside a write transaction. Write appends in a transaction of
// its own, grouped with concurrent Writes.
class AuditLog {
 public:
  // The number of chains entries are spread over on PostgreSQL. Changing it is safe (new
  // entries go on the new chains; verification follows whatever chains it finds) but moves
  // people to other chains.
  static constexpr int64_t kPostgresChains = 32;

  explicit AuditLog(const core::Clock& clock) : clock_(clock) {}

  // Appends `entry` on its chain. On PostgreSQL this takes the chain's lock until the end of
  // the transaction (a transaction-scoped advisory lock, compatible with PgBouncer's
  // transaction mode). Errors are those of `tx` (kAlreadyExists if the PostgreSQL sequence
  // audit_log_seq is behind the largest seq, e.g. after copying entries in without moving it).
  core::Status Append(storage::Transaction& tx, const authz::Principal& who, const Entry& entry);

  // One entry and who made it, for AppendAll.
  struct Item {
    const authz::Principal* who;
    const Entry* entry;
  };
  // Appends `items` in order, as consecutive entries of one chain (on PostgreSQL the chain the
  // transaction holds, else the first item's): the chain's head is read and its lock taken
  // once for all of them. Append is AppendAll of one item.
  core::Status AppendAll(storage::Transaction& tx, std::span<const Item> items);

  // Appends `entry` in a write transaction of its own on `db` and returns once it is durable:
  // what a read records before it releases anything. Concurrent Writes are grouped: the caller
  // that finds no group being written writes every entry waiting (one transaction, one chain
  // lock, one commit) while the others wait for it; each waiting caller gets its group's
  // result. A refused or failed group leaves none of its entries.
  // On SQLite it is one Database::Write: the single writer groups concurrent writes itself.
  // Inside a storage::DeferScope (on SQLite) Write returns at once and the scope holds the
  // answer back until the entry is durable. Entries deferred so are appended together: the
  // first to find no batch waiting for the writer submits one (one write, the chain's head read
  // once), and those that come before the writer starts it join it; a batch that fails leaves
  // none of its entries, and every request waiting on it is answered with the error.
  core::Status Write(storage::Database& db, const authz::Principal& who, const Entry& entry);

  // A read that is audited: runs `read`, which reads what it needs and fills in the entry
  // recording it (allowed or refused), then makes that entry durable before returning. If
  // `read` fails, nothing is recorded and its error is returned. On PostgreSQL `read` runs in
  // a read-only snapshot and the entry is written by Write, grouped with other reads' entries;
  // on SQLite `read` runs in the single writer's transaction with the entry appended after it
  // (one hand-over to the writer instead of a snapshot and a write), so it must not write.
  // Inside a storage::DeferScope, `read` runs in a read-only snapshot and the entry is deferred
  // as by Write: the answer is held back until it is durable.
  using ReadWork = std::function<core::Status(storage::Transaction&, Entry&)>;
  core::Status AuditedRead(storage::Database& db, const authz::Principal& who, const ReadWork& read);

  // Entries about `person`, newest first (by seq).
  core::StatusOr<std::vector<Record>> ForPerson(storage::Transaction& tx, core::PersonId person,
                                                int limit, int64_t before_seq = 0);
  // All entries, newest first (by seq), optionally filtered.
  core::StatusOr<std::vector<Record>> List(storage::Transaction& tx, int limit,
                                           int64_t before_seq = 0);
  // The entries `q` asks for, newest first (by seq), at most q.limit. With a person, the
  // person's index is used; otherwise the log is read from the newest entry down until the
  // page is full.
  static core::StatusOr<std::vector<Record>> Search(storage::Transaction& tx, const Query& q);

  // Walks every chain in one read snapshot, entries in seq order a page at a time (memory is
  // bounded by the page and the number of chains, not by the log). Checks, stopping at the
  // first problem:
  //   - that each entry of chain 0 comes right after the entry before it in the log (seq one
  //     more, 1 for the first): a gap is "entry N is missing", first_bad_seq N;
  //   - that each entry's hash matches its content: "entry N was modified";
  //   - that on each chain the first entry's previous hash is 64 zeros and every later
  //     entry's is the hash of the entry before it on that chain: "entry N on chain C does not
  //     follow entry M, the one before it on that chain…" (chain 0 keeps the shorter
  //     "entry N does not follow entry M…").
  // `entries` counts the entries checked, the bad one included; `chains` the chains seen.
  // A report with !ok is not an error; errors are the database's.
  //
  // On PostgreSQL the snapshot holds back vacuum for as long as the walk takes.
  static core::StatusOr<VerifyReport> Verify(storage::Database& db);

  // The hash of `r` given its prev_hash: exposed for verification and tests. The chain is
  // hashed only when it is not 0, so entries of chain 0 keep the hashes they were written with.
  static std::string ComputeHash(const Record& r);

  // The chain Append puts `entry` by `who` on, on PostgreSQL, when it is the transaction's first.
  static int64_t PostgresChain(const authz::Principal& who, const Entry& entry);

 private:
  // A Write waiting for its group, and the group's result.
  struct Pending {
    Item item;
    core::Status result;
  };
  static constexpr size_t kMaxGroup = 256;

  // Entries deferred inside storage::DeferScopes, appended by one submitted write.
  struct DeferredBatch {
    const storage::Database* db = nullptr;
    std::vector<std::pair<authz::Principal, Entry>> items;
    // Finished with the write's result; every request whose entry is in `items` waits on it.
    std::shared_ptr<storage::Submitted> done = std::make_shared<storage::Submitted>();
  };
  core::Status Defer(storage::Database& db, const authz::Principal& who, const Entry& entry);

  const core::Clock& clock_;
  core::Batcher<Pending> writes_{kMaxGroup};  // keyed by database
  std::mutex deferred_mu_;
  // The batch taking entries until the writer starts it, if any.
  std::shared_ptr<DeferredBatch> open_batch_;  // GUARDED_BY(deferred_mu_)
};

}  // namespace audit
