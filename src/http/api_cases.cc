#include "http/api_cases.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "http/json_body.h"
#include "http/problem.h"

namespace http {

using nlohmann::json;

json CaseJson(const cases::Case& c, core::Timestamp now, bool details) {
  json out = {{"id", c.id},
              {"person", {{"id", c.person.value}, {"name", c.person_name}}},
              {"household_id", c.household ? json(c.household->value) : json(nullptr)},
              {"title", c.title},
              {"criteria", c.criteria},
              {"coordinator", c.coordinator},
              {"coordinating_agency", {{"id", c.coordinating_agency.value}, {"name", c.coordinating_agency_name}}},
              {"lead_agency", c.lead_agency ? json{{"id", c.lead_agency->value}, {"name", c.lead_agency_name}}
                                            : json(nullptr)},
              {"state", c.state},
              {"review_every_days", c.review_every_days},
              {"next_review_at", c.next_review_at.ToRfc3339()},
              {"review_overdue", c.ReviewOverdueAt(now)},
              {"outcome", c.outcome},
              {"close_reason", c.close_reason},
              {"opened_at", c.opened_at.ToRfc3339()},
              {"closed_at", c.closed_at ? json(c.closed_at->ToRfc3339()) : json(nullptr)},
              {"version", c.version}};
  if (!details) return out;
  json participants = json::array();
  for (const auto& p : c.participants) {
    participants.push_back({{"agency", {{"id", p.agency.value}, {"name", p.agency_name}}},
                            {"consent_id", p.consent_id == 0 ? json(nullptr) : json(p.consent_id)},
                            {"joined_at", p.joined_at.ToRfc3339()},
                            {"joined_by", p.joined_by}});
  }
  out["participants"] = std::move(participants);
  json conferences = json::array();
  for (const auto& f : c.conferences) {
    conferences.push_back({{"id", f.id},
                           {"scheduled_at", f.scheduled_at.ToRfc3339()},
                           {"place", f.place},
                           {"attendees", f.attendees},
                           {"state", f.state},
                           {"minutes", f.minutes},
                           {"decisions", f.decisions},
                           {"recorded_at", f.recorded_at ? json(f.recorded_at->ToRfc3339()) : json(nullptr)},
                           {"recorded_by", f.recorded_by}});
  }
  out["conferences"] = std::move(conferences);
  const core::Date today = now.UtcDate();
  json plan = json::array();
  for (const auto& i : c.plan) {
    json item = {{"id", i.id}, {"kind", i.kind}, {"text", i.text}, {"state", i.state}, {"note", i.note},
                 {"updated_at", i.updated_at.ToRfc3339()}};
    if (i.kind == "action") {
      item["goal_id"] = i.goal_id == 0 ? json(nullptr) : json(i.goal_id);
      item["agency"] = {{"id", i.agency.value}, {"name", i.agency_name}};
      item["assignee"] = i.assignee;
      item["due"] = i.due ? json(i.due->ToString()) : json(nullptr);
      item["overdue"] = c.state == "open" && i.OverdueOn(today);
    }
    plan.push_back(std::move(item));
  }
  out["plan"] = std::move(plan);
  json timeline = json::array();
  for (const auto& e : c.timeline) {
    timeline.push_back({{"at", e.at.ToRfc3339()}, {"actor", e.actor}, {"agency_id", e.agency.value},
                        {"kind", e.kind}, {"text", e.text}});
  }
  out["timeline"] = std::move(timeline);
  return out;
}

namespace {

// A state that does not allow the change is a conflict with it.
Response CaseProblem(const core::Status& s, const Request& request) {
  return s.code() == core::StatusCode::kFailedPrecondition ? Problem(s, request.request_id, 409)
                                                           : Problem(s, request.request_id);
}

// A command on a case: the body read by `read` (which names its fields), the version, and the
// service call.
using Command = std::function<core::StatusOr<cases::Case>(cases::CaseService&, Context& ctx, int64_t id,
                                                          int64_t version, JsonReader& r)>;

void AddCommand(Router& router, cases::CaseService& cases, const std::string& path, const std::string& operation,
                std::initializer_list<std::string_view> fields, Command command) {
  std::vector<std::string> known(fields.begin(), fields.end());
  known.push_back("version");
  router.Add({"POST", path, Auth::kApi, operation, [&cases, known, command](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                for (const auto& [key, value] : body->items()) {
                  if (std::find(known.begin(), known.end(), key) == known.end()) r.Error(key, "is not a known field");
                }
                const auto version = r.OptInt("version");
                if (!version) r.Error("version", "give the version of the case you are changing");
                auto done = command(cases, ctx, *id, version.value_or(0), r);
                if (!r.errors().empty()) return Problem(r.Finish("the case change has invalid fields"), ctx.request.request_id);
                if (!done.ok()) return CaseProblem(done.status(), ctx.request);
                Response resp = JsonResponse(200, CaseJson(*done, cases.Now(), true));
                resp.Header("ETag", fmt::format("\"{}\"", done->version));
                return resp;
              }});
}

// Commands run only when the body read well; otherwise they answer the reader's errors.
core::Status NotRun() { return core::Status::InvalidArgument("the case change has invalid fields"); }

std::optional<core::Date> DateField(JsonReader& r, std::string_view key) {
  auto text = r.OptString(key, 10);
  if (!text || text->empty()) return std::nullopt;
  auto d = core::Date::Parse(*text);
  if (!d.ok()) {
    r.Error(std::string(key), "must be a date like 2026-04-01");
    return std::nullopt;
  }
  return *d;
}

}  // namespace

void AddCaseRoutes(Router& router, cases::CaseService& cases) {
  router.Add({"POST", "/api/v1/cases", Auth::kApi, "openCase", [&cases](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"person_id", "household_id", "title", "criteria", "review_every_days"});
                cases::NewCase n;
                const auto person = r.OptInt("person_id");
                if (!person || *person <= 0) r.Error("person_id", "give the id of the person the case is about");
                n.person = core::PersonId{person.value_or(0)};
                if (auto h = r.OptInt("household_id")) n.household = core::HouseholdId{*h};
                n.title = r.String("title", false, 200);
                n.criteria = r.String("criteria", false, 2000);
                n.review_every_days = static_cast<int>(r.OptInt("review_every_days").value_or(28));
                if (auto s = r.Finish("the case has invalid fields"); !s.ok()) return Problem(s, ctx.request.request_id);
                auto opened = cases.Open(ctx.Who(), n);
                if (!opened.ok()) return Problem(opened.status(), ctx.request.request_id);
                Response resp = JsonResponse(201, CaseJson(*opened, cases.Now(), true));
                resp.Header("Location", fmt::format("/api/v1/cases/{}", opened->id));
                resp.Header("ETag", fmt::format("\"{}\"", opened->version));
                return resp;
              }});

  router.Add({"GET", "/api/v1/cases", Auth::kApi, "listCases", [&cases](Context& ctx) {
                std::string state = ctx.request.Query("state");
                if (state.empty()) state = "open";
                auto list = cases.List(ctx.Who(), state);
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                const core::Timestamp now = cases.Now();
                json items = json::array();
                for (const auto& c : *list) items.push_back(CaseJson(c, now, false));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});

  router.Add({"GET", "/api/v1/cases/{id}", Auth::kApi, "getCase", [&cases](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto c = cases.Get(ctx.Who(), *id);
                if (!c.ok()) return Problem(c.status(), ctx.request.request_id);
                Response resp = JsonResponse(200, CaseJson(*c, cases.Now(), true));
                resp.Header("ETag", fmt::format("\"{}\"", c->version));
                return resp;
              }});

  router.Add({"GET", "/api/v1/persons/{id}/cases", Auth::kApi, "listPersonCases", [&cases](Context& ctx) {
                auto person = ParseId(ctx.Param("id"), "id");
                if (!person.ok()) return Problem(person.status(), ctx.request.request_id);
                auto list = cases.ForPerson(ctx.Who(), core::PersonId{*person});
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                const core::Timestamp now = cases.Now();
                json items = json::array();
                for (const auto& c : *list) items.push_back(CaseJson(c, now, false));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});

  AddCommand(router, cases, "/api/v1/cases/{id}/participants", "addCaseParticipant", {"agency_id", "consent_id"},
             [](cases::CaseService& s, Context& ctx, int64_t id, int64_t version, JsonReader& r)
                 -> core::StatusOr<cases::Case> {
               const auto agency = r.OptInt("agency_id");
               if (!agency) r.Error("agency_id", "choose the agency that joins");
               const int64_t consent = r.OptInt("consent_id").value_or(0);
               if (!r.errors().empty()) return NotRun();
               return s.AddParticipant(ctx.Who(), id, version, core::AgencyId{*agency}, consent);
             });
  AddCommand(router, cases, "/api/v1/cases/{id}/participants/remove", "removeCaseParticipant", {"agency_id", "reason"},
             [](cases::CaseService& s, Context& ctx, int64_t id, int64_t version, JsonReader& r)
                 -> core::StatusOr<cases::Case> {
               const auto agency = r.OptInt("agency_id");
               if (!agency) r.Error("agency_id", "choose the agency that leaves");
               const std::string reason = r.String("reason", false, 2000);
               if (!r.errors().empty()) return NotRun();
               return s.RemoveParticipant(ctx.Who(), id, version, core::AgencyId{*agency}, reason);
             });
  AddCommand(router, cases, "/api/v1/cases/{id}/lead", "appointCaseLead", {"agency_id"},
             [](cases::CaseService& s, Context& ctx, int64_t id, int64_t version, JsonReader& r)
                 -> core::StatusOr<cases::Case> {
               const auto agency = r.OptInt("agency_id");
               if (!agency) r.Error("agency_id", "choose the lead agency");
               if (!r.errors().empty()) return NotRun();
               return s.AppointLead(ctx.Who(), id, version, core::AgencyId{*agency});
             });
  AddCommand(router, cases, "/api/v1/cases/{id}/conferences", "scheduleCaseConference",
             {"scheduled_at", "place", "attendees"},
             [](cases::CaseService& s, Context& ctx, int64_t id, int64_t version, JsonReader& r)
                 -> core::StatusOr<cases::Case> {
               cases::NewConference n;
               const std::string at = r.String("scheduled_at", true, 40);
               if (!at.empty()) {
                 auto parsed = cases::ParseDateTime(at);
                 if (parsed.ok()) n.scheduled_at = *parsed;
                 else r.Error("scheduled_at", "must be a date and time like 2026-03-02T10:00 (UTC)");
               }
               n.place = r.String("place", false, 200);
               n.attendees = r.String("attendees", false, 2000);
               if (!r.errors().empty()) return NotRun();
               return s.ScheduleConference(ctx.Who(), id, version, n);
             });
  AddCommand(router, cases, "/api/v1/cases/{id}/conferences/{conference}", "recordCaseConference",
             {"outcome", "minutes", "decisions"},
             [](cases::CaseService& s, Context& ctx, int64_t id, int64_t version, JsonReader& r)
                 -> core::StatusOr<cases::Case> {
               auto conference = ParseId(ctx.Param("conference"), "conference");
               if (!conference.ok()) return conference.status();
               const std::string outcome = r.String("outcome", true, 20);
               if (!outcome.empty() && outcome != "held" && outcome != "cancelled") {
                 r.Error("outcome", "must be held or cancelled");
               }
               const std::string minutes = r.String("minutes", false, 10000);
               const std::string decisions = r.String("decisions", false, 5000);
               if (!r.errors().empty()) return NotRun();
               return s.RecordConference(ctx.Who(), id, version, *conference, outcome == "held", minutes, decisions);
             });
  AddCommand(router, cases, "/api/v1/cases/{id}/items/{item}", "updateCasePlanItem", {"state", "note"},
             [](cases::CaseService& s, Context& ctx, int64_t id, int64_t version, JsonReader& r)
                 -> core::StatusOr<cases::Case> {
               auto item = ParseId(ctx.Param("item"), "item");
               if (!item.ok()) return item.status();
               const std::string state = r.String("state", true, 20);
               const std::string note = r.String("note", false, 2000);
               if (!r.errors().empty()) return NotRun();
               return s.SetItemState(ctx.Who(), id, version, *item, state, note);
             });
  AddCommand(router, cases, "/api/v1/cases/{id}/goals", "addCaseGoal", {"text"},
             [](cases::CaseService& s, Context& ctx, int64_t id, int64_t version, JsonReader& r)
                 -> core::StatusOr<cases::Case> {
               const std::string text = r.String("text", false, 500);
               if (!r.errors().empty()) return NotRun();
               return s.AddGoal(ctx.Who(), id, version, text);
             });
  AddCommand(router, cases, "/api/v1/cases/{id}/actions", "addCaseAction",
             {"goal_id", "text", "agency_id", "assignee", "due"},
             [](cases::CaseService& s, Context& ctx, int64_t id, int64_t version, JsonReader& r)
                 -> core::StatusOr<cases::Case> {
               cases::NewAction a;
               a.goal_id = r.OptInt("goal_id").value_or(0);
               a.text = r.String("text", false, 500);
               if (auto agency = r.OptInt("agency_id")) a.agency = core::AgencyId{*agency};
               a.assignee = r.String("assignee", false, 100);
               a.due = DateField(r, "due");
               if (!r.errors().empty()) return NotRun();
               return s.AddAction(ctx.Who(), id, version, a);
             });
  AddCommand(router, cases, "/api/v1/cases/{id}/reviews", "reviewCase", {"notes"},
             [](cases::CaseService& s, Context& ctx, int64_t id, int64_t version, JsonReader& r)
                 -> core::StatusOr<cases::Case> {
               const std::string notes = r.String("notes", false, 5000);
               if (!r.errors().empty()) return NotRun();
               return s.Review(ctx.Who(), id, version, notes);
             });
  AddCommand(router, cases, "/api/v1/cases/{id}/close", "closeCase", {"outcome", "reason"},
             [](cases::CaseService& s, Context& ctx, int64_t id, int64_t version, JsonReader& r)
                 -> core::StatusOr<cases::Case> {
               const std::string outcome = r.String("outcome", false, 2000);
               const std::string reason = r.String("reason", false, 500);
               if (!r.errors().empty()) return NotRun();
               return s.Close(ctx.Who(), id, version, outcome, reason);
             });
}

}  // namespace http
