// Multi-agency cases for staff: the agency's cases (/cases), opening one from a client's page
// (/cases/new?person=ID), and the case's page with its agencies, conferences, plan, review,
// closure and timeline (/cases/{id}), each change a form posted back to the case with the
// version it was shown at. The same service, gate and audit as the API.

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "http/json_body.h"
#include "http/page_support.h"
#include "http/request.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;
using page_support::T;
using page_support::Trim;

std::string When(core::Timestamp t) {
  std::string s = t.ToRfc3339().substr(0, 16);
  s[10] = ' ';
  return s + " UTC";
}

std::string Capitalised(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string Tag(const std::string& state) {
  if (state == "open" || state == "scheduled") return "govuk-tag--blue";
  if (state == "held" || state == "done" || state == "achieved") return "govuk-tag--green";
  if (state == "closed" || state == "cancelled" || state == "dropped") return "govuk-tag--grey";
  return "";
}

// A state of a case, a conference or a plan item ("open", "held") as a tag: "Open", "Held", in the
// request's language. "Open" and "Done" are the lowercase word's translation, capitalised: the
// catalogues have "Open" and "Done" already, as the words of a link.
std::string StateText(const PageDeps& deps, const Context& ctx, const std::string& state) {
  if (state == "open") return Capitalised(T(deps, ctx, "open"));
  if (state == "closed") return T(deps, ctx, "Closed");
  if (state == "scheduled") return T(deps, ctx, "Scheduled");
  if (state == "held") return T(deps, ctx, "Held");
  if (state == "cancelled") return T(deps, ctx, "Cancelled");
  if (state == "done") return Capitalised(T(deps, ctx, "done"));
  if (state == "achieved") return T(deps, ctx, "Achieved");
  if (state == "dropped") return T(deps, ctx, "Dropped");
  return Capitalised(state);
}

bool Coordinating(const authz::Principal& who, const cases::Case& c) {
  return c.state == "open" && who.agency == c.coordinating_agency &&
         who.HasAnyRole({authz::Role::kCoordinator, authz::Role::kManager});
}

json CaseData(const PageDeps& deps, const Context& ctx, const cases::Case& c) {
  const auto& who = ctx.Who();
  const core::Timestamp now = deps.cases->Now();
  const core::Date today = now.UtcDate();
  json d = Common(deps, ctx, c.title, "cases");
  const bool coordinating = Coordinating(who, c);
  d["id"] = c.id;
  d["version"] = c.version;
  d["title"] = c.title;
  d["person_name"] = c.person_name;
  d["person_href"] = fmt::format("/clients/{}", c.person.value);
  d["state"] = StateText(deps, ctx, c.state);
  d["state_class"] = Tag(c.state);
  d["review_overdue"] = c.ReviewOverdueAt(now);
  d["coordinator"] = c.coordinator;
  d["coordinating_agency"] = c.coordinating_agency_name;
  d["lead_agency"] = c.lead_agency ? c.lead_agency_name : T(deps, ctx, "Not appointed yet");
  d["criteria"] = c.criteria;
  d["review_every_days"] = c.review_every_days;
  d["next_review"] = When(c.next_review_at).substr(0, 10);
  d["closed"] = c.state == "closed";
  if (c.closed_at) d["closed_at"] = When(*c.closed_at);
  d["close_reason"] = c.close_reason;
  d["outcome"] = c.outcome;
  d["coordinating"] = coordinating;
  json participants = json::array();
  for (const auto& p : c.participants) {
    participants.push_back({{"agency_id", p.agency.value},
                            {"name", p.agency_name},
                            {"has_consent", p.consent_id != 0},
                            {"consent_id", p.consent_id},
                            {"since", When(p.joined_at).substr(0, 10)},
                            {"lead", c.lead_agency && *c.lead_agency == p.agency}});
  }
  json leavers = json::array();  // every agency but the coordinating one may be asked to leave
  for (const auto& p : c.participants) {
    if (p.consent_id != 0) leavers.push_back({{"agency_id", p.agency.value}, {"name", p.agency_name}});
  }
  d["has_leavers"] = !leavers.empty();
  d["leavers"] = std::move(leavers);
  d["action_agencies"] = participants;
  d["participants"] = std::move(participants);
  if (coordinating) {
    json others = json::array();
    auto agencies = deps.accounts.ListAgencies();
    if (agencies.ok()) {
      for (const auto& a : *agencies) {
        if (std::none_of(c.participants.begin(), c.participants.end(),
                         [&](const cases::CaseParticipant& p) { return p.agency == a.id; })) {
          others.push_back({{"id", a.id.value}, {"name", a.name}});
        }
      }
    }
    d["other_agencies"] = std::move(others);
    json consents = json::array();
    if (deps.consents != nullptr) {
      auto list = deps.consents->ForPerson(who, c.person);
      if (list.ok()) {
        for (const auto& k : *list) {
          if (!k.InForceOn(today) ||
              (k.purpose != authz::Purpose::kCaseWork && k.purpose != authz::Purpose::kServiceDelivery))
            continue;
          const std::string receiver = k.receiving_agency
                                           ? k.receiving_agency_name
                                           : T(deps, ctx, "any {kind} agency", {{"kind", k.agency_kind}});
          consents.push_back({{"id", k.id},
                              {"label", T(deps, ctx, "Consent {id, number, ::group-off}: {receiver}, {purpose}",
                                          {{"id", std::to_string(k.id)},
                                           {"receiver", receiver},
                                           {"purpose", T(deps, ctx, std::string(authz::PurposeLabel(k.purpose)))}})}});
        }
      }
    }
    d["consents"] = std::move(consents);
    d["attendees_default"] = T(deps, ctx, "{name} (the client)", {{"name", c.person_name}}) + "\n" +
                             T(deps, ctx, "{name} (coordinator)", {{"name", who.name}});
  }
  json conferences = json::array();
  for (const auto& f : c.conferences) {
    json attendees = json::array();
    std::istringstream lines(f.attendees);
    for (std::string line; std::getline(lines, line);) {
      if (!Trim(line).empty()) attendees.push_back(Trim(line));
    }
    conferences.push_back({{"id", f.id},
                           {"case_id", c.id},
                           {"when", When(f.scheduled_at)},
                           {"place", f.place},
                           {"attendee_list", std::move(attendees)},
                           {"state", StateText(deps, ctx, f.state)},
                           {"state_class", Tag(f.state)},
                           {"has_minutes", !f.minutes.empty()},
                           {"minutes_label", f.state == "cancelled" ? T(deps, ctx, "Why it was cancelled")
                                                                    : T(deps, ctx, "Minutes")},
                           {"minutes", f.minutes},
                           {"has_decisions", !f.decisions.empty()},
                           {"decisions", f.decisions},
                           {"recordable", coordinating && f.state == "scheduled"}});
  }
  d["has_conferences"] = !conferences.empty();
  d["conferences"] = std::move(conferences);
  // Goals, each followed by its actions; then the actions towards the plan as a whole.
  json plan = json::array();
  json goals = json::array();
  auto row = [&](const cases::PlanItem& i) {
    const bool goal = i.kind == "goal";
    const bool changeable =
        c.state == "open" && i.state == "open" && (coordinating || (!goal && i.agency == who.agency));
    json states = json::array();
    if (goal) {
      states.push_back({{"value", "achieved"}, {"label", T(deps, ctx, "Achieved")}});
      states.push_back({{"value", "dropped"}, {"label", T(deps, ctx, "Dropped")}});
    } else {
      states.push_back({{"value", "done"}, {"label", Capitalised(T(deps, ctx, "done"))}});
      states.push_back({{"value", "cancelled"}, {"label", T(deps, ctx, "Cancelled")}});
    }
    plan.push_back({{"id", i.id},
                    {"case_id", c.id},
                    {"goal", goal},
                    {"text", i.text},
                    {"has_note", !i.note.empty()},
                    {"note", i.note},
                    {"who", goal ? std::string() : i.agency_name + (i.assignee.empty() ? "" : " (" + i.assignee + ")")},
                    {"due", i.due ? i.due->ToString() : std::string()},
                    {"overdue", c.state == "open" && i.OverdueOn(today)},
                    {"state", StateText(deps, ctx, i.state)},
                    {"state_class", Tag(i.state)},
                    {"changeable", changeable},
                    {"states", std::move(states)}});
  };
  for (const auto& g : c.plan) {
    if (g.kind != "goal") continue;
    goals.push_back({{"id", g.id}, {"text", g.text}});
    row(g);
    for (const auto& a : c.plan) {
      if (a.kind == "action" && a.goal_id == g.id) row(a);
    }
  }
  for (const auto& a : c.plan) {
    if (a.kind == "action" && a.goal_id == 0) row(a);
  }
  d["has_plan"] = !plan.empty();
  d["plan"] = std::move(plan);
  d["action_goals"] = goals;
  d["goals"] = std::move(goals);
  json timeline = json::array();
  for (const auto& e : c.timeline) timeline.push_back({{"at", When(e.at)}, {"actor", e.actor}, {"text", e.text}});
  d["timeline"] = std::move(timeline);
  return d;
}

core::StatusOr<json> NewCaseData(const PageDeps& deps, const Context& ctx, core::PersonId person,
                                 const std::multimap<std::string, std::string>& form,
                                 const std::vector<core::FieldError>& errors) {
  ASSIGN_OR_RETURN(registry::PersonView view, deps.persons.Get(ctx.Who(), person));
  json d = Common(deps, ctx, "Open a case", "cases");
  d["person_id"] = person.value;
  d["person_name"] = view.person.DisplayName();
  d["back_href"] = fmt::format("/clients/{}", person.value);
  d["f_title"] = FormValue(form, "title");
  d["f_criteria"] = FormValue(form, "criteria");
  d["f_review_every_days"] = form.count("review_every_days") ? FormValue(form, "review_every_days") : "28";
  if (view.household) {
    d["has_households"] = true;
    d["households"] =
        json::array({{{"id", view.household->id.value},
                      {"name", view.household->name.empty()
                                   ? T(deps, ctx, "Household {id, number, ::group-off}",
                                       {{"id", std::to_string(view.household->id.value)}})
                                   : view.household->name},
                      {"selected", FormValue(form, "household_id") ==
                                       std::to_string(view.household->id.value)}}});
  }
  json list = json::array();
  for (const auto& e : errors) {
    const std::string message = T(deps, ctx, Capitalised(e.message));
    if (!d.contains("e_" + e.field)) d["e_" + e.field] = message;
    list.push_back({{"message", message}, {"href", "#" + e.field}});
  }
  d["has_errors"] = !errors.empty();
  d["errors"] = std::move(list);
  return d;
}

int64_t IdOr0(const std::multimap<std::string, std::string>& form, const std::string& key) {
  auto id = ParseId(FormValue(form, key), key);
  return id.ok() ? *id : 0;
}

// Opening a case is for coordinators and managers; acting on one is casework (docs/staff.md).
// Other roles are refused before the form is read.
std::optional<Response> Refused(const PageDeps& deps, const Context& ctx, bool opening) {
  const auto& who = ctx.Who();
  if (opening ? who.HasAnyRole({authz::Role::kCoordinator, authz::Role::kManager}) : authz::HasCaseworkRole(who)) {
    return std::nullopt;
  }
  return ErrorFor(deps, ctx,
                  core::Status::PermissionDenied(opening ? "cases are opened by coordinators and managers"
                                                         : "cases are for caseworkers, specialists, coordinators and managers"));
}

}  // namespace

