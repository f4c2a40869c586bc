#include "portal/representative_service.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/utf8.h"

namespace portal {

using core::Status;
using core::StatusOr;

namespace {

constexpr char kSelect[] =
    "SELECT r.id, r.person_id, p.display_name, r.user_id, u.display_name, u.email, r.relationship, r.scopes, "
    "r.granted_at, r.until, r.ended_at FROM representatives r JOIN persons p ON p.id = r.person_id JOIN users u ON "
    "u.id = r.user_id ";

std::vector<std::string> Split(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    if (comma > start) out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

bool IsScope(const std::string& s) {
  return std::any_of(std::begin(kRepresentativeScopes), std::end(kRepresentativeScopes),
                     [&](const char* k) { return s == k; });
}

// Only the person themself, signed in and linked, manages who represents them.
std::string NotThePerson(const authz::Principal& who) {
  if (who.kind != authz::PrincipalKind::kCitizen || !who.person) {
    return "only the person, signed in to the portal, chooses who represents them";
  }
  if (who.representation != 0) return "a representative cannot choose representatives for the person";
  return "";
}

}  // namespace

bool Representative::Allows(const std::string& scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

StatusOr<std::vector<Representative>> RepresentativeService::Load(storage::Transaction& tx, const std::string& where,
                                                                  const storage::Params& params) const {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(std::string(kSelect) + where, params));
  std::vector<Representative> out;
  for (const auto& row : rows) {
    Representative r;
    r.id = row.Int(0);
    r.person = core::PersonId{row.Int(1)};
    r.person_name = row.Text(2);
    r.user = core::UserId{row.Int(3)};
    r.name = row.Text(4);
    r.email = row.Text(5);
    r.relationship = row.Text(6);
    r.scopes = Split(row.Text(7));
    r.granted_at = core::Timestamp{row.Int(8)};
    if (auto until = row.OptText(9)) {
      auto d = core::Date::Parse(*until);
      if (!d.ok()) return Status::Internal(fmt::format("representative grant {} has an unreadable end date", r.id));
      r.until = *d;
    }
    if (auto ended = row.OptInt(10)) r.ended_at = core::Timestamp{*ended};
    out.push_back(std::move(r));
  }
  return out;
}

StatusOr<Representative> RepresentativeService::Grant(const authz::Principal& who,
                                                      const NewRepresentative& in,
                                                      std::vector<core::FieldError> read_errors) {
  if (std::string why = NotThePerson(who); !why.empty()) {
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
      return audit_.Append(tx, who, {"representative.grant", "representative", "", who.person, false, why});
    }));
    return Status::PermissionDenied(why);
  }
  std::vector<core::FieldError> errors;
  std::string email = in.email;
  email.erase(0, email.find_first_not_of(" \t"));
  email.erase(email.find_last_not_of(" \t") + 1);
  std::transform(email.begin(), email.end(), email.begin(), [](unsigned char c) { return std::tolower(c); });
  if (email.find('@') == std::string::npos) errors.push_back({"email", "enter their e-mail address, like name@example.org"});
  const std::string relationship = in.relationship;
  if (relationship.find_first_not_of(" \t\r\n") == std::string::npos ||
      core::Utf8Length(relationship) > 100) {
    errors.push_back({"relationship", "say who they are to you, in 1 to 100 characters"});
  }
  std::vector<std::string> scopes;
  for (const auto& s : in.scopes) {
    if (!IsScope(s)) {
      errors.push_back({"scopes", fmt::format("'{}' is not something a representative may do", s)});
    } else if (std::find(scopes.begin(), scopes.end(), s) == scopes.end()) {
      scopes.push_back(s);
    }
  }
  if (in.until && *in.until < Today()) errors.push_back({"until", "the last day cannot be in the past"});
  std::optional<int64_t> account;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    if (email.find('@') == std::string::npos) return Status::Ok();
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT u.id FROM users u JOIN citizen_profiles c ON c.user_id = u.id WHERE u.kind = "
                              "'citizen' AND lower(u.email) = ? AND u.active = 1 AND c.email_verified_at IS NOT NULL",
                              {email}));
    if (!rows.empty()) account = rows[0].Int(0);
    return Status::Ok();
  }));
  if (email.find('@') != std::string::npos && !account) {
    errors.push_back({"email", "no portal account has this e-mail address: ask them to create one first"});
  } else if (account && *account == who.user.value) {
    errors.push_back({"email", "this is your own account"});
  }
  errors = core::MergeFieldErrors(std::move(read_errors), errors);
  if (!errors.empty()) return Status::InvalidArgument("the representative has invalid fields", std::move(errors));

  std::string scope_list;
  for (const auto& s : scopes) scope_list += (scope_list.empty() ? "" : ",") + s;
  Representative out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows existing,
                     tx.Query("SELECT id FROM representatives WHERE person_id = ? AND user_id = ? AND ended_at IS NULL",
                              {who.person->value, *account}));
    if (!existing.empty()) {
      return Status::AlreadyExists("this account already represents you: end that first to change what it may do");
    }
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("INSERT INTO representatives (person_id, user_id, relationship, scopes, granted_at, until) "
                              "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                              {who.person->value, *account, relationship, scope_list, clock_.Now().micros,
                               in.until ? storage::Value(in.until->ToString()) : storage::Value(storage::Null{})}));
    const int64_t id = rows.at(0).Int(0);
    RETURN_IF_ERROR(audit_.Append(
        tx, who,
        {"representative.grant", "representative", std::to_string(id), who.person, true,
         fmt::format("the person lets another portal account act for them (see the record{})",
                     scope_list.empty() ? "" : ", and " + scope_list)}));
    ASSIGN_OR_RETURN(std::vector<Representative> found, Load(tx, "WHERE r.id = ?", {id}));
    out = std::move(found.at(0));
    return Status::Ok();
  }));
  return out;
}

