#include "http/problem.h"

#include <nlohmann/json.hpp>

namespace http {

int HttpStatusFor(core::StatusCode code) {
  using core::StatusCode;
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kOutOfRange: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kAborted: return 409;
    case StatusCode::kFailedPrecondition: return 412;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kCancelled: return 499;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
    case StatusCode::kDataLoss:
    case StatusCode::kUnknown:
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

namespace {
std::string_view Title(int status) {
  switch (status) {
    case 400: return "Bad request";
    case 401: return "Sign-in required";
    case 403: return "Not allowed";
    case 404: return "Not found";
    case 405: return "Method not allowed";
    case 409: return "Conflict";
    case 412: return "Precondition failed";
    case 413: return "Request too large";
    case 415: return "Unsupported media type";
    case 428: return "Precondition required";
    case 429: return "Too many requests";
    case 503: return "Service unavailable";
    default: return status >= 500 ? "Internal error" : "Request failed";
  }
}

std::string TypeSlug(core::StatusCode code) {
  std::string s(core::StatusCodeName(code));
  for (char& c : s) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

Response Problem(const core::Status& status, std::string_view request_id) {
  return Problem(status, request_id, HttpStatusFor(status.code()));
}

Response Problem(const core::Status& status, std::string_view request_id, int http_status) {
  nlohmann::json body = {
      {"type", "https://onedoor.example/problems/" + TypeSlug(status.code())},
      {"title", Title(http_status)},
      {"status", http_status},
      {"detail", http_status >= 500 && status.code() != core::StatusCode::kUnavailable
                     ? "Something went wrong on our side. Quote the request id if you report it."
                     : status.message()},
      {"instance", std::string(request_id)},
  };
  if (!status.fields().empty()) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& f : status.fields()) errors.push_back({{"field", f.field}, {"message", f.message}});
    body["errors"] = std::move(errors);
  }
  Response r{http_status, {{"Content-Type", "application/problem+json"}}, body.dump()};
  return r;
}

}  // namespace http
