#include "accounts/account_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <unordered_map>
#include <utility>

#include "core/crypto.h"
#include "core/log.h"
#include "core/utf8.h"

namespace accounts {
namespace {

using authz::Principal;
using authz::PrincipalKind;
using authz::Role;
using core::Status;
using core::StatusCode;
using core::StatusOr;

constexpr int64_t kMicrosPerMinute = 60'000'000;
// last_seen_at and last_used_at are written at most this often, so that authenticating a
// request is almost always a read.
constexpr int64_t kTouchIntervalMicros = 60'000'000;

constexpr std::string_view kUserColumns =
    "id, kind, username, display_name, email, agency_id, office_id, person_id, active, password_change_required, "
    "password_expires_at";

constexpr std::string_view kWrongCredentials = "the username or password is not right";
constexpr std::string_view kTokenNotValid = "the API token is not valid";

// Only SystemPrincipal() is a system principal: a kSystem principal from an API token acts
// as a member of the token's agency.
bool IsSystem(const Principal& who) {
  return who.kind == PrincipalKind::kSystem && who.HasRole(Role::kAdmin) && !who.token.valid();
}

// Why `who` may not act as an administrator (of `agency`, when valid), or nothing when it may.
std::optional<std::string> AdminRefusal(const Principal& who, std::optional<core::AgencyId> agency,
                                        std::string_view scope, std::string_view what) {
  if (IsSystem(who)) return std::nullopt;
  if (who.token.valid() && !who.HasScope(scope)) {
    return fmt::format("this API token lacks the {} scope", scope);
  }
  if (!who.HasRole(Role::kAdmin)) return fmt::format("only an administrator may {}", what);
  if (agency && *agency != who.agency) {
    return fmt::format("an administrator may {} only in their own agency", what);
  }
  return std::nullopt;
}

// The governance role decides what the agencies share with one another: an agency's own
// administrator neither gives it, takes it, nor sets the password of an account that has it; the
// deployment's operator does (`onedoor user create`, system principals).
constexpr std::string_view kGovernanceByOperator =
    "the governance role decides sharing for the whole consortium: the deployment's operator gives it "
    "(onedoor user create), not an agency's administrator";

bool HasGovernance(const std::vector<Role>& roles) {
  return std::find(roles.begin(), roles.end(), Role::kGovernance) != roles.end();
}

bool Blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

bool ValidUsername(std::string_view u) {
  if (u.size() < 3 || u.size() > 64) return false;
  return std::all_of(u.begin(), u.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

bool ValidAgencyCode(std::string_view code) {
  if (code.size() < 2 || code.size() > 40) return false;
  return std::all_of(code.begin(), code.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool ValidEmail(std::string_view e) {
  if (e.size() > 254) return false;
  const size_t at = e.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= e.size()) return false;
  if (e.find('@', at + 1) != std::string_view::npos) return false;
  return std::none_of(e.begin(), e.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

std::string_view AgencyKindName(AgencyKind k) { return k == AgencyKind::kNonprofit ? "nonprofit" : "government"; }

std::string_view AccountKindName(AccountKind k) { return k == AccountKind::kCitizen ? "citizen" : "staff"; }

std::vector<std::string> SplitCsv(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    std::string_view part = s.substr(0, comma);
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

std::string JoinStrings(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ",";
    out += s;
  }
  return out;
}

// Roles in the canonical order of authz::AllRoles(), without duplicates.
std::vector<Role> CanonicalRoles(std::vector<Role> roles) {
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  return roles;
}

std::string JoinRoles(const std::vector<Role>& roles) {
  std::string out;
  for (Role r : roles) {
    if (!out.empty()) out += ",";
    out += authz::RoleName(r);
  }
  return out;
}

StatusOr<std::vector<Role>> ParseRoleList(std::string_view csv) {
  std::vector<Role> roles;
  for (const auto& name : SplitCsv(csv)) {
    auto role = authz::ParseRole(name);
    if (!role.ok()) return Status::Internal("a stored role is not known to this version of onedoor");
    roles.push_back(*role);
  }
  return CanonicalRoles(std::move(roles));
}

Agency AgencyFromRow(const storage::Row& row) {
  Agency a;
  a.id = core::AgencyId{row.Int(0)};
  a.code = row.Text(1);
  a.name = row.Text(2);
  a.kind = row.Text(3) == "nonprofit" ? AgencyKind::kNonprofit : AgencyKind::kGovernment;
  return a;
}

Office OfficeFromRow(const storage::Row& row) {
  Office o;
  o.id = core::OfficeId{row.Int(0)};
  o.agency = core::AgencyId{row.Int(1)};
  o.name = row.Text(2);
  o.address = row.Text(3);
  return o;
}

// Reads the columns of kUserColumns starting at `first`.
User UserFromRow(const storage::Row& row, size_t first = 0) {
  User u;
  u.id = core::UserId{row.Int(first)};
  u.kind = row.Text(first + 1) == "citizen" ? AccountKind::kCitizen : AccountKind::kStaff;
  u.username = row.Text(first + 2);
  u.display_name = row.Text(first + 3);
  u.email = row.Text(first + 4);
  u.agency = core::AgencyId{row.OptInt(first + 5).value_or(0)};
  u.office = core::OfficeId{row.OptInt(first + 6).value_or(0)};
  if (auto p = row.OptInt(first + 7)) u.person = core::PersonId{*p};
  u.active = row.Int(first + 8) != 0;
  u.password_change_required = row.Int(first + 9) != 0;
  if (auto at = row.OptInt(first + 10); at && u.password_change_required) u.password_expires_at = core::Timestamp{*at};
  return u;
}

// Whether the temporary password of `u` has stopped working at `now`.
void MarkExpiry(User& u, int64_t now) {
  u.password_expired = u.password_expires_at && now >= u.password_expires_at->micros;
}

Status LoadRoles(storage::Transaction& tx, User& user) {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT role FROM user_roles WHERE user_id = ?", {user.id.value}));
  user.roles.clear();
  for (const auto& row : rows) {
    auto role = authz::ParseRole(row.Text(0));
    if (!role.ok()) return Status::Internal("a stored role is not known to this version of onedoor");
    user.roles.push_back(*role);
  }
  user.roles = CanonicalRoles(std::move(user.roles));
  return Status::Ok();
}

// A token's request limit as kept with it (validated by TokenLimitProblem, so it fits).
std::optional<int> AsLimit(std::optional<int64_t> limit) {
  if (!limit) return std::nullopt;
  return static_cast<int>(*limit);
}

// A token as stored, `expired` as of `now` (micros).
StatusOr<ApiToken> TokenFromRow(const storage::Row& row, int64_t now) {
  ApiToken t;
  t.id = core::ApiTokenId{row.Int(0)};
  t.agency = core::AgencyId{row.Int(1)};
  t.name = row.Text(2);
  ASSIGN_OR_RETURN(t.roles, ParseRoleList(row.Text(3)));
  t.scopes = SplitCsv(row.Text(4));
  t.created_at = {row.Int(5)};
  if (auto r = row.OptInt(6)) t.revoked_at = core::Timestamp{*r};
  if (auto u = row.OptInt(7)) t.last_used_at = core::Timestamp{*u};
  if (auto e = row.OptInt(8)) t.expires_at = core::Timestamp{*e};
  t.expired = t.expires_at && t.expires_at->micros <= now;
  t.requests_per_minute = AsLimit(row.OptInt(9));
  return t;
}

constexpr std::string_view kTokenColumns =
    "id, agency_id, name, roles, scopes, created_at, revoked_at, last_used_at, expires_at, requests_per_minute";

// What is wrong with `limit` as a token's own request limit set by `who`, or nothing. An
// administrator may only lower the deployment's limit (`deployment`, 0: none) for a token of
// theirs; an operator may set any, 0 for none.
std::optional<std::string> TokenLimitProblem(const Principal& who, std::optional<int64_t> limit, int deployment) {
  constexpr int64_t kMost = 1'000'000'000;
  if (!limit) return std::nullopt;
  if (IsSystem(who)) {
    if (*limit < 0 || *limit > kMost) return fmt::format("must be from 0 (no limit) to {} requests a minute", kMost);
    return std::nullopt;
  }
  if (deployment <= 0) {
    if (*limit < 1 || *limit > kMost) return fmt::format("must be from 1 to {} requests a minute", kMost);
    return std::nullopt;
  }
  if (*limit < 1 || *limit > deployment) {
    return fmt::format("must be from 1 to {} requests a minute: a token may have a lower limit than the "
                       "deployment's, not a higher one",
                       deployment);
  }
  return std::nullopt;
}

std::string TokenLimitText(std::optional<int64_t> limit) {
  if (!limit) return "the deployment's request limit";
  if (*limit == 0) return "no request limit";
  return fmt::format("at most {} requests a minute", *limit);
}

audit::Entry MakeEntry(std::string action, std::string record_type, std::string record_id, std::string reason,
                       bool allowed = true) {
  audit::Entry e;
  e.action = std::move(action);
  e.record_type = std::move(record_type);
  e.record_id = std::move(record_id);
  e.allowed = allowed;
  e.reason = std::move(reason);
  return e;
}

std::string IdText(int64_t id) { return id > 0 ? std::to_string(id) : std::string(); }

// A browser's User-Agent as kept with its session: printable ASCII, at most 256 characters.
std::string KeptUserAgent(std::string_view agent) {
  std::string out;
  for (char c : agent.substr(0, 256)) out += c >= 0x20 && c < 0x7f ? c : '?';
  return out;
}

// A session's reference as shown to its owner and in the audit log: 16 hex digits.
bool ValidSessionRef(std::string_view ref) {
  return ref.size() == 16 &&
         std::all_of(ref.begin(), ref.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

const std::vector<std::string>& KnownScopes() {
  static const std::vector<std::string> scopes = {
      "persons:read",         "persons:write", "households:read", "households:write",
      "source-records:read",  "source-records:write", "audit:read", "accounts:read", "accounts:write",
      "changes:read",         "changes:write", "referrals:read",  "referrals:write",
      "cases:read",           "cases:write",   "applications:read", "applications:write",
      "directory:write",      "interactions:read", "interactions:write", "queues:write", "metrics:read",
      "metrics:write"};
  return scopes;
}

AccountService::AccountService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock,
                               AccountOptions options)
    : db_(db), audit_(audit), clock_(clock), options_(options) {}

authz::Principal AccountService::SystemPrincipal(std::string name) {
  Principal p;
  p.kind = PrincipalKind::kSystem;
  p.name = std::move(name);
  p.roles = {Role::kAdmin};
  p.purpose = authz::Purpose::kAdministration;
  return p;
}

void AccountService::AuditAlone(const Principal& who, const audit::Entry& entry) {
  // Deferred inside a storage::DeferScope: the answer then waits for the entry.
  Status st = storage::WriteOrDefer(
      db_, [this, who, entry](storage::Transaction& tx) { return audit_.Append(tx, who, entry); });
  if (!st.ok()) {
    core::LogError("an audit entry could not be written", {{"action", entry.action}, {"error", st.ToString()}});
  }
}

Status AccountService::Refuse(const Principal& who, std::string action, std::string record_type,
                              std::string record_id, const std::string& message) {
  AuditAlone(who, MakeEntry(std::move(action), std::move(record_type), std::move(record_id), message,
                            /*allowed=*/false));
  return Status::PermissionDenied(message);
}

void AccountService::AuditRefusedRequest(const Principal& who, const std::string& method,
                                         const std::string& route, const std::string& reason,
                                         std::optional<core::PersonId> about) {
  audit::Entry e =
      MakeEntry("request.refused", "route", method + " " + route, reason.substr(0, 600),
                /*allowed=*/false);
  e.person = about;
  AuditAlone(who, std::move(e));
}

void AccountService::SpendPasswordHashTime(std::string_view password) {
  (void)core::VerifyPassword(DummyHash(), password);
}

const std::string& AccountService::DummyHash() {
  std::call_once(dummy_once_, [this] {
    auto hash = core::HashPassword(core::RandomToken(16), options_.fast_password_hashing);
    if (hash.ok()) dummy_hash_ = std::move(hash).value();
  });
  return dummy_hash_;
}

// ---------------------------------------------------------------------------------------
// Agencies and offices

StatusOr<Agency> AccountService::CreateAgency(const Principal& who, const Agency& agency) {
  if (auto why = AdminRefusal(who, std::nullopt, "accounts:write", "create agencies")) {
    return Refuse(who, "agency.create", "agency", "", *why);
  }
  std::vector<core::FieldError> errors;
  if (!ValidAgencyCode(agency.code)) {
    errors.push_back({"code", "must be 2 to 40 characters: lower-case letters, digits or '-'"});
  }
  if (Blank(agency.name)) {
    errors.push_back({"name", "is required"});
  } else if (core::Utf8Length(agency.name) > 200) {
    errors.push_back({"name", "must be at most 200 characters long"});
  } else if (core::HasControlCharacter(agency.name)) {
    errors.push_back({"name", "must be one line of text, without control characters"});
  }
  if (!errors.empty()) return Status::InvalidArgument("the agency has invalid fields", std::move(errors));

  Agency out = agency;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    auto rows = tx.Query("INSERT INTO agencies (code, name, kind, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                         {agency.code, agency.name, std::string(AgencyKindName(agency.kind)), clock_.Now().micros});
    if (!rows.ok()) {
      if (rows.status().code() == StatusCode::kAlreadyExists) {
        return Status::AlreadyExists("an agency with that code exists");
      }
      return rows.status();
    }
    out.id = core::AgencyId{rows->at(0).Int(0)};
    return audit_.Append(tx, who,
                         MakeEntry("agency.created", "agency", std::to_string(out.id.value),
                                   fmt::format("agency {} created", agency.code)));
  }));
  return out;
}

StatusOr<std::vector<Agency>> AccountService::ListAgencies() {
  std::vector<Agency> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id, code, name, kind FROM agencies ORDER BY id"));
    for (const auto& row : rows) out.push_back(AgencyFromRow(row));
    return Status::Ok();
  }));
  return out;
}

StatusOr<Agency> AccountService::GetAgency(core::AgencyId id) {
  std::optional<Agency> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT id, code, name, kind FROM agencies WHERE id = ?", {id.value}));
    if (!rows.empty()) out = AgencyFromRow(rows[0]);
    return Status::Ok();
  }));
  if (!out) return Status::NotFound(fmt::format("no agency has id {}", id.value));
  return *out;
}

