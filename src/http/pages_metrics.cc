// /performance: an agency's service metrics over a period, for its managers, administrators and
// auditors (and the consortium's governance, for any agency): tables of every figure, the
// waiting and service times per queue also drawn as an accessible SVG chart made here, and the
// CSV of the same figures. Suppressed figures say "fewer than 5".

#include <fmt/format.h>

#include <algorithm>

#include "access/access_gate.h"
#include "frontoffice/office_hours.h"
#include "http/api_metrics.h"
#include "http/json_body.h"
#include "http/page_support.h"
#include "metrics/scorecard.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Shown(const metrics::Count& c, int k) {
  if (c.secondary) return "not shown, so that a smaller figure cannot be worked out";
  return c.suppressed ? fmt::format("fewer than {}", k) : std::to_string(c.value);
}

std::string Shown(const metrics::Rate& r, int k) {
  if (r.suppressed) return fmt::format("not shown: fewer than {}", k);
  const auto p = r.Percent();
  return p ? fmt::format("{:.1f}% ({} of {})", *p, r.part, r.whole) : "none yet";
}

std::string Minutes(const std::optional<double>& v, bool suppressed, int k) {
  if (suppressed) return fmt::format("fewer than {}", k);
  return v ? fmt::format("{:.0f} min", *v) : "none yet";
}

// Horizontal bars, two per row (median and 90th percentile), labelled in text; the same numbers
// are in the table beside it. `rows`: label, median, p90 (minutes; none when not shown).
std::string BarChart(const std::string& id, const std::string& title,
                     const std::vector<std::tuple<std::string, std::optional<double>, std::optional<double>>>& rows) {
  double top = 1;
  for (const auto& [label, median, p90] : rows) top = std::max({top, median.value_or(0), p90.value_or(0)});
  const int label_width = 220, bar_width = 360, row_height = 44;
  const int height = 30 + static_cast<int>(rows.size()) * row_height;
  std::string svg = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" class="onedoor-chart" role="img" aria-labelledby="{0}-title {0}-desc" )"
      R"(viewBox="0 0 {1} {2}" width="100%" style="max-width:{1}px">)"
      R"(<title id="{0}-title">{3}</title><desc id="{0}-desc">Median and 90th percentile in minutes for each queue; )"
      R"(the same figures are in the table.</desc>)",
      id, label_width + bar_width + 80, height, Escape(title));
  svg += fmt::format(R"(<g font-family="sans-serif" font-size="14"><rect x="{}" y="4" width="14" height="10" fill="#1d70b8"/>)"
                     R"(<text x="{}" y="14">median</text><rect x="{}" y="4" width="14" height="10" fill="#505a5f"/>)"
                     R"(<text x="{}" y="14">90th percentile</text>)",
                     label_width, label_width + 20, label_width + 100, label_width + 120);
  int y = 30;
  for (const auto& [label, median, p90] : rows) {
    svg += fmt::format(R"(<text x="0" y="{}">{}</text>)", y + 16, Escape(label.size() > 28 ? label.substr(0, 27) + "…" : label));
    int bar_y = y + 4;
    for (const auto& [value, colour] : {std::pair{median, "#1d70b8"}, std::pair{p90, "#505a5f"}}) {
      if (value) {
        const int w = std::max(1, static_cast<int>(*value / top * bar_width));
        svg += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="14" fill="{}"/><text x="{}" y="{}">{:.0f}</text>)",
                           label_width, bar_y, w, colour, label_width + w + 6, bar_y + 12, *value);
      } else {
        svg += fmt::format(R"(<text x="{}" y="{}">not shown</text>)", label_width, bar_y + 12);
      }
      bar_y += 18;
    }
    y += row_height;
  }
  return svg + "</g></svg>";
}

}  // namespace

