#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access/access_gate.h"
#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/ids.h"
#include "core/status.h"
#include "eligibility/rule_set.h"
#include "cases/intake.h"
#include "exchange/outbox.h"
#include "storage/database.h"

// Apply once: from a saved screening, one application to several programs of several
// agencies, the screening's answers reused. Each program's part is decided by the agency that
// owns the program, within the program's statutory clock:
//
//   pending ──approve──> approved
//      │ ├──deny (reason)──> denied
//      │ └──request_information (what is needed)──> more_information
//      └────────<──information_received──────────────────┘
namespace cases {

struct ApplicationPart {
  int64_t id = 0;
  std::string program;
  std::string program_name;
  core::AgencyId agency;  // the agency that owns the program and decides
  std::string agency_name;
  std::string screened;  // the screening's result: eligible, not_eligible, unknown, error, not_in_force
  std::string state;     // pending, approved, denied, more_information
  bool expedited = false;
  core::Date received;
  core::Date due;
  std::string clock;  // "30 days (7 CFR 273.2(g)(1))", or the deployment's default
  std::string reason;   // why denied
  std::string request;  // what more information is needed
  std::string answer;   // the person's answer to the request, from the portal
  std::optional<core::Timestamp> answered_at;
  std::optional<core::Timestamp> decided_at;
  std::string decided_by;
  int64_t version = 0;

  bool Open() const { return state == "pending" || state == "more_information"; }
  bool OverdueOn(core::Date today) const { return Open() && due < today; }
};

struct Application {
  int64_t id = 0;
  core::PersonId applicant;
  std::string applicant_name;
  core::HouseholdId household;
  int64_t screening_id = 0;
  core::AgencyId agency;  // where it was made; unset when the person applied in the portal
  std::string agency_name;
  std::string made_by;
  std::string answers;  // the screening's answers, as JSON text
  core::Timestamp created_at;
  std::vector<ApplicationPart> parts;  // for staff of an owning agency only, its own

  bool FromPortal() const { return !agency.valid(); }
};

struct NewApplication {
  int64_t screening_id = 0;
  core::PersonId applicant;
  std::vector<std::string> programs;
  std::vector<std::string> expedited;  // programs, among `programs`, asked for expedited service
};

enum class PartDecision { kApprove, kDeny, kRequestInformation, kInformationReceived };
core::StatusOr<PartDecision> ParsePartDecision(std::string_view name);  // approve, deny, ...

struct ApplicationOptions {
  // The IANA time zone whose calendar the statutory clocks count in ("Pacific/Auckland").
  std::string time_zone = "UTC";
  int default_days = 30;  // for a program whose pack gives no decision_clock
};

// The calendar date of `t` in `time_zone` (IANA name). kInvalidArgument for an unknown zone.
core::StatusOr<core::Date> LocalDate(core::Timestamp t, const std::string& time_zone);

// Every step is one transaction with its audit entry about the applicant and an outbox event
// (application.submitted, application.part_approved, application.part_denied,
// application.information_requested, application.information_received). Staff with a client
// role (casework roles to decide) work with applications for a client purpose; API tokens need
// applications:read or applications:write. The agency where it was made sees every part; an
// agency that owns a program applied for sees the answers and its own parts; the person sees
// everything; anyone else does not know the application (kNotFound). Thread-safe.
class ApplicationService {
 public:
  // `rules` may be null (no rule packs loaded): every part then has the default clock.
  ApplicationService(storage::Database& db, const authz::AccessGate& gate, const eligibility::RuleSet* rules,
                     audit::AuditLog& audit, exchange::Outbox& outbox, const core::Clock& clock,
                     ApplicationOptions options = {});

  // A person signed in to the portal applies for themself, from a screening of their own
  // household: the application is made at no agency, and each owning agency sees only its parts.
  // kNotFound (no such screening), kPermissionDenied (audited: role, purpose, scope, the
  // gate refuses the applicant, or a person applying for someone else), kInvalidArgument naming
  // applicant_id (not a current member
  // of the screened household), programs (none, unknown to the screening, listed twice, or an
  // owning agency this deployment does not have) and expedited (not applied for, or a program
  // without expedited service).
  core::StatusOr<Application> Apply(const authz::Principal& who, const NewApplication& a);
  // Decides part `part` at its `expected_version`. `note` is the reason (deny) or what is
  // needed (request_information), required for those, at most 2000 characters.
  // kNotFound (unknown, or not the caller agency's part), kPermissionDenied (audited: not a
  // casework role), kFailedPrecondition naming the state and what it allows, kAborted (version).
  // `application`, when given, is the application the caller means (its page's address): a part
  // of another is kNotFound, nothing decided.
  core::StatusOr<Application> Decide(const authz::Principal& who, int64_t part,
                                     PartDecision decision, int64_t expected_version,
                                     const std::string& note,
                                     std::optional<int64_t> application = std::nullopt);
  // The person answers a request for more information from the portal: the part goes back to
  // pending with the answer (1 to 2000 characters) kept beside the request, audited as
  // application.answer and announced as application.information_received. kNotFound (not a part
  // of the person's own applications), kFailedPrecondition (no information is asked for),
  // kAborted (version), kInvalidArgument (answer).
  core::StatusOr<Application> Answer(const authz::Principal& citizen, int64_t part, int64_t expected_version,
                                     const std::string& answer);
  core::StatusOr<Application> Get(const authz::Principal& who, int64_t id);
  // The parts the caller's agency decides: "open" (pending or more information; the default),
  // "decided" or "all"; soonest due first. With their applications, without the answers.
  core::StatusOr<std::vector<Application>> ToDecide(const authz::Principal& who, const std::string& state);
  core::StatusOr<std::vector<Application>> ForPerson(const authz::Principal& who, core::PersonId person);

  core::Date Today() const;
  // The calendar day of `t` in the deployment's time zone, the one the statutory clocks count in:
  // what pages show as the day an application was made or decided.
  core::Date LocalDay(core::Timestamp t) const;
  core::Timestamp Now() const { return clock_.Now(); }
  // With intake rules, each part becomes work in the owning agency's queues
  // (cases/work_queue.h), settled when it is approved or denied.
  void SetIntake(const IntakeRules* intake) { intake_ = intake; }

 private:
  core::StatusOr<std::vector<Application>> Load(storage::Transaction& tx, const std::string& where,
                                                const storage::Params& params, const authz::Principal& who) const;
  core::Status DenyAudited(const authz::Principal& who, const std::string& action, const std::string& id,
                           std::optional<core::PersonId> person, const std::string& message);

  storage::Database& db_;
  const authz::AccessGate& gate_;
  const eligibility::RuleSet* rules_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
  const ApplicationOptions options_;
  const IntakeRules* intake_ = nullptr;
};

}  // namespace cases
