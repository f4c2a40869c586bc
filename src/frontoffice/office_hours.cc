#include "frontoffice/office_hours.h"

#include <fmt/format.h>
#include <unicode/timezone.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

#include "core/utf8.h"

namespace frontoffice {

using core::Status;
using core::StatusOr;

namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kDayMs = 86'400'000;
constexpr int kDayMinutes = 1440;

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Each zone is made once and kept: ICU's const methods may be called from any thread, and the
// kiosk, call-next and every time on a page convert with it.
StatusOr<const icu::TimeZone*> Zone(const std::string& zone) {
  static std::mutex mu;
  static auto* zones = new std::map<std::string, std::unique_ptr<icu::TimeZone>>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = zones->find(zone);
  if (it == zones->end()) {
    std::unique_ptr<icu::TimeZone> tz(icu::TimeZone::createTimeZone(icu::UnicodeString::fromUTF8(zone)));
    if (zone.empty() || tz == nullptr || *tz == icu::TimeZone::getUnknown()) {
      return Status::InvalidArgument(fmt::format("unknown time zone '{}'; use an IANA name like Europe/Brussels", zone));
    }
    it = zones->emplace(zone, std::move(tz)).first;
  }
  return it->second.get();
}

constexpr std::string_view kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                        "July",    "August",   "September", "October", "November", "December"};

}  // namespace

Status CheckZone(const std::string& zone) { return Zone(zone).status(); }

int Weekday(core::Date date) {
  // 1970-01-01 was a Thursday.
  return static_cast<int>(((date.ToDays() + 3) % 7 + 7) % 7) + 1;
}

std::string_view WeekdayName(int weekday) {
  static constexpr std::string_view kNames[] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                                "Friday", "Saturday", "Sunday"};
  return weekday >= 1 && weekday <= 7 ? kNames[weekday - 1] : std::string_view("?");
}

std::string ClockText(int minute) { return fmt::format("{:02}:{:02}", minute / 60, minute % 60); }

StatusOr<int> ParseClock(std::string_view text) {
  std::string digits;
  size_t colon = std::string_view::npos;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if ((c == ':' || c == '.') && colon == std::string_view::npos) {
      colon = digits.size();
    } else {
      digits.clear();
      break;
    }
  }
  int h = -1;
  int m = -1;
  if (colon != std::string_view::npos && colon >= 1 && colon <= 2 && digits.size() - colon == 2) {
    h = std::stoi(digits.substr(0, colon));
    m = std::stoi(digits.substr(colon));
  } else if (colon == std::string_view::npos && digits.size() == 4) {
    h = std::stoi(digits.substr(0, 2));
    m = std::stoi(digits.substr(2));
  }
  if (h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0)) {
    return Status::InvalidArgument(fmt::format("'{}' is not a time of day; write it like 09:30", text));
  }
  return h * 60 + m;
}

std::string DateText(core::Date date) {
  return fmt::format("{} {} {} {}", WeekdayName(Weekday(date)), date.day,
                     date.month >= 1 && date.month <= 12 ? kMonths[date.month - 1] : "?", date.year);
}

StatusOr<LocalTime> ToLocal(core::Timestamp t, const std::string& zone) {
  ASSIGN_OR_RETURN(auto tz, Zone(zone));
  UErrorCode status = U_ZERO_ERROR;
  int32_t raw = 0;
  int32_t dst = 0;
  const int64_t ms = FloorDiv(t.micros, 1000);
  tz->getOffset(static_cast<UDate>(ms), false, raw, dst, status);
  if (U_FAILURE(status)) return Status::Internal("the time zone's offset could not be read");
  const int64_t local = ms + raw + dst;
  LocalTime out;
  out.date = core::Date::FromDays(FloorDiv(local, kDayMs));
  out.weekday = Weekday(out.date);
  out.minute = static_cast<int>((local - FloorDiv(local, kDayMs) * kDayMs) / kMinuteMs);
  return out;
}

