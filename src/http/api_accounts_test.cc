#include "http/api_accounts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "tests/testing/testing.h"

namespace http {
namespace {

using authz::Principal;
using authz::Role;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

std::vector<std::string> ProblemFields(const Response& r) {
  std::vector<std::string> out;
  json body = json::parse(r.body);
  if (body.contains("errors")) {
    for (const auto& e : body["errors"]) out.push_back(e["field"].get<std::string>());
  }
  return out;
}

class ApiAccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(core::InitCrypto().ok());
    AddAccountRoutes(router_, service_);
    auto a = service_.CreateAgency(sys_, {.code = "city-social", .name = "City Social Services"});
    ASSERT_TRUE(a.ok());
    agency_ = a->id;
    auto b = service_.CreateAgency(sys_, {.code = "food-bank", .name = "Food Bank"});
    ASSERT_TRUE(b.ok());
    other_agency_ = b->id;
    admin_ = Staff(Role::kAdmin, "admin.a");
    caseworker_ = Staff(Role::kCaseworker, "case.a");
  }

  Principal Staff(Role role, std::string name) {
    accounts::NewUser nu;
    nu.username = name;
    nu.display_name = "Staff";
    nu.password = "correct horse battery";
    nu.agency = agency_;
    nu.roles = {role};
    auto user = service_.CreateUser(sys_, nu);
    EXPECT_TRUE(user.ok()) << user.status().ToString();
    Principal p;
    p.kind = authz::PrincipalKind::kStaff;
    p.user = user.ok() ? user->id : core::UserId{};
    p.agency = agency_;
    p.roles = {role};
    p.name = std::move(name);
    p.purpose = authz::Purpose::kAdministration;
    return p;
  }

  // Calls the handler of the route matching `method` and `path`, as the dispatcher would.
  Response Call(const std::string& method, const std::string& path, const Principal& who,
                const std::string& body = "") {
    Request req;
    req.method = method;
    req.path = path;
    req.body = body;
    if (!body.empty()) req.headers.emplace_back("content-type", "application/json");
    req.request_id = "req-42";
    Match m = router_.Find(method, path);
    EXPECT_NE(m.route, nullptr) << method << " " << path;
    if (m.route == nullptr) return Response{599, {}, ""};
    EXPECT_EQ(m.route->auth, Auth::kApi);
    Context ctx{req, m.params, who, "", ""};
    return m.route->handler(ctx);
  }

  std::string UserPath() const { return "/api/v1/agencies/" + std::to_string(agency_.value) + "/users"; }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_ = testing_support::NewMigratedSqlite(dir_);
  core::FakeClock clock_;
  audit::AuditLog audit_{clock_};
  accounts::AccountService service_{*db_, audit_, clock_, {.fast_password_hashing = true}};
  Router router_;
  Principal sys_ = accounts::AccountService::SystemPrincipal("test");
  core::AgencyId agency_;
  core::AgencyId other_agency_;
  Principal admin_;
  Principal caseworker_;
};

constexpr char kNewUser[] =
    R"({"username":"jo.smith","display_name":"Jo Smith","email":"jo@example.org",)"
    R"("password":"correct horse battery","roles":["caseworker"]})";

TEST_F(ApiAccountsTest, RegistersEveryOperation) {
  std::vector<std::string> ids;
  for (const auto& r : router_.routes()) ids.push_back(r.operation_id);
  EXPECT_THAT(ids, ElementsAre("getMe", "listAgencies", "createAgency", "getAgency", "listOffices", "createOffice",
                               "listUsers", "createUser", "deactivateUser", "activateUser", "listTokens", "issueToken",
                               "updateToken", "revokeToken"));
}

