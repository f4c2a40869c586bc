#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access/access_gate.h"
#include "access/data_categories.h"
#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "cases/intake.h"
#include "exchange/outbox.h"
#include "cases/work_queue.h"
#include "storage/database.h"

// Referrals: a worker of one agency refers a person, with the person's consent, to another
// agency (or one of its services), which answers within a time limit set by the urgency.
//
//   sent ──receive──> received ──accept──> accepted ──start──> in_progress ──complete──> completed
//     │                  │                    │                     │
//     ├──accept/decline──┴──decline──> declined                     ├──close──> closed
//     │                                       └──close──> closed    │
//     └───────── withdraw (by the sender, from any open state) ─────┴──> withdrawn
//
// Accepting or declining a referral still `sent` receives it in the same step.
namespace cases {

enum class ReferralState { kSent, kReceived, kAccepted, kDeclined, kInProgress, kCompleted, kClosed, kWithdrawn };
std::string_view ReferralStateName(ReferralState s);  // "in_progress"
core::StatusOr<ReferralState> ParseReferralState(std::string_view name);
// Declined, completed, closed and withdrawn: nothing follows.
bool IsFinal(ReferralState s);

enum class Urgency { kRoutine, kSoon, kUrgent };
std::string_view UrgencyName(Urgency u);  // "routine"
core::StatusOr<Urgency> ParseUrgency(std::string_view name);

enum class ReferralAction { kReceive, kAccept, kDecline, kStart, kComplete, kClose, kWithdraw };
std::string_view ReferralActionName(ReferralAction a);  // "accept"
core::StatusOr<ReferralAction> ParseReferralAction(std::string_view name);
// The actions `s` allows, in the order a page offers them.
std::vector<ReferralAction> AllowedActions(ReferralState s);
// Whether the sending agency takes `a` (withdraw) or the receiving one (every other).
bool BySender(ReferralAction a);

struct ReferralEvent {
  std::string action;  // "sent", "received", "accepted"...
  std::string from_state;
  std::string to_state;
  int64_t user = 0;  // 0 for an API token
  std::string actor;
  core::AgencyId agency;
  core::Timestamp at;
  std::string note;
};

struct Referral {
  int64_t id = 0;
  core::PersonId person;
  std::string person_name;  // as the sender saw it when referring: the consent covers it
  core::AgencyId from_agency;
  std::string from_agency_name;
  int64_t from_user = 0;
  std::string from_actor;
  core::AgencyId to_agency;
  std::string to_agency_name;
  std::string service;  // the service asked for, free text; may be empty
  Urgency urgency = Urgency::kRoutine;
  std::string message;
  int64_t consent_id = 0;
  ReferralState state = ReferralState::kSent;
  std::string reason;   // why it was declined or withdrawn
  std::string outcome;  // how it was completed or closed
  core::Timestamp respond_by;  // accepted or declined by then
  std::optional<core::Timestamp> answered_at;
  core::Timestamp created_at;
  core::Timestamp updated_at;
  int64_t version = 0;
  std::vector<ReferralEvent> events;  // oldest first

  // Still waiting for an answer (sent or received) after respond_by.
  bool OverdueAt(core::Timestamp now) const;
};

struct NewReferral {
  core::PersonId person;
  std::optional<core::AgencyId> to_agency;
  std::string service;
  std::optional<Urgency> urgency;
  std::string message;
  int64_t consent_id = 0;
};

// Working days (Monday to Friday) the receiving agency has to accept or decline, by urgency.
struct ReferralOptions {
  int urgent_days = 1;
  int soon_days = 3;
  int routine_days = 10;
};

// `from` plus `days` working days, the same time of day; a start on a weekend counts from
// the Monday after.
core::Timestamp AddWorkingDays(core::Timestamp from, int days);

enum class Box { kReceived, kSent };

struct ReferralQuery {
  Box box = Box::kReceived;
  // "open" (not final; the default), "all", or one state's name.
  std::string state = "open";
  int64_t after = 0;  // a referral id: the page after it (newest first: ids below it)
  int limit = 50;     // 1..200
};

struct ReferralPage {
  std::vector<Referral> items;  // newest first, without events
  std::optional<int64_t> next;  // the `after` of the next page
};

// Every change is one transaction with its audit entry (about the person) and an outbox event
// (referral.sent, referral.received, referral.accepted, referral.declined, referral.started,
// referral.completed, referral.closed, referral.withdrawn). A referral is known to the
// casework roles (caseworker, specialist, coordinator, manager) of the two agencies and to the
// person themself; anyone else is answered kNotFound. Those staff work with it for a client
// purpose (service delivery, case work, eligibility, front desk), API tokens with the scope
// referrals:read (reading) or referrals:write (sending, acting); otherwise kPermissionDenied,
// audited. Each read of one is audited as a read of the person. Thread-safe.
class ReferralService {
 public:
  ReferralService(storage::Database& db, const authz::DataCategories& categories, const authz::AccessGate& gate,
                  audit::AuditLog& audit, exchange::Outbox& outbox, const core::Clock& clock,
                  ReferralOptions options = {});

