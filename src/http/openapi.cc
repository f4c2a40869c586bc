#include "http/openapi.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

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

std::map<std::string, std::vector<std::string>> QueryParameters(const std::string& document) {
  using nlohmann::json;
  std::map<std::string, std::vector<std::string>> out;
  const json doc = json::parse(document, nullptr, false);
  if (!doc.is_object() || !doc.contains("paths")) return out;
  const json* components = nullptr;
  if (doc.contains("components") && doc["components"].contains("parameters"))
    components = &doc["components"]["parameters"];
  // "#/components/parameters/Limit" → that parameter; anything else is taken as written.
  auto resolve = [&](const json& p) -> const json* {
    if (!p.contains("$ref")) return &p;
    const std::string ref = p["$ref"].get<std::string>();
    const std::string prefix = "#/components/parameters/";
    if (components == nullptr || ref.rfind(prefix, 0) != 0) return nullptr;
    auto it = components->find(ref.substr(prefix.size()));
    return it == components->end() ? nullptr : &*it;
  };
  auto add = [&](const json& list, std::vector<std::string>& names) {
    if (!list.is_array()) return;
    for (const auto& p : list) {
      const json* param = resolve(p);
      if (param != nullptr && param->value("in", "") == "query")
        names.push_back(param->value("name", ""));
    }
  };
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (!op.is_object() || !op.contains("operationId")) continue;
      std::vector<std::string> names;
      if (item.contains("parameters")) add(item["parameters"], names);
      if (op.contains("parameters")) add(op["parameters"], names);
      std::sort(names.begin(), names.end());
      names.erase(std::unique(names.begin(), names.end()), names.end());
      out[op["operationId"].get<std::string>()] = std::move(names);
    }
  }
  return out;
}

void AddOpenApiRoute(Router& router, std::string document) {
  router.Add({"GET", "/api/openapi.json", Auth::kPublic, "getOpenApi", [document](Context&) {
                Response r = Response::Json(200, document);
                r.Header("Cache-Control", "public, max-age=300");
                return r;
              }});
}

}  // namespace http
