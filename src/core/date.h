#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace core {

// A calendar date without time zone.
struct Date {
  int year = 0;
  int month = 0;
  int day = 0;
  auto operator<=>(const Date&) const = default;

  static bool IsValid(int y, int m, int d);
  // Parses "YYYY-MM-DD". InvalidArgument names what is wrong.
  static StatusOr<Date> Parse(std::string_view text);
  std::string ToString() const;
  // Days since 1970-01-01.
  int64_t ToDays() const;
  static Date FromDays(int64_t days);
};

// A date of which only the year, or the year and month, may be known, as people often give
// their date of birth. Text forms: "1985", "1985-03", "1985-03-27".
struct PartialDate {
  int year = 0;
  int month = 0;  // 0 when unknown
  int day = 0;    // 0 when unknown (and always when month is unknown)
  auto operator<=>(const PartialDate&) const = default;

  static StatusOr<PartialDate> Parse(std::string_view text);
  // Builds from form fields where empty parts are unknown. `today` bounds the year.
  static StatusOr<PartialDate> FromParts(std::string_view day, std::string_view month,
                                         std::string_view year);
  bool complete() const { return day != 0; }
  std::string ToString() const;
  // "27 March 1985", "March 1985", "1985".
  std::string ToDisplay() const;
  // Age in whole years on `on`; nullopt when the date is not complete or after `on`.
  std::optional<int> AgeOn(Date on) const;
};

}  // namespace core
