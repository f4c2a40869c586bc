// The citizen portal's appointments: /portal/appointments (the person's appointments, and a
// free time to book at any office), POST /portal/appointments (book), and moving or cancelling
// one of their own (/portal/appointments/{reference}/move, .../cancel).

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "http/json_body.h"
#include "http/page_support.h"
#include "portal/portal_service.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;
using page_support::T;

constexpr int kDaysAhead = 21;

// "Tuesday 9 December 2026, 10:00 (UTC)" in the request's language.
std::string When(const Context& ctx, core::Timestamp t) {
  const std::string s = t.ToRfc3339();
  auto date = core::Date::Parse(s.substr(0, 10));
  return (date.ok() ? page_support::DateText(ctx, *date) : s.substr(0, 10)) + ", " + s.substr(11, 5) + " (UTC)";
}

// Where the reminder goes: the record's e-mail, else its phone, else the account's address.
std::string ContactFor(const PageDeps& deps, Context& ctx, core::PersonId person) {
  auto view = deps.persons.Get(ctx.Who(), person);
  if (view.ok()) {
    if (!view->person.emails.empty()) return view->person.emails.front().value;
    if (!view->person.phones.empty()) return view->person.phones.front().value;
  }
  auto me = deps.portal->Me(ctx.Who());
  return me.ok() ? me->email : std::string();
}

}  // namespace