void AddMetricsPages(Router& router, const PageDeps& deps) {
  if (deps.metrics == nullptr) return;
  router.Add({"GET", "/performance", Auth::kPage, "", [&deps](Context& ctx) {
                const auto& who = ctx.Who();
                json d = Common(deps, ctx, "Performance", "performance");
                core::AgencyId agency = who.agency;
                if (const std::string a = ctx.request.Query("agency_id"); !a.empty()) {
                  auto id = ParseId(a, "agency_id");
                  if (id.ok()) agency = core::AgencyId{*id};
                }
                const std::string zone = deps.office_hours != nullptr ? deps.office_hours->default_zone() : "UTC";
                const std::string from = ctx.request.Query("from");
                const std::string to = ctx.request.Query("to");
                auto period = PeriodFromDates(from, to, deps.metrics->Now(), zone);
                if (!period.ok()) {
                  json errors = json::array();
                  for (const auto& f : period.status().fields()) {
                    const std::string m = page_support::Capitalised(f.message);
                    d["e_" + f.field] = m;
                    errors.push_back({{"message", m}, {"href", "#" + f.field}});
                  }
                  d["has_errors"] = true;
                  d["errors"] = std::move(errors);
                  period = PeriodFromDates("", "", deps.metrics->Now(), zone);
                  if (!period.ok()) return ErrorFor(deps, ctx, period.status());
                }
                auto m = deps.metrics->Compute(who, agency, *period);
                if (!m.ok()) return ErrorFor(deps, ctx, m.status());
                const int k = m->min_cell;
                const auto first = frontoffice::ToLocal(m->period.from, zone);
                const auto last = frontoffice::ToLocal(core::Timestamp{m->period.to.micros - 1}, zone);
                d["f_from"] = first.ok() ? first->date.ToString() : from;
                d["f_to"] = last.ok() ? last->date.ToString() : to;
                d["metrics_agency"] = m->agency_name;
                d["agency_id"] = m->agency.value;
                d["period_text"] = first.ok() && last.ok() ? fmt::format("{} to {}", frontoffice::DateText(first->date),
                                                                         frontoffice::DateText(last->date))
                                                           : "";
                d["min_cell"] = k;
                if (who.HasRole(authz::Role::kGovernance)) {
                  auto agencies = deps.accounts.ListAgencies();
                  if (agencies.ok()) {
                    json list = json::array();
                    for (const auto& a : *agencies) {
                      list.push_back({{"id", a.id.value}, {"name", a.name}, {"selected", a.id == agency}});
                    }
                    d["choose_agency"] = true;
                    d["agencies"] = std::move(list);
                  }
                }
                json contacts = json::array({
                    {{"key", "Contacts"}, {"value", Shown(m->contacts, k)}},
                    {{"key", "Resolved at the first contact"}, {"value", Shown(m->first_contact_resolution, k)}},
                    {{"key", "Satisfaction ratings"}, {"value", Shown(m->satisfaction_responses, k)}},
                    {{"key", "Satisfied (4 or 5 out of 5)"}, {"value", Shown(m->satisfied, k)}},
                });
                for (const auto& c : m->by_channel) {
                  contacts.push_back({{"key", "Contacts by " + (c.channel == "desk" ? std::string("desk") : c.channel)},
                                      {"value", Shown(c.contacts, k)}});
                }
                d["contact_rows"] = std::move(contacts);
                json queues = json::array();
                std::vector<std::tuple<std::string, std::optional<double>, std::optional<double>>> wait_bars;
                for (const auto& q : m->queues) {
                  const std::string label = q.office_name + ", " + q.queue_name;
                  queues.push_back({{"label", label},
                                    {"tickets", Shown(q.tickets, k)},
                                    {"served", Shown(q.served, k)},
                                    {"no_shows", Shown(q.no_shows, k)},
                                    {"wait_median", Minutes(q.wait.median, q.wait.suppressed, k)},
                                    {"wait_p90", Minutes(q.wait.p90, q.wait.suppressed, k)},
                                    {"service_median", Minutes(q.service.median, q.service.suppressed, k)},
                                    {"service_p90", Minutes(q.service.p90, q.service.suppressed, k)}});
                  wait_bars.emplace_back(label, q.wait.median, q.wait.p90);
                }
                d["has_queues"] = !queues.empty();
                d["queue_rows"] = std::move(queues);
                if (!wait_bars.empty()) d["wait_chart"] = BarChart("wait-chart", "Waiting times by queue, in minutes", wait_bars);
                d["referral_rows"] = json::array({
                    {{"key", "Referrals received"}, {"value", Shown(m->referrals_received, k)}},
                    {{"key", "Accepted, of those answered"}, {"value", Shown(m->referrals_accepted, k)}},
                    {{"key", "Completed, of those accepted"}, {"value", Shown(m->referrals_completed, k)}},
                    {{"key", "Answered in time"}, {"value", Shown(m->referrals_answered_in_time, k)}},
                    {{"key", "Time to answer, median"},
                     {"value", Minutes(m->referral_response.median, m->referral_response.suppressed, k)}},
                    {{"key", "Time to answer, 90th percentile"},
                     {"value", Minutes(m->referral_response.p90, m->referral_response.suppressed, k)}},
                });
                d["decision_rows"] = json::array({
                    {{"key", "Parts of applications decided"}, {"value", Shown(m->decisions, k)}},
                    {{"key", "Decided within the statutory clock"}, {"value", Shown(m->decided_in_time, k)}},
                });
                d["follow_rows"] = json::array({
                    {{"key", "Repeat contacts for the same need (within 30 days)"}, {"value", Shown(m->repeat_contacts, k)}},
                    {{"key", "Case reviews done on time"}, {"value", Shown(m->reviews_on_time, k)}},
                });
                d["tell_rows"] = json::array({
                    {{"key", "Changes received from other agencies (contacts avoided)"},
                     {"value", Shown(m->changes_received, k)}},
                    {{"key", "Applied"}, {"value", Shown(m->changes_applied, k)}},
                    {{"key", "Time to apply, median"},
                     {"value", Minutes(m->change_applied.median, m->change_applied.suppressed, k)}},
                    {{"key", "Time to apply, 90th percentile"},
                     {"value", Minutes(m->change_applied.p90, m->change_applied.suppressed, k)}},
                });
                json take_up = json::array();
                for (const auto& t : m->take_up) {
                  take_up.push_back({{"key", t.program_name}, {"value", Shown(t.enrolled, k)}});
                }
                if (!m->take_up.empty()) {
                  take_up.push_back({{"key", "All the agency's programs"}, {"value", Shown(m->take_up_all, k)}});
                  d["take_up_as_of"] = m->take_up.front().as_of;
                }
                d["has_take_up"] = !take_up.empty();
                d["take_up_rows"] = std::move(take_up);
                d["csv_href"] = fmt::format("/api/v1/metrics/service?agency_id={}&from={}&to={}&format=csv", m->agency.value,
                                            d["f_from"].get<std::string>(), d["f_to"].get<std::string>());
                d["xlsx_href"] = fmt::format("/api/v1/metrics/service?agency_id={}&from={}&to={}&format=xlsx",
                                             m->agency.value, d["f_from"].get<std::string>(), d["f_to"].get<std::string>());
                return Render(deps, d.value("has_errors", false) ? 400 : 200, "performance", d);
              }});

  if (deps.scorecards == nullptr) return;

  // The monthly scorecard: each target met, missed or unknown, with six months of trend; and, for
  // governance and the agency's managers, the targets to add or remove.
  auto card_page = [&deps](Context& ctx, core::AgencyId agency, const std::string& month, const json& errors,
                           const json& values, int status) {
    const auto& who = ctx.Who();
    auto card = deps.scorecards->Monthly(who, agency, month.empty() ? deps.scorecards->ThisMonth() : month);
    json d = Common(deps, ctx, "Scorecard", "performance");
    if (!card.ok() && card.status().code() == core::StatusCode::kInvalidArgument) {
      d["e_month"] = "Write the month like 2026-11";
      d["has_errors"] = true;
      d["errors"] = json::array({{{"message", "Write the month like 2026-11"}, {"href", "#month"}}});
      card = deps.scorecards->Monthly(who, agency, deps.scorecards->ThisMonth());
      status = 400;
    }
    if (!card.ok()) return ErrorFor(deps, ctx, card.status());
    d["metrics_agency"] = card->agency_name;
    d["agency_id"] = card->agency.value;
    d["f_month"] = card->month;
    d["summary"] = fmt::format("{} met, {} missed, {} not known", card->met, card->missed, card->unknown);
    json rows = json::array();
    json months = json::array();
    for (const auto& r : card->results) {
      json trend = json::array();
      months = json::array();
      for (const auto& m : r.trend) {
        months.push_back(m.month);
        trend.push_back(m.suppressed ? std::string("hidden") : m.value ? fmt::format("{:.1f}", *m.value) : std::string("–"));
      }
      const bool met = r.status == "met";
      rows.push_back({{"id", r.target.id},
                      {"label", r.target.label},
                      {"actual", r.actual ? fmt::format("{:.1f}", *r.actual) : std::string("not known")},
                      {"status", met ? "Met" : r.status == "missed" ? "Missed" : "Not known"},
                      {"tag", met ? "govuk-tag--green" : r.status == "missed" ? "govuk-tag--red" : "govuk-tag--grey"},
                      {"trend", std::move(trend)},
                      {"remove_action", fmt::format("/performance/targets/{}/remove", r.target.id)}});
    }
    d["has_targets"] = !rows.empty();
    d["target_rows"] = std::move(rows);
    d["trend_months"] = std::move(months);
    const bool may_set = who.kind == authz::PrincipalKind::kStaff &&
                         (who.HasRole(authz::Role::kGovernance) ||
                          (who.agency == agency && who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin})));
    d["may_set"] = may_set;
    d["metric_choices"] = page_support::TargetMetricChoices(values.value("f_metric", ""));
    d["f_value"] = values.value("f_value", "");
    d["f_minutes"] = values.value("f_minutes", "");
    d["at_most"] = values.value("f_comparison", "") == "at_most";
    for (const auto& e : errors) {
      const std::string m = page_support::Capitalised(e["message"].get<std::string>());
      d["e_" + e["field"].get<std::string>()] = m;
      if (!d.contains("errors") || !d["errors"].is_array()) d["errors"] = json::array();
      d["errors"].push_back({{"message", m}, {"href", "#target-" + e["field"].get<std::string>()}});
      d["has_errors"] = true;
    }
    return Render(deps, status, "scorecard", d);
  };
  auto agency_of = [](const Context& ctx, const std::string& text) {
    core::AgencyId agency = ctx.Who().agency;
    if (!text.empty()) {
      auto id = ParseId(text, "agency_id");
      if (id.ok()) agency = core::AgencyId{*id};
    }
    return agency;
  };
  router.Add({"GET", "/performance/scorecard", Auth::kPage, "", [card_page, agency_of](Context& ctx) {
                return card_page(ctx, agency_of(ctx, ctx.request.Query("agency_id")), ctx.request.Query("month"),
                                 json::array(), json::object(), 200);
              }});
  router.Add({"POST", "/performance/targets", Auth::kPage, "", [&deps, card_page, agency_of](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                const core::AgencyId agency = agency_of(ctx, FormValue(form, "agency_id"));
                metrics::NewTarget in;
                in.metric = FormValue(form, "metric");
                in.comparison = FormValue(form, "comparison");
                json values = {{"f_metric", in.metric}, {"f_comparison", in.comparison},
                               {"f_value", FormValue(form, "value")}, {"f_minutes", FormValue(form, "minutes")}};
                json errors = json::array();
                for (const auto& e : page_support::ReadTargetNumbers(form, "value", &in.value, &in.minutes)) {
                  errors.push_back({{"field", e.field}, {"message", e.message}});
                }
                if (errors.empty()) {
                  auto t = deps.scorecards->AddTarget(ctx.Who(), agency, in);
                  if (t.ok()) {
                    return Response::Redirect(fmt::format("/performance/scorecard?agency_id={}", agency.value));
                  }
                  if (t.status().code() != core::StatusCode::kInvalidArgument) return ErrorFor(deps, ctx, t.status());
                  for (const auto& f : t.status().fields()) errors.push_back({{"field", f.field}, {"message", f.message}});
                }
                return card_page(ctx, agency, "", errors, values, 400);
              }});
  router.Add({"POST", "/performance/targets/{id}/remove", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such target"));
                const auto form = ParseForm(ctx.request.body);
                if (auto s = deps.scorecards->RemoveTarget(ctx.Who(), *id); !s.ok()) return ErrorFor(deps, ctx, s);
                return Response::Redirect("/performance/scorecard?agency_id=" + FormValue(form, "agency_id"));
              }});
}