TEST_F(ApiAccountsTest, MeDescribesTheCaller) {
  Response r = Call("GET", "/api/v1/me", caseworker_);
  ASSERT_EQ(r.status, 200);
  json body = json::parse(r.body);
  EXPECT_EQ(body["kind"], "staff");
  EXPECT_EQ(body["user_id"], caseworker_.user.value);
  EXPECT_EQ(body["agency_id"], agency_.value);
  EXPECT_EQ(body["name"], "case.a");
  EXPECT_EQ(body["roles"], json::array({"caseworker"}));
  EXPECT_EQ(body["purpose"], "administration");
  EXPECT_EQ(body["scopes"], json::array());
}

TEST_F(ApiAccountsTest, AdminCreatesAUserWith201AndNoPasswordInTheAnswer) {
  Response r = Call("POST", UserPath(), admin_, kNewUser);
  ASSERT_EQ(r.status, 201) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["username"], "jo.smith");
  EXPECT_EQ(body["roles"], json::array({"caseworker"}));
  EXPECT_EQ(body["agency_id"], agency_.value);
  EXPECT_TRUE(body["office_id"].is_null());
  EXPECT_FALSE(body.contains("password"));
  EXPECT_FALSE(body.contains("password_hash"));
  EXPECT_THAT(r.body, Not(HasSubstr("correct horse")));

  Response list = Call("GET", UserPath(), admin_);
  ASSERT_EQ(list.status, 200);
  json items = json::parse(list.body)["items"];
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2]["username"], "jo.smith");
  EXPECT_THAT(list.body, Not(HasSubstr("argon2")));
  EXPECT_THAT(list.body, Not(HasSubstr("correct horse")));
  // Of the password, only whether it is a temporary one to change, and until when.
  for (const auto& item : items) {
    for (const auto& [key, value] : item.items()) {
      if (key.find("password") != std::string::npos) {
        EXPECT_THAT(key, testing::AnyOf("password_change_required", "password_expires_at"));
      }
    }
    EXPECT_EQ(item["password_change_required"], false);
    EXPECT_TRUE(item["password_expires_at"].is_null());
  }
}

TEST_F(ApiAccountsTest, CaseworkerCreatingAUserIsForbidden) {
  Response r = Call("POST", UserPath(), caseworker_, kNewUser);
  ASSERT_EQ(r.status, 403);
  EXPECT_EQ(r.FindHeader("Content-Type"), "application/problem+json");
  json body = json::parse(r.body);
  EXPECT_EQ(body["status"], 403);
  EXPECT_EQ(body["detail"], "only an administrator may create accounts");
  EXPECT_EQ(body["instance"], "req-42");
}

TEST_F(ApiAccountsTest, UnknownFieldsAreNamed) {
  Response r = Call("POST", UserPath(), admin_,
                    R"({"username":"jo.smith","display_name":"Jo","password":"correct horse battery",)"
                    R"("roles":["caseworker"],"nickname":"Jo","is_admin":true})");
  ASSERT_EQ(r.status, 400);
  EXPECT_THAT(ProblemFields(r), UnorderedElementsAre("nickname", "is_admin"));
}

TEST_F(ApiAccountsTest, WrongTypesAreNamed) {
  Response r = Call("POST", UserPath(), admin_,
                    R"({"username":5,"display_name":"Jo","password":"correct horse battery",)"
                    R"("roles":["caseworker", 7, "wizard"],"office_id":"one"})");
  ASSERT_EQ(r.status, 400);
  EXPECT_THAT(ProblemFields(r), ElementsAre("username", "roles/1", "roles/2", "office_id"));

  r = Call("POST", UserPath(), admin_,
           R"({"username":"jo.smith","display_name":"Jo","password":"correct horse battery","roles":"admin"})");
  ASSERT_EQ(r.status, 400);
  EXPECT_THAT(ProblemFields(r), ElementsAre("roles"));
}

