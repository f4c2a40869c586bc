#pragma once

#include <optional>
#include <string>
#include <vector>

#include "access/access_gate.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "registry/person.h"
#include "registry/person_service.h"
#include "storage/database.h"

namespace identity {

enum class ReviewDecision { kSame, kNotSame };

// One side of a pair under review: an agency's source record and the person it is linked to.
struct ReviewSide {
  core::SourceRecordId record;
  core::AgencyId agency;
  std::string local_id;
  std::optional<core::PersonId> person;
  registry::Person data;
};

struct MatchReview {
  int64_t id = 0;
  std::string state;  // pending, same, not_same
  double weight = 0;
  double probability = 0;
  std::string explanation;  // JSON: prior_weight, total, probability, fields[{field, level, weight}]
  ReviewSide a;
  ReviewSide b;
  core::Timestamp created_at;
  std::optional<int64_t> decided_by;
  std::optional<core::Timestamp> decided_at;
  std::string reason;
};

// The review queue of the client index: pairs of source records that may be the same person,
// queued by `onedoor link dedupe`. A reviewer sees both records (through the access gate, each
// view audited on both persons) and decides:
//   same      — the records end up on one person: an unlinked record joins the other's person,
//               two unlinked records get one new person, and a record on another person moves
//               to the first record's person (its old person keeps its history);
//   not same  — if both records are on one person, the second moves to a new person of its own.
// Every decision is audited and kept, so the pair is not asked again; changing a decision is
// a manager's override, audited as such. Thread-safe.
class ReviewService {
 public:
  ReviewService(storage::Database& db, registry::PersonService& persons, const authz::AccessGate& gate,
                audit::AuditLog& audit, const core::Clock& clock)
      : db_(db), persons_(persons), gate_(gate), audit_(audit), clock_(clock) {}

  // Reviews in `state` (pending, same, not_same), oldest first, after id `after`.
  core::StatusOr<std::vector<MatchReview>> List(const authz::Principal& who, const std::string& state, int limit,
                                                int64_t after = 0);
  // kNotFound, kPermissionDenied.
  core::StatusOr<MatchReview> Get(const authz::Principal& who, int64_t id);
  // kNotFound; kPermissionDenied for roles other than caseworker, specialist, coordinator and
  // manager (audited), and when a non-manager changes a decided pair;
  // kInvalidArgument for a reason over 500 characters or an override without a reason;
  // kFailedPrecondition if a record changed person meanwhile (nothing changed: review again).
  core::StatusOr<MatchReview> Decide(const authz::Principal& who, int64_t id, ReviewDecision decision,
                                     const std::string& reason);

 private:
  core::StatusOr<std::vector<MatchReview>> Load(const std::string& where, const storage::Params& params);
  core::StatusOr<std::vector<std::string>> AuditView(const authz::Principal& who,
                                                     std::vector<MatchReview>& reviews);

  storage::Database& db_;
  registry::PersonService& persons_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  const core::Clock& clock_;
};

}  // namespace identity
