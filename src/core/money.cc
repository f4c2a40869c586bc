#include "core/money.h"

#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

namespace core {

StatusOr<Money> Money::Parse(std::string_view text) {
  const Status bad = Status::InvalidArgument("an amount must be written like 1234.56");
  if (text.empty()) return bad;
  bool negative = false;
  if (text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  auto dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && frac.empty())) return bad;
  if (frac.size() > 2) return Status::InvalidArgument("an amount has at most two decimals");
  for (char c : whole) if (c < '0' || c > '9') return bad;
  for (char c : frac) if (c < '0' || c > '9') return bad;
  int64_t units = 0;
  const Status too_large = Status::OutOfRange("the amount is too large");
  auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), units);
  if (ec != std::errc()) return too_large;
  int64_t cents = 0;
  if (!frac.empty()) {
    cents = (frac[0] - '0') * 10 + (frac.size() > 1 ? frac[1] - '0' : 0);
  }
  // Built on the side of its sign so that every int64 amount, INT64_MIN included, parses back
  // from its ToString().
  int64_t minor = 0;
  if (__builtin_mul_overflow(units, negative ? -100 : 100, &minor)) return too_large;
  if (negative ? __builtin_sub_overflow(minor, cents, &minor) : __builtin_add_overflow(minor, cents, &minor)) {
    return too_large;
  }
  return Money(minor);
}

std::string Money::ToString() const {
  uint64_t abs = minor_ < 0 ? static_cast<uint64_t>(-(minor_ + 1)) + 1 : static_cast<uint64_t>(minor_);
  return fmt::format("{}{}.{:02}", minor_ < 0 ? "-" : "", abs / 100, abs % 100);
}

StatusOr<Money> Money::Add(Money other) const {
  int64_t out;
  if (__builtin_add_overflow(minor_, other.minor_, &out)) return Status::OutOfRange("amount overflow");
  return Money(out);
}

StatusOr<Money> Money::Subtract(Money other) const {
  int64_t out;
  if (__builtin_sub_overflow(minor_, other.minor_, &out)) return Status::OutOfRange("amount overflow");
  return Money(out);
}

StatusOr<Money> Money::Multiply(int64_t factor) const {
  int64_t out;
  if (__builtin_mul_overflow(minor_, factor, &out)) return Status::OutOfRange("amount overflow");
  return Money(out);
}

}  // namespace core
