// Checks web/openapi.json against the real route table, so that the two cannot drift: every
// API route is documented with its operationId, every documented operation is routed, and the
// document is internally sound.

#include "http/openapi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "accounts/account_service.h"
#include "app/app.h"
#include "core/config.h"
#include "http/operation_roles.h"
#include "http/request.h"
#include "http/router.h"
#include "tests/testing/testing.h"

namespace {

using nlohmann::json;

const std::set<std::string> kMethods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"};
// Operational routes: public, answered without problem bodies.
const std::set<std::string> kPublicOperations = {"getHealth",   "getReadiness",     "getMetrics",
                                                   "getOpenApi",  "getHsdsInfo",      "getHsdsInfoSlash",
                                                   "exportDirectory", "listLifeEvents"};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// "/api/v1/persons/{id}/history" -> "/api/v1/persons/1/history".
std::string FillPlaceholders(const std::string& pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{') {
      size_t end = pattern.find('}', i);
      if (end == std::string::npos) return pattern;
      out += "1";
      i = end;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

std::set<std::string> Placeholders(const std::string& pattern) {
  std::set<std::string> out;
  for (size_t i = pattern.find('{'); i != std::string::npos; i = pattern.find('{', i + 1)) {
    size_t end = pattern.find('}', i);
    if (end == std::string::npos) break;
    out.insert(pattern.substr(i + 1, end - i - 1));
  }
  return out;
}

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core::Config config;
    config.db = dir_.File("openapi.db");
    config.read_connections = 1;
    auto app = app::App::Open(config, /*web=*/true);
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    app_ = std::move(app).value();

    const std::string path = config.web_root + "/openapi.json";
    std::ifstream in(path);
    ASSERT_TRUE(in) << path;
    std::stringstream ss;
    ss << in.rdbuf();
    doc_ = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(doc_.is_discarded()) << path << " is not valid JSON";
    ASSERT_TRUE(doc_.contains("paths") && doc_["paths"].is_object());
  }

  // Follows a local "$ref" ("#/components/...") once; other values are returned as they are.
  const json* Resolve(const json& value) const {
    const json* v = &value;
    for (int depth = 0; depth < 8 && v->is_object() && v->contains("$ref"); ++depth) {
      const std::string target = (*v)["$ref"].get<std::string>();
      if (target.rfind("#/", 0) != 0) return nullptr;
      json::json_pointer pointer(target.substr(1));
      if (!doc_.contains(pointer)) return nullptr;
      v = &doc_.at(pointer);
    }
    return v;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<app::App> app_;
  json doc_;
};

TEST_F(OpenApiTest, IsOpenApi31WithTheBasics) {
  EXPECT_EQ(doc_.value("openapi", ""), "3.1.0");
  EXPECT_EQ(doc_["info"].value("title", ""), "onedoor API");
  EXPECT_FALSE(doc_["info"].value("version", "").empty());
  ASSERT_TRUE(doc_["servers"].is_array());
  EXPECT_EQ(doc_["servers"][0].value("url", ""), "/");
  const json& schemes = doc_["components"]["securitySchemes"];
  EXPECT_EQ(schemes["bearerAuth"].value("scheme", ""), "bearer");
  EXPECT_EQ(schemes["sessionCookie"].value("in", ""), "cookie");
  EXPECT_EQ(doc_["components"]["schemas"]["Problem"]["type"], "object");
}

TEST_F(OpenApiTest, EveryApiRouteIsDocumentedWithItsOperationId) {
  int checked = 0;
  for (const http::Route& route : app_->router().routes()) {
    if (route.operation_id.empty()) {
      EXPECT_NE(route.auth, http::Auth::kApi) << route.method << " " << route.pattern << " is an API route without "
                                              << "an operation_id";
      continue;
    }
    ++checked;
    const json& paths = doc_["paths"];
    ASSERT_TRUE(paths.contains(route.pattern)) << "undocumented path " << route.pattern;
    const std::string method = Lower(route.method);
    ASSERT_TRUE(paths[route.pattern].contains(method)) << "undocumented " << route.method << " " << route.pattern;
    EXPECT_EQ(paths[route.pattern][method].value("operationId", ""), route.operation_id)
        << route.method << " " << route.pattern;
  }
  EXPECT_GE(checked, 26);
}

TEST_F(OpenApiTest, EveryDocumentedOperationIsRouted) {
  for (const auto& [path, item] : doc_["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (!kMethods.count(method)) continue;
      http::Match match = app_->router().Find(Upper(method), FillPlaceholders(path));
      ASSERT_NE(match.route, nullptr) << "no route for documented " << Upper(method) << " " << path;
      EXPECT_EQ(match.route->pattern, path);
      EXPECT_EQ(match.route->operation_id, op.value("operationId", "")) << Upper(method) << " " << path;
    }
  }
}

// The roles that may make each operation at all, which the dispatcher checks before the request is
// read (http/operation_roles.h), are the ones the document publishes, and only API routes have
// them.
TEST_F(OpenApiTest, TheRolesOfEachOperationAreTheOnesPublished) {
  int with_roles = 0;
  for (const http::Route& route : app_->router().routes()) {
    std::vector<std::string> roles;
    for (authz::Role r : route.roles) roles.emplace_back(authz::RoleName(r));
    if (route.operation_id.empty()) {
      EXPECT_TRUE(roles.empty()) << route.method << " " << route.pattern;
      continue;
    }
    const json& op = doc_["paths"][route.pattern][Lower(route.method)];
    std::vector<std::string> published;
    if (op.contains("x-onedoor-roles"))
      published = op["x-onedoor-roles"].get<std::vector<std::string>>();
    EXPECT_EQ(roles, published) << route.operation_id;
    EXPECT_EQ(route.people_too, op.value("x-onedoor-people", false)) << route.operation_id;
    if (!roles.empty()) {
      ++with_roles;
      EXPECT_EQ(route.auth, http::Auth::kApi) << route.operation_id;
    }
  }
  EXPECT_EQ(with_roles, static_cast<int>(http::OperationRoles().size()));
}

TEST_F(OpenApiTest, OperationIdsAreUnique) {
  std::set<std::string> seen;
  for (const auto& [path, item] : doc_["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (!kMethods.count(method)) continue;
      const std::string id = op.value("operationId", "");
      EXPECT_FALSE(id.empty()) << Upper(method) << " " << path << " has no operationId";
      EXPECT_TRUE(seen.insert(id).second) << "operationId " << id << " is used twice";
    }
  }
}

TEST_F(OpenApiTest, PathParametersAreDeclared) {
  for (const auto& [path, item] : doc_["paths"].items()) {
    const std::set<std::string> wanted = Placeholders(path);
    for (const auto& [method, op] : item.items()) {
      if (!kMethods.count(method)) continue;
      std::set<std::string> declared;
      for (const json* list : {&item, &op}) {
        if (!list->contains("parameters")) continue;
        for (const json& p : (*list)["parameters"]) {
          const json* param = Resolve(p);
          ASSERT_NE(param, nullptr);
          if (param->value("in", "") == "path") {
            EXPECT_TRUE(param->value("required", false)) << path;
            declared.insert(param->value("name", ""));
          }
        }
      }
      EXPECT_EQ(declared, wanted) << Upper(method) << " " << path;
    }
  }
}

TEST_F(OpenApiTest, ApiOperationsDeclareProblemResponses) {
  for (const auto& [path, item] : doc_["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (!kMethods.count(method)) continue;
      const std::string id = op.value("operationId", "");
      if (kPublicOperations.count(id)) continue;
      ASSERT_TRUE(op.contains("responses")) << id;
      int problems = 0;
      bool success = false;
      for (const auto& [code, response] : op["responses"].items()) {
        success = success || code.front() == '2';
        if (code.front() != '4') continue;
        const json* r = Resolve(response);
        ASSERT_NE(r, nullptr) << id << " " << code;
        const json& schema = (*r)["content"]["application/problem+json"]["schema"];
        EXPECT_EQ(schema.value("$ref", ""), "#/components/schemas/Problem") << id << " " << code;
        ++problems;
      }
      EXPECT_TRUE(success) << id << " declares no 2xx response";
      EXPECT_GT(problems, 0) << id << " declares no 4xx problem response";
    }
  }
}

TEST_F(OpenApiTest, EveryRefResolvesInsideTheDocument) {
  int refs = 0;
  std::function<void(const json&, const std::string&)> walk = [&](const json& v, const std::string& where) {
    if (v.is_object()) {
      for (const auto& [key, child] : v.items()) {
        if (key == "$ref" && child.is_string()) {
          ++refs;
          const std::string target = child.get<std::string>();
          ASSERT_EQ(target.rfind("#/", 0), 0u) << where << ": " << target << " is not a local reference";
          EXPECT_TRUE(doc_.contains(json::json_pointer(target.substr(1)))) << where << ": " << target;
        } else {
          walk(child, where + "/" + key);
        }
      }
    } else if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) walk(v[i], where + "/" + std::to_string(i));
    }
  };
  walk(doc_, "");
  EXPECT_GT(refs, 0);
}

