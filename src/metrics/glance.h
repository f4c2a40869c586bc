#pragma once

#include <string>
#include <vector>

#include "access/principal.h"
#include "core/clock.h"
#include "core/status.h"
#include "storage/database.h"

// The home page's "at a glance": the work waiting for the signed-in member of staff and their
// agency, as counts (never a person): the visitors waiting and today's contacts for the front
// desk; their own and their teams' work, referrals and decisions for caseworkers; the cases and
// reviews for coordinators; each team's load and the overdue work for managers.
namespace metrics {

struct TeamLoad {
  std::string team;
  int64_t open = 0;     // not claimed yet
  int64_t claimed = 0;  // being worked on
  int64_t overdue = 0;  // of those, past their due date
  int64_t members = 0;
};

struct Glance {
  int64_t waiting = 0;              // tickets waiting now at the agency's offices (issued in the last day)
  int64_t oldest_wait_minutes = 0;  // the longest of them
  int64_t contacts_today = 0;       // recorded by the agency since `day_start`
  int64_t my_work = 0;              // claimed by the user, not done
  int64_t team_open = 0;            // open in the user's teams, not claimed
  int64_t work_overdue = 0;         // of those two, past their due date
  int64_t referrals_waiting = 0;    // received by the agency, not answered
  int64_t referrals_overdue = 0;    // of those, past their respond-by time
  int64_t decisions_pending = 0;    // parts of applications the agency decides
  int64_t decisions_overdue = 0;    // of those, past their due date
  int64_t cases_open = 0;           // coordinated by the agency
  int64_t reviews_overdue = 0;      // of those, whose review date has passed
  int64_t changes_pending = 0;      // changes told once, not applied by the agency yet
  std::vector<TeamLoad> teams;      // the agency's teams
};

// For staff; kPermissionDenied otherwise. `today` is the deployment's date ("2026-12-02") and
// `day_start` the start of it.
core::StatusOr<Glance> AtAGlance(storage::Database& db, const authz::Principal& who, core::Timestamp now,
                                 const std::string& today, core::Timestamp day_start);

}  // namespace metrics
