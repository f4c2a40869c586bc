#pragma once

#include <optional>
#include <string>
#include <vector>

#include "access/principal.h"
#include "audit/audit_log.h"
#include "cases/intake.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/ids.h"
#include "core/status.h"
#include "exchange/outbox.h"
#include "storage/database.h"

// Tiered work queues (NAV's way): each agency has front-line and specialist teams; incoming
// work (a referral received, a part of an application to decide) is classified by the intake
// rules and routed to a team of the tier they say, with the skills they ask for; members claim
// it, release it, escalate it to the specialists or finish it; managers assign and reassign.
//
//   open ──claim / assign──> claimed ──done──> done
//    ^  └──escalate──> open (specialist)        │
//    └─────────release / escalate───────────────┘
namespace cases {

// An agency whose work a team of another agency does (a joint team), under a sharing agreement
// that lets the team's agency receive that agency's data.
struct JointAgency {
  core::AgencyId agency;
  std::string name;
  int64_t agreement = 0;
};

struct Team {
  int64_t id = 0;
  core::AgencyId agency;
  std::string name;
  std::string tier;  // front_line, specialist
  std::vector<std::string> skills;
  std::vector<std::pair<int64_t, std::string>> members;  // user id, username
  std::string agency_name;
  std::vector<JointAgency> joint;  // the other agencies whose work it does
};

// A team of another agency that the caller's agency may give its work to, and the agreement
// that allows it.
struct JointCandidate {
  Team team;
  int64_t agreement = 0;
};

// Whether `who` works in a joint team doing `agency`'s work under an agreement in force on
// `today`; then `who` acting for `agency`, named so ("ana.city for State Benefits"), so that
// the agency's work (its referrals, its parts of applications) may be done and audited as
// such. None when `who` is of `agency` or in no such team.
core::StatusOr<std::optional<authz::Principal>> ActingFor(storage::Transaction& tx, const authz::Principal& who,
                                                          core::AgencyId agency, core::Date today);

struct WorkItem {
  int64_t id = 0;
  core::AgencyId agency;
  std::string source;  // referral, application_part, case_action
  int64_t source_id = 0;
  core::PersonId person;
  std::string title;
  std::string complexity;  // simple, complex
  std::string tier;
  std::string rule;  // the intake rule that routed it
  int64_t team = 0;  // 0: no team of that tier yet
  std::string team_name;
  std::string state;  // open, claimed, done
  int64_t assignee_user = 0;
  std::string assignee;
  bool escalated = false;
  std::optional<core::Date> due;
  core::Timestamp created_at;
  int64_t version = 0;
  int64_t parent = 0;         // an application part's application, a case action's case
  std::string Link() const;  // the page of the work: /referrals/7, /applications/3, /cases/2
};

// What arrives: the source, the person, a title without personal data beyond the name the
// agency receives anyway, the facts for the intake rules, and a due date if any.
struct WorkIn {
  core::AgencyId agency;
  std::string source;
  int64_t source_id = 0;
  core::PersonId person;
  std::string title;
  IntakeFacts facts;  // kind, urgency, program, expedited; `agencies` is filled in
  std::optional<core::Date> due;
};

enum class WorkAction { kClaim, kRelease, kAssign, kEscalate, kDone };
core::StatusOr<WorkAction> ParseWorkAction(std::string_view name);  // claim, release, ...

// Every change is audited (about the person) and sends an event (work.queued, work.claimed,
// work.released, work.assigned, work.escalated, work.done). Thread-safe.
class WorkQueueService {
 public:
  WorkQueueService(storage::Database& db, const IntakeRules& intake, audit::AuditLog& audit,
                   exchange::Outbox& outbox, const core::Clock& clock);

  // Within the transaction that received the work: classifies and routes it.
  static core::Status Enqueue(storage::Transaction& tx, const IntakeRules& intake, exchange::Outbox& outbox,
                              core::Timestamp now, WorkIn in);
  // Within the transaction that settled the source (a referral answered, a part decided):
  // its open work is done.
  static core::Status Settle(storage::Transaction& tx, const std::string& source, int64_t source_id,
                             core::Timestamp now, const std::string& by);

  // Managers and administrators of an agency. kInvalidArgument: name (1-100, unique in the
  // agency), tier, skills ([a-z_]+).
  core::StatusOr<Team> CreateTeam(const authz::Principal& who, const std::string& name, const std::string& tier,
                                  const std::vector<std::string>& skills);
  // A staff member of the same agency joins a team. kInvalidArgument user_id.
  core::StatusOr<Team> AddMember(const authz::Principal& who, int64_t team, int64_t user);
  // The member leaves the team; the work they had claimed there goes back to the team, open.
  core::StatusOr<Team> RemoveMember(const authz::Principal& who, int64_t team, int64_t user);
  // A joint team: the caller's agency (its managers and administrators) gives its work to a team
  // of another agency, under agreement `agreement`: approved, in force, letting the team's agency
  // receive the caller's agency's data for case work or service delivery (kInvalidArgument
  // agreement_id otherwise). From then on the agency's work of the team's tier is routed to it
  // before the agency's own teams, and its members act for the agency on that work.
  core::StatusOr<Team> JoinTeam(const authz::Principal& who, int64_t team, int64_t agreement);
  // The caller's agency takes its work back: its open work at the team is routed again.
  core::StatusOr<Team> LeaveTeam(const authz::Principal& who, int64_t team);
  // Whether `who` acts for `agency` through a joint team today (ActingFor), for the pages to
  // offer that agency's steps.
  core::StatusOr<bool> ActsFor(const authz::Principal& who, core::AgencyId agency);
  // The teams of other agencies the caller's agency may give its work to, with the agreement.
  core::StatusOr<std::vector<JointCandidate>> JointCandidates(const authz::Principal& who);
  // The caller's agency's teams, and the joint teams of other agencies that do its work.
  core::StatusOr<std::vector<Team>> Teams(const authz::Principal& who);
  // The open and claimed work of the caller's teams (managers: all of the agency's, the
  // work without a team first), soonest due first.
  core::StatusOr<std::vector<WorkItem>> Queue(const authz::Principal& who);
  // kNotFound (not the agency's), kPermissionDenied (audited: not a member of the team, not
  // the assignee, or not a manager), kFailedPrecondition naming the state and what it allows,
  // kAborted (version), kInvalidArgument (note: to escalate; user_id: to assign).
  core::StatusOr<WorkItem> Act(const authz::Principal& who, int64_t item, WorkAction action, int64_t version,
                               const std::string& note, int64_t user = 0);

 private:
  storage::Database& db_;
  const IntakeRules& intake_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
};

}  // namespace cases
