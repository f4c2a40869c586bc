// The agency's offices on screen: /offices (each office, open or closed now), /offices/{id} (its
// opening hours, queues, counters and coming appointment slots, with the forms by which its
// managers set them up), /offices/{id}/appointments (a day's appointments, to cancel) and
// /appointments/book (book a slot for a visitor or a client). Every time is shown in the
// office's zone.

#include <fmt/format.h>

#include <set>

#include "access/access_gate.h"
#include "frontoffice/appointment_service.h"
#include "frontoffice/office_hours.h"
#include "frontoffice/queue_service.h"
#include "http/address_throttle.h"
#include "http/json_body.h"
#include "http/page_support.h"
#include "i18n/messages.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Capitalised;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;
using page_support::Said;
using page_support::T;
using page_support::Trim;

constexpr int64_t kDayMicros = 86'400'000'000;

bool Sees(const authz::Principal& who, const frontoffice::OfficeHours& h) {
  return who.kind == authz::PrincipalKind::kStaff && who.agency.value == h.agency &&
         (authz::HasClientRole(who) || who.HasRole(authz::Role::kAdmin));
}

bool Manages(const authz::Principal& who, const frontoffice::OfficeHours& h) {
  return who.kind == authz::PrincipalKind::kStaff && who.agency.value == h.agency &&
         who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin});
}


// A message as it is, in the request's language when the catalogue has it: a service's
// message, or one of several words ("Monday") the catalogue gives. Never formatted as a pattern.

// "Monday"; in Spanish "lunes" (in a sentence: capitalise it to start one).
std::string DayName(const PageDeps& deps, const Context& ctx, int weekday) {
  return Said(deps, ctx, std::string(frontoffice::WeekdayName(weekday)));
}

// "Monday 7 December 2026", "lunes, 7 de diciembre de 2026".
std::string DayText(const PageDeps& deps, const Context& ctx, core::Date date) {
  return T(deps, ctx, "{weekday} {date}",
           {{"weekday", DayName(deps, ctx, frontoffice::Weekday(date))}, {"date", page_support::DateText(ctx, date)}});
}

// In the office's zone: "Monday 7 December 2026, 09:00".
std::string DateTimeText(const PageDeps& deps, const Context& ctx, const frontoffice::OfficeHours& h,
                         core::Timestamp t) {
  auto l = frontoffice::ToLocal(t, h.time_zone);
  return l.ok() ? DayText(deps, ctx, l->date) + ", " + frontoffice::ClockText(l->minute) : t.ToRfc3339().substr(0, 16);
}

// "today at 09:00", "tomorrow at 09:00", "Tuesday at 09:00" or the date at 09:00, as seen from `now`
// in the office's zone.
std::string WhenText(const PageDeps& deps, const Context& ctx, const frontoffice::OfficeHours& h, core::Timestamp t,
                     core::Timestamp now) {
  auto l = frontoffice::ToLocal(t, h.time_zone);
  auto n = frontoffice::ToLocal(now, h.time_zone);
  if (!l.ok() || !n.ok()) return t.ToRfc3339().substr(0, 16);
  const int64_t days = l->date.ToDays() - n->date.ToDays();
  const std::string time = frontoffice::ClockText(l->minute);
  if (days == 0) return T(deps, ctx, "today at {time}", {{"time", time}});
  if (days == 1) return T(deps, ctx, "tomorrow at {time}", {{"time", time}});
  if (days < 7) {
    return T(deps, ctx, "{weekday} at {time}", {{"weekday", DayName(deps, ctx, l->weekday)}, {"time", time}});
  }
  return T(deps, ctx, "{date} at {time}", {{"date", DayText(deps, ctx, l->date)}, {"time", time}});
}

// "A, B and C".
std::string ListText(const PageDeps& deps, const Context& ctx, const std::vector<std::string>& items) {
  if (items.empty()) return "";
  std::string list = items.front();
  for (size_t i = 1; i + 1 < items.size(); ++i) list += ", " + items[i];
  return items.size() == 1 ? list : T(deps, ctx, "{list} and {last}", {{"list", list}, {"last", items.back()}});
}

// One line per group of days with the same hours: "Monday to Friday: 09:00 to 17:00" (as
// OfficeHours::Describe, in the request's language).
std::vector<std::string> HoursText(const PageDeps& deps, const Context& ctx, const frontoffice::OfficeHours& h) {
  std::string day_text[8];
  for (int d = 1; d <= 7; ++d) {
    std::vector<std::string> parts;
    for (const auto& p : h.periods) {
      if (p.weekday != d) continue;
      parts.push_back(T(deps, ctx, "{opens} to {closes}",
                        {{"opens", frontoffice::ClockText(p.opens)}, {"closes", frontoffice::ClockText(p.closes)}}));
    }
    day_text[d] = parts.empty() ? T(deps, ctx, "closed") : ListText(deps, ctx, parts);
  }
  std::vector<std::string> out;
  for (int d = 1; d <= 7;) {
    int last = d;
    while (last + 1 <= 7 && day_text[last + 1] == day_text[d]) ++last;
    std::string days = DayName(deps, ctx, d);
    if (last == d + 1) days = ListText(deps, ctx, {days, DayName(deps, ctx, last)});
    if (last > d + 1) days = T(deps, ctx, "{first} to {last}", {{"first", days}, {"last", DayName(deps, ctx, last)}});
    out.push_back(Capitalised(days) + ": " + day_text[d]);
    d = last + 1;
  }
  return out;
}

// A time of day, "09:30" → 570; its mistake in the request's language.
core::StatusOr<int> ParseTime(const PageDeps& deps, const Context& ctx, const std::string& text) {
  auto minute = frontoffice::ParseClock(text);
  if (minute.ok() || minute.status().message() != fmt::format("'{}' is not a time of day; write it like 09:30", text)) {
    return minute;
  }
  return core::Status::InvalidArgument(
      T(deps, ctx, "{text} is not a time of day; write it like 09:30", {{"text", "'" + text + "'"}}));
}

// "09:00-12:00, 13:00-17:00" (or with "to" or an en dash); empty: closed that day.
core::StatusOr<std::vector<std::pair<int, int>>> ParseDayHours(const PageDeps& deps, const Context& ctx,
                                                               const std::string& text) {
  std::vector<std::pair<int, int>> out;
  std::string rest = text;
  for (const char* dash : {"\u2013", "\u2014"}) {
    for (size_t at; (at = rest.find(dash)) != std::string::npos;) rest.replace(at, std::string(dash).size(), "-");
  }
  for (size_t at; (at = rest.find(" to ")) != std::string::npos;) rest.replace(at, 4, "-");
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = rest.find_first_of(",;", start);
    if (comma == std::string::npos) comma = rest.size();
    const std::string part = Trim(rest.substr(start, comma - start));
    start = comma + 1;
    if (part.empty()) continue;
    const size_t dash = part.find('-');
    if (dash == std::string::npos) {
      const std::string problem =
          T(deps, ctx, "write {part} as an opening and a closing time, like 09:00-17:00", {{"part", "'" + part + "'"}});
      return core::Status::InvalidArgument(problem);
    }
    ASSIGN_OR_RETURN(int opens, ParseTime(deps, ctx, Trim(part.substr(0, dash))));
    ASSIGN_OR_RETURN(int closes, ParseTime(deps, ctx, Trim(part.substr(dash + 1))));
    out.emplace_back(opens, closes);
  }
  return out;
}

