// /performance/outcomes: the consortium's outcomes framework (outcomes, indicators with targets,
// and each agency's programs and services mapped to them), with its forms for governance and
// for the agencies' managers; /performance/outcomes/agency: where one agency's work counts, its
// indicators measured on its month. /performance/diagnostics: the integration diagnostic, a
// planning tool (new, saved, printable, compared).

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "http/api_outcomes.h"
#include "http/json_body.h"
#include "http/page_support.h"
#include "i18n/messages.h"
#include "metrics/diagnostic.h"
#include "metrics/outcomes.h"

// In the request's language, beside TargetMetricChoices and ReadTargetNumbers (page_support.h):
// the measures as <select> choices, and a target or indicator as its label says it ("Visitors
// called within 20 minutes: at least 90%"; `label`, the stored English, when the metric is not
// known). In pages_metrics.cc.
namespace http::page_support {
nlohmann::json TargetMetricChoices(const PageDeps& deps, const Context& ctx, const std::string& selected);
std::string TargetText(const PageDeps& deps, const Context& ctx, const std::string& metric, int minutes,
                       const std::string& comparison, double value, const std::string& label);
}  // namespace http::page_support

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;
using page_support::Said;
using page_support::T;
using page_support::Trim;

// A message as it is, in the request's language when the catalogue has it (a service's message,
// a fixed text of the diagnostic). Never formatted as a pattern.

// "A, B and C".
std::string ListText(const PageDeps& deps, const Context& ctx, const std::vector<std::string>& items) {
  if (items.empty()) return "";
  std::string list = items.front();
  for (size_t i = 1; i + 1 < items.size(); ++i) list += ", " + items[i];
  return items.size() == 1 ? list : T(deps, ctx, "{list} and {last}", {{"list", list}, {"last", items.back()}});
}

bool MayMapOwn(const authz::Principal& who) {
  return who.kind == authz::PrincipalKind::kStaff && who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin});
}

// Field errors as the page's error summary and e_ keys (prefixed ids: "outcome-name").
void AddErrors(const PageDeps& deps, const Context& ctx, json& d, const std::vector<core::FieldError>& errors,
               const std::string& prefix) {
  for (const auto& e : errors) {
    const std::string& field = e.field;
    const std::string m = Said(deps, ctx, page_support::Capitalised(e.message));
    d["e_" + prefix + "_" + field] = m;
    if (!d.contains("errors") || !d["errors"].is_array()) d["errors"] = json::array();
    d["errors"].push_back({{"message", m}, {"href", "#" + prefix + "-" + field}});
    d["has_errors"] = true;
  }
}

std::string Number(double v) { return fmt::format("{:.1f}", v); }

// --- The diagnostic in the request's language ----------------------------------------------
// Its fixed texts (questions, statements, models, steps) are looked up as they are; the sentences
// the assessment builds around values are made again here, each only where it is the same
// English as the assessment's, and otherwise kept as they are.

// "Transformational, quick pace".
std::string JourneyText(const PageDeps& deps, const Context& ctx, const metrics::Assessment& a) {
  const std::string journey = Said(deps, ctx, page_support::Capitalised(a.journey));
  if (a.pace == "quick") return T(deps, ctx, "{journey}, quick pace", {{"journey", journey}});
  if (a.pace == "measured") return T(deps, ctx, "{journey}, measured pace", {{"journey", journey}});
  return a.pace.empty() ? journey : journey + ", " + a.pace + " pace";
}

