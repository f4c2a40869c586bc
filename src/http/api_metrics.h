#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "http/router.h"
#include "metrics/service_metrics.h"

namespace http {

// Service metrics: GET /api/v1/metrics/service?agency_id=&from=&to= (dates, both included, in
// the deployment's time zone; the current month so far by default) as JSON, or as CSV with
// format=csv. Suppressed figures are null in JSON and "<5" in CSV.
void AddMetricsRoutes(Router& router, metrics::ServiceMetricsService& metrics, std::string time_zone);

// The metrics as JSON, and as CSV rows (metric, office, queue, value).
nlohmann::json ServiceMetricsJson(const metrics::ServiceMetrics& m);
std::string ServiceMetricsCsv(const metrics::ServiceMetrics& m);

// The period of `from` and `to` (YYYY-MM-DD, both included) in `time_zone`; by default from the
// first of the current month to today. kInvalidArgument naming from or to.
core::StatusOr<metrics::Period> PeriodFromDates(const std::string& from, const std::string& to, core::Timestamp now,
                                                const std::string& time_zone);

}  // namespace http
