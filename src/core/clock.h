#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "core/date.h"

namespace core {

// Microseconds since the Unix epoch, UTC.
struct Timestamp {
  int64_t micros = 0;
  auto operator<=>(const Timestamp&) const = default;
  // RFC 3339 with millisecond precision: "2026-11-23T12:00:00.000Z".
  std::string ToRfc3339() const;
  Timestamp PlusSeconds(int64_t s) const { return {micros + s * 1'000'000}; }
  // The calendar date in UTC.
  Date UtcDate() const { return Date::FromDays(micros / (86400LL * 1'000'000)); }
};

// The source of "now". Injected so that deadlines and audit times are testable.
// Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp Now() const override;
};

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Timestamp start = {1'767'225'600'000'000}) : now_(start.micros) {}
  Timestamp Now() const override { return {now_.load()}; }
  void Advance(std::chrono::microseconds d) { now_ += d.count(); }
  void Set(Timestamp t) { now_ = t.micros; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace core
