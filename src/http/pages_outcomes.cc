// /performance/outcomes: the consortium's outcomes framework (outcomes, indicators with targets,
// and each agency's programs and services mapped to them), with its forms for governance and
// for the agencies' managers; /performance/outcomes/agency: where one agency's work counts, its
// indicators measured on its month. /performance/diagnostics: the integration diagnostic, a
// planning tool (new, saved, printable, compared).

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "http/api_outcomes.h"
#include "http/json_body.h"
#include "http/page_support.h"
#include "metrics/diagnostic.h"
#include "metrics/outcomes.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;
using page_support::Trim;

bool MayMapOwn(const authz::Principal& who) {
  return who.kind == authz::PrincipalKind::kStaff && who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin});
}

// Field errors as the page's error summary and e_ keys (prefixed ids: "outcome-name").
void AddErrors(json& d, const std::vector<core::FieldError>& errors, const std::string& prefix) {
  for (const auto& e : errors) {
    const std::string& field = e.field;
    const std::string m = page_support::Capitalised(e.message);
    d["e_" + prefix + "_" + field] = m;
    if (!d.contains("errors") || !d["errors"].is_array()) d["errors"] = json::array();
    d["errors"].push_back({{"message", m}, {"href", "#" + prefix + "-" + field}});
    d["has_errors"] = true;
  }
}

std::string Number(double v) { return fmt::format("{:.1f}", v); }

}  // namespace