TEST_F(ApiAccountsTest, ServiceValidationReachesTheProblemWithoutThePassword) {
  Response r = Call("POST", UserPath(), admin_,
                    R"({"username":"Jo","display_name":"Jo","password":"tooshort","roles":[]})");
  ASSERT_EQ(r.status, 400);
  EXPECT_THAT(ProblemFields(r), ElementsAre("username", "password", "roles"));
  EXPECT_THAT(r.body, Not(HasSubstr("tooshort")));
}

TEST_F(ApiAccountsTest, InvalidJsonAndWrongContentTypeAre400) {
  Response r = Call("POST", UserPath(), admin_, "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(json::parse(r.body)["detail"].get<std::string>(), HasSubstr("not valid JSON"));
  r = Call("POST", UserPath(), admin_, "[]");
  EXPECT_EQ(r.status, 400);
}

TEST_F(ApiAccountsTest, BadPathIdsAre400AndUnknownAgenciesAre404) {
  Response r = Call("GET", "/api/v1/agencies/abc/users", admin_);
  ASSERT_EQ(r.status, 400);
  EXPECT_THAT(ProblemFields(r), ElementsAre("id"));
  EXPECT_EQ(Call("GET", "/api/v1/agencies/0/offices", admin_).status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/agencies/12x", admin_).status, 400);
  EXPECT_EQ(Call("DELETE", "/api/v1/tokens/-3", admin_).status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/agencies/999/offices", admin_).status, 404);
}

TEST_F(ApiAccountsTest, AgenciesAreCreatedWithALocation) {
  Response r = Call("POST", "/api/v1/agencies", sys_, R"({"code":"youth-trust","name":"Youth Trust","kind":"nonprofit"})");
  ASSERT_EQ(r.status, 201) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["kind"], "nonprofit");
  const std::string location = "/api/v1/agencies/" + std::to_string(body["id"].get<int64_t>());
  EXPECT_EQ(r.FindHeader("Location"), location);
  Response got = Call("GET", location, caseworker_);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body)["code"], "youth-trust");
  EXPECT_EQ(json::parse(Call("GET", "/api/v1/agencies", caseworker_).body)["items"].size(), 3u);

  r = Call("POST", "/api/v1/agencies", sys_, R"({"code":"x-trust","name":"X","kind":"charity"})");
  ASSERT_EQ(r.status, 400);
  EXPECT_THAT(ProblemFields(r), ElementsAre("kind"));
  r = Call("POST", "/api/v1/agencies", sys_, R"({"code":"youth-trust","name":"Again","kind":"nonprofit"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(Call("POST", "/api/v1/agencies", caseworker_, R"({"code":"c","name":"C","kind":"government"})").status,
            403);
}

TEST_F(ApiAccountsTest, OfficesAreCreatedAndListed) {
  const std::string path = "/api/v1/agencies/" + std::to_string(agency_.value) + "/offices";
  Response r = Call("POST", path, admin_, R"({"name":"Central","address":"1 Main St"})");
  ASSERT_EQ(r.status, 201) << r.body;
  Response list = Call("GET", path, caseworker_);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(json::parse(list.body)["items"][0]["name"], "Central");
  const std::string other = "/api/v1/agencies/" + std::to_string(other_agency_.value) + "/offices";
  EXPECT_EQ(Call("POST", other, admin_, R"({"name":"Depot"})").status, 403);
}