StatusOr<Agency> AccountService::FindAgencyByCode(const std::string& code) {
  std::optional<Agency> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT id, code, name, kind FROM agencies WHERE code = ?", {code}));
    if (!rows.empty()) out = AgencyFromRow(rows[0]);
    return Status::Ok();
  }));
  if (!out) return Status::NotFound("no agency has that code");
  return *out;
}

StatusOr<Office> AccountService::CreateOffice(const Principal& who, const Office& office) {
  if (auto why = AdminRefusal(who, office.agency, "accounts:write", "create offices")) {
    return Refuse(who, "office.create", "office", "", *why);
  }
  std::vector<core::FieldError> errors;
  if (Blank(office.name)) {
    errors.push_back({"name", "is required"});
  } else if (core::Utf8Length(office.name) > 200) {
    errors.push_back({"name", "must be at most 200 characters long"});
  } else if (core::HasControlCharacter(office.name)) {
    errors.push_back({"name", "must be one line of text, without control characters"});
  }
  if (core::Utf8Length(office.address) > 500)
    errors.push_back({"address", "must be at most 500 characters long"});
  if (!errors.empty()) return Status::InvalidArgument("the office has invalid fields", std::move(errors));

  Office out = office;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows agency, tx.Query("SELECT id FROM agencies WHERE id = ?", {office.agency.value}));
    if (agency.empty()) return Status::NotFound(fmt::format("no agency has id {}", office.agency.value));
    auto rows = tx.Query(
        "INSERT INTO offices (agency_id, name, address, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        {office.agency.value, office.name, office.address, clock_.Now().micros});
    if (!rows.ok()) {
      if (rows.status().code() == StatusCode::kAlreadyExists) {
        return Status::AlreadyExists("the agency already has an office with that name");
      }
      return rows.status();
    }
    out.id = core::OfficeId{rows->at(0).Int(0)};
    return audit_.Append(tx, who,
                         MakeEntry("office.created", "office", std::to_string(out.id.value),
                                   fmt::format("office created in agency {}", office.agency.value)));
  }));
  return out;
}