void AddOutcomePages(Router& router, const PageDeps& deps) {
  if (deps.outcomes == nullptr || deps.scorecards == nullptr) return;
  // The framework, with the forms the caller may use. `form` says which form failed and what
  // was typed in it.
  auto framework = [&deps](Context& ctx, const std::string& form, const json& values,
                           const std::vector<core::FieldError>& errors, int status) {
    const auto& who = ctx.Who();
    auto list = deps.outcomes->List(who);
    if (!list.ok()) return ErrorFor(deps, ctx, list.status());
    json d = Common(deps, ctx, "Outcomes", "performance");
    const bool define = metrics::OutcomeService::MayDefine(who);
    const bool map_own = MayMapOwn(who);
    d["may_define"] = define;
    d["may_map"] = define || map_own;
    d["own_agency_id"] = who.agency.value;
    json outcomes = json::array();
    json choices = json::array();
    for (const auto& o : *list) {
      json indicators = json::array();
      for (const auto& i : o.indicators) {
        indicators.push_back({{"label", i.label},
                              {"remove_action", fmt::format("/performance/outcome-indicators/{}/remove", i.id)}});
      }
      json agencies = json::array();
      for (const auto& c : o.contributions) {
        if (agencies.empty() || agencies.back()["agency"] != c.agency_name) {
          agencies.push_back({{"agency", c.agency_name}, {"items", json::array()}});
        }
        agencies.back()["items"].push_back(
            {{"name", c.name},
             {"kind", c.kind == "program" ? "Program" : "Service"},
             {"how", c.how},
             {"may_remove", define || (map_own && c.agency == who.agency)},
             {"remove_action", fmt::format("/performance/outcome-contributions/{}/remove", c.id)}});
      }
      outcomes.push_back({{"id", o.id},
                          {"name", o.name},
                          {"description", o.description},
                          {"has_description", !o.description.empty()},
                          {"indicators", std::move(indicators)},
                          {"has_indicators", !o.indicators.empty()},
                          {"agencies", std::move(agencies)},
                          {"has_contributions", !o.contributions.empty()},
                          {"remove_action", fmt::format("/performance/outcomes/{}/remove", o.id)}});
      choices.push_back({{"value", o.id},
                         {"text", o.name},
                         {"selected", values.value("f_outcome", "") == std::to_string(o.id)}});
    }
    d["outcomes"] = std::move(outcomes);
    d["has_outcomes"] = !list->empty();
    d["outcome_choices"] = std::move(choices);
    // The caller's agency's programs to map.
    json programs = json::array();
    for (const auto& p : deps.outcomes->ProgramsOf(who.agency)) {
      programs.push_back({{"value", p.id}, {"text", p.name}, {"selected", values.value("f_ref", "") == p.id}});
    }
    d["program_choices"] = std::move(programs);
    d["has_programs"] = !d["program_choices"].empty();
    d["metric_choices"] = page_support::TargetMetricChoices(values.value("f_metric", ""));
    for (const auto& [k, v] : values.items()) d[k] = v;
    d["kind_service"] = values.value("f_kind", "") == "service";
    d["at_most"] = values.value("f_comparison", "") == "at_most";
    AddErrors(d, errors, form);
    return Render(deps, status, "outcomes", d);
  };

  router.Add({"GET", "/performance/outcomes", Auth::kPage, "", [framework](Context& ctx) {
                return framework(ctx, "", json::object(), {}, 200);
              }});
  router.Add({"POST", "/performance/outcomes", Auth::kPage, "", [&deps, framework](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                const std::string name = Trim(FormValue(form, "name"));
                const std::string description = Trim(FormValue(form, "description"));
                auto o = deps.outcomes->AddOutcome(ctx.Who(), name, description);
                if (o.ok()) return Response::Redirect(fmt::format("/performance/outcomes#outcome-{}", o->id));
                if (o.status().code() != core::StatusCode::kInvalidArgument) return ErrorFor(deps, ctx, o.status());
                return framework(ctx, "outcome", {{"f_name", name}, {"f_description", description}},
                                 o.status().fields(), 400);
              }});
  router.Add({"POST", "/performance/outcomes/{id}/remove", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such outcome"));
                if (auto s = deps.outcomes->RemoveOutcome(ctx.Who(), *id); !s.ok()) return ErrorFor(deps, ctx, s);
                return Response::Redirect("/performance/outcomes");
              }});
  router.Add({"POST", "/performance/outcome-indicators", Auth::kPage, "", [&deps, framework](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                const std::string outcome = FormValue(form, "outcome_id");
                metrics::NewIndicator in;
                in.metric = FormValue(form, "metric");
                in.comparison = FormValue(form, "comparison");
                const std::string target = Trim(FormValue(form, "target"));
                const std::string minutes = Trim(FormValue(form, "minutes"));
                json values = {{"f_metric", in.metric}, {"f_comparison", in.comparison}, {"f_target", target},
                               {"f_minutes", minutes}, {"f_outcome", outcome}};
                std::vector<core::FieldError> errors;
                auto id = ParseId(outcome, "outcome_id");
                if (!id.ok()) errors.push_back({"outcome_id", "choose the outcome"});
                for (auto& e : page_support::ReadTargetNumbers(form, "target", &in.target, &in.minutes)) {
                  errors.push_back(std::move(e));
                }
                if (errors.empty()) {
                  auto i = deps.outcomes->AddIndicator(ctx.Who(), *id, in);
                  if (i.ok()) return Response::Redirect(fmt::format("/performance/outcomes#outcome-{}", *id));
                  if (i.status().code() != core::StatusCode::kInvalidArgument) return ErrorFor(deps, ctx, i.status());
                  errors = i.status().fields();
                }
                return framework(ctx, "indicator", values, errors, 400);
              }});
  router.Add({"POST", "/performance/outcome-indicators/{id}/remove", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such indicator"));
                if (auto s = deps.outcomes->RemoveIndicator(ctx.Who(), *id); !s.ok()) return ErrorFor(deps, ctx, s);
                return Response::Redirect("/performance/outcomes");
              }});
  router.Add({"POST", "/performance/outcome-contributions", Auth::kPage, "", [&deps, framework](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                const std::string outcome = FormValue(form, "outcome_id");
                metrics::NewContribution in;
                in.agency = ctx.Who().agency;
                in.kind = FormValue(form, "kind");
                in.ref = Trim(in.kind == "service" ? FormValue(form, "service_id") : FormValue(form, "program"));
                in.how = Trim(FormValue(form, "how"));
                json values = {{"f_outcome", outcome}, {"f_kind", in.kind}, {"f_ref", in.ref}, {"f_how", in.how},
                               {"f_service_id", in.kind == "service" ? in.ref : ""}};
                auto id = ParseId(outcome, "outcome_id");
                if (!id.ok()) {
                  return framework(ctx, "map", values, {{"outcome_id", "choose the outcome"}}, 400);
                }
                auto c = deps.outcomes->AddContribution(ctx.Who(), *id, in);
                if (c.ok()) return Response::Redirect(fmt::format("/performance/outcomes#outcome-{}", *id));
                if (c.status().code() != core::StatusCode::kInvalidArgument) return ErrorFor(deps, ctx, c.status());
                return framework(ctx, "map", values, c.status().fields(), 400);
              }});
  router.Add({"POST", "/performance/outcome-contributions/{id}/remove", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such contribution"));
                if (auto s = deps.outcomes->RemoveContribution(ctx.Who(), *id); !s.ok()) return ErrorFor(deps, ctx, s);
                return Response::Redirect("/performance/outcomes");
              }});

  // Where an agency's work counts.
  router.Add({"GET", "/performance/outcomes/agency", Auth::kPage, "", [&deps](Context& ctx) {
                const auto& who = ctx.Who();
                core::AgencyId agency = who.agency;
                if (const std::string a = ctx.request.Query("agency_id"); !a.empty()) {
                  auto id = ParseId(a, "agency_id");
                  if (id.ok()) agency = core::AgencyId{*id};
                }
                std::string month = ctx.request.Query("month");
                int status = 200;
                json d = Common(deps, ctx, "Where our work counts", "performance");
                auto view = deps.outcomes->ForAgency(who, agency, month.empty() ? deps.scorecards->ThisMonth() : month);
                if (!view.ok() && view.status().code() == core::StatusCode::kInvalidArgument) {
                  d["e_month"] = "Write the month like 2026-11";
                  d["has_errors"] = true;
                  d["errors"] = json::array({{{"message", "Write the month like 2026-11"}, {"href", "#month"}}});
                  view = deps.outcomes->ForAgency(who, agency, deps.scorecards->ThisMonth());
                  status = 400;
                }
                if (!view.ok()) return ErrorFor(deps, ctx, view.status());
                d["metrics_agency"] = view->agency_name;
                d["agency_id"] = view->agency.value;
                d["f_month"] = view->month;
                json outcomes = json::array();
                for (const auto& o : view->outcomes) {
                  json mine = json::array();
                  for (const auto& c : o.mine) {
                    mine.push_back({{"name", c.name}, {"kind", c.kind == "program" ? "Program" : "Service"}, {"how", c.how}});
                  }
                  json results = json::array();
                  for (const auto& r : o.results) {
                    const bool met = r.status == "met";
                    results.push_back({{"label", r.indicator.label},
                                       {"actual", r.suppressed ? std::string("not shown: too few")
                                                  : r.actual    ? Number(*r.actual)
                                                                : std::string("nothing to measure")},
                                       {"status", met ? "Met" : r.status == "missed" ? "Missed" : "Not known"},
                                       {"tag", met ? "govuk-tag--green"
                                               : r.status == "missed" ? "govuk-tag--red"
                                                                      : "govuk-tag--grey"}});
                  }
                  std::string partners;
                  for (size_t i = 0; i < o.partners.size(); ++i) {
                    partners += (i == 0 ? "" : i + 1 == o.partners.size() ? " and " : ", ") + o.partners[i];
                  }
                  outcomes.push_back({{"name", o.outcome.name},
                                      {"description", o.outcome.description},
                                      {"has_description", !o.outcome.description.empty()},
                                      {"mine", std::move(mine)},
                                      {"partners", partners},
                                      {"has_partners", !o.partners.empty()},
                                      {"results", std::move(results)},
                                      {"has_results", !o.results.empty()}});
                }
                d["agency_outcomes"] = std::move(outcomes);
                d["has_agency_outcomes"] = !view->outcomes.empty();
                return Render(deps, status, "agency_outcomes", d);
              }});
}

