#include "http/dispatcher.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>

#include "access/access_gate.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/utf8.h"
#include "http/address_throttle.h"
#include "http/json_body.h"
#include "http/multipart.h"
#include "http/problem.h"

namespace http {
namespace {

// The token of an `Authorization: Bearer TOKEN` header; the scheme's name in any case (RFC 9110,
// 11.1).
std::optional<std::string> BearerToken(const Request& request) {
  auto header = request.Header("authorization");
  constexpr std::string_view kScheme = "bearer ";
  if (!header || header->size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>((*header)[i])) != kScheme[i]) return std::nullopt;
  }
  const size_t start = header->find_first_not_of(' ', kScheme.size());
  if (start == std::string::npos) return std::nullopt;
  return header->substr(start);
}

// The first part of the request that is not UTF-8 once decoded (the path, a query parameter, a
// field of a form), by name; nullopt if there is none. Files sent with a form are not text.
std::optional<std::string> NotUtf8(const Request& request) {
  if (!core::IsValidUtf8(request.path)) return "path";
  for (const auto& [name, value] : request.query) {
    if (!core::IsValidUtf8(name) || !core::IsValidUtf8(value))
      return core::IsValidUtf8(name) ? name : "query";
  }
  auto type = request.Header("content-type");
  if (request.body.empty() || !type) return std::nullopt;
  if (type->rfind("application/x-www-form-urlencoded", 0) == 0) {
    for (const auto& [name, value] : ParseForm(request.body)) {
      if (!core::IsValidUtf8(name) || !core::IsValidUtf8(value))
        return core::IsValidUtf8(name) ? name : "form";
    }
  } else if (auto parts = ParseMultipartForm(request)) {
    for (const auto& [name, part] : *parts) {
      if (!core::IsValidUtf8(name)) return "form";
      if (part.file_name.empty() ? !core::IsValidUtf8(part.value)
                                 : !core::IsValidUtf8(part.file_name))
        return name;
    }
  }
  return std::nullopt;
}

bool IsSafe(const std::string& method) { return method == "GET" || method == "HEAD" || method == "OPTIONS"; }

const std::string& RoutedPath(const Request& request) {
  return request.raw_path.empty() ? request.path : request.raw_path;
}

bool IsApiPath(const std::string& path) { return path.rfind("/api/", 0) == 0; }

// Where a session is used from, kept with it for its owner to see.
accounts::SessionUse UseOf(const Request& request) {
  return {request.client_address, std::string(request.Header("user-agent").value_or(""))};
}

// Why a 403 response refused: the problem's detail, or a plain sentence for a page.
std::string RefusalReason(const Response& r) {
  auto type = r.FindHeader("Content-Type");
  if (type && type->rfind("application/problem+json", 0) == 0) {
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    if (body.is_object() && body.contains("detail") && body["detail"].is_string()) {
      return body["detail"].get<std::string>();
    }
  }
  return r.status == 404 ? "the page found nothing the caller may see" : "the page refused the request";
}

std::string NewRequestId(const Request& r) {
  if (auto given = r.Header("x-request-id")) {
    bool sane = !given->empty() && given->size() <= 64;
    for (char c : *given) sane = sane && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
    if (sane) return *given;
  }
  return core::RandomId(12);
}