StatusOr<std::vector<Office>> AccountService::ListOffices(core::AgencyId agency) {
  std::vector<Office> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT id, agency_id, name, address FROM offices WHERE agency_id = ? ORDER BY id",
                              {agency.value}));
    for (const auto& row : rows) out.push_back(OfficeFromRow(row));
    return Status::Ok();
  }));
  return out;
}

// ---------------------------------------------------------------------------------------
// Users

StatusOr<User> AccountService::CreateUser(const Principal& who, const NewUser& user) {
  const bool staff = user.kind == AccountKind::kStaff;
  // Citizens belong to no agency: any administrator may open their account.
  if (auto why = AdminRefusal(who, staff ? std::optional(user.agency) : std::nullopt, "accounts:write",
                              "create accounts")) {
    return Refuse(who, "user.create", "user", "", *why);
  }
  if (staff && HasGovernance(user.roles) && !IsSystem(who)) {
    return Refuse(who, "user.create", "user", "", std::string(kGovernanceByOperator));
  }

  std::vector<core::FieldError> errors;
  if (!ValidUsername(user.username)) {
    errors.push_back({"username", "must be 3 to 64 characters: lower-case letters, digits, '.', '_' or '-'"});
  }
  if (Blank(user.display_name)) {
    errors.push_back({"display_name", "is required"});
  } else if (core::Utf8Length(user.display_name) > 200) {
    errors.push_back({"display_name", "must be at most 200 characters long"});
  } else if (core::HasControlCharacter(user.display_name)) {
    errors.push_back({"display_name", "must be one line of text, without control characters"});
  }
  if (!user.email.empty() && !ValidEmail(user.email)) {
    errors.push_back({"email", "must be an email address such as name@example.org"});
  }
  if (std::string problem = PasswordProblem(user.password, user.username, user.email); !problem.empty()) {
    errors.push_back({"password", problem});
  }
  if (staff && user.roles.empty()) errors.push_back({"roles", "a staff account needs at least one role"});
  if (!staff && !user.roles.empty()) errors.push_back({"roles", "a citizen account has no roles"});
  if (!staff && user.agency.valid()) errors.push_back({"agency", "a citizen account belongs to no agency"});
  if (!staff && user.office.valid()) errors.push_back({"office", "a citizen account belongs to no office"});
  if (staff && !user.agency.valid()) errors.push_back({"agency", "is required for a staff account"});

  // Checks that need the database, before the costly hash.
  bool username_taken = false;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    if (staff && user.agency.valid()) {
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id FROM agencies WHERE id = ?", {user.agency.value}));
      if (rows.empty()) errors.push_back({"agency", "no agency has this id"});
    }
    if (staff && user.office.valid()) {
      ASSIGN_OR_RETURN(storage::Rows rows,
                       tx.Query("SELECT agency_id FROM offices WHERE id = ?", {user.office.value}));
      if (rows.empty() || rows[0].Int(0) != user.agency.value) {
        errors.push_back({"office", "no office of this agency has this id"});
      }
    }
    ASSIGN_OR_RETURN(storage::Rows taken, tx.Query("SELECT id FROM users WHERE username = ?", {user.username}));
    username_taken = !taken.empty();
    return Status::Ok();
  }));
  if (!errors.empty()) {
    // Named with the rest, so that the form is not sent again only to learn it.
    if (username_taken)
      errors.insert(errors.begin(), {"username", "that username is taken: choose another"});
    return Status::InvalidArgument("the account has invalid fields", std::move(errors));
  }
  if (username_taken) return Status::AlreadyExists("that username is taken");

  // Hashed outside the write: the single writer must not wait on Argon2id.
  ASSIGN_OR_RETURN(std::string hash, core::HashPassword(user.password, options_.fast_password_hashing));

  User out;
  out.kind = user.kind;
  out.username = user.username;
  out.display_name = user.display_name;
  out.email = user.email;
  out.agency = staff ? user.agency : core::AgencyId{};
  out.office = staff ? user.office : core::OfficeId{};
  out.roles = CanonicalRoles(user.roles);
  out.active = true;
  out.password_change_required = user.temporary_password;
  const int64_t now = clock_.Now().micros;
  if (user.temporary_password) out.password_expires_at = core::Timestamp{TemporaryPasswordExpiry(now)};
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    auto rows = tx.Query(
        "INSERT INTO users (kind, username, display_name, email, password_hash, agency_id, office_id, active, "
        "password_change_required, password_expires_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?) RETURNING id",
        {std::string(AccountKindName(user.kind)), user.username, user.display_name, user.email, hash,
         out.agency.valid() ? storage::Value(out.agency.value) : storage::Value(storage::Null{}),
         out.office.valid() ? storage::Value(out.office.value) : storage::Value(storage::Null{}),
         int64_t{user.temporary_password ? 1 : 0},
         out.password_expires_at ? storage::Value(out.password_expires_at->micros) : storage::Value(storage::Null{}),
         now, now});
    if (!rows.ok()) {
      if (rows.status().code() == StatusCode::kAlreadyExists) return Status::AlreadyExists("that username is taken");
      return rows.status();
    }
    out.id = core::UserId{rows->at(0).Int(0)};
    for (Role r : out.roles) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO user_roles (user_id, role) VALUES (?, ?)",
                                 {out.id.value, std::string(authz::RoleName(r))})
                          .status());
    }
    return audit_.Append(
        tx, who,
        MakeEntry("user.created", "user", std::to_string(out.id.value),
                  staff ? fmt::format("staff account in agency {} with roles {}", out.agency.value, JoinRoles(out.roles))
                        : std::string("citizen account")));
  }));
  return out;
}

StatusOr<std::vector<User>> AccountService::ListUsers(const Principal& who, core::AgencyId agency) {
  if (auto why = AdminRefusal(who, agency, "accounts:read", "list accounts")) {
    return Refuse(who, "user.list", "agency", IdText(agency.value), *why);
  }
  std::vector<User> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query(fmt::format("SELECT {} FROM users WHERE agency_id = ? ORDER BY id", kUserColumns),
                              {agency.value}));
    std::unordered_map<int64_t, size_t> index;  // user id -> position in `out`
    for (const auto& row : rows) {
      out.push_back(UserFromRow(row));
      index.emplace(out.back().id.value, out.size() - 1);
    }
    ASSIGN_OR_RETURN(storage::Rows roles,
                     tx.Query("SELECT r.user_id, r.role FROM user_roles r JOIN users u ON u.id = r.user_id "
                              "WHERE u.agency_id = ?",
                              {agency.value}));
    for (const auto& row : roles) {
      auto role = authz::ParseRole(row.Text(1));
      if (!role.ok()) return Status::Internal("a stored role is not known to this version of onedoor");
      if (auto it = index.find(row.Int(0)); it != index.end()) out[it->second].roles.push_back(*role);
    }
    const int64_t now = clock_.Now().micros;
    for (auto& u : out) {
      u.roles = CanonicalRoles(std::move(u.roles));
      MarkExpiry(u, now);
    }
    ASSIGN_OR_RETURN(storage::Rows live,
                     tx.Query("SELECT s.user_id, COUNT(*), MAX(s.last_seen_at) FROM sessions s JOIN users u ON "
                              "u.id = s.user_id WHERE u.agency_id = ? AND s.expires_at >= ? AND s.last_seen_at >= ? "
                              "GROUP BY s.user_id",
                              {agency.value, now, LiveSince(now)}));
    for (const auto& row : live) {
      if (auto it = index.find(row.Int(0)); it != index.end()) {
        out[it->second].live_sessions = static_cast<int>(row.Int(1));
        out[it->second].last_seen_at = core::Timestamp{row.Int(2)};
      }
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<User> AccountService::GetUser(core::UserId id) {
  std::optional<User> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query(fmt::format("SELECT {} FROM users WHERE id = ?", kUserColumns), {id.value}));
    if (rows.empty()) return Status::Ok();
    out = UserFromRow(rows[0]);
    MarkExpiry(*out, clock_.Now().micros);
    return LoadRoles(tx, *out);
  }));
  if (!out) return Status::NotFound(fmt::format("no user has id {}", id.value));
  return *out;
}

