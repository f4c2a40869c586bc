#include "http/address_throttle.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace http {

void AddressThrottle::DropOld(std::deque<int64_t>& acts, int64_t now) const {
  while (!acts.empty() && acts.front() <= now - limits_.window_micros) acts.pop_front();
}

std::string AddressThrottle::Key(const std::string& address) {
  if (address.find(':') == std::string::npos) return address;
  in6_addr a{};
  if (inet_pton(AF_INET6, address.c_str(), &a) != 1) return address;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char text[INET6_ADDRSTRLEN] = {};
  if (std::memcmp(a.s6_addr, kMapped, sizeof kMapped) == 0) {
    // An IPv4 client on a dual-stack socket: its IPv4 address.
    return inet_ntop(AF_INET, a.s6_addr + 12, text, sizeof text) ? std::string(text) : address;
  }
  // One IPv6 client usually holds a whole /64: counted as one.
  std::memset(a.s6_addr + 8, 0, 8);
  return inet_ntop(AF_INET6, &a, text, sizeof text) ? std::string(text) + "/64" : address;
}

int64_t AddressThrottle::RetryAfterSeconds(const std::string& client) {
  const int64_t now = clock_.Now().micros;
  const std::string address = Key(client);
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

void AddressThrottle::Count(const std::string& client) {
  const int64_t now = clock_.Now().micros;
  const std::string address = Key(client);
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
  if (acts_.size() < limits_.max_addresses) return;
  // Still full: forget the eighth of the addresses whose newest acts are oldest, so that this
  // walk over every address comes once in many new ones.
  std::vector<std::pair<int64_t, const std::string*>> newest;
  newest.reserve(acts_.size());
  for (const auto& [key, acts] : acts_) newest.emplace_back(acts.back(), &key);
  const size_t forget = std::max<size_t>(1, acts_.size() / 8);
  std::nth_element(newest.begin(), newest.begin() + static_cast<ptrdiff_t>(forget - 1), newest.end());
  std::vector<std::string> gone;
  gone.reserve(forget);
  for (size_t i = 0; i < forget; ++i) gone.push_back(*newest[i].second);
  for (const auto& key : gone) acts_.erase(key);
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
