#pragma once

#include <cstdint>
#include <string>

#include "access/principal.h"
#include "core/clock.h"
#include "identity/matcher.h"
#include "identity/record.h"
#include "registry/person.h"
#include "registry/person_service.h"
#include "storage/database.h"

namespace identity {

// What the matcher reads of a registry person: the first official name, the date of birth, the
// first home (else any) address with a leading house number split off, the first national id,
// the first phone.
PersonRecord ToPersonRecord(const registry::Person& person);

struct DedupeReport {
  int64_t records = 0;          // source records read
  int64_t registered = 0;       // persons without a source record, matched against too
  int64_t unusable = 0;         // records whose data is not a person (left alone)
  int64_t clusters = 0;         // people found
  int64_t persons_created = 0;  // new shared persons
  int64_t records_linked = 0;   // records newly linked to a person
  int64_t conflicts = 0;        // clusters holding records of several persons: sent to review
  int64_t review_queued = 0;    // new pairs waiting for a person to decide
  int64_t review_known = 0;     // pairs already queued or decided (not asked again)
  int64_t review_unqueued = 0;  // doubtful pairs with a registered person who has no record to name
  int64_t pairs_compared = 0;
  uint64_t merges_refused = 0;
  double seconds = 0;
  std::string ToJson() const;
};

// Builds the shared client index over the registry: reads every agency's source records
// (through the access gate, audited), finds the records of the same person (Deduplicate), and
// links them: records of a cluster join the person one of them is already linked to, or a new
// person made from the cluster's first record; pairs between the thresholds, and clusters that
// would join two existing persons, go to the review queue (match_reviews). Links are never
// removed here; running it again links only what is new. `dry_run` decides without writing.
// Thread-compatible.
class RegistryLinker {
 public:
  RegistryLinker(registry::PersonService& persons, storage::Database& db, const core::Clock& clock)
      : persons_(persons), db_(db), clock_(clock) {}

  core::StatusOr<DedupeReport> Dedupe(const authz::Principal& who, const MatchOptions& options, bool dry_run);

 private:
  registry::PersonService& persons_;
  storage::Database& db_;
  const core::Clock& clock_;
};

// The principal the client index acts as: a system of the consortium, allowed to read every
// source record and to create persons and links.
authz::Principal ClientIndexPrincipal();

// `onedoor link dedupe [--dry-run]`, given the app's services. Prints the report as one JSON
// line. Returns 0 on success, 1 on failure (message on stderr), 2 for a usage error.
int RunLinkDedupe(registry::PersonService& persons, storage::Database& db, const core::Clock& clock,
                  const std::vector<std::string>& args);

}  // namespace identity