Status RepresentativeService::End(const authz::Principal& who, int64_t id) {
  if (std::string why = NotThePerson(who); !why.empty()) return Status::PermissionDenied(why);
  return db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT ended_at FROM representatives WHERE id = ? AND person_id = ?",
                              {id, who.person->value}));
    if (rows.empty()) return Status::NotFound(fmt::format("no representative of yours has id {}", id));
    if (!rows[0].IsNull(0)) return Status::FailedPrecondition("this representative no longer acts for you");
    RETURN_IF_ERROR(tx.Execute("UPDATE representatives SET ended_at = ? WHERE id = ?", {clock_.Now().micros, id})
                        .status());
    // Their sessions stop acting for the person at once.
    RETURN_IF_ERROR(tx.Execute("UPDATE sessions SET acting_for = NULL WHERE acting_for = ?", {id}).status());
    return audit_.Append(tx, who, {"representative.end", "representative", std::to_string(id), who.person, true,
                                   "the person ended the representative's right to act for them"});
  });
}

StatusOr<std::vector<Representative>> RepresentativeService::ForPerson(const authz::Principal& who) {
  if (std::string why = NotThePerson(who); !why.empty()) return Status::PermissionDenied(why);
  std::vector<Representative> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, Load(tx, "WHERE r.person_id = ? ORDER BY (r.ended_at IS NOT NULL), r.id DESC",
                               {who.person->value}));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Representative>> RepresentativeService::ActingFor(const authz::Principal& who) {
  if (who.kind != authz::PrincipalKind::kCitizen) return std::vector<Representative>{};
  std::vector<Representative> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, Load(tx, "WHERE r.user_id = ? AND r.ended_at IS NULL ORDER BY p.display_name, r.id",
                               {who.user.value}));
    return Status::Ok();
  }));
  const core::Date today = Today();
  std::erase_if(out, [&](const Representative& r) { return !r.ActiveOn(today); });
  return out;
}

Status RepresentativeService::Switch(const authz::Principal& who, const std::string& session_id_hash, int64_t id) {
  if (who.kind != authz::PrincipalKind::kCitizen) return Status::PermissionDenied("only portal accounts act for people");
  std::optional<Representative> grant;
  if (id != 0) {
    ASSIGN_OR_RETURN(std::vector<Representative> mine, ActingFor(who));
    for (auto& r : mine) {
      if (r.id == id) grant = std::move(r);
    }
    if (!grant) return Status::NotFound("you do not act for this person, or no longer");
  }
  return db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("UPDATE sessions SET acting_for = ? WHERE id_hash = ? AND user_id = ? RETURNING id_hash",
                              {id == 0 ? storage::Value(storage::Null{}) : storage::Value(id), session_id_hash,
                               who.user.value}));
    if (rows.empty()) return Status::Unauthenticated("sign in again");
    if (!grant) return Status::Ok();
    return audit_.Append(tx, who, {"representative.act", "representative", std::to_string(id), grant->person, true,
                                   "the representative starts acting for the person"});
  });
}

StatusOr<std::optional<Representative>> RepresentativeService::Find(int64_t id) {
  std::optional<Representative> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<Representative> found, Load(tx, "WHERE r.id = ?", {id}));
    if (!found.empty()) out = std::move(found[0]);
    return Status::Ok();
  }));
  return out;
}

}  // namespace portal
