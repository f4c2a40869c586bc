#include "http/api_queues.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "http/address_throttle.h"
#include "http/json_body.h"
#include "http/problem.h"

namespace http {

using nlohmann::json;

namespace {

json QueueJson(const frontoffice::Queue& q) {
  return {{"id", q.id},
          {"office_id", q.office},
          {"code", q.code},
          {"name", q.name},
          {"directory_service_id", q.directory_service_id.empty() ? json(nullptr) : json(q.directory_service_id)},
          {"waiting", q.waiting},
          {"estimated_minutes", q.estimated_minutes},
          {"open_counters", q.open_counters}};
}

json CounterJson(const frontoffice::Counter& c) {
  return {{"id", c.id},
          {"office_id", c.office},
          {"name", c.name},
          {"queues", c.queues},
          {"staff", c.staff.empty() ? json(nullptr) : json(c.staff)},
          {"current_ticket_id", c.current_ticket ? json(*c.current_ticket) : json(nullptr)}};
}

auto Time = [](const std::optional<core::Timestamp>& t) { return t ? json(t->ToRfc3339()) : json(nullptr); };

constexpr const char* kDays[] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

}  // namespace

json OfficeHoursJson(const frontoffice::OfficeHours& h, core::Timestamp now) {
  json periods = json::array();
  for (const auto& p : h.periods) {
    periods.push_back({{"day", kDays[p.weekday - 1]},
                       {"opens", frontoffice::ClockText(p.opens)},
                       {"closes", frontoffice::ClockText(p.closes)}});
  }
  json closures = json::array();
  for (const auto& c : h.closures) closures.push_back({{"date", c.date.ToString()}, {"reason", c.reason}});
  auto open = h.OpenAt(now);
  auto next = h.NextOpening(now);
  auto closes = h.ClosesAfter(now);
  return {{"office_id", h.office},
          {"agency_id", h.agency},
          {"name", h.name},
          {"address", h.address},
          {"time_zone", h.time_zone},
          {"own_time_zone", h.own_zone},
          {"hours", std::move(periods)},
          {"closures", std::move(closures)},
          {"summary", h.HasHours() ? json(h.Describe()) : json::array({"Open at all times"})},
          {"open_now", open.ok() && *open},
          {"next_opening", next.ok() ? Time(*next) : json(nullptr)},
          {"closes_at", closes.ok() ? Time(*closes) : json(nullptr)}};
}

core::StatusOr<frontoffice::HoursChange> ParseHoursChange(const json& body) {
  JsonReader r(body);
  r.RejectUnknown({"time_zone", "hours", "closures"});
  frontoffice::HoursChange change;
  change.time_zone = r.String("time_zone", false, 100);
  if (const json* list = r.Array("hours", 70)) {
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string at = fmt::format("hours/{}", i);
      if (!(*list)[i].is_object()) {
        r.Error(at, "must be an object with day, opens and closes");
        continue;
      }
      JsonReader item((*list)[i], at);
      item.RejectUnknown({"day", "opens", "closes"});
      frontoffice::OpeningPeriod p;
      const std::string day = item.String("day", true, 20);
      p.weekday = 0;
      for (int d = 0; d < 7; ++d) {
        if (day == kDays[d]) p.weekday = d + 1;
      }
      if (!day.empty() && p.weekday == 0) item.Error(item.Path("day"), "a day of the week in lower case: monday to sunday");
      for (auto [key, slot] : {std::pair{"opens", &p.opens}, std::pair{"closes", &p.closes}}) {
        const std::string text = item.String(key, true, 10);
        if (text.empty()) continue;
        auto minute = frontoffice::ParseClock(text);
        if (minute.ok()) *slot = *minute;
        else item.Error(item.Path(key), minute.status().message());
      }
      r.Absorb(item);
      change.periods.push_back(p);
    }
  }
  if (const json* list = r.Array("closures", 400)) {
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string at = fmt::format("closures/{}", i);
      if (!(*list)[i].is_object()) {
        r.Error(at, "must be an object with date and reason");
        continue;
      }
      JsonReader item((*list)[i], at);
      item.RejectUnknown({"date", "reason"});
      frontoffice::Closure c;
      const std::string date = item.String("date", true, 10);
      c.reason = item.String("reason", false, 200);
      if (!date.empty()) {
        auto d = core::Date::Parse(date);
        if (d.ok()) c.date = *d;
        else item.Error(item.Path("date"), d.status().message());
      }
      r.Absorb(item);
      change.closures.push_back(c);
    }
  }
  RETURN_IF_ERROR(r.Finish("the opening hours have invalid fields"));
  return change;
}

