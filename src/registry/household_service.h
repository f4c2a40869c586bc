#pragma once

#include <array>
#include <functional>
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

  // Whether they lived in the household on `day` (YYYY-MM-DD): from `since`, until the day
  // before `until` (the day they left, or moved, is their new household's); with "", whether
  // they live there now.
  bool LivedThereOn(const std::string& day) const {
    if (day.empty()) return until.empty();
    return since <= day && (until.empty() || day < until);
  }
};

// The relationships a member may have (see Membership), in the order forms offer them.
inline constexpr std::array<const char*, 11> kRelationships = {
    "head",       "partner",        "child", "parent", "sibling", "grandparent",
    "grandchild", "other_relative", "carer", "lodger", "other"};
// Whether `relationship` is one of them, and what to say when it is not.
bool IsRelationship(const std::string& relationship);
inline constexpr const char* kRelationshipMessage =
    "must be one of head, partner, child, parent, sibling, grandparent, grandchild, "
    "other_relative, carer, lodger, "
    "other";

// What a change of membership expects of the household, for a form that showed it first.
struct MembershipCheck {
  // The household's version the change was made on: another one is kAborted, nothing saved (a
  // second tab, a form sent again after someone else's change).
  std::optional<int64_t> version;
  // Adding someone who lives in another household now moves them (their membership there ends).
  // False: such an add is refused, with the field `move`, until it is confirmed.
  bool move_confirmed = true;
};

struct Household {
  core::HouseholdId id;
  std::string name;  // empty, with name_withheld, when the reader sees no current member's names
  int64_t version = 0;
  std::vector<Membership> members;  // current first, then past
  bool name_withheld = false;
};

// What HouseholdService::RemoveMistake did: the household without the membership, and the
// household the person lives in again, if the mistaken add had moved them out of one.
struct RemovedMembership {
  Household household;
  Membership removed;  // named as the reader may see them
  std::optional<core::HouseholdId> restored;
};

// Households, their members and moves between households. Gated and audited like persons:
// reading a household reads each member's household data. Thread-safe.
class HouseholdService {
 public:
  // `today` gives the day in the deployment's time zone (the day no membership may start or end
  // after); without it, the UTC day of `clock`.
  HouseholdService(storage::Database& db, const authz::AccessGate& gate, audit::AuditLog& audit,
                   exchange::Outbox& outbox, const core::Clock& clock,
                   std::function<core::Date()> today = {})
      : db_(db),
        gate_(gate),
        audit_(audit),
        outbox_(outbox),
        clock_(clock),
        today_(std::move(today)) {}

  core::StatusOr<Household> Create(const authz::Principal& who, const std::string& name);
  // Creates the household `name` with `person` as its first member, from `since`, in one
  // transaction: both or neither. Checked as Create and AddMember are.
  core::StatusOr<Household> Start(const authz::Principal& who, const std::string& name,
                                  core::PersonId person, const std::string& relationship,
                                  core::Date since);
  // Each member's household data is decided by the gate and audited. A person signed in to the
  // portal sees their own household: its current members' names and relationships.
  core::StatusOr<Household> Get(const authz::Principal& who, core::HouseholdId id);
  // The household `person` lives in now, if any. Releases no one's data: callers read it with Get.
  core::StatusOr<std::optional<core::HouseholdId>> CurrentOf(core::PersonId person);
  // Adds `person` from `since`, which may be neither after today nor before the person's birth
  // (as far as it is known). A person lives in one household at a time: a current membership
  // elsewhere ends on `since` (a move).
  core::StatusOr<Household> AddMember(const authz::Principal& who, core::HouseholdId id,
                                      core::PersonId person, const std::string& relationship,
                                      core::Date since, const MembershipCheck& check = {});
  // Whether `who` may make the change `action` ("household.create", "household.add_member",
  // "household.end_member"): by their role, and with `person`, to that person's household data.
  // Refused: PermissionDenied with the gate's reason, recorded in the audit log. Allowed: Ok,
  // recording nothing (the change itself is recorded). For a form, before it is read.
  core::Status CheckChange(const authz::Principal& who, const std::string& action,
                           core::HouseholdId id, std::optional<core::PersonId> person);
  // Ends the current membership of `person` on `until`: not before its start, not after today.
  core::StatusOr<Household> EndMembership(const authz::Principal& who, core::HouseholdId id,
                                          core::PersonId person, core::Date until,
                                          const MembershipCheck& check = {});
  // Takes back a membership added by mistake (the wrong client number typed): `person`'s current
  // membership of household `id` is removed, as if never made, and a household the add had moved
  // them out of is theirs again (that membership current once more). `reason` (1 to 500
  // characters, one line) says what the mistake was; it is kept in the audit entry. Checked as
  // EndMembership is; the agencies that know the person and the other members are told
  // (`household.member_removed`, `household.changed`). kNotFound when they are not a current
  // member.
  core::StatusOr<RemovedMembership> RemoveMistake(const authz::Principal& who, core::HouseholdId id,
                                                  core::PersonId person, const std::string& reason,
                                                  const MembershipCheck& check = {});
  // Whether `who` would be shown household `id` whole (Get refuses a household one member of
  // which the reader may not see): for a link to it. Decides without recording anything and
  // releases nothing.
  bool MaySee(const authz::Principal& who, core::HouseholdId id);

 private:
  authz::Decision Decide(const authz::Principal& who, authz::Operation op, core::PersonId person,
                         storage::Transaction* tx) const;
  core::StatusOr<Household> Load(storage::Transaction& tx, core::HouseholdId id);
  // AddMember's work inside `tx`, once the gate has allowed it.
  core::Status AddMemberIn(storage::Transaction& tx, const authz::Principal& who,
                           core::HouseholdId id, core::PersonId person,
                           const std::string& relationship, core::Date since,
                           const MembershipCheck& check);
  // Tells the agencies that know the other current members of `household` (not `person`, whose
  // own notice is written apart) that their household changed.
  core::Status NotifyOtherMembers(storage::Transaction& tx, const authz::Principal& who,
                                  int64_t household, core::PersonId person);
  // Refuses `d` (when allowed) if household `id` has a current member other than `person` whom
  // `who` may not see: a household is changed only by someone who may see it whole.
  core::Status RequireWholeHousehold(storage::Transaction& tx, const authz::Principal& who,
                                     core::HouseholdId id, core::PersonId person,
                                     authz::Decision& d);
  // `h` (read by Load) as `who` may be shown it: the names of members whose names are withheld
  // from them cleared, as Get clears them.
  void WithholdNames(storage::Transaction& tx, const authz::Principal& who, Household& h);
  // kAborted when `check` names a version the household is no longer at.
  core::Status CheckVersion(storage::Transaction& tx, core::HouseholdId id,
                            const MembershipCheck& check);
  core::Date Today() const;

  storage::Database& db_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
  std::function<core::Date()> today_;
};

}  // namespace registry
