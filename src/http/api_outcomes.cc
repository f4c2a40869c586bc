#include "http/api_outcomes.h"

#include <fmt/format.h>

#include "http/json_body.h"
#include "http/problem.h"

namespace http {

using nlohmann::json;

namespace {

Response NoContent() {
  Response r;
  r.status = 204;
  return r;
}

json IndicatorJson(const metrics::Indicator& i) {
  return {{"id", i.id},
          {"outcome_id", i.outcome},
          {"metric", i.metric},
          {"comparison", i.comparison},
          {"target", i.target},
          {"minutes", i.minutes == 0 ? json(nullptr) : json(i.minutes)},
          {"label", i.label}};
}

json ContributionJson(const metrics::Contribution& c) {
  return {{"id", c.id},
          {"outcome_id", c.outcome},
          {"agency", {{"id", c.agency.value}, {"name", c.agency_name}}},
          {"kind", c.kind},
          {"ref", c.ref},
          {"name", c.name},
          {"how", c.how},
          {"added_by", c.added_by}};
}

json SavedJson(const metrics::SavedDiagnostic& d) {
  return {{"id", d.id},
          {"initiative", d.initiative},
          {"note", d.note},
          {"complexity", d.answers.complexity},
          {"ratings", d.answers.ratings},
          {"assessment", AssessmentJson(d.assessment)},
          {"created_by", d.created_by},
          {"created_at", d.created_at.ToRfc3339()}};
}

}  // namespace

json OutcomeJson(const metrics::Outcome& o) {
  json indicators = json::array();
  for (const auto& i : o.indicators) indicators.push_back(IndicatorJson(i));
  json contributions = json::array();
  for (const auto& c : o.contributions) contributions.push_back(ContributionJson(c));
  return {{"id", o.id},
          {"name", o.name},
          {"description", o.description},
          {"indicators", std::move(indicators)},
          {"contributions", std::move(contributions)}};
}

json AssessmentJson(const metrics::Assessment& a) {
  json areas = json::array();
  for (const auto& p : a.areas) {
    areas.push_back({{"area", p.area},
                     {"name", p.name},
                     {"challenge", p.challenge},
                     {"facility", p.facility},
                     {"balance", p.balance},
                     {"summary", p.summary}});
  }
  return {{"complexity", a.complexity},
          {"model", {{"key", a.model.key}, {"name", a.model.name}}},
          {"also", a.also ? json{{"key", a.also->key}, {"name", a.also->name}} : json(nullptr)},
          {"reasoning", a.reasoning},
          {"areas", std::move(areas)},
          {"journey", a.journey},
          {"pace", a.pace.empty() ? json(nullptr) : json(a.pace)},
          {"journey_reasoning", a.journey_reasoning},
          {"first_steps", a.first_steps},
          {"modules", a.modules}};
}

void ReadDiagnosticAnswers(const json& body, JsonReader& r, metrics::DiagnosticAnswers* out) {
  for (const char* group : {"complexity", "ratings"}) {
    const json* o = r.Object(group);
    if (o == nullptr) continue;
    auto& into = std::string(group) == "complexity" ? out->complexity : out->ratings;
    for (const auto& [key, value] : o->items()) {
      if (!value.is_number_integer()) {
        r.Error(fmt::format("{}.{}", group, key), "must be a whole number from 1 to 4");
        continue;
      }
      const int64_t v = value.get<int64_t>();
      into[key] = v < 0 || v > 100 ? 0 : static_cast<int>(v);
    }
  }
  (void)body;
}

void AddOutcomeRoutes(Router& router, metrics::OutcomeService& outcomes, metrics::ScorecardService& cards) {
  router.Add({"GET", "/api/v1/outcomes", Auth::kApi, "listOutcomes", [&outcomes](Context& ctx) {
                auto list = outcomes.List(ctx.Who());
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& o : *list) items.push_back(OutcomeJson(o));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
  router.Add({"POST", "/api/v1/outcomes", Auth::kApi, "addOutcome", [&outcomes](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"name", "description"});
                const std::string name = r.String("name", true, 200);
                const std::string description = r.String("description", false, 2000);
                if (auto s = r.Finish("the outcome has invalid fields"); !s.ok()) return Problem(s, ctx.request.request_id);
                auto o = outcomes.AddOutcome(ctx.Who(), name, description);
                if (!o.ok()) return Problem(o.status(), ctx.request.request_id);
                return JsonResponse(201, OutcomeJson(*o));
              }});
  router.Add({"GET", "/api/v1/outcomes/{id}", Auth::kApi, "getOutcome", [&outcomes](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto o = outcomes.Get(ctx.Who(), *id);
                if (!o.ok()) return Problem(o.status(), ctx.request.request_id);
                return JsonResponse(200, OutcomeJson(*o));
              }});
  router.Add({"DELETE", "/api/v1/outcomes/{id}", Auth::kApi, "removeOutcome", [&outcomes](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                if (auto s = outcomes.RemoveOutcome(ctx.Who(), *id); !s.ok()) return Problem(s, ctx.request.request_id);
                return NoContent();
              }});
  router.Add({"POST", "/api/v1/outcomes/{id}/indicators", Auth::kApi, "addOutcomeIndicator", [&outcomes](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"metric", "comparison", "target", "minutes"});
                metrics::NewIndicator in;
                in.metric = r.String("metric", true, 60);
                in.comparison = r.String("comparison", true, 20);
                const auto it = body->find("target");
                if (it == body->end()) r.Error("target", "is required");
                else if (!it->is_number()) r.Error("target", "must be a number");
                else in.target = it->get<double>();
                in.minutes = static_cast<int>(r.OptInt("minutes").value_or(0));
                if (auto s = r.Finish("the indicator has invalid fields"); !s.ok()) return Problem(s, ctx.request.request_id);
                auto i = outcomes.AddIndicator(ctx.Who(), *id, in);
                if (!i.ok()) return Problem(i.status(), ctx.request.request_id);
                return JsonResponse(201, IndicatorJson(*i));
              }});
  router.Add({"DELETE", "/api/v1/outcome-indicators/{id}", Auth::kApi, "removeOutcomeIndicator",
              [&outcomes](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                if (auto s = outcomes.RemoveIndicator(ctx.Who(), *id); !s.ok()) return Problem(s, ctx.request.request_id);
                return NoContent();
              }});
  router.Add({"POST", "/api/v1/outcomes/{id}/contributions", Auth::kApi, "addOutcomeContribution",
              [&outcomes](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"agency_id", "kind", "ref", "how"});
                metrics::NewContribution in;
                const auto agency = r.OptInt("agency_id");
                in.agency = core::AgencyId{agency.value_or(ctx.Who().agency.value)};
                in.kind = r.String("kind", true, 20);
                in.ref = r.String("ref", true, 200);
                in.how = r.String("how", true, 500);
                if (auto s = r.Finish("the contribution has invalid fields"); !s.ok()) {
                  return Problem(s, ctx.request.request_id);
                }
                auto c = outcomes.AddContribution(ctx.Who(), *id, in);
                if (!c.ok()) return Problem(c.status(), ctx.request.request_id);
                return JsonResponse(201, ContributionJson(*c));
              }});
  router.Add({"DELETE", "/api/v1/outcome-contributions/{id}", Auth::kApi, "removeOutcomeContribution",
              [&outcomes](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                if (auto s = outcomes.RemoveContribution(ctx.Who(), *id); !s.ok()) {
                  return Problem(s, ctx.request.request_id);
                }
                return NoContent();
              }});
  router.Add({"GET", "/api/v1/agencies/{id}/outcomes", Auth::kApi, "getAgencyOutcomes",
              [&outcomes, &cards](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                std::string month = ctx.request.Query("month");
                if (month.empty()) month = cards.ThisMonth();
                auto a = outcomes.ForAgency(ctx.Who(), core::AgencyId{*id}, month);
                if (!a.ok()) return Problem(a.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& o : a->outcomes) {
                  json mine = json::array();
                  for (const auto& c : o.mine) mine.push_back(ContributionJson(c));
                  json results = json::array();
                  for (const auto& r : o.results) {
                    results.push_back({{"indicator", IndicatorJson(r.indicator)},
                                       {"actual", r.actual ? json(*r.actual) : json(nullptr)},
                                       {"suppressed", r.suppressed},
                                       {"status", r.status}});
                  }
                  items.push_back({{"outcome", {{"id", o.outcome.id}, {"name", o.outcome.name},
                                                {"description", o.outcome.description}}},
                                   {"contributions", std::move(mine)},
                                   {"partners", o.partners},
                                   {"indicators", std::move(results)}});
                }
                return JsonResponse(200, {{"agency", {{"id", a->agency.value}, {"name", a->agency_name}}},
                                          {"month", a->month},
                                          {"outcomes", std::move(items)}});
              }});
}

