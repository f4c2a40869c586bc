#pragma once

#include <mutex>
#include <optional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/ids.h"
#include "storage/database.h"

// Agencies, offices, staff and citizen accounts, sessions and API tokens.
namespace accounts {

enum class AgencyKind { kGovernment, kNonprofit };

struct Agency {
  core::AgencyId id;
  std::string code;  // short, unique: "city-social"
  std::string name;
  AgencyKind kind = AgencyKind::kGovernment;
};

struct Office {
  core::OfficeId id;
  core::AgencyId agency;
  std::string name;
  std::string address;
};

enum class AccountKind { kStaff, kCitizen };

struct User {
  core::UserId id;
  AccountKind kind = AccountKind::kStaff;
  std::string username;
  std::string display_name;
  std::string email;
  core::AgencyId agency;  // staff only
  core::OfficeId office;  // optional
  std::vector<authz::Role> roles;
  bool active = true;
  std::optional<core::PersonId> person;  // citizen's own record, once linked
  // An administrator set the password: the account chooses its own before anything else.
  bool password_change_required = false;
  // When the temporary password stops working (with password_change_required).
  std::optional<core::Timestamp> password_expires_at;
  bool password_expired = false;  // by then; filled by ListUsers, GetUser and StaffAccountFor
  // Filled by ListUsers: the account's live sessions, and the newest use of one of them.
  int live_sessions = 0;
  std::optional<core::Timestamp> last_seen_at;
};

struct NewUser {
  AccountKind kind = AccountKind::kStaff;
  std::string username;
  std::string display_name;
  std::string email;
  std::string password;
  core::AgencyId agency;
  core::OfficeId office;
  std::vector<authz::Role> roles;
  // The password is a temporary one, given by an administrator: the account must choose its own
  // at its first sign-in.
  bool temporary_password = false;
};

struct ApiToken {
  core::ApiTokenId id;
  core::AgencyId agency;
  std::string name;
  std::vector<authz::Role> roles;
  std::vector<std::string> scopes;  // "persons:read", "persons:write", ...
  core::Timestamp created_at;
  std::optional<core::Timestamp> revoked_at;
  std::optional<core::Timestamp> last_used_at;
  std::optional<core::Timestamp> expires_at;  // none for tokens issued before tokens expired
  bool expired = false;                        // expires_at has passed when it was read
  // Its own request limit a minute (http/caller_limit.h); none: the deployment's
  // token_requests_per_minute; 0 (set by an operator only): no limit.
  std::optional<int> requests_per_minute;
};

// A newly issued token: `secret` is shown once and stored only as a hash.
struct IssuedToken {
  ApiToken token;
  std::string secret;  // "od_..."
};

struct NewSession {
  std::string session_id;  // the cookie value; stored only as a hash
  std::string csrf_token;
  User user;
};

struct SessionAuth {
  authz::Principal principal;
  std::string csrf_token;
  // The account signed in with a temporary password: it may only choose its own, or sign out.
  bool password_change_required = false;
};

// Where a session is used from, as the request shows it: kept with the session so that its
// owner can tell their devices apart (ListOwnSessions).
struct SessionUse {
  std::string client_address;
  std::string user_agent;  // kept to its first 256 characters
};

// One of an account's live sessions, as its owner sees it.
struct SessionInfo {
  std::string ref;  // the first 16 hex digits of the session's hash, as in the audit log
  core::Timestamp created_at;
  core::Timestamp last_seen_at;  // written at most once a minute
  core::Timestamp expires_at;    // the latest it ends; it ends sooner when left idle
  std::string client_address;    // where it was last used from; "" before its first use
  std::string user_agent;
  authz::Purpose purpose = authz::Purpose::kServiceDelivery;
  bool current = false;  // the session asking
};

struct AccountOptions {
  int session_idle_minutes = 30;
  int session_max_hours = 12;
  int login_max_failures = 5;
  int login_window_minutes = 15;
  int temporary_password_days = 7;  // a temporary password stops working after this
  bool fast_password_hashing = false;  // tests and demo data only
  // The deployment's request limit a minute for a token (0: none): an administrator may give a
  // token a lower limit of its own, not a higher one.
  int token_requests_per_minute = 6000;
};

// Every API token scope known to onedoor.
const std::vector<std::string>& KnownScopes();

// Thread-safe. Methods taking a Principal check its roles:
//   agencies: admin; offices and users: admin of the same agency (or a system principal);
//   tokens: admin of the same agency. Refusals are kPermissionDenied and are audited.
// A system principal is one of kind kSystem with role admin that did not come from an API
// token (SystemPrincipal()); it may do everything. A principal from an API token is treated
// as a member of the token's agency with the token's roles, and further needs the scope
// "accounts:write" to change accounts and "accounts:read" to list users and tokens.
// Citizen accounts (no agency) may be created by a system principal or any admin.
// Password hashing never runs inside a database write (the single writer must not wait on it).
class AccountService {
 public:
  AccountService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock,
                 AccountOptions options);