Status AccountService::SetUserActive(const Principal& who, core::UserId id, bool active) {
  const std::string action = active ? "user.activate" : "user.deactivate";
  // The operator switches any account, a portal one too; an administrator the staff of their agency.
  if (IsSystem(who)) {
    RETURN_IF_ERROR(GetUser(id).status());
  } else {
    RETURN_IF_ERROR(StaffAccountFor(who, id, action, "switch accounts on or off").status());
  }
  if (!active && who.user == id) {
    const std::string why = "you cannot switch off your own account";
    AuditAlone(who, MakeEntry(action, "user", IdText(id.value), why, /*allowed=*/false));
    return Status::FailedPrecondition(why);
  }
  return db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute("UPDATE users SET active = ?, updated_at = ? WHERE id = ?",
                               {int64_t{active ? 1 : 0}, clock_.Now().micros, id.value})
                        .status());
    // Switching an account off ends its sessions at once, and frees the counter it was at.
    if (!active) {
      RETURN_IF_ERROR(tx.Execute("DELETE FROM sessions WHERE user_id = ?", {id.value}).status());
      RETURN_IF_ERROR(LeaveCounters(tx, id));
    }
    return audit_.Append(tx, who,
                         MakeEntry(active ? "user.activated" : "user.deactivated", "user", IdText(id.value),
                                   active ? "account switched on" : "account switched off"));
  });
}

// An account an administrator signs out everywhere leaves the access-centre counter it was signed
// in at, which would otherwise stay taken with no one there to free it (docs/front-office.md).
Status AccountService::LeaveCounters(storage::Transaction& tx, core::UserId id) {
  return tx
      .Execute(
          "UPDATE counters SET staff_user_id = NULL, staff = '', signed_in_at = NULL WHERE "
          "staff_user_id = ?",
          {id.value})
      .status();
}

int64_t AccountService::LiveSince(int64_t now) const {
  return now - int64_t{options_.session_idle_minutes} * kMicrosPerMinute;
}

int64_t AccountService::TemporaryPasswordExpiry(int64_t now) const {
  return now + int64_t{options_.temporary_password_days} * 24 * 60 * kMicrosPerMinute;
}

StatusOr<User> AccountService::StaffAccountFor(const Principal& who, core::UserId id, const std::string& action,
                                               std::string_view what) {
  // Refuse before looking up, so that a caller without the right learns nothing of ids.
  if (auto why = AdminRefusal(who, std::nullopt, "accounts:write", what)) {
    return Refuse(who, action, "user", IdText(id.value), *why);
  }
  std::optional<User> user;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query(fmt::format("SELECT {} FROM users WHERE id = ? AND kind = 'staff'", kUserColumns),
                              {id.value}));
    if (rows.empty()) return Status::Ok();
    user = UserFromRow(rows[0]);
    MarkExpiry(*user, clock_.Now().micros);
    return LoadRoles(tx, *user);
  }));
  if (!user) return Status::NotFound(fmt::format("no staff account has id {}", id.value));
  if (auto why = AdminRefusal(who, user->agency, "accounts:write", what)) {
    return Refuse(who, action, "user", IdText(id.value), *why);
  }
  return *user;
}

StatusOr<int> AccountService::EndUserSessions(const Principal& who, core::UserId id) {
  ASSIGN_OR_RETURN(User user, StaffAccountFor(who, id, "user.end_sessions", "end the sessions of accounts"));
  int ended = 0;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(int64_t n, tx.Execute("DELETE FROM sessions WHERE user_id = ?", {id.value}));
    ended = static_cast<int>(n);
    RETURN_IF_ERROR(LeaveCounters(tx, id));
    return audit_.Append(tx, who,
                         MakeEntry("user.sessions_ended", "user", IdText(id.value),
                                   fmt::format("{} session{} ended by an administrator", ended, ended == 1 ? "" : "s")));
  }));
  return ended;
}

Status AccountService::SetRoles(const Principal& who, core::UserId id, const std::vector<Role>& roles) {
  ASSIGN_OR_RETURN(User user, StaffAccountFor(who, id, "user.set_roles", "change the roles of accounts"));
  const std::vector<Role> wanted = CanonicalRoles(roles);
  if (wanted.empty()) {
    return Status::InvalidArgument("the roles were not changed", {{"roles", "a staff account needs at least one role"}});
  }
  if (who.user == id && std::find(wanted.begin(), wanted.end(), Role::kAdmin) == wanted.end()) {
    const std::string why = "you cannot take the admin role from yourself: ask another administrator";
    AuditAlone(who, MakeEntry("user.set_roles", "user", IdText(id.value), why, /*allowed=*/false));
    return Status::FailedPrecondition(why);
  }
  if (wanted == user.roles) return Status::Ok();
  if (HasGovernance(wanted) != HasGovernance(user.roles) && !IsSystem(who)) {
    return Refuse(who, "user.set_roles", "user", IdText(id.value),
                  std::string(kGovernanceByOperator));
  }
  return db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute("DELETE FROM user_roles WHERE user_id = ?", {id.value}).status());
    for (Role r : wanted) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO user_roles (user_id, role) VALUES (?, ?)",
                                 {id.value, std::string(authz::RoleName(r))})
                          .status());
    }
    RETURN_IF_ERROR(
        tx.Execute("UPDATE users SET updated_at = ? WHERE id = ?", {clock_.Now().micros, id.value}).status());
    return audit_.Append(tx, who,
                         MakeEntry("user.roles_changed", "user", IdText(id.value),
                                   fmt::format("roles {} became {}", JoinRoles(user.roles), JoinRoles(wanted))));
  });
}

Status AccountService::SetStaffDetails(const Principal& who, core::UserId id, const std::string& display_name,
                                       const std::string& email, core::OfficeId office) {
  ASSIGN_OR_RETURN(User user, StaffAccountFor(who, id, "user.set_details", "change the details of accounts"));
  std::vector<core::FieldError> errors;
  if (Blank(display_name)) {
    errors.push_back({"display_name", "is required"});
  } else if (core::Utf8Length(display_name) > 200) {
    errors.push_back({"display_name", "must be at most 200 characters long"});
  } else if (core::HasControlCharacter(display_name)) {
    errors.push_back({"display_name", "must be one line of text, without control characters"});
  }
  if (!email.empty() && !ValidEmail(email)) {
    errors.push_back({"email", "must be an email address such as name@example.org"});
  }
  if (office.valid()) {
    RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT agency_id FROM offices WHERE id = ?", {office.value}));
      if (rows.empty() || rows[0].Int(0) != user.agency.value) {
        errors.push_back({"office", "no office of this agency has this id"});
      }
      return Status::Ok();
    }));
  }
  if (!errors.empty()) return Status::InvalidArgument("the account has invalid fields", std::move(errors));
  std::vector<std::string> changed;
  if (display_name != user.display_name) changed.push_back("name");
  if (email != user.email) changed.push_back("e-mail address");
  if (office != user.office) changed.push_back("office");
  if (changed.empty()) return Status::Ok();
  std::string what;
  for (size_t i = 0; i < changed.size(); ++i) {
    what += (i == 0 ? "" : i + 1 == changed.size() ? " and " : ", ") + changed[i];
  }
  return db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute("UPDATE users SET display_name = ?, email = ?, office_id = ?, updated_at = ? WHERE id = ?",
                               {display_name, email,
                                office.valid() ? storage::Value(office.value) : storage::Value(storage::Null{}),
                                clock_.Now().micros, id.value})
                        .status());
    return audit_.Append(tx, who, MakeEntry("user.details_changed", "user", IdText(id.value), what + " changed"));
  });
}

