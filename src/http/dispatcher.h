#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "accounts/account_service.h"
#include "http/caller_limit.h"
#include "http/metrics.h"
#include "http/router.h"
#include "storage/database.h"

namespace http {

// The session cookie's name. Sent only over TLS (secure_cookies, the default), it carries the
// __Host- prefix, so that browsers take it only from this host, over HTTPS, for every path, and
// never from a sibling subdomain; without TLS (local development, tests) the plain name.
inline constexpr char kSessionCookie[] = "onedoor_session";
inline constexpr char kHostSessionCookie[] = "__Host-onedoor_session";
inline const char* SessionCookieName(bool secure) { return secure ? kHostSessionCookie : kSessionCookie; }
// The name of a short-lived cookie limited to one path (a form's CSRF token, a sign-in's state):
// over TLS with the __Secure- prefix, so that browsers take it only over HTTPS.
inline std::string PathCookieName(std::string_view name, bool secure) {
  return secure ? "__Secure-" + std::string(name) : std::string(name);
}

struct DispatcherOptions {
  bool secure_cookies = true;
  size_t max_body_bytes = 1 << 20;
  // Served behind TLS (public_url starts with https://): every response says
  // Strict-Transport-Security, so that browsers never come back over plain HTTP.
  bool hsts = false;
  // The reverse proxies whose X-Forwarded-For names the client (Request::client_address).
  std::vector<std::string> trusted_proxies;
  // The database, when it can take a write without the caller waiting for it
  // (storage::Database::CanSubmit); null otherwise. When set, a request to a route that defers
  // its writes makes all its reads (the token's, the handler's) in one read snapshot of it, one
  // transaction instead of several (within it, the request's own writes would not be seen),
  // and, made with an API token, is answered on the I/O thread that read it (RunsInline).
  storage::Database* deferring_db = nullptr;
  // The limit on each signed-in caller's requests to API routes and pages (429 beyond it);
  // null: none.
  CallerLimit* caller_limit = nullptr;
  // The query parameters each API operation takes, by operationId (QueryParameters of the
  // OpenAPI document): a request to one of them that names another is refused with a 400 that
  // names it, as an unknown member of a body is. Operations not listed are not checked.
  std::map<std::string, std::vector<std::string>> query_parameters;
};

// Renders an HTML error page for browser routes.
using ErrorPage = std::function<Response(int status, const std::string& heading, const std::string& message,
                                         const Context& ctx)>;

// Turns a Request into a Response: request id, route match (404/405), authentication by
// API token or session, CSRF checks on every state-changing request made with a session,
// the handler, security headers, metrics and a JSON access-log line (no personal data).
// Thread-safe.
class Dispatcher {
 public:
  Dispatcher(const Router& router, accounts::AccountService& accounts, Metrics& metrics, DispatcherOptions options,
             ErrorPage error_page);
  // The answer; if its after_commit is not empty, the caller sends it once those writes are
  // durable (what its if_failed makes of the error otherwise), calling its `sent` first.
  Response Handle(Request& request);
  // Whether `request` may be handled on the thread that read it, which must never wait: a
  // route that defers its writes, called with an API token (a session's use is written at once).
  bool RunsInline(const Request& request) const;

 private:
  Response Dispatch(Request& request, std::string& route_name, std::optional<storage::DeferScope>& defer);
  // Authenticates the caller of `route` and runs its handler.
  Response Run(Request& request, const Route& route, Context& ctx);

  const Router& router_;
  accounts::AccountService& accounts_;
  Metrics& metrics_;
  DispatcherOptions options_;
  ErrorPage error_page_;
};

// A Set-Cookie value for the session cookie; empty `value` clears it.
std::string SessionCookie(const std::string& value, bool secure, int max_age_seconds);

}  // namespace http