  core::StatusOr<Agency> CreateAgency(const authz::Principal& who, const Agency& agency);
  core::StatusOr<std::vector<Agency>> ListAgencies();
  core::StatusOr<Agency> GetAgency(core::AgencyId id);
  core::StatusOr<Agency> FindAgencyByCode(const std::string& code);

  core::StatusOr<Office> CreateOffice(const authz::Principal& who, const Office& office);
  core::StatusOr<std::vector<Office>> ListOffices(core::AgencyId agency);

  // Validates username (3-64 of [a-z0-9._-]), password (at least 12 characters), roles
  // (staff need at least one; citizens have none) with field errors named username,
  // display_name, email, password, roles, agency and office: kInvalidArgument.
  // kAlreadyExists "that username is taken".
  core::StatusOr<User> CreateUser(const authz::Principal& who, const NewUser& user);
  // Why `password` may not be used by an account with `username` and `email`, or "": 12 to 256
  // characters; not on the list of passwords known to attackers (UseBlocklist), whatever the
  // case; not holding the username, the e-mail address's name or "onedoor".
  std::string PasswordProblem(const std::string& password, const std::string& username,
                              const std::string& email) const;
  // The passwords known to attackers, one a line ('#' starts a comment), compared in lower
  // case. Call before serving. kInvalidArgument when the file cannot be read.
  core::Status UseBlocklist(const std::string& path);
  core::StatusOr<std::vector<User>> ListUsers(const authz::Principal& who, core::AgencyId agency);
  core::StatusOr<User> GetUser(core::UserId id);
  // Switching an account off ends its sessions; nobody switches off their own. A system principal
  // switches any account; an administrator the staff accounts of their agency (kNotFound for any
  // other account). Audited as user.deactivated or user.activated, refusals too.
  core::Status SetUserActive(const authz::Principal& who, core::UserId id, bool active);
  // An administrator of the staff account's agency (or a system principal) ends every session of
  // the account; returns how many. kNotFound for no such staff account; audited as
  // user.sessions_ended.
  core::StatusOr<int> EndUserSessions(const authz::Principal& who, core::UserId id);
  // An administrator of the staff account's agency sets its roles: at least one (kInvalidArgument
  // naming roles); an administrator cannot take the admin role from themself (kFailedPrecondition).
  // Takes effect at the account's next request. Audited as user.roles_changed, with both lists.
  core::Status SetRoles(const authz::Principal& who, core::UserId id, const std::vector<authz::Role>& roles);
  // An administrator of the staff account's agency changes its name, work e-mail address and
  // office (an office of the agency, or none): field errors name display_name, email and office
  // (kInvalidArgument). Audited as user.details_changed, naming the fields changed.
  core::Status SetStaffDetails(const authz::Principal& who, core::UserId id, const std::string& display_name,
                               const std::string& email, core::OfficeId office);
  // An administrator of the staff account's agency gives it a temporary password (the password
  // rules apply: kInvalidArgument naming password), for someone who forgot theirs: every session
  // of the account ends, and at its next sign-in it must choose its own before anything else.
  // Not for one's own account (kFailedPrecondition: change it on Change your password). Audited
  // as user.password_reset.
  core::Status SetTemporaryPassword(const authz::Principal& who, core::UserId id, const std::string& password);
  // Sets a new password for `id`, by a system principal (a reset by e-mail link) or the user
  // themself, and ends every session of the account. kInvalidArgument (password: 12 to 256
  // characters), kPermissionDenied (audited), kNotFound. Audited as user.password_changed.
  core::Status SetPassword(const authz::Principal& who, core::UserId id, const std::string& password);
  // The signed-in user changes their own password, giving the current one: kInvalidArgument
  // naming current ("the current password is not right"; counted as a failed sign-in, so that
  // the form cannot be used to guess it) or password (SetPassword's rules). Every session of the
  // account ends, this one too. kResourceExhausted when sign-in is throttled for the account.
  // `read_errors` are the form's own (the new password typed twice differently), named with the
  // rest, each field once.
  core::Status ChangeOwnPassword(const authz::Principal& who, const std::string& current,
                                 const std::string& password,
                                 std::vector<core::FieldError> read_errors = {});