  // kNotFound (no such person), kPermissionDenied (audited: no casework role, or the gate
  // refuses the sender the person's record), kInvalidArgument naming each wrong field:
  // to_agency_id (required; an agency other than the sender's), urgency (routine, soon or
  // urgent), message (1-2000 characters), service (at most 200), consent_id (required: the
  // person's consent, in force today, naming the receiving agency or its kind, for service
  // delivery or case work, covering the categories of the person's names and contact details).
  // `read_errors` are the fields a caller could not read into `r`: named with the rest, each field
  // once (without a person_id that could be read, nothing about the person is checked).
  core::StatusOr<Referral> Send(const authz::Principal& who, const NewReferral& r,
                                std::vector<core::FieldError> read_errors = {});
  // Takes `action` on referral `id` at `expected_version`. `note` is the reason (decline,
  // withdraw: required), the outcome (complete, close: required) or a remark (1-2000).
  // kNotFound (not a referral the caller knows of), kPermissionDenied (audited: the other
  // agency's action, a purpose or token scope that does not allow it, or the person),
  // kInvalidArgument (field note),
  // kFailedPrecondition naming the current state and the actions it allows, kAborted when
  // `expected_version` is not the current one.
  core::StatusOr<Referral> Act(const authz::Principal& who, int64_t id, ReferralAction action,
                               int64_t expected_version, const std::string& note);
  // With its events. kNotFound when the caller may not know of it.
  core::StatusOr<Referral> Get(const authz::Principal& who, int64_t id);
  // The caller agency's referrals, received or sent. kInvalidArgument (state, limit).
  core::StatusOr<ReferralPage> List(const authz::Principal& who, const ReferralQuery& q);
  // The referrals of `person` that the caller's agency sent or received (all of them for the
  // person themself), newest first.
  core::StatusOr<std::vector<Referral>> ForPerson(const authz::Principal& who, core::PersonId person);

  core::Timestamp Now() const { return clock_.Now(); }
  // With intake rules, a referral sent becomes work in the receiving agency's queues
  // (cases/work_queue.h), settled when it is answered or withdrawn.
  void SetIntake(const IntakeRules* intake) { intake_ = intake; }

  // Within the transaction that withdraws consent `consent_id`: every referral relying on it that
  // is still open (sent, received, accepted or in progress) is closed with the outcome saying so,
  // and its open work settled; recorded as done by `who`.
  static core::Status CloseOnWithdrawnConsent(storage::Transaction& tx, audit::AuditLog& audit,
                                              exchange::Outbox& outbox, const authz::Principal& who,
                                              int64_t consent_id, core::Timestamp now);

 private:
  // `who` acting for the receiving agency of referral `id`, when a joint team makes them do its
  // work (cases/work_queue.h, ActingFor); none otherwise, and none for the sending agency's staff
  // unless it is for a step of the receiving side.
  core::StatusOr<std::optional<authz::Principal>> ForReceiver(const authz::Principal& who, int64_t id,
                                                              bool receiving_action);
  static core::StatusOr<std::vector<Referral>> Load(storage::Transaction& tx, const std::string& where,
                                                    const storage::Params& params, bool events);
  core::Status DenyAudited(const authz::Principal& who, const std::string& action, const std::string& id,
                           std::optional<core::PersonId> person, const std::string& message);

  storage::Database& db_;
  const authz::DataCategories& categories_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
  const ReferralOptions options_;
  const IntakeRules* intake_ = nullptr;
};

}  // namespace cases
