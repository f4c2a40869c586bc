#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"

namespace http {

// Slows down the guessing of short codes that a person types (an appointment reference): each
// client address may try `max_misses` codes that find nothing within `window`; after that it
// is refused, even a right code, until its oldest miss leaves the window. Right codes cost
// nothing. Kept in memory, per server. Thread-safe.
class GuessThrottle {
 public:
  struct Limits {
    int max_misses = 10;
    int64_t window_micros = 15 * 60 * int64_t{1'000'000};
    size_t max_addresses = 100'000;  // remembered at once; the stalest are forgotten first
  };

  explicit GuessThrottle(const core::Clock& clock) : GuessThrottle(clock, Limits{}) {}
  GuessThrottle(const core::Clock& clock, Limits limits) : clock_(clock), limits_(limits) {}

  // 0 when `address` may try a code now; otherwise the whole seconds until it may.
  int64_t RetryAfterSeconds(const std::string& address);
  // Records that a code tried from `address` found nothing.
  void Missed(const std::string& address);

  const Limits& limits() const { return limits_; }

 private:
  void DropOld(std::deque<int64_t>& misses, int64_t now) const;
  void MakeRoom(int64_t now);  // REQUIRES(mu_)

  const core::Clock& clock_;
  const Limits limits_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<int64_t>> misses_;  // GUARDED_BY(mu_), oldest first
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
