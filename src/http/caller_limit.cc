#include "http/caller_limit.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/log.h"

namespace http {

std::string CallerLimit::Key(const authz::Principal& who) {
  if (who.token.valid()) return fmt::format("token:{}", who.token.value);
  if (who.kind == authz::PrincipalKind::kCitizen) return fmt::format("portal:{}", who.user.value);
  return fmt::format("user:{}", who.user.value);
}

uint64_t CallerLimit::Id(const authz::Principal& who) {
  if (who.token.valid()) return (uint64_t{1} << 62) | static_cast<uint64_t>(who.token.value);
  if (who.kind == authz::PrincipalKind::kCitizen) return (uint64_t{2} << 62) | static_cast<uint64_t>(who.user.value);
  return static_cast<uint64_t>(who.user.value);
}

int CallerLimit::PerMinute(const authz::Principal& who) const {
  if (who.token.valid()) return who.requests_per_minute.value_or(limits_.token_per_minute);
  return limits_.user_per_minute;
}

// A bucket counts in 60,000,000ths of a request: a microsecond adds `per_minute` of them, so
// refilling is exact integer arithmetic.
constexpr int64_t kRequest = 60'000'000;

int64_t CallerLimit::Take(const authz::Principal& who) {
  const int per_minute = PerMinute(who);
  if (per_minute <= 0) return 0;
  const uint64_t key = Id(who);
  const int64_t now = clock_.Now().micros;
  const int64_t full = per_minute * kRequest;
  Shard& shard = shards_[(key ^ (key >> 62)) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) {
    MakeRoom(shard, now);
    it = shard.buckets.emplace(key, Bucket{full, now, false, per_minute}).first;
  }
  Bucket& b = it->second;
  b.per_minute = per_minute;  // a token's own limit may have changed since
  const int64_t idle = std::max<int64_t>(0, now - b.at);
  b.left = idle >= kRequest ? full : std::min(full, b.left + idle * per_minute);
  b.at = now;
  if (b.left >= kRequest) {
    b.left -= kRequest;
    b.refused = false;
    return 0;
  }
  if (!b.refused) {
    b.refused = true;
    core::LogWarn("a caller went over its request limit",
                  {{"caller", Key(who)}, {"limit_per_minute", std::to_string(per_minute)}});
  }
  const int64_t wait_micros = (kRequest - b.left + per_minute - 1) / per_minute;
  return std::max<int64_t>(1, (wait_micros + 999'999) / 1'000'000);
}

void CallerLimit::MakeRoom(Shard& shard, int64_t now) {
  const size_t room = std::max<size_t>(1, limits_.max_callers / kShards);
  if (shard.buckets.size() < room) return;
  // A bucket that has refilled is the same as none.
  std::erase_if(shard.buckets, [&](const auto& kv) {
    const int64_t idle = now - kv.second.at;
    const int64_t per_minute = kv.second.per_minute;
    return idle >= kRequest || kv.second.left + idle * per_minute >= per_minute * kRequest;
  });
  if (shard.buckets.size() < room) return;
  // Still full: forget the half least recently seen, so that this walk comes once in many.
  std::vector<int64_t> seen;
  seen.reserve(shard.buckets.size());
  for (const auto& [key, b] : shard.buckets) seen.push_back(b.at);
  auto middle = seen.begin() + static_cast<ptrdiff_t>(seen.size() / 2);
  std::nth_element(seen.begin(), middle, seen.end());
  const int64_t cut = *middle;
  std::erase_if(shard.buckets, [&](const auto& kv) { return kv.second.at < cut; });
}

size_t CallerLimit::Callers() {
  size_t n = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.buckets.size();
  }
  return n;
}

std::string TooManyRequests(int per_minute, int64_t retry_after_seconds) {
  return fmt::format("too many requests: at most {} a minute are accepted from one caller; try again in {} second{}",
                     per_minute, retry_after_seconds, retry_after_seconds == 1 ? "" : "s");
}

}  // namespace http