void AddSecurityHeaders(Response& r, const std::string& request_id, bool hsts) {
  r.Header("X-Request-Id", request_id);
  if (hsts) r.Header("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  r.Header("X-Content-Type-Options", "nosniff");
  r.Header("Referrer-Policy", "same-origin");
  if (!r.FindHeader("Cache-Control")) r.Header("Cache-Control", "no-store");
  auto type = r.FindHeader("Content-Type");
  if (type && type->rfind("text/html", 0) == 0) {
    r.Header("Content-Security-Policy",
             "default-src 'self'; img-src 'self' data:; style-src 'self'; "
             "script-src 'self' 'sha256-BSFHeLq2GNduzzYVqB9l3la5g84OY4mdD1SQ2Lb9g4A='; "
             "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
    r.Header("X-Frame-Options", "DENY");
  } else {
    // Not a page: nothing in it may run or be framed, should a browser ever render it.
    r.Header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  }
}

}  // namespace

std::string SessionCookie(const std::string& value, bool secure, int max_age_seconds) {
  return fmt::format("{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}", SessionCookieName(secure), value,
                     value.empty() ? 0 : max_age_seconds, secure ? "; Secure" : "");
}

Dispatcher::Dispatcher(const Router& router, accounts::AccountService& accounts, Metrics& metrics,
                       DispatcherOptions options, ErrorPage error_page)
    : router_(router), accounts_(accounts), metrics_(metrics), options_(options), error_page_(std::move(error_page)) {}

Response Dispatcher::Handle(Request& request) {
  const auto start = std::chrono::steady_clock::now();
  request.request_id = NewRequestId(request);
  const std::optional<std::string> forwarded = request.Header("x-forwarded-for");
  request.client_address = ClientAddress(request.remote_ip, forwarded ? &*forwarded : nullptr, options_.trusted_proxies);
  std::string route_name = "unmatched";
  Response response;
  {
    std::optional<storage::DeferScope> defer;
    try {
      response = Dispatch(request, route_name, defer);
    } catch (const std::exception& e) {
      core::LogError("handler failed", {{"request_id", request.request_id}, {"route", route_name}, {"what", e.what()}});
      response = Problem(core::Status::Internal("unexpected error"), request.request_id);
    }
    if (defer) response.after_commit = defer->Take();
  }
  response.head = request.method == "HEAD";
  AddSecurityHeaders(response, request.request_id, options_.hsts);
  // Metrics and the access log as the answer goes out: for one held back for its audit entries,
  // after their commit, so that the latency is what the caller waited.
  response.sent = [this, start, method = request.method, route_name, request_id = request.request_id](int status) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metrics_.ObserveRequest(method, route_name, status, seconds);
    if (route_name == "/healthz" || route_name == "/readyz" || route_name == "/metrics" || route_name == "static") {
      return;
    }
    // Input refused as invalid (400, 413) shows at info, so that someone probing the checks is
    // seen without debug logging: the route and status only, never what was sent.
    const bool invalid = status == 400 || status == 413;
    const core::LogLevel level = status >= 500 ? core::LogLevel::kError
                                 : invalid     ? core::LogLevel::kInfo
                                               : core::LogLevel::kDebug;
    if (!core::LogEnabled(level)) return;
    core::Log(level, "request",
              {{"request_id", request_id},
               {"method", method},
               {"route", route_name},
               {"status", std::to_string(status)},
               {"ms", fmt::format("{:.2f}", seconds * 1000)}});
  };
  if (!response.after_commit.empty()) {
    response.if_failed = [request_id = request.request_id, hsts = options_.hsts,
                          head = response.head](const core::Status& error) {
      Response r = Problem(error, request_id);
      r.head = head;
      AddSecurityHeaders(r, request_id, hsts);
      return r;
    };
  }
  return response;
}

bool Dispatcher::RunsInline(const Request& request) const {
  if (options_.deferring_db == nullptr) return false;
  if (!BearerToken(request)) return false;
  const Match match =
      router_.Find(request.method == "HEAD" ? "GET" : request.method, RoutedPath(request));
  return match.route != nullptr && match.route->defers_writes;
}