void AddDiagnosticRoutes(Router& router, metrics::DiagnosticService& diagnostics) {
  router.Add({"GET", "/api/v1/diagnostics/questions", Auth::kApi, "getDiagnosticQuestions", [](Context& ctx) {
                if (!metrics::DiagnosticService::MayRead(ctx.Who())) {
                  return Problem(core::Status::PermissionDenied("diagnostics are for governance, managers and "
                                                                "administrators"),
                                 ctx.request.request_id);
                }
                json complexity = json::array();
                for (const auto& q : metrics::ComplexityQuestions()) {
                  json choices = json::array();
                  for (const auto& c : q.choices) choices.push_back({{"level", c.level}, {"text", c.text}});
                  complexity.push_back({{"key", q.key}, {"text", q.text}, {"choices", std::move(choices)}});
                }
                json statements = json::array();
                for (const auto& s : metrics::ChangeStatements()) {
                  statements.push_back({{"key", s.key},
                                        {"area", s.area},
                                        {"kind", s.challenge ? "challenge" : "facility"},
                                        {"text", s.text}});
                }
                json models = json::array();
                for (const auto& m : metrics::Models()) models.push_back({{"key", m.key}, {"name", m.name}});
                return JsonResponse(200, {{"complexity", std::move(complexity)},
                                          {"statements", std::move(statements)},
                                          {"ratings", metrics::RatingNames()},
                                          {"models", std::move(models)}});
              }});
  router.Add({"GET", "/api/v1/diagnostics", Auth::kApi, "listDiagnostics", [&diagnostics](Context& ctx) {
                auto list = diagnostics.List(ctx.Who(), ctx.request.Query("initiative"));
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& d : *list) items.push_back(SavedJson(d));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
  router.Add({"POST", "/api/v1/diagnostics", Auth::kApi, "saveDiagnostic", [&diagnostics](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"initiative", "note", "complexity", "ratings"});
                const std::string initiative = r.String("initiative", true, 200);
                const std::string note = r.String("note", false, 2000);
                metrics::DiagnosticAnswers answers;
                ReadDiagnosticAnswers(*body, r, &answers);
                if (auto s = r.Finish("the diagnostic has invalid fields"); !s.ok()) {
                  return Problem(s, ctx.request.request_id);
                }
                auto d = diagnostics.Save(ctx.Who(), initiative, note, answers);
                if (!d.ok()) return Problem(d.status(), ctx.request.request_id);
                return JsonResponse(201, SavedJson(*d));
              }});
  router.Add({"GET", "/api/v1/diagnostics/{id}", Auth::kApi, "getDiagnostic", [&diagnostics](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto d = diagnostics.Get(ctx.Who(), *id);
                if (!d.ok()) return Problem(d.status(), ctx.request.request_id);
                return JsonResponse(200, SavedJson(*d));
              }});
}

}  // namespace http
