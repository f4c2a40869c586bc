#pragma once

#include <optional>
#include <string>
#include <vector>

#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/ids.h"
#include "core/status.h"
#include "storage/database.h"

// Authorised representatives: a person lets someone else with a portal account (a family
// member, a worker of a community organisation) act for them in the portal, within what they
// grant, until they end it. The representative switches to acting for the person; their session
// then reads and acts on the person's record as the person could, limited to the grant's scopes,
// and every audit entry they cause names them (their account) and says they acted as the
// person's representative, so the person's access log shows who did what.
namespace portal {

// What a grant allows besides seeing the record, the applications and the access log.
//   contact: tell us once (address, phone, e-mail)
//   apply:   check what the person could get, apply, answer requests, send documents
inline constexpr const char* kRepresentativeScopes[] = {"contact", "apply"};

struct Representative {
  int64_t id = 0;
  core::PersonId person;
  std::string person_name;
  core::UserId user;  // the representative's account
  std::string name;   // the account's display name
  std::string email;
  std::string relationship;         // in the person's words: "my daughter", "Harbour Trust adviser"
  std::vector<std::string> scopes;  // among kRepresentativeScopes
  core::Timestamp granted_at;
  std::optional<core::Date> until;  // the last day, if the person set one
  std::optional<core::Timestamp> ended_at;

  bool ActiveOn(core::Date today) const { return !ended_at && (!until || today <= *until); }
  bool Allows(const std::string& scope) const;
};

struct NewRepresentative {
  std::string email;  // of the representative's confirmed portal account
  std::string relationship;
  std::vector<std::string> scopes;
  std::optional<core::Date> until;
};

// Thread-safe.
class RepresentativeService {
 public:
  RepresentativeService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock)
      : db_(db), audit_(audit), clock_(clock) {}

  // The signed-in person (not a representative) grants. kPermissionDenied (audited: not a
  // person acting for themself), kInvalidArgument naming email (no confirmed portal account
  // has it, or it is the person's own), relationship (1 to 100 characters), scopes (unknown)
  // and until (past); kAlreadyExists when that account already represents the person.
  // Audited as representative.grant, against the person.
  // `read_errors` are the fields the caller could not read (a date that is none); they are
  // named with every other mistake, once the caller is known to be the person.
  core::StatusOr<Representative> Grant(const authz::Principal& person, const NewRepresentative& r,
                                       std::vector<core::FieldError> read_errors = {});
  // The person ends a grant of theirs now. kNotFound (not theirs), kFailedPrecondition (ended).
  core::Status End(const authz::Principal& person, int64_t id);
  // The person's grants, current first, then ended, newest first.
  core::StatusOr<std::vector<Representative>> ForPerson(const authz::Principal& person);
  // The grants the signed-in account holds that are in force today.
  core::StatusOr<std::vector<Representative>> ActingFor(const authz::Principal& account);
  // Switches the session `session_id_hash` of the account to acting for grant `id` (0: for
  // themself again). kNotFound when the grant is not the account's or not in force. Audited as
  // representative.act, against the person.
  core::Status Switch(const authz::Principal& account, const std::string& session_id_hash, int64_t id);
  // A grant by id, for the session's principal (see accounts::AccountService::AuthenticateSession).
  core::StatusOr<std::optional<Representative>> Find(int64_t id);

  core::Date Today() const { return clock_.Now().UtcDate(); }

 private:
  core::StatusOr<std::vector<Representative>> Load(storage::Transaction& tx, const std::string& where,
                                                   const storage::Params& params) const;

  storage::Database& db_;
  audit::AuditLog& audit_;
  const core::Clock& clock_;
};

}  // namespace portal
