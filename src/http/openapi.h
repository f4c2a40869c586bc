#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "http/router.h"

namespace http {

// Reads the OpenAPI 3.1 document (web/openapi.json) and checks that it parses.
core::StatusOr<std::string> LoadOpenApi(const std::string& web_root);

// The query parameters of each operation of the document (by operationId, sorted), those
// declared on its path included, references resolved: what a request to it may name.
std::map<std::string, std::vector<std::string>> QueryParameters(const std::string& document);

// GET /api/openapi.json, public.
void AddOpenApiRoute(Router& router, std::string document);

}  // namespace http
