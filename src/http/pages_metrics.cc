// /performance: an agency's service metrics over a period, for its managers, administrators and
// auditors (and the consortium's governance, for any agency): tables of every figure, the
// waiting and service times per queue also drawn as an accessible SVG chart made here, and the
// CSV of the same figures. Suppressed figures say "fewer than 5".

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "access/access_gate.h"
#include "frontoffice/office_hours.h"
#include "http/api_metrics.h"
#include "http/json_body.h"
#include "http/page_support.h"
#include "i18n/messages.h"
#include "metrics/scorecard.h"

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

// The row of a contact channel's figure, as people say it.
std::string ChannelRow(const std::string& channel) {
  if (channel == "desk") return "Contacts at a desk";
  if (channel == "phone") return "Contacts by phone";
  if (channel == "web") return "Contacts online";
  if (channel == "email") return "Contacts by email";
  if (channel == "outreach") return "Contacts through outreach";
  return "Contacts by " + channel;
}

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;
using page_support::Said;
using page_support::T;

// A message as it is, in the request's language when the catalogue has it (a service's message,
// a label of the metrics). Never formatted as a pattern.

// "Monday 1 December 2026", "lunes, 1 de diciembre de 2026".
std::string DayText(const PageDeps& deps, const Context& ctx, core::Date date) {
  return T(deps, ctx, "{weekday} {date}",
           {{"weekday", Said(deps, ctx, std::string(frontoffice::WeekdayName(frontoffice::Weekday(date))))},
            {"date", page_support::DateText(ctx, date)}});
}

// As the scorecard writes a target: "90", "12.5".
std::string TargetNumber(double v) {
  return std::fabs(v - std::round(v)) < 1e-9 ? fmt::format("{:.0f}", v) : fmt::format("{:.1f}", v);
}

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

std::string Shown(const PageDeps& deps, const Context& ctx, const metrics::Count& c, int k) {
  if (c.secondary) return T(deps, ctx, "not shown, so that a smaller figure cannot be worked out");
  return c.suppressed ? T(deps, ctx, "fewer than {k}", {{"k", std::to_string(k)}}) : std::to_string(c.value);
}

std::string Shown(const PageDeps& deps, const Context& ctx, const metrics::Rate& r, int k) {
  if (r.suppressed) return T(deps, ctx, "not shown: fewer than {k}", {{"k", std::to_string(k)}});
  const auto p = r.Percent();
  if (!p) return T(deps, ctx, "none yet");
  return T(deps, ctx, "{percent}% ({part, number, ::group-off} of {whole, number, ::group-off})",
           {{"percent", fmt::format("{:.1f}", *p)},
            {"part", std::to_string(r.part)},
            {"whole", std::to_string(r.whole)}});
}

std::string Minutes(const PageDeps& deps, const Context& ctx, const std::optional<double>& v, bool suppressed, int k) {
  if (suppressed) return T(deps, ctx, "fewer than {k}", {{"k", std::to_string(k)}});
  // Half a minute up, as people round (the formatter would round 6.5 to the even 6).
  return v ? fmt::format("{} min", static_cast<int64_t>(std::floor(*v + 0.5)))
           : T(deps, ctx, "none yet");
}

// The words of the chart, in the request's language.
struct ChartWords {
  std::string desc;    // what the chart shows
  std::string median;  // the legend
  std::string p90;
  std::string not_shown;
};

// Horizontal bars, two per row (median and 90th percentile), labelled in text; the same numbers
// are in the table beside it. `rows`: label, median, p90 (minutes; none when not shown).
// At most `n` characters of `text` (not bytes: a name in another script is not cut inside a
// character), with an ellipsis when cut.
std::string Clip(const std::string& text, size_t n) {
  std::vector<size_t> starts;  // where each character starts
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  if (starts.size() <= n) return text;
  return text.substr(0, starts[n - 1]) + "…";
}

