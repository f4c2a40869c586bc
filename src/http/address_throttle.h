#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"

namespace http {

// Limits what one client address does within a sliding window: `Count` records one act (an
// appointment reference tried that found nothing, an appointment booked online); once `max`
// acts fall within `window`, the address is refused until the oldest of them leaves it. An IPv6
// client is counted by its /64 (see Key). Kept in memory, per server, at most `max_addresses`
// at once (when full, the eighth whose newest acts are oldest are forgotten). Thread-safe.
class AddressThrottle {
 public:
  struct Limits {
    int max = 10;
    int64_t window_micros = 15 * 60 * int64_t{1'000'000};
    size_t max_addresses = 100'000;  // remembered at once; the stalest are forgotten first
  };

  explicit AddressThrottle(const core::Clock& clock) : AddressThrottle(clock, Limits{}) {}
  AddressThrottle(const core::Clock& clock, Limits limits) : clock_(clock), limits_(limits) {}

  // 0 when `address` may act now; otherwise the whole seconds until it may.
  int64_t RetryAfterSeconds(const std::string& address);
  // Records one act of `address`.
  void Count(const std::string& address);

  // What an address is counted under: an IPv4 address itself (also when written as an IPv4-mapped
  // IPv6 address), an IPv6 address's /64 ("2001:db8:1:2::/64"), anything else as it is.
  static std::string Key(const std::string& address);

  const Limits& limits() const { return limits_; }

 private:
  void DropOld(std::deque<int64_t>& acts, int64_t now) const;
  void MakeRoom(int64_t now);  // REQUIRES(mu_)

  const core::Clock& clock_;
  const Limits limits_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<int64_t>> acts_;  // GUARDED_BY(mu_), oldest first
};

// What a client past its limit is told: "too many appointment references that do not exist
// were tried from your address; try again in 4 minutes".
std::string TooManyGuesses(int64_t retry_after_seconds);

// The address of the client behind a request: `peer` itself, unless `peer` is one of
// `trusted_proxies`; then the right-most address of X-Forwarded-For (`forwarded_for`) that is
// not a trusted proxy (the one the nearest proxy saw), or the left-most if all of them are.
std::string ClientAddress(const std::string& peer, const std::string* forwarded_for,
                          const std::vector<std::string>& trusted_proxies);

}  // namespace http
