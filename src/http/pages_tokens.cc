// API tokens, for an agency's administrators: the agency's tokens with their roles, scopes, expiry
// and last use (/tokens), issuing one whose secret is shown once (/tokens/new), and revoking one.
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

Response ListPage(const PageDeps& deps, const Context& ctx, const std::string& flash) {
  auto tokens = deps.accounts.ListTokens(ctx.Who());
  if (!tokens.ok()) return ErrorFor(deps, ctx, tokens.status());
  json d = Common(deps, ctx, "API tokens", "tokens");
  json rows = json::array();
  // The newest first.
  for (auto it = tokens->rbegin(); it != tokens->rend(); ++it) {
    const accounts::ApiToken& t = *it;
    std::string roles;
    for (auto r : t.roles) roles += (roles.empty() ? "" : ", ") + std::string(authz::RoleName(r));
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
  auto picked = [&](const std::string& key, const std::string& value) {
    for (auto [it, end] = form.equal_range(key); it != end; ++it) {
      if (it->second == value) return true;
    }
    return false;
  };
  json roles = json::array();
  for (authz::Role r : authz::AllRoles()) {
    const std::string name(authz::RoleName(r));
    roles.push_back({{"value", name}, {"id", "role-" + name}, {"label", name}, {"checked", picked("roles", name)}});
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
    if (field == "expires_in_days") field = "days";
    const std::string message = T(deps, ctx, Capitalised(e.message));
    if (!d.contains("e_" + field)) d["e_" + field] = message;
    const std::string href = field == "roles" ? "role-frontdesk" : field == "scopes" ? "scope-persons-read" : field;
    list.push_back({{"message", message}, {"href", "#" + href}});
  }
  d["errors"] = std::move(list);
  d["has_errors"] = !errors.empty();
  return Render(deps, status, "token_new", d);
}

}  // namespace

void AddTokenPages(Router& router, const PageDeps& deps) {
  router.Add({"GET", "/tokens", Auth::kPage, "", [&deps](Context& ctx) {
                return ListPage(deps, ctx, ctx.request.Query("revoked") == "1" ? T(deps, ctx, "Token revoked") : "");
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
                auto issued = deps.accounts.IssueToken(ctx.Who(), Trim(FormValue(form, "name")), roles, scopes, days);
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

  router.Add({"POST", "/tokens/{id}/revoke", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                core::Status s = deps.accounts.RevokeToken(ctx.Who(), core::ApiTokenId{*id});
                if (!s.ok()) return ErrorFor(deps, ctx, s);
                return Response::Redirect("/tokens?revoked=1");
              }});
}

}  // namespace http
