#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "access/principal.h"
#include "http/request.h"

namespace http {

// How a route authenticates its caller.
enum class Auth {
  kPublic,  // no principal needed
  kPage,    // a signed-in session; unauthenticated browsers are sent to /login
  kApi,     // a bearer API token, or a session cookie with the X-CSRF-Token header on writes
};

struct Context {
  const Request& request;
  std::map<std::string, std::string> params;  // from the route pattern: {id} -> "12"
  std::optional<authz::Principal> principal;
  std::string csrf_token;  // of the session, for forms
  std::string session_id;  // raw session cookie value when signed in by a session

  const std::string& Param(const std::string& name) const;
  const authz::Principal& Who() const { return *principal; }
};

using Handler = std::function<Response(Context&)>;

struct Route {
  std::string method;   // GET, POST, PUT, PATCH, DELETE
  std::string pattern;  // "/api/v1/persons/{id}"
  Auth auth = Auth::kApi;
  std::string operation_id;  // OpenAPI operationId for API routes
  Handler handler;
  // The handler never waits for a write: it reads, and its writes are audit entries deferred
  // (storage::WriteOrDefer), its answer held back until they are durable. Such a route may run
  // on an I/O thread (Dispatcher::RunsInline) instead of a worker.
  bool defers_writes = false;
  // The roles that may make this request at all (any one of them), for an API route: a member of
  // staff or a system with none of them is refused (403) whatever the request says, a request
  // that is not valid too (its 400 becomes a 403), so that it is not sent to mend a request it
  // may never make; so is a person signed in to the portal, who has no role, unless
  // `people_too`. Empty: no such check. The handler's service decides everything else (scopes,
  // purpose, the record).
  // Set from the table of http/operation_roles.h.
  std::vector<authz::Role> roles;
  // People signed in to the portal may make this request too (about themselves; their service
  // decides): they have no role, and `roles` does not refuse them. Set with `roles`.
  bool people_too = false;
};

struct Match {
  const Route* route = nullptr;
  std::map<std::string, std::string> params;
  bool path_exists = false;     // some route has this path with another method (405)
  std::vector<std::string> allowed;  // those methods, for the Allow header
};

// Routes by method and path pattern. Segments in braces match one path segment. Find takes the
// path as sent (percent-encoded) and decodes each segment after splitting it at "/", so a
// parameter may hold an encoded slash.
// Not thread-safe while routes are added; read-only use afterwards is.
class Router {
 public:
  void Add(Route route);
  Match Find(const std::string& method, const std::string& path) const;
  const std::vector<Route>& routes() const { return routes_; }
  // The route with this operationId, or null; for setting its roles before serving.
  Route* FindOperation(std::string_view operation_id);

 private:
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> patterns_;  // each route's pattern split at "/", as Add made it
};

}  // namespace http
