#include "core/status.h"

namespace core {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kCancelled: return "CANCELLED";
    case StatusCode::kUnknown: return "UNKNOWN";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case StatusCode::kAborted: return "ABORTED";
    case StatusCode::kOutOfRange: return "OUT_OF_RANGE";
    case StatusCode::kUnimplemented: return "UNIMPLEMENTED";
    case StatusCode::kInternal: return "INTERNAL";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kDataLoss: return "DATA_LOSS";
    case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(StatusCodeName(code_));
  out += ": ";
  out += message_;
  for (const auto& f : fields_) {
    out += "; ";
    out += f.field;
    out += ": ";
    out += f.message;
  }
  return out;
}

std::vector<FieldError> MergeFieldErrors(std::vector<FieldError> first,
                                         const std::vector<FieldError>& then) {
  const size_t read = first.size();
  for (const auto& e : then) {
    bool named = false;
    for (size_t i = 0; i < read && !named; ++i) {
      const std::string& f = first[i].field;
      named =
          f == e.field || (f.size() > e.field.size() &&
                           f.compare(0, e.field.size(), e.field) == 0 && f[e.field.size()] == '/');
    }
    if (!named) first.push_back(e);
  }
  return first;
}

}  // namespace core
