#pragma once

#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "storage/database.h"

// The operational gauges of the service, for Prometheus (/metrics): the work waiting now at each
// office's queues and in each agency's trays. They count work items by office, queue and agency
// (codes, never a person or a name), for alerting on queues and backlogs; the outcome metrics
// (resolution, satisfaction, take-up...) stay on the performance pages and the API, where small
// counts are suppressed.
namespace metrics {

// The Prometheus text exposition of:
//   onedoor_queue_waiting{office,queue}               tickets waiting now (issued in the last day)
//   onedoor_queue_oldest_wait_seconds{office,queue}   how long the longest of them has waited
//   onedoor_referrals_overdue{agency}                 referrals received, not answered by respond_by
//   onedoor_decisions_overdue{agency}                 parts of applications undecided after their due date
//   onedoor_case_reviews_overdue{agency}              open cases whose review date has passed
//   onedoor_changes_pending{agency}                   changes told once, not yet applied by the agency
// `today` is the deployment's date ("2026-12-02").
core::StatusOr<std::string> OperationalGauges(storage::Database& db, core::Timestamp now, const std::string& today);

}  // namespace metrics