// The degree of a mean rating, as the assessment names it: "fairly high".
std::string Degree(double v) {
  const auto& names = metrics::RatingNames();
  std::string s = names.at(v < 1.75 ? 0 : v < 2.5 ? 1 : v < 3.25 ? 2 : 3);
  s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// The assessment's built sentences, English → the request's language.
std::map<std::string, std::string> BuiltSentences(const PageDeps& deps, const Context& ctx,
                                                  const metrics::SavedDiagnostic& s) {
  const auto& a = s.assessment;
  std::map<std::string, std::string> out;
  const std::map<std::string, std::string> names = {{"range", "Range of need"},
                                                    {"frequency", "Frequency of interaction"},
                                                    {"nature", "Nature of interaction"},
                                                    {"expertise", "Expertise required"}};
  for (const auto& q : metrics::ComplexityQuestions()) {
    const auto it = s.answers.complexity.find(q.key);
    if (it == s.answers.complexity.end() || it->second < 1 || it->second > static_cast<int>(q.choices.size()) ||
        !names.count(q.key)) {
      continue;
    }
    const std::string& answer = q.choices.at(static_cast<size_t>(it->second - 1)).text;
    out[fmt::format("{}: {} ({} of 4).", names.at(q.key), answer, it->second)] =
        T(deps, ctx, "{question}: {answer} ({level} of 4).",
          {{"question", Said(deps, ctx, names.at(q.key))},
           {"answer", Said(deps, ctx, answer)},
           {"level", std::to_string(it->second)}});
  }
  const std::string complexity = fmt::format("{:.2f}", a.complexity);
  out[fmt::format("Taken together the complexity of the outcome is {} on a scale of 1 to 4.", complexity)] =
      T(deps, ctx, "Taken together the complexity of the outcome is {complexity} on a scale of 1 to 4.",
        {{"complexity", complexity}});
  if (a.also) {
    for (const char* advice :
         {"The highest level of integration is not always the most effective; choose the lighter model where it "
          "delivers the outcome.",
          "Watch whether the needs grow beyond what the recommended model can serve."}) {
      out[fmt::format("The answers sit between two levels: {} can also work. {}", a.also->name, advice)] =
          T(deps, ctx, "The answers sit between two levels: {model} can also work. {advice}",
            {{"model", Said(deps, ctx, a.also->name)}, {"advice", Said(deps, ctx, advice)}});
    }
  }
  std::vector<std::string> short_english;
  std::vector<std::string> short_names;
  for (const auto& p : a.areas) {
    const std::string degrees = fmt::format("{} challenge, {} facility to manage change", Degree(p.challenge),
                                            Degree(p.facility));
    const std::map<std::string, std::pair<std::string, std::string>> tails = {
        {"ready", {": the facility matches the challenge",
                   "{challenge} challenge, {facility} facility to manage change: the facility matches the challenge"}},
        {"stretch", {": the challenge is a little greater than the facility",
                     "{challenge} challenge, {facility} facility to manage change: the challenge is a little greater "
                     "than the facility"}},
        {"gap", {": a gap to close before the change",
                 "{challenge} challenge, {facility} facility to manage change: a gap to close before the change"}}};
    if (const auto t = tails.find(p.balance); t != tails.end()) {
      out[page_support::Capitalised(degrees + t->second.first)] = page_support::Capitalised(
          T(deps, ctx, t->second.second,
            {{"challenge", Said(deps, ctx, Degree(p.challenge))}, {"facility", Said(deps, ctx, Degree(p.facility))}}));
    }
    if (p.balance != "ready") {
      short_english.push_back(p.name);
      short_names.push_back(Said(deps, ctx, p.name));
    }
  }
  if (!short_english.empty()) {
    std::string list;
    for (size_t i = 0; i < short_english.size(); ++i) {
      list += (i == 0 ? "" : i + 1 == short_english.size() ? " and " : ", ") + short_english[i];
    }
    out[fmt::format("In {} the challenge is greater than the facility to manage change: build towards {} in stages "
                    "rather than in one step.",
                    list, a.model.name)] =
        T(deps, ctx,
          "In {areas} the challenge is greater than the facility to manage change: build towards {model} in stages "
          "rather than in one step.",
          {{"areas", ListText(deps, ctx, short_names)}, {"model", Said(deps, ctx, a.model.name)}});
  }
  return out;
}

// Each line in the request's language: made again when built, else looked up as it is.
json Lines(const PageDeps& deps, const Context& ctx, const std::vector<std::string>& lines,
           const std::map<std::string, std::string>& built) {
  json out = json::array();
  for (const auto& l : lines) out.push_back(built.count(l) ? built.at(l) : Said(deps, ctx, l));
  return out;
}

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
        indicators.push_back({{"label", page_support::TargetText(deps, ctx, i.metric, i.minutes, i.comparison, i.target,
                                                                 i.label)},
                              {"remove_action", fmt::format("/performance/outcome-indicators/{}/remove", i.id)}});
      }
      json agencies = json::array();
      for (const auto& c : o.contributions) {
        if (agencies.empty() || agencies.back()["agency"] != c.agency_name) {
          agencies.push_back({{"agency", c.agency_name}, {"items", json::array()}});
        }
        agencies.back()["items"].push_back(
            {{"name", c.name},
             {"kind", T(deps, ctx, c.kind == "program" ? "Program" : "Service")},
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
    d["metric_choices"] = page_support::TargetMetricChoices(deps, ctx, values.value("f_metric", ""));
    for (const auto& [k, v] : values.items()) d[k] = v;
    d["kind_service"] = values.value("f_kind", "") == "service";
    d["at_most"] = values.value("f_comparison", "") == "at_most";
    AddErrors(deps, ctx, d, errors, form);
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
                // Who may define indicators is settled before the form is read.
                if (!ctx.Who().HasRole(authz::Role::kGovernance)) {
                  return ErrorFor(deps, ctx,
                                  core::Status::PermissionDenied("indicators are defined by the consortium's governance"));
                }
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
                // The caller's own agency's work, mapped by its managers and administrators, or by governance.
                if (!ctx.Who().HasAnyRole({authz::Role::kGovernance, authz::Role::kManager, authz::Role::kAdmin})) {
                  return ErrorFor(deps, ctx, core::Status::PermissionDenied(
                                                 "an agency's work is mapped by its managers and the consortium's governance"));
                }
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
                  d["e_month"] = T(deps, ctx, "Write the month like 2026-11");
                  d["has_errors"] = true;
                  d["errors"] = json::array({{{"message", d["e_month"]}, {"href", "#month"}}});
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
                    mine.push_back({{"name", c.name},
                                    {"kind", T(deps, ctx, c.kind == "program" ? "Program" : "Service")},
                                    {"how", c.how}});
                  }
                  json results = json::array();
                  for (const auto& r : o.results) {
                    const bool met = r.status == "met";
                    const auto& i = r.indicator;
                    results.push_back({{"label", page_support::TargetText(deps, ctx, i.metric, i.minutes, i.comparison,
                                                                          i.target, i.label)},
                                       {"actual", r.suppressed ? T(deps, ctx, "not shown: too few")
                                                  : r.actual    ? Number(*r.actual)
                                                                : T(deps, ctx, "nothing to measure")},
                                       {"status",
                                        T(deps, ctx, met ? "Met" : r.status == "missed" ? "Missed" : "Not known")},
                                       {"tag", met ? "govuk-tag--green"
                                               : r.status == "missed" ? "govuk-tag--red"
                                                                      : "govuk-tag--grey"}});
                  }
                  const std::string partners = ListText(deps, ctx, o.partners);
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
      const std::string m = Said(deps, ctx, page_support::Capitalised(e.message));
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
                           {"text", Said(deps, ctx, c.text)},
                           {"checked", it != answers.complexity.end() && it->second == c.level}});
      }
      const std::string field = "complexity." + q.key;
      questions.push_back({{"key", q.key},
                           {"name", field},
                           {"id", "complexity-" + q.key},
                           {"text", Said(deps, ctx, q.text)},
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
                             {"text", Said(deps, ctx, metrics::RatingNames()[static_cast<size_t>(level - 1)])},
                             {"checked", it != answers.ratings.end() && it->second == level}});
        }
        statements.push_back({{"name", field},
                              {"id", id},
                              {"text", Said(deps, ctx, s.text)},
                              {"kind", T(deps, ctx, s.challenge ? "Challenge" : "Facility for change")},
                              {"ratings", std::move(ratings)},
                              {"problem", problems.count(field) ? problems[field] : ""},
                              {"has_problem", problems.count(field) > 0}});
      }
      areas.push_back({{"name", Said(deps, ctx, name)}, {"statements", std::move(statements)}});
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
                                  {"model", Said(deps, ctx, s.assessment.model.name)},
                                  {"journey", Said(deps, ctx, page_support::Capitalised(s.assessment.journey))},
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

  auto view_json = [&deps](const Context& ctx, const metrics::SavedDiagnostic& s) {
    const auto& a = s.assessment;
    const auto built = BuiltSentences(deps, ctx, s);
    json areas = json::array();
    for (const auto& p : a.areas) {
      areas.push_back({{"name", Said(deps, ctx, p.name)},
                       {"challenge", Number(p.challenge)},
                       {"facility", Number(p.facility)},
                       {"summary", built.count(p.summary) ? built.at(p.summary) : p.summary},
                       {"tag", p.balance == "ready"     ? "govuk-tag--green"
                               : p.balance == "stretch" ? "govuk-tag--yellow"
                                                        : "govuk-tag--red"},
                       {"balance", T(deps, ctx, p.balance == "ready"     ? "Ready"
                                                : p.balance == "stretch" ? "Stretch"
                                                                         : "Gap")}});
    }
    return json{{"id", s.id},
                {"initiative", s.initiative},
                {"note", s.note},
                {"has_note", !s.note.empty()},
                {"date", s.created_at.ToRfc3339().substr(0, 10)},
                {"by", s.created_by},
                {"model", Said(deps, ctx, a.model.name)},
                {"also", a.also ? Said(deps, ctx, a.also->name) : ""},
                {"has_also", a.also.has_value()},
                {"complexity", fmt::format("{:.2f}", a.complexity)},
                {"reasoning", Lines(deps, ctx, a.reasoning, built)},
                {"areas", std::move(areas)},
                {"journey", JourneyText(deps, ctx, a)},
                {"journey_reasoning", Lines(deps, ctx, a.journey_reasoning, built)},
                {"first_steps", Lines(deps, ctx, a.first_steps, built)},
                {"modules", Lines(deps, ctx, a.modules, built)}};
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
                d["before"] = view_json(ctx, *first);
                d["after"] = view_json(ctx, *second);
                json changes = json::array();
                const auto& was = first->assessment;
                const auto& now = second->assessment;
                if (was.model.key != now.model.key) {
                  changes.push_back(T(deps, ctx, "The model moved from {before} to {after}.",
                                      {{"before", Said(deps, ctx, was.model.name)},
                                       {"after", Said(deps, ctx, now.model.name)}}));
                }
                if (was.journey != now.journey) {
                  changes.push_back(T(deps, ctx, "The journey moved from {before} to {after}.",
                                      {{"before", Said(deps, ctx, was.journey)},
                                       {"after", Said(deps, ctx, now.journey)}}));
                }
                json rows = json::array();
                for (size_t i = 0; i < first->assessment.areas.size() && i < second->assessment.areas.size(); ++i) {
                  const auto& p = first->assessment.areas[i];
                  const auto& q = second->assessment.areas[i];
                  auto against = [&](const metrics::AreaProfile& area) {
                    return T(deps, ctx, "{challenge} against {facility}",
                             {{"challenge", Number(area.challenge)}, {"facility", Number(area.facility)}});
                  };
                  const std::map<std::string, std::string> balances = {
                      {"before", Said(deps, ctx, p.balance)}, {"after", Said(deps, ctx, q.balance)}};
                  rows.push_back({{"name", Said(deps, ctx, p.name)},
                                  {"before", against(p)},
                                  {"after", against(q)},
                                  {"change", p.balance == q.balance ? T(deps, ctx, "No change")
                                                                    : T(deps, ctx, "{before} to {after}", balances)}});
                  if (p.balance != q.balance) {
                    changes.push_back(T(deps, ctx, "{area}: from {before} to {after}.",
                                        {{"area", Said(deps, ctx, p.name)},
                                         {"before", balances.at("before")},
                                         {"after", balances.at("after")}}));
                  }
                }
                if (changes.empty()) {
                  changes.push_back(T(deps, ctx, "The model, the journey and every area's balance are unchanged."));
                }
                d["changes"] = std::move(changes);
                d["area_rows"] = std::move(rows);
                return Render(deps, 200, "diagnostic_compare", d);
              }});
  router.Add({"GET", "/performance/diagnostics/{id}", Auth::kPage, "", [&deps, view_json](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such diagnostic"));
                auto s = deps.diagnostics->Get(ctx.Who(), *id);
                if (!s.ok()) return ErrorFor(deps, ctx, s.status());
                const std::string title =
                    T(deps, ctx, "Integration diagnostic: {initiative}", {{"initiative", s->initiative}});
                json d = Common(deps, ctx, title, "performance");
                d["diagnostic"] = view_json(ctx, *s);
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
