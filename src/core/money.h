#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace core {

// An exact amount of money in integer minor units (cents). No binary floating point.
// Arithmetic that would overflow int64 fails rather than wraps.
class Money {
 public:
  constexpr Money() = default;
  static constexpr Money FromMinor(int64_t minor) { return Money(minor); }
  // Parses "12", "12.3", "12.34", "-0.05". More than two decimals is an error, not a rounding.
  static StatusOr<Money> Parse(std::string_view text);

  int64_t minor() const { return minor_; }
  std::string ToString() const;  // "1234.50"

  StatusOr<Money> Add(Money other) const;
  StatusOr<Money> Subtract(Money other) const;
  StatusOr<Money> Multiply(int64_t factor) const;
  auto operator<=>(const Money&) const = default;

 private:
  constexpr explicit Money(int64_t minor) : minor_(minor) {}
  int64_t minor_ = 0;
};

}  // namespace core
