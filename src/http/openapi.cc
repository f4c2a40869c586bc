#include "http/openapi.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace http {

core::StatusOr<std::string> LoadOpenApi(const std::string& web_root) {
  const std::string path = web_root + "/openapi.json";
  std::ifstream in(path);
  if (!in) return core::Status::NotFound(fmt::format("{}: the OpenAPI document is missing", path));
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    auto doc = nlohmann::json::parse(ss.str());
    return doc.dump();
  } catch (const nlohmann::json::parse_error& e) {
    return core::Status::InvalidArgument(fmt::format("{}: not valid JSON at byte {}", path, e.byte));
  }
}

void AddOpenApiRoute(Router& router, std::string document) {
  router.Add({"GET", "/api/openapi.json", Auth::kPublic, "getOpenApi", [document](Context&) {
                Response r = Response::Json(200, document);
                r.Header("Cache-Control", "public, max-age=300");
                return r;
              }});
}

}  // namespace http
