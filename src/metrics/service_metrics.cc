#include "metrics/service_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "access/access_gate.h"
#include "frontoffice/office_hours.h"

namespace metrics {

using core::Status;
using core::StatusOr;

namespace {

constexpr int64_t kMinuteMicros = 60'000'000;
// 366 local days: an hour longer where they cross the autumn clock change (an hour of slack
// more for zones whose change is not an hour).
constexpr int64_t kMaxPeriodMicros = 366LL * 86'400'000'000 + 2LL * 3'600'000'000;

bool Small(int64_t n, int min_cell) { return n > 0 && n < min_cell; }

Count MakeCount(int64_t n, int min_cell) { return {n, Small(n, min_cell)}; }

Rate MakeRate(int64_t part, int64_t whole, int min_cell) {
  return {part, whole, Small(whole, min_cell) || Small(part, min_cell)};
}

Durations MakeDurations(std::vector<double> minutes, int min_cell) {
  Durations d;
  d.count = static_cast<int64_t>(minutes.size());
  if (d.count < min_cell) {
    d.suppressed = d.count > 0;
    return d;
  }
  std::sort(minutes.begin(), minutes.end());
  d.median = Percentile(minutes, 50);
  d.p90 = Percentile(minutes, 90);
  return d;
}

double Minutes(int64_t micros) { return static_cast<double>(micros) / static_cast<double>(kMinuteMicros); }

}  // namespace

std::optional<double> Rate::Percent() const {
  if (whole == 0) return std::nullopt;
  return std::round(1000.0 * static_cast<double>(part) / static_cast<double>(whole)) / 10.0;
}

std::optional<double> Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::nullopt;
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

ServiceMetricsService::ServiceMetricsService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock,
                                             MetricsOptions options)
    : db_(db), audit_(audit), clock_(clock), options_(std::move(options)) {}

Status ServiceMetricsService::MaySee(const authz::Principal& who, core::AgencyId agency, const std::string& action) {
  std::optional<std::string> refusal;
  if (who.kind != authz::PrincipalKind::kStaff && who.kind != authz::PrincipalKind::kSystem) {
    refusal = "service metrics are for an agency's managers, administrators and auditors";
  } else if (who.kind == authz::PrincipalKind::kSystem && !who.HasScope("metrics:read")) {
    refusal = "the token needs the metrics:read scope";
  } else if (who.HasRole(authz::Role::kGovernance)) {
    // The consortium's governance sees every agency.
  } else if (!who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin, authz::Role::kAuditor})) {
    refusal = "service metrics are for an agency's managers, administrators and auditors";
  } else if (who.agency != agency) {
    refusal = "only the consortium's governance sees another agency's service metrics";
  }
  if (!refusal) return Status::Ok();
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(tx, who, {action, "agency", std::to_string(agency.value), std::nullopt, false, *refusal});
  }));
  return Status::PermissionDenied(*refusal);
}

