#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "access/access_gate.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "identity/matcher.h"
#include "registry/person.h"
#include "storage/database.h"

namespace identity {

// A likely existing person for a probe, with the score's per-field weights.
struct MatchCandidate {
  core::PersonId person;
  std::string name;        // display name
  std::string birth_date;  // as stored, possibly partial
  double probability = 0;
  double weight = 0;
  Explanation explanation;
};

struct MatchServiceOptions {
  // How old the in-memory index may be before a request checks the database for changes
  // (a cheap check: three index probes).
  std::chrono::milliseconds max_staleness{0};
  // Candidates below this probability are not shown.
  double min_probability = 0.05;
};

// Real-time matching of a person's fields against every person of the registry ("is this
// person already known?"), for the registration page and partner systems. Keeps an in-memory
// index (identity::ClientIndex) rebuilt from the persons table — never a second source of
// truth: a request finds it stale when a person was created or changed, on this server or
// another (the newest person and history ids moved), and rebuilds it. Scores with the newest trained model (identity_models,
// written by `onedoor link dedupe`), or a conservative hand-set one before the first training.
// Every candidate shown is a read of that person's data, audited before it is released.
// Thread-safe.
class MatchService {
 public:
  MatchService(storage::Database& db, const authz::AccessGate& gate, audit::AuditLog& audit,
               const core::Clock& clock, MatchServiceOptions options = {});

  // Up to `limit` (1..20) candidates, best first. kInvalidArgument if the probe has neither a
  // given nor a family name; kPermissionDenied when the gate refuses a search (audited).
  core::StatusOr<std::vector<MatchCandidate>> Match(const authz::Principal& who, const registry::Person& probe,
                                                    int limit);

  // Records that staff registered `person` although the match showed `candidates`, and why
  // (audited with the new person, so that it shows in their access log and in audits).
  core::Status RecordRegisteredDespiteMatches(const authz::Principal& who, core::PersonId person,
                                              const std::vector<core::PersonId>& candidates,
                                              const std::string& reason);

  // The model used until a trained one is stored.
  static Model StarterModel();

 private:
  struct Index;
  core::StatusOr<std::shared_ptr<const Index>> CurrentIndex();

  storage::Database& db_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  const core::Clock& clock_;
  const MatchServiceOptions options_;
  std::mutex mu_;
  std::shared_ptr<const Index> index_;  // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point checked_at_;  // GUARDED_BY(mu_)
};

}  // namespace identity