std::string BarChart(const std::string& id, const std::string& title, const ChartWords& words,
                     const std::vector<std::tuple<std::string, std::optional<double>, std::optional<double>>>& rows) {
  double top = 1;
  for (const auto& [label, median, p90] : rows) top = std::max({top, median.value_or(0), p90.value_or(0)});
  const int label_width = 220, bar_width = 360, row_height = 44;
  const int height = 30 + static_cast<int>(rows.size()) * row_height;
  std::string svg = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" class="onedoor-chart" role="img" aria-labelledby="{0}-title {0}-desc" )"
      R"(viewBox="0 0 {1} {2}" width="100%" style="max-width:{1}px">)"
      R"(<title id="{0}-title">{3}</title><desc id="{0}-desc">{4}</desc>)",
      id, label_width + bar_width + 80, height, Escape(title), Escape(words.desc));
  svg += fmt::format(R"(<g font-family="sans-serif" font-size="14"><rect x="{}" y="4" width="14" height="10" fill="#1d70b8"/>)"
                     R"(<text x="{}" y="14">{}</text><rect x="{}" y="4" width="14" height="10" fill="#505a5f"/>)"
                     R"(<text x="{}" y="14">{}</text>)",
                     label_width, label_width + 20, Escape(words.median), label_width + 100, label_width + 120,
                     Escape(words.p90));
  int y = 30;
  for (const auto& [label, median, p90] : rows) {
    // "Office, queue" on two lines, the queue below, so that the queues of one office differ.
    const size_t comma = label.find(", ");
    if (comma == std::string::npos) {
      svg += fmt::format(R"(<text x="0" y="{}">{}</text>)", y + 16, Escape(Clip(label, 28)));
    } else {
      svg += fmt::format(
          R"(<text x="0" y="{}" font-size="12" fill="#505a5f">{}</text><text x="0" y="{}">{}</text>)",
          y + 12, Escape(Clip(label.substr(0, comma), 32)), y + 30,
          Escape(Clip(label.substr(comma + 2), 28)));
    }
    int bar_y = y + 4;
    for (const auto& [value, colour] : {std::pair{median, "#1d70b8"}, std::pair{p90, "#505a5f"}}) {
      if (value) {
        const int w = std::max(1, static_cast<int>(*value / top * bar_width));
        svg += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="14" fill="{}"/><text x="{}" y="{}">{:.0f}</text>)",
                           label_width, bar_y, w, colour, label_width + w + 6, bar_y + 12, *value);
      } else {
        svg += fmt::format(R"(<text x="{}" y="{}">{}</text>)", label_width, bar_y + 12, Escape(words.not_shown));
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
                const bool bad_dates = !period.ok();
                if (!period.ok()) {
                  json errors = json::array();
                  for (const auto& f : period.status().fields()) {
                    // The page's words for the fields, not the API's names.
                    const std::string said = f.message == "must not be before from"
                                                 ? "The end date must not be before the start date"
                                                 : page_support::Capitalised(f.message);
                    const std::string m = Said(deps, ctx, said);
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
                // Dates written wrong stay in the fields, to be corrected; the figures below are
                // those of the period the page says.
                const std::string shown_from = first.ok() ? first->date.ToString() : from;
                const std::string shown_to = last.ok() ? last->date.ToString() : to;
                d["f_from"] = bad_dates ? from : shown_from;
                d["f_to"] = bad_dates ? to : shown_to;
                d["metrics_agency"] = m->agency_name;
                d["agency_id"] = m->agency.value;
                d["period_text"] = first.ok() && last.ok()
                                       ? page_support::Capitalised(T(deps, ctx, "{from} to {to}",
                                                                     {{"from", DayText(deps, ctx, first->date)},
                                                                      {"to", DayText(deps, ctx, last->date)}}))
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
                // A row: its label in the request's language, and the figure.
                auto row = [&](const char* key, const std::string& value) {
                  return json{{"key", T(deps, ctx, key)}, {"value", value}};
                };
                json contacts = json::array({
                    row("Contacts", Shown(deps, ctx, m->contacts, k)),
                    row("Resolved at the first contact", Shown(deps, ctx, m->first_contact_resolution, k)),
                    row("Satisfaction ratings", Shown(deps, ctx, m->satisfaction_responses, k)),
                    row("Satisfied (4 or 5 out of 5)", Shown(deps, ctx, m->satisfied, k)),
                });
                for (const auto& c : m->by_channel) {
                  contacts.push_back({{"key", Said(deps, ctx, ChannelRow(c.channel))},
                                      {"value", Shown(deps, ctx, c.contacts, k)}});
                }
                d["contact_rows"] = std::move(contacts);
                json queues = json::array();
                std::vector<std::tuple<std::string, std::optional<double>, std::optional<double>>> wait_bars;
                for (const auto& q : m->queues) {
                  const std::string label = q.office_name + ", " + q.queue_name;
                  queues.push_back({{"label", label},
                                    {"tickets", Shown(deps, ctx, q.tickets, k)},
                                    {"served", Shown(deps, ctx, q.served, k)},
                                    {"no_shows", Shown(deps, ctx, q.no_shows, k)},
                                    {"wait_median", Minutes(deps, ctx, q.wait.median, q.wait.suppressed, k)},
                                    {"wait_p90", Minutes(deps, ctx, q.wait.p90, q.wait.suppressed, k)},
                                    {"service_median", Minutes(deps, ctx, q.service.median, q.service.suppressed, k)},
                                    {"service_p90", Minutes(deps, ctx, q.service.p90, q.service.suppressed, k)}});
                  wait_bars.emplace_back(label, q.wait.median, q.wait.p90);
                }
                d["has_queues"] = !queues.empty();
                d["queue_rows"] = std::move(queues);
                if (!wait_bars.empty()) {
                  const ChartWords words{T(deps, ctx,
                                           "Median and 90th percentile in minutes for each queue; the same figures are "
                                           "in the table."),
                                         T(deps, ctx, "median"), T(deps, ctx, "90th percentile"),
                                         T(deps, ctx, "not shown")};
                  const std::string title = T(deps, ctx, "Waiting times by queue, in minutes");
                  d["wait_chart"] = BarChart("wait-chart", title, words, wait_bars);
                }
                const auto& response = m->referral_response;
                d["referral_rows"] = json::array({
                    row("Referrals received", Shown(deps, ctx, m->referrals_received, k)),
                    row("Accepted, of those answered", Shown(deps, ctx, m->referrals_accepted, k)),
                    row("Completed, of those accepted", Shown(deps, ctx, m->referrals_completed, k)),
                    row("Answered in time", Shown(deps, ctx, m->referrals_answered_in_time, k)),
                    row("Time to answer, median", Minutes(deps, ctx, response.median, response.suppressed, k)),
                    row("Time to answer, 90th percentile", Minutes(deps, ctx, response.p90, response.suppressed, k)),
                });
                d["decision_rows"] = json::array({
                    row("Parts of applications decided", Shown(deps, ctx, m->decisions, k)),
                    row("Decided within the statutory clock", Shown(deps, ctx, m->decided_in_time, k)),
                });
                d["follow_rows"] = json::array({
                    row("Repeat contacts for the same need (within 30 days)", Shown(deps, ctx, m->repeat_contacts, k)),
                    row("Case reviews done on time", Shown(deps, ctx, m->reviews_on_time, k)),
                });
                const auto& applied = m->change_applied;
                d["tell_rows"] = json::array({
                    row("Changes received from other agencies (contacts avoided)",
                        Shown(deps, ctx, m->changes_received, k)),
                    row("Applied", Shown(deps, ctx, m->changes_applied, k)),
                    row("Time to apply, median", Minutes(deps, ctx, applied.median, applied.suppressed, k)),
                    row("Time to apply, 90th percentile", Minutes(deps, ctx, applied.p90, applied.suppressed, k)),
                });
                json take_up = json::array();
                for (const auto& t : m->take_up) {
                  take_up.push_back({{"key", T(deps, ctx, t.program_name)}, {"value", Shown(deps, ctx, t.enrolled, k)}});
                }
                if (!m->take_up.empty()) {
                  take_up.push_back(row("All the agency's programs", Shown(deps, ctx, m->take_up_all, k)));
                  d["take_up_as_of"] = m->take_up.front().as_of;
                }
                d["has_take_up"] = !take_up.empty();
                d["take_up_rows"] = std::move(take_up);
                // The downloads are of the period shown.
                d["csv_href"] = fmt::format("/api/v1/metrics/service?agency_id={}&from={}&to={}&format=csv", m->agency.value,
                                            shown_from, shown_to);
                d["xlsx_href"] = fmt::format("/api/v1/metrics/service?agency_id={}&from={}&to={}&format=xlsx",
                                             m->agency.value, shown_from, shown_to);
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
      d["e_month"] = T(deps, ctx, "Write the month like 2026-11");
      d["has_errors"] = true;
      d["errors"] = json::array({{{"message", d["e_month"]}, {"href", "#month"}}});
      card = deps.scorecards->Monthly(who, agency, deps.scorecards->ThisMonth());
      status = 400;
    }
    if (!card.ok()) return ErrorFor(deps, ctx, card.status());
    d["metrics_agency"] = card->agency_name;
    d["agency_id"] = card->agency.value;
    // A month written wrong stays in the field, to be corrected.
    d["f_month"] = d.contains("e_month") ? month : card->month;
    d["summary"] = T(deps, ctx, "{met} met, {missed} missed, {unknown} not known",
                     {{"met", std::to_string(card->met)},
                      {"missed", std::to_string(card->missed)},
                      {"unknown", std::to_string(card->unknown)}});
    json rows = json::array();
    json months = json::array();
    for (const auto& r : card->results) {
      json trend = json::array();
      months = json::array();
      for (const auto& m : r.trend) {
        months.push_back(m.month);
        trend.push_back(m.suppressed ? T(deps, ctx, "hidden")
                        : m.value    ? fmt::format("{:.1f}", *m.value)
                                     : std::string("–"));
      }
      const bool met = r.status == "met";
      const auto& t = r.target;
      rows.push_back({{"id", t.id},
                      {"label",
                       page_support::TargetText(deps, ctx, t.metric, t.minutes, t.comparison, t.value, t.label)},
                      {"actual", r.actual ? fmt::format("{:.1f}", *r.actual) : T(deps, ctx, "not known")},
                      {"status", T(deps, ctx, met ? "Met" : r.status == "missed" ? "Missed" : "Not known")},
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
    d["metric_choices"] = page_support::TargetMetricChoices(deps, ctx, values.value("f_metric", ""));
    d["f_value"] = values.value("f_value", "");
    d["f_minutes"] = values.value("f_minutes", "");
    d["at_most"] = values.value("f_comparison", "") == "at_most";
    for (const auto& e : errors) {
      const std::string m = Said(deps, ctx, page_support::Capitalised(e["message"].get<std::string>()));
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
                // Who may set the agency's targets is settled before the figures are read.
                const auto& who = ctx.Who();
                if (!who.HasRole(authz::Role::kGovernance) &&
                    !(who.agency == agency && who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin}))) {
                  return ErrorFor(deps, ctx, core::Status::PermissionDenied(
                                                 "targets are set by the consortium's governance and the agency's managers"));
                }
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
                  if (t.status().code() == core::StatusCode::kAlreadyExists) {
                    errors.push_back({{"field", "metric"},
                                      {"message",
                                       "The agency has this target already: to set another value, "
                                       "remove it first"}});
                  } else if (t.status().code() != core::StatusCode::kInvalidArgument) {
                    return ErrorFor(deps, ctx, t.status());
                  }
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

json TargetMetricChoices(const PageDeps& deps, const Context& ctx, const std::string& selected) {
  json choices = json::array();
  for (const auto& m : metrics::TargetMetrics()) {
    std::string label = m.label;
    if (const size_t at = label.find("{minutes}"); at != std::string::npos) label.replace(at, 9, "N");
    label = Said(deps, ctx, label);
    choices.push_back({{"value", m.key},
                       {"text", m.percent ? label + " (%)" : T(deps, ctx, "{measure} (minutes)", {{"measure", label}})},
                       {"selected", selected == m.key}});
  }
  return choices;
}

std::string TargetText(const PageDeps& deps, const Context& ctx, const std::string& metric, int minutes,
                       const std::string& comparison, double value, const std::string& label) {
  const metrics::TargetMetric* m = metrics::FindTargetMetric(metric);
  if (m == nullptr || (comparison != "at_least" && comparison != "at_most")) return label;
  std::string measure = m->label;
  if (const size_t at = measure.find("{minutes}"); at != std::string::npos) {
    measure.replace(at, 9, "{minutes, number, ::group-off}");
    measure = T(deps, ctx, measure, {{"minutes", std::to_string(minutes)}});
  } else {
    measure = Said(deps, ctx, measure);
  }
  const std::string number = TargetNumber(value);
  const bool whole = number.find('.') == std::string::npos;
  const std::string amount =
      m->percent
          ? number + "%"
          : T(deps, ctx, whole ? "{value, number, ::group-off} minutes" : "{value} minutes", {{"value", number}});
  return T(deps, ctx, comparison == "at_least" ? "{measure}: at least {amount}" : "{measure}: at most {amount}",
           {{"measure", measure}, {"amount", amount}});
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
