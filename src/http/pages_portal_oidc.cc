// Signing in to the portal with an OpenID Connect provider (portal/oidc.h):
// /portal/sign-in-with/{id} sends the browser to the provider, with the attempt's state in a
// cookie of its own; /portal/oidc/callback is where the provider sends it back.

#include <fmt/format.h>

#include <map>

#include "http/address_throttle.h"
#include "http/dispatcher.h"
#include "http/page_support.h"
#include "portal/oidc.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::Render;

constexpr char kOidcCookie[] = "onedoor_oidc";

// SameSite=Lax: the browser comes back from the provider's site, a cross-site navigation.
std::string StateCookie(const std::string& state, bool secure) {
  return fmt::format("{}={}; Path=/portal/oidc; HttpOnly; SameSite=Lax; Max-Age={}{}", PathCookieName(kOidcCookie, secure), state,
                     state.empty() ? 0 : 600, secure ? "; Secure" : "");
}

// The page that says why signing in did not work (`problem`, a message with its arguments,
// in the person's language), with the ways on.
Response Problem(const PageDeps& deps, Context& ctx, int status, const std::string& title, const std::string& problem,
                 const std::map<std::string, std::string>& args = {}) {
  json d = Common(deps, ctx, title, "portal");
  d["problem"] = page_support::T(deps, ctx, problem, args);
  Response r = Render(deps, status, "portal_oidc_problem", d);
  r.Header("Set-Cookie", StateCookie("", deps.secure_cookies));
  return r;
}

constexpr char kUnreachable[] =
    "{provider} cannot be reached just now. Try again in a few minutes, or sign in with your e-mail address and "
    "password.";

}  // namespace

void AddPortalOidcPages(Router& router, const PageDeps& deps) {
  if (deps.portal == nullptr || deps.oidc == nullptr) return;

  router.Add({"GET", "/portal/sign-in-with/{id}", Auth::kPublic, "", [&deps](Context& ctx) {
                auto start = deps.oidc->Start(ctx.Param("id"));
                if (start.status().code() == core::StatusCode::kUnavailable) {
                  return Problem(deps, ctx, 503, "Signing in is not possible just now", kUnreachable,
                                 {{"provider", deps.oidc->Find(ctx.Param("id"))->name}});
                }
                if (!start.ok()) return page_support::ErrorFor(deps, ctx, start.status());
                Response r = Response::Redirect(start->redirect);
                r.Header("Set-Cookie", StateCookie(start->state, deps.secure_cookies));
                return r;
              }});

  router.Add({"GET", "/portal/oidc/callback", Auth::kPublic, "", [&deps](Context& ctx) {
                const std::string state = ctx.request.Query("state");
                const std::string browser_state = ctx.request.Cookie(PathCookieName(kOidcCookie, deps.secure_cookies));
                const std::string error = ctx.request.Query("error");
                const bool this_browser = !state.empty() && state == browser_state;
                const std::string provider = this_browser ? deps.oidc->ProviderOf(state) : std::string();
                if (!error.empty()) {
                  // The person cancelled, or the provider refused: the attempt ends here.
                  if (this_browser) deps.oidc->Abandon(state);
                  if (provider.empty()) return Problem(deps, ctx, 401, "You are not signed in", "Signing in did not finish.");
                  return Problem(deps, ctx, 401, "You are not signed in", "Signing in with {provider} did not finish.",
                                 {{"provider", provider}});
                }
                auto done = deps.oidc->Finish(state, browser_state, ctx.request.Query("code"), ctx.request.Query("iss"),
                                              ctx.request.request_id, AddressThrottle::Key(ctx.request.client_address));
                if (!done.ok()) {
                  switch (done.status().code()) {
                    case core::StatusCode::kInvalidArgument:
                      return Problem(deps, ctx, 400, "You are not signed in",
                                     page_support::Capitalised(done.status().message()) + ".");
                    case core::StatusCode::kUnauthenticated:
                      return Problem(deps, ctx, 401, "You are not signed in",
                                     "Signing in with {provider} did not work. Start again, or sign in with your "
                                     "e-mail address and password.",
                                     {{"provider", provider}});
                    case core::StatusCode::kUnavailable:
                      return Problem(deps, ctx, 503, "Signing in is not possible just now", kUnreachable,
                                     {{"provider", provider}});
                    default:
                      return page_support::ErrorFor(deps, ctx, done.status());
                  }
                }
                // The session this browser held before, if any, ends: one sign-in, one session.
                (void)deps.accounts.Logout(ctx.session_id);
                Response r = Response::Redirect(done->new_account ? "/portal?welcome=1" : "/portal");
                r.Header("Set-Cookie", SessionCookie(done->session.session_id, deps.secure_cookies,
                                                     deps.session_max_hours * 3600));
                r.Header("Set-Cookie", StateCookie("", deps.secure_cookies));
                return r;
              }});
}

}  // namespace http
