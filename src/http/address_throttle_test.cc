#include "http/address_throttle.h"

#include <chrono>

#include <gtest/gtest.h>

namespace http {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

class AddressThrottleTest : public ::testing::Test {
 protected:
  core::FakeClock clock_;
};

TEST_F(AddressThrottleTest, RefusesAnAddressPastItsMissesUntilTheOldestLeavesTheWindow) {
  AddressThrottle throttle(clock_, {.max = 3, .window_micros = 10 * 60 * int64_t{1'000'000}});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(throttle.RetryAfterSeconds("203.0.113.7"), 0) << "miss " << i;
    throttle.Count("203.0.113.7");
    clock_.Advance(minutes(1));
  }
  // Three misses at 0, 1 and 2 minutes; now 3 minutes: free when the first is 10 minutes old.
  EXPECT_EQ(throttle.RetryAfterSeconds("203.0.113.7"), 7 * 60);
  EXPECT_EQ(throttle.RetryAfterSeconds("203.0.113.8"), 0) << "another address is not slowed";
  clock_.Advance(minutes(7) - seconds(1));
  EXPECT_EQ(throttle.RetryAfterSeconds("203.0.113.7"), 1);
  clock_.Advance(seconds(1));
  EXPECT_EQ(throttle.RetryAfterSeconds("203.0.113.7"), 0);
  // One more miss refuses it again until the second miss is 10 minutes old.
  throttle.Count("203.0.113.7");
  EXPECT_EQ(throttle.RetryAfterSeconds("203.0.113.7"), 60);
}

TEST_F(AddressThrottleTest, MissesOutsideTheWindowDoNotCount) {
  AddressThrottle throttle(clock_, {.max = 2, .window_micros = 60 * int64_t{1'000'000}});
  for (int i = 0; i < 10; ++i) {
    throttle.Count("::1");
    clock_.Advance(seconds(61));
    EXPECT_EQ(throttle.RetryAfterSeconds("::1"), 0) << "miss " << i;
  }
}

TEST_F(AddressThrottleTest, ForgetsTheStalestAddressWhenFull) {
  AddressThrottle throttle(clock_, {.max = 1, .window_micros = 60 * int64_t{1'000'000}, .max_addresses = 2});
  throttle.Count("a");
  clock_.Advance(seconds(1));
  throttle.Count("b");
  clock_.Advance(seconds(1));
  throttle.Count("c");  // full: "a" goes
  EXPECT_EQ(throttle.RetryAfterSeconds("a"), 0);
  EXPECT_GT(throttle.RetryAfterSeconds("b"), 0);
  EXPECT_GT(throttle.RetryAfterSeconds("c"), 0);
}

TEST(TooManyGuessesTest, SaysTheWaitInWholeMinutes) {
  EXPECT_EQ(TooManyGuesses(1),
            "too many appointment references that do not exist were tried from your address; try again in 1 minute");
  EXPECT_EQ(TooManyGuesses(61),
            "too many appointment references that do not exist were tried from your address; try again in 2 minutes");
}

TEST(ClientAddressTest, BelievesForwardedForOnlyFromTrustedProxies) {
  const std::vector<std::string> trusted = {"127.0.0.1", "10.0.0.5"};
  const std::string chain = "198.51.100.2, 203.0.113.7";
  EXPECT_EQ(ClientAddress("192.0.2.1", &chain, trusted), "192.0.2.1") << "an untrusted peer is the client";
  EXPECT_EQ(ClientAddress("127.0.0.1", nullptr, trusted), "127.0.0.1");
  // The right-most address the nearest proxy saw; what the client wrote to the left is not believed.
  EXPECT_EQ(ClientAddress("127.0.0.1", &chain, trusted), "203.0.113.7");
  const std::string through_two = "203.0.113.7,10.0.0.5";
  EXPECT_EQ(ClientAddress("127.0.0.1", &through_two, trusted), "203.0.113.7") << "trusted hops are skipped";
  const std::string all_trusted = " 10.0.0.5 , 127.0.0.1 ";
  EXPECT_EQ(ClientAddress("127.0.0.1", &all_trusted, trusted), "10.0.0.5");
  const std::string empty = " , ";
  EXPECT_EQ(ClientAddress("127.0.0.1", &empty, trusted), "127.0.0.1");
  EXPECT_EQ(ClientAddress("127.0.0.1", &chain, {}), "127.0.0.1") << "no trusted proxies: the peer";
}

}  // namespace
}  // namespace http
