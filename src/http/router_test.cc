#include "http/router.h"

#include <stdexcept>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace http {
namespace {

using ::testing::ElementsAre;

Route R(std::string method, std::string pattern) {
  return {std::move(method), std::move(pattern), Auth::kApi, "", [](Context&) { return Response::Text(200, ""); }};
}

TEST(Router, MatchesLiteralSegmentsAndTakesParameters) {
  Router router;
  router.Add(R("GET", "/api/v1/persons"));
  router.Add(R("GET", "/api/v1/persons/{id}"));
  router.Add(R("GET", "/api/v1/persons/{id}/history"));
  router.Add(R("POST", "/api/v1/agencies/{id}/users/{user_id}/deactivate"));

  Match list = router.Find("GET", "/api/v1/persons");
  ASSERT_NE(list.route, nullptr);
  EXPECT_EQ(list.route->pattern, "/api/v1/persons");
  EXPECT_TRUE(list.params.empty());

  Match one = router.Find("GET", "/api/v1/persons/42");
  ASSERT_NE(one.route, nullptr);
  EXPECT_EQ(one.route->pattern, "/api/v1/persons/{id}");
  EXPECT_EQ(one.params.at("id"), "42");

  Match history = router.Find("GET", "/api/v1/persons/42/history");
  ASSERT_NE(history.route, nullptr);
  EXPECT_EQ(history.route->pattern, "/api/v1/persons/{id}/history");

  Match two = router.Find("POST", "/api/v1/agencies/3/users/17/deactivate");
  ASSERT_NE(two.route, nullptr);
  EXPECT_EQ(two.params.at("id"), "3");
  EXPECT_EQ(two.params.at("user_id"), "17");
}

TEST(Router, AnotherMethodOnAKnownPathIsNamedForTheAllowHeader) {
  Router router;
  router.Add(R("GET", "/api/v1/persons/{id}"));
  router.Add(R("PUT", "/api/v1/persons/{id}"));
  Match m = router.Find("DELETE", "/api/v1/persons/9");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_exists);
  EXPECT_THAT(m.allowed, ElementsAre("GET", "PUT"));
}

TEST(Router, UnknownPathsEmptyParametersAndExtraSegmentsDoNotMatch) {
  Router router;
  router.Add(R("GET", "/api/v1/persons/{id}"));
  for (const char* path : {"/api/v1/persons/", "/api/v1/persons/1/2", "/api/v1/person/1", "", "api/v1/persons/1",
                           "/api/v1/persons"}) {
    Match m = router.Find("GET", path);
    EXPECT_EQ(m.route, nullptr) << path;
    EXPECT_FALSE(m.path_exists) << path;
  }
}

TEST(Router, SegmentsAreDecodedAfterSplittingSoAnEncodedSlashStaysInItsParameter) {
  Router router;
  router.Add(R("PUT", "/api/v1/source-records/{local_id}"));
  Match m = router.Find("PUT", "/api/v1/source-records/HSG%2F2024%2F7");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("local_id"), "HSG/2024/7");
  Match spaced = router.Find("PUT", "/api/v1/source-records/A%20B%25");
  ASSERT_NE(spaced.route, nullptr);
  EXPECT_EQ(spaced.params.at("local_id"), "A B%");
  // A literal segment may be sent encoded too; an unencoded slash still separates segments.
  EXPECT_NE(router.Find("PUT", "/api/v1/source%2Drecords/7").route, nullptr);
  EXPECT_EQ(router.Find("PUT", "/api/v1/source-records/HSG/2024").route, nullptr);
}

TEST(Router, ADuplicateRouteIsRefused) {
  Router router;
  router.Add(R("GET", "/a/{id}"));
  router.Add(R("POST", "/a/{id}"));
  EXPECT_THROW(router.Add(R("GET", "/a/{id}")), std::logic_error);
  // The refused route left nothing behind: the routes and their patterns stay in step.
  ASSERT_EQ(router.routes().size(), 2u);
  EXPECT_EQ(router.Find("POST", "/a/1").route->method, "POST");
}

}  // namespace
}  // namespace http