  // Issues a token of `who`'s agency. Field errors: name (1-100 characters), roles (at least
  // one), scopes (at least one) and scopes/N (not in KnownScopes()). kFailedPrecondition when
  // `who` belongs to no agency.
  // The token is valid for `valid_days` (1 to 730, kInvalidArgument naming expires_in_days
  // otherwise); after that it authenticates nothing, and a new one is issued.
  // `requests_per_minute`: the token's own request limit (as SetTokenLimit); none: the
  // deployment's. `read_errors`: what a caller could not read, named with the rest
  // (core::MergeFieldErrors).
  core::StatusOr<IssuedToken> IssueToken(const authz::Principal& who, const std::string& name,
                                         const std::vector<authz::Role>& roles,
                                         const std::vector<std::string>& scopes,
                                         int valid_days = 365,
                                         std::optional<int64_t> requests_per_minute = std::nullopt,
                                         const std::vector<core::FieldError>& read_errors = {});
  // Gives a token of `who`'s agency its own request limit a minute, or (nullopt) the
  // deployment's again; applies from the token's next request. An administrator may set 1 up to
  // the deployment's token_requests_per_minute; a system principal (an operator at the command
  // line) any limit, 0 for none. kInvalidArgument naming requests_per_minute otherwise;
  // kNotFound for no such token; refused (audited) for another agency's. Audited. The token as
  // it is then.
  core::StatusOr<ApiToken> SetTokenLimit(const authz::Principal& who, core::ApiTokenId id,
                                         std::optional<int64_t> requests_per_minute);
  core::StatusOr<std::vector<ApiToken>> ListTokens(const authz::Principal& who);
  // The deployment's request limit a minute for a token without its own (0: none).
  int DeploymentTokenLimit() const { return options_.token_requests_per_minute; }
  // kNotFound for an unknown token; revoking a revoked token is OK and changes nothing.
  core::Status RevokeToken(const authz::Principal& who, core::ApiTokenId id);

