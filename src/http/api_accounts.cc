#include "http/api_accounts.h"

#include <algorithm>

#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "http/json_body.h"
#include "http/problem.h"

namespace http {
namespace {

using nlohmann::json;

Response Fail(const core::Status& s, const Context& ctx) { return Problem(s, ctx.request.request_id); }

// The positive id in path parameter `name`.
core::StatusOr<int64_t> PathId(const Context& ctx, const std::string& name) {
  const std::string& text = ctx.Param(name);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v <= 0) {
    return core::Status::InvalidArgument("the id in the path is not valid", {{name, "must be a positive whole number"}});
  }
  return v;
}

json IdOrNull(int64_t id) { return id > 0 ? json(id) : json(nullptr); }

json RolesJson(const std::vector<authz::Role>& roles) {
  json out = json::array();
  for (auto r : roles) out.push_back(std::string(authz::RoleName(r)));
  return out;
}

std::string_view PrincipalKindName(authz::PrincipalKind k) {
  switch (k) {
    case authz::PrincipalKind::kStaff: return "staff";
    case authz::PrincipalKind::kCitizen: return "citizen";
    case authz::PrincipalKind::kSystem: return "system";
  }
  return "staff";
}

json AgencyJson(const accounts::Agency& a) {
  return {{"id", a.id.value},
          {"code", a.code},
          {"name", a.name},
          {"kind", a.kind == accounts::AgencyKind::kNonprofit ? "nonprofit" : "government"}};
}

json OfficeJson(const accounts::Office& o) {
  return {{"id", o.id.value}, {"agency_id", o.agency.value}, {"name", o.name}, {"address", o.address}};
}

json OptTime(const std::optional<core::Timestamp>& t) { return t ? json(t->ToRfc3339()) : json(nullptr); }

// Never the password hash: accounts::User does not carry it.
json UserJson(const accounts::User& u) {
  return {{"id", u.id.value},
          {"kind", u.kind == accounts::AccountKind::kCitizen ? "citizen" : "staff"},
          {"username", u.username},
          {"display_name", u.display_name},
          {"email", u.email},
          {"agency_id", IdOrNull(u.agency.value)},
          {"office_id", IdOrNull(u.office.value)},
          {"roles", RolesJson(u.roles)},
          {"active", u.active},
          {"password_change_required", u.password_change_required},
          {"password_expires_at", OptTime(u.password_expires_at)}};
}

json TokenJson(const accounts::ApiToken& t) {
  return {{"id", t.id.value},
          {"agency_id", t.agency.value},
          {"name", t.name},
          {"roles", RolesJson(t.roles)},
          {"scopes", t.scopes},
          {"created_at", t.created_at.ToRfc3339()},
          {"revoked_at", OptTime(t.revoked_at)},
          {"last_used_at", OptTime(t.last_used_at)},
          {"expires_at", OptTime(t.expires_at)},
          {"requests_per_minute", t.requests_per_minute ? json(*t.requests_per_minute) : json(nullptr)}};
}

json Items(json items) { return {{"items", std::move(items)}}; }

// Reads a list of role names at `key`; each wrong item is a field error "key/N".
std::vector<authz::Role> ReadRoles(JsonReader& r, std::string_view key) {
  std::vector<authz::Role> roles;
  const json* list = r.Array(key, authz::AllRoles().size());
  if (list == nullptr) return roles;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& item = (*list)[i];
    const std::string field = fmt::format("{}/{}", r.Path(key), i);
    if (!item.is_string()) {
      r.Error(field, "must be a string");
      continue;
    }
    auto role = authz::ParseRole(item.get<std::string>());
    if (!role.ok()) {
      r.Error(field, role.status().message());
      continue;
    }
    roles.push_back(*role);
  }
  return roles;
}