namespace {

// What was typed in the form that failed, put back in it (`f.<command>.<field>`, and the choices
// of its lists marked selected), so that a mistake costs no one their text. The forms of one
// conference or one item of the plan are left as they are: one page holds several of them.
void KeepTyped(json& d, const std::string& command,
               const std::multimap<std::string, std::string>& form) {
  static const std::set<std::string> kSingle = {"add_participant",
                                                "remove_participant",
                                                "schedule_conference",
                                                "add_goal",
                                                "add_action",
                                                "review",
                                                "close"};
  if (command == "record_conference") {
    // Its own form among the page's conferences: the one the form names gets back its text.
    const std::string id = page_support::FormValue(form, "conference");
    if (!d.contains("conferences")) return;
    for (auto& f : d["conferences"]) {
      if (f["id"].dump() != id) continue;
      f["typed_minutes"] = page_support::FormValue(form, "minutes");
      f["typed_decisions"] = page_support::FormValue(form, "decisions");
      f["cancelled_checked"] = page_support::FormValue(form, "outcome") == "cancelled";
    }
    return;
  }
  if (!kSingle.contains(command)) return;
  json typed = json::object();
  for (const auto& [k, v] : form) {
    if (k != "csrf_token" && k != "version" && k != "command") typed[k] = v;
  }
  const auto mark = [&](const char* list, const char* key, const char* field) {
    if (!d.contains(list) || !typed.contains(field)) return;
    for (auto& item : d[list]) {
      const json& id = item[key];
      const std::string text = id.is_string() ? id.get<std::string>() : id.dump();
      if (text == typed[field].get<std::string>()) item["selected"] = true;
    }
  };
  if (command == "add_participant") {
    mark("other_agencies", "id", "agency_id");
    mark("consents", "id", "consent_id");
  } else if (command == "remove_participant") {
    mark("leavers", "agency_id", "agency_id");
  } else if (command == "add_action") {
    mark("action_goals", "id", "goal_id");
    mark("action_agencies", "agency_id", "agency_id");
  } else if (command == "schedule_conference" && typed.contains("attendees")) {
    d["attendees_default"] = typed["attendees"];
  }
  d["f"] = {{command, std::move(typed)}};
}

}  // namespace