// `for_staff`: the client and the ticket's priority (urgent, accessibility needs...) are for
// staff; anyone may follow a ticket by its id, and sees its place, not why it has it.
json TicketJson(const frontoffice::Ticket& t, bool for_staff) {
  json out = {
      {"id", t.id},
      {"office_id", t.office},
      {"queue", {{"id", t.queue}, {"name", t.queue_name}}},
      {"label", t.label},
      {"day", t.day},
      {"state", t.state},
      {"counter", t.counter ? json{{"id", *t.counter}, {"name", t.counter_name}} : json(nullptr)},
      {"recalls", t.recalls},
      {"arrived_at", t.arrived_at.ToRfc3339()},
      {"called_at", Time(t.called_at)},
      {"served_at", Time(t.served_at)},
      {"finished_at", Time(t.finished_at)},
      {"position", t.state == "waiting" ? json(t.position) : json(nullptr)},
      {"estimated_minutes", t.state == "waiting" ? json(t.estimated_minutes) : json(nullptr)}};
  if (for_staff) {
    out["person_id"] = t.person ? json(t.person->value) : json(nullptr);
    out["priority"] = std::string(frontoffice::PriorityName(t.priority));
  }
  return out;
}

void AddQueueRoutes(Router& router, frontoffice::QueueService& queues) {
  router.Add({"GET", "/api/v1/offices/{id}/hours", Auth::kPublic, "getOfficeHours", [&queues](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto h = queues.hours().Get(*id);
                if (!h.ok()) return Problem(h.status(), ctx.request.request_id);
                return JsonResponse(200, OfficeHoursJson(*h, queues.hours().Now()));
              }});
  router.Add({"PUT", "/api/v1/offices/{id}/hours", Auth::kApi, "setOfficeHours", [&queues](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                auto change = ParseHoursChange(*body);
                if (!change.ok()) return Problem(change.status(), ctx.request.request_id);
                auto h = queues.hours().Set(ctx.Who(), *id, *change);
                if (!h.ok()) return Problem(h.status(), ctx.request.request_id);
                return JsonResponse(200, OfficeHoursJson(*h, queues.hours().Now()));
              }});
  router.Add({"GET", "/api/v1/offices/{id}/queues", Auth::kPublic, "listOfficeQueues", [&queues](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto list = queues.Queues(*id);
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& q : *list) items.push_back(QueueJson(q));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
  router.Add({"POST", "/api/v1/offices/{id}/queues", Auth::kApi, "createQueue", [&queues](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"code", "name", "directory_service_id"});
                const std::string code = r.String("code", false, 10);
                const std::string name = r.String("name", false, 1000);
                const std::string service = r.String("directory_service_id", false, 100);
                if (auto s = r.Finish("the queue has invalid fields"); !s.ok()) return Problem(s, ctx.request.request_id);
                auto q = queues.CreateQueue(ctx.Who(), *id, code, name, service);
                if (!q.ok()) return Problem(q.status(), ctx.request.request_id);
                return JsonResponse(201, QueueJson(*q));
              }});
  router.Add({"GET", "/api/v1/offices/{id}/counters", Auth::kApi, "listCounters", [&queues](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto list = queues.Counters(*id);
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& c : *list) items.push_back(CounterJson(c));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
  router.Add({"POST", "/api/v1/offices/{id}/counters", Auth::kApi, "createCounter", [&queues](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"name", "queues"});
                const std::string name = r.String("name", false, 1000);
                std::vector<int64_t> list;
                if (const json* q = r.Array("queues", 26)) {
                  for (const auto& v : *q) {
                    if (v.is_number_integer()) list.push_back(v.get<int64_t>());
                    else r.Error("queues", "must be a list of queue ids");
                  }
                }
                if (auto s = r.Finish("the counter has invalid fields"); !s.ok()) return Problem(s, ctx.request.request_id);
                auto c = queues.CreateCounter(ctx.Who(), *id, name, list);
                if (!c.ok()) return Problem(c.status(), ctx.request.request_id);
                return JsonResponse(201, CounterJson(*c));
              }});
  for (const auto& [path, op, in] : {std::tuple{"/api/v1/counters/{id}/sign-in", "signInCounter", true},
                                     std::tuple{"/api/v1/counters/{id}/sign-out", "signOutCounter", false}}) {
    const bool sign_in = in;
    router.Add({"POST", path, Auth::kApi, op, [&queues, sign_in](Context& ctx) {
                  auto id = ParseId(ctx.Param("id"), "id");
                  if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                  auto c = sign_in ? queues.SignIn(ctx.Who(), *id) : queues.SignOut(ctx.Who(), *id);
                  if (!c.ok()) return Problem(c.status(), ctx.request.request_id);
                  return JsonResponse(200, CounterJson(*c));
                }});
  }
  router.Add({"POST", "/api/v1/counters/{id}/call-next", Auth::kApi, "callNextTicket", [&queues](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto next = queues.CallNext(ctx.Who(), *id);
                if (!next.ok()) return Problem(next.status(), ctx.request.request_id);
                return JsonResponse(200, {{"ticket", *next ? TicketJson(**next, true) : json(nullptr)}});
              }});
  router.Add({"POST", "/api/v1/queues/{id}/tickets", Auth::kApi, "checkIn", [&queues](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"priority", "person_id"});
                const std::string priority = r.String("priority", false, 20);
                auto p = frontoffice::ParsePriority(priority);
                const bool priority_named =
                    std::any_of(r.errors().begin(), r.errors().end(),
                                [](const core::FieldError& e) { return e.field == "priority"; });
                if (!p.ok() && !priority_named) {
                  for (const auto& fe : p.status().fields()) r.Error(fe.field, fe.message);
                }
                const auto person = r.OptInt("person_id");
                if (auto s = r.Finish("the ticket has invalid fields"); !s.ok())
                  return Problem(s, ctx.request.request_id);
                auto t = queues.CheckIn(ctx.Who(), *id, *p,
                                        person ? std::optional<core::PersonId>(core::PersonId{*person}) : std::nullopt);
                if (!t.ok()) return Problem(t.status(), ctx.request.request_id);
                return JsonResponse(201, TicketJson(*t, true));
              }});
  router.Add({"GET", "/api/v1/tickets/{id}", Auth::kPublic, "getTicket", [&queues](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto t = queues.Get(*id);
                if (!t.ok()) return Problem(t.status(), ctx.request.request_id);
                return JsonResponse(200, TicketJson(*t, false));
              }});
  router.Add({"POST", "/api/v1/tickets/{id}/actions", Auth::kApi, "actOnTicket", [&queues](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"action", "queue_id"});
                const std::string action = r.String("action", false, 20);
                const auto queue = r.OptInt("queue_id");
                if (auto s = r.Finish("the action has invalid fields"); !s.ok()) return Problem(s, ctx.request.request_id);
                auto t = queues.Act(ctx.Who(), *id, action, queue);
                if (!t.ok()) return Problem(t.status(), ctx.request.request_id);
                return JsonResponse(200, TicketJson(*t, true));
              }});
  router.Add({"GET", "/api/v1/offices/{id}/queue-events", Auth::kPublic, "listQueueEvents", [&queues](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                int64_t after = 0;
                if (const std::string a = ctx.request.Query("after"); !a.empty()) {
                  auto parsed = ParseId(a, "after");
                  if (!parsed.ok() && a != "0") return Problem(parsed.status(), ctx.request.request_id);
                  after = parsed.ok() ? *parsed : 0;
                }
                auto events = queues.EventsSince(*id, after, 100);
                if (!events.ok()) return Problem(events.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& e : *events) {
                  items.push_back({{"id", e.id},
                                   {"ticket_id", e.ticket},
                                   {"label", e.label},
                                   {"action", e.action},
                                   {"counter", e.counter_name.empty() ? json(nullptr) : json(e.counter_name)},
                                   {"at", e.at.ToRfc3339()}});
                }
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
}

namespace {

json SlotJson(const frontoffice::Slot& s) {
  return {{"id", s.id},
          {"office_id", s.office},
          {"queue", {{"id", s.queue}, {"name", s.queue_name}}},
          {"starts_at", s.starts_at.ToRfc3339()},
          {"ends_at", s.ends_at.ToRfc3339()},
          {"capacity", s.capacity},
          {"free", s.capacity - s.booked}};
}

json AppointmentJson(const frontoffice::Appointment& a) {
  return {{"reference", a.reference},
          {"state", a.state},
          {"slot", SlotJson(a.slot)},
          {"ticket", a.ticket ? json{{"id", *a.ticket}, {"label", a.ticket_label}} : json(nullptr)}};
}

core::StatusOr<core::Timestamp> TimeParam(const Request& rq, const char* name, core::Timestamp fallback) {
  const std::string v = rq.Query(name);
  if (v.empty()) return fallback;
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(v.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &consumed) != 6 ||
      static_cast<size_t>(consumed) != v.size()) {
    return core::Status::InvalidArgument(fmt::format("{} must be a UTC time like 2026-12-03T09:00:00Z", name),
                                         {{name, "must be a UTC time like 2026-12-03T09:00:00Z"}});
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return core::Timestamp{static_cast<int64_t>(timegm(&tm)) * 1'000'000};
}

}  // namespace

void AddAppointmentRoutes(Router& router, frontoffice::AppointmentService& appointments, AddressThrottle& guesses) {
  router.Add({"POST", "/api/v1/queues/{id}/slots", Auth::kApi, "createSlots", [&appointments](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"first", "count", "minutes", "capacity"});
                const std::string first = r.String("first", true, 40);
                frontoffice::NewSlots in;
                in.count = static_cast<int>(r.OptInt("count").value_or(1));
                in.minutes = static_cast<int>(r.OptInt("minutes").value_or(15));
                in.capacity = static_cast<int>(r.OptInt("capacity").value_or(1));
                if (auto s = r.Finish("the slots have invalid fields"); !s.ok()) return Problem(s, ctx.request.request_id);
                Request probe;
                probe.query.insert({"first", first});
                auto start = TimeParam(probe, "first", core::Timestamp{});
                if (!start.ok()) return Problem(start.status(), ctx.request.request_id);
                in.first = *start;
                auto slots = appointments.CreateSlots(ctx.Who(), *id, in);
                if (!slots.ok()) return Problem(slots.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& s : *slots) items.push_back(SlotJson(s));
                return JsonResponse(201, {{"items", std::move(items)}});
              }});
  router.Add({"GET", "/api/v1/queues/{id}/slots", Auth::kPublic, "listFreeSlots", [&appointments](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                const core::Timestamp now = core::SystemClock().Now();
                auto from = TimeParam(ctx.request, "from", now);
                if (!from.ok()) return Problem(from.status(), ctx.request.request_id);
                auto to = TimeParam(ctx.request, "to", core::Timestamp{from->micros + 14LL * 86'400'000'000});
                if (!to.ok()) return Problem(to.status(), ctx.request.request_id);
                auto slots = appointments.FreeSlots(*id, *from, *to);
                if (!slots.ok()) return Problem(slots.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& s : *slots) items.push_back(SlotJson(s));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
  router.Add({"POST", "/api/v1/appointments", Auth::kApi, "bookAppointment", [&appointments](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"slot_id", "person_id", "contact"});
                const auto slot = r.OptInt("slot_id");
                if (!slot) r.Error("slot_id", "give the slot to book");
                const auto person = r.OptInt("person_id");
                const std::string contact = r.String("contact", false, 200);
                if (auto s = r.Finish("the appointment has invalid fields"); !s.ok()) {
                  return Problem(s, ctx.request.request_id);
                }
                auto a = appointments.Book(ctx.Who(), *slot,
                                           person ? std::optional<core::PersonId>(core::PersonId{*person}) : std::nullopt,
                                           contact);
                if (!a.ok()) return Problem(a.status(), ctx.request.request_id);
                return JsonResponse(201, AppointmentJson(*a));
              }});
  router.Add({"GET", "/api/v1/offices/{id}/appointments", Auth::kApi, "listOfficeAppointments",
              [&appointments](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                const core::Timestamp now = appointments.Now();
                auto from = TimeParam(ctx.request, "from", core::Timestamp{now.micros - 86'400'000'000LL});
                if (!from.ok()) return Problem(from.status(), ctx.request.request_id);
                auto to = TimeParam(ctx.request, "to", core::Timestamp{from->micros + 8LL * 86'400'000'000});
                if (!to.ok()) return Problem(to.status(), ctx.request.request_id);
                auto list = appointments.OfficeAppointments(ctx.Who(), *id, *from, *to);
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& a : *list) {
                  json item = AppointmentJson(a);
                  item["person_id"] = a.person ? json(a.person->value) : json(nullptr);
                  items.push_back(std::move(item));
                }
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
  // The reference is the proof: whoever tries references that find nothing is slowed down.
  auto by_reference = [&guesses](Context& ctx, auto&& act) {
    if (const int64_t wait = guesses.RetryAfterSeconds(ctx.request.client_address); wait > 0) {
      Response r = Problem(core::Status::ResourceExhausted(TooManyGuesses(wait)), ctx.request.request_id);
      r.Header("Retry-After", std::to_string(wait));
      return r;
    }
    core::StatusOr<frontoffice::Appointment> a = act(ctx.Param("reference"));
    if (!a.ok()) {
      if (a.status().code() == core::StatusCode::kNotFound) guesses.Count(ctx.request.client_address);
      return Problem(a.status(), ctx.request.request_id);
    }
    return JsonResponse(200, AppointmentJson(*a));
  };
  router.Add({"GET", "/api/v1/appointments/{reference}", Auth::kPublic, "getAppointment",
              [&appointments, by_reference](Context& ctx) {
                return by_reference(ctx, [&](const std::string& ref) { return appointments.Find(ref); });
              }});
  router.Add({"POST", "/api/v1/appointments/{reference}/cancel", Auth::kPublic, "cancelAppointment",
              [&appointments, by_reference](Context& ctx) {
                return by_reference(ctx, [&](const std::string& ref) { return appointments.Cancel(ref); });
              }});
  // Not slowed: kiosks share one address among many visitors, and a check-in works only near
  // the slot's time.
  router.Add({"POST", "/api/v1/appointments/{reference}/check-in", Auth::kPublic, "checkInAppointment",
              [&appointments](Context& ctx) {
                auto a = appointments.CheckIn(ctx.Param("reference"));
                if (!a.ok()) return Problem(a.status(), ctx.request.request_id);
                return JsonResponse(200, AppointmentJson(*a));
              }});
}

}  // namespace http
