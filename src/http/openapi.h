#pragma once

#include <string>

#include "core/status.h"
#include "http/router.h"

namespace http {

// Reads the OpenAPI 3.1 document (web/openapi.json) and checks that it parses.
core::StatusOr<std::string> LoadOpenApi(const std::string& web_root);

// GET /api/openapi.json, public.
void AddOpenApiRoute(Router& router, std::string document);

}  // namespace http
