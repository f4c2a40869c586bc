#include "metrics/scorecard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "frontoffice/office_hours.h"

namespace metrics {

using core::Status;
using core::StatusOr;

namespace {

std::string Number(double v) {
  return std::fabs(v - std::round(v)) < 1e-9 ? fmt::format("{:.0f}", v) : fmt::format("{:.1f}", v);
}

StatusOr<std::vector<Target>> Load(storage::Transaction& tx, core::AgencyId agency) {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT id, agency_id, metric, comparison, target, minutes, set_by, set_at FROM "
                            "service_targets WHERE agency_id = ? ORDER BY id",
                            {agency.value}));
  std::vector<Target> out;
  for (const auto& r : rows) {
    Target t;
    t.id = r.Int(0);
    t.agency = core::AgencyId{r.Int(1)};
    t.metric = r.Text(2);
    t.comparison = r.Text(3);
    t.value = r.Real(4);
    t.minutes = static_cast<int>(r.Int(5));
    t.set_by = r.Text(6);
    t.set_at = core::Timestamp{r.Int(7)};
    t.label = TargetLabel(t.metric, t.minutes, t.comparison, t.value);
    out.push_back(std::move(t));
  }
  return out;
}

// "2026-11" → its first day; kInvalidArgument otherwise.
StatusOr<core::Date> MonthStart(const std::string& month) {
  auto d = core::Date::Parse(month + "-01");
  if (month.size() != 7 || !d.ok()) {
    return Status::InvalidArgument("the month is not valid", {{"month", "must be a month like 2026-11"}});
  }
  return *d;
}

core::Date AddMonths(core::Date d, int months) {
  int m = d.month - 1 + months;
  int y = d.year + (m >= 0 ? m / 12 : -((11 - m) / 12));
  m = ((m % 12) + 12) % 12;
  return core::Date{y, m + 1, 1};
}

}  // namespace

const std::vector<TargetMetric>& TargetMetrics() {
  static const auto* metrics = new std::vector<TargetMetric>{
      {"waited_within_percent", "Visitors called within {minutes} minutes", true, true},
      {"wait_p90_minutes", "Waiting time at the offices, 90th percentile", false, false},
      {"first_contact_resolution_percent", "Contacts resolved at the first contact", true, false},
      {"satisfied_percent", "Satisfied people (4 or 5 out of 5)", true, false},
      {"referrals_answered_in_time_percent", "Referrals answered in time", true, false},
      {"referrals_accepted_percent", "Referrals accepted, of those answered", true, false},
      {"referral_response_median_minutes", "Time to answer a referral, median", false, false},
      {"decided_in_time_percent", "Decisions within the statutory clock", true, false},
      {"repeat_contacts_percent", "Repeat contacts for the same need", true, false},
      {"reviews_on_time_percent", "Case reviews done on time", true, false},
      {"changes_applied_percent", "Changes told once that the agency applied", true, false},
      {"change_applied_median_minutes", "Time to apply a change told once, median", false, false},
      {"take_up_percent", "Take-up of the agency's programs by those likely eligible", true, false},
  };
  return *metrics;
}

std::string TargetLabel(const std::string& metric, int minutes, const std::string& comparison, double value) {
  const TargetMetric* m = FindTargetMetric(metric);
  std::string name = m == nullptr ? metric : m->label;
  if (const size_t at = name.find("{minutes}"); at != std::string::npos) {
    name.replace(at, 9, std::to_string(minutes));
  }
  const bool percent = m == nullptr || m->percent;
  return fmt::format("{}: {} {}{}", name, comparison == "at_least" ? "at least" : "at most", Number(value),
                     percent ? "%" : " minutes");
}

std::vector<core::FieldError> CheckTarget(const NewTarget& in) {
  std::vector<core::FieldError> errors;
  const TargetMetric* metric = FindTargetMetric(in.metric);
  if (metric == nullptr) {
    std::string keys;
    for (const auto& m : TargetMetrics()) keys += (keys.empty() ? "" : ", ") + m.key;
    errors.push_back({"metric", "must be one of " + keys});
  }
  if (in.comparison != "at_least" && in.comparison != "at_most") {
    errors.push_back({"comparison", "must be at_least or at_most"});
  }
  if (metric != nullptr) {
    const double top = metric->percent ? 100 : 100000;
    if (!(in.value >= 0 && in.value <= top)) {
      errors.push_back({"value", metric->percent ? "a share from 0 to 100" : "minutes from 0 to 100000"});
    }
    if (metric->needs_minutes && (in.minutes < 1 || in.minutes > 1440)) {
      errors.push_back({"minutes", "say within how many minutes, 1 to 1440"});
    }
    if (!metric->needs_minutes && in.minutes != 0)
      errors.push_back({"minutes",
                        "leave it empty: minutes are only for visitors called within a time "
                        "(waited_within_percent)"});
  }
  return errors;
}

