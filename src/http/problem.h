#pragma once

#include <string_view>

#include "core/status.h"
#include "http/request.h"

namespace http {

// The one mapping from a Status to an HTTP status code.
int HttpStatusFor(core::StatusCode code);

// An RFC 9457 problem body (application/problem+json) for `status`: type, title, status,
// detail, instance (the request id) and, for invalid input, `errors` naming each field.
Response Problem(const core::Status& status, std::string_view request_id);
// The same with an HTTP status that no canonical code maps to (405, 413, 428).
Response Problem(const core::Status& status, std::string_view request_id, int http_status);

}  // namespace http
