#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "access/principal.h"
#include "core/clock.h"

namespace http {

// Limits how many requests one signed-in caller makes: each staff user, portal account and API
// token has a bucket of `per_minute` requests, refilled evenly over a minute, so that a caller may
// send a whole minute's requests at once and then one every 60/per_minute seconds. Kept in
// memory, per server, at most `max_callers` at once (beyond, the callers whose buckets have
// refilled are forgotten first). Thread-safe.
class CallerLimit {
 public:
  struct Limits {
    int user_per_minute = 600;    // staff users and portal accounts; 0: no limit
    int token_per_minute = 6000;  // API tokens; 0: no limit
    size_t max_callers = 100'000;
  };

  CallerLimit(const core::Clock& clock, Limits limits) : clock_(clock), limits_(limits) {}

  // Counts one request of `who`: 0 when it may go on, otherwise the whole seconds until it may
  // (the request is then not counted).
  int64_t Take(const authz::Principal& who);
  // The limit that applies to `who`, per minute; 0: none. An API token's own limit
  // (Principal::requests_per_minute) when it has one, else the deployment's for its kind.
  int PerMinute(const authz::Principal& who) const;

  // How many callers are remembered now.
  size_t Callers();

  // What a caller is called in the log: "token:12", "user:7", "portal:3". Ids only, no names.
  static std::string Key(const authz::Principal& who);

 private:
  struct Bucket {
    int64_t left = 0;  // what may be spent now, in 60,000,000ths of a request
    int64_t at = 0;    // when `left` was last brought up to date
    bool refused = false;  // the last request was refused (logged once per refusal spell)
    int per_minute = 0;    // the caller's limit at its last request
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<uint64_t, Bucket> buckets;  // GUARDED_BY(mu), by Id()
  };
  static constexpr size_t kShards = 16;

  // What a caller is counted under: its id, its kind in the top two bits.
  static uint64_t Id(const authz::Principal& who);
  void MakeRoom(Shard& shard, int64_t now);  // REQUIRES(shard.mu)

  const core::Clock& clock_;
  const Limits limits_;
  std::array<Shard, kShards> shards_;
};

// What a caller past its limit is told.
std::string TooManyRequests(int per_minute, int64_t retry_after_seconds);

}  // namespace http