void AddDiagnosticPages(Router& router, const PageDeps& deps) {
  if (deps.diagnostics == nullptr) return;
  // The form, with what was typed and its mistakes.
  auto form_page = [&deps](Context& ctx, const metrics::DiagnosticAnswers& answers, const std::string& initiative,
                           const std::string& note, const std::vector<core::FieldError>& errors, int status) {
    json d = Common(deps, ctx, "New integration diagnostic", "performance");
    d["f_initiative"] = initiative;
    d["f_note"] = note;
    std::map<std::string, std::string> problems;
    json summary = json::array();
    for (const auto& e : errors) {
      std::string id = e.field;
      std::replace(id.begin(), id.end(), '.', '-');
      const std::string m = page_support::Capitalised(e.message);
      problems[e.field] = m;
      summary.push_back({{"message", m}, {"href", "#" + id}});
    }
    if (!summary.empty()) {
      d["errors"] = std::move(summary);
      d["has_errors"] = true;
    }
    if (problems.count("initiative")) d["e_initiative"] = problems["initiative"];
    if (problems.count("note")) d["e_note"] = problems["note"];
    json questions = json::array();
    for (const auto& q : metrics::ComplexityQuestions()) {
      json choices = json::array();
      const auto it = answers.complexity.find(q.key);
      for (const auto& c : q.choices) {
        choices.push_back({{"id", fmt::format("complexity-{}-{}", q.key, c.level)},
                           {"level", c.level},
                           {"text", c.text},
                           {"checked", it != answers.complexity.end() && it->second == c.level}});
      }
      const std::string field = "complexity." + q.key;
      questions.push_back({{"key", q.key},
                           {"name", field},
                           {"id", "complexity-" + q.key},
                           {"text", q.text},
                           {"choices", std::move(choices)},
                           {"problem", problems.count(field) ? problems[field] : ""},
                           {"has_problem", problems.count(field) > 0}});
    }
    d["questions"] = std::move(questions);
    json areas = json::array();
    for (const auto& [area, name] : metrics::ChangeAreas()) {
      json statements = json::array();
      for (const auto& s : metrics::ChangeStatements()) {
        if (s.area != area) continue;
        const std::string field = "ratings." + s.key;
        std::string id = field;
        std::replace(id.begin(), id.end(), '.', '-');
        const auto it = answers.ratings.find(s.key);
        json ratings = json::array();
        for (int level = 1; level <= 4; ++level) {
          ratings.push_back({{"id", fmt::format("{}-{}", id, level)},
                             {"level", level},
                             {"text", metrics::RatingNames()[static_cast<size_t>(level - 1)]},
                             {"checked", it != answers.ratings.end() && it->second == level}});
        }
        statements.push_back({{"name", field},
                              {"id", id},
                              {"text", s.text},
                              {"kind", s.challenge ? "Challenge" : "Facility for change"},
                              {"ratings", std::move(ratings)},
                              {"problem", problems.count(field) ? problems[field] : ""},
                              {"has_problem", problems.count(field) > 0}});
      }
      areas.push_back({{"name", name}, {"statements", std::move(statements)}});
    }
    d["areas"] = std::move(areas);
    return Render(deps, status, "diagnostic_form", d);
  };

  router.Add({"GET", "/performance/diagnostics", Auth::kPage, "", [&deps](Context& ctx) {
                const auto& who = ctx.Who();
                auto list = deps.diagnostics->List(who, ctx.request.Query("initiative"));
                if (!list.ok()) return ErrorFor(deps, ctx, list.status());
                json d = Common(deps, ctx, "Integration diagnostics", "performance");
                d["may_plan"] = metrics::DiagnosticService::MayPlan(who);
                json rows = json::array();
                json choices = json::array();
                for (const auto& s : *list) {
                  const std::string date = s.created_at.ToRfc3339().substr(0, 10);
                  rows.push_back({{"href", fmt::format("/performance/diagnostics/{}", s.id)},
                                  {"initiative", s.initiative},
                                  {"date", date},
                                  {"model", s.assessment.model.name},
                                  {"journey", page_support::Capitalised(s.assessment.journey)},
                                  {"by", s.created_by}});
                  choices.push_back({{"value", s.id}, {"text", fmt::format("{}, {} ({})", s.initiative, date, s.id)}});
                }
                d["has_saved"] = !rows.empty();
                d["saved"] = std::move(rows);
                d["compare_choices"] = std::move(choices);
                d["may_compare"] = list->size() >= 2;
                return Render(deps, 200, "diagnostics", d);
              }});
  router.Add({"GET", "/performance/diagnostics/new", Auth::kPage, "", [&deps, form_page](Context& ctx) {
                if (!metrics::DiagnosticService::MayPlan(ctx.Who())) {
                  return ErrorFor(deps, ctx,
                                  core::Status::PermissionDenied("diagnostics are saved by governance, managers and "
                                                                 "administrators"));
                }
                metrics::DiagnosticAnswers none;
                // "Assess again" starts from a saved diagnostic's answers.
                std::string initiative;
                if (const std::string from = ctx.request.Query("from"); !from.empty()) {
                  auto id = ParseId(from, "from");
                  if (id.ok()) {
                    auto saved = deps.diagnostics->Get(ctx.Who(), *id);
                    if (saved.ok()) {
                      none = saved->answers;
                      initiative = saved->initiative;
                    }
                  }
                }
                return form_page(ctx, none, initiative, "", {}, 200);
              }});
  router.Add({"POST", "/performance/diagnostics", Auth::kPage, "", [&deps, form_page](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                metrics::DiagnosticAnswers answers;
                for (const auto& [key, value] : form) {
                  const bool complexity = key.rfind("complexity.", 0) == 0;
                  const bool rating = key.rfind("ratings.", 0) == 0;
                  if (!complexity && !rating) continue;
                  const int level = value.size() == 1 && value[0] >= '1' && value[0] <= '4' ? value[0] - '0' : 0;
                  (complexity ? answers.complexity : answers.ratings)[key.substr(complexity ? 11 : 8)] = level;
                }
                const std::string initiative = Trim(FormValue(form, "initiative"));
                const std::string note = Trim(FormValue(form, "note"));
                auto saved = deps.diagnostics->Save(ctx.Who(), initiative, note, answers);
                if (saved.ok()) return Response::Redirect(fmt::format("/performance/diagnostics/{}", saved->id));
                if (saved.status().code() != core::StatusCode::kInvalidArgument) {
                  return ErrorFor(deps, ctx, saved.status());
                }
                return form_page(ctx, answers, initiative, note, saved.status().fields(), 400);
              }});

  auto view_json = [](const metrics::SavedDiagnostic& s) {
    const auto& a = s.assessment;
    json areas = json::array();
    for (const auto& p : a.areas) {
      areas.push_back({{"name", p.name},
                       {"challenge", Number(p.challenge)},
                       {"facility", Number(p.facility)},
                       {"summary", p.summary},
                       {"tag", p.balance == "ready"     ? "govuk-tag--green"
                               : p.balance == "stretch" ? "govuk-tag--yellow"
                                                        : "govuk-tag--red"},
                       {"balance", p.balance == "ready" ? "Ready" : p.balance == "stretch" ? "Stretch" : "Gap"}});
    }
    return json{{"id", s.id},
                {"initiative", s.initiative},
                {"note", s.note},
                {"has_note", !s.note.empty()},
                {"date", s.created_at.ToRfc3339().substr(0, 10)},
                {"by", s.created_by},
                {"model", a.model.name},
                {"also", a.also ? a.also->name : ""},
                {"has_also", a.also.has_value()},
                {"complexity", fmt::format("{:.2f}", a.complexity)},
                {"reasoning", a.reasoning},
                {"areas", std::move(areas)},
                {"journey", page_support::Capitalised(a.journey) + (a.pace.empty() ? "" : ", " + a.pace + " pace")},
                {"journey_reasoning", a.journey_reasoning},
                {"first_steps", a.first_steps},
                {"modules", a.modules}};
  };
  router.Add({"GET", "/performance/diagnostics/compare", Auth::kPage, "", [&deps, view_json](Context& ctx) {
                auto a = ParseId(ctx.request.Query("a"), "a");
                auto b = ParseId(ctx.request.Query("b"), "b");
                if (!a.ok() || !b.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("choose two diagnostics"));
                auto first = deps.diagnostics->Get(ctx.Who(), *a);
                if (!first.ok()) return ErrorFor(deps, ctx, first.status());
                auto second = deps.diagnostics->Get(ctx.Who(), *b);
                if (!second.ok()) return ErrorFor(deps, ctx, second.status());
                // Older on the left.
                if (second->created_at.micros < first->created_at.micros) std::swap(first, second);
                json d = Common(deps, ctx, "Compare diagnostics", "performance");
                d["before"] = view_json(*first);
                d["after"] = view_json(*second);
                json changes = json::array();
                if (first->assessment.model.key != second->assessment.model.key) {
                  changes.push_back(fmt::format("The model moved from {} to {}.", first->assessment.model.name,
                                                second->assessment.model.name));
                }
                if (first->assessment.journey != second->assessment.journey) {
                  changes.push_back(fmt::format("The journey moved from {} to {}.", first->assessment.journey,
                                                second->assessment.journey));
                }
                json rows = json::array();
                for (size_t i = 0; i < first->assessment.areas.size() && i < second->assessment.areas.size(); ++i) {
                  const auto& p = first->assessment.areas[i];
                  const auto& q = second->assessment.areas[i];
                  rows.push_back({{"name", p.name},
                                  {"before", fmt::format("{} against {}", Number(p.challenge), Number(p.facility))},
                                  {"after", fmt::format("{} against {}", Number(q.challenge), Number(q.facility))},
                                  {"change", p.balance == q.balance ? std::string("No change")
                                                                    : fmt::format("{} to {}", p.balance, q.balance)}});
                  if (p.balance != q.balance) {
                    changes.push_back(fmt::format("{}: from {} to {}.", p.name, p.balance, q.balance));
                  }
                }
                if (changes.empty()) changes.push_back("The model, the journey and every area's balance are unchanged.");
                d["changes"] = std::move(changes);
                d["area_rows"] = std::move(rows);
                return Render(deps, 200, "diagnostic_compare", d);
              }});
  router.Add({"GET", "/performance/diagnostics/{id}", Auth::kPage, "", [&deps, view_json](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such diagnostic"));
                auto s = deps.diagnostics->Get(ctx.Who(), *id);
                if (!s.ok()) return ErrorFor(deps, ctx, s.status());
                json d = Common(deps, ctx, "Integration diagnostic: " + s->initiative, "performance");
                d["diagnostic"] = view_json(*s);
                d["may_plan"] = metrics::DiagnosticService::MayPlan(ctx.Who());
                d["again_href"] = fmt::format("/performance/diagnostics/new?from={}", s->id);
                // The one before it for the same initiative, to compare.
                auto same = deps.diagnostics->List(ctx.Who(), s->initiative);
                if (same.ok()) {
                  for (const auto& o : *same) {
                    if (o.id != s->id && o.created_at.micros <= s->created_at.micros) {
                      d["compare_href"] = fmt::format("/performance/diagnostics/compare?a={}&b={}", o.id, s->id);
                      d["has_previous"] = true;
                      break;
                    }
                  }
                }
                return Render(deps, 200, "diagnostic_view", d);
              }});
}

}  // namespace http
