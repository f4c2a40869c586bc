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

TEST_F(AddressThrottleTest, ForgetsTheStalestAddressesWhenFull) {
  AddressThrottle throttle(clock_, {.max = 1, .window_micros = 60 * int64_t{1'000'000}, .max_addresses = 16});
  for (int i = 0; i < 16; ++i) {
    throttle.Count("10.0.0." + std::to_string(i));
    clock_.Advance(seconds(1));
  }
  throttle.Count("10.0.1.1");  // full: the two stalest (an eighth) go
  EXPECT_EQ(throttle.RetryAfterSeconds("10.0.0.0"), 0);
  EXPECT_EQ(throttle.RetryAfterSeconds("10.0.0.1"), 0);
  for (int i = 2; i < 16; ++i) EXPECT_GT(throttle.RetryAfterSeconds("10.0.0." + std::to_string(i)), 0) << i;
  EXPECT_GT(throttle.RetryAfterSeconds("10.0.1.1"), 0);
  // Full again; addresses whose acts have all left the window go first, and that makes room:
  // nothing that still counts is forgotten.
  clock_.Advance(seconds(1));
  throttle.Count("10.0.1.3");  // 16 addresses
  clock_.Advance(seconds(50));  // now 67 s: the acts of 10.0.0.2 .. 10.0.0.7 (2 s .. 7 s) are a minute old
  throttle.Count("10.0.1.2");
  for (int i = 8; i < 16; ++i) EXPECT_GT(throttle.RetryAfterSeconds("10.0.0." + std::to_string(i)), 0) << i;
  EXPECT_GT(throttle.RetryAfterSeconds("10.0.1.1"), 0);
  EXPECT_GT(throttle.RetryAfterSeconds("10.0.1.3"), 0);
  EXPECT_GT(throttle.RetryAfterSeconds("10.0.1.2"), 0);
}

TEST_F(AddressThrottleTest, AnIpv6ClientIsCountedByItsSlash64) {
  EXPECT_EQ(AddressThrottle::Key("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(AddressThrottle::Key("::ffff:203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(AddressThrottle::Key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(AddressThrottle::Key("not an address"), "not an address");
  AddressThrottle throttle(clock_, {.max = 2, .window_micros = 60 * int64_t{1'000'000}});
  throttle.Count("2001:db8:1:2::1");
  throttle.Count("2001:db8:1:2:ffff::9");
  EXPECT_GT(throttle.RetryAfterSeconds("2001:db8:1:2::77"), 0) << "the same /64";
  EXPECT_EQ(throttle.RetryAfterSeconds("2001:db8:1:3::1"), 0) << "another /64";
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
