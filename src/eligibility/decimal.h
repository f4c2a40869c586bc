#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eligibility {

// Exact decimals for the rule language: an int64 count of millionths. Amounts of money and
// rates are both decimals, so no binary floating point ever touches money. The range is about
// ±9.2 trillion; an operation that leaves it returns nullopt (the engine makes it an error).
namespace decimal {

inline constexpr int64_t kScale = 1'000'000;
// 128-bit intermediates keep products and quotients exact before they are narrowed.
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

// "12", "-0.5", "1234.567891". More than six decimals, or no digits, is nullopt.
std::optional<int64_t> Parse(std::string_view text);
// The shortest exact form: "12", "0.5", "-1234.56".
std::string ToString(int64_t value);
// With exactly two decimals and thousands separators: "1,234.50".
std::string ToMoneyString(int64_t value);

std::optional<int64_t> Add(int64_t a, int64_t b);
std::optional<int64_t> Sub(int64_t a, int64_t b);
// Rounded to six decimals, halves away from zero.
std::optional<int64_t> Mul(int64_t a, int64_t b);
// nullopt when b is zero or the result is out of range. Rounded like Mul.
std::optional<int64_t> Div(int64_t a, int64_t b);

enum class Rounding { kNearest, kDown, kUp };  // round (halves up), floor, ceil
// To a multiple of `unit` (> 0). nullopt when unit <= 0 or out of range.
std::optional<int64_t> RoundTo(int64_t value, int64_t unit, Rounding mode);

inline constexpr int64_t FromInt(int64_t v) { return v * kScale; }

}  // namespace decimal
}  // namespace eligibility