TEST_F(ApiAccountsTest, TokensAreIssuedListedAndRevoked) {
  Response r = Call("POST", "/api/v1/tokens", admin_,
                    R"({"name":"feed","roles":["caseworker"],"scopes":["persons:read"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  json body = json::parse(r.body);
  const std::string secret = body["secret"];
  EXPECT_EQ(secret.rfind("od_", 0), 0u);
  EXPECT_EQ(body["scopes"], json::array({"persons:read"}));
  EXPECT_EQ(r.FindHeader("Cache-Control"), "no-store");

  Response list = Call("GET", "/api/v1/tokens", admin_);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(json::parse(list.body)["items"].size(), 1u);
  EXPECT_THAT(list.body, Not(HasSubstr(secret)));

  const std::string path = "/api/v1/tokens/" + std::to_string(body["id"].get<int64_t>());
  Response revoked = Call("DELETE", path, admin_);
  EXPECT_EQ(revoked.status, 204);
  EXPECT_TRUE(revoked.body.empty());
  EXPECT_EQ(Call("DELETE", "/api/v1/tokens/999", admin_).status, 404);
  EXPECT_EQ(service_.AuthenticateToken(secret, authz::Purpose::kServiceDelivery, "r").status().code(),
            core::StatusCode::kUnauthenticated);
}

TEST_F(ApiAccountsTest, ATokensRequestLimitIsGivenWhenIssuedAndChanged) {
  Response r = Call("POST", "/api/v1/tokens", admin_,
                    R"({"name":"feed","roles":["caseworker"],"scopes":["persons:read"],"requests_per_minute":100})");
  ASSERT_EQ(r.status, 201) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["requests_per_minute"], 100);
  const std::string path = "/api/v1/tokens/" + std::to_string(body["id"].get<int64_t>());

  Response changed = Call("PATCH", path, admin_, R"({"requests_per_minute":null})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_TRUE(json::parse(changed.body)["requests_per_minute"].is_null());
  changed = Call("PATCH", path, admin_, R"({"requests_per_minute":25})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(json::parse(changed.body)["requests_per_minute"], 25);
  Response list = Call("GET", "/api/v1/tokens", admin_);
  EXPECT_EQ(json::parse(list.body)["items"][0]["requests_per_minute"], 25);

  // Each wrong body names its field, and the limit stays 25.
  for (const char* wrong : {R"({})", R"({"requests_per_minute":"fast"})", R"({"requests_per_minute":1.5})",
                            R"({"requests_per_minute":6001})", R"({"requests_per_minute":0})"}) {
    Response bad = Call("PATCH", path, admin_, wrong);
    EXPECT_EQ(bad.status, 400) << wrong;
    EXPECT_THAT(ProblemFields(bad), ElementsAre("requests_per_minute")) << wrong;
  }
  Response unknown = Call("PATCH", path, admin_, R"({"requests_per_minute":10,"burst":5})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(ProblemFields(unknown), ElementsAre("burst"));
  EXPECT_EQ(json::parse(Call("GET", "/api/v1/tokens", admin_).body)["items"][0]["requests_per_minute"], 25);

  EXPECT_EQ(Call("PATCH", "/api/v1/tokens/999", admin_, R"({"requests_per_minute":10})").status, 404);
  EXPECT_EQ(Call("PATCH", path, caseworker_, R"({"requests_per_minute":10})").status, 403);
  r = Call("POST", "/api/v1/tokens", admin_,
           R"({"name":"greedy","roles":["caseworker"],"scopes":["persons:read"],"requests_per_minute":100000})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(ProblemFields(r), ElementsAre("requests_per_minute"));
}

TEST_F(ApiAccountsTest, TokenScopesAndRolesAreValidated) {
  Response r = Call("POST", "/api/v1/tokens", admin_,
                    R"({"name":"feed","roles":["caseworker"],"scopes":["persons:read",3,"everything"],"ttl":5})");
  ASSERT_EQ(r.status, 400);
  EXPECT_THAT(ProblemFields(r), ElementsAre("ttl", "scopes/1"));
  r = Call("POST", "/api/v1/tokens", admin_, R"({"name":"feed","roles":["caseworker"],"scopes":["everything"]})");
  ASSERT_EQ(r.status, 400);
  EXPECT_THAT(ProblemFields(r), ElementsAre("scopes/0"));
  EXPECT_EQ(Call("POST", "/api/v1/tokens", caseworker_, R"({"name":"x","roles":["caseworker"],"scopes":["persons:read"]})")
                .status,
            403);
}

}  // namespace
}  // namespace http