const TargetMetric* FindTargetMetric(const std::string& key) {
  for (const auto& m : TargetMetrics()) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

std::optional<double> MetricValue(const ServiceMetrics& m, const std::string& metric, int minutes, bool* suppressed) {
  *suppressed = false;
  auto rate = [&](const Rate& r) -> std::optional<double> {
    *suppressed = r.suppressed;
    return r.suppressed ? std::nullopt : r.Percent();
  };
  if (metric == "waited_within_percent") {
    const auto within = std::upper_bound(m.wait_minutes.begin(), m.wait_minutes.end(), static_cast<double>(minutes)) -
                        m.wait_minutes.begin();
    return rate(Rate{within, static_cast<int64_t>(m.wait_minutes.size()),
                     (m.wait_minutes.size() > 0 && static_cast<int>(m.wait_minutes.size()) < m.min_cell) ||
                         (within > 0 && within < m.min_cell)});
  }
  if (metric == "wait_p90_minutes") {
    *suppressed = m.wait.suppressed;
    return m.wait.p90;
  }
  if (metric == "first_contact_resolution_percent") return rate(m.first_contact_resolution);
  if (metric == "satisfied_percent") return rate(m.satisfied);
  if (metric == "referrals_answered_in_time_percent") return rate(m.referrals_answered_in_time);
  if (metric == "referrals_accepted_percent") return rate(m.referrals_accepted);
  if (metric == "referral_response_median_minutes") {
    *suppressed = m.referral_response.suppressed;
    return m.referral_response.median;
  }
  if (metric == "decided_in_time_percent") return rate(m.decided_in_time);
  if (metric == "repeat_contacts_percent") return rate(m.repeat_contacts);
  if (metric == "reviews_on_time_percent") return rate(m.reviews_on_time);
  if (metric == "changes_applied_percent") return rate(m.changes_applied);
  if (metric == "change_applied_median_minutes") {
    *suppressed = m.change_applied.suppressed;
    return m.change_applied.median;
  }
  if (metric == "take_up_percent") return rate(m.take_up_all);
  return std::nullopt;
}

ScorecardService::ScorecardService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock,
                                   ServiceMetricsService& metrics, std::string time_zone)
    : db_(db), audit_(audit), clock_(clock), metrics_(metrics), time_zone_(std::move(time_zone)) {}

Status ScorecardService::MaySet(storage::Transaction& tx, const authz::Principal& who, core::AgencyId agency) {
  ASSIGN_OR_RETURN(storage::Rows a, tx.Query("SELECT id FROM agencies WHERE id = ?", {agency.value}));
  if (a.empty()) return Status::NotFound(fmt::format("no agency has id {}", agency.value));
  const bool governance = who.kind == authz::PrincipalKind::kStaff && who.HasRole(authz::Role::kGovernance);
  const bool own = who.agency == agency && who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin}) &&
                   (who.kind == authz::PrincipalKind::kStaff ||
                    (who.kind == authz::PrincipalKind::kSystem && who.HasScope("metrics:write")));
  if (!governance && !own) {
    return Status::PermissionDenied("targets are set by the consortium's governance and the agency's managers");
  }
  return Status::Ok();
}

StatusOr<std::vector<Target>> ScorecardService::Targets(const authz::Principal& who, core::AgencyId agency) {
  // Seeing the targets is for those who see the agency's metrics.
  RETURN_IF_ERROR(metrics_.MaySee(who, agency, "target.read"));
  std::vector<Target> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows a, tx.Query("SELECT id FROM agencies WHERE id = ?", {agency.value}));
    if (a.empty()) return Status::NotFound(fmt::format("no agency has id {}", agency.value));
    ASSIGN_OR_RETURN(out, Load(tx, agency));
    return Status::Ok();
  }));
  return out;
}