Status AccountService::SetTemporaryPassword(const Principal& who, core::UserId id, const std::string& password) {
  ASSIGN_OR_RETURN(User user, StaffAccountFor(who, id, "user.password_reset", "give accounts a temporary password"));
  if (who.user == id) {
    return Status::FailedPrecondition("change your own password on Change your password, giving the current one");
  }
  if (HasGovernance(user.roles) && !IsSystem(who)) {
    // Else an administrator could sign in as the agency's governance user.
    return Refuse(who, "user.password_reset", "user", IdText(id.value),
                  "a governance account's password is not reset by an agency's administrator: its owner "
                  "changes it, or the deployment's operator replaces the account");
  }
  if (std::string problem = PasswordProblem(password, user.username, user.email); !problem.empty()) {
    return Status::InvalidArgument("the password cannot be used", {{"password", problem}});
  }
  // Hashed before the write: the single writer does not wait on it.
  ASSIGN_OR_RETURN(std::string hash, core::HashPassword(password, options_.fast_password_hashing));
  return db_.Write([&](storage::Transaction& tx) -> Status {
    const int64_t now = clock_.Now().micros;
    RETURN_IF_ERROR(tx.Execute("UPDATE users SET password_hash = ?, password_change_required = 1, "
                               "password_expires_at = ?, updated_at = ? WHERE id = ?",
                               {hash, TemporaryPasswordExpiry(now), now, id.value})
                        .status());
    // Signed out everywhere: whoever held a session of the account before the reset loses it.
    RETURN_IF_ERROR(tx.Execute("DELETE FROM sessions WHERE user_id = ?", {id.value}).status());
    RETURN_IF_ERROR(LeaveCounters(tx, id));
    // Failed sign-ins are forgotten, so that someone locked out can sign in with the new one.
    RETURN_IF_ERROR(tx.Execute("DELETE FROM login_failures WHERE username = ?", {user.username}).status());
    return audit_.Append(tx, who,
                         MakeEntry("user.password_reset", "user", IdText(id.value),
                                   fmt::format("temporary password given by an administrator; to be changed at "
                                               "sign-in within {} days",
                                               options_.temporary_password_days)));
  });
}

std::string AccountService::PasswordProblem(const std::string& password, const std::string& username,
                                            const std::string& email) const {
  const size_t length = core::Utf8Length(password);
  if (length < 12) return "must be at least 12 characters long";
  if (length > 256) return "must be at most 256 characters long";
  if (password.find_first_not_of(" \t") == std::string::npos) return "must not be only spaces";
  std::string lower = password;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (blocklist_ && blocklist_->count(lower)) {
    return "this password is on a list of passwords known to attackers: choose another";
  }
  std::string name = email.substr(0, email.find('@'));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string user = username;
  for (char& c : user) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string address = email;
  for (char& c : address) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("onedoor") != std::string::npos ||
      (user.size() >= 3 && lower.find(user) != std::string::npos) ||
      (name.size() >= 3 && lower.find(name) != std::string::npos) ||
      (!address.empty() && lower.find(address) != std::string::npos)) {
    return "must not contain your username, your e-mail address or the name of the service";
  }
  return "";
}

Status AccountService::UseBlocklist(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument(path + ": cannot be read");
  auto list = std::make_shared<std::unordered_set<std::string>>();
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    for (char& c : line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    list->insert(std::move(line));
  }
  blocklist_ = std::move(list);
  return Status::Ok();
}

Status AccountService::SetPassword(const Principal& who, core::UserId id, const std::string& password) {
  if (!IsSystem(who) && who.user != id) {
    return Refuse(who, "user.password", "user", IdText(id.value), "only the account's owner may change its password");
  }
  {
    ASSIGN_OR_RETURN(User user, GetUser(id));
    if (std::string problem = PasswordProblem(password, user.username, user.email); !problem.empty()) {
      return Status::InvalidArgument("the password cannot be used", {{"password", problem}});
    }
  }
  // Hashed before the write: the single writer does not wait on it.
  ASSIGN_OR_RETURN(std::string hash, core::HashPassword(password, options_.fast_password_hashing));
  return db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(int64_t changed,
                     tx.Execute("UPDATE users SET password_hash = ?, password_change_required = 0, "
                                "password_expires_at = NULL, updated_at = ? WHERE id = ?",
                                {hash, clock_.Now().micros, id.value}));
    if (changed == 0) return Status::NotFound(fmt::format("no user has id {}", id.value));
    // A new password ends every session: whoever knew the old one is signed out.
    RETURN_IF_ERROR(tx.Execute("DELETE FROM sessions WHERE user_id = ?", {id.value}).status());
    return audit_.Append(tx, who, MakeEntry("user.password_changed", "user", IdText(id.value), "password changed"));
  });
}

Status AccountService::ChangeOwnPassword(const Principal& who, const std::string& current,
                                         const std::string& password,
                                         std::vector<core::FieldError> read_errors) {
  if (who.kind != PrincipalKind::kStaff && who.kind != PrincipalKind::kCitizen) {
    return Status::PermissionDenied("only a signed-in user changes their own password");
  }
  ASSIGN_OR_RETURN(User user, GetUser(who.user));
  std::vector<core::FieldError> errors;
  // The current password is checked like a sign-in, with its throttling.
  auto session = Login(user.username, current, who.purpose, who.request_id);
  if (!session.ok()) {
    if (session.status().code() != core::StatusCode::kUnauthenticated) return session.status();
    errors.push_back({"current", "the current password is not right"});
  }
  if (session.ok() && password == current) {
    // A temporary password an administrator typed is known to them: the new one must be another.
    errors.push_back({"password", "must differ from your current password"});
  } else if (std::string problem = PasswordProblem(password, user.username, user.email);
             !problem.empty()) {
    errors.push_back({"password", problem});
  }
  // Every mistake at once: the form's own (the new password typed twice differently) too.
  errors = core::MergeFieldErrors(std::move(errors), read_errors);
  if (!errors.empty()) {
    if (session.ok()) (void)Logout(session->session_id);  // the check's session, given to no one
    return Status::InvalidArgument("the password was not changed", std::move(errors));
  }
  // The check made a session of its own: SetPassword ends it with the others.
  return SetPassword(who, who.user, password);
}

// ---------------------------------------------------------------------------------------
// API tokens

StatusOr<IssuedToken> AccountService::IssueToken(const Principal& who, const std::string& name,
                                                 const std::vector<Role>& roles,
                                                 const std::vector<std::string>& scopes,
                                                 int valid_days,
                                                 std::optional<int64_t> requests_per_minute,
                                                 const std::vector<core::FieldError>& read_errors) {
  if (auto why = AdminRefusal(who, std::nullopt, "accounts:write", "issue API tokens")) {
    return Refuse(who, "token.issue", "api_token", "", *why);
  }
  if (!who.agency.valid()) {
    return Status::FailedPrecondition("an API token belongs to an agency; issue it as an administrator of one");
  }
  std::vector<core::FieldError> errors;
  const size_t name_length = core::Utf8Length(name);
  if (Blank(name)) {
    errors.push_back({"name", "is required"});
  } else if (name_length > 100) {
    errors.push_back({"name", "must be at most 100 characters long"});
  } else if (core::HasControlCharacter(name)) {
    errors.push_back({"name", "must be one line of text, without control characters"});
  }
  if (roles.empty()) errors.push_back({"roles", "a token needs at least one role"});
  for (size_t i = 0; i < roles.size(); ++i) {
    if (roles[i] == Role::kGovernance) {
      errors.push_back({fmt::format("roles/{}", i),
                        "a token cannot have the governance role: sharing decisions and reviews are made "
                        "by people, signed in"});
    }
  }
  // A token without scopes would be unrestricted (Principal::HasScope), so one is required.
  if (scopes.empty()) errors.push_back({"scopes", "a token needs at least one scope"});
  for (size_t i = 0; i < scopes.size(); ++i) {
    const auto& known = KnownScopes();
    if (std::find(known.begin(), known.end(), scopes[i]) == known.end()) {
      errors.push_back({fmt::format("scopes/{}", i), "is not a known scope"});
    }
  }
  if (valid_days < 1 || valid_days > 730) errors.push_back({"expires_in_days", "must be from 1 to 730 days"});
  if (auto problem = TokenLimitProblem(who, requests_per_minute, options_.token_requests_per_minute)) {
    errors.push_back({"requests_per_minute", *problem});
  }
  errors = core::MergeFieldErrors(read_errors, errors);
  if (!errors.empty()) return Status::InvalidArgument("the token has invalid fields", std::move(errors));

  IssuedToken out;
  out.secret = "od_" + core::RandomToken(32);
  out.token.agency = who.agency;
  out.token.name = name;
  out.token.roles = CanonicalRoles(roles);
  for (const auto& s : scopes) {
    if (std::find(out.token.scopes.begin(), out.token.scopes.end(), s) == out.token.scopes.end()) {
      out.token.scopes.push_back(s);
    }
  }
  out.token.created_at = clock_.Now();
  out.token.expires_at = core::Timestamp{out.token.created_at.micros + int64_t{valid_days} * 86'400'000'000};
  out.token.requests_per_minute = AsLimit(requests_per_minute);
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(
        storage::Rows rows,
        tx.Query("INSERT INTO api_tokens (agency_id, name, token_hash, roles, scopes, created_by, created_at, "
                 "expires_at, requests_per_minute) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                 {who.agency.value, name, core::Sha256Hex(out.secret), JoinRoles(out.token.roles),
                  JoinStrings(out.token.scopes),
                  who.user.valid() ? storage::Value(who.user.value) : storage::Value(storage::Null{}),
                  out.token.created_at.micros, out.token.expires_at->micros,
                  requests_per_minute ? storage::Value(*requests_per_minute) : storage::Value(storage::Null{})}));
    out.token.id = core::ApiTokenId{rows.at(0).Int(0)};
    std::string reason = fmt::format("roles {}; scopes {}", JoinRoles(out.token.roles), JoinStrings(out.token.scopes));
    if (requests_per_minute) reason += "; " + TokenLimitText(requests_per_minute);
    return audit_.Append(tx, who, MakeEntry("token.issued", "api_token", std::to_string(out.token.id.value), reason));
  }));
  return out;
}