void AddCasePages(Router& router, const PageDeps& deps) {
  if (deps.cases == nullptr) return;
  router.Add({"GET", "/cases", Auth::kPage, "", [&deps](Context& ctx) {
                const std::string state = ctx.request.Query("state") == "all" ? "all" : "open";
                auto list = deps.cases->List(ctx.Who(), state);
                if (!list.ok()) return ErrorFor(deps, ctx, list.status());
                json d = Common(deps, ctx, "Cases", "cases");
                d["state_open"] = state == "open";
                const core::Timestamp now = deps.cases->Now();
                json items = json::array();
                for (const auto& c : *list) {
                  items.push_back({{"id", c.id},
                                   {"title", c.title},
                                   {"person_name", c.person_name},
                                   {"coordinating_agency", c.coordinating_agency_name},
                                   {"lead_agency", c.lead_agency ? c.lead_agency_name : T(deps, ctx, "Not yet")},
                                   {"next_review", c.state == "open" ? When(c.next_review_at).substr(0, 10) : ""},
                                   {"review_overdue", c.ReviewOverdueAt(now)},
                                   {"state", StateText(deps, ctx, c.state)},
                                   {"state_class", Tag(c.state)}});
                }
                d["has_items"] = !items.empty();
                d["items"] = std::move(items);
                return Render(deps, 200, "cases", d);
              }});

  router.Add({"GET", "/cases/new", Auth::kPage, "", [&deps](Context& ctx) {
                if (auto refused = Refused(deps, ctx, true)) return std::move(*refused);
                auto person = ParseId(ctx.request.Query("person"), "person");
                if (!person.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("choose the client first"));
                auto d = NewCaseData(deps, ctx, core::PersonId{*person}, {}, {});
                if (!d.ok()) return ErrorFor(deps, ctx, d.status());
                return Render(deps, 200, "case_form", *d);
              }});

  router.Add({"POST", "/cases/new", Auth::kPage, "", [&deps](Context& ctx) {
                if (auto refused = Refused(deps, ctx, true)) return std::move(*refused);
                const auto form = ParseForm(ctx.request.body);
                auto person = ParseId(FormValue(form, "person_id"), "person_id");
                if (!person.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("the form names no client"));
                cases::NewCase n;
                n.person = core::PersonId{*person};
                if (int64_t h = IdOr0(form, "household_id"); h != 0) n.household = core::HouseholdId{h};
                n.title = Trim(FormValue(form, "title"));
                n.criteria = Trim(FormValue(form, "criteria"));
                std::vector<core::FieldError> errors;
                // A whole number of days, all of it: "7.5" or "14 days" is refused, not read as 7
                // or 14.
                if (auto days =
                        ParseId(Trim(FormValue(form, "review_every_days")), "review_every_days");
                    days.ok() && *days <= 100000) {
                  n.review_every_days = static_cast<int>(*days);
                } else {
                  n.review_every_days = 0;
                }
                auto opened = deps.cases->Open(ctx.Who(), n);
                if (opened.ok()) return Response::Redirect(fmt::format("/cases/{}?done=opened", opened->id));
                if (opened.status().code() != core::StatusCode::kInvalidArgument)
                  return ErrorFor(deps, ctx, opened.status());
                auto d = NewCaseData(deps, ctx, n.person, form, opened.status().fields());
                if (!d.ok()) return ErrorFor(deps, ctx, d.status());
                return Render(deps, 400, "case_form", *d);
              }});

  router.Add({"GET", "/cases/{id}", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                auto c = deps.cases->Get(ctx.Who(), *id);
                if (!c.ok()) return ErrorFor(deps, ctx, c.status());
                json d = CaseData(deps, ctx, *c);
                if (!ctx.request.Query("done").empty()) d["flash"] = T(deps, ctx, "Saved");
                if (ctx.request.Query("done") == "opened") d["flash"] = T(deps, ctx, "Case opened");
                return Render(deps, 200, "case_view", d);
              }});

  router.Add({"POST", "/cases/{id}", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                if (auto refused = Refused(deps, ctx, false)) return std::move(*refused);
                const auto form = ParseForm(ctx.request.body);
                const std::string command = FormValue(form, "command");
                int64_t version = 0;
                try {
                  version = std::stoll(FormValue(form, "version"));
                } catch (const std::exception&) {
                  return ErrorFor(deps, ctx, core::Status::NotFound("The form is missing the case version; reload the page"));
                }
                const auto& who = ctx.Who();
                auto& s = *deps.cases;
                core::StatusOr<cases::Case> done = core::Status::NotFound("unknown change: reload the page");
                std::vector<core::FieldError> form_errors;
                if (command == "add_participant") {
                  const int64_t agency = IdOr0(form, "agency_id");
                  if (agency == 0) form_errors.push_back({"agency_id", "choose the agency to add"});
                  else done = s.AddParticipant(who, *id, version, core::AgencyId{agency}, IdOr0(form, "consent_id"));
                } else if (command == "remove_participant") {
                  const int64_t agency = IdOr0(form, "agency_id");
                  if (agency == 0) form_errors.push_back({"agency_id", "choose the agency that leaves"});
                  else done = s.RemoveParticipant(who, *id, version, core::AgencyId{agency}, Trim(FormValue(form, "reason")));
                } else if (command == "appoint_lead") {
                  done = s.AppointLead(who, *id, version, core::AgencyId{IdOr0(form, "agency_id")});
                } else if (command == "schedule_conference") {
                  cases::NewConference n;
                  const std::string at = Trim(FormValue(form, "scheduled_at"));
                  std::vector<core::FieldError> unread;  // named with the service's checks, at once
                  if (auto parsed = cases::ParseDateTime(at); parsed.ok()) n.scheduled_at = *parsed;
                  else
                    unread.push_back(
                        {"scheduled_at", "enter the date and time like 2026-03-02 10:00"});
                  n.place = Trim(FormValue(form, "place"));
                  n.attendees = Trim(FormValue(form, "attendees"));
                  done = s.ScheduleConference(who, *id, version, n, std::move(unread));
                } else if (command == "record_conference") {
                  done = s.RecordConference(who, *id, version, IdOr0(form, "conference"),
                                            FormValue(form, "outcome") != "cancelled", Trim(FormValue(form, "minutes")),
                                            Trim(FormValue(form, "decisions")));
                } else if (command == "add_goal") {
                  done = s.AddGoal(who, *id, version, Trim(FormValue(form, "text")));
                } else if (command == "add_action") {
                  cases::NewAction a;
                  a.goal_id = IdOr0(form, "goal_id");
                  a.text = Trim(FormValue(form, "text"));
                  if (int64_t agency = IdOr0(form, "agency_id"); agency != 0) a.agency = core::AgencyId{agency};
                  a.assignee = Trim(FormValue(form, "assignee"));
                  if (const std::string due = Trim(FormValue(form, "due")); !due.empty()) {
                    auto date = core::Date::Parse(due);
                    if (date.ok()) a.due = *date;
                    else form_errors.push_back({"due", "enter the date like 2026-03-31"});
                  }
                  if (form_errors.empty()) done = s.AddAction(who, *id, version, a);
                } else if (command == "update_item") {
                  done = s.SetItemState(who, *id, version, IdOr0(form, "item"), FormValue(form, "state"),
                                        Trim(FormValue(form, "note")));
                } else if (command == "review") {
                  done = s.Review(who, *id, version, Trim(FormValue(form, "notes")));
                } else if (command == "close") {
                  done = s.Close(who, *id, version, Trim(FormValue(form, "outcome")), Trim(FormValue(form, "reason")));
                }
                if (form_errors.empty() && done.ok()) {
                  return Response::Redirect(fmt::format("/cases/{}?done={}", *id, command));
                }
                core::Status failed = form_errors.empty()
                                          ? done.status()
                                          : core::Status::InvalidArgument("the case change has invalid fields", form_errors);
                const auto code = failed.code();
                if (code != core::StatusCode::kInvalidArgument && code != core::StatusCode::kFailedPrecondition &&
                    code != core::StatusCode::kAborted) {
                  return ErrorFor(deps, ctx, failed);
                }
                auto c = s.Get(who, *id);
                if (!c.ok()) return ErrorFor(deps, ctx, c.status());
                json d = CaseData(deps, ctx, *c);
                json errors = json::array();
                if (failed.fields().empty()) {
                  errors.push_back({{"message", T(deps, ctx, Capitalised(failed.message()))}, {"href", "#timeline"}});
                }
                for (const auto& e : failed.fields()) {
                  const std::string message = T(deps, ctx, Capitalised(e.message));
                  d[fmt::format("e_{}_{}", command, e.field)] = message;
                  std::string href = fmt::format("#{}-{}", command, e.field);
                  if (command == "record_conference") {
                    // The field of the conference's own form, when the message is about one.
                    const std::string conference = FormValue(form, "conference");
                    href = "#conferences";
                    for (auto& f : d["conferences"]) {
                      if (f["id"].dump() != conference ||
                          (e.field != "minutes" && e.field != "decisions"))
                        continue;
                      f["e_" + e.field] = message;
                      href = fmt::format("#record_conference-{}-{}", conference, e.field);
                    }
                  }
                  if (command == "update_item") href = "#plan";
                  errors.push_back({{"message", message}, {"href", href}});
                }
                if (command == "schedule_conference") d["open_schedule"] = true;
                KeepTyped(d, command, form);
                d["has_errors"] = true;
                d["errors"] = std::move(errors);
                return Render(deps, code == core::StatusCode::kInvalidArgument ? 400 : 409, "case_view", d);
              }});
}

}  // namespace http