StatusOr<Target> ScorecardService::AddTarget(const authz::Principal& who, core::AgencyId agency, const NewTarget& in) {
  std::vector<core::FieldError> errors = CheckTarget(in);
  Target out;
  std::optional<std::string> refusal;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    // A refusal comes before the form is judged: who may not set targets learns nothing from it.
    if (Status s = MaySet(tx, who, agency); !s.ok()) {
      if (s.code() != core::StatusCode::kPermissionDenied) return s;
      refusal = s.message();
      return Status::Ok();
    }
    if (!errors.empty()) return Status::InvalidArgument("the target has invalid fields", std::move(errors));
    // The same target twice would be one row shown twice on the scorecard.
    ASSIGN_OR_RETURN(
        storage::Rows same,
        tx.Query(
            "SELECT id FROM service_targets WHERE agency_id = ? AND metric = ? AND comparison = ? "
            "AND target = ? AND minutes = ?",
            {agency.value, in.metric, in.comparison, in.value, static_cast<int64_t>(in.minutes)}));
    if (!same.empty()) {
      return Status::AlreadyExists(
          "the agency has this target already: to set another value, remove it first");
    }
    const int64_t now = clock_.Now().micros;
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("INSERT INTO service_targets (agency_id, metric, comparison, target, minutes, set_by, "
                              "set_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                              {agency.value, in.metric, in.comparison, in.value, static_cast<int64_t>(in.minutes),
                               who.name, now}));
    ASSIGN_OR_RETURN(std::vector<Target> all, Load(tx, agency));
    for (auto& t : all) {
      if (t.id == rows.at(0).Int(0)) out = std::move(t);
    }
    return audit_.Append(tx, who, {"target.add", "agency", std::to_string(agency.value), std::nullopt, true, out.label});
  }));
  if (refusal) {
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
      return audit_.Append(tx, who, {"target.add", "agency", std::to_string(agency.value), std::nullopt, false, *refusal});
    }));
    return Status::PermissionDenied(*refusal);
  }
  return out;
}

Status ScorecardService::RemoveTarget(const authz::Principal& who, int64_t id) {
  std::optional<std::string> refusal;
  core::AgencyId refused_agency;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT agency_id FROM service_targets WHERE id = ?", {id}));
    if (rows.empty()) return Status::NotFound(fmt::format("no target has id {}", id));
    const core::AgencyId agency{rows.at(0).Int(0)};
    if (Status s = MaySet(tx, who, agency); !s.ok()) {
      if (s.code() != core::StatusCode::kPermissionDenied) return s;
      refusal = s.message();
      refused_agency = agency;
      return Status::Ok();
    }
    RETURN_IF_ERROR(tx.Execute("DELETE FROM service_targets WHERE id = ?", {id}).status());
    return audit_.Append(tx, who, {"target.remove", "agency", std::to_string(agency.value), std::nullopt, true,
                                   fmt::format("target {}", id)});
  }));
  if (refusal) {
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
      return audit_.Append(tx, who, {"target.remove", "agency", std::to_string(refused_agency.value), std::nullopt, false,
                                     *refusal});
    }));
    return Status::PermissionDenied(*refusal);
  }
  return Status::Ok();
}

StatusOr<Scorecard> ScorecardService::Monthly(const authz::Principal& who, core::AgencyId agency,
                                              const std::string& month) {
  ASSIGN_OR_RETURN(core::Date first, MonthStart(month));
  Scorecard card;
  card.agency = agency;
  card.month = month;
  // The six months up to this one, oldest first.
  std::vector<std::pair<std::string, ServiceMetrics>> months;
  for (int back = 5; back >= 0; --back) {
    const core::Date start = AddMonths(first, -back);
    ASSIGN_OR_RETURN(Period period, PeriodOf(start));
    ASSIGN_OR_RETURN(ServiceMetrics m, metrics_.Compute(who, agency, period));
    months.emplace_back(start.ToString().substr(0, 7), std::move(m));
  }
  card.agency_name = months.back().second.agency_name;
  std::vector<Target> targets;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(targets, Load(tx, agency));
    return Status::Ok();
  }));
  for (const auto& t : targets) {
    TargetResult r;
    r.target = t;
    for (const auto& [name, m] : months) {
      bool suppressed = false;
      const auto v = MetricValue(m, t.metric, t.minutes, &suppressed);
      r.trend.push_back({name, v, suppressed});
    }
    r.actual = r.trend.back().value;
    if (!r.actual) {
      r.status = "unknown";
      ++card.unknown;
    } else if (t.comparison == "at_least" ? *r.actual >= t.value : *r.actual <= t.value) {
      r.status = "met";
      ++card.met;
    } else {
      r.status = "missed";
      ++card.missed;
    }
    card.results.push_back(std::move(r));
  }
  return card;
}

StatusOr<Period> ScorecardService::PeriodOf(core::Date first) const {
  ASSIGN_OR_RETURN(core::Timestamp from, frontoffice::FromLocal(first, 0, time_zone_));
  ASSIGN_OR_RETURN(core::Timestamp to, frontoffice::FromLocal(AddMonths(first, 1), 0, time_zone_));
  return Period{from, to};
}

StatusOr<Period> ScorecardService::MonthPeriod(const std::string& month) const {
  ASSIGN_OR_RETURN(core::Date first, MonthStart(month));
  return PeriodOf(first);
}

std::string ScorecardService::ThisMonth() const {
  auto today = frontoffice::ToLocal(clock_.Now(), time_zone_);
  return (today.ok() ? today->date : clock_.Now().UtcDate()).ToString().substr(0, 7);
}

}  // namespace metrics