StatusOr<std::vector<ApiToken>> AccountService::ListTokens(const Principal& who) {
  if (auto why = AdminRefusal(who, std::nullopt, "accounts:read", "list API tokens")) {
    return Refuse(who, "token.list", "api_token", "", *why);
  }
  std::vector<ApiToken> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    // A system principal without an agency sees every agency's tokens.
    const bool all = IsSystem(who) && !who.agency.valid();
    ASSIGN_OR_RETURN(storage::Rows rows,
                     all ? tx.Query(fmt::format("SELECT {} FROM api_tokens ORDER BY id", kTokenColumns))
                         : tx.Query(fmt::format("SELECT {} FROM api_tokens WHERE agency_id = ? ORDER BY id",
                                                kTokenColumns),
                                    {who.agency.value}));
    const int64_t now = clock_.Now().micros;
    for (const auto& row : rows) {
      ASSIGN_OR_RETURN(ApiToken t, TokenFromRow(row, now));
      out.push_back(std::move(t));
    }
    return Status::Ok();
  }));
  return out;
}

Status AccountService::RevokeToken(const Principal& who, core::ApiTokenId id) {
  if (auto why = AdminRefusal(who, std::nullopt, "accounts:write", "revoke API tokens")) {
    return Refuse(who, "token.revoke", "api_token", IdText(id.value), *why);
  }
  std::optional<int64_t> agency;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT agency_id FROM api_tokens WHERE id = ?", {id.value}));
    if (!rows.empty()) agency = rows[0].Int(0);
    return Status::Ok();
  }));
  if (!agency) return Status::NotFound(fmt::format("no API token has id {}", id.value));
  if (auto why = AdminRefusal(who, core::AgencyId{*agency}, "accounts:write", "revoke API tokens")) {
    return Refuse(who, "token.revoke", "api_token", IdText(id.value), *why);
  }
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(int64_t changed, tx.Execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                                 {clock_.Now().micros, id.value}));
    if (changed == 0) return Status::Ok();  // already revoked
    return audit_.Append(tx, who, MakeEntry("token.revoked", "api_token", IdText(id.value), "token revoked"));
  }));
  std::lock_guard lock(token_use_mu_);
  token_last_use_.erase(id);
  return Status::Ok();
}

StatusOr<ApiToken> AccountService::SetTokenLimit(const Principal& who, core::ApiTokenId id,
                                                 std::optional<int64_t> requests_per_minute) {
  if (auto why = AdminRefusal(who, std::nullopt, "accounts:write", "change API tokens")) {
    return Refuse(who, "token.limit", "api_token", IdText(id.value), *why);
  }
  std::optional<ApiToken> token;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query(fmt::format("SELECT {} FROM api_tokens WHERE id = ?", kTokenColumns), {id.value}));
    if (!rows.empty()) {
      ASSIGN_OR_RETURN(token, TokenFromRow(rows[0], clock_.Now().micros));
    }
    return Status::Ok();
  }));
  if (!token) return Status::NotFound(fmt::format("no API token has id {}", id.value));
  if (auto why = AdminRefusal(who, token->agency, "accounts:write", "change API tokens")) {
    return Refuse(who, "token.limit", "api_token", IdText(id.value), *why);
  }
  if (auto problem = TokenLimitProblem(who, requests_per_minute, options_.token_requests_per_minute)) {
    return Status::InvalidArgument("the token's request limit is not valid", {{"requests_per_minute", *problem}});
  }
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute("UPDATE api_tokens SET requests_per_minute = ? WHERE id = ?",
                               {requests_per_minute ? storage::Value(*requests_per_minute) : storage::Value(storage::Null{}),
                                id.value})
                        .status());
    return audit_.Append(tx, who, MakeEntry("token.limit_changed", "api_token", IdText(id.value),
                                            TokenLimitText(requests_per_minute)));
  }));
  token->requests_per_minute = AsLimit(requests_per_minute);
  return *token;
}

StatusOr<Principal> AccountService::AuthenticateToken(const std::string& bearer, authz::Purpose purpose,
                                                      const std::string& request_id) {
  if (bearer.size() <= 3 || bearer.compare(0, 3, "od_") != 0) {
    return Status::Unauthenticated(std::string(kTokenNotValid));
  }
  std::optional<ApiToken> token;
  // Made once: this runs on every API request.
  static const std::string kByHash = fmt::format("SELECT {} FROM api_tokens WHERE token_hash = ?", kTokenColumns);
  ASSIGN_OR_RETURN(storage::Rows rows, db_.ReadOne(kByHash, {core::Sha256Hex(bearer)}));
  if (!rows.empty()) {
    ASSIGN_OR_RETURN(token, TokenFromRow(rows[0], clock_.Now().micros));
  }
  if (!token) return Status::Unauthenticated(std::string(kTokenNotValid));
  if (token->revoked_at) return Status::Unauthenticated("the API token was revoked");
  if (token->expired) {
    return Status::Unauthenticated(fmt::format("the API token expired on {}; ask your agency's administrator for a new one",
                                               token->expires_at->UtcDate().ToString()));
  }

  Principal p;
  p.kind = PrincipalKind::kSystem;
  p.agency = token->agency;
  p.token = token->id;
  p.name = token->name;
  p.roles = token->roles;
  p.scopes = token->scopes;
  p.requests_per_minute = token->requests_per_minute;
  p.purpose = purpose;
  p.request_id = request_id;

  const int64_t now = clock_.Now().micros;
  bool touch = false;
  {
    std::lock_guard lock(token_use_mu_);
    auto [it, inserted] = token_last_use_.try_emplace(token->id, token->last_used_at ? token->last_used_at->micros : 0);
    if (now - it->second >= kTouchIntervalMicros) {
      it->second = now;
      touch = true;
    }
  }
  if (touch) {
    // Deferred inside a storage::DeferScope, like the request's audit entries.
    Status st = storage::WriteOrDefer(db_, [now, id = token->id.value](storage::Transaction& tx) -> Status {
      return tx.Execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", {now, id}).status();
    });
    // Bookkeeping only: the request goes on even if it could not be recorded.
    if (!st.ok()) core::LogWarn("could not record an API token's use", {{"error", st.ToString()}});
  }
  return p;
}

// ---------------------------------------------------------------------------------------
// Sign-in and sessions

