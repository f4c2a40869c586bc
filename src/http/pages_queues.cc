// The access centre on screen: /desk, where a member of staff signs in at a counter, checks
// visitors in, calls the next one and serves them; /offices/{id}/kiosk, where visitors take a
// ticket themselves; and /offices/{id}/display, the board in the waiting room, which shows each
// call as it happens through server-sent events (/offices/{id}/display/events).

#include <fmt/format.h>

#include <thread>

#include "access/access_gate.h"
#include "frontoffice/queue_service.h"
#include "http/api_queues.h"
#include "http/json_body.h"
#include "http/page_support.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Capitalised;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;
using page_support::T;
using page_support::Trim;

// The words for a ticket's priority, as the check-in form names them.
std::string PriorityWords(frontoffice::Priority p) {
  switch (p) {
    case frontoffice::Priority::kAccessibility:
      return "Accessibility needs";
    case frontoffice::Priority::kUrgent:
      return "Urgent";
    case frontoffice::Priority::kAppointment:
      return "Has an appointment";
    case frontoffice::Priority::kNormal:
      break;
  }
  return "None";
}

// A ticket's client for the desk: their name and number when the gate lets the desk see the
// name (a read of the record, audited), else the number alone; and the link to their record.
json ClientLine(const PageDeps& deps, Context& ctx, core::PersonId person) {
  json out = {{"href", fmt::format("/clients/{}", person.value)},
              {"text", T(deps, ctx, "client {id}", {{"id", std::to_string(person.value)}})}};
  auto view = deps.persons.Get(ctx.Who(), person);
  if (view.ok()) {
    const std::string name = view->person.DisplayName();
    if (!name.empty()) {
      out["text"] = T(deps, ctx, "{name} (client {id})",
                      {{"name", name}, {"id", std::to_string(person.value)}});
    }
  }
  return out;
}

// The office's queue events as server-sent events, from the database (so that every server's
// display sees every server's calls), polled twice a second.
class DisplayStream : public Stream {
 public:
  DisplayStream(frontoffice::QueueService& queues, int64_t office, int64_t after)
      : queues_(queues), office_(office), after_(after) {}

  bool Next(std::string& out, std::chrono::milliseconds wait) override {
    const auto until = std::chrono::steady_clock::now() + wait;
    while (true) {
      auto events = queues_.EventsSince(office_, after_, 50);
      if (!events.ok()) return false;
      for (const auto& e : *events) {
        after_ = e.id;
        out += fmt::format("id: {}\nevent: queue\ndata: {}\n\n", e.id,
                           json{{"label", e.label}, {"action", e.action}, {"counter", e.counter_name}}.dump());
      }
      if (!out.empty() || std::chrono::steady_clock::now() >= until) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }

 private:
  frontoffice::QueueService& queues_;
  int64_t office_;
  int64_t after_;
};

json QueueRows(const PageDeps& deps, const Context& ctx, const std::vector<frontoffice::Queue>& queues) {
  json rows = json::array();
  for (const auto& q : queues) {
    rows.push_back({{"id", q.id},
                    {"code", q.code},
                    {"name", q.name},
                    {"waiting", std::to_string(q.waiting)},
                    {"estimate", q.waiting == 0 ? T(deps, ctx, "no wait")
                                                : T(deps, ctx, "about {minutes} min",
                                                    {{"minutes", std::to_string(q.estimated_minutes)}})}});
  }
  return rows;
}

std::string OfficeName(const PageDeps& deps, int64_t office) {
  auto name = deps.queues->OfficeName(office);
  return name.ok() ? *name : std::string();
}

core::StatusOr<int64_t> OfficeParam(const Context& ctx) { return ParseId(ctx.Param("id"), "id"); }


// Whether the office is open now, for the kiosk and the screen: `is_closed`, `closed_text`
// ("Closed; it opens tomorrow at 09:00."), `closes_text` and the week's hours.
void OpeningState(const PageDeps& deps, const Context& ctx, int64_t office, json& d) {
  if (deps.office_hours == nullptr) return;
  auto h = deps.office_hours->Get(office);
  if (!h.ok() || !h->HasHours()) return;
  const core::Timestamp now = deps.office_hours->Now();
  auto open = h->OpenAt(now);
  if (!open.ok()) return;
  d["has_hours"] = true;
  d["hours_summary"] = h->Describe();
  if (*open) {
    auto closes = h->ClosesAfter(now);
    if (closes.ok() && *closes) {
      d["closes_text"] = T(deps, ctx, "The office closes {when}.", {{"when", h->When(**closes, now)}});
      d["hours_text"] = T(deps, ctx, "Open until {time}.", {{"time", h->Clock(**closes)}});
    }
    return;
  }
  auto next = h->NextOpening(now);
  d["is_closed"] = true;
  d["closed_text"] = next.ok() && *next ? T(deps, ctx, "It opens {when}.", {{"when", h->When(**next, now)}})
                                        : T(deps, ctx, "It is closed until further notice.");
  d["hours_text"] = T(deps, ctx, "Closed.") + " " + d["closed_text"].get<std::string>();
}

}  // namespace

