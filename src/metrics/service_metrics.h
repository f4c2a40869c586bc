#pragma once

#include <optional>
#include <string>
#include <vector>

#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "metrics/glance.h"
#include "storage/database.h"

// Service metrics of an agency over a period, computed from what onedoor stored as the work was
// done (contacts, tickets, referrals, decisions), never typed in: first-contact resolution,
// satisfaction, waiting and service times per office and queue, referral acceptance, completion
// and response times, and decisions within their statutory clock. Every figure built from fewer
// than `min_cell` people or records (but not none) is suppressed, so that no one can be singled
// out.
namespace metrics {

// [from, to), UTC.
struct Period {
  core::Timestamp from;
  core::Timestamp to;
};

// A count; `suppressed` when 1 to min_cell - 1 (the value is then not to be shown), or, with
// `secondary`, when it is hidden only so that a smaller hidden count cannot be worked out.
struct Count {
  int64_t value = 0;
  bool suppressed = false;
  bool secondary = false;
};

// A share: `part` of `whole`; suppressed when whole or part is 1 to min_cell - 1 (with nothing to
// share, none: not suppressed, and no percent). Each share is checked on its own.
struct Rate {
  int64_t part = 0;
  int64_t whole = 0;
  bool suppressed = false;
  // Percent, one decimal; none when whole is 0.
  std::optional<double> Percent() const;
};

// Durations in minutes: median and 90th percentile by the nearest-rank method, over `count`
// measurements; suppressed (no median, no p90) under min_cell.
struct Durations {
  int64_t count = 0;
  bool suppressed = false;
  std::optional<double> median;
  std::optional<double> p90;
};

struct QueueMetrics {
  int64_t office = 0;
  std::string office_name;
  int64_t queue = 0;
  std::string queue_name;
  Count tickets;   // issued in the period
  Count served;    // of those, served
  Count no_shows;  // of those, not there when called
  Durations wait;     // arrived → called (served tickets)
  Durations service;  // served → finished
};

struct ChannelCount {
  std::string channel;  // desk, phone, web, email, outreach
  Count contacts;
};

// Take-up of one of the agency's programs, from the latest bulk screening of the registry with
// the enrolments (`onedoor rules screen --all --enrolled … --take-up …`) run before the period
// ended: households likely eligible, and of those, enrolled.
struct TakeUp {
  std::string program;
  std::string program_name;
  Rate enrolled;  // eligible and enrolled / eligible
  Count eligible;
  std::string as_of;  // the screening's date
};

struct ServiceMetrics {
  core::AgencyId agency;
  std::string agency_name;
  Period period;
  int min_cell = 5;

  Count contacts;
  std::vector<ChannelCount> by_channel;
  Rate first_contact_resolution;  // outcome resolved / contacts
  Count satisfaction_responses;
  Rate satisfied;  // scores 4 and 5 / responses

  std::vector<QueueMetrics> queues;
  Durations wait;                   // every queue's served tickets together
  std::vector<double> wait_minutes;  // those waits, sorted (for targets like "served within 20 minutes")

  Count referrals_received;
  Rate referrals_accepted;       // accepted (or later steps) / answered
  Rate referrals_completed;      // completed / accepted
  Rate referrals_answered_in_time;  // answered by respond_by / answered
  Durations referral_response;   // sent → answered, in minutes

  Count decisions;
  Rate decided_in_time;  // decided on or before the due date / decided

  // Contacts by a known person that repeat, on the same topic, one they had with the agency in
  // the 30 days before / contacts by a known person.
  Rate repeat_contacts;
  // Case reviews falling due in the period (up to now) on the cases the agency coordinates: done
  // by the date they were due / due (done, late or still not done).
  Rate reviews_on_time;
  // Tell us once: changes another agency told onedoor of, sent to this agency in the period —
  // each a contact the person did not have to make ("contacts avoided") —, the share applied,
  // and the time from the change to the agency applying it.
  Count changes_received;
  Rate changes_applied;
  Durations change_applied;
  // Take-up of the agency's programs, and over all of them.
  std::vector<TakeUp> take_up;
  Rate take_up_all;
};

// The nearest-rank percentile (0 < p ≤ 100) of sorted `values`; none when empty.
std::optional<double> Percentile(const std::vector<double>& sorted, double p);

struct MetricsOptions {
  int min_cell = 5;             // smallest count shown
  std::string time_zone = "UTC";  // the deployment's: the day a decision falls on
};

// Thread-safe.
class ServiceMetricsService {
 public:
  ServiceMetricsService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock, MetricsOptions options);

  // Managers, administrators and auditors see their own agency's; governance users any agency's.
  // kInvalidArgument (to: after from, at most 366 days), kNotFound (no such agency),
  // kPermissionDenied (audited). Computing is audited as metrics.read.
  core::StatusOr<ServiceMetrics> Compute(const authz::Principal& who, core::AgencyId agency, Period period);
  // Whether `who` may see `agency`'s metrics; a refusal is audited as `action`.
  core::Status MaySee(const authz::Principal& who, core::AgencyId agency, const std::string& action);
  int min_cell() const { return options_.min_cell; }
  // The home page's counts for `who` (metrics/glance.h), today in the deployment's time zone.
  core::StatusOr<Glance> AtAGlanceFor(const authz::Principal& who);
  core::Timestamp Now() const { return clock_.Now(); }

 private:
  storage::Database& db_;
  audit::AuditLog& audit_;
  const core::Clock& clock_;
  MetricsOptions options_;
};

}  // namespace metrics