void AddPortalAppointmentPages(Router& router, const PageDeps& deps) {
  if (deps.portal == nullptr || deps.appointments == nullptr || deps.queues == nullptr) return;

  auto office_name = [&deps](int64_t office) {
    auto name = deps.queues->OfficeName(office);
    return name.ok() ? *name : std::string();
  };

  // The page: the person's appointments, and free times (at one office, or of one queue when moving).
  auto page = [&deps, office_name](Context& ctx, core::PersonId person, const std::string& moving,
                                   const std::string& error) -> Response {
    json d = Common(deps, ctx, moving.empty() ? "Your appointments" : "Move your appointment", "portal");
    // A representative whose grant does not cover applying sees the appointments, and is not
    // offered what they may not do (booking, moving, cancelling).
    const bool may_book = page_support::ActingPerson(deps, ctx, "apply").ok();
    d["may_book"] = may_book;
    const core::Timestamp now = deps.appointments->Now();
    std::optional<int64_t> queue;
    if (moving.empty()) {
      auto mine = deps.appointments->ForPerson(ctx.Who(), person);
      if (!mine.ok()) return ErrorFor(deps, ctx, mine.status());
      json coming = json::array();
      json past = json::array();
      for (const auto& a : *mine) {
        const bool ahead = a.slot.starts_at.micros > now.micros && a.state == "booked";
        json row = {{"when", When(ctx, a.slot.starts_at)},
                    {"office", office_name(a.slot.office)},
                    {"service", a.slot.queue_name},
                    {"reference", a.reference},
                    {"state", T(deps, ctx, a.state == "booked" ? "Booked" : a.state == "cancelled" ? "Cancelled" : "Checked in")},
                    {"move_href", fmt::format("/portal/appointments/{}/move", a.reference)},
                    {"cancel_action", fmt::format("/portal/appointments/{}/cancel", a.reference)}};
        (ahead ? coming : past).push_back(std::move(row));
      }
      d["has_coming"] = !coming.empty();
      d["coming"] = std::move(coming);
      d["has_past"] = !past.empty();
      d["past"] = std::move(past);
    } else {
      auto a = deps.appointments->Find(moving);
      if (!a.ok() || a->person != person || a->state != "booked") {
        return ErrorFor(deps, ctx, core::Status::NotFound("you have no such appointment to move"));
      }
      queue = a->slot.queue;
      d["moving"] = true;
      d["moving_reference"] = a->reference;
      d["moving_when"] = When(ctx, a->slot.starts_at);
      d["moving_service"] = a->slot.queue_name;
      d["moving_office"] = office_name(a->slot.office);
    }
    // Free times: at the office chosen (or the moved appointment's), the next three weeks.
    std::optional<int64_t> office;
    if (auto o = ParseId(ctx.request.Query("office"), "office"); o.ok()) office = *o;
    const core::Timestamp until{now.micros + int64_t{kDaysAhead} * 86400 * 1'000'000};
    auto free = deps.appointments->FreeSlotsAt(office, now, until, 500);
    if (!free.ok()) return ErrorFor(deps, ctx, free.status());
    std::map<int64_t, std::string> offices;  // every office with a free time
    json slots = json::array();
    for (const auto& s : *free) {
      offices.emplace(s.office, office_name(s.office));
      if (queue && s.queue != *queue) continue;
      if (!queue && !office) continue;  // choose an office first
      if (slots.size() >= 60) break;
      slots.push_back({{"id", s.id}, {"text", When(ctx, s.starts_at) + " — " + s.queue_name}});
    }
    json choices = json::array();
    for (const auto& [id, name] : offices) choices.push_back({{"id", id}, {"name", name}, {"selected", office == id}});
    d["offices"] = std::move(choices);
    d["has_offices"] = !d["offices"].empty();
    d["office_chosen"] = office.has_value() || queue.has_value();
    if (office) d["chosen_office"] = office_name(*office);
    d["slots"] = std::move(slots);
    d["has_slots"] = !d["slots"].empty();
    // The office chosen goes with the form, so that a mistake shows its times again.
    d["book_action"] = moving.empty()
                           ? (office ? fmt::format("/portal/appointments?office={}", *office)
                                     : std::string("/portal/appointments"))
                           : fmt::format("/portal/appointments/{}/move", moving);
    if (!error.empty()) {
      d["has_errors"] = true;
      d["e_slot"] = error;
      // The summary's link moves to the first time to choose (a radio button takes the focus).
      const std::string href = d["slots"].empty()
                                   ? std::string("#slots")
                                   : fmt::format("#slot-{}", d["slots"][0]["id"].get<int64_t>());
      d["errors"] = json::array({{{"message", error}, {"href", href}}});
    }
    if (ctx.request.Query("booked") == "1") d["flash"] = T(deps, ctx, "Your appointment is booked");
    if (ctx.request.Query("moved") == "1") d["flash"] = T(deps, ctx, "Your appointment is moved");
    if (ctx.request.Query("cancelled") == "1") d["flash"] = T(deps, ctx, "Your appointment is cancelled");
    return Render(deps, error.empty() ? 200 : 400, "portal_appointments", d);
  };

  // The record worked on (appointments are part of applying, for a representative), or where
  // to go instead.
  auto person_or = [&deps](Context& ctx, bool to_act, core::PersonId* person) -> std::optional<Response> {
    if (ctx.Who().kind != authz::PrincipalKind::kCitizen) return Response::Redirect("/");
    auto acting = page_support::ActingPerson(deps, ctx, to_act ? "apply" : "");
    if (!acting.ok()) return ErrorFor(deps, ctx, acting.status());
    if (!*acting) return Response::Redirect("/portal");
    *person = **acting;
    return std::nullopt;
  };

  router.Add({"GET", "/portal/appointments", Auth::kPage, "", [page, person_or](Context& ctx) {
                core::PersonId person;
                if (auto away = person_or(ctx, false, &person)) return std::move(*away);
                return page(ctx, person, "", "");
              }});
  router.Add({"POST", "/portal/appointments", Auth::kPage, "", [&deps, page, person_or](Context& ctx) {
                core::PersonId person;
                if (auto away = person_or(ctx, true, &person)) return std::move(*away);
                const auto form = ParseForm(ctx.request.body);
                auto slot = ParseId(FormValue(form, "slot"), "slot");
                if (!slot.ok()) return page(ctx, person, "", T(deps, ctx, "Choose a time"));
                auto booked = deps.appointments->Book(ctx.Who(), *slot, person, ContactFor(deps, ctx, person));
                if (!booked.ok()) {
                  const auto code = booked.status().code();
                  if (code == core::StatusCode::kFailedPrecondition ||
                      code == core::StatusCode::kInvalidArgument ||
                      code == core::StatusCode::kNotFound ||
                      code == core::StatusCode::kAlreadyExists) {
                    return page(ctx, person, "", T(deps, ctx, page_support::Capitalised(booked.status().message())));
                  }
                  return ErrorFor(deps, ctx, booked.status());
                }
                return Response::Redirect("/portal/appointments?booked=1");
              }});
  router.Add({"GET", "/portal/appointments/{reference}/move", Auth::kPage, "", [page, person_or](Context& ctx) {
                core::PersonId person;
                if (auto away = person_or(ctx, true, &person)) return std::move(*away);
                return page(ctx, person, ctx.Param("reference"), "");
              }});
  // Moving books the new time first, then frees the old one: a person never loses their place.
  router.Add({"POST", "/portal/appointments/{reference}/move", Auth::kPage, "", [&deps, page, person_or](Context& ctx) {
                core::PersonId person;
                if (auto away = person_or(ctx, true, &person)) return std::move(*away);
                const std::string reference = ctx.Param("reference");
                auto old = deps.appointments->Find(reference);
                if (!old.ok() || old->person != person || old->state != "booked") {
                  return ErrorFor(deps, ctx, core::Status::NotFound("you have no such appointment to move"));
                }
                const auto form = ParseForm(ctx.request.body);
                auto slot = ParseId(FormValue(form, "slot"), "slot");
                if (!slot.ok()) return page(ctx, person, reference, T(deps, ctx, "Choose a time"));
                auto chosen = deps.appointments->GetSlot(*slot);
                if (!chosen.ok() || chosen->queue != old->slot.queue) {
                  return page(ctx, person, reference, T(deps, ctx, "Choose a time"));
                }
                // The appointment moved does not count towards the three a person may hold.
                auto booked =
                    deps.appointments->Book(ctx.Who(), *slot, person, ContactFor(deps, ctx, person), old->reference);
                if (!booked.ok()) {
                  if (booked.status().code() == core::StatusCode::kFailedPrecondition) {
                    return page(ctx, person, reference, T(deps, ctx, page_support::Capitalised(booked.status().message())));
                  }
                  return ErrorFor(deps, ctx, booked.status());
                }
                auto cancelled = deps.appointments->Cancel(old->reference, &ctx.Who());
                if (!cancelled.ok()) return ErrorFor(deps, ctx, cancelled.status());
                return Response::Redirect("/portal/appointments?moved=1");
              }});
  router.Add({"POST", "/portal/appointments/{reference}/cancel", Auth::kPage, "", [&deps, person_or](Context& ctx) {
                core::PersonId person;
                if (auto away = person_or(ctx, true, &person)) return std::move(*away);
                auto a = deps.appointments->Find(ctx.Param("reference"));
                if (!a.ok() || a->person != person) {
                  return ErrorFor(deps, ctx, core::Status::NotFound("you have no such appointment"));
                }
                auto cancelled = deps.appointments->Cancel(a->reference, &ctx.Who());
                if (!cancelled.ok()) return ErrorFor(deps, ctx, cancelled.status());
                return Response::Redirect("/portal/appointments?cancelled=1");
              }});
}

}  // namespace http