void AddQueuePages(Router& router, const PageDeps& deps) {
  if (deps.queues == nullptr) return;

  router.Add({"GET", "/offices/{id}/display", Auth::kPublic, "", [&deps](Context& ctx) {
                auto office = OfficeParam(ctx);
                if (!office.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such office"));
                auto queues = deps.queues->Queues(*office);
                if (!queues.ok()) return ErrorFor(deps, ctx, queues.status());
                auto called = deps.queues->RecentlyCalled(*office, 6);
                if (!called.ok()) return ErrorFor(deps, ctx, called.status());
                auto last = deps.queues->LastEventId(*office);  // where the live feed starts
                if (!last.ok()) return ErrorFor(deps, ctx, last.status());
                json d = Common(deps, ctx, "Now calling", "");
                d["office"] = OfficeName(deps, *office);
                d["queues"] = QueueRows(deps, ctx, *queues);
                json rows = json::array();
                for (const auto& t : *called) rows.push_back({{"label", t.label}, {"counter", t.counter_name}});
                d["has_called"] = !rows.empty();
                d["called"] = std::move(rows);
                d["events_url"] = fmt::format("/offices/{}/display/events", *office);
                d["queues_url"] = fmt::format("/api/v1/offices/{}/queues", *office);
                d["last_event"] = std::to_string(*last);
                d["display"] = true;
                OpeningState(deps, ctx, *office, d);
                d.erase("has_hours");
                d.erase("hours_summary");
                return Render(deps, 200, "queue_display", d);
              }});

  router.Add({"GET", "/offices/{id}/display/events", Auth::kPublic, "", [&deps](Context& ctx) {
                auto office = OfficeParam(ctx);
                if (!office.ok()) return Response::Text(404, "no such office");
                int64_t after = 0;
                std::string from = ctx.request.Header("last-event-id").value_or(ctx.request.Query("after"));
                if (!from.empty()) {
                  auto parsed = ParseId(from, "after");
                  if (parsed.ok()) after = *parsed;
                }
                Response r;
                r.status = 200;
                r.stream = std::make_shared<DisplayStream>(*deps.queues, *office, after);
                return r;
              }});

  auto kiosk_page = [&deps](Context& ctx, int64_t office, const std::string& error,
                            const std::string& appointment_error = "") {
    auto queues = deps.queues->Queues(office);
    if (!queues.ok()) return ErrorFor(deps, ctx, queues.status());
    json d = Common(deps, ctx, "Take a ticket", "");
    d["office"] = OfficeName(deps, office);
    d["queues"] = QueueRows(deps, ctx, *queues);
    d["action"] = fmt::format("/offices/{}/kiosk", office);
    d["appointment_action"] = fmt::format("/offices/{}/kiosk/appointment", office);
    d["appointments"] = deps.appointments != nullptr;
    OpeningState(deps, ctx, office, d);
    if (!appointment_error.empty()) {
      d["e_reference"] = appointment_error;
      d["has_errors"] = true;
      d["errors"] = json::array({{{"message", appointment_error}, {"href", "#reference"}}});
    }
    if (!error.empty()) {
      d["e_queue"] = error;
      d["has_errors"] = true;
      d["errors"] = json::array({{{"message", error}, {"href", "#queue-" + (queues->empty() ? std::string("0") : std::to_string(queues->front().id))}}});
    }
    return Render(deps, error.empty() && appointment_error.empty() ? 200 : 400, "queue_kiosk", d);
  };
  router.Add({"GET", "/offices/{id}/kiosk", Auth::kPublic, "", [&deps, kiosk_page](Context& ctx) {
                auto office = OfficeParam(ctx);
                if (!office.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such office"));
                return kiosk_page(ctx, *office, "");
              }});
  router.Add({"POST", "/offices/{id}/kiosk", Auth::kPublic, "", [&deps, kiosk_page](Context& ctx) {
                auto office = OfficeParam(ctx);
                if (!office.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such office"));
                const auto form = ParseForm(ctx.request.body);
                auto queue = ParseId(FormValue(form, "queue"), "queue");
                if (!queue.ok()) return kiosk_page(ctx, *office, T(deps, ctx, "Choose what you have come for"));
                // Only this office's queues.
                auto queues = deps.queues->Queues(*office);
                if (!queues.ok()) return ErrorFor(deps, ctx, queues.status());
                bool here = false;
                for (const auto& q : *queues) here = here || q.id == *queue;
                if (!here) return kiosk_page(ctx, *office, T(deps, ctx, "Choose what you have come for"));
                const auto priority = FormValue(form, "accessibility").empty() ? frontoffice::Priority::kNormal
                                                                               : frontoffice::Priority::kAccessibility;
                auto t = deps.queues->KioskCheckIn(*queue, priority);
                if (!t.ok() && t.status().code() == core::StatusCode::kFailedPrecondition) {
                  return kiosk_page(ctx, *office, T(deps, ctx, Capitalised(t.status().message())));
                }
                if (!t.ok()) return ErrorFor(deps, ctx, t.status());
                json d = Common(deps, ctx, T(deps, ctx, "Your number is {label}", {{"label", t->label}}), "");
                d["label"] = t->label;
                d["queue"] = t->queue_name;
                d["ahead"] = t->position <= 1 ? T(deps, ctx, "You are next.")
                                              : T(deps, ctx, "{count, plural, one {# person is} other {# people are}} before you.",
                                                  {{"count", std::to_string(t->position - 1)}});
                d["estimate"] = t->estimated_minutes == 0
                                    ? ""
                                    : T(deps, ctx, "About {minutes} minutes.", {{"minutes", std::to_string(t->estimated_minutes)}});
                d["has_estimate"] = t->estimated_minutes > 0;
                d["back_href"] = fmt::format("/offices/{}/kiosk", *office);
                return Render(deps, 201, "queue_ticket", d);
              }});

  // "I have an appointment": the reference turns into a ticket called before walk-ins.
  router.Add({"POST", "/offices/{id}/kiosk/appointment", Auth::kPublic, "", [&deps, kiosk_page](Context& ctx) {
                auto office = OfficeParam(ctx);
                if (!office.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such office"));
                if (deps.appointments == nullptr) return ErrorFor(deps, ctx, core::Status::NotFound("no appointments here"));
                const auto form = ParseForm(ctx.request.body);
                const std::string reference = Trim(FormValue(form, "reference"));
                auto in = deps.appointments->CheckIn(reference, nullptr, *office);
                if (!in.ok() && in.status().code() == core::StatusCode::kNotFound) {
                  return kiosk_page(ctx, *office, "",
                                    T(deps, ctx, "We cannot find that reference: check it, or take a ticket below"));
                }
                if (!in.ok()) {
                  std::string m = in.status().message();
                  return kiosk_page(ctx, *office, "", T(deps, ctx, Capitalised(m)));
                }
                json d = Common(deps, ctx, T(deps, ctx, "Your number is {label}", {{"label", in->ticket_label}}), "");
                d["label"] = in->ticket_label;
                d["queue"] = in->slot.queue_name;
                d["ahead"] = T(deps, ctx, "You have an appointment: you will be called first.");
                d["has_estimate"] = false;
                d["back_href"] = fmt::format("/offices/{}/kiosk", *office);
                return Render(deps, 201, "queue_ticket", d);
              }});

  // The desk: the counter the member of staff is signed in at, or the counters to choose from.
  router.Add({"GET", "/desk", Auth::kPage, "", [&deps](Context& ctx) {
                const authz::Principal& who = ctx.Who();
                if (!authz::HasClientRole(who)) {
                  return ErrorFor(deps, ctx, core::Status::PermissionDenied("only staff who work with clients work at a desk"));
                }
                json d = Common(deps, ctx, "Desk", "desk");
                auto offices = deps.accounts.ListOffices(who.agency);
                if (!offices.ok()) return ErrorFor(deps, ctx, offices.status());
                json choices = json::array();
                std::optional<frontoffice::Counter> mine;
                for (const auto& o : *offices) {
                  auto counters = deps.queues->Counters(o.id.value);
                  if (!counters.ok()) return ErrorFor(deps, ctx, counters.status());
                  for (const auto& c : *counters) {
                    if (c.staff == who.name) mine = c;
                    choices.push_back({{"id", c.id},
                                       {"name", o.name + ", " + c.name},
                                       {"taken", !c.staff.empty() && c.staff != who.name},
                                       {"staff", c.staff}});
                  }
                }
                d["counters"] = std::move(choices);
                if (mine) {
                  d["at_counter"] = true;
                  d["counter_id"] = mine->id;
                  d["counter_name"] = mine->name;
                  d["office_name"] = OfficeName(deps, mine->office);
                  d["display_href"] = fmt::format("/offices/{}/display", mine->office);
                  d["office_href"] = fmt::format("/offices/{}", mine->office);
                  d["kiosk_href"] = fmt::format("/offices/{}/kiosk", mine->office);
                  d["office_id"] = mine->office;
                  auto queues = deps.queues->Queues(mine->office);
                  if (!queues.ok()) return ErrorFor(deps, ctx, queues.status());
                  d["queues"] = QueueRows(deps, ctx, *queues);
                  if (mine->current_ticket) {
                    auto t = deps.queues->Get(*mine->current_ticket);
                    if (t.ok()) {
                      d["has_current"] = true;
                      d["current"] = {{"id", t->id},
                                      {"label", t->label},
                                      {"queue", t->queue_name},
                                      {"state", T(deps, ctx, t->state == "called" ? "Called" : "Being served")},
                                      {"called", t->state == "called"},
                                      {"has_recalls", t->recalls > 0},
                                      {"recall_text", T(deps, ctx,
                                                        "called {count, plural, one {# more time} other {# more times}}",
                                                        {{"count", std::to_string(t->recalls)}})},
                                      {"priority", std::string(frontoffice::PriorityName(t->priority))}};
                      // Why the visitor went first, and who they are when the desk said: the
                      // counter serves them without asking again (the read is gated and audited).
                      if (t->priority != frontoffice::Priority::kNormal) {
                        d["current"]["priority_label"] = T(deps, ctx, PriorityWords(t->priority));
                      }
                      if (t->person) {
                        d["current"]["client"] = ClientLine(deps, ctx, *t->person);
                      }
                      json others = json::array();
                      for (const auto& q : *queues) {
                        if (q.id != t->queue) others.push_back({{"id", q.id}, {"name", q.code + " — " + q.name}});
                      }
                      d["transfer_queues"] = std::move(others);
                    }
                  }
                }
                if (const std::string f = SignedQueryValue(ctx, "done"); !f.empty()) d["flash"] = f;
                if (const std::string issued = SignedQueryValue(ctx, "issued"); !issued.empty()) {
                  auto n = ParseId(issued, "issued");
                  auto t = n.ok() ? deps.queues->Get(*n)
                                  : core::StatusOr<frontoffice::Ticket>(n.status());
                  if (t.ok() && t->person) {
                    const json client = ClientLine(deps, ctx, *t->person);
                    d["flash"] =
                        T(deps, ctx, "Ticket {label} issued for {client}",
                          {{"label", t->label}, {"client", client["text"].get<std::string>()}});
                  }
                }
                if (const std::string e = SignedQueryValue(ctx, "error"); !e.empty()) {
                  d["has_errors"] = true;
                  // A check-in's mistake names its field, which gets back what was chosen and
                  // typed.
                  const std::string field = ctx.request.Query("checkin_field");
                  const bool checkin = field == "queue" || field == "priority" || field == "person";
                  d["errors"] = json::array(
                      {{{"message", e}, {"href", checkin ? "#checkin-" + field : "#desk"}}});
                  if (checkin) {
                    d["e_checkin_" + field] = e;
                    d["f_checkin_person"] = ctx.request.Query("person");
                    d["p_" + ctx.request.Query("priority")] = true;
                    if (d.contains("queues")) {
                      for (auto& q : d["queues"]) {
                        if (q["id"].dump() == ctx.request.Query("queue")) q["selected"] = true;
                      }
                    }
                  }
                }
                return Render(deps, 200, "queue_desk", d);
              }});

  router.Add({"POST", "/desk", Auth::kPage, "", [&deps](Context& ctx) {
                if (!authz::HasClientRole(ctx.Who())) {
                  return ErrorFor(deps, ctx, core::Status::PermissionDenied("only staff who work with clients work at a desk"));
                }
                const auto form = ParseForm(ctx.request.body);
                const std::string command = FormValue(form, "command");
                // The message goes in the person's language: the page shows it as it comes.
                auto back = [&](const std::string& key, const std::string& message,
                                const std::map<std::string, std::string>& args = {}) {
                  return Response::Redirect("/desk?" + SignedQuery(ctx, key, T(deps, ctx, message, args)));
                };
                auto id = [&](const char* name) -> int64_t {
                  auto v = ParseId(FormValue(form, name), name);
                  return v.ok() ? *v : 0;
                };
                auto fail = [&](const core::Status& s) {
                  if (s.code() == core::StatusCode::kInvalidArgument || s.code() == core::StatusCode::kFailedPrecondition ||
                      s.code() == core::StatusCode::kNotFound) {
                    std::string m = s.fields().empty() ? s.message() : s.fields().front().message;
                    if (!m.empty()) m[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(m[0])));
                    return back("error", m);
                  }
                  return ErrorFor(deps, ctx, s);
                };
                const authz::Principal& who = ctx.Who();
                if (command == "sign_in" || command == "sign_out") {
                  auto c = command == "sign_in" ? deps.queues->SignIn(who, id("counter")) : deps.queues->SignOut(who, id("counter"));
                  if (!c.ok()) return fail(c.status());
                  return back("done", command == "sign_in" ? "Signed in at {counter}" : "Signed out of {counter}",
                              {{"counter", c->name}});
                }
                if (command == "call_next") {
                  auto next = deps.queues->CallNext(who, id("counter"));
                  if (!next.ok()) return fail(next.status());
                  if (!*next) return back("done", "No one is waiting");
                  return back("done", "Calling {label}", {{"label", (*next)->label}});
                }
                if (command == "check_in") {
                  // A mistake comes back with what was chosen and typed, the message beside its
                  // field.
                  auto again = [&](const std::string& field, const std::string& message) {
                    std::string m = message;
                    if (!m.empty())
                      m[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(m[0])));
                    return Response::Redirect(
                        "/desk?" + SignedQuery(ctx, "error", T(deps, ctx, m)) + "&checkin_field=" +
                        field + "&queue=" + UrlEncode(FormValue(form, "queue")) +
                        "&priority=" + UrlEncode(FormValue(form, "priority")) + "&person=" +
                        UrlEncode(Trim(FormValue(form, "person"))) + "#checkin-" + field);
                  };
                  auto p = frontoffice::ParsePriority(FormValue(form, "priority"));
                  if (!p.ok()) return again("priority", "choose the priority from the list");
                  std::optional<core::PersonId> person;
                  if (const std::string pid = Trim(FormValue(form, "person")); !pid.empty()) {
                    auto parsed = ParseId(pid, "person");
                    if (!parsed.ok())
                      return again("person", "The client number must be a number, like 12");
                    person = core::PersonId{*parsed};
                  }
                  auto t = deps.queues->CheckIn(who, id("queue"), *p, person);
                  if (!t.ok() && (t.status().code() == core::StatusCode::kInvalidArgument ||
                                  t.status().code() == core::StatusCode::kNotFound)) {
                    const auto& fields = t.status().fields();
                    const std::string field =
                        fields.empty()
                            ? (t.status().message().find("person") != std::string::npos ? "person"
                                                                                        : "queue")
                            : fields.front().field;
                    return again(field == "person_id"  ? "person"
                                 : field == "queue_id" ? "queue"
                                                       : field,
                                 fields.empty() ? t.status().message() : fields.front().message);
                  }
                  if (!t.ok()) return fail(t.status());
                  if (person) {
                    // The desk page names the client, so that a mistyped number is seen at once.
                    return Response::Redirect("/desk?" +
                                              SignedQuery(ctx, "issued", std::to_string(t->id)));
                  }
                  return back("done", "Ticket {label} issued", {{"label", t->label}});
                }
                // A visitor still waiting: left before being called, or in the wrong queue.
                if (command == "waiting_left" || command == "waiting_move") {
                  auto t = deps.queues->ByLabel(id("office"), Trim(FormValue(form, "label")));
                  if (!t.ok()) return fail(t.status());
                  if (t->state != "waiting") {
                    return fail(core::Status::FailedPrecondition(fmt::format(
                        "{} is not waiting: {}", t->label,
                        t->state == "called" || t->state == "serving" ? "act on it at its counter"
                                                                      : "it is over")));
                  }
                  const bool left = command == "waiting_left";
                  auto done =
                      deps.queues->Act(who, t->id, left ? "no_show" : "transfer",
                                       left ? std::nullopt : std::optional<int64_t>(id("queue")));
                  if (!done.ok()) return fail(done.status());
                  if (left)
                    return back("done", "{label} is off the queue: the visitor left",
                                {{"label", done->label}});
                  return back("done", "{label} moved to {queue}, keeping its place",
                              {{"label", done->label}, {"queue", done->queue_name}});
                }
                if (command == "check_in_appointment" && deps.appointments != nullptr) {
                  const std::string reference = Trim(FormValue(form, "reference"));
                  if (reference.empty())
                    return back("error",
                                "Enter the reference the visitor gives you, like K7Q2-9XWM");
                  auto in = deps.appointments->CheckIn(reference, &who);
                  if (!in.ok()) return fail(in.status());
                  return back("done", "Ticket {label} issued for the appointment", {{"label", in->ticket_label}});
                }
                const std::map<std::string, std::string> done = {{"serve", "Serving"}, {"recall", "Called again"},
                                                                 {"no_show", "Marked as not here"},
                                                                 {"finish", "Finished"},
                                                                 {"transfer", "Transferred"}};
                if (done.count(command)) {
                  std::optional<int64_t> to;
                  if (command == "transfer") to = id("queue");
                  auto t = deps.queues->Act(who, id("ticket"), command, to);
                  if (!t.ok()) return fail(t.status());
                  return back("done", done.at(command) + ": {label}", {{"label", t->label}});
                }
                return back("error", "Choose an action");
              }});
}

}  // namespace http
