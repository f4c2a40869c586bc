#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/status.h"
#include "storage/database.h"

// An office's own clock and calendar: its time zone (an IANA name; the deployment's when it has
// none of its own), its weekly opening hours and the days it is closed. Times are stored in UTC
// and shown in the office's zone; the day that numbers an office's tickets is the office's day.
// An office with no opening hours set is taken to be open at all times.
namespace frontoffice {

// A moment as the office's clock shows it.
struct LocalTime {
  core::Date date;
  int weekday = 1;  // 1 Monday … 7 Sunday
  int minute = 0;   // since local midnight
};

// kInvalidArgument for a zone ICU does not know.
core::Status CheckZone(const std::string& zone);
core::StatusOr<LocalTime> ToLocal(core::Timestamp t, const std::string& zone);
// The instant the local `date` and `minute` name in `zone`. In the hour that is lived twice when
// the clocks go back, the first; in the hour skipped when they go forward, the moment after it.
core::StatusOr<core::Timestamp> FromLocal(core::Date date, int minute, const std::string& zone);
int Weekday(core::Date date);
std::string_view WeekdayName(int weekday);  // "Monday"
std::string ClockText(int minute);          // 540 → "09:00"
// "9:00", "09:00", "0900" or "24:00" → minutes since midnight; kInvalidArgument otherwise.
core::StatusOr<int> ParseClock(std::string_view text);
// "Tuesday 2 December 2026"
std::string DateText(core::Date date);

struct OpeningPeriod {
  int weekday = 1;  // 1 Monday … 7 Sunday
  int opens = 0;    // minutes since local midnight
  int closes = 0;   // after `opens`; at most 1440
};

struct Closure {
  core::Date date;
  std::string reason;  // "Christmas Day"
};

struct OfficeHours {
  int64_t office = 0;
  int64_t agency = 0;
  std::string name;
  std::string address;
  std::string time_zone;  // in force: the office's own, or the deployment's
  bool own_zone = false;
  std::vector<OpeningPeriod> periods;  // by weekday, then opening
  std::vector<Closure> closures;       // by date

  bool HasHours() const { return !periods.empty(); }
  bool ClosedOn(core::Date date) const;
  // Open at `t`: within a period of a day that is not a closure (always, without hours).
  core::StatusOr<bool> OpenAt(core::Timestamp t) const;
  // The next moment after `t` the office opens, within four weeks; none without hours or when
  // it stays closed that long.
  core::StatusOr<std::optional<core::Timestamp>> NextOpening(core::Timestamp t) const;
  // When the office closes after `t`, if it is open then and has hours.
  core::StatusOr<std::optional<core::Timestamp>> ClosesAfter(core::Timestamp t) const;
  // Whether [start, end) lies within one opening period of a day the office is open.
  core::StatusOr<bool> Covers(core::Timestamp start, core::Timestamp end) const;
  // One line per group of days with the same hours: "Monday to Friday: 09:00 to 17:00".
  std::vector<std::string> Describe() const;
  // In the office's zone: "14:05"; "Tuesday 2 December 2026, 14:05"; "Tuesday at 09:00" (or
  // "today at"/"tomorrow at" as seen from `now`).
  std::string Clock(core::Timestamp t) const;
  std::string DateTime(core::Timestamp t) const;
  std::string When(core::Timestamp t, core::Timestamp now) const;
};

struct HoursChange {
  std::string time_zone;  // empty: the deployment's
  std::vector<OpeningPeriod> periods;
  std::vector<Closure> closures;
};

// Thread-safe.
class OfficeHoursService {
 public:
  OfficeHoursService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock,
                     std::string default_zone);

  // Public: opening hours are what every visitor needs to know. kNotFound without the office.
  core::StatusOr<OfficeHours> Get(int64_t office);
  core::StatusOr<OfficeHours> Get(storage::Transaction& tx, int64_t office);
  // Replaces the office's zone, weekly hours and closures at once. Managers and administrators
  // of the office's agency; every mistake is named by its field ("hours/2/closes").
  core::StatusOr<OfficeHours> Set(const authz::Principal& who, int64_t office, const HoursChange& change);
  // The office's date now, in its zone (the day its tickets are numbered by).
  core::StatusOr<core::Date> Today(storage::Transaction& tx, int64_t office);
  const std::string& default_zone() const { return default_zone_; }
  core::Timestamp Now() const { return clock_.Now(); }

 private:
  storage::Database& db_;
  audit::AuditLog& audit_;
  const core::Clock& clock_;
  std::string default_zone_;
};

}  // namespace frontoffice
