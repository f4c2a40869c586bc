#include "http/caller_limit.h"

#include <chrono>

#include <gtest/gtest.h>

namespace http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

authz::Principal Staff(int64_t user) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{user};
  return p;
}

authz::Principal Token(int64_t token) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kSystem;
  p.token = core::ApiTokenId{token};
  return p;
}

class CallerLimitTest : public ::testing::Test {
 protected:
  core::FakeClock clock_;
};

TEST_F(CallerLimitTest, AMinutesRequestsAtOnceThenOneEveryShareOfAMinute) {
  CallerLimit limit(clock_, {.user_per_minute = 6, .token_per_minute = 0});
  for (int i = 0; i < 6; ++i) EXPECT_EQ(limit.Take(Staff(1)), 0) << "request " << i;
  // Six a minute: one comes back every 10 seconds.
  EXPECT_EQ(limit.Take(Staff(1)), 10);
  clock_.Advance(seconds(4));
  EXPECT_EQ(limit.Take(Staff(1)), 6) << "a refused request is not counted";
  clock_.Advance(seconds(6));
  EXPECT_EQ(limit.Take(Staff(1)), 0);
  EXPECT_EQ(limit.Take(Staff(1)), 10);
  EXPECT_EQ(limit.Take(Staff(2)), 0) << "another user has a bucket of their own";
  // Idle for long, the bucket is full again, and no fuller.
  clock_.Advance(seconds(3600));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(limit.Take(Staff(1)), 0) << "request " << i;
  EXPECT_GT(limit.Take(Staff(1)), 0);
}

TEST_F(CallerLimitTest, TokensAndPeopleHaveTheirOwnLimitsAndZeroIsNone) {
  CallerLimit limit(clock_, {.user_per_minute = 2, .token_per_minute = 0});
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limit.Take(Token(1)), 0) << "tokens are not limited";
  EXPECT_EQ(limit.PerMinute(Token(1)), 0);
  EXPECT_EQ(limit.PerMinute(Staff(1)), 2);
  CallerLimit tokens(clock_, {.user_per_minute = 0, .token_per_minute = 120});
  for (int i = 0; i < 120; ++i) ASSERT_EQ(tokens.Take(Token(7)), 0) << i;
  EXPECT_EQ(tokens.Take(Token(7)), 1) << "120 a minute: one every half second, told as a whole second";
  clock_.Advance(milliseconds(500));
  EXPECT_EQ(tokens.Take(Token(7)), 0);
  EXPECT_EQ(tokens.Take(Token(8)), 0);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(tokens.Take(Staff(7)), 0) << "people are not limited";
}

TEST_F(CallerLimitTest, CallersAreCountedByIdAndKind) {
  authz::Principal citizen = Staff(5);
  citizen.kind = authz::PrincipalKind::kCitizen;
  EXPECT_EQ(CallerLimit::Key(Staff(5)), "user:5");
  EXPECT_EQ(CallerLimit::Key(citizen), "portal:5");
  EXPECT_EQ(CallerLimit::Key(Token(5)), "token:5");
  CallerLimit limit(clock_, {.user_per_minute = 1, .token_per_minute = 1});
  EXPECT_EQ(limit.Take(Staff(5)), 0);
  EXPECT_EQ(limit.Take(citizen), 0) << "a portal account is not the staff user with the same number";
  EXPECT_EQ(limit.Take(Token(5)), 0);
  EXPECT_EQ(limit.Take(Staff(5)), 60);
}

TEST_F(CallerLimitTest, ForgetsRefilledCallersFirstWhenFull) {
  CallerLimit limit(clock_, {.user_per_minute = 1, .token_per_minute = 1, .max_callers = 16});  // one per shard
  // Many callers, each using its one request: memory stays bounded, and a caller still within
  // its minute keeps its count while the callers whose buckets refilled are forgotten.
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(limit.Take(Staff(i)), 0) << i;
    clock_.Advance(seconds(1));
  }
  // At most the callers of the last minute in each shard, often fewer.
  EXPECT_LE(limit.Callers(), 16u * 61u);
  EXPECT_LT(limit.Callers(), 200u);
  EXPECT_GT(limit.Take(Staff(999)), 0) << "the latest caller is still counted";
  clock_.Advance(seconds(60));
  EXPECT_EQ(limit.Take(Staff(999)), 0);
}

TEST_F(CallerLimitTest, ACallerStillWithinItsMinuteIsNotForgottenToMakeRoom) {
  CallerLimit limit(clock_, {.user_per_minute = 600, .token_per_minute = 6000, .max_callers = 16});
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(limit.Take(Token(7)), 0) << i;
  // New people in every shard, while the token has a thousand requests left of its six thousand
  // (more than a person's whole minute): its count is judged by its own limit, and kept.
  for (int u = 100; u < 132; ++u) ASSERT_EQ(limit.Take(Staff(u)), 0) << u;
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limit.Take(Token(7)), 0) << i;
  EXPECT_GT(limit.Take(Token(7)), 0);
}

// A token given a limit of its own (accounts::AccountService::SetTokenLimit) is counted
// against it, from its next request; 0 is none; others keep the deployment's.
TEST_F(CallerLimitTest, ATokenWithALimitOfItsOwnIsCountedAgainstIt) {
  CallerLimit limit(clock_, {.user_per_minute = 600, .token_per_minute = 6});
  authz::Principal slow = Token(1);
  slow.requests_per_minute = 2;
  authz::Principal unlimited = Token(2);
  unlimited.requests_per_minute = 0;
  EXPECT_EQ(limit.PerMinute(slow), 2);
  EXPECT_EQ(limit.PerMinute(unlimited), 0);
  EXPECT_EQ(limit.PerMinute(Token(3)), 6);
  EXPECT_EQ(limit.Take(slow), 0);
  EXPECT_EQ(limit.Take(slow), 0);
  EXPECT_EQ(limit.Take(slow), 30) << "two a minute: one comes back every 30 seconds";
  for (int i = 0; i < 100; ++i) ASSERT_EQ(limit.Take(unlimited), 0) << "request " << i;
  for (int i = 0; i < 6; ++i) EXPECT_EQ(limit.Take(Token(3)), 0);
  EXPECT_GT(limit.Take(Token(3)), 0);
  // Its limit raised: the next request is counted against the new one.
  clock_.Advance(seconds(30));
  slow.requests_per_minute = 60;
  EXPECT_EQ(limit.Take(slow), 0);
  EXPECT_EQ(limit.Take(slow), 0) << "30 s at 60 a minute brought back more than one request";
  // A staff user is never counted by a token's own limit.
  authz::Principal person = Staff(1);
  EXPECT_EQ(limit.PerMinute(person), 600);
}

TEST(TooManyRequestsTest, SaysTheLimitAndTheWait) {
  EXPECT_EQ(TooManyRequests(600, 1), "too many requests: at most 600 a minute are accepted from one caller; try again in 1 second");
  EXPECT_EQ(TooManyRequests(6, 10), "too many requests: at most 6 a minute are accepted from one caller; try again in 10 seconds");
}

}  // namespace
}  // namespace http
