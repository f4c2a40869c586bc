#include "eligibility/decimal.h"

#include <fmt/format.h>

namespace eligibility::decimal {
namespace {

std::optional<int64_t> Narrow(Int128 v) {
  if (v > INT64_MAX || v < INT64_MIN) return std::nullopt;
  return static_cast<int64_t>(v);
}

// a / b rounded to nearest, halves away from zero. b != 0.
Int128 DivRound(Int128 a, Int128 b) {
  Int128 q = a / b;
  Int128 r = a % b;
  if (r != 0) {
    Int128 twice = (r < 0 ? -r : r) * 2;
    Int128 babs = b < 0 ? -b : b;
    if (twice >= babs) q += ((a < 0) != (b < 0)) ? -1 : 1;
  }
  return q;
}

}  // namespace

std::optional<int64_t> Parse(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool negative = false;
  if (text.front() == '-' || text.front() == '+') {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() && frac.empty()) return std::nullopt;
  if (frac.size() > 6) return std::nullopt;
  // Commas group thousands, as written ("1,234,567"): "12,34" is a mistake, not 1234.
  if (whole.find(',') != std::string_view::npos) {
    size_t group = 0;  // digits since the last comma
    bool first = true;
    for (char c : whole) {
      if (c == ',') {
        if (group == 0 || group > 3 || (!first && group != 3)) return std::nullopt;
        first = false;
        group = 0;
      } else if (c != '_') {
        ++group;
      }
    }
    if (group != 3) return std::nullopt;
  }
  Int128 v = 0;
  for (char c : whole) {
    if (c == '_' || c == ',') continue;
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
    if (v > INT64_MAX) return std::nullopt;
  }
  v *= kScale;
  int64_t place = kScale / 10;
  for (char c : frac) {
    if (c < '0' || c > '9') return std::nullopt;
    v += (c - '0') * place;
    place /= 10;
  }
  return Narrow(negative ? -v : v);
}

// Written out by hand rather than with fmt: explanations format dozens of values per program.
std::string ToString(int64_t value) {
  uint64_t abs = value < 0 ? static_cast<uint64_t>(-(value + 1)) + 1 : static_cast<uint64_t>(value);
  char buf[40];
  char* end = buf + sizeof buf;
  char* p = end;
  uint64_t whole = abs / kScale;
  uint64_t frac = abs % kScale;
  if (frac != 0) {
    int digits = 6;
    while (frac % 10 == 0) {
      frac /= 10;
      --digits;
    }
    for (int i = 0; i < digits; ++i) {
      *--p = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    *--p = '.';
  }
  do {
    *--p = static_cast<char>('0' + whole % 10);
    whole /= 10;
  } while (whole != 0);
  if (value < 0) *--p = '-';
  return std::string(p, end);
}

std::string ToMoneyString(int64_t value) {
  // Cents, rounded halves away from zero, then grouped.
  Int128 cents = DivRound(value, kScale / 100);
  bool negative = cents < 0;
  UInt128 abs = negative ? static_cast<UInt128>(-cents) : static_cast<UInt128>(cents);
  char buf[64];
  char* end = buf + sizeof buf;
  char* p = end;
  unsigned c = static_cast<unsigned>(abs % 100);
  *--p = static_cast<char>('0' + c % 10);
  *--p = static_cast<char>('0' + c / 10);
  *--p = '.';
  UInt128 units = abs / 100;
  int n = 0;
  do {
    if (n > 0 && n % 3 == 0) *--p = ',';
    *--p = static_cast<char>('0' + static_cast<unsigned>(units % 10));
    units /= 10;
    ++n;
  } while (units != 0);
  if (negative) *--p = '-';
  return std::string(p, end);
}

std::optional<int64_t> Add(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_add_overflow(a, b, &out)) return std::nullopt;
  return out;
}

std::optional<int64_t> Sub(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_sub_overflow(a, b, &out)) return std::nullopt;
  return out;
}

std::optional<int64_t> Mul(int64_t a, int64_t b) {
  return Narrow(DivRound(static_cast<Int128>(a) * b, kScale));
}

std::optional<int64_t> Div(int64_t a, int64_t b) {
  if (b == 0) return std::nullopt;
  return Narrow(DivRound(static_cast<Int128>(a) * kScale, b));
}

std::optional<int64_t> RoundTo(int64_t value, int64_t unit, Rounding mode) {
  if (unit <= 0) return std::nullopt;
  Int128 q = value / unit;
  Int128 r = value % unit;
  if (r != 0) {
    switch (mode) {
      case Rounding::kDown:
        if (r < 0) q -= 1;
        break;
      case Rounding::kUp:
        if (r > 0) q += 1;
        break;
      case Rounding::kNearest: {
        Int128 twice = (r < 0 ? -r : r) * 2;
        if (twice >= unit) q += r < 0 ? -1 : 1;
        break;
      }
    }
  }
  return Narrow(q * unit);
}

}  // namespace eligibility::decimal