namespace page_support {

json TargetMetricChoices(const std::string& selected) {
  json choices = json::array();
  for (const auto& m : metrics::TargetMetrics()) {
    std::string label = m.label;
    if (const size_t at = label.find("{minutes}"); at != std::string::npos) label.replace(at, 9, "N");
    choices.push_back({{"value", m.key},
                       {"text", label + (m.percent ? " (%)" : " (minutes)")},
                       {"selected", selected == m.key}});
  }
  return choices;
}

std::vector<core::FieldError> ReadTargetNumbers(const std::multimap<std::string, std::string>& form,
                                                const std::string& value_field, double* value, int* minutes) {
  std::vector<core::FieldError> errors;
  try {
    size_t used = 0;
    const std::string v = Trim(FormValue(form, value_field));
    *value = std::stod(v, &used);
    if (used != v.size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    errors.push_back({value_field, "write the target as a number, like 90"});
  }
  if (const std::string mins = Trim(FormValue(form, "minutes")); !mins.empty()) {
    auto n = ParseId(mins, "minutes");
    if (n.ok() && *n <= 100000) *minutes = static_cast<int>(*n);
    else errors.push_back({"minutes", "write the minutes as a whole number, like 20"});
  }
  return errors;
}

}  // namespace page_support
}  // namespace http