TEST_F(OpenApiTest, TheScopesAreTheOnesTokensAreIssuedWith) {
  // A token's scopes come back in /api/v1/me and the token list: a scope missing from the enum
  // would make those answers fail a client generated from the document.
  const auto& scope = doc_["components"]["schemas"]["Scope"];
  ASSERT_TRUE(scope.contains("enum"));
  const std::set<std::string> documented(scope["enum"].begin(), scope["enum"].end());
  const std::set<std::string> known(accounts::KnownScopes().begin(), accounts::KnownScopes().end());
  EXPECT_EQ(documented, known);
}

TEST_F(OpenApiTest, QueryParametersAreReadFromTheDocument) {
  const auto taken = http::QueryParameters(doc_.dump());
  ASSERT_TRUE(taken.count("listPersons"));
  const auto& persons = taken.at("listPersons");  // declared through references
  for (const char* name : {"q", "birth_date", "identifier", "limit", "after"}) {
    EXPECT_TRUE(std::binary_search(persons.begin(), persons.end(), name)) << name;
  }
  ASSERT_TRUE(taken.count("getPerson"));
  EXPECT_TRUE(
      taken.at("getPerson").empty());  // headers and path parameters are not query parameters
  EXPECT_TRUE(http::QueryParameters("not json").empty());
}

