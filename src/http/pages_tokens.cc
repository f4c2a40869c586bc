// API tokens, for an agency's administrators: the agency's tokens with their roles, scopes, expiry,
// last use and request limit (/tokens), issuing one whose secret is shown once (/tokens/new),
// giving one a request limit of its own (/tokens/{id}/limit), and revoking one.
// Calls accounts::AccountService, which checks the caller is an administrator of the agency and
// audits every issue, revocation and refusal.

#include <algorithm>

#include <fmt/format.h>

#include "http/json_body.h"
#include "http/page_support.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Capitalised;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;
using page_support::T;
using page_support::Trim;
using Form = std::multimap<std::string, std::string>;

std::string Day(core::Timestamp t) { return t.ToRfc3339().substr(0, 10); }

// A token's request limit as the list shows it.
std::string LimitText(const PageDeps& deps, const Context& ctx, std::optional<int> own) {
  const int deployment = deps.accounts.DeploymentTokenLimit();
  if (!own) {
    if (deployment <= 0) return T(deps, ctx, "No limit (the deployment's)");
    return T(deps, ctx, "{n} (the deployment's)", {{"n", std::to_string(deployment)}});
  }
  if (*own == 0) return T(deps, ctx, "No limit");
  return std::to_string(*own);
}

// The limit field of a form: empty for the deployment's, else digits (anything else is sent on
// as -1, which the service refuses, naming the field).
std::optional<int64_t> FormLimit(const Form& form) {
  const std::string text = Trim(FormValue(form, "limit"));
  if (text.empty()) return std::nullopt;
  if (text.size() > 10 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::stoll(text);
}

// The error shown for a limit the service refused (its message names the same bounds).
std::string LimitError(const PageDeps& deps, const Context& ctx) {
  const int deployment = deps.accounts.DeploymentTokenLimit();
  return T(deps, ctx, "Enter a whole number of requests a minute from 1 to {n}, or leave it empty",
           {{"n", std::to_string(deployment > 0 ? deployment : 1'000'000'000)}});
}

std::string LimitHint(const PageDeps& deps, const Context& ctx) {
  const int deployment = deps.accounts.DeploymentTokenLimit();
  if (deployment <= 0) return T(deps, ctx, "Leave empty for no limit, as the deployment has none.");
  return T(deps, ctx,
           "Leave empty for the deployment's limit, {n} a minute. A lower one keeps a runaway system from taking more than its share.",
           {{"n", std::to_string(deployment)}});
}

Response ListPage(const PageDeps& deps, const Context& ctx, const std::string& flash) {
  auto tokens = deps.accounts.ListTokens(ctx.Who());
  if (!tokens.ok()) return ErrorFor(deps, ctx, tokens.status());
  json d = Common(deps, ctx, "API tokens", "tokens");
  json rows = json::array();
  // The newest first.
  for (auto it = tokens->rbegin(); it != tokens->rend(); ++it) {
    const accounts::ApiToken& t = *it;
    std::string roles;
    for (auto r : t.roles)
      roles += (roles.empty() ? "" : ", ") + page_support::RoleLabel(deps, ctx, r);
    std::string scopes;
    for (const auto& s : t.scopes) scopes += (scopes.empty() ? "" : ", ") + s;
    const bool revoked = t.revoked_at.has_value();
    const bool expired = !revoked && t.expired;
    std::string state = T(deps, ctx, "Active");
    std::string tag = "govuk-tag--green";
    if (revoked) {
      state = T(deps, ctx, "Revoked {day}", {{"day", Day(*t.revoked_at)}});
      tag = "govuk-tag--grey";
    } else if (expired) {
      state = T(deps, ctx, "Expired");
      tag = "govuk-tag--grey";
    }
    rows.push_back({{"id", t.id.value},
                    {"name", t.name},
                    {"roles", roles},
                    {"scopes", scopes},
                    {"created", Day(t.created_at)},
                    {"expires", t.expires_at ? Day(*t.expires_at) : T(deps, ctx, "Never")},
                    {"last_used", t.last_used_at ? Day(*t.last_used_at) : T(deps, ctx, "Not yet")},
                    {"state", state},
                    {"state_tag", tag},
                    {"limit", LimitText(deps, ctx, t.requests_per_minute)},
                    {"limit_href", fmt::format("/tokens/{}/limit", t.id.value)},
                    {"may_revoke", !revoked && !expired},
                    {"revoke_href", fmt::format("/tokens/{}/revoke", t.id.value)}});
  }
  d["tokens"] = std::move(rows);
  d["has_tokens"] = !tokens->empty();
  if (!flash.empty()) d["flash"] = flash;
  return Render(deps, 200, "tokens", d);
}

Response NewPage(const PageDeps& deps, const Context& ctx, int status, const Form& form,
                 const std::vector<core::FieldError>& errors) {
  // Only an administrator of an agency: the same check as the list, audited when refused.
  auto tokens = deps.accounts.ListTokens(ctx.Who());
  if (!tokens.ok()) return ErrorFor(deps, ctx, tokens.status());
  json d = Common(deps, ctx, "Issue an API token", "tokens");
  d["f_name"] = FormValue(form, "name");
  d["f_days"] = form.count("days") ? FormValue(form, "days") : "365";
  d["f_limit"] = FormValue(form, "limit");
  d["limit_hint"] = LimitHint(deps, ctx);
  auto picked = [&](const std::string& key, const std::string& value) {
    for (auto [it, end] = form.equal_range(key); it != end; ++it) {
      if (it->second == value) return true;
    }
    return false;
  };
  json roles = json::array();
  for (authz::Role r : authz::AllRoles()) {
    // Governance decides agreements as a person, never as a system: not offered.
    if (r == authz::Role::kGovernance) continue;
    const std::string name(authz::RoleName(r));
    roles.push_back({{"value", name},
                     {"id", "role-" + name},
                     {"label", page_support::RoleLabel(deps, ctx, r)},
                     {"checked", picked("roles", name)}});
  }
  d["roles"] = std::move(roles);
  json scopes = json::array();
  for (const auto& s : accounts::KnownScopes()) {
    std::string id = "scope-" + s;
    std::replace(id.begin(), id.end(), ':', '-');
    scopes.push_back({{"value", s}, {"id", id}, {"label", s}, {"checked", picked("scopes", s)}});
  }
  d["scopes"] = std::move(scopes);
  json list = json::array();
  for (const auto& e : errors) {
    std::string field = e.field;
    if (field.rfind("scopes", 0) == 0) field = "scopes";
    if (field.rfind("roles", 0) == 0) field = "roles";
    if (field == "expires_in_days") field = "days";
    if (field == "requests_per_minute") field = "limit";
    const std::string message = field == "limit" ? LimitError(deps, ctx) : T(deps, ctx, Capitalised(e.message));
    if (!d.contains("e_" + field)) d["e_" + field] = message;
    const std::string href = field == "roles" ? "role-frontdesk" : field == "scopes" ? "scope-persons-read" : field;
    list.push_back({{"message", message}, {"href", "#" + href}});
  }
  d["errors"] = std::move(list);
  d["has_errors"] = !errors.empty();
  return Render(deps, status, "token_new", d);
}

// The form that gives a token its own request limit, or the deployment's again.
Response LimitPage(const PageDeps& deps, const Context& ctx, int64_t id, int status, const std::string& value,
                   const std::string& error) {
  auto tokens = deps.accounts.ListTokens(ctx.Who());
  if (!tokens.ok()) return ErrorFor(deps, ctx, tokens.status());
  auto it = std::find_if(tokens->begin(), tokens->end(), [&](const accounts::ApiToken& t) { return t.id.value == id; });
  if (it == tokens->end()) return ErrorFor(deps, ctx, core::Status::NotFound(fmt::format("no API token has id {}", id)));
  json d = Common(deps, ctx, "Change a token's request limit", "tokens");
  d["name"] = it->name;
  d["action"] = fmt::format("/tokens/{}/limit", id);
  d["current"] = LimitText(deps, ctx, it->requests_per_minute);
  d["f_limit"] = status == 200 ? (it->requests_per_minute ? std::to_string(*it->requests_per_minute) : "") : value;
  d["limit_hint"] = LimitHint(deps, ctx);
  if (!error.empty()) {
    d["e_limit"] = error;
    d["errors"] = json::array({{{"message", error}, {"href", "#limit"}}});
    d["has_errors"] = true;
  }
  return Render(deps, status, "token_limit", d);
}

}  // namespace

void AddTokenPages(Router& router, const PageDeps& deps) {
  router.Add({"GET", "/tokens", Auth::kPage, "", [&deps](Context& ctx) {
                std::string flash;
                if (ctx.request.Query("revoked") == "1") flash = T(deps, ctx, "Token revoked");
                if (ctx.request.Query("limit") == "1") flash = T(deps, ctx, "Request limit changed");
                return ListPage(deps, ctx, flash);
              }});

  router.Add({"GET", "/tokens/new", Auth::kPage, "", [&deps](Context& ctx) { return NewPage(deps, ctx, 200, {}, {}); }});

  router.Add({"POST", "/tokens", Auth::kPage, "", [&deps](Context& ctx) {
                const Form form = ParseForm(ctx.request.body);
                std::vector<authz::Role> roles;
                for (auto [it, end] = form.equal_range("roles"); it != end; ++it) {
                  if (auto r = authz::ParseRole(it->second); r.ok()) roles.push_back(*r);
                }
                std::vector<std::string> scopes;
                for (auto [it, end] = form.equal_range("scopes"); it != end; ++it) scopes.push_back(it->second);
                const std::string days_text = Trim(FormValue(form, "days"));
                int days = 0;
                if (!days_text.empty() && days_text.size() <= 4 &&
                    std::all_of(days_text.begin(), days_text.end(), ::isdigit)) {
                  days = std::stoi(days_text);
                }
                auto issued = deps.accounts.IssueToken(ctx.Who(), Trim(FormValue(form, "name")), roles, scopes, days,
                                                       FormLimit(form));
                if (issued.status().code() == core::StatusCode::kInvalidArgument) {
                  return NewPage(deps, ctx, 400, form, issued.status().fields());
                }
                if (!issued.ok()) return ErrorFor(deps, ctx, issued.status());
                // The secret is shown on this answer only: it is stored as a hash.
                json d = Common(deps, ctx, "Token issued", "tokens");
                d["name"] = issued->token.name;
                d["secret"] = issued->secret;
                d["expires"] = issued->token.expires_at ? Day(*issued->token.expires_at) : "";
                return Render(deps, 201, "token_issued", d);
              }});

  router.Add({"GET", "/tokens/{id}/limit", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                return LimitPage(deps, ctx, *id, 200, "", "");
              }});

  router.Add({"POST", "/tokens/{id}/limit", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                const Form form = ParseForm(ctx.request.body);
                auto changed = deps.accounts.SetTokenLimit(ctx.Who(), core::ApiTokenId{*id}, FormLimit(form));
                if (changed.status().code() == core::StatusCode::kInvalidArgument && !changed.status().fields().empty()) {
                  return LimitPage(deps, ctx, *id, 400, FormValue(form, "limit"), LimitError(deps, ctx));
                }
                if (!changed.ok()) return ErrorFor(deps, ctx, changed.status());
                return Response::Redirect("/tokens?limit=1");
              }});

  router.Add({"POST", "/tokens/{id}/revoke", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                core::Status s = deps.accounts.RevokeToken(ctx.Who(), core::ApiTokenId{*id});
                if (!s.ok()) return ErrorFor(deps, ctx, s);
                return Response::Redirect("/tokens?revoked=1");
              }});
}

}  // namespace http
