#include "http/api_metrics.h"

#include <fmt/format.h>

#include <unistd.h>
#include <xlsxwriter.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "frontoffice/office_hours.h"
#include "http/json_body.h"
#include "http/problem.h"

namespace http {

using nlohmann::json;

namespace {

json CountJson(const metrics::Count& c) {
  json out = {{"value", c.suppressed ? json(nullptr) : json(c.value)}, {"suppressed", c.suppressed}};
  if (c.secondary) out["protects_another"] = true;  // hidden so that a smaller one cannot be worked out
  return out;
}

json RateJson(const metrics::Rate& r) {
  const auto percent = r.Percent();
  return {{"part", r.suppressed ? json(nullptr) : json(r.part)},
          {"whole", r.suppressed ? json(nullptr) : json(r.whole)},
          {"percent", r.suppressed || !percent ? json(nullptr) : json(*percent)},
          {"suppressed", r.suppressed}};
}

json DurationsJson(const metrics::Durations& d) {
  return {{"count", d.suppressed ? json(nullptr) : json(d.count)},
          {"median_minutes", d.median ? json(*d.median) : json(nullptr)},
          {"p90_minutes", d.p90 ? json(*d.p90) : json(nullptr)},
          {"suppressed", d.suppressed}};
}

std::string Cell(const metrics::Count& c, int k) {
  if (c.secondary) return "hidden";
  return c.suppressed ? fmt::format("<{}", k) : std::to_string(c.value);
}

std::string Cell(const metrics::Rate& r, int k) {
  if (r.suppressed) return fmt::format("<{}", k);
  const auto p = r.Percent();
  return p ? fmt::format("{:.1f}", *p) : "";
}

std::string Cell(const std::optional<double>& v, bool suppressed, int k) {
  if (suppressed) return fmt::format("<{}", k);
  return v ? fmt::format("{:.1f}", *v) : "";
}

// RFC 4180: quoted when it holds a comma, a quote or a line break.
std::string Csv(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

namespace {

json TakeUpJson(const metrics::ServiceMetrics& m) {
  json programs = json::array();
  for (const auto& t : m.take_up) {
    programs.push_back({{"program", t.program},
                        {"name", t.program_name},
                        {"eligible", CountJson(t.eligible)},
                        {"enrolled", RateJson(t.enrolled)},
                        {"as_of", t.as_of}});
  }
  return {{"all", RateJson(m.take_up_all)}, {"programs", std::move(programs)}};
}

}  // namespace

json ServiceMetricsJson(const metrics::ServiceMetrics& m) {
  json channels = json::array();
  for (const auto& c : m.by_channel) channels.push_back({{"channel", c.channel}, {"contacts", CountJson(c.contacts)}});
  json queues = json::array();
  for (const auto& q : m.queues) {
    queues.push_back({{"office", {{"id", q.office}, {"name", q.office_name}}},
                      {"queue", {{"id", q.queue}, {"name", q.queue_name}}},
                      {"tickets", CountJson(q.tickets)},
                      {"served", CountJson(q.served)},
                      {"no_shows", CountJson(q.no_shows)},
                      {"wait", DurationsJson(q.wait)},
                      {"service", DurationsJson(q.service)}});
  }
  return {{"agency", {{"id", m.agency.value}, {"name", m.agency_name}}},
          {"period", {{"from", m.period.from.ToRfc3339()}, {"to", m.period.to.ToRfc3339()}}},
          {"min_cell", m.min_cell},
          {"contacts",
           {{"count", CountJson(m.contacts)},
            {"by_channel", std::move(channels)},
            {"first_contact_resolution", RateJson(m.first_contact_resolution)},
            {"satisfaction_responses", CountJson(m.satisfaction_responses)},
            {"satisfied", RateJson(m.satisfied)}}},
          {"queues", std::move(queues)},
          {"referrals",
           {{"received", CountJson(m.referrals_received)},
            {"accepted", RateJson(m.referrals_accepted)},
            {"completed", RateJson(m.referrals_completed)},
            {"answered_in_time", RateJson(m.referrals_answered_in_time)},
            {"response", DurationsJson(m.referral_response)}}},
          {"decisions", {{"count", CountJson(m.decisions)}, {"in_time", RateJson(m.decided_in_time)}}},
          {"repeat_contacts", RateJson(m.repeat_contacts)},
          {"case_reviews_on_time", RateJson(m.reviews_on_time)},
          {"tell_us_once",
           {{"changes_received", CountJson(m.changes_received)},
            {"contacts_avoided", CountJson(m.changes_received)},
            {"applied", RateJson(m.changes_applied)},
            {"time_to_apply", DurationsJson(m.change_applied)}}},
          {"take_up", TakeUpJson(m)}};
}

std::vector<MetricRow> ServiceMetricRows(const metrics::ServiceMetrics& m) {
  const int k = m.min_cell;
  std::vector<MetricRow> out;
  auto count = [&](const std::string& metric, const std::string& office, const std::string& queue,
                   const metrics::Count& c) {
    out.push_back({metric, office, queue, Cell(c, k), c.suppressed ? std::nullopt : std::optional<double>(c.value)});
  };
  auto rate = [&](const std::string& metric, const metrics::Rate& r) {
    out.push_back({metric, "", "", Cell(r, k), r.suppressed ? std::nullopt : r.Percent()});
  };
  auto minutes = [&](const std::string& metric, const std::string& office, const std::string& queue,
                     const std::optional<double>& v, bool suppressed) {
    out.push_back({metric, office, queue, Cell(v, suppressed, k), suppressed ? std::nullopt : v});
  };
  count("contacts", "", "", m.contacts);
  for (const auto& c : m.by_channel) count("contacts_" + c.channel, "", "", c.contacts);
  rate("first_contact_resolution_percent", m.first_contact_resolution);
  count("satisfaction_responses", "", "", m.satisfaction_responses);
  rate("satisfied_percent", m.satisfied);
  for (const auto& q : m.queues) {
    count("tickets", q.office_name, q.queue_name, q.tickets);
    count("served", q.office_name, q.queue_name, q.served);
    count("no_shows", q.office_name, q.queue_name, q.no_shows);
    minutes("wait_median_minutes", q.office_name, q.queue_name, q.wait.median, q.wait.suppressed);
    minutes("wait_p90_minutes", q.office_name, q.queue_name, q.wait.p90, q.wait.suppressed);
    minutes("service_median_minutes", q.office_name, q.queue_name, q.service.median, q.service.suppressed);
    minutes("service_p90_minutes", q.office_name, q.queue_name, q.service.p90, q.service.suppressed);
  }
  count("referrals_received", "", "", m.referrals_received);
  rate("referrals_accepted_percent", m.referrals_accepted);
  rate("referrals_completed_percent", m.referrals_completed);
  rate("referrals_answered_in_time_percent", m.referrals_answered_in_time);
  minutes("referral_response_median_minutes", "", "", m.referral_response.median, m.referral_response.suppressed);
  minutes("referral_response_p90_minutes", "", "", m.referral_response.p90, m.referral_response.suppressed);
  count("decisions", "", "", m.decisions);
  rate("decided_in_time_percent", m.decided_in_time);
  rate("repeat_contacts_percent", m.repeat_contacts);
  rate("reviews_on_time_percent", m.reviews_on_time);
  count("changes_received", "", "", m.changes_received);
  count("contacts_avoided", "", "", m.changes_received);
  rate("changes_applied_percent", m.changes_applied);
  minutes("change_applied_median_minutes", "", "", m.change_applied.median, m.change_applied.suppressed);
  minutes("change_applied_p90_minutes", "", "", m.change_applied.p90, m.change_applied.suppressed);
  for (const auto& t : m.take_up) rate("take_up_percent_" + t.program, t.enrolled);
  rate("take_up_percent", m.take_up_all);
  return out;
}

std::string ServiceMetricsCsv(const metrics::ServiceMetrics& m) {
  std::string out = "metric,office,queue,value\r\n";
  for (const auto& r : ServiceMetricRows(m)) {
    out += Csv(r.metric) + "," + Csv(r.office) + "," + Csv(r.queue) + "," + Csv(r.text) + "\r\n";
  }
  return out;
}

core::StatusOr<std::string> ServiceMetricsXlsx(const metrics::ServiceMetrics& m,
                                               const std::string& time_zone) {
  // libxlsxwriter writes a file: a private temporary one, read back and removed.
  char path[] = "/tmp/onedoor-metrics-XXXXXX.xlsx";
  const int fd = mkstemps(path, 5);
  if (fd < 0) return core::Status::Internal("no temporary file for the spreadsheet");
  close(fd);
  struct Remove {
    const char* p;
    ~Remove() { std::remove(p); }
  } remove{path};
  lxw_workbook* book = workbook_new(path);
  if (book == nullptr) return core::Status::Internal("the spreadsheet could not be started");
  lxw_worksheet* sheet = workbook_add_worksheet(book, "Service metrics");
  lxw_format* bold = workbook_add_format(book);
  format_set_bold(bold);
  // The period as the days it covers, in the deployment's time zone, as the page gives them.
  auto first = frontoffice::ToLocal(m.period.from, time_zone);
  auto last = frontoffice::ToLocal(core::Timestamp{m.period.to.micros - 1}, time_zone);
  std::string title = first.ok() && last.ok()
                          ? fmt::format("{}, {} to {} ({})", m.agency_name, first->date.ToString(),
                                        last->date.ToString(), time_zone)
                          : fmt::format("{}, {} to {} (UTC)", m.agency_name,
                                        m.period.from.ToRfc3339(), m.period.to.ToRfc3339());
  if (m.min_cell > 1) title += fmt::format("; figures from 1 to {} are not shown", m.min_cell - 1);
  worksheet_write_string(sheet, 0, 0, title.c_str(), bold);
  const char* headers[] = {"Metric", "Office", "Queue", "Value"};
  for (lxw_col_t c = 0; c < 4; ++c) worksheet_write_string(sheet, 2, c, headers[c], bold);
  worksheet_set_column(sheet, 0, 0, 38, nullptr);
  worksheet_set_column(sheet, 1, 2, 28, nullptr);
  lxw_row_t row = 3;
  for (const auto& r : ServiceMetricRows(m)) {
    worksheet_write_string(sheet, row, 0, r.metric.c_str(), nullptr);
    worksheet_write_string(sheet, row, 1, r.office.c_str(), nullptr);
    worksheet_write_string(sheet, row, 2, r.queue.c_str(), nullptr);
    if (r.number) worksheet_write_number(sheet, row, 3, *r.number, nullptr);
    else worksheet_write_string(sheet, row, 3, r.text.c_str(), nullptr);
    ++row;
  }
  if (workbook_close(book) != LXW_NO_ERROR) return core::Status::Internal("the spreadsheet could not be written");
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

core::StatusOr<metrics::Period> PeriodFromDates(const std::string& from, const std::string& to, core::Timestamp now,
                                                const std::string& time_zone) {
  ASSIGN_OR_RETURN(frontoffice::LocalTime today, frontoffice::ToLocal(now, time_zone));
  std::vector<core::FieldError> errors;
  core::Date first{today.date.year, today.date.month, 1};
  core::Date last = today.date;
  if (!from.empty()) {
    auto d = core::Date::Parse(from);
    if (d.ok()) first = *d;
    else errors.push_back({"from", "must be a date like 2026-03-01"});
  }
  if (!to.empty()) {
    auto d = core::Date::Parse(to);
    if (d.ok()) last = *d;
    else errors.push_back({"to", "must be a date like 2026-03-31"});
  }
  if (errors.empty() && last < first) errors.push_back({"to", "must not be before from"});
  if (errors.empty() && last.ToDays() - first.ToDays() > 365) errors.push_back({"to", "the period is at most 366 days"});
  if (!errors.empty()) return core::Status::InvalidArgument("the period is not valid", std::move(errors));
  ASSIGN_OR_RETURN(core::Timestamp start, frontoffice::FromLocal(first, 0, time_zone));
  ASSIGN_OR_RETURN(core::Timestamp end, frontoffice::FromLocal(core::Date::FromDays(last.ToDays() + 1), 0, time_zone));
  return metrics::Period{start, end};
}

void AddMetricsRoutes(Router& router, metrics::ServiceMetricsService& service, std::string time_zone) {
  router.Add({"GET", "/api/v1/metrics/service", Auth::kApi, "getServiceMetrics", [&service, time_zone](Context& ctx) {
                const auto& who = ctx.Who();
                core::AgencyId agency = who.agency;
                if (const std::string a = ctx.request.Query("agency_id"); !a.empty()) {
                  auto id = ParseId(a, "agency_id");
                  if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                  agency = core::AgencyId{*id};
                }
                const std::string format = ctx.request.Query("format");
                if (!format.empty() && format != "json" && format != "csv" && format != "xlsx") {
                  return Problem(core::Status::InvalidArgument("the format is not known", {{"format", "must be json, csv or xlsx"}}),
                                 ctx.request.request_id);
                }
                auto period = PeriodFromDates(ctx.request.Query("from"), ctx.request.Query("to"), service.Now(), time_zone);
                if (!period.ok()) return Problem(period.status(), ctx.request.request_id);
                auto m = service.Compute(who, agency, *period);
                if (!m.ok()) return Problem(m.status(), ctx.request.request_id);
                if (format == "csv") {
                  Response r = Response::Text(200, ServiceMetricsCsv(*m), "text/csv; charset=utf-8");
                  r.Header("Content-Disposition",
                           fmt::format("attachment; filename=\"service-metrics-{}.csv\"", m->agency.value));
                  return r;
                }
                if (format == "xlsx") {
                  auto book = ServiceMetricsXlsx(*m, time_zone);
                  if (!book.ok()) return Problem(book.status(), ctx.request.request_id);
                  Response r = Response::Text(200, std::move(book).value(),
                                              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
                  r.Header("Content-Disposition",
                           fmt::format("attachment; filename=\"service-metrics-{}.xlsx\"", m->agency.value));
                  return r;
                }
                return JsonResponse(200, ServiceMetricsJson(*m));
              }});
}

json TargetJson(const metrics::Target& t) {
  return {{"id", t.id},
          {"agency_id", t.agency.value},
          {"metric", t.metric},
          {"comparison", t.comparison},
          {"value", t.value},
          {"minutes", t.minutes == 0 ? json(nullptr) : json(t.minutes)},
          {"label", t.label},
          {"set_by", t.set_by},
          {"set_at", t.set_at.ToRfc3339()}};
}

json ScorecardJson(const metrics::Scorecard& c) {
  json results = json::array();
  for (const auto& r : c.results) {
    json trend = json::array();
    for (const auto& m : r.trend) {
      trend.push_back({{"month", m.month}, {"value", m.value ? json(*m.value) : json(nullptr)}, {"suppressed", m.suppressed}});
    }
    results.push_back({{"target", TargetJson(r.target)},
                       {"actual", r.actual ? json(*r.actual) : json(nullptr)},
                       {"status", r.status},
                       {"trend", std::move(trend)}});
  }
  return {{"agency", {{"id", c.agency.value}, {"name", c.agency_name}}},
          {"month", c.month},
          {"met", c.met},
          {"missed", c.missed},
          {"unknown", c.unknown},
          {"results", std::move(results)}};
}

void AddScorecardRoutes(Router& router, metrics::ScorecardService& cards) {
  router.Add({"GET", "/api/v1/agencies/{id}/service-targets", Auth::kApi, "listServiceTargets", [&cards](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto list = cards.Targets(ctx.Who(), core::AgencyId{*id});
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& t : *list) items.push_back(TargetJson(t));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
  router.Add({"POST", "/api/v1/agencies/{id}/service-targets", Auth::kApi, "addServiceTarget", [&cards](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"metric", "comparison", "value", "minutes"});
                metrics::NewTarget in;
                in.metric = r.String("metric", true, 60);
                in.comparison = r.String("comparison", true, 20);
                const auto it = body->find("value");
                if (it == body->end()) r.Error("value", "is required");
                else if (!it->is_number()) r.Error("value", "must be a number");
                else in.value = it->get<double>();
                in.minutes = static_cast<int>(r.OptInt("minutes").value_or(0));
                if (auto s = r.Finish("the target has invalid fields"); !s.ok()) return Problem(s, ctx.request.request_id);
                auto t = cards.AddTarget(ctx.Who(), core::AgencyId{*id}, in);
                if (!t.ok()) return Problem(t.status(), ctx.request.request_id);
                return JsonResponse(201, TargetJson(*t));
              }});
  router.Add({"DELETE", "/api/v1/service-targets/{id}", Auth::kApi, "removeServiceTarget", [&cards](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                if (auto s = cards.RemoveTarget(ctx.Who(), *id); !s.ok()) return Problem(s, ctx.request.request_id);
                Response r;
                r.status = 204;
                return r;
              }});
  router.Add({"GET", "/api/v1/metrics/scorecard", Auth::kApi, "getScorecard", [&cards](Context& ctx) {
                const auto& who = ctx.Who();
                core::AgencyId agency = who.agency;
                if (const std::string a = ctx.request.Query("agency_id"); !a.empty()) {
                  auto id = ParseId(a, "agency_id");
                  if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                  agency = core::AgencyId{*id};
                }
                std::string month = ctx.request.Query("month");
                if (month.empty()) month = cards.ThisMonth();
                auto card = cards.Monthly(who, agency, month);
                if (!card.ok()) return Problem(card.status(), ctx.request.request_id);
                return JsonResponse(200, ScorecardJson(*card));
              }});
}

}  // namespace http
