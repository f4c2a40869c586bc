#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access/access_gate.h"
#include "access/data_categories.h"
#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/ids.h"
#include "core/status.h"
#include "cases/intake.h"
#include "exchange/outbox.h"
#include "storage/database.h"

// Multi-agency cases: a coordinator opens a case around a person (and their household) after
// checking the referral criteria; agencies join it with the person's consent; case conferences
// (the family among the attendees) agree an action plan of goals and actions assigned to
// agencies, and appoint a lead agency; reviews follow at a set cadence until the case closes
// with an outcome.
//
//   case:        open ──close (outcome and reason)──> closed
//   conference:  scheduled ──record (minutes, decisions)──> held
//                    └──────cancel (reason)──────────────> cancelled
//   goal:        open ──> achieved | dropped
//   action:      open ──> done | cancelled
namespace cases {

struct CaseParticipant {
  core::AgencyId agency;
  std::string agency_name;
  int64_t consent_id = 0;  // 0 for the coordinating agency, which opened the case
  core::Timestamp joined_at;
  std::string joined_by;
};

struct Conference {
  int64_t id = 0;
  core::Timestamp scheduled_at;
  std::string place;
  std::string attendees;  // one per line: "Ada Okafor (the mother)", "caseworker.state"...
  std::string state;      // scheduled, held, cancelled
  std::string minutes;
  std::string decisions;
  std::optional<core::Timestamp> recorded_at;
  std::string recorded_by;
};

// A goal of the plan, or an action towards one (or towards the plan as a whole).
struct PlanItem {
  int64_t id = 0;
  std::string kind;  // goal, action
  int64_t goal_id = 0;
  std::string text;
  core::AgencyId agency;  // actions: the agency that does it
  std::string agency_name;
  std::string assignee;                 // actions: a worker, optional
  std::optional<core::Date> due;        // actions
  std::string state;                    // goal: open, achieved, dropped; action: open, done, cancelled
  std::string note;
  core::Timestamp updated_at;

  // An open action past its due date (of an open case: the caller checks the case).
  bool OverdueOn(core::Date today) const { return kind == "action" && state == "open" && due && *due < today; }
};

// One line of the case's timeline.
struct CaseEvent {
  core::Timestamp at;
  std::string actor;
  core::AgencyId agency;
  std::string kind;  // opened, participant_added, lead_appointed, conference_scheduled, ...
  std::string text;
};

struct Case {
  int64_t id = 0;
  core::PersonId person;
  std::string person_name;
  std::optional<core::HouseholdId> household;
  std::string title;
  std::string criteria;  // the referral criteria the coordinator checked
  int64_t coordinator_user = 0;
  std::string coordinator;
  core::AgencyId coordinating_agency;
  std::string coordinating_agency_name;
  std::optional<core::AgencyId> lead_agency;
  std::string lead_agency_name;
  std::string state;  // open, closed
  int review_every_days = 28;
  core::Timestamp next_review_at;
  std::string outcome;
  std::string close_reason;
  core::Timestamp opened_at;
  std::optional<core::Timestamp> closed_at;
  int64_t version = 0;
  std::vector<CaseParticipant> participants;
  std::vector<Conference> conferences;  // by date
  std::vector<PlanItem> plan;           // goals and actions, in the order added
  std::vector<CaseEvent> timeline;      // oldest first

  bool ReviewOverdueAt(core::Timestamp now) const { return state == "open" && now.micros > next_review_at.micros; }
};

struct NewCase {
  core::PersonId person;
  std::optional<core::HouseholdId> household;
  std::string title;
  std::string criteria;
  int review_every_days = 28;
};

struct NewConference {
  std::optional<core::Timestamp> scheduled_at;
  std::string place;
  std::string attendees;
};

struct NewAction {
  int64_t goal_id = 0;  // 0: towards the plan as a whole
  std::string text;
  std::optional<core::AgencyId> agency;
  std::string assignee;
  std::optional<core::Date> due;
};

// "2026-03-02T10:00" (seconds, fractions and a final Z allowed), in UTC; kInvalidArgument
// otherwise.
core::StatusOr<core::Timestamp> ParseDateTime(std::string_view text);

// Every change takes the case's version as the caller loaded it (kAborted when it moved on), is
// one transaction with a line on the timeline, an audit entry about the person and an outbox
// event ("case.opened", "case.participant_added", "case.lead_appointed",
// "case.conference_scheduled", "case.conference_held", "case.conference_cancelled",
// "case.goal_added", "case.goal_achieved", "case.goal_dropped", "case.action_added",
// "case.action_done", "case.action_cancelled", "case.reviewed", "case.closed").
//
// Who: coordinators and managers open cases, for a client purpose, for a person the access gate
// lets their agency see; their agency coordinates. The coordinating agency's coordinators and
// managers run the case (participants, lead agency, conferences, plan, reviews, closure). The
// casework roles (caseworker, specialist, coordinator, manager) of every participating agency
// read it and mark their agency's actions done or cancelled. API tokens need cases:read or
// cases:write. Anyone else does not know the case (kNotFound); a participant that may not do
// something is refused (kPermissionDenied, audited). Thread-safe.
class CaseService {
 public:
  CaseService(storage::Database& db, const authz::DataCategories& categories, const authz::AccessGate& gate,
              audit::AuditLog& audit, exchange::Outbox& outbox, const core::Clock& clock);