std::string DayValue(const frontoffice::OfficeHours& h, int weekday) {
  std::string out;
  for (const auto& p : h.periods) {
    if (p.weekday != weekday) continue;
    if (!out.empty()) out += ", ";
    out += frontoffice::ClockText(p.opens) + "-" + frontoffice::ClockText(p.closes);
  }
  return out;
}

std::string ClosuresValue(const frontoffice::OfficeHours& h) {
  std::string out;
  for (const auto& c : h.closures) out += c.date.ToString() + (c.reason.empty() ? "" : " " + c.reason) + "\n";
  return out;
}

std::string StatusText(const PageDeps& deps, const Context& ctx, const frontoffice::OfficeHours& h,
                       core::Timestamp now) {
  if (!h.HasHours()) return T(deps, ctx, "No opening hours are set: the office is taken to be open at all times.");
  auto open = h.OpenAt(now);
  if (open.ok() && *open) {
    auto closes = h.ClosesAfter(now);
    if (!closes.ok() || !*closes) return T(deps, ctx, "Open now.");
    return T(deps, ctx, "Open now; closes {when}.", {{"when", WhenText(deps, ctx, h, **closes, now)}});
  }
  auto next = h.NextOpening(now);
  if (!next.ok() || !*next) return T(deps, ctx, "Closed now.");
  return T(deps, ctx, "Closed now; opens {when}.", {{"when", WhenText(deps, ctx, h, **next, now)}});
}

// A form's mistakes, already in the request's language: the list at the top and each message
// beside its field (`e_<field>`).
void AddError(json& d, const std::string& field, const std::string& message) {
  d["has_errors"] = true;
  if (!d.contains("errors") || !d["errors"].is_array()) d["errors"] = json::array();
  d["errors"].push_back({{"message", Capitalised(message)}, {"href", "#" + field}});
  const std::string key = "e_" + field;
  if (!d.contains(key)) d[key] = Capitalised(message);
}

struct OfficeForms {
  json values = json::object();  // what was typed, to show again
  json errors = json::array();   // {field, message}
};

// For a client past the limit of references that find nothing (AddressThrottle).
std::string TooManyGuessesText(const PageDeps& deps, const Context& ctx, int64_t retry_after_seconds) {
  return T(deps, ctx,
           "Too many appointment references that do not exist were tried from your address: try again in "
           "{minutes, plural, one {# minute} other {# minutes}}",
           {{"minutes", std::to_string((retry_after_seconds + 59) / 60)}});
}

}  // namespace