StatusOr<NewSession> AccountService::Login(const std::string& username, const std::string& password,
                                           authz::Purpose purpose, const std::string& request_id,
                                           const std::string& client) {
  const int64_t now = clock_.Now().micros;
  const int64_t window = int64_t{options_.login_window_minutes} * kMicrosPerMinute;
  // The username's failures within the window, newest first: all of them, and those from `client`.
  std::vector<int64_t> failures;
  std::vector<int64_t> from_client;
  std::optional<User> user;
  std::string hash;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT at, client_address FROM login_failures WHERE username = ? "
                                                  "AND at > ? ORDER BY at DESC",
                                                  {username, now - window}));
    for (const auto& row : rows) {
      failures.push_back(row.Int(0));
      if (row.Text(1) == client) from_client.push_back(row.Int(0));
    }
    ASSIGN_OR_RETURN(
        storage::Rows users,
        tx.Query(fmt::format("SELECT {}, password_hash FROM users WHERE username = ?", kUserColumns), {username}));
    if (users.empty()) return Status::Ok();
    user = UserFromRow(users[0]);
    hash = users[0].Text(11);
    return LoadRoles(tx, *user);
  }));

  // The principal the attempt is audited as. Something typed in the username box that
  // cannot be a username (perhaps a password typed in the wrong box) is not recorded.
  Principal actor;
  actor.kind = user && user->kind == AccountKind::kCitizen ? PrincipalKind::kCitizen : PrincipalKind::kStaff;
  if (user) {
    actor.user = user->id;
    actor.agency = user->agency;
    actor.roles = user->roles;
  }
  actor.name = ValidUsername(username) ? username : std::string("(not a username)");
  actor.purpose = user && user->kind == AccountKind::kCitizen ? authz::Purpose::kOwnRecord : purpose;
  actor.request_id = request_id;
  actor.client_address = client;
  const std::string record_id = user ? IdText(user->id.value) : std::string();

  // Locked for this client after max_failures of its own; for every client after ten times as
  // many from all of them (guesses spread over many addresses). So someone who knows a username
  // cannot, from elsewhere, keep its owner out with a few wrong passwords.
  const auto max_failures = static_cast<size_t>(std::max(1, options_.login_max_failures));
  const size_t max_all = max_failures * 10;
  const std::vector<int64_t>* counted = nullptr;
  size_t limit = 0;
  if (from_client.size() >= max_failures) {
    counted = &from_client;
    limit = max_failures;
  } else if (failures.size() >= max_all) {
    counted = &failures;
    limit = max_all;
  }
  if (counted != nullptr) {
    // Sign-in opens again when the limit-th newest counted failure leaves the window.
    const int64_t reopens = (*counted)[limit - 1] + window;
    const int64_t minutes = std::max<int64_t>(1, (reopens - now + kMicrosPerMinute - 1) / kMicrosPerMinute);
    AuditAlone(actor, MakeEntry("login.throttled", "user", record_id,
                                fmt::format("{} failed sign-in attempts {} in {} minutes", counted->size(),
                                            counted == &from_client ? "from this address" : "from all addresses",
                                            options_.login_window_minutes),
                                /*allowed=*/false));
    return Status::ResourceExhausted(fmt::format("too many failed sign-in attempts; try again in {} minute{}",
                                                 minutes, minutes == 1 ? "" : "s"));
  }

  bool verified = false;
  if (user) {
    verified = core::VerifyPassword(hash, password);
  } else {
    // Spend the time a real check takes, so that timing does not tell which usernames exist.
    (void)core::VerifyPassword(DummyHash(), password);
  }
  if (!verified) {
    Status st = db_.Write([&](storage::Transaction& tx) -> Status {
      // Only what could be a username is counted: text that cannot be one (perhaps a password
      // typed in the wrong box) is kept nowhere, and no account has it to lock. Failures that
      // have left the window are of no more use and go.
      if (ValidUsername(username)) {
        RETURN_IF_ERROR(tx.Execute("DELETE FROM login_failures WHERE at <= ?", {now - window}).status());
        RETURN_IF_ERROR(tx.Execute("INSERT INTO login_failures (username, at, client_address) VALUES (?, ?, ?)",
                                   {username, now, client})
                            .status());
      }
      return audit_.Append(tx, actor,
                           MakeEntry("login.failed", "user", record_id,
                                     user ? "the password was not right" : "no account has this username",
                                     /*allowed=*/false));
    });
    if (!st.ok()) return st;
    return Status::Unauthenticated(std::string(kWrongCredentials));
  }
  if (!user->active) {
    AuditAlone(actor, MakeEntry("login.failed", "user", record_id, "the account is switched off", false));
    return Status::Unauthenticated("this account is switched off; ask an administrator");
  }
  if (user->password_expires_at && now >= user->password_expires_at->micros) {
    AuditAlone(actor, MakeEntry("login.failed", "user", record_id, "the temporary password expired", false));
    return Status::FailedPrecondition(
        "this temporary password has expired; ask your agency's administrator for a new one");
  }

  return OpenSession(*user, actor, "signed in");
}

StatusOr<NewSession> AccountService::OpenSession(const User& user, const Principal& actor, const std::string& how) {
  const int64_t now = clock_.Now().micros;
  NewSession session;
  session.session_id = core::RandomToken(32);
  session.csrf_token = core::RandomToken(32);
  session.user = user;
  const std::string id_hash = core::Sha256Hex(session.session_id);
  const int64_t expires = now + int64_t{options_.session_max_hours} * 60 * kMicrosPerMinute;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute("DELETE FROM login_failures WHERE username = ?", {user.username}).status());
    // Sessions that have ended, of any account, go with what they kept of where they were used.
    RETURN_IF_ERROR(
        tx.Execute("DELETE FROM sessions WHERE expires_at < ? OR last_seen_at < ?", {now, LiveSince(now)}).status());
    RETURN_IF_ERROR(tx.Execute("INSERT INTO sessions (id_hash, user_id, csrf_token, purpose, created_at, "
                               "last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               {id_hash, user.id.value, session.csrf_token,
                                std::string(authz::PurposeName(actor.purpose)), now, now, expires})
                        .status());
    return audit_.Append(tx, actor, MakeEntry("login.succeeded", "session", id_hash.substr(0, 16), how));
  }));
  return session;
}

StatusOr<NewSession> AccountService::StartVerifiedSession(core::UserId id, const std::string& how,
                                                          const std::string& request_id, const std::string& client) {
  ASSIGN_OR_RETURN(User user, GetUser(id));
  Principal actor;
  actor.kind = user.kind == AccountKind::kCitizen ? PrincipalKind::kCitizen : PrincipalKind::kStaff;
  actor.user = user.id;
  actor.agency = user.agency;
  actor.roles = user.roles;
  actor.name = user.username;
  actor.purpose = user.kind == AccountKind::kCitizen ? authz::Purpose::kOwnRecord : authz::Purpose::kCaseWork;
  actor.request_id = request_id;
  actor.client_address = client;
  if (!user.active) {
    AuditAlone(actor, MakeEntry("login.failed", "user", IdText(user.id.value), "the account is switched off", false));
    return Status::Unauthenticated("this account is switched off; ask an administrator");
  }
  return OpenSession(user, actor, how);
}

Status AccountService::Logout(const std::string& session_id) {
  if (session_id.empty()) return Status::Ok();
  const std::string id_hash = core::Sha256Hex(session_id);
  return db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT u.id, u.kind, u.username, u.agency_id, s.purpose FROM sessions s "
                              "JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?",
                              {id_hash}));
    if (rows.empty()) return Status::Ok();
    RETURN_IF_ERROR(tx.Execute("DELETE FROM sessions WHERE id_hash = ?", {id_hash}).status());
    // Signed out of the last session, the account leaves its counter: no one is there any more.
    ASSIGN_OR_RETURN(
        storage::Rows left,
        tx.Query("SELECT 1 FROM sessions WHERE user_id = ? LIMIT 1", {rows[0].Int(0)}));
    if (left.empty()) RETURN_IF_ERROR(LeaveCounters(tx, core::UserId{rows[0].Int(0)}));
    Principal who;
    who.kind = rows[0].Text(1) == "citizen" ? PrincipalKind::kCitizen : PrincipalKind::kStaff;
    who.user = core::UserId{rows[0].Int(0)};
    who.name = rows[0].Text(2);
    who.agency = core::AgencyId{rows[0].OptInt(3).value_or(0)};
    auto purpose = authz::ParsePurpose(rows[0].Text(4));
    if (purpose.ok()) who.purpose = *purpose;
    return audit_.Append(tx, who, MakeEntry("logout", "session", id_hash.substr(0, 16), "signed out"));
  });
}