TEST_F(OpenApiTest, AnOperationRefusesQueryParametersItDoesNotDeclare) {
  // Every documented API operation, before any authentication: a parameter it does not declare
  // is a 400 naming it; those it declares are not refused as unknown.
  int checked = 0;
  for (const auto& [path, item] : doc_["paths"].items()) {
    if (path.rfind("/api/", 0) != 0 && path.rfind("/hsds/", 0) != 0) continue;
    for (const auto& [method, op] : item.items()) {
      if (!kMethods.count(method)) continue;
      const std::string id = op.value("operationId", "");
      std::vector<std::string> declared;
      for (const json* list : {item.contains("parameters") ? &item["parameters"] : nullptr,
                               op.contains("parameters") ? &op["parameters"] : nullptr}) {
        if (list == nullptr) continue;
        for (const auto& p : *list) {
          const json* param = Resolve(p);
          ASSERT_NE(param, nullptr) << id;
          if (param->value("in", "") == "query") declared.push_back(param->value("name", ""));
        }
      }
      http::Request request;
      request.method = Upper(method);
      request.path = FillPlaceholders(path);
      request.query.emplace("colour", "blue");
      for (const auto& name : declared) request.query.emplace(name, "1");
      http::Response refused = app_->dispatcher().Handle(request);
      EXPECT_EQ(refused.status, 400) << id << ": " << refused.body;
      const json body = json::parse(refused.body, nullptr, false);
      ASSERT_TRUE(body.is_object() && body.contains("errors")) << id << ": " << refused.body;
      ASSERT_EQ(body["errors"].size(), 1u) << id << ": " << refused.body;
      EXPECT_EQ(body["errors"][0]["field"], "colour") << id;
      for (const auto& name : declared) {
        if (body["errors"][0]["message"].get<std::string>().find(name) == std::string::npos) {
          ADD_FAILURE() << id << ": the message does not list " << name << ": " << refused.body;
        }
      }
      request.query.erase("colour");
      http::Response taken = app_->dispatcher().Handle(request);
      EXPECT_EQ(taken.body.find("names a query parameter this endpoint does not take"),
                std::string::npos)
          << id << ": " << taken.body;
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

TEST_F(OpenApiTest, TheServedDocumentIsTheFile) {
  http::Request request;
  request.method = "GET";
  request.path = "/api/openapi.json";
  http::Response response = app_->dispatcher().Handle(request);
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(json::parse(response.body), doc_);
}

}  // namespace
