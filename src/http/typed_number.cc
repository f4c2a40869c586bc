#include "http/typed_number.h"

#include <algorithm>
#include <array>

namespace http {

std::string AsciiDigits(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    if (b == 0xD9 && next >= 0xA0 && next <= 0xA9) {  // U+0660–0669
      out += static_cast<char>('0' + (next - 0xA0));
      ++i;
    } else if (b == 0xDB && next >= 0xB0 && next <= 0xB9) {  // U+06F0–06F9
      out += static_cast<char>('0' + (next - 0xB0));
      ++i;
    } else {
      out += static_cast<char>(b);
    }
  }
  return out;
}

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The text with Arabic-Indic digits and marks made ASCII, and spaces (which group digits in
// many languages) dropped.
std::string Plain(std::string_view typed) {
  const std::string text = AsciiDigits(typed);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    const auto third = i + 2 < text.size() ? static_cast<unsigned char>(text[i + 2]) : 0;
    if (b == 0xD9 && next == 0xAB) {  // U+066B, the Arabic decimal separator
      out += '.';
      ++i;
    } else if (b == 0xD9 && next == 0xAC) {  // U+066C, the Arabic thousands separator
      out += ',';
      ++i;
    } else if (b == 0xC2 && next == 0xA0) {  // no-break space
      ++i;
    } else if (b == 0xE2 && next == 0x80 &&
               (third == 0xAF || third == 0x89)) {  // narrow and thin spaces
      i += 2;
    } else if (b != ' ' && b != '\t') {
      out += static_cast<char>(b);
    }
  }
  return out;
}

// `s` without the currency signs at its start (after a minus) or end.
std::string WithoutCurrency(std::string s) {
  static constexpr std::array<std::string_view, 5> kSigns = {"US$", "$", "£", "€", "USD"};
  bool changed = true;
  while (changed) {
    changed = false;
    for (std::string_view sign : kSigns) {
      const size_t at = !s.empty() && s[0] == '-' ? 1 : 0;
      if (s.compare(at, sign.size(), sign) == 0) {
        s.erase(at, sign.size());
        changed = true;
      }
      if (s.size() >= sign.size() && s.compare(s.size() - sign.size(), sign.size(), sign) == 0) {
        s.erase(s.size() - sign.size());
        changed = true;
      }
    }
  }
  return s;
}

}  // namespace

std::optional<std::string> NumberFromTyped(std::string_view text, bool money, char decimal_mark) {
  std::string s = WithoutCurrency(Plain(text));
  std::string sign;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    if (s[0] == '-') sign = "-";
    s.erase(0, 1);
  }
  if (s.empty()) return std::nullopt;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return IsDigit(c) || c == '.' || c == ','; }))
    return std::nullopt;
  const size_t last = s.find_last_of(".,");
  if (last == std::string::npos) return sign + s;

  const char mark = s[last];
  const size_t marks = static_cast<size_t>(std::count(s.begin(), s.end(), mark));
  const bool both = s.find(mark == '.' ? ',' : '.') != std::string::npos;
  const size_t tail = s.size() - last - 1;
  // Which mark, if any, is the decimal one.
  char decimal = 0;
  if (both) {
    if (marks > 1) return std::nullopt;  // "1.200.50,5"
    decimal = mark;
  } else if (marks == 1) {
    if (tail != 3)
      decimal = mark;
    else if (!money && mark == decimal_mark)
      decimal = mark;
  }
  std::string whole = decimal != 0 ? s.substr(0, last) : s;
  const std::string fraction = decimal != 0 ? s.substr(last + 1) : "";
  if (fraction.find_first_of(".,") != std::string::npos) return std::nullopt;
  if (money && fraction.size() > 2) return std::nullopt;
  // The whole part: digits, grouped in threes by the other mark if at all.
  const size_t first_group = whole.find_first_of(".,");
  if (first_group != std::string::npos) {
    const char group = whole[first_group];
    if (group == decimal) return std::nullopt;
    size_t start = 0;
    std::string digits;
    while (true) {
      const size_t end = whole.find(group, start);
      const std::string part =
          whole.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (part.find_first_of(".,") != std::string::npos) return std::nullopt;
      if (start == 0 ? (part.empty() || part.size() > 3) : part.size() != 3) return std::nullopt;
      digits += part;
      if (end == std::string::npos) break;
      start = end + 1;
    }
    whole = digits;
  }
  if (whole.empty()) whole = "0";  // ".5"
  return fraction.empty() ? sign + whole : sign + whole + "." + fraction;
}

char DecimalMarkOf(std::string_view language) {
  const std::string_view base = language.substr(0, language.find_first_of("-_"));
  static constexpr std::array<std::string_view, 16> kComma = {"es", "fr", "de", "it", "pt", "nl",
                                                              "ru", "pl", "tr", "uk", "ro", "sv",
                                                              "da", "nb", "fi", "cs"};
  return std::find(kComma.begin(), kComma.end(), base) != kComma.end() ? ',' : '.';
}

}  // namespace http
