#include "core/date.h"

#include <charconv>

#include <fmt/format.h>

namespace core {
namespace {

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

std::optional<int> ParseInt(std::string_view s, size_t min_len, size_t max_len) {
  if (s.size() < min_len || s.size() > max_len) return std::nullopt;
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

constexpr const char* kMonthNames[] = {"January", "February", "March",     "April",
                                       "May",     "June",     "July",      "August",
                                       "September", "October", "November", "December"};

}  // namespace

bool Date::IsValid(int y, int m, int d) {
  return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= DaysInMonth(y, m);
}

StatusOr<Date> Date::Parse(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
    return Status::InvalidArgument("a date must be written YYYY-MM-DD");
  }
  auto y = ParseInt(text.substr(0, 4), 4, 4);
  auto m = ParseInt(text.substr(5, 2), 2, 2);
  auto d = ParseInt(text.substr(8, 2), 2, 2);
  if (!y || !m || !d) return Status::InvalidArgument("a date must be written YYYY-MM-DD");
  if (!IsValid(*y, *m, *d)) return Status::InvalidArgument("the date does not exist");
  return Date{*y, *m, *d};
}

std::string Date::ToString() const { return fmt::format("{:04}-{:02}-{:02}", year, month, day); }

// Howard Hinnant's days_from_civil.
int64_t Date::ToDays() const {
  int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned mp = static_cast<unsigned>(month + (month > 2 ? -3 : 9));
  const unsigned doy = (153 * mp + 2) / 5 + static_cast<unsigned>(day) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
}

Date Date::FromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return Date{static_cast<int>(y + (m <= 2 ? 1 : 0)), static_cast<int>(m), static_cast<int>(d)};
}

StatusOr<PartialDate> PartialDate::Parse(std::string_view text) {
  const Status bad = Status::InvalidArgument("a date must be written YYYY, YYYY-MM or YYYY-MM-DD");
  if (text.size() == 4) {
    auto y = ParseInt(text, 4, 4);
    if (!y || *y < 1) return bad;
    return PartialDate{*y, 0, 0};
  }
  if (text.size() == 7 && text[4] == '-') {
    auto y = ParseInt(text.substr(0, 4), 4, 4);
    auto m = ParseInt(text.substr(5, 2), 2, 2);
    if (!y || !m || *y < 1) return bad;
    if (*m < 1 || *m > 12) return Status::InvalidArgument("the month must be between 1 and 12");
    return PartialDate{*y, *m, 0};
  }
  auto full = Date::Parse(text);
  if (!full.ok()) return full.status();
  return PartialDate{full->year, full->month, full->day};
}

StatusOr<PartialDate> PartialDate::FromParts(std::string_view day, std::string_view month,
                                             std::string_view year) {
  if (year.empty()) return Status::InvalidArgument("the date must include a year");
  auto y = ParseInt(year, 4, 4);
  if (!y || *y < 1) return Status::InvalidArgument("the year must have 4 digits");
  PartialDate out{*y, 0, 0};
  if (month.empty()) {
    if (!day.empty()) return Status::InvalidArgument("the date must include a month with its day");
    return out;
  }
  auto m = ParseInt(month, 1, 2);
  if (!m || *m < 1 || *m > 12) return Status::InvalidArgument("the month must be between 1 and 12");
  out.month = *m;
  if (day.empty()) return out;
  auto d = ParseInt(day, 1, 2);
  if (!d || !Date::IsValid(*y, *m, *d)) return Status::InvalidArgument("the day does not exist in that month");
  out.day = *d;
  return out;
}

std::string PartialDate::ToString() const {
  if (month == 0) return fmt::format("{:04}", year);
  if (day == 0) return fmt::format("{:04}-{:02}", year, month);
  return fmt::format("{:04}-{:02}-{:02}", year, month, day);
}

std::string PartialDate::ToDisplay() const {
  if (month == 0) return fmt::format("{}", year);
  if (day == 0) return fmt::format("{} {}", kMonthNames[month - 1], year);
  return fmt::format("{} {} {}", day, kMonthNames[month - 1], year);
}

std::optional<int> PartialDate::AgeOn(Date on) const {
  if (!complete()) return std::nullopt;
  int age = on.year - year - ((on.month < month || (on.month == month && on.day < day)) ? 1 : 0);
  if (age < 0) return std::nullopt;
  return age;
}

}  // namespace core