StatusOr<core::Timestamp> FromLocal(core::Date date, int minute, const std::string& zone) {
  ASSIGN_OR_RETURN(auto tz, Zone(zone));
  const int64_t local = date.ToDays() * kDayMs + static_cast<int64_t>(minute) * kMinuteMs;
  // The offsets in force three hours either side; the first that maps back onto the wall time
  // wins (the earlier instant in a fold). In a gap neither does: the offset from before the gap
  // moves the time forward by the gap, as clocks do (02:30 becomes 03:30).
  UErrorCode status = U_ZERO_ERROR;
  std::optional<int64_t> chosen;
  std::optional<int64_t> before_gap;
  for (int64_t probe : {local - 3 * 3'600'000LL, local + 3 * 3'600'000LL}) {
    int32_t raw = 0;
    int32_t dst = 0;
    tz->getOffset(static_cast<UDate>(probe), false, raw, dst, status);
    if (U_FAILURE(status)) return Status::Internal("the time zone's offset could not be read");
    const int64_t utc = local - raw - dst;
    if (!before_gap) before_gap = utc;
    int32_t r2 = 0;
    int32_t d2 = 0;
    tz->getOffset(static_cast<UDate>(utc), false, r2, d2, status);
    if (U_FAILURE(status)) return Status::Internal("the time zone's offset could not be read");
    if (utc + r2 + d2 == local && !chosen) chosen = utc;
  }
  if (!chosen) chosen = before_gap;
  return core::Timestamp{*chosen * 1000};
}

bool OfficeHours::ClosedOn(core::Date date) const {
  return std::any_of(closures.begin(), closures.end(), [&](const Closure& c) { return c.date == date; });
}

StatusOr<bool> OfficeHours::OpenAt(core::Timestamp t) const {
  if (!HasHours()) return true;
  ASSIGN_OR_RETURN(LocalTime l, ToLocal(t, time_zone));
  if (ClosedOn(l.date)) return false;
  for (const auto& p : periods) {
    if (p.weekday == l.weekday && l.minute >= p.opens && l.minute < p.closes) return true;
  }
  return false;
}

StatusOr<std::optional<core::Timestamp>> OfficeHours::NextOpening(core::Timestamp t) const {
  if (!HasHours()) return std::optional<core::Timestamp>();
  ASSIGN_OR_RETURN(LocalTime l, ToLocal(t, time_zone));
  for (int d = 0; d <= 28; ++d) {
    const core::Date date = core::Date::FromDays(l.date.ToDays() + d);
    if (ClosedOn(date)) continue;
    const int weekday = Weekday(date);
    for (const auto& p : periods) {
      if (p.weekday != weekday) continue;
      ASSIGN_OR_RETURN(core::Timestamp at, FromLocal(date, p.opens, time_zone));
      if (at > t) return std::optional<core::Timestamp>(at);
    }
  }
  return std::optional<core::Timestamp>();
}

StatusOr<std::optional<core::Timestamp>> OfficeHours::ClosesAfter(core::Timestamp t) const {
  if (!HasHours()) return std::optional<core::Timestamp>();
  ASSIGN_OR_RETURN(LocalTime l, ToLocal(t, time_zone));
  if (ClosedOn(l.date)) return std::optional<core::Timestamp>();
  for (const auto& p : periods) {
    if (p.weekday == l.weekday && l.minute >= p.opens && l.minute < p.closes) {
      ASSIGN_OR_RETURN(core::Timestamp at, FromLocal(l.date, p.closes, time_zone));
      return std::optional<core::Timestamp>(at);
    }
  }
  return std::optional<core::Timestamp>();
}

StatusOr<bool> OfficeHours::Covers(core::Timestamp start, core::Timestamp end) const {
  if (!HasHours()) return true;
  if (end <= start) return false;
  ASSIGN_OR_RETURN(LocalTime a, ToLocal(start, time_zone));
  if (ClosedOn(a.date)) return false;
  for (const auto& p : periods) {
    if (p.weekday != a.weekday || a.minute < p.opens || a.minute >= p.closes) continue;
    ASSIGN_OR_RETURN(core::Timestamp closes, FromLocal(a.date, p.closes, time_zone));
    return end <= closes;
  }
  return false;
}