  // kInvalidArgument: title (1-200), criteria (1-2000), review_every_days (7-365), household
  // (the person must be a member).
  core::StatusOr<Case> Open(const authz::Principal& who, const NewCase& c);
  // The agency joins with the person's consent: in force, naming the agency or its kind, for
  // case work or service delivery, covering the person's names and contact details
  // (kInvalidArgument on consent_id otherwise; agency_id when already in or unknown).
  core::StatusOr<Case> AddParticipant(const authz::Principal& who, int64_t id, int64_t version, core::AgencyId agency,
                                      int64_t consent_id);
  // The agency leaves the case (a reason, 1-500, is required); a lead agency leaving leaves the
  // case without a lead. The coordinating agency cannot leave: it closes the case instead.
  core::StatusOr<Case> RemoveParticipant(const authz::Principal& who, int64_t id, int64_t version,
                                         core::AgencyId agency, const std::string& reason);
  // Within the transaction that withdraws consent `consent_id`: every agency that joined an open
  // case on it leaves that case, recorded as done by `who`.
  static core::Status LeaveOnWithdrawnConsent(storage::Transaction& tx, audit::AuditLog& audit,
                                              exchange::Outbox& outbox, const authz::Principal& who,
                                              int64_t consent_id, core::Timestamp now);
  // The lead agency must be participating.
  core::StatusOr<Case> AppointLead(const authz::Principal& who, int64_t id, int64_t version, core::AgencyId agency);
  // `read_errors`: what the caller could not read (a date that is none), named with the rest.
  core::StatusOr<Case> ScheduleConference(const authz::Principal& who, int64_t id, int64_t version,
                                          const NewConference& c,
                                          std::vector<core::FieldError> read_errors = {});
  // `held`: minutes and decisions required; otherwise cancelled with `minutes` as the reason.
  core::StatusOr<Case> RecordConference(const authz::Principal& who, int64_t id, int64_t version, int64_t conference,
                                        bool held, const std::string& minutes, const std::string& decisions);
  core::StatusOr<Case> AddGoal(const authz::Principal& who, int64_t id, int64_t version, const std::string& text);
  core::StatusOr<Case> AddAction(const authz::Principal& who, int64_t id, int64_t version, const NewAction& a);
  // Goals: achieved or dropped; actions: done or cancelled. A note is required to drop or
  // cancel. kFailedPrecondition when the item is no longer open.
  core::StatusOr<Case> SetItemState(const authz::Principal& who, int64_t id, int64_t version, int64_t item,
                                    const std::string& state, const std::string& note);
  // A periodic review: notes required; the next is due review_every_days later.
  core::StatusOr<Case> Review(const authz::Principal& who, int64_t id, int64_t version, const std::string& notes);
  // kFailedPrecondition when already closed, or while a conference is still scheduled.
  core::StatusOr<Case> Close(const authz::Principal& who, int64_t id, int64_t version, const std::string& outcome,
                             const std::string& reason);

  core::StatusOr<Case> Get(const authz::Principal& who, int64_t id);
  // The cases the caller's agency takes part in ("open", "closed" or "all"), newest first,
  // without their details.
  core::StatusOr<std::vector<Case>> List(const authz::Principal& who, const std::string& state);
  // The cases of `person` the caller's agency takes part in (all of them for the person).
  core::StatusOr<std::vector<Case>> ForPerson(const authz::Principal& who, core::PersonId person);

  core::Timestamp Now() const { return clock_.Now(); }
  // With intake rules, each action of a plan becomes work in its agency's queues
  // (cases/work_queue.h), settled when it is marked done or cancelled.
  void SetIntake(const IntakeRules* intake) { intake_ = intake; }

 private:
  struct Change;
  core::StatusOr<Case> Mutate(const authz::Principal& who, int64_t id, int64_t version, const std::string& action,
                              bool coordinator_only, const std::function<core::Status(storage::Transaction&, Case&, Change&)>& apply);
  static core::StatusOr<std::vector<Case>> Load(storage::Transaction& tx, const std::string& where,
                                                const storage::Params& params, bool details);
  core::Status DenyAudited(const authz::Principal& who, const std::string& action, const std::string& id,
                           std::optional<core::PersonId> person, const std::string& message);

  storage::Database& db_;
  const authz::DataCategories& categories_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
  const IntakeRules* intake_ = nullptr;
};

}  // namespace cases