void AddOfficePages(Router& router, const PageDeps& deps) {
  if (deps.office_hours == nullptr || deps.queues == nullptr) return;

  router.Add({"GET", "/offices", Auth::kPage, "", [&deps](Context& ctx) {
                const authz::Principal& who = ctx.Who();
                if (!authz::HasClientRole(who) && !who.HasRole(authz::Role::kAdmin)) {
                  return ErrorFor(deps, ctx, core::Status::PermissionDenied("only staff who work with clients and administrators see the offices"));
                }
                auto offices = deps.accounts.ListOffices(who.agency);
                if (!offices.ok()) return ErrorFor(deps, ctx, offices.status());
                const core::Timestamp now = deps.office_hours->Now();
                json rows = json::array();
                for (const auto& o : *offices) {
                  auto h = deps.office_hours->Get(o.id.value);
                  if (!h.ok()) return ErrorFor(deps, ctx, h.status());
                  rows.push_back({{"href", fmt::format("/offices/{}", o.id.value)},
                                  {"name", o.name},
                                  {"address", o.address},
                                  {"state", StatusText(deps, ctx, *h, now)},
                                  {"zone", h->time_zone}});
                }
                json d = Common(deps, ctx, "Offices", "offices");
                d["has_offices"] = !rows.empty();
                d["offices"] = std::move(rows);
                return Render(deps, 200, "offices", d);
              }});

  // The office's page, with what a form that failed had typed and its mistakes.
  auto office_page = [&deps](Context& ctx, int64_t office, const OfficeForms& forms, int status) {
    const authz::Principal& who = ctx.Who();
    auto h = deps.office_hours->Get(office);
    if (!h.ok()) return ErrorFor(deps, ctx, h.status());
    if (!Sees(who, *h)) {
      return ErrorFor(deps, ctx, core::Status::PermissionDenied("only the staff of the office's agency see its page"));
    }
    const core::Timestamp now = deps.office_hours->Now();
    auto queues = deps.queues->Queues(office);
    if (!queues.ok()) return ErrorFor(deps, ctx, queues.status());
    auto counters = deps.queues->Counters(office);
    if (!counters.ok()) return ErrorFor(deps, ctx, counters.status());
    json d = Common(deps, ctx, h->name, "offices");
    d["office_name"] = h->name;
    d["office_address"] = h->address;
    d["has_address"] = !h->address.empty();
    d["zone"] = h->time_zone;
    d["state"] = StatusText(deps, ctx, *h, now);
    d["has_hours"] = h->HasHours();
    d["summary"] = HoursText(deps, ctx, *h);
    json closures = json::array();
    auto today = frontoffice::ToLocal(now, h->time_zone);
    for (const auto& c : h->closures) {
      if (today.ok() && c.date < today->date) continue;
      closures.push_back({{"date", Capitalised(DayText(deps, ctx, c.date))}, {"reason", c.reason}});
    }
    d["has_closures"] = !closures.empty();
    d["closures"] = std::move(closures);

    std::map<int64_t, std::string> codes;
    json queue_rows = json::array();
    for (const auto& q : *queues) {
      codes[q.id] = q.code;
      queue_rows.push_back({{"id", q.id},
                            {"code", q.code},
                            {"name", q.name},
                            {"waiting", std::to_string(q.waiting)},
                            {"counters", std::to_string(q.open_counters)},
                            {"has_service", !q.directory_service_id.empty()},
                            {"service_href", "/directory/services/" + q.directory_service_id}});
    }
    d["has_queues"] = !queue_rows.empty();
    d["queue_rows"] = queue_rows;
    json counter_rows = json::array();
    for (const auto& c : *counters) {
      std::string list;
      for (int64_t q : c.queues) list += (list.empty() ? "" : ", ") + (codes.count(q) ? codes[q] : std::to_string(q));
      counter_rows.push_back(
          {{"name", c.name}, {"queues", list}, {"staff", c.staff.empty() ? T(deps, ctx, "No one") : c.staff}});
    }
    d["has_counters"] = !counter_rows.empty();
    d["counter_rows"] = std::move(counter_rows);

    if (deps.appointments != nullptr) {
      d["appointments_on"] = true;
      auto slots = deps.appointments->OfficeSlots(who, office, now, core::Timestamp{now.micros + 14 * kDayMicros});
      if (!slots.ok()) return ErrorFor(deps, ctx, slots.status());
      // By the office's day: each day folds away, saying how many places are free.
      json slot_days = json::array();
      std::string last_day;
      int64_t places = 0, free = 0;
      auto close_day = [&] {
        if (slot_days.empty()) return;
        slot_days.back()["summary"] = Capitalised(
            T(deps, ctx, "{day}: {free, number, ::group-off} of {places, number, ::group-off} places free",
              {{"day", last_day}, {"free", std::to_string(free)}, {"places", std::to_string(places)}}));
      };
      for (const auto& s : *slots) {
        auto local = frontoffice::ToLocal(s.starts_at, h->time_zone);
        const std::string day = local.ok() ? DayText(deps, ctx, local->date) : s.starts_at.ToRfc3339().substr(0, 10);
        if (day != last_day) {
          close_day();
          slot_days.push_back({{"slot_rows", json::array()}});
          last_day = day;
          places = free = 0;
        }
        if (!s.outside_hours) {
          places += s.capacity;
          free += s.capacity - s.booked;
        }
        slot_days.back()["slot_rows"].push_back(
            {{"when", h->Clock(s.starts_at)},
             {"ends", h->Clock(s.ends_at)},
             {"queue", s.queue_name},
             {"booked",
              T(deps, ctx,
                "{booked, number, ::group-off} of "
                "{capacity, number, ::group-off}",
                {{"booked", std::to_string(s.booked)}, {"capacity", std::to_string(s.capacity)}})},
             {"free", s.booked < s.capacity && !s.outside_hours},
             {"outside_hours", s.outside_hours},
             {"book_href", fmt::format("/appointments/book?slot={}", s.id)}});
      }
      close_day();
      d["has_slots"] = !slot_days.empty();
      d["can_book"] = authz::HasClientRole(who);  // administrators set up, staff who serve clients book
      d["slot_days"] = std::move(slot_days);
      d["appointments_href"] = fmt::format("/offices/{}/appointments", office);
    }
    d["desk_href"] = "/desk";
    d["kiosk_href"] = fmt::format("/offices/{}/kiosk", office);
    d["display_href"] = fmt::format("/offices/{}/display", office);

    if (Manages(who, *h)) {
      d["manages"] = true;
      d["hours_action"] = fmt::format("/offices/{}/hours", office);
      d["queue_action"] = fmt::format("/offices/{}/queues", office);
      d["counter_action"] = fmt::format("/offices/{}/counters", office);
      d["slot_action"] = fmt::format("/offices/{}/slots", office);
      d["default_zone"] = deps.office_hours->default_zone();
      d["f_time_zone"] = h->own_zone ? h->time_zone : "";
      d["f_closures"] = ClosuresValue(*h);
      json days = json::array();
      for (int w = 1; w <= 7; ++w) {
        const std::string field = fmt::format("day{}", w);
        days.push_back({{"field", field}, {"day", Capitalised(DayName(deps, ctx, w))}, {"value", DayValue(*h, w)}});
      }
      // The queue chosen for slots, and those ticked for a counter, stay chosen when a form comes back.
      const std::string slot_queue = forms.values.value("f_slot_queue", "");
      std::set<std::string> ticked;
      if (forms.values.contains("f_counter_queues")) {
        for (const auto& v : forms.values["f_counter_queues"]) ticked.insert(v.get<std::string>());
      }
      json queue_choices = json::array();
      for (const auto& q : *queues) {
        queue_choices.push_back({{"id", q.id},
                                 {"text", q.code + " — " + q.name},
                                 {"selected", std::to_string(q.id) == slot_queue},
                                 {"ticked", ticked.count(std::to_string(q.id)) > 0}});
      }
      d["queue_choices"] = std::move(queue_choices);
      d["f_slot_date"] = today.ok() ? core::Date::FromDays(today->date.ToDays() + 1).ToString() : "";
      d["f_slot_start"] = "09:00";
      d["f_slot_count"] = "8";
      d["f_slot_minutes"] = "15";
      d["f_slot_capacity"] = "1";
      // What a failed form had typed, and its mistakes.
      for (auto it = forms.values.begin(); it != forms.values.end(); ++it) {
        if (it.key() != "f_counter_queues") d[it.key()] = it.value();
      }
      for (auto& day : days) {
        const std::string key = "f_" + day["field"].get<std::string>();
        if (forms.values.contains(key)) day["value"] = forms.values[key];
      }
      for (const auto& e : forms.errors) {
        AddError(d, e["field"].get<std::string>(), e["message"].get<std::string>());
      }
      for (auto& day : days) {
        const std::string key = "e_" + day["field"].get<std::string>();
        if (d.contains(key)) day["error"] = d[key];
        day["has_error"] = d.contains(key);
      }
      d["days"] = std::move(days);
    } else {
      for (const auto& e : forms.errors) AddError(d, e["field"].get<std::string>(), e["message"].get<std::string>());
    }
    if (const std::string f = SignedQueryValue(ctx, "done"); !f.empty()) d["flash"] = f;
    return Render(deps, status, "office", d);
  };

  auto office_param = [](const Context& ctx) { return ParseId(ctx.Param("id"), "id"); };

  router.Add({"GET", "/offices/{id}", Auth::kPage, "", [&deps, office_page, office_param](Context& ctx) {
                auto office = office_param(ctx);
                if (!office.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such office"));
                return office_page(ctx, *office, OfficeForms{}, 200);
              }});

  // Refusals and missing offices are error pages; mistakes come back on the form.
  auto refused = [](const core::Status& s) {
    return s.code() == core::StatusCode::kPermissionDenied || s.code() == core::StatusCode::kNotFound ||
           s.code() == core::StatusCode::kUnavailable || s.code() == core::StatusCode::kInternal;
  };

  router.Add({"POST", "/offices/{id}/hours", Auth::kPage, "", [&deps, office_page, office_param, refused](Context& ctx) {
                auto office = office_param(ctx);
                if (!office.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such office"));
                const auto form = ParseForm(ctx.request.body);
                OfficeForms forms;
                frontoffice::HoursChange change;
                change.time_zone = Trim(FormValue(form, "time_zone"));
                forms.values["f_time_zone"] = change.time_zone;
                std::vector<int> period_day;  // the form's day of each period, to place the service's mistakes
                for (int w = 1; w <= 7; ++w) {
                  const std::string field = fmt::format("day{}", w);
                  const std::string text = Trim(FormValue(form, field));
                  forms.values["f_" + field] = text;
                  auto parsed = ParseDayHours(deps, ctx, text);
                  if (!parsed.ok()) {
                    forms.errors.push_back({{"field", field},
                                            {"message",
                                             Capitalised(DayName(deps, ctx, w)) + ": " + parsed.status().message()}});
                    continue;
                  }
                  for (const auto& [opens, closes] : *parsed) {
                    change.periods.push_back({w, opens, closes});
                    period_day.push_back(w);
                  }
                }
                const std::string closures = FormValue(form, "closures");
                forms.values["f_closures"] = closures;
                std::vector<int> closure_line;
                int line_no = 0;
                size_t start = 0;
                while (start < closures.size()) {
                  size_t nl = closures.find('\n', start);
                  if (nl == std::string::npos) nl = closures.size();
                  const std::string line = Trim(closures.substr(start, nl - start));
                  start = nl + 1;
                  ++line_no;
                  if (line.empty()) continue;
                  const std::string date_text = line.substr(0, line.find_first_of(" \t"));
                  auto date = core::Date::Parse(date_text);
                  if (!date.ok()) {
                    forms.errors.push_back(
                        {{"field", "closures"},
                         {"message", T(deps, ctx,
                                       "line {line, number, ::group-off}: start with the date, like 2026-12-25 "
                                       "Christmas Day",
                                       {{"line", std::to_string(line_no)}})}});
                    continue;
                  }
                  change.closures.push_back({*date, Trim(line.substr(date_text.size()))});
                  closure_line.push_back(line_no);
                }
                if (forms.errors.empty()) {
                  auto set = deps.office_hours->Set(ctx.Who(), *office, change);
                  if (set.ok()) {
                    std::string said = T(deps, ctx, "Opening hours saved");
                    // Appointments booked before the change that now fall outside the hours stay
                    // booked: the manager is told, so that the clients can be told.
                    if (deps.appointments != nullptr) {
                      auto outside = deps.appointments->BookedOutsideHours(ctx.Who(), *office);
                      if (outside.ok() && !outside->empty()) {
                        said =
                            T(deps, ctx,
                              "Opening hours saved. {count, plural, one {One booked appointment "
                              "falls} other "
                              "{{count, number, ::group-off} booked appointments fall}} outside "
                              "them now, the first "
                              "on {when}: tell the clients, or cancel on that day's appointments",
                              {{"count", std::to_string(outside->size())},
                               {"when", set->DateTime(outside->front().slot.starts_at)}});
                      }
                    }
                    return Response::Redirect(
                        fmt::format("/offices/{}?{}", *office, SignedQuery(ctx, "done", said)));
                  }
                  if (refused(set.status())) return ErrorFor(deps, ctx, set.status());
                  for (const auto& f : set.status().fields()) {
                    std::string field = "day1";
                    std::string message = Said(deps, ctx, Capitalised(f.message));
                    size_t index = 0;
                    if (f.field == "time_zone") {
                      field = "time_zone";
                      if (f.message == fmt::format("unknown time zone '{}'; use an IANA name like Europe/Brussels",
                                                   change.time_zone)) {
                        message = T(deps, ctx, "Unknown time zone {zone}; use an IANA name like Europe/Brussels",
                                    {{"zone", "'" + change.time_zone + "'"}});
                      }
                    } else if (std::sscanf(f.field.c_str(), "hours/%zu", &index) == 1 && index < period_day.size()) {
                      field = fmt::format("day{}", period_day[index]);
                      message = Capitalised(DayName(deps, ctx, period_day[index])) + ": " +
                                (f.field.ends_with("/opens") && f.message.starts_with("overlaps")
                                     ? T(deps, ctx, "the hours overlap")
                                     : Said(deps, ctx, f.message));
                    } else if (std::sscanf(f.field.c_str(), "closures/%zu", &index) == 1 && index < closure_line.size()) {
                      field = "closures";
                      const std::string date = change.closures[index].date.ToString();
                      message = T(deps, ctx, "line {line, number, ::group-off}: {problem}",
                                  {{"line", std::to_string(closure_line[index])},
                                   {"problem", f.message == date + " is listed already"
                                                   ? T(deps, ctx, "{date} is listed already", {{"date", date}})
                                                   : Said(deps, ctx, f.message)}});
                    }
                    forms.errors.push_back({{"field", field}, {"message", message}});
                  }
                }
                return office_page(ctx, *office, forms, 400);
              }});

  router.Add({"POST", "/offices/{id}/queues", Auth::kPage, "", [&deps, office_page, office_param, refused](Context& ctx) {
                auto office = office_param(ctx);
                if (!office.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such office"));
                const auto form = ParseForm(ctx.request.body);
                OfficeForms forms;
                const std::string code = Trim(FormValue(form, "code"));
                const std::string name = Trim(FormValue(form, "name"));
                const std::string service = Trim(FormValue(form, "directory_service_id"));
                forms.values = {{"f_queue_code", code}, {"f_queue_name", name}, {"f_queue_service", service}};
                auto q = deps.queues->CreateQueue(ctx.Who(), *office, code, name, service);
                if (q.ok()) {
                  const std::string done = T(deps, ctx, "Queue {code} added", {{"code", q->code}});
                  return Response::Redirect(fmt::format("/offices/{}?{}", *office, SignedQuery(ctx, "done", done)));
                }
                if (refused(q.status())) return ErrorFor(deps, ctx, q.status());
                const std::map<std::string, std::string> fields = {{"code", "queue_code"}, {"name", "queue_name"},
                                                                   {"directory_service_id", "queue_service"}};
                for (const auto& f : q.status().fields()) {
                  std::string message = Said(deps, ctx, Capitalised(f.message));
                  if (f.message == fmt::format("the office has a queue {} already", code)) {
                    message = T(deps, ctx, "The office has a queue {code} already", {{"code", code}});
                  }
                  forms.errors.push_back(
                      {{"field", fields.count(f.field) ? fields.at(f.field) : "queue_name"}, {"message", message}});
                }
                if (q.status().fields().empty()) {
                  forms.errors.push_back(
                      {{"field", "queue_name"}, {"message", Said(deps, ctx, Capitalised(q.status().message()))}});
                }
                return office_page(ctx, *office, forms, 400);
              }});

  router.Add({"POST", "/offices/{id}/counters", Auth::kPage, "", [&deps, office_page, office_param, refused](Context& ctx) {
                auto office = office_param(ctx);
                if (!office.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such office"));
                const auto form = ParseForm(ctx.request.body);
                OfficeForms forms;
                const std::string name = Trim(FormValue(form, "name"));
                forms.values = {{"f_counter_name", name}};
                std::vector<int64_t> queues;
                forms.values["f_counter_queues"] = json::array();
                for (auto [it, end] = form.equal_range("queues"); it != end; ++it) {
                  auto id = ParseId(it->second, "queues");
                  if (id.ok()) queues.push_back(*id);
                  forms.values["f_counter_queues"].push_back(it->second);
                }
                auto c = deps.queues->CreateCounter(ctx.Who(), *office, name, queues);
                if (c.ok()) {
                  return Response::Redirect(fmt::format("/offices/{}?{}", *office,
                                                        SignedQuery(ctx, "done", T(deps, ctx, "{name} added", {{"name", c->name}}))));
                }
                if (refused(c.status())) return ErrorFor(deps, ctx, c.status());
                for (const auto& f : c.status().fields()) {
                  forms.errors.push_back({{"field", f.field == "queues" ? "counter_queues" : "counter_name"},
                                          {"message", Said(deps, ctx, Capitalised(f.message))}});
                }
                if (c.status().fields().empty()) {
                  forms.errors.push_back(
                      {{"field", "counter_name"}, {"message", Said(deps, ctx, Capitalised(c.status().message()))}});
                }
                return office_page(ctx, *office, forms, 400);
              }});

  router.Add({"POST", "/offices/{id}/slots", Auth::kPage, "", [&deps, office_page, office_param, refused](Context& ctx) {
                auto office = office_param(ctx);
                if (!office.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such office"));
                if (deps.appointments == nullptr) return ErrorFor(deps, ctx, core::Status::NotFound("no appointments here"));
                // Who may open slots here is settled before the form is read.
                auto here = deps.office_hours->Get(*office);
                if (!here.ok()) return ErrorFor(deps, ctx, here.status());
                if (!Sees(ctx.Who(), *here)) {
                  return ErrorFor(deps, ctx, core::Status::PermissionDenied("only the staff of the office's agency see its page"));
                }
                if (!Manages(ctx.Who(), *here)) {
                  return ErrorFor(deps, ctx,
                                  core::Status::PermissionDenied("only a manager or an administrator opens appointment slots"));
                }
                const auto form = ParseForm(ctx.request.body);
                OfficeForms forms;
                const std::string date = Trim(FormValue(form, "date"));
                const std::string start = Trim(FormValue(form, "start"));
                const std::string count = Trim(FormValue(form, "count"));
                const std::string minutes = Trim(FormValue(form, "minutes"));
                const std::string capacity = Trim(FormValue(form, "capacity"));
                forms.values = {{"f_slot_date", date}, {"f_slot_start", start}, {"f_slot_count", count},
                                {"f_slot_minutes", minutes}, {"f_slot_capacity", capacity},
                                {"f_slot_queue", FormValue(form, "queue")}};
                // Each number's message says which it is and what it may be (the service's limits).
                auto number = [&](const std::string& text, const char* field,
                                  const char* message) -> int {
                  auto v = ParseId(text, field);
                  if (!v.ok() || *v > 100000) {
                    forms.errors.push_back({{"field", std::string("slot_") + field},
                                            {"message", T(deps, ctx, message)}});
                    return 0;
                  }
                  return static_cast<int>(*v);
                };
                frontoffice::NewSlots in;
                in.count = number(count, "count", "Enter how many slots to open, from 1 to 200");
                in.minutes = number(minutes, "minutes",
                                    "Enter how long each slot is, from 5 to 240 minutes");
                in.capacity = number(capacity, "capacity",
                                     "Enter how many people each slot takes, from 1 to 50");
                auto queue = ParseId(FormValue(form, "queue"), "queue");
                if (!queue.ok()) {
                  forms.errors.push_back({{"field", "slot_queue"}, {"message", T(deps, ctx, "Choose a queue")}});
                }
                auto day = core::Date::Parse(date);
                if (!day.ok()) {
                  forms.errors.push_back(
                      {{"field", "slot_date"}, {"message", T(deps, ctx, "Write the date like 2026-12-14")}});
                }
                auto minute = ParseTime(deps, ctx, start);
                if (!minute.ok()) forms.errors.push_back({{"field", "slot_start"}, {"message", minute.status().message()}});
                auto h = deps.office_hours->Get(*office);
                if (!h.ok()) return ErrorFor(deps, ctx, h.status());
                if (forms.errors.empty()) {
                  auto first = frontoffice::FromLocal(*day, *minute, h->time_zone);
                  if (!first.ok()) return ErrorFor(deps, ctx, first.status());
                  in.first = *first;
                  // Only this office's queues.
                  auto queues = deps.queues->Queues(*office);
                  if (!queues.ok()) return ErrorFor(deps, ctx, queues.status());
                  bool here = false;
                  for (const auto& q : *queues) here = here || q.id == *queue;
                  if (!here) return ErrorFor(deps, ctx, core::Status::NotFound("the office has no such queue"));
                  auto slots = deps.appointments->CreateSlots(ctx.Who(), *queue, in);
                  if (slots.ok()) {
                    return Response::Redirect(fmt::format(
                        "/offices/{}?{}", *office,
                        SignedQuery(ctx, "done", T(deps, ctx, "{count} slots opened", {{"count", std::to_string(slots->size())}}))));
                  }
                  if (refused(slots.status())) return ErrorFor(deps, ctx, slots.status());
                  const std::map<std::string, std::string> fields = {{"first", "slot_start"}, {"count", "slot_count"},
                                                                     {"minutes", "slot_minutes"}, {"capacity", "slot_capacity"}};
                  // "the office is not open for the whole of the slot at Monday 7 December 2026, 17:00": the
                  // slot's time found again, to write it in the request's language.
                  auto slot_message = [&](const std::string& message) {
                    for (const auto& [lead, tail, pattern] :
                         {std::tuple<std::string, std::string, std::string>{
                              "the office is not open for the whole of the slot at ", "",
                              "The office is not open for the whole of the slot at {when}"},
                          {"the queue has a slot at ", " already", "The queue has a slot at {when} already"}}) {
                      if (!message.starts_with(lead) || !message.ends_with(tail) ||
                          message.size() < lead.size() + tail.size()) {
                        continue;
                      }
                      const std::string when = message.substr(lead.size(), message.size() - lead.size() - tail.size());
                      for (int i = 0; i < in.count; ++i) {
                        const core::Timestamp t{in.first.micros + int64_t{i} * in.minutes * 60'000'000};
                        if (h->DateTime(t) == when) {
                          return T(deps, ctx, pattern, {{"when", DateTimeText(deps, ctx, *h, t)}});
                        }
                      }
                    }
                    return Said(deps, ctx, Capitalised(message));
                  };
                  static const std::map<std::string, std::string> kNumbers = {
                      {"count", "Enter how many slots to open, from 1 to 200"},
                      {"minutes", "Enter how long each slot is, from 5 to 240 minutes"},
                      {"capacity", "Enter how many people each slot takes, from 1 to 50"}};
                  for (const auto& f : slots.status().fields()) {
                    // A number out of range ("from 1 to 200 slots at a time"); other messages about
                    // a field (the office closed during a slot) are the service's.
                    auto number =
                        f.message.starts_with("from ") ? kNumbers.find(f.field) : kNumbers.end();
                    forms.errors.push_back(
                        {{"field", fields.count(f.field) ? fields.at(f.field) : "slot_start"},
                         {"message", number != kNumbers.end() ? T(deps, ctx, number->second)
                                                              : slot_message(f.message)}});
                  }
                  if (slots.status().fields().empty()) {
                    forms.errors.push_back(
                        {{"field", "slot_start"}, {"message", slot_message(slots.status().message())}});
                  }
                }
                return office_page(ctx, *office, forms, 400);
              }});

  if (deps.appointments == nullptr) return;

  // A day's appointments at the office, in its zone, with cancelling.
  router.Add({"GET", "/offices/{id}/appointments", Auth::kPage, "", [&deps, office_param](Context& ctx) {
                auto office = office_param(ctx);
                if (!office.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such office"));
                auto h = deps.office_hours->Get(*office);
                if (!h.ok()) return ErrorFor(deps, ctx, h.status());
                const core::Timestamp now = deps.office_hours->Now();
                auto today = frontoffice::ToLocal(now, h->time_zone);
                if (!today.ok()) return ErrorFor(deps, ctx, today.status());
                core::Date day = today->date;
                json d = Common(deps, ctx, "Appointments", "offices");
                if (const std::string q = ctx.request.Query("date"); !q.empty()) {
                  auto parsed = core::Date::Parse(q);
                  if (parsed.ok()) day = *parsed;
                  else AddError(d, "date", T(deps, ctx, "Write the date like 2026-12-14"));
                }
                auto from = frontoffice::FromLocal(day, 0, h->time_zone);
                auto to = frontoffice::FromLocal(core::Date::FromDays(day.ToDays() + 1), 0, h->time_zone);
                if (!from.ok() || !to.ok()) return ErrorFor(deps, ctx, from.ok() ? to.status() : from.status());
                auto list = deps.appointments->OfficeAppointments(ctx.Who(), *office, *from, *to);
                if (!list.ok()) return ErrorFor(deps, ctx, list.status());
                json rows = json::array();
                for (const auto& a : *list) {
                  const std::string state = T(deps, ctx, a.state == "booked"      ? "Booked"
                                                         : a.state == "cancelled" ? "Cancelled"
                                                                                  : "Checked in");
                  rows.push_back({{"time", h->Clock(a.slot.starts_at)},
                                  {"queue", a.slot.queue_name},
                                  {"reference", a.reference},
                                  {"state", a.ticket_label.empty() ? state
                                                                   : T(deps, ctx, "{state}, ticket {ticket}",
                                                                       {{"state", state}, {"ticket", a.ticket_label}})},
                                  {"has_person", a.person.has_value()},
                                  {"person_href", a.person ? fmt::format("/clients/{}", a.person->value) : ""},
                                  {"person", a.person ? std::to_string(a.person->value) : ""},
                                  {"cancellable", a.state == "booked" && a.slot.starts_at > now},
                                  {"cancel_action", fmt::format("/offices/{}/appointments/{}/cancel", *office, a.reference)}});
                }
                d["office_name"] = h->name;
                d["office_href"] = fmt::format("/offices/{}", *office);
                d["day_text"] = DayText(deps, ctx, day);
                d["f_date"] = day.ToString();
                d["zone"] = h->time_zone;
                d["previous_href"] = fmt::format("/offices/{}/appointments?date={}", *office,
                                                 core::Date::FromDays(day.ToDays() - 1).ToString());
                d["next_href"] = fmt::format("/offices/{}/appointments?date={}", *office,
                                             core::Date::FromDays(day.ToDays() + 1).ToString());
                d["action"] = fmt::format("/offices/{}/appointments", *office);
                d["has_appointments"] = !rows.empty();
                d["appointment_rows"] = std::move(rows);
                if (const std::string f = SignedQueryValue(ctx, "done"); !f.empty()) d["flash"] = f;
                return Render(deps, d.value("has_errors", false) ? 400 : 200, "office_appointments", d);
              }});

  router.Add({"POST", "/offices/{id}/appointments/{reference}/cancel", Auth::kPage, "", [&deps, office_param](Context& ctx) {
                auto office = office_param(ctx);
                if (!office.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such office"));
                // Staff cancel only their own agency's offices' appointments, and only of this office.
                auto h = deps.office_hours->Get(*office);
                if (!h.ok()) return ErrorFor(deps, ctx, h.status());
                if (!Sees(ctx.Who(), *h)) {
                  return ErrorFor(deps, ctx, core::Status::PermissionDenied("only the staff of the office's agency cancel its appointments"));
                }
                auto a = deps.appointments->Find(ctx.Param("reference"));
                if (!a.ok() || a->slot.office != *office) {
                  return ErrorFor(deps, ctx, core::Status::NotFound("the office has no appointment with that reference"));
                }
                const std::string back = fmt::format("/offices/{}/appointments?date=", *office);
                auto local = frontoffice::ToLocal(a->slot.starts_at, h->time_zone);
                const std::string date = local.ok() ? local->date.ToString() : "";
                auto done = deps.appointments->Cancel(a->reference, &ctx.Who());
                if (!done.ok() && done.status().code() == core::StatusCode::kFailedPrecondition) {
                  return Response::Redirect(back + date + "&" +
                                            SignedQuery(ctx, "done", Said(deps, ctx, Capitalised(done.status().message()))));
                }
                if (!done.ok()) return ErrorFor(deps, ctx, done.status());
                return Response::Redirect(
                    back + date + "&" +
                    SignedQuery(ctx, "done", T(deps, ctx, "Appointment {reference} cancelled", {{"reference", a->reference}})));
              }});

  // Online, without an account: book a free slot of one of the office's services, and find or
  // cancel an appointment by its reference.
  auto public_book_page = [&deps](Context& ctx, int64_t office, const std::string& queue_param, const json& values,
                                  const json& errors, int status) {
    auto h = deps.office_hours->Get(office);
    if (!h.ok()) return ErrorFor(deps, ctx, h.status());
    auto queues = deps.queues->Queues(office);
    if (!queues.ok()) return ErrorFor(deps, ctx, queues.status());
    const core::Timestamp now = deps.office_hours->Now();
    const core::Timestamp until{now.micros + 28 * kDayMicros};
    json d = Common(deps, ctx, "Book an appointment", "");
    d["office_name"] = h->name;
    d["office_address"] = h->address;
    d["has_address"] = !h->address.empty();
    d["has_hours"] = h->HasHours();
    d["summary"] = HoursText(deps, ctx, *h);
    d["zone"] = h->time_zone;
    d["manage_href"] = "/appointments/manage";
    json services = json::array();
    std::optional<frontoffice::Queue> chosen;
    for (const auto& q : *queues) {
      auto free = deps.appointments->FreeSlots(q.id, now, until);
      if (!free.ok()) return ErrorFor(deps, ctx, free.status());
      if (free->empty()) continue;
      services.push_back({{"name", q.name},
                          {"href", fmt::format("/offices/{}/book?queue={}", office, q.id)},
                          {"count", T(deps, ctx, "{count, plural, one {# time free} other {# times free}}",
                                      {{"count", std::to_string(free->size())}})}});
      if (queue_param == std::to_string(q.id)) chosen = q;
    }
    d["has_services"] = !services.empty();
    d["services"] = std::move(services);
    if (chosen) {
      auto free = deps.appointments->FreeSlots(chosen->id, now, until);
      if (!free.ok()) return ErrorFor(deps, ctx, free.status());
      json slots = json::array();
      const std::string picked = values.value("f_slot", "");
      for (const auto& s : *free) {
        slots.push_back({{"id", s.id},
                         {"text", Capitalised(DateTimeText(deps, ctx, *h, s.starts_at))},
                         {"checked", std::to_string(s.id) == picked}});
      }
      d["chosen"] = true;
      d["queue_name"] = chosen->name;
      d["queue_id"] = chosen->id;
      d["first_slot"] = slots.empty() ? json(0) : slots.front()["id"];
      d["free_slots"] = std::move(slots);
      d["action"] = fmt::format("/offices/{}/book", office);
    }
    for (auto it = values.begin(); it != values.end(); ++it) d[it.key()] = it.value();
    for (const auto& e : errors) AddError(d, e["field"].get<std::string>(), e["message"].get<std::string>());
    return Render(deps, status, "appointment_online", d);
  };

  router.Add({"GET", "/offices/{id}/book", Auth::kPublic, "", [&deps, office_param, public_book_page](Context& ctx) {
                auto office = office_param(ctx);
                if (!office.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such office"));
                return public_book_page(ctx, *office, ctx.request.Query("queue"), json::object(), json::array(), 200);
              }});

  router.Add({"POST", "/offices/{id}/book", Auth::kPublic, "", [&deps, office_param, public_book_page](Context& ctx) {
                auto office = office_param(ctx);
                if (!office.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such office"));
                const auto form = ParseForm(ctx.request.body);
                const std::string queue = FormValue(form, "queue");
                const std::string contact = Trim(FormValue(form, "contact"));
                json values = {{"f_contact", contact}, {"f_slot", FormValue(form, "slot")}};
                json errors = json::array();
                auto slot = ParseId(FormValue(form, "slot"), "slot");
                if (!slot.ok()) errors.push_back({{"field", "slot"}, {"message", T(deps, ctx, "Choose a time")}});
                if (errors.empty()) {
                  auto s = deps.appointments->GetSlot(*slot);
                  if (!s.ok() || s->office != *office || std::to_string(s->queue) != queue) {
                    errors.push_back({{"field", "slot"}, {"message", T(deps, ctx, "Choose a time")}});
                  }
                }
                // One address books a limited number an hour, so that nobody takes every free time.
                if (const int64_t wait = deps.online_bookings->RetryAfterSeconds(ctx.request.client_address); wait > 0) {
                  errors = json::array({{{"field", "slot"},
                                         {"message", T(deps, ctx,
                                                       "Too many appointments were booked from your address: try "
                                                       "again in {minutes, plural, one {# minute} other {# minutes}}",
                                                       {{"minutes", std::to_string((wait + 59) / 60)}})}}});
                  Response r = public_book_page(ctx, *office, queue, values, errors, 429);
                  r.Header("Retry-After", std::to_string(wait));
                  return r;
                }
                if (errors.empty()) {
                  authz::Principal online;
                  online.kind = authz::PrincipalKind::kCitizen;
                  online.name = "online";
                  auto a = deps.appointments->Book(online, *slot, std::nullopt, contact);
                  if (a.ok()) deps.online_bookings->Count(ctx.request.client_address);
                  if (a.ok()) {
                    auto h = deps.office_hours->Get(*office);
                    if (!h.ok()) return ErrorFor(deps, ctx, h.status());
                    json d = Common(deps, ctx, "Your appointment is booked", "");
                    d["booked"] = true;
                    d["reference"] = a->reference;
                    d["when"] = Capitalised(DateTimeText(deps, ctx, *h, a->slot.starts_at));
                    d["queue_name"] = a->slot.queue_name;
                    d["office_name"] = h->name;
                    d["office_address"] = h->address;
                    d["has_address"] = !h->address.empty();
                    d["state_text"] = T(deps, ctx, "Booked");
                    d["cancellable"] = true;
                    d["cancel_action"] = "/appointments/manage/cancel";
                    return Render(deps, 201, "appointment_manage", d);
                  }
                  const auto& st = a.status();
                  if (st.code() == core::StatusCode::kInvalidArgument) {
                    for (const auto& f : st.fields()) {
                      errors.push_back({{"field", "contact"}, {"message", Said(deps, ctx, Capitalised(f.message))}});
                    }
                  } else if (st.code() == core::StatusCode::kFailedPrecondition ||
                             st.code() == core::StatusCode::kAlreadyExists) {
                    errors.push_back({{"field", st.message().find("contact") != std::string::npos ? "contact" : "slot"},
                                      {"message", Said(deps, ctx, Capitalised(st.message()))}});
                  } else {
                    return ErrorFor(deps, ctx, st);
                  }
                }
                return public_book_page(ctx, *office, queue, values, errors, 400);
              }});

  auto manage_page = [&deps](Context& ctx, const std::string& reference, const std::string& error, int status) {
    json d = Common(deps, ctx, "Your appointment", "");
    d["f_reference"] = reference;
    d["find_action"] = "/appointments/manage";
    if (!error.empty()) AddError(d, "reference", error);
    const int64_t wait =
        reference.empty() || !error.empty() ? 0 : deps.reference_guesses->RetryAfterSeconds(ctx.request.client_address);
    if (wait > 0) {
      AddError(d, "reference", TooManyGuessesText(deps, ctx, wait));
      status = 429;
    } else if (!reference.empty() && error.empty()) {
      auto a = deps.appointments->Find(reference);
      if (!a.ok()) {
        if (a.status().code() == core::StatusCode::kNotFound) deps.reference_guesses->Count(ctx.request.client_address);
        AddError(d, "reference", T(deps, ctx, "We cannot find an appointment with that reference: check it"));
        status = 404;
      } else {
        auto h = deps.office_hours->Get(a->slot.office);
        if (!h.ok()) return ErrorFor(deps, ctx, h.status());
        const core::Timestamp now = deps.office_hours->Now();
        d["found"] = true;
        d["reference"] = a->reference;
        d["when"] = Capitalised(DateTimeText(deps, ctx, *h, a->slot.starts_at));
        d["queue_name"] = a->slot.queue_name;
        d["office_name"] = h->name;
        d["office_address"] = h->address;
        d["has_address"] = !h->address.empty();
        d["state_text"] = a->state == "booked"
                              ? T(deps, ctx, a->slot.starts_at > now ? "Booked" : "Booked; its time has begun")
                          : a->state == "cancelled"
                              ? T(deps, ctx, "Cancelled")
                              : T(deps, ctx, "{state}, ticket {ticket}",
                                  {{"state", T(deps, ctx, "Checked in")}, {"ticket", a->ticket_label}});
        d["cancellable"] = a->state == "booked" && a->slot.starts_at > now;
        d["cancel_action"] = "/appointments/manage/cancel";
      }
    }
    if (const std::string f = SignedQueryValue(ctx, "done"); !f.empty()) d["flash"] = f;
    Response r = Render(deps, status, "appointment_manage", d);
    if (wait > 0) r.Header("Retry-After", std::to_string(wait));
    return r;
  };

  router.Add({"GET", "/appointments/manage", Auth::kPublic, "", [manage_page](Context& ctx) {
                return manage_page(ctx, Trim(ctx.request.Query("reference")), "", 200);
              }});
  router.Add({"POST", "/appointments/manage/cancel", Auth::kPublic, "", [&deps, manage_page](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                const std::string reference = Trim(FormValue(form, "reference"));
                if (const int64_t wait = deps.reference_guesses->RetryAfterSeconds(ctx.request.client_address); wait > 0) {
                  Response r = manage_page(ctx, reference, TooManyGuessesText(deps, ctx, wait), 429);
                  r.Header("Retry-After", std::to_string(wait));
                  return r;
                }
                auto done = deps.appointments->Cancel(reference);
                if (!done.ok() && done.status().code() == core::StatusCode::kNotFound) {
                  deps.reference_guesses->Count(ctx.request.client_address);
                }
                if (done.ok()) {
                  return Response::Redirect("/appointments/manage?reference=" + UrlEncode(done->reference) +
                                            "&" + SignedQuery(ctx, "done", T(deps, ctx, "Your appointment is cancelled")));
                }
                if (done.status().code() == core::StatusCode::kNotFound) {
                  return manage_page(ctx, reference,
                                     T(deps, ctx, "We cannot find an appointment with that reference: check it"), 404);
                }
                if (done.status().code() == core::StatusCode::kFailedPrecondition) {
                  return manage_page(ctx, reference, Said(deps, ctx, Capitalised(done.status().message())), 409);
                }
                return ErrorFor(deps, ctx, done.status());
              }});

  // Book a slot: for a client (checked by the gate) or a visitor, with a contact for the reminder.
  // Booking for a visitor is for the staff who work with clients (docs/staff.md); an administrator
  // sees and cancels the day's appointments, and does not book.
  auto refused_booking = [&deps](const Context& ctx) -> std::optional<Response> {
    if (authz::HasClientRole(ctx.Who())) return std::nullopt;
    return ErrorFor(deps, ctx, core::Status::PermissionDenied("only staff who work with clients book appointments"));
  };
  auto book_page = [&deps, refused_booking](Context& ctx, int64_t slot_id, const json& values, const json& errors,
                                            int status) {
    if (auto refused = refused_booking(ctx)) return std::move(*refused);
    auto slot = deps.appointments->GetSlot(slot_id);
    if (!slot.ok()) return ErrorFor(deps, ctx, slot.status());
    auto hours = deps.office_hours->Get(slot->office);
    if (!hours.ok()) return ErrorFor(deps, ctx, hours.status());
    if (!Sees(ctx.Who(), *hours)) {
      return ErrorFor(deps, ctx, core::Status::PermissionDenied("only the staff of the office's agency book its slots here"));
    }
    json d = Common(deps, ctx, "Book an appointment", "offices");
    d["slot_id"] = slot->id;
    d["office_name"] = hours->name;
    d["office_href"] = fmt::format("/offices/{}", hours->office);
    d["when"] = Capitalised(T(deps, ctx, "{when} to {ends}",
                              {{"when", DateTimeText(deps, ctx, *hours, slot->starts_at)},
                               {"ends", hours->Clock(slot->ends_at)}}));
    d["queue"] = slot->queue_name;
    d["free"] = T(deps, ctx, "{free, number, ::group-off} of {places, number, ::group-off} places free",
                  {{"free", std::to_string(slot->capacity - slot->booked)},
                   {"places", std::to_string(slot->capacity)}});
    d["is_full"] = slot->booked >= slot->capacity;
    for (auto it = values.begin(); it != values.end(); ++it) d[it.key()] = it.value();
    for (const auto& e : errors) AddError(d, e["field"].get<std::string>(), e["message"].get<std::string>());
    return Render(deps, status, "appointment_book", d);
  };

  router.Add({"GET", "/appointments/book", Auth::kPage, "", [&deps, book_page](Context& ctx) {
                auto slot = ParseId(ctx.request.Query("slot"), "slot");
                if (!slot.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("choose a slot on the office's page"));
                json values = json::object();
                if (const std::string p = ctx.request.Query("person"); !p.empty()) values["f_person"] = p;
                return book_page(ctx, *slot, values, json::array(), 200);
              }});

  router.Add({"POST", "/appointments/book", Auth::kPage, "", [&deps, book_page, refused_booking](Context& ctx) {
                if (auto refused = refused_booking(ctx)) return std::move(*refused);
                const auto form = ParseForm(ctx.request.body);
                auto slot = ParseId(FormValue(form, "slot"), "slot");
                if (!slot.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("choose a slot on the office's page"));
                const std::string person_text = Trim(FormValue(form, "person"));
                const std::string contact = Trim(FormValue(form, "contact"));
                json values = {{"f_person", person_text}, {"f_contact", contact}};
                json errors = json::array();
                std::optional<core::PersonId> person;
                if (!person_text.empty()) {
                  auto p = ParseId(person_text, "person");
                  if (!p.ok()) {
                    errors.push_back(
                        {{"field", "person"}, {"message", T(deps, ctx, "The client number must be a number, like 12")}});
                  }
                  else person = core::PersonId{*p};
                }
                if (errors.empty()) {
                  auto a = deps.appointments->Book(ctx.Who(), *slot, person, contact);
                  if (a.ok()) {
                    auto h = deps.office_hours->Get(a->slot.office);
                    if (!h.ok()) return ErrorFor(deps, ctx, h.status());
                    json d = Common(deps, ctx, "Appointment booked", "offices");
                    d["reference"] = a->reference;
                    d["when"] = DateTimeText(deps, ctx, *h, a->slot.starts_at);
                    d["queue"] = a->slot.queue_name;
                    d["office_name"] = h->name;
                    d["has_office_address"] = !h->address.empty();
                    d["office_address"] = h->address;
                    d["office_href"] = fmt::format("/offices/{}", h->office);
                    auto local = frontoffice::ToLocal(a->slot.starts_at, h->time_zone);
                    d["appointments_href"] = fmt::format("/offices/{}/appointments?date={}", h->office,
                                                         local.ok() ? local->date.ToString() : "");
                    return Render(deps, 201, "appointment_booked", d);
                  }
                  const auto& s = a.status();
                  if (s.code() == core::StatusCode::kPermissionDenied && person) {
                    errors.push_back({{"field", "person"},
                                      {"message", T(deps, ctx, "You may not book for this client: {why}",
                                                    {{"why", Said(deps, ctx, s.message())}})}});
                  } else if (s.code() == core::StatusCode::kNotFound && person && s.message().find("person") != std::string::npos) {
                    errors.push_back({{"field", "person"}, {"message", T(deps, ctx, "No client has that number")}});
                  } else if (s.code() == core::StatusCode::kInvalidArgument) {
                    for (const auto& f : s.fields()) {
                      errors.push_back({{"field", "contact"}, {"message", Said(deps, ctx, Capitalised(f.message))}});
                    }
                  } else if (s.code() == core::StatusCode::kFailedPrecondition ||
                             s.code() == core::StatusCode::kAlreadyExists) {
                    errors.push_back({{"field", "contact"}, {"message", Said(deps, ctx, Capitalised(s.message()))}});
                  } else {
                    return ErrorFor(deps, ctx, s);
                  }
                }
                return book_page(ctx, *slot, values, errors, 400);
              }});
}

}  // namespace http