Response Dispatcher::Dispatch(Request& request, std::string& route_name, std::optional<storage::DeferScope>& defer) {
  const bool api = IsApiPath(request.path);
  std::string method = request.method == "HEAD" ? "GET" : request.method;
  Match match = router_.Find(method, RoutedPath(request));
  Context ctx{request, std::move(match.params), std::nullopt, "", ""};
  if (request.body.size() > options_.max_body_bytes) {
    if (match.route != nullptr) route_name = match.route->pattern;  // for the log line
    if (!api) {
      // A form in a browser: a page that says what happened, not a machine's answer.
      return error_page_(413, "The form was too large to send",
                         "The file or text sent with the form was larger than this service accepts. Go back, choose "
                         "a smaller file, and send the form again.",
                         ctx);
    }
    return Problem(core::Status::InvalidArgument(fmt::format(
                       "the request body is too large: at most {} bytes are accepted", options_.max_body_bytes)),
                   request.request_id, 413);
  }
  if (match.route == nullptr) {
    if (match.path_exists) {
      Response r = Problem(core::Status(core::StatusCode::kInvalidArgument, "this method is not allowed on this path"),
                           request.request_id, 405);
      std::string allow;
      for (const auto& m : match.allowed) allow += (allow.empty() ? "" : ", ") + m;
      r.Header("Allow", allow);
      return r;
    }
    if (api) return Problem(core::Status::NotFound("no such API endpoint"), request.request_id);
    return error_page_(404, "Page not found", "If you typed the web address, check it is correct.", ctx);
  }
  const Route& route = *match.route;
  if (std::optional<std::string> where = NotUtf8(request)) {
    route_name = route.pattern;
    if (!api) {
      return error_page_(
          400, "The form could not be read",
          "Some of what was sent is not text this service can read. Go back, retype what you "
          "pasted, and send the form again.",
          ctx);
    }
    return Problem(core::Status::InvalidArgument("the request is not valid",
                                                 {{*where, "must be text in UTF-8"}}),
                   request.request_id);
  }
  route_name = route.pattern.rfind("/static/", 0) == 0 || route.pattern.rfind("/assets/", 0) == 0 ? "static"
                                                                                                    : route.pattern;
  // The API and the Open Referral (HSDS) endpoints refuse a query parameter they do not take:
  // a misspelt filter would otherwise be ignored and every item answered.
  if ((api || request.path.rfind("/hsds/", 0) == 0) && !request.query.empty()) {
    if (auto taken = options_.query_parameters.find(route.operation_id);
        taken != options_.query_parameters.end()) {
      std::vector<core::FieldError> unknown;
      const std::vector<std::string>& names = taken->second;
      for (auto it = request.query.begin(); it != request.query.end();
           it = request.query.upper_bound(it->first)) {
        if (std::binary_search(names.begin(), names.end(), it->first)) {
          // Given twice (`?after=14&after=0`), which one counts would be a guess: a feed's cursor
          // could skip what it should deliver.
          if (const size_t n = request.query.count(it->first); n > 1) {
            unknown.push_back({it->first, fmt::format("is given {} times: give it once", n)});
          }
          continue;
        }
        std::string takes = "this endpoint takes no query parameters";
        if (!names.empty()) {
          takes = "not a query parameter of this endpoint; it takes ";
          for (size_t i = 0; i < names.size(); ++i) takes += (i == 0 ? "" : ", ") + names[i];
        }
        unknown.push_back(
            {it->first.size() > 64 ? it->first.substr(0, 64) : it->first, std::move(takes)});
      }
      if (!unknown.empty()) {
        return Problem(
            core::Status::InvalidArgument(
                "the request names a query parameter this endpoint does not take, or one twice",
                std::move(unknown)),
            request.request_id);
      }
    }
  }
  if (!route.defers_writes) return Run(request, route, ctx);
  // From here on, this request's audit entries are deferred: the answer waits for them instead
  // of the thread (the token's check and refusals included).
  defer.emplace();
  if (options_.deferring_db == nullptr) return Run(request, route, ctx);
  // Its reads (the token's and the handler's) share one snapshot.
  Response r;
  core::Status read = options_.deferring_db->Read([&](storage::Transaction&) {
    r = Run(request, route, ctx);
    return core::Status::Ok();
  });
  if (!read.ok()) return Problem(read, request.request_id);
  return r;
}