// Reads a list of strings at `key`; the service checks their values.
std::vector<std::string> ReadStrings(JsonReader& r, std::string_view key, size_t max_items) {
  std::vector<std::string> out;
  const json* list = r.Array(key, max_items);
  if (list == nullptr) return out;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& item = (*list)[i];
    if (!item.is_string()) {
      r.Error(fmt::format("{}/{}", r.Path(key), i), "must be a string");
      continue;
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

Response GetMe(Context& ctx) {
  const authz::Principal& who = ctx.Who();
  json roles = json::array();
  for (auto r : who.roles) roles.push_back(std::string(authz::RoleName(r)));
  return JsonResponse(200, {{"kind", PrincipalKindName(who.kind)},
                            {"user_id", IdOrNull(who.user.value)},
                            {"agency_id", IdOrNull(who.agency.value)},
                            {"name", who.name},
                            {"roles", std::move(roles)},
                            {"purpose", authz::PurposeName(who.purpose)},
                            {"scopes", who.scopes}});
}

Response ListAgencies(accounts::AccountService& accounts, Context& ctx) {
  auto agencies = accounts.ListAgencies();
  if (!agencies.ok()) return Fail(agencies.status(), ctx);
  json items = json::array();
  for (const auto& a : *agencies) items.push_back(AgencyJson(a));
  return JsonResponse(200, Items(std::move(items)));
}

Response CreateAgency(accounts::AccountService& accounts, Context& ctx) {
  auto body = ParseJsonObject(ctx.request);
  if (!body.ok()) return Fail(body.status(), ctx);
  JsonReader r(*body);
  r.RejectUnknown({"code", "name", "kind"});
  accounts::Agency agency;
  agency.code = r.String("code", true, 100);
  agency.name = r.String("name", true, 1000);
  const std::string kind = r.String("kind", true, 100);
  if (kind == "nonprofit") {
    agency.kind = accounts::AgencyKind::kNonprofit;
  } else if (kind == "government") {
    agency.kind = accounts::AgencyKind::kGovernment;
  } else if (!kind.empty()) {
    r.Error(r.Path("kind"), "must be government or nonprofit");
  }
  if (auto st = r.Finish(); !st.ok()) return Fail(st, ctx);
  auto created = accounts.CreateAgency(ctx.Who(), agency);
  if (!created.ok()) return Fail(created.status(), ctx);
  Response resp = JsonResponse(201, AgencyJson(*created));
  resp.Header("Location", fmt::format("/api/v1/agencies/{}", created->id.value));
  return resp;
}

Response GetAgency(accounts::AccountService& accounts, Context& ctx) {
  auto id = PathId(ctx, "id");
  if (!id.ok()) return Fail(id.status(), ctx);
  auto agency = accounts.GetAgency(core::AgencyId{*id});
  if (!agency.ok()) return Fail(agency.status(), ctx);
  return JsonResponse(200, AgencyJson(*agency));
}

// The agency named by the path, or the problem to answer with.
core::StatusOr<core::AgencyId> PathAgency(accounts::AccountService& accounts, const Context& ctx) {
  ASSIGN_OR_RETURN(int64_t id, PathId(ctx, "id"));
  ASSIGN_OR_RETURN(accounts::Agency agency, accounts.GetAgency(core::AgencyId{id}));
  return agency.id;
}

Response ListOffices(accounts::AccountService& accounts, Context& ctx) {
  auto agency = PathAgency(accounts, ctx);
  if (!agency.ok()) return Fail(agency.status(), ctx);
  auto offices = accounts.ListOffices(*agency);
  if (!offices.ok()) return Fail(offices.status(), ctx);
  json items = json::array();
  for (const auto& o : *offices) items.push_back(OfficeJson(o));
  return JsonResponse(200, Items(std::move(items)));
}

Response CreateOffice(accounts::AccountService& accounts, Context& ctx) {
  auto id = PathId(ctx, "id");
  if (!id.ok()) return Fail(id.status(), ctx);
  auto body = ParseJsonObject(ctx.request);
  if (!body.ok()) return Fail(body.status(), ctx);
  JsonReader r(*body);
  r.RejectUnknown({"name", "address"});
  accounts::Office office;
  office.agency = core::AgencyId{*id};
  office.name = r.String("name", true, 1000);
  office.address = r.OptString("address", 2000).value_or("");
  if (auto st = r.Finish(); !st.ok()) return Fail(st, ctx);
  auto created = accounts.CreateOffice(ctx.Who(), office);
  if (!created.ok()) return Fail(created.status(), ctx);
  return JsonResponse(201, OfficeJson(*created));
}

Response ListUsers(accounts::AccountService& accounts, Context& ctx) {
  auto agency = PathAgency(accounts, ctx);
  if (!agency.ok()) return Fail(agency.status(), ctx);
  auto users = accounts.ListUsers(ctx.Who(), *agency);
  if (!users.ok()) return Fail(users.status(), ctx);
  json items = json::array();
  for (const auto& u : *users) items.push_back(UserJson(u));
  return JsonResponse(200, Items(std::move(items)));
}

Response CreateUser(accounts::AccountService& accounts, Context& ctx) {
  auto id = PathId(ctx, "id");
  if (!id.ok()) return Fail(id.status(), ctx);
  auto body = ParseJsonObject(ctx.request);
  if (!body.ok()) return Fail(body.status(), ctx);
  JsonReader r(*body);
  r.RejectUnknown({"username", "display_name", "email", "password", "roles", "office_id", "temporary_password"});
  accounts::NewUser user;
  user.kind = accounts::AccountKind::kStaff;
  user.agency = core::AgencyId{*id};
  user.username = r.String("username", true, 200);
  user.display_name = r.String("display_name", true, 1000);
  user.email = r.OptString("email", 1000).value_or("");
  // Longer than any allowed password, so that the service's length message is the one seen.
  user.password = r.String("password", true, 1024);
  user.roles = ReadRoles(r, "roles");
  if (auto office = r.OptInt("office_id")) user.office = core::OfficeId{*office};
  user.temporary_password = r.OptBool("temporary_password").value_or(false);
  if (auto st = r.Finish(); !st.ok()) return Fail(st, ctx);
  auto created = accounts.CreateUser(ctx.Who(), user);
  if (!created.ok()) return Fail(created.status(), ctx);
  return JsonResponse(201, UserJson(*created));
}

Response ListTokens(accounts::AccountService& accounts, Context& ctx) {
  auto tokens = accounts.ListTokens(ctx.Who());
  if (!tokens.ok()) return Fail(tokens.status(), ctx);
  json items = json::array();
  for (const auto& t : *tokens) items.push_back(TokenJson(t));
  return JsonResponse(200, Items(std::move(items)));
}

Response IssueToken(accounts::AccountService& accounts, Context& ctx) {
  auto body = ParseJsonObject(ctx.request);
  if (!body.ok()) return Fail(body.status(), ctx);
  JsonReader r(*body);
  r.RejectUnknown({"name", "roles", "scopes", "expires_in_days", "requests_per_minute"});
  const std::string name = r.String("name", true, 1000);
  const std::vector<authz::Role> roles = ReadRoles(r, "roles");
  const std::vector<std::string> scopes = ReadStrings(r, "scopes", 50);
  const int64_t asked = r.OptInt("expires_in_days").value_or(365);
  const int days = asked >= 1 && asked <= 730 ? static_cast<int>(asked) : 0;  // 0: refused, naming the field
  const std::optional<int64_t> limit = r.OptInt("requests_per_minute");
  // What could not be read is named with every other mistake, after the caller's right is checked.
  auto issued = accounts.IssueToken(ctx.Who(), name, roles, scopes, days, limit, r.errors());
  if (!issued.ok()) return Fail(issued.status(), ctx);
  json out = TokenJson(issued->token);
  out["secret"] = issued->secret;
  Response resp = JsonResponse(201, out);
  resp.Header("Cache-Control", "no-store");
  return resp;
}

// Changes a token's own request limit; null gives it the deployment's again.
Response UpdateToken(accounts::AccountService& accounts, Context& ctx) {
  auto id = PathId(ctx, "id");
  if (!id.ok()) return Fail(id.status(), ctx);
  auto body = ParseJsonObject(ctx.request);
  if (!body.ok()) return Fail(body.status(), ctx);
  JsonReader r(*body);
  r.RejectUnknown({"requests_per_minute"});
  if (!body->contains("requests_per_minute")) {
    r.Error("requests_per_minute", "is required: a whole number, or null for the deployment's limit");
  }
  const std::optional<int64_t> limit = r.OptInt("requests_per_minute");
  if (auto st = r.Finish(); !st.ok()) return Fail(st, ctx);
  auto token = accounts.SetTokenLimit(ctx.Who(), core::ApiTokenId{*id}, limit);
  if (!token.ok()) return Fail(token.status(), ctx);
  return JsonResponse(200, TokenJson(*token));
}

Response RevokeToken(accounts::AccountService& accounts, Context& ctx) {
  auto id = PathId(ctx, "id");
  if (!id.ok()) return Fail(id.status(), ctx);
  if (auto st = accounts.RevokeToken(ctx.Who(), core::ApiTokenId{*id}); !st.ok()) return Fail(st, ctx);
  return Response{204, {}, ""};
}

// Switches a staff account of the agency in the path off (its sessions end) or on; the account
// as it is then.
Response SetUserActive(accounts::AccountService& accounts, Context& ctx, bool active) {
  auto agency = PathId(ctx, "id");
  if (!agency.ok()) return Fail(agency.status(), ctx);
  auto user_id = PathId(ctx, "user_id");
  if (!user_id.ok()) return Fail(user_id.status(), ctx);
  // Only the agency's own accounts, and only for its administrators (refused and audited).
  auto users = accounts.ListUsers(ctx.Who(), core::AgencyId{*agency});
  if (!users.ok()) return Fail(users.status(), ctx);
  auto it = std::find_if(users->begin(), users->end(), [&](const accounts::User& u) { return u.id.value == *user_id; });
  if (it == users->end()) {
    return Fail(core::Status::NotFound(fmt::format("agency {} has no staff account {}", *agency, *user_id)), ctx);
  }
  if (auto st = accounts.SetUserActive(ctx.Who(), it->id, active); !st.ok()) return Fail(st, ctx);
  auto user = accounts.GetUser(it->id);
  if (!user.ok()) return Fail(user.status(), ctx);
  return JsonResponse(200, UserJson(*user));
}

Response DeactivateUser(accounts::AccountService& accounts, Context& ctx) { return SetUserActive(accounts, ctx, false); }
Response ActivateUser(accounts::AccountService& accounts, Context& ctx) { return SetUserActive(accounts, ctx, true); }

}  // namespace

void AddAccountRoutes(Router& router, accounts::AccountService& accounts) {
  auto with = [&accounts](Response (*handler)(accounts::AccountService&, Context&)) {
    return [&accounts, handler](Context& ctx) { return handler(accounts, ctx); };
  };
  router.Add({"GET", "/api/v1/me", Auth::kApi, "getMe", GetMe, /*defers_writes=*/true});
  router.Add({"GET", "/api/v1/agencies", Auth::kApi, "listAgencies", with(ListAgencies)});
  router.Add({"POST", "/api/v1/agencies", Auth::kApi, "createAgency", with(CreateAgency)});
  router.Add({"GET", "/api/v1/agencies/{id}", Auth::kApi, "getAgency", with(GetAgency)});
  router.Add({"GET", "/api/v1/agencies/{id}/offices", Auth::kApi, "listOffices", with(ListOffices)});
  router.Add({"POST", "/api/v1/agencies/{id}/offices", Auth::kApi, "createOffice", with(CreateOffice)});
  router.Add({"GET", "/api/v1/agencies/{id}/users", Auth::kApi, "listUsers", with(ListUsers)});
  router.Add({"POST", "/api/v1/agencies/{id}/users", Auth::kApi, "createUser", with(CreateUser)});
  router.Add({"POST", "/api/v1/agencies/{id}/users/{user_id}/deactivate", Auth::kApi, "deactivateUser",
              with(DeactivateUser)});
  router.Add({"POST", "/api/v1/agencies/{id}/users/{user_id}/activate", Auth::kApi, "activateUser", with(ActivateUser)});
  router.Add({"GET", "/api/v1/tokens", Auth::kApi, "listTokens", with(ListTokens)});
  router.Add({"POST", "/api/v1/tokens", Auth::kApi, "issueToken", with(IssueToken)});
  router.Add({"PATCH", "/api/v1/tokens/{id}", Auth::kApi, "updateToken", with(UpdateToken)});
  router.Add({"DELETE", "/api/v1/tokens/{id}", Auth::kApi, "revokeToken", with(RevokeToken)});
}

}  // namespace http