  // kUnauthenticated for a wrong username or password (same message for both), an inactive
  // account; kFailedPrecondition for the right temporary password after temporary_password_days;
  // kResourceExhausted once login_max_failures failures for the username from `client` (the
  // caller's address, or what it is counted under) fall in the window, or ten times as many
  // from all addresses. Failures and successes are audited.
  // Spends the time hashing `password` takes, and nothing else: for a form whose answer must not
  // tell by its timing whether an account exists (the portal's sign-up).
  void SpendPasswordHashTime(std::string_view password);
  core::StatusOr<NewSession> Login(const std::string& username, const std::string& password,
                                   authz::Purpose purpose, const std::string& request_id,
                                   const std::string& client = "");
  // A session for `user`, whose identity another party has verified (an OpenID Connect
  // provider); `how` says which ("signed in with GovID") in the audit entry. kUnauthenticated
  // when the account is switched off, kNotFound when there is no such account. `client`, the
  // address the browser came from, goes into the audit entry.
  core::StatusOr<NewSession> StartVerifiedSession(core::UserId user, const std::string& how,
                                                  const std::string& request_id, const std::string& client = "");
  // Ends the session; an unknown session is OK (signing out twice is harmless).
  core::Status Logout(const std::string& session_id);
  // kUnauthenticated when the session is unknown, expired or idle too long, or the account
  // was switched off. last_seen_at is written at most once a minute, so a session may end
  // up to a minute before session_idle_minutes of true idleness.
  // `use` (where the session is used from) is written with that once-a-minute write, and at once
  // on the session's first use; its address is the principal's, for its audit entries.
  core::StatusOr<SessionAuth> AuthenticateSession(const std::string& session_id, const std::string& request_id,
                                                  const SessionUse& use = {});
  // The live sessions of `who`'s own account (staff or portal), the most recently used first;
  // the one whose cookie is `current_session_id` is marked current. kFailedPrecondition for a
  // principal without an account (an API token). Not audited: the owner sees their own sessions.
  core::StatusOr<std::vector<SessionInfo>> ListOwnSessions(const authz::Principal& who,
                                                            const std::string& current_session_id);
  // Ends the session `ref` of `who`'s own account, as when signing out there. kNotFound when the
  // account has no live session `ref`; kFailedPrecondition for the session asking (signing out
  // ends that one). Audited as session.ended.
  core::Status EndOwnSession(const authz::Principal& who, const std::string& ref,
                             const std::string& current_session_id);
  // Ends every session of `who`'s own account but the one asking; returns how many ended.
  // Audited as session.ended_others.
  core::StatusOr<int> EndOtherSessions(const authz::Principal& who, const std::string& current_session_id);

  // `bearer` is the token secret. kUnauthenticated when unknown or revoked.
  core::StatusOr<authz::Principal> AuthenticateToken(const std::string& bearer, authz::Purpose purpose,
                                                      const std::string& request_id);

  // Audits, in its own write, that a request by `who` to `method` `route` (the route pattern) was
  // refused (403, or 404) for `reason` — so that every refusal leaves a trace, whichever part of
  // the program refused. A failed write is logged, and the request stays refused.
  // `about`: the person the request was for, when the route names one (in their access log).
  void AuditRefusedRequest(const authz::Principal& who, const std::string& method,
                           const std::string& route, const std::string& reason,
                           std::optional<core::PersonId> about = std::nullopt);

  // A principal for command-line tools and demo data: kind kSystem, role admin.
  static authz::Principal SystemPrincipal(std::string name = "system");

 private:
  // Audits a refusal in its own committed write, then returns kPermissionDenied(message).
  core::Status Refuse(const authz::Principal& who, std::string action, std::string record_type,
                      std::string record_id, const std::string& message);
  // The staff account `id`, with its roles, for an administrator of its agency (or a system
  // principal) to change: refusals audited as `action`; kNotFound when there is no such staff
  // account (a refused caller learns nothing of ids).
  core::StatusOr<User> StaffAccountFor(const authz::Principal& who, core::UserId id, const std::string& action,
                                       std::string_view what);
  // Sessions last used at or after this are live; the others ended by idling.
  int64_t LiveSince(int64_t now) const;
  static core::Status LeaveCounters(storage::Transaction& tx, core::UserId id);
  // When a temporary password given at `now` stops working.
  int64_t TemporaryPasswordExpiry(int64_t now) const;
  // A new session of `user`, audited as login.succeeded by `actor` with the reason `how`.
  core::StatusOr<NewSession> OpenSession(const User& user, const authz::Principal& actor, const std::string& how);
  // Appends an audit entry in its own write (for events whose main write is absent).
  void AuditAlone(const authz::Principal& who, const audit::Entry& entry);
  // A hash to verify against when the username is unknown, so that timing does not tell.
  const std::string& DummyHash();

  storage::Database& db_;
  audit::AuditLog& audit_;
  const core::Clock& clock_;
  AccountOptions options_;

  std::shared_ptr<const std::unordered_set<std::string>> blocklist_;  // set before serving

  std::once_flag dummy_once_;
  std::string dummy_hash_;  // written once under dummy_once_

  std::mutex token_use_mu_;
  std::unordered_map<core::ApiTokenId, int64_t> token_last_use_;  // GUARDED_BY(token_use_mu_)
};

}  // namespace accounts
