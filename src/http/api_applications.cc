#include "http/api_applications.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "http/json_body.h"
#include "http/problem.h"

namespace http {

using nlohmann::json;

json ApplicationJson(const cases::Application& a, core::Date today) {
  json parts = json::array();
  for (const auto& p : a.parts) {
    parts.push_back({{"id", p.id},
                     {"program", p.program},
                     {"program_name", p.program_name},
                     {"agency", {{"id", p.agency.value}, {"name", p.agency_name}}},
                     {"screened", p.screened},
                     {"state", p.state},
                     {"expedited", p.expedited},
                     {"received", p.received.ToString()},
                     {"due", p.due.ToString()},
                     {"overdue", p.OverdueOn(today)},
                     {"clock", p.clock},
                     {"reason", p.reason},
                     {"request", p.request},
                     {"answer", p.answer},
                     {"answered_at", p.answered_at ? json(p.answered_at->ToRfc3339()) : json(nullptr)},
                     {"decided_at", p.decided_at ? json(p.decided_at->ToRfc3339()) : json(nullptr)},
                     {"decided_by", p.decided_by},
                     {"version", p.version}});
  }
  json out = {{"id", a.id},
              {"applicant", {{"id", a.applicant.value}, {"name", a.applicant_name}}},
              {"household_id", a.household.value},
              {"screening_id", a.screening_id},
              {"agency", a.FromPortal() ? json(nullptr) : json{{"id", a.agency.value}, {"name", a.agency_name}}},
              {"made_by", a.made_by},
              {"created_at", a.created_at.ToRfc3339()},
              {"parts", std::move(parts)}};
  if (!a.answers.empty()) out["answers"] = json::parse(a.answers, nullptr, false);
  return out;
}

namespace {

Response ApplicationProblem(const core::Status& s, const Request& request) {
  return s.code() == core::StatusCode::kFailedPrecondition ? Problem(s, request.request_id, 409)
                                                           : Problem(s, request.request_id);
}

std::vector<std::string> Strings(JsonReader& r, std::string_view key) {
  std::vector<std::string> out;
  if (const json* list = r.Array(key, 50)) {
    for (const auto& v : *list) {
      if (!v.is_string()) {
        r.Error(std::string(key), "must be a list of program ids");
        break;
      }
      out.push_back(v.get<std::string>());
    }
  }
  return out;
}

}  // namespace

void AddApplicationRoutes(Router& router, cases::ApplicationService& applications) {
  router.Add({"POST", "/api/v1/applications", Auth::kApi, "applyForPrograms", [&applications](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"screening_id", "applicant_id", "programs", "expedited"});
                cases::NewApplication n;
                const auto screening = r.OptInt("screening_id");
                if (!screening || *screening <= 0) r.Error("screening_id", "give the id of the screening applied from");
                n.screening_id = screening.value_or(0);
                const auto applicant = r.OptInt("applicant_id");
                if (!applicant || *applicant <= 0) r.Error("applicant_id", "give the id of the person who applies");
                n.applicant = core::PersonId{applicant.value_or(0)};
                n.programs = Strings(r, "programs");
                n.expedited = Strings(r, "expedited");
                if (auto s = r.Finish("the application has invalid fields"); !s.ok())
                  return Problem(s, ctx.request.request_id);
                auto made = applications.Apply(ctx.Who(), n);
                if (!made.ok()) return Problem(made.status(), ctx.request.request_id);
                Response resp = JsonResponse(201, ApplicationJson(*made, applications.Today()));
                resp.Header("Location", fmt::format("/api/v1/applications/{}", made->id));
                return resp;
              }});

  router.Add({"GET", "/api/v1/applications", Auth::kApi, "listApplicationsToDecide", [&applications](Context& ctx) {
                std::string state = ctx.request.Query("state");
                if (state.empty()) state = "open";
                auto list = applications.ToDecide(ctx.Who(), state);
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                const core::Date today = applications.Today();
                json items = json::array();
                for (const auto& a : *list) items.push_back(ApplicationJson(a, today));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});

  router.Add({"GET", "/api/v1/applications/{id}", Auth::kApi, "getApplication", [&applications](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto a = applications.Get(ctx.Who(), *id);
                if (!a.ok()) return Problem(a.status(), ctx.request.request_id);
                return JsonResponse(200, ApplicationJson(*a, applications.Today()));
              }});

  router.Add({"POST", "/api/v1/application-parts/{id}/decision", Auth::kApi, "decideApplicationPart",
              [&applications](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"decision", "version", "note"});
                const std::string name = r.String("decision", true, 30);
                auto decision = cases::ParsePartDecision(name);
                if (!name.empty() && !decision.ok()) {
                  r.Error("decision", "must be approve, deny, request_information or information_received");
                }
                const auto version = r.OptInt("version");
                if (!version) r.Error("version", "give the version of the part you decide");
                const std::string note = r.String("note", false, 2000);
                if (auto s = r.Finish("the decision has invalid fields"); !s.ok())
                  return Problem(s, ctx.request.request_id);
                auto done = applications.Decide(ctx.Who(), *id, *decision, *version, note);
                if (!done.ok()) return ApplicationProblem(done.status(), ctx.request);
                return JsonResponse(200, ApplicationJson(*done, applications.Today()));
              }});

  router.Add({"GET", "/api/v1/persons/{id}/applications", Auth::kApi, "listPersonApplications",
              [&applications](Context& ctx) {
                auto person = ParseId(ctx.Param("id"), "id");
                if (!person.ok()) return Problem(person.status(), ctx.request.request_id);
                auto list = applications.ForPerson(ctx.Who(), core::PersonId{*person});
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                const core::Date today = applications.Today();
                json items = json::array();
                for (const auto& a : *list) items.push_back(ApplicationJson(a, today));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
}

}  // namespace http