StatusOr<ServiceMetrics> ServiceMetricsService::Compute(const authz::Principal& who, core::AgencyId agency,
                                                        Period period) {
  if (period.to <= period.from || period.to.micros - period.from.micros > kMaxPeriodMicros) {
    return Status::InvalidArgument("the period is not valid",
                                   {{"to", "must be after from, and the period at most 366 days"}});
  }
  RETURN_IF_ERROR(MaySee(who, agency, "metrics.read"));

  const int k = options_.min_cell;
  ServiceMetrics m;
  m.agency = agency;
  m.period = period;
  m.min_cell = k;
  const int64_t from = period.from.micros;
  const int64_t to = period.to.micros;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows a, tx.Query("SELECT name FROM agencies WHERE id = ?", {agency.value}));
    if (a.empty()) return Status::NotFound(fmt::format("no agency has id {}", agency.value));
    m.agency_name = a.at(0).Text(0);

    // Contacts, by channel; resolved at first contact; satisfaction.
    ASSIGN_OR_RETURN(storage::Rows contacts,
                     tx.Query("SELECT channel, COUNT(*), SUM(CASE WHEN outcome = 'resolved' THEN 1 ELSE 0 END), "
                              "SUM(CASE WHEN satisfaction IS NOT NULL THEN 1 ELSE 0 END), "
                              "SUM(CASE WHEN satisfaction >= 4 THEN 1 ELSE 0 END), "
                              "SUM(CASE WHEN person_id IS NOT NULL THEN 1 ELSE 0 END), SUM(repeat_contact) "
                              "FROM interactions "
                              "WHERE agency_id = ? AND at >= ? AND at < ? GROUP BY channel ORDER BY channel",
                              {agency.value, from, to}));
    int64_t total = 0, resolved = 0, rated = 0, satisfied = 0, known = 0, repeats = 0;
    for (const auto& r : contacts) {
      known += r.Int(5);
      repeats += r.Int(6);
      m.by_channel.push_back({r.Text(0), MakeCount(r.Int(1), k)});
      total += r.Int(1);
      resolved += r.Int(2);
      rated += r.Int(3);
      satisfied += r.Int(4);
    }
    // A lone hidden channel could be worked out from the total: the next smallest is hidden too.
    int hidden = 0;
    for (const auto& c : m.by_channel) hidden += c.contacts.suppressed ? 1 : 0;
    if (hidden == 1 && !Small(total, k)) {
      ChannelCount* smallest = nullptr;
      for (auto& c : m.by_channel) {
        if (!c.contacts.suppressed && c.contacts.value > 0 &&
            (smallest == nullptr || c.contacts.value < smallest->contacts.value)) {
          smallest = &c;
        }
      }
      if (smallest != nullptr) {
        smallest->contacts.suppressed = true;
        smallest->contacts.secondary = true;
      }
    }
    m.contacts = MakeCount(total, k);
    m.first_contact_resolution = MakeRate(resolved, total, k);
    m.satisfaction_responses = MakeCount(rated, k);
    m.satisfied = MakeRate(satisfied, rated, k);
    // Repeats: flagged as each contact was recorded (the same person, agency and topic in the 30
    // days before), of the contacts by a known person.
    m.repeat_contacts = MakeRate(repeats, known, k);

    // Tickets issued in the period at the agency's offices: numbers only, the names after.
    ASSIGN_OR_RETURN(storage::Rows tickets,
                     tx.Query("SELECT queue_id, CASE WHEN state = 'no_show' THEN 1 ELSE 0 END, "
                              "CASE WHEN served_at IS NULL THEN NULL ELSE called_at - arrived_at END, "
                              "finished_at - served_at FROM tickets WHERE office_id IN (SELECT id FROM offices WHERE "
                              "agency_id = ?) AND arrived_at >= ? AND arrived_at < ?",
                              {agency.value, from, to}));
    struct Acc {
      int64_t tickets = 0, served = 0, no_shows = 0;
      std::vector<double> wait, service;
    };
    std::map<int64_t, Acc> by_queue;
    for (const auto& r : tickets) {
      Acc& acc = by_queue[r.Int(0)];
      ++acc.tickets;
      acc.no_shows += r.Int(1);
      if (!r.IsNull(2)) {
        ++acc.served;
        acc.wait.push_back(Minutes(r.Int(2)));
        if (!r.IsNull(3)) acc.service.push_back(Minutes(r.Int(3)));
      }
    }
    if (!by_queue.empty()) {
      ASSIGN_OR_RETURN(storage::Rows names,
                       tx.Query("SELECT q.id, q.office_id, o.name, q.name FROM queues q JOIN offices o ON o.id = "
                                "q.office_id WHERE o.agency_id = ? ORDER BY o.name, q.code",
                                {agency.value}));
      for (const auto& n : names) {
        auto it = by_queue.find(n.Int(0));
        if (it == by_queue.end()) continue;
        Acc& acc = it->second;
        m.wait_minutes.insert(m.wait_minutes.end(), acc.wait.begin(), acc.wait.end());
        QueueMetrics q;
        q.office = n.Int(1);
        q.office_name = n.Text(2);
        q.queue = n.Int(0);
        q.queue_name = n.Text(3);
        q.tickets = MakeCount(acc.tickets, k);
        q.served = MakeCount(acc.served, k);
        q.no_shows = MakeCount(acc.no_shows, k);
        q.wait = MakeDurations(std::move(acc.wait), k);
        q.service = MakeDurations(std::move(acc.service), k);
        m.queues.push_back(std::move(q));
      }
    }
    std::sort(m.wait_minutes.begin(), m.wait_minutes.end());
    m.wait = MakeDurations(m.wait_minutes, k);

    // Referrals the agency received in the period (numbers only).
    ASSIGN_OR_RETURN(storage::Rows referrals,
                     tx.Query("SELECT answered_at - created_at, CASE WHEN state = 'declined' THEN 1 ELSE 0 END, "
                              "CASE WHEN state = 'completed' THEN 1 ELSE 0 END, "
                              "CASE WHEN answered_at <= respond_by THEN 1 ELSE 0 END FROM referrals "
                              "WHERE to_agency_id = ? AND created_at >= ? AND created_at < ?",
                              {agency.value, from, to}));
    const int64_t received = static_cast<int64_t>(referrals.size());
    int64_t answered = 0, accepted = 0, completed = 0, in_time = 0;
    std::vector<double> response;
    for (const auto& r : referrals) {
      if (r.IsNull(0)) continue;
      ++answered;
      if (r.Int(1) == 0) ++accepted;
      completed += r.Int(2);
      in_time += r.Int(3);
      response.push_back(Minutes(r.Int(0)));
    }
    m.referrals_received = MakeCount(received, k);
    m.referrals_accepted = MakeRate(accepted, answered, k);
    m.referrals_completed = MakeRate(completed, accepted, k);
    m.referrals_answered_in_time = MakeRate(in_time, answered, k);
    m.referral_response = MakeDurations(std::move(response), k);

    // Parts of applications the agency decided in the period, against their due dates.
    ASSIGN_OR_RETURN(storage::Rows parts,
                     tx.Query("SELECT decided_at, due FROM application_parts WHERE agency_id = ? AND decided_at >= ? "
                              "AND decided_at < ?",
                              {agency.value, from, to}));
    // On time: decided before the end of the due date in the deployment's zone (each due date's
    // end worked out once).
    int64_t on_time = 0;
    std::map<std::string, int64_t> day_ends;
    for (const auto& r : parts) {
      const std::string due = r.Text(1);
      auto end = day_ends.find(due);
      if (end == day_ends.end()) {
        ASSIGN_OR_RETURN(core::Date d, core::Date::Parse(due));
        ASSIGN_OR_RETURN(core::Timestamp t, frontoffice::FromLocal(core::Date::FromDays(d.ToDays() + 1), 0,
                                                                    options_.time_zone));
        end = day_ends.emplace(due, t.micros).first;
      }
      if (r.Int(0) < end->second) ++on_time;
    }
    m.decisions = MakeCount(static_cast<int64_t>(parts.size()), k);
    m.decided_in_time = MakeRate(on_time, static_cast<int64_t>(parts.size()), k);

    // Case reviews due in the period, up to now: done (on time or late), or still not done.
    const int64_t due_until = std::min(to, clock_.Now().micros);
    ASSIGN_OR_RETURN(storage::Rows reviews,
                     tx.Query("SELECT COUNT(*), COALESCE(SUM(CASE WHEN reviewed_at <= due_at THEN 1 ELSE 0 END), 0) "
                              "FROM case_reviews WHERE agency_id = ? AND due_at >= ? AND due_at < ?",
                              {agency.value, from, due_until}));
    ASSIGN_OR_RETURN(storage::Rows overdue,
                     tx.Query("SELECT COUNT(*) FROM cases WHERE coordinating_agency_id = ? AND state = 'open' AND "
                              "next_review_at >= ? AND next_review_at < ?",
                              {agency.value, from, due_until}));
    m.reviews_on_time = MakeRate(reviews.at(0).Int(1), reviews.at(0).Int(0) + overdue.at(0).Int(0), k);

    // Tell us once: the changes sent to this agency in the period.
    ASSIGN_OR_RETURN(storage::Rows changes,
                     tx.Query("SELECT applied_at - created_at FROM change_notices WHERE agency_id = ? AND "
                              "created_at >= ? AND created_at < ?",
                              {agency.value, from, to}));
    std::vector<double> applied;
    for (const auto& r : changes) {
      if (!r.IsNull(0)) applied.push_back(Minutes(r.Int(0)));
    }
    m.changes_received = MakeCount(static_cast<int64_t>(changes.size()), k);
    m.changes_applied = MakeRate(static_cast<int64_t>(applied.size()), static_cast<int64_t>(changes.size()), k);
    m.change_applied = MakeDurations(std::move(applied), k);

    // Take-up: the latest bulk screening of the registry run before the period ended.
    ASSIGN_OR_RETURN(storage::Rows run,
                     tx.Query("SELECT id, as_of FROM take_up_runs WHERE run_at < ? ORDER BY run_at DESC, id DESC "
                              "LIMIT 1",
                              {to}));
    if (!run.empty()) {
      ASSIGN_OR_RETURN(storage::Rows counts,
                       tx.Query("SELECT c.program, c.program_name, c.eligible, c.eligible_enrolled FROM take_up_counts "
                                "c JOIN agencies a ON a.code = c.agency_code WHERE c.run_id = ? AND a.id = ? "
                                "ORDER BY c.program",
                                {run.at(0).Int(0), agency.value}));
      int64_t eligible = 0, enrolled = 0;
      for (const auto& r : counts) {
        m.take_up.push_back({r.Text(0), r.Text(1), MakeRate(r.Int(3), r.Int(2), k), MakeCount(r.Int(2), k),
                             run.at(0).Text(1)});
        eligible += r.Int(2);
        enrolled += r.Int(3);
      }
      m.take_up_all = MakeRate(enrolled, eligible, k);
    }

    return audit_.Append(tx, who, {"metrics.read", "agency", std::to_string(agency.value), std::nullopt, true,
                                   fmt::format("service metrics from {} to {}", period.from.ToRfc3339(),
                                               period.to.ToRfc3339())});
  }));
  return m;
}

StatusOr<Glance> ServiceMetricsService::AtAGlanceFor(const authz::Principal& who) {
  const core::Timestamp now = clock_.Now();
  auto local = frontoffice::ToLocal(now, options_.time_zone);
  const core::Date today = local.ok() ? local->date : now.UtcDate();
  auto start = frontoffice::FromLocal(today, 0, options_.time_zone);
  return AtAGlance(db_, who, now, today.ToString(), start.ok() ? *start : core::Timestamp{now.micros - now.micros % 86'400'000'000});
}

}  // namespace metrics