std::vector<std::string> OfficeHours::Describe() const {
  // Each weekday's hours as text, then runs of consecutive days with the same text.
  std::string day_text[8];
  for (int d = 1; d <= 7; ++d) {
    std::vector<std::string> parts;
    for (const auto& p : periods) {
      if (p.weekday == d) parts.push_back(ClockText(p.opens) + " to " + ClockText(p.closes));
    }
    if (parts.empty()) {
      day_text[d] = "closed";
    } else {
      day_text[d] = parts.front();
      for (size_t i = 1; i < parts.size(); ++i) day_text[d] += (i + 1 == parts.size() ? " and " : ", ") + parts[i];
    }
  }
  std::vector<std::string> out;
  for (int d = 1; d <= 7;) {
    int last = d;
    while (last + 1 <= 7 && day_text[last + 1] == day_text[d]) ++last;
    std::string days(WeekdayName(d));
    if (last == d + 1) days += " and " + std::string(WeekdayName(last));
    if (last > d + 1) days += " to " + std::string(WeekdayName(last));
    out.push_back(days + ": " + day_text[d]);
    d = last + 1;
  }
  return out;
}

std::string OfficeHours::Clock(core::Timestamp t) const {
  auto l = ToLocal(t, time_zone);
  return l.ok() ? ClockText(l->minute) : t.ToRfc3339().substr(11, 5);
}

std::string OfficeHours::DateTime(core::Timestamp t) const {
  auto l = ToLocal(t, time_zone);
  return l.ok() ? DateText(l->date) + ", " + ClockText(l->minute) : t.ToRfc3339().substr(0, 16);
}

std::string OfficeHours::When(core::Timestamp t, core::Timestamp now) const {
  auto l = ToLocal(t, time_zone);
  auto n = ToLocal(now, time_zone);
  if (!l.ok() || !n.ok()) return t.ToRfc3339().substr(0, 16);
  const int64_t days = l->date.ToDays() - n->date.ToDays();
  std::string day = days == 0   ? "today"
                    : days == 1 ? "tomorrow"
                    : days < 7  ? std::string(WeekdayName(l->weekday))
                                : DateText(l->date);
  return day + " at " + ClockText(l->minute);
}

OfficeHoursService::OfficeHoursService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock,
                                       std::string default_zone)
    : db_(db), audit_(audit), clock_(clock), default_zone_(std::move(default_zone)) {}

StatusOr<OfficeHours> OfficeHoursService::Get(int64_t office) {
  OfficeHours out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, Get(tx, office));
    return Status::Ok();
  }));
  return out;
}

StatusOr<OfficeHours> OfficeHoursService::Get(storage::Transaction& tx, int64_t office) {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT id, agency_id, name, address, time_zone FROM offices WHERE id = ?", {office}));
  if (rows.empty()) return Status::NotFound(fmt::format("no office has id {}", office));
  OfficeHours out;
  const auto& r = rows.at(0);
  out.office = r.Int(0);
  out.agency = r.Int(1);
  out.name = r.Text(2);
  out.address = r.Text(3);
  out.own_zone = !r.Text(4).empty();
  out.time_zone = out.own_zone ? r.Text(4) : default_zone_;
  ASSIGN_OR_RETURN(storage::Rows periods, tx.Query("SELECT weekday, opens, closes FROM office_hours WHERE office_id = ? "
                                                   "ORDER BY weekday, opens",
                                                   {office}));
  for (const auto& p : periods) {
    out.periods.push_back({static_cast<int>(p.Int(0)), static_cast<int>(p.Int(1)), static_cast<int>(p.Int(2))});
  }
  ASSIGN_OR_RETURN(storage::Rows closures,
                   tx.Query("SELECT day, reason FROM office_closures WHERE office_id = ? ORDER BY day", {office}));
  for (const auto& c : closures) {
    auto d = core::Date::Parse(c.Text(0));
    if (d.ok()) out.closures.push_back({*d, c.Text(1)});
  }
  return out;
}

StatusOr<core::Date> OfficeHoursService::Today(storage::Transaction& tx, int64_t office) {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT time_zone FROM offices WHERE id = ?", {office}));
  const std::string zone = rows.empty() || rows.at(0).Text(0).empty() ? default_zone_ : rows.at(0).Text(0);
  ASSIGN_OR_RETURN(LocalTime l, ToLocal(clock_.Now(), zone));
  return l.date;
}