Response Dispatcher::Run(Request& request, const Route& route, Context& ctx) {
  // Authentication.
  const std::string session_cookie = request.Cookie(SessionCookieName(options_.secure_cookies));
  if (route.auth == Auth::kApi) {
    if (const std::optional<std::string> bearer = BearerToken(request)) {
      authz::Purpose purpose = authz::Purpose::kServiceDelivery;
      if (auto p = request.Header("x-purpose")) {
        auto parsed = authz::ParsePurpose(*p);
        if (!parsed.ok()) {
          return Problem(core::Status::InvalidArgument("the X-Purpose header is not valid", {{"X-Purpose", parsed.status().message()}}),
                         request.request_id);
        }
        purpose = *parsed;
      }
      auto principal = accounts_.AuthenticateToken(*bearer, purpose, request.request_id);
      if (!principal.ok()) {
        Response r = Problem(principal.status(), request.request_id);
        r.Header("WWW-Authenticate", "Bearer");
        return r;
      }
      ctx.principal = std::move(principal).value();
      ctx.principal->client_address = request.client_address;  // for its audit entries
    } else if (!session_cookie.empty()) {
      auto session = accounts_.AuthenticateSession(session_cookie, request.request_id, UseOf(request));
      if (!session.ok()) return Problem(session.status(), request.request_id);
      if (session->password_change_required) {
        accounts_.AuditRefusedRequest(session->principal, request.method, route.pattern,
                                      "the account has a temporary password to change first");
        return Problem(core::Status::PermissionDenied(
                           "this account signed in with a temporary password: choose your own on "
                           "/account/password first"),
                       request.request_id);
      }
      if (!IsSafe(request.method)) {
        auto token = request.Header("x-csrf-token");
        if (!token || !core::ConstantTimeEquals(*token, session->csrf_token)) {
          accounts_.AuditRefusedRequest(session->principal, request.method, route.pattern,
                                        "the X-CSRF-Token header was missing or wrong");
          return Problem(core::Status::PermissionDenied(
                             "a request signed in by a session cookie must carry the X-CSRF-Token header"),
                         request.request_id);
        }
      }
      ctx.principal = std::move(session->principal);
      ctx.csrf_token = session->csrf_token;
      ctx.session_id = session_cookie;
    } else {
      Response r = Problem(core::Status::Unauthenticated("sign in or send an API token (Authorization: Bearer ...)"),
                           request.request_id);
      r.Header("WWW-Authenticate", "Bearer");
      return r;
    }
    // Break-glass: an emergency access, justified in the header, flagged by the gate and
    // queued for review wherever it opened data.
    if (auto glass = request.Header("x-break-glass")) {
      const std::string justification = std::string(*glass);
      if (justification.size() < 10 || justification.size() > 500) {
        return Problem(core::Status::InvalidArgument(
                           "the X-Break-Glass header is not valid",
                           {{"X-Break-Glass", "give the reason for the emergency access in 10 to 500 characters"}}),
                       request.request_id);
      }
      if (!authz::HasCaseworkRole(*ctx.principal)) {
        // The person it was asked for sees the attempt in their access log, with its reason.
        std::optional<core::PersonId> about;
        if (route.pattern.rfind("/api/v1/persons/{", 0) == 0) {
          const size_t open = route.pattern.find('{');
          const std::string name =
              route.pattern.substr(open + 1, route.pattern.find('}') - open - 1);
          if (auto n = ParseId(ctx.Param(name), name); n.ok()) about = core::PersonId{*n};
        }
        accounts_.AuditRefusedRequest(
            *ctx.principal, request.method, route.pattern,
            "emergency access asked for without a casework role: " + justification, about);
        return Problem(core::Status::PermissionDenied(
                           "only caseworkers, specialists, coordinators and managers may use emergency access"),
                       request.request_id);
      }
      ctx.principal->break_glass = justification;
    }
  } else if (route.auth == Auth::kPage || !session_cookie.empty()) {
    std::optional<accounts::SessionAuth> session;
    if (!session_cookie.empty()) {
      auto s = accounts_.AuthenticateSession(session_cookie, request.request_id, UseOf(request));
      if (s.ok()) session = std::move(s).value();
    }
    // A temporary password, given by an administrator, is changed before anything else is done.
    if (session && session->password_change_required && route.auth == Auth::kPage &&
        route.pattern != "/account/password" && route.pattern != "/logout") {
      return Response::Redirect("/account/password?required=1");
    }
    if (!session && route.auth == Auth::kPage) {
      std::string next = request.path;
      // A citizen's page sends them to the portal's own sign-in, staff pages to the staff one.
      const bool portal = next == "/portal" || next.rfind("/portal/", 0) == 0;
      Response r =
          Response::Redirect((portal ? "/portal/sign-in?next=" : "/login?next=") + UrlEncode(next));
      if (!session_cookie.empty()) r.Header("Set-Cookie", SessionCookie("", options_.secure_cookies, 0));
      return r;
    }
    if (session) {
      if (route.auth == Auth::kPage && !IsSafe(request.method)) {
        auto form = ParseForm(request.body);
        // A form with a file comes as multipart/form-data, its token among the parts.
        if (auto parts = ParseMultipartForm(request)) {
          form.clear();
          for (const auto& [name, part] : *parts) {
            if (part.file_name.empty()) form.emplace(name, part.value);
          }
        }
        auto it = form.find("csrf_token");
        if (it == form.end() || !core::ConstantTimeEquals(it->second, session->csrf_token)) {
          accounts_.AuditRefusedRequest(session->principal, request.method, route.pattern,
                                        "the form's csrf_token was missing or wrong");
          return error_page_(403, "The form has expired",
                             "For your security the form could not be sent. Go back, reload the page and try again.",
                             ctx);
        }
      }
      ctx.principal = std::move(session->principal);
      ctx.csrf_token = session->csrf_token;
      ctx.session_id = session_cookie;
    }
  }
  if (ctx.principal && options_.caller_limit != nullptr && route.auth != Auth::kPublic) {
    if (const int64_t wait = options_.caller_limit->Take(*ctx.principal); wait > 0) {
      const std::string message = TooManyRequests(options_.caller_limit->PerMinute(*ctx.principal), wait);
      Response r = route.auth == Auth::kApi
                       ? Problem(core::Status::ResourceExhausted(message), request.request_id)
                       : error_page_(429, "Too many requests",
                                     fmt::format("You have opened too many pages in a short time. Wait {} second{} "
                                                 "and try again.",
                                                 wait, wait == 1 ? "" : "s"),
                                     ctx);
      r.Header("Retry-After", std::to_string(wait));
      return r;
    }
  }
  Response r = route.handler(ctx);
  // A request a member of staff or a system may never make, whatever it says (none of its roles
  // is among the route's), is refused as such even when what it says is wrong: a 400 (or 412,
  // 415, 428: a version, media type or If-Match missing or wrong) becomes a 403, so that the
  // caller is not sent to mend a request it may not make. The handler wrote nothing (such an
  // answer saves nothing); a valid request was refused, and recorded, by its service. A person
  // signed in to the portal has no role: refused so unless the route is one people may use too.
  const bool about_the_request = r.status == 400 || r.status == 412 || r.status == 415 || r.status == 428;
  if (about_the_request && ctx.principal && !route.roles.empty() &&
      (ctx.principal->kind != authz::PrincipalKind::kCitizen || !route.people_too) &&
      std::none_of(route.roles.begin(), route.roles.end(),
                   [&](authz::Role role) { return ctx.principal->HasRole(role); })) {
    std::string roles;
    for (authz::Role role : route.roles)
      roles += (roles.empty() ? "" : ", ") + std::string(authz::RoleName(role));
    const std::string reason = fmt::format(
        "{} is for callers with one of the roles {}; this caller has {}", route.operation_id, roles,
        ctx.principal->roles.empty() ? std::string("no role") : ctx.principal->RoleList());
    r = Problem(core::Status::PermissionDenied(reason), request.request_id);
  }
  // Every refusal to someone signed in leaves a trace, whichever part of the program refused:
  // a 403, and a 404 from a route that exists (a record that is not there, or not the caller's
  // to know of: asking for other ids one by one is worth seeing).
  if ((r.status == 403 || r.status == 404) && ctx.principal) {
    // A representative's refused attempt is in the access log of the person they act for, who
    // is told of everything done in their name (docs/portal.md).
    std::optional<core::PersonId> about;
    if (ctx.principal->representation != 0) about = ctx.principal->person;
    accounts_.AuditRefusedRequest(*ctx.principal, request.method, route.pattern, RefusalReason(r),
                                  about);
  }
  return r;
}

}  // namespace http
