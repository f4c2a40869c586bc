#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "http/router.h"
#include "metrics/scorecard.h"
#include "metrics/service_metrics.h"

namespace http {

// Service metrics: GET /api/v1/metrics/service?agency_id=&from=&to= (dates, both included, in
// the deployment's time zone; the current month so far by default) as JSON, or as CSV with
// format=csv or xlsx. Suppressed figures are null in JSON and "<5" in CSV and XLSX.
void AddMetricsRoutes(Router& router, metrics::ServiceMetricsService& metrics, std::string time_zone);

// Service targets and the monthly scorecard: /api/v1/agencies/{id}/service-targets (list; add),
// /api/v1/service-targets/{id} (DELETE) and /api/v1/metrics/scorecard?agency_id=&month=.
void AddScorecardRoutes(Router& router, metrics::ScorecardService& cards);
nlohmann::json TargetJson(const metrics::Target& t);
nlohmann::json ScorecardJson(const metrics::Scorecard& c);

// One figure as exported: its name, office and queue (empty when not per queue), its text
// ("<5" when suppressed) and its number when shown.
struct MetricRow {
  std::string metric;
  std::string office;
  std::string queue;
  std::string text;
  std::optional<double> number;
};

// The metrics as JSON, as rows, as CSV (metric, office, queue, value) and as an XLSX workbook.
nlohmann::json ServiceMetricsJson(const metrics::ServiceMetrics& m);
std::vector<MetricRow> ServiceMetricRows(const metrics::ServiceMetrics& m);
std::string ServiceMetricsCsv(const metrics::ServiceMetrics& m);
core::StatusOr<std::string> ServiceMetricsXlsx(const metrics::ServiceMetrics& m,
                                               const std::string& time_zone = "UTC");

// The period of `from` and `to` (YYYY-MM-DD, both included) in `time_zone`; by default from the
// first of the current month to today. kInvalidArgument naming from or to.
core::StatusOr<metrics::Period> PeriodFromDates(const std::string& from, const std::string& to, core::Timestamp now,
                                                const std::string& time_zone);

}  // namespace http
