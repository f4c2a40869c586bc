#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access/data_categories.h"
#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/ids.h"
#include "exchange/outbox.h"
#include "storage/database.h"

// Governance of information sharing between the agencies of a consortium: sharing agreements,
// proposed by managers or governance users and decided by governance users, and the register
// of those in force. The access gate asks InForce() whether an agency may receive a category.
namespace sharing {

enum class AgreementState { kProposed, kApproved, kRefused, kRevoked };

std::string_view AgreementStateName(AgreementState s);  // "proposed"
// kInvalidArgument for anything but proposed, approved, refused and revoked.
core::StatusOr<AgreementState> ParseAgreementState(std::string_view name);

enum class AgreementDecision { kApprove, kRefuse, kRevoke };

// approve, refuse or revoke; kInvalidArgument otherwise.
core::StatusOr<AgreementDecision> ParseAgreementDecision(std::string_view name);

// The purposes an agreement may name: those for which staff work with client records.
const std::vector<authz::Purpose>& AgreementPurposes();

// A legal basis of exactly this word means the person's own consent: the agreement only
// allows sharing where the person has consented as well.
inline constexpr std::string_view kConsentBasis = "consent";

// One step of an agreement's life. `action` is proposed, approved (one governance user's
// approval: a grey-class agreement has two), refused or revoked.
struct AgreementEvent {
  std::string action;
  int64_t user = 0;   // 0 for an API token
  std::string actor;  // username or token name
  core::AgencyId agency;
  core::Timestamp at;
  std::string reason;  // required for refused and revoked
};

// Approval for `receiving_agency` to receive the data of `category` for `purpose`, from any
// agency that holds it, on `legal_basis`, from `valid_from` to `valid_to` (both included; no
// end when empty).
struct Agreement {
  int64_t id = 0;
  core::AgencyId receiving_agency;
  std::string receiving_agency_code;
  std::string receiving_agency_name;
  std::string category;
  authz::SharingClass sharing_class = authz::SharingClass::kWhite;  // when proposed
  authz::Purpose purpose = authz::Purpose::kServiceDelivery;
  std::string legal_basis;
  bool consent_required = false;  // the legal basis is kConsentBasis
  core::Date valid_from;
  std::optional<core::Date> valid_to;
  std::string description;  // what the receiving agency uses the data for
  AgreementState state = AgreementState::kProposed;
  int approvals_needed = 1;  // 1 for white, 2 for grey
  int64_t proposed_by = 0;
  core::Timestamp proposed_at;
  std::optional<core::Timestamp> decided_at;  // when it was approved, refused or revoked
  std::string reason;                         // of the refusal or revocation
  int64_t version = 0;
  std::vector<AgreementEvent> events;  // oldest first

  // The number of approvals recorded.
  int approvals() const;
  // Approved, and `date` is within its period.
  bool InForceOn(core::Date date) const;
};

struct Proposal {
  core::AgencyId receiving_agency;
  std::string category;
  authz::Purpose purpose = authz::Purpose::kServiceDelivery;
  std::string legal_basis;
  core::Date valid_from;
  std::optional<core::Date> valid_to;
  std::string description;
};

struct AgreementQuery {
  std::optional<AgreementState> state;
  std::optional<core::Date> in_force_on;  // only agreements in force on that date
  std::optional<core::AgencyId> receiving_agency;
  int limit = 50;     // 1..200
  int64_t after = 0;  // the last id of the previous page
};

struct AgreementServiceOptions {
  // How old the in-memory snapshot behind InForce may be before a call checks the database
  // for changes (one index probe). 0: every call checks.
  std::chrono::milliseconds max_staleness{0};
};

// The sharing agreements and their governance workflow:
//
//   proposed ──approve (1 governance user for white, 2 different ones for grey)──> approved
//      └──refuse (with a reason)──> refused           approved ──revoke (with a reason)──> revoked
//
// A black-class category can never be the subject of an agreement. Every step is one
// transaction with its audit entry and an outbox event: agreement.proposed,
// agreement.approval_recorded (the first of two approvals), agreement.approved,
// agreement.refused, agreement.revoked. Refusals of permission are audited too.
// Agreements are not personal data: reading them needs no role and is not audited.
// Thread-safe.
class AgreementService {
 public:
  AgreementService(storage::Database& db, const authz::DataCategories& categories,
                   audit::AuditLog& audit, exchange::Outbox& outbox, const core::Clock& clock,
                   AgreementServiceOptions options = {});

  // Proposes an agreement. Governance users may propose for any receiving agency, managers for
  // their own agency only; anyone else gets kPermissionDenied (audited). kInvalidArgument with
  // every wrong field named: receiving_agency_id (no such agency), category (not declared, or
  // black-class), purpose (not one of AgreementPurposes()), legal_basis (1-500 characters),
  // valid_to (before valid_from, or in the past), description (at most 1000 characters).
  core::StatusOr<Agreement> Propose(const authz::Principal& who, const Proposal& proposal);

  // Decides agreement `id`. Only signed-in governance users decide (kPermissionDenied,
  // audited, for anyone else and for API tokens). kInvalidArgument (field reason) when a
  // refusal or revocation has no reason, or a reason is over 500 characters. kNotFound.
  // kFailedPrecondition when the state does not allow the decision (approve and refuse need
  // a proposed agreement, revoke an approved one), when `who` already approved it, or when
  // its category is now black-class or no longer declared. kAborted when another decision on
  // it was saved meanwhile (nothing changed: look again).
  core::StatusOr<Agreement> Decide(const authz::Principal& who, int64_t id,
                                   AgreementDecision decision, const std::string& reason);

  // kNotFound.
  core::StatusOr<Agreement> Get(int64_t id);
  // Agreements by id; kInvalidArgument (field limit) for a limit outside 1..200.
  core::StatusOr<std::vector<Agreement>> List(const AgreementQuery& query);

  // The approved agreement that lets `agency` receive `category` for `purpose` on `date`, or
  // none. Where several are in force, the one that started last (then the newest). An
  // agreement whose category is now black-class or no longer declared is never in force.
  // Answers from an in-memory snapshot of the approved agreements, rebuilt when the newest
  // agreement event changed (see AgreementServiceOptions).
  core::StatusOr<std::optional<Agreement>> InForce(core::AgencyId agency, std::string_view category,
                                                   authz::Purpose purpose, core::Date date);

  // For the gate: per category of categories().categories() (in that order), the id of the
  // agreement InForce would give for `agency`, `purpose` and `date` (0: none) and whether it
  // needs consent. One snapshot check for all categories.
  struct CategoryAgreement {
    int64_t id = 0;
    bool consent_required = false;
  };
  core::StatusOr<std::vector<CategoryAgreement>> InForceByCategory(core::AgencyId agency, authz::Purpose purpose,
                                                                   core::Date date);

  // Today's date by the service's clock (UTC).
  core::Date Today() const;
  const authz::DataCategories& categories() const { return categories_; }

 private:
  struct Snapshot;
  core::StatusOr<std::shared_ptr<const Snapshot>> CurrentSnapshot();
  core::StatusOr<std::vector<Agreement>> Load(storage::Transaction& tx, const std::string& where,
                                              const storage::Params& params);
  // Audits a refusal of permission in its own write, then returns kPermissionDenied(message).
  core::Status DenyAudited(const authz::Principal& who, const std::string& action,
                           const std::string& record_id, const std::string& message);

  storage::Database& db_;
  const authz::DataCategories& categories_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
  const AgreementServiceOptions options_;
  std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;          // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point checked_at_;  // GUARDED_BY(mu_)
};

}  // namespace sharing