StatusOr<OfficeHours> OfficeHoursService::Set(const authz::Principal& who, int64_t office, const HoursChange& change) {
  std::vector<core::FieldError> errors;
  if (!change.time_zone.empty()) {
    if (Status s = CheckZone(change.time_zone); !s.ok()) errors.push_back({"time_zone", s.message()});
  }
  if (change.periods.size() > 70) errors.push_back({"hours", "at most 70 opening periods a week"});
  for (size_t i = 0; i < change.periods.size(); ++i) {
    const auto& p = change.periods[i];
    const std::string at = fmt::format("hours/{}", i);
    if (p.weekday < 1 || p.weekday > 7) errors.push_back({at + "/day", "a day of the week, Monday to Sunday"});
    if (p.opens < 0 || p.opens >= kDayMinutes) errors.push_back({at + "/opens", "a time of day from 00:00 to 23:59"});
    if (p.closes <= p.opens || p.closes > kDayMinutes) {
      errors.push_back({at + "/closes", "must be after the opening time, at 24:00 at the latest"});
    }
    for (size_t j = 0; j < i; ++j) {
      const auto& q = change.periods[j];
      if (q.weekday == p.weekday && p.opens < q.closes && q.opens < p.closes) {
        errors.push_back({at + "/opens", fmt::format("overlaps hours/{} on {}", j, WeekdayName(p.weekday))});
        break;
      }
    }
  }
  if (change.closures.size() > 400) errors.push_back({"closures", "at most 400 closed days"});
  for (size_t i = 0; i < change.closures.size(); ++i) {
    const auto& c = change.closures[i];
    const std::string at = fmt::format("closures/{}", i);
    if (core::Utf8Length(c.reason) > 200)
      errors.push_back({at + "/reason", "at most 200 characters"});
    for (size_t j = 0; j < i; ++j) {
      if (change.closures[j].date == c.date) {
        errors.push_back({at + "/date", fmt::format("{} is listed already", c.date.ToString())});
        break;
      }
    }
  }
  if (!errors.empty()) return Status::InvalidArgument("the opening hours have invalid fields", std::move(errors));
  OfficeHours out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT agency_id FROM offices WHERE id = ?", {office}));
    if (rows.empty()) return Status::NotFound(fmt::format("no office has id {}", office));
    if (rows.at(0).Int(0) != who.agency.value) {
      return Status::PermissionDenied("only the office's own agency sets its opening hours");
    }
    if (!who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin})) {
      return Status::PermissionDenied("only a manager or an administrator sets opening hours");
    }
    if (!who.HasScope("queues:write")) return Status::PermissionDenied("the token needs the queues:write scope");
    RETURN_IF_ERROR(tx.Execute("UPDATE offices SET time_zone = ? WHERE id = ?", {change.time_zone, office}).status());
    RETURN_IF_ERROR(tx.Execute("DELETE FROM office_hours WHERE office_id = ?", {office}).status());
    for (const auto& p : change.periods) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO office_hours (office_id, weekday, opens, closes) VALUES (?, ?, ?, ?)",
                                 {office, static_cast<int64_t>(p.weekday), static_cast<int64_t>(p.opens),
                                  static_cast<int64_t>(p.closes)})
                          .status());
    }
    RETURN_IF_ERROR(tx.Execute("DELETE FROM office_closures WHERE office_id = ?", {office}).status());
    for (const auto& c : change.closures) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO office_closures (office_id, day, reason) VALUES (?, ?, ?)",
                                 {office, c.date.ToString(), c.reason})
                          .status());
    }
    RETURN_IF_ERROR(audit_.Append(tx, who, {"office.hours", "office", std::to_string(office), std::nullopt, true,
                                            fmt::format("{} periods, {} closed days, zone {}", change.periods.size(),
                                                        change.closures.size(),
                                                        change.time_zone.empty() ? "default" : change.time_zone)}));
    ASSIGN_OR_RETURN(out, Get(tx, office));
    return Status::Ok();
  }));
  return out;
}

}  // namespace frontoffice