StatusOr<std::vector<SessionInfo>> AccountService::ListOwnSessions(const Principal& who,
                                                                   const std::string& current_session_id) {
  if (!who.user.valid() || who.token.valid()) {
    return Status::FailedPrecondition("only a signed-in account has sessions");
  }
  const int64_t now = clock_.Now().micros;
  const std::string current = current_session_id.empty() ? "" : core::Sha256Hex(current_session_id).substr(0, 16);
  std::vector<SessionInfo> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    out.clear();
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT id_hash, created_at, last_seen_at, expires_at, client_address, user_agent, "
                              "purpose FROM sessions WHERE user_id = ? AND expires_at >= ? AND last_seen_at >= ? "
                              "ORDER BY last_seen_at DESC, created_at DESC",
                              {who.user.value, now, LiveSince(now)}));
    for (const auto& row : rows) {
      SessionInfo info;
      info.ref = row.Text(0).substr(0, 16);
      info.created_at = {row.Int(1)};
      info.last_seen_at = {row.Int(2)};
      info.expires_at = {row.Int(3)};
      info.client_address = row.Text(4);
      info.user_agent = row.Text(5);
      if (auto purpose = authz::ParsePurpose(row.Text(6)); purpose.ok()) info.purpose = *purpose;
      info.current = info.ref == current;
      out.push_back(std::move(info));
    }
    return Status::Ok();
  }));
  // The one asking first.
  std::stable_partition(out.begin(), out.end(), [](const SessionInfo& s) { return s.current; });
  return out;
}

Status AccountService::EndOwnSession(const Principal& who, const std::string& ref,
                                     const std::string& current_session_id) {
  if (!who.user.valid() || who.token.valid()) {
    return Status::FailedPrecondition("only a signed-in account has sessions");
  }
  if (!ValidSessionRef(ref)) return Status::NotFound("you have no such session");
  if (!current_session_id.empty() && core::Sha256Hex(current_session_id).starts_with(ref)) {
    return Status::FailedPrecondition("this is the session you are using: sign out to end it");
  }
  bool ended = false;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    // The session of this account whose hash begins with `ref`.
    ASSIGN_OR_RETURN(int64_t n, tx.Execute("DELETE FROM sessions WHERE user_id = ? AND substr(id_hash, 1, 16) = ?",
                                           {who.user.value, ref}));
    ended = n > 0;
    if (!ended) return Status::Ok();
    return audit_.Append(tx, who, MakeEntry("session.ended", "session", ref, "signed out by the account's owner "
                                                                              "from another session"));
  }));
  if (!ended) return Status::NotFound("you have no such session: it may have ended already");
  return Status::Ok();
}

StatusOr<int> AccountService::EndOtherSessions(const Principal& who, const std::string& current_session_id) {
  if (!who.user.valid() || who.token.valid()) {
    return Status::FailedPrecondition("only a signed-in account has sessions");
  }
  const std::string keep = current_session_id.empty() ? "" : core::Sha256Hex(current_session_id);
  int ended = 0;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(int64_t n, tx.Execute("DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?",
                                           {who.user.value, keep}));
    ended = static_cast<int>(n);
    if (ended == 0) return Status::Ok();
    return audit_.Append(tx, who,
                         MakeEntry("session.ended_others", "user", IdText(who.user.value),
                                   fmt::format("{} other session{} ended by the account's owner", ended,
                                               ended == 1 ? "" : "s")));
  }));
  return ended;
}

StatusOr<SessionAuth> AccountService::AuthenticateSession(const std::string& session_id,
                                                          const std::string& request_id, const SessionUse& use) {
  if (session_id.empty()) return Status::Unauthenticated("sign in again");
  const std::string id_hash = core::Sha256Hex(session_id);
  const int64_t now = clock_.Now().micros;

  struct Found {
    User user;
    std::string csrf;
    std::string purpose;
    int64_t last_seen = 0;
    int64_t expires = 0;
    int64_t representation = 0;  // acting for `represented` as their representative
    core::PersonId represented;
    std::string scopes;
    std::string client_address;
    std::string user_agent;
  };
  std::optional<Found> found;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT s.csrf_token, s.purpose, s.last_seen_at, s.expires_at, u.id, u.kind, "
                              "u.username, u.display_name, u.email, u.agency_id, u.office_id, u.person_id, "
                              "u.active, u.password_change_required, u.password_expires_at, r.id, r.person_id, "
                              "r.scopes, r.until, "
                              "s.client_address, s.user_agent FROM sessions s "
                              "JOIN users u ON u.id = "
                              "s.user_id LEFT JOIN representatives r ON r.id = s.acting_for AND r.user_id = s.user_id "
                              "AND r.ended_at IS NULL WHERE s.id_hash = ?",
                              {id_hash}));
    if (rows.empty()) return Status::Ok();
    Found f;
    f.csrf = rows[0].Text(0);
    f.purpose = rows[0].Text(1);
    f.last_seen = rows[0].Int(2);
    f.expires = rows[0].Int(3);
    f.client_address = rows[0].Text(19);
    f.user_agent = rows[0].Text(20);
    f.user = UserFromRow(rows[0], 4);
    if (auto grant = rows[0].OptInt(15)) {
      const std::string until = rows[0].OptText(18).value_or("");
      if (until.empty() || until >= clock_.Now().UtcDate().ToString()) {
        f.representation = *grant;
        f.represented = core::PersonId{rows[0].Int(16)};
        f.scopes = rows[0].Text(17);
      }
    }
    RETURN_IF_ERROR(LoadRoles(tx, f.user));
    found = std::move(f);
    return Status::Ok();
  }));
  if (!found) return Status::Unauthenticated("sign in again");

  const bool ended = now > found->expires || found->last_seen < LiveSince(now);
  if (ended || !found->user.active) {
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
      return tx.Execute("DELETE FROM sessions WHERE id_hash = ?", {id_hash}).status();
    }));
    if (ended) return Status::Unauthenticated("your session has ended; sign in again");
    return Status::Unauthenticated("this account is switched off; ask an administrator");
  }
  auto purpose = authz::ParsePurpose(found->purpose);
  if (!purpose.ok()) return Status::Internal("a stored session has a purpose unknown to this version of onedoor");

  const bool known = !use.client_address.empty();
  if (now - found->last_seen >= kTouchIntervalMicros || (known && found->client_address.empty())) {
    // Where it is used from now, when the request says; else what it was.
    const std::string address = known ? use.client_address : found->client_address;
    const std::string agent = known ? KeptUserAgent(use.user_agent) : found->user_agent;
    Status st = db_.Write([&](storage::Transaction& tx) -> Status {
      return tx
          .Execute("UPDATE sessions SET last_seen_at = ?, client_address = ?, user_agent = ? WHERE id_hash = ?",
                   {now, address, agent, id_hash})
          .status();
    });
    // Bookkeeping only: at worst the session ends a little early.
    if (!st.ok()) core::LogWarn("could not record a session's use", {{"error", st.ToString()}});
  }

  SessionAuth auth;
  auth.csrf_token = std::move(found->csrf);
  auth.password_change_required = found->user.password_change_required;
  Principal& p = auth.principal;
  p.kind = found->user.kind == AccountKind::kCitizen ? PrincipalKind::kCitizen : PrincipalKind::kStaff;
  p.user = found->user.id;
  p.agency = found->user.agency;
  p.name = found->user.username;
  p.roles = found->user.roles;
  p.purpose = *purpose;
  if (found->user.kind == AccountKind::kCitizen) p.person = found->user.person;
  if (found->user.kind == AccountKind::kCitizen && found->representation != 0) {
    // Acting for someone: their record, within what they granted.
    p.person = found->represented;
    p.representation = found->representation;
    p.scopes = {"portal:view"};
    size_t start = 0;
    while (start < found->scopes.size()) {
      size_t comma = found->scopes.find(',', start);
      if (comma == std::string::npos) comma = found->scopes.size();
      if (comma > start) p.scopes.push_back("portal:" + found->scopes.substr(start, comma - start));
      start = comma + 1;
    }
  }
  p.request_id = request_id;
  p.client_address = use.client_address;  // for its audit entries
  return auth;
}

}  // namespace accounts
