#include "http/address_throttle.h"

#include <algorithm>

#include <fmt/format.h>

namespace http {

void AddressThrottle::DropOld(std::deque<int64_t>& acts, int64_t now) const {
  while (!acts.empty() && acts.front() <= now - limits_.window_micros) acts.pop_front();
}

int64_t AddressThrottle::RetryAfterSeconds(const std::string& address) {
  const int64_t now = clock_.Now().micros;
  std::lock_guard lock(mu_);
  auto it = acts_.find(address);
  if (it == acts_.end()) return 0;
  DropOld(it->second, now);
  if (it->second.empty()) {
    acts_.erase(it);
    return 0;
  }
  if (static_cast<int>(it->second.size()) < limits_.max) return 0;
  const int64_t free_at = it->second.front() + limits_.window_micros;
  return std::max<int64_t>(1, (free_at - now + 999'999) / 1'000'000);
}

void AddressThrottle::Count(const std::string& address) {
  const int64_t now = clock_.Now().micros;
  std::lock_guard lock(mu_);
  auto it = acts_.find(address);
  if (it == acts_.end()) {
    MakeRoom(now);
    it = acts_.emplace(address, std::deque<int64_t>{}).first;
  }
  DropOld(it->second, now);
  it->second.push_back(now);
  // Only the newest `max` count: older ones can change nothing.
  while (static_cast<int>(it->second.size()) > limits_.max) it->second.pop_front();
}

void AddressThrottle::MakeRoom(int64_t now) {
  if (acts_.size() < limits_.max_addresses) return;
  for (auto it = acts_.begin(); it != acts_.end();) {
    DropOld(it->second, now);
    it = it->second.empty() ? acts_.erase(it) : std::next(it);
  }
  // Still full: forget the address whose newest act is oldest.
  while (!acts_.empty() && acts_.size() >= limits_.max_addresses) {
    auto stalest = std::min_element(acts_.begin(), acts_.end(), [](const auto& a, const auto& b) {
      return a.second.back() < b.second.back();
    });
    acts_.erase(stalest);
  }
}

std::string TooManyGuesses(int64_t retry_after_seconds) {
  const int64_t minutes = (retry_after_seconds + 59) / 60;
  return fmt::format("too many appointment references that do not exist were tried from your address; try again "
                     "in {} minute{}",
                     minutes, minutes == 1 ? "" : "s");
}

namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

bool Trusted(const std::string& address, const std::vector<std::string>& trusted) {
  return std::find(trusted.begin(), trusted.end(), address) != trusted.end();
}

}  // namespace

std::string ClientAddress(const std::string& peer, const std::string* forwarded_for,
                          const std::vector<std::string>& trusted_proxies) {
  if (forwarded_for == nullptr || !Trusted(peer, trusted_proxies)) return peer;
  std::vector<std::string> hops;
  std::string_view rest = *forwarded_for;
  for (;;) {
    const size_t comma = rest.find(',');
    std::string hop = Trim(rest.substr(0, comma));
    if (!hop.empty()) hops.push_back(std::move(hop));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (hops.empty()) return peer;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    if (!Trusted(*it, trusted_proxies)) return *it;
  }
  return hops.front();
}

}  // namespace http
