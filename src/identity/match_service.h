#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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
  // Persons created or changed since the index was built are added to it as they come (the old
  // record of a changed person is hidden); once more than this many have been added, the index
  // is built again from the persons table. Each catch-up indexes again every person added since
  // the build (15 ms for 10,000, 91 ms for 49,000: docs/PERFORMANCE.md). 0: build it again at
  // every change.
  size_t max_added = 10'000;
};

// What the index holds, for operators and tests.
struct MatchIndexStats {
  int64_t builds = 0;  // whole builds from the persons table since the start
  size_t rows = 0;     // records in the index, hidden ones included
  size_t added = 0;    // records added since the last whole build
};

// Real-time matching of a person's fields against every person of the registry ("is this
// person already known?"), for the registration page and partner systems. Keeps an in-memory
// index (identity::ClientIndex) built from the persons table — never a second source of
// truth: a request finds it stale when a person was created or changed, on this server or
// another (the newest person and history ids moved), and adds the persons changed since
// (`max_added`, then a whole build on a thread of its own, during which requests use the index
// there is). Scores with the newest trained model (identity_models, written by `onedoor link
// dedupe`; a new one means a whole build), or a conservative hand-set one before the first
// training.
// Every candidate shown is a read of that person's data, audited before it is released.
// Thread-safe.
class MatchService {
 public:
  MatchService(storage::Database& db, const authz::AccessGate& gate, audit::AuditLog& audit,
               const core::Clock& clock, MatchServiceOptions options = {});

  // Up to `limit` (1..20) candidates, best first. kInvalidArgument if the probe has neither a
  // given nor a family name; kPermissionDenied when the gate refuses a search (audited).
  // `min_probability` (when not negative) replaces the options' for this call, and `keep` (when
  // given) chooses among the candidates found before any is audited or released: a caller that
  // shows only some of them reads no one else.
  core::StatusOr<std::vector<MatchCandidate>> Match(const authz::Principal& who, const registry::Person& probe,
                                                    int limit, double min_probability = -1,
                                                    const std::function<bool(const MatchCandidate&)>& keep = {});

  // Records that staff registered `person` although the match showed `candidates`, and why
  // (audited with the new person, so that it shows in their access log and in audits).
  core::Status RecordRegisteredDespiteMatches(const authz::Principal& who, core::PersonId person,
                                              const std::vector<core::PersonId>& candidates,
                                              const std::string& reason);

  // The model used until a trained one is stored.
  static Model StarterModel();

  MatchIndexStats Stats();
  // Starts the first build of the index on a thread of its own, if none is there or under way,
  // so that the first match does not wait for it all (the server calls this at start).
  void StartBuilding();
  // Returns once no whole build of the index is under way.
  void WaitForBuild();

  ~MatchService();
  MatchService(const MatchService&) = delete;
  MatchService& operator=(const MatchService&) = delete;

 private:
  struct Index;
  // What the database looked like: the newest person, history and model ids.
  struct State {
    int64_t person = 0, history = 0, model = 0;
    bool operator==(const State&) const = default;
  };
  // Persons are never deleted and every change (a creation too) adds a history row, so the
  // newest ids tell whether anything changed; each is one index probe.
  static core::StatusOr<State> ReadState(storage::Transaction& tx);
  core::StatusOr<std::shared_ptr<Index>> CurrentIndex();
  core::StatusOr<std::shared_ptr<Index>> Build();
  // Adds the persons changed between the index's state and `to`; kResourceExhausted when
  // they are more than max_added allows (build it whole instead).
  core::Status CatchUp(Index& index, const State& to);
  // Takes a whole build's result. REQUIRES(mu_)
  void Finish(core::StatusOr<std::shared_ptr<Index>> built);
  // Runs a whole build on builder_, building_ set by the caller. REQUIRES(mu_)
  void SpawnBuild();

  storage::Database& db_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  const core::Clock& clock_;
  const MatchServiceOptions options_;
  std::mutex mu_;
  std::condition_variable built_;                     // a whole build ended
  std::shared_ptr<Index> index_;                      // GUARDED_BY(mu_)
  bool building_ = false;                             // GUARDED_BY(mu_)
  int64_t builds_ = 0;                                // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point checked_at_;  // GUARDED_BY(mu_)
  std::thread builder_;                               // GUARDED_BY(mu_): the last whole build after the first
};

}  // namespace identity
