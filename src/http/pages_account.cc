// An account's own sessions, for staff and portal accounts alike: where the account is signed in
// (/account/sessions), with a form to sign out of one of them or of all the others. Calls
// accounts::AccountService.

#include <fmt/format.h>

#include "http/page_support.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::Render;
using page_support::T;

Response SessionsPage(const PageDeps& deps, Context& ctx, int status, const std::string& flash,
                      const std::string& error) {
  auto sessions = deps.accounts.ListOwnSessions(ctx.Who(), ctx.session_id);
  if (!sessions.ok()) return ErrorFor(deps, ctx, sessions.status());
  json d = Common(deps, ctx, "Where you are signed in",
                  ctx.Who().kind == authz::PrincipalKind::kCitizen ? "portal" : "");
  json rows = json::array();
  int others = 0;
  for (const auto& s : *sessions) {
    const BrowserDescription b = DescribeUserAgent(s.user_agent);
    std::string device;
    if (!b.browser.empty() && !b.system.empty()) {
      device = T(deps, ctx, "{browser} on {system}", {{"browser", b.browser}, {"system", b.system}});
    } else if (!b.browser.empty() || !b.system.empty()) {
      device = b.browser.empty() ? b.system : b.browser;
    } else {
      device = T(deps, ctx, "An unknown browser");
    }
    rows.push_back({{"ref", s.ref},
                    {"device", device},
                    {"user_agent", s.user_agent},
                    {"address", s.client_address.empty() ? T(deps, ctx, "Not yet known") : s.client_address},
                    {"signed_in", page_support::RegionTime(deps, s.created_at)},
                    {"last_used", page_support::RegionTime(deps, s.last_seen_at)},
                    {"current", s.current},
                    {"end_href", fmt::format("/account/sessions/{}/end", s.ref)}});
    if (!s.current) ++others;
  }
  d["sessions"] = std::move(rows);
  d["has_others"] = others > 0;
  d["back_href"] = ctx.Who().kind == authz::PrincipalKind::kCitizen ? "/portal" : "/";
  if (!flash.empty()) d["flash"] = flash;
  if (!error.empty()) {
    d["has_errors"] = true;
    d["errors"] = json::array({{{"message", error}, {"href", "#sessions"}}});
  }
  return Render(deps, status, "account_sessions", d);
}

}  // namespace

BrowserDescription DescribeUserAgent(std::string_view agent) {
  auto has = [&](std::string_view s) { return agent.find(s) != std::string_view::npos; };
  BrowserDescription out;
  // The order matters: Edge and Opera say Chrome too, Chrome says Safari, and so on.
  if (has("Edg/") || has("EdgA/") || has("EdgiOS/")) {
    out.browser = "Edge";
  } else if (has("OPR/") || has("Opera")) {
    out.browser = "Opera";
  } else if (has("SamsungBrowser/")) {
    out.browser = "Samsung Internet";
  } else if (has("Firefox/") || has("FxiOS/")) {
    out.browser = "Firefox";
  } else if (has("Chromium/")) {
    out.browser = "Chromium";
  } else if (has("Chrome/") || has("CriOS/")) {
    out.browser = "Chrome";
  } else if (has("Safari/") && has("Version/")) {
    out.browser = "Safari";
  } else if (agent.starts_with("curl/")) {
    out.browser = "curl";
  }
  if (has("iPhone") || has("iPad") || has("iPod")) {
    out.system = "iOS";
  } else if (has("Android")) {
    out.system = "Android";
  } else if (has("Windows")) {
    out.system = "Windows";
  } else if (has("CrOS")) {
    out.system = "ChromeOS";
  } else if (has("Mac OS X") || has("Macintosh")) {
    out.system = "macOS";
  } else if (has("Linux")) {
    out.system = "Linux";
  }
  return out;
}

void AddAccountPages(Router& router, const PageDeps& deps) {
  router.Add({"GET", "/account/sessions", Auth::kPage, "", [&deps](Context& ctx) {
                std::string flash;
                if (ctx.request.Query("ended") == "1") flash = T(deps, ctx, "You are signed out there");
                if (auto n = ctx.request.Query("ended_others"); !n.empty()) {
                  flash = T(deps, ctx, "{count, plural, =0 {You were signed in nowhere else} one {You are signed out "
                                       "of # other session} other {You are signed out of # other sessions}}",
                            {{"count", n}});
                }
                return SessionsPage(deps, ctx, 200, flash, "");
              }});

  router.Add({"POST", "/account/sessions/{ref}/end", Auth::kPage, "", [&deps](Context& ctx) {
                core::Status s = deps.accounts.EndOwnSession(ctx.Who(), ctx.Param("ref"), ctx.session_id);
                if (s.code() == core::StatusCode::kNotFound || s.code() == core::StatusCode::kFailedPrecondition) {
                  return SessionsPage(deps, ctx, s.code() == core::StatusCode::kNotFound ? 404 : 409, "",
                                      T(deps, ctx, page_support::Capitalised(s.message())));
                }
                if (!s.ok()) return ErrorFor(deps, ctx, s);
                return Response::Redirect("/account/sessions?ended=1");
              }});

  router.Add({"POST", "/account/sessions/end-others", Auth::kPage, "", [&deps](Context& ctx) {
                auto n = deps.accounts.EndOtherSessions(ctx.Who(), ctx.session_id);
                if (!n.ok()) return ErrorFor(deps, ctx, n.status());
                return Response::Redirect(fmt::format("/account/sessions?ended_others={}", *n));
              }});
}

}  // namespace http
