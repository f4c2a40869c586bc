#pragma once

#include <optional>
#include <string>
#include <vector>

#include "access/access_gate.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/date.h"
#include "exchange/outbox.h"
#include "storage/database.h"

namespace registry {

// One person's membership of a household over a period. `until` is empty while current.
struct Membership {
  core::PersonId person;
  std::string name;
  std::string relationship;  // head, partner, child, parent, sibling, grandparent, grandchild,
                             // other_relative, carer, lodger, other
  std::string since;         // YYYY-MM-DD
  std::string until;
  bool name_withheld = false;  // the reader may not see the member's names: `name` is empty
};

// Whether `relationship` is one a member may have (see Membership), and what to say when it is not.
bool IsRelationship(const std::string& relationship);
inline constexpr const char* kRelationshipMessage =
    "must be one of head, partner, child, parent, sibling, grandparent, grandchild, "
    "other_relative, carer, lodger, "
    "other";

struct Household {
  core::HouseholdId id;
  std::string name;  // empty, with name_withheld, when the reader sees no current member's names
  int64_t version = 0;
  std::vector<Membership> members;  // current first, then past
  bool name_withheld = false;
};

// Households, their members and moves between households. Gated and audited like persons:
// reading a household reads each member's household data. Thread-safe.
class HouseholdService {
 public:
  HouseholdService(storage::Database& db, const authz::AccessGate& gate, audit::AuditLog& audit,
                   exchange::Outbox& outbox, const core::Clock& clock)
      : db_(db), gate_(gate), audit_(audit), outbox_(outbox), clock_(clock) {}

  core::StatusOr<Household> Create(const authz::Principal& who, const std::string& name);
  // Each member's household data is decided by the gate and audited. A person signed in to the
  // portal sees their own household: its current members' names and relationships.
  core::StatusOr<Household> Get(const authz::Principal& who, core::HouseholdId id);
  // The household `person` lives in now, if any. Releases no one's data: callers read it with Get.
  core::StatusOr<std::optional<core::HouseholdId>> CurrentOf(core::PersonId person);
  // Adds `person` from `since`. A person lives in one household at a time: a current
  // membership elsewhere ends on `since` (a move).
  core::StatusOr<Household> AddMember(const authz::Principal& who, core::HouseholdId id, core::PersonId person,
                                      const std::string& relationship, core::Date since);
  // Ends the current membership of `person` on `until`.
  core::StatusOr<Household> EndMembership(const authz::Principal& who, core::HouseholdId id, core::PersonId person,
                                          core::Date until);

 private:
  authz::Decision Decide(const authz::Principal& who, authz::Operation op, core::PersonId person,
                         storage::Transaction* tx) const;
  core::StatusOr<Household> Load(storage::Transaction& tx, core::HouseholdId id);

  storage::Database& db_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
};

}  // namespace registry
