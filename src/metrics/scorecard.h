#pragma once

#include <optional>
#include <string>
#include <vector>

#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "metrics/service_metrics.h"
#include "storage/database.h"

// Service agreements: targets on an agency's service metrics ("90% of visitors called within 20
// minutes", "95% of referrals answered in time"), set by the consortium's governance or the
// agency's managers, and the monthly scorecard that says of each whether it was met, missed, or
// could not be told (too few to show), with the five months before it as a trend.
namespace metrics {

// A metric a target can be set on.
struct TargetMetric {
  std::string key;    // "waited_within_percent"
  std::string label;  // "Visitors called within {minutes} minutes"
  bool percent = true;        // else minutes
  bool needs_minutes = false;  // the target names a number of minutes
};
const std::vector<TargetMetric>& TargetMetrics();
const TargetMetric* FindTargetMetric(const std::string& key);

struct Target {
  int64_t id = 0;
  core::AgencyId agency;
  std::string metric;
  std::string comparison;  // at_least, at_most
  double value = 0;
  int minutes = 0;  // for waited_within_percent
  std::string label;  // "Visitors called within 20 minutes: at least 90%"
  std::string set_by;
  core::Timestamp set_at;
};

struct NewTarget {
  std::string metric;
  std::string comparison;
  double value = 0;
  int minutes = 0;
};

struct MonthValue {
  std::string month;  // "2026-11"
  std::optional<double> value;
  bool suppressed = false;
};

struct TargetResult {
  Target target;
  std::optional<double> actual;  // this month's; none when suppressed or nothing to measure
  std::string status;            // met, missed, unknown
  std::vector<MonthValue> trend;  // the six months up to this one, oldest first
};

struct Scorecard {
  core::AgencyId agency;
  std::string agency_name;
  std::string month;
  std::vector<TargetResult> results;
  int met = 0;
  int missed = 0;
  int unknown = 0;
};

// "Visitors called within 20 minutes: at least 90%".
std::string TargetLabel(const std::string& metric, int minutes, const std::string& comparison, double value);
// The mistakes in a target (metric, comparison, value, minutes), none when it is valid.
std::vector<core::FieldError> CheckTarget(const NewTarget& in);

// The value of `metric` in `m` (minutes for waited_within_percent); none when suppressed (then
// `suppressed` is set) or when there is nothing to measure.
std::optional<double> MetricValue(const ServiceMetrics& m, const std::string& metric, int minutes, bool* suppressed);

// Thread-safe.
class ScorecardService {
 public:
  ScorecardService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock,
                   ServiceMetricsService& metrics, std::string time_zone);

  // Who sees an agency's metrics sees its targets.
  core::StatusOr<std::vector<Target>> Targets(const authz::Principal& who, core::AgencyId agency);
  // Governance users, and the agency's managers and administrators. kInvalidArgument naming
  // metric, comparison, value (0-100 for a share, 0-100000 minutes), minutes (1-1440, only
  // where the metric needs it).
  core::StatusOr<Target> AddTarget(const authz::Principal& who, core::AgencyId agency, const NewTarget& in);
  core::Status RemoveTarget(const authz::Principal& who, int64_t id);
  // The scorecard of `month` ("2026-11"); kInvalidArgument (month) otherwise.
  core::StatusOr<Scorecard> Monthly(const authz::Principal& who, core::AgencyId agency, const std::string& month);
  // The current month, in the deployment's time zone: "2026-12".
  std::string ThisMonth() const;
  // The month ("2026-11") as a period in the deployment's time zone; kInvalidArgument (month).
  core::StatusOr<Period> MonthPeriod(const std::string& month) const;

 private:
  // The month that starts on `first`, in the deployment's time zone.
  core::StatusOr<Period> PeriodOf(core::Date first) const;
  core::Status MaySet(storage::Transaction& tx, const authz::Principal& who, core::AgencyId agency);

  storage::Database& db_;
  audit::AuditLog& audit_;
  const core::Clock& clock_;
  ServiceMetricsService& metrics_;
  std::string time_zone_;
};

}  // namespace metrics
