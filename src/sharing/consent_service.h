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
#include "exchange/outbox.h"
#include "storage/database.h"

// A person's consents to share their data (fields after ISO/IEC TS 27560): with which agency
// or kind of agency, which data categories, for what purpose, on what legal basis, for how
// long, how to withdraw, and every event of the consent's life with its evidence.
namespace sharing {

// The stored state. A consent past its valid_to is expired whatever the stored state says
// (see Consent::StateOn).
enum class ConsentState { kActive, kPaused, kWithdrawn };

std::string_view ConsentStateName(ConsentState s);  // "active"

enum class ConsentScope { kFull, kPartial };
std::string_view ConsentScopeName(ConsentScope s);  // "full"
// kInvalidArgument for anything but full and partial.
core::StatusOr<ConsentScope> ParseConsentScope(std::string_view name);

enum class ConsentAction { kPause, kResume, kWithdraw };
// pause, resume or withdraw; kInvalidArgument otherwise.
core::StatusOr<ConsentAction> ParseConsentAction(std::string_view name);

// How a consent or an event of it is evidenced.
inline constexpr std::string_view kSignedForm = "signed_form";        // with a document reference
inline constexpr std::string_view kCitizenAction = "citizen_action";  // the person acted themself
inline constexpr std::string_view kStaffRecord = "staff_record";      // events only: staff noted it

// One step: given, paused, resumed, withdrawn (expired is derived from valid_to, never stored
// by a read).
struct ConsentEvent {
  std::string event;
  int64_t user = 0;   // 0 for an API token
  std::string actor;  // username or token name
  core::AgencyId agency;
  core::Timestamp at;
  std::string evidence;
  std::string document_ref;
  std::string
      reason;  // in the client's words: shown to the person and the agency that recorded the event
  bool reason_withheld = false;  // a reason kept from the reader (ConsentService::Get, ForPerson)
};

struct Consent {
  int64_t id = 0;
  core::PersonId person;
  // Either a receiving agency or a kind of agency ("government" or "nonprofit").
  std::optional<core::AgencyId> receiving_agency;
  std::string receiving_agency_code;
  std::string receiving_agency_name;
  std::string agency_kind;
  ConsentScope scope = ConsentScope::kPartial;
  std::vector<std::string> categories;  // declared category ids; for full, as listed (may be empty)
  authz::Purpose purpose = authz::Purpose::kServiceDelivery;
  std::string legal_basis;
  core::Date valid_from;
  std::optional<core::Date> valid_to;
  std::string how_to_withdraw;
  std::string evidence;  // signed_form or citizen_action
  std::string document_ref;
  int64_t recorded_by = 0;
  std::string recorded_by_name;
  core::AgencyId agency;  // of whoever recorded it
  core::Timestamp recorded_at;
  ConsentState state = ConsentState::kActive;
  int64_t version = 0;
  std::vector<ConsentEvent> events;  // oldest first

  // "active", "paused", "withdrawn", or "expired" when `date` is after valid_to (and it was
  // not withdrawn), "pending" before valid_from.
  std::string StateOn(core::Date date) const;
  // Active, and `date` within its period.
  bool InForceOn(core::Date date) const;
  // Whether it covers `category`: partial, when listed; full, when declared and not black.
  bool Covers(const authz::DataCategories& categories, std::string_view category) const;
};

struct ConsentGrant {
  std::optional<core::AgencyId> receiving_agency;
  std::string agency_kind;
  ConsentScope scope = ConsentScope::kPartial;
  std::vector<std::string> categories;
  authz::Purpose purpose = authz::Purpose::kServiceDelivery;
  std::string legal_basis;
  core::Date valid_from;
  std::optional<core::Date> valid_to;
  std::string how_to_withdraw;
  std::string evidence;  // signed_form or citizen_action; empty: citizen_action for a citizen
  std::string document_ref;
};

// The consents and their life:
//
//   given ──> active ──pause──> paused ──resume──> active
//                └─────────withdraw (from active or paused; final)─────────> withdrawn
//
// Recorded by staff with the caseworker, specialist, coordinator or manager role for a person
// the access gate lets them update, or by the person themself (a citizen may give and
// withdraw their own consent). Every step is one transaction with its audit entry on the
// person and an outbox event: consent.given, consent.paused, consent.resumed,
// consent.withdrawn. Reads are gated and audited like the person's record, and need a role that
// records consent (ReadsConsents): a consent says which agencies the person deals with, and why
// they paused or withdrew one is in their own words, which only the agency that recorded the
// step (and the person) reads. Thread-safe.
class ConsentService {
 public:
  ConsentService(storage::Database& db, const authz::DataCategories& categories,
                 const authz::AccessGate& gate, audit::AuditLog& audit, exchange::Outbox& outbox,
                 const core::Clock& clock);

  // Records a consent given by `person`. kNotFound (no such person), kPermissionDenied
  // (audited), kInvalidArgument naming every wrong field: receiving_agency_id / agency_kind
  // (exactly one; the agency must exist; kind government or nonprofit), categories (declared
  // ids; at least one for partial), purpose, legal_basis (1-500), valid_to (not before
  // valid_from), how_to_withdraw (1-500), evidence (signed_form with document_ref for staff,
  // citizen_action for the person), document_ref (at most 200). `read_errors` are the fields a
  // caller could not read into `grant` (a purpose that is no purpose): named with the rest, each
  // field once, after the person and the caller's right are checked.
  core::StatusOr<Consent> Give(const authz::Principal& who, core::PersonId person,
                               const ConsentGrant& grant,
                               std::vector<core::FieldError> read_errors = {});

  // Pauses, resumes or withdraws consent `id`. kNotFound; kPermissionDenied (audited; a
  // citizen may only withdraw their own); kInvalidArgument (field reason: over 500
  // characters, or missing when staff pause or withdraw); kFailedPrecondition when the state
  // does not allow it (pause needs active, resume paused; nothing after a withdrawal);
  // kAborted when it changed meanwhile.
  core::StatusOr<Consent> Record(const authz::Principal& who, int64_t id, ConsentAction action,
                                 const std::string& reason, const std::string& document_ref = "");

  // Whether `who` reads consents at all: the person themself, and staff or systems with a role
  // that records consent. Others are refused (audited) by Get and ForPerson.
  static bool ReadsConsents(const authz::Principal& who);

  // Gated and audited (`action` names the audit entry, e.g. consent.read). kNotFound. The
  // reasons of steps recorded by another agency are withheld from staff (reason_withheld).
  core::StatusOr<Consent> Get(const authz::Principal& who, int64_t id,
                              const std::string& action = "consent.read");
  // The person's consents, newest first; gated and audited. kNotFound (no such person).
  core::StatusOr<std::vector<Consent>> ForPerson(const authz::Principal& who,
                                                 core::PersonId person);

  // The consent of `person` in force on `date` for `category` and `purpose` with `agency`
  // (named, or by its kind `agency_kind`), or none: the newest that matches. Not audited: for
  // the access gate.
  // For the gate, within `tx`: the person's active consents for `purpose` that name `agency`
  // or its kind, newest first (check InForceOn and Covers on each).
  static core::StatusOr<std::vector<Consent>> ActiveFor(storage::Transaction& tx, core::PersonId person,
                                                        core::AgencyId agency, authz::Purpose purpose);

  core::StatusOr<std::optional<Consent>> Active(core::PersonId person, core::AgencyId agency,
                                                std::string_view agency_kind,
                                                std::string_view category, authz::Purpose purpose,
                                                core::Date date);

  core::Date Today() const;
  core::Timestamp Now() const { return clock_.Now(); }
  const authz::DataCategories& categories() const { return categories_; }

  // What else a withdrawal ends, run in the transaction that withdraws consent `consent_id` (the
  // referrals and case places that relied on it): a failure refuses the withdrawal. Set once,
  // before serving.
  using WithdrawalHook = std::function<core::Status(storage::Transaction&, int64_t consent_id,
                                                    const authz::Principal& who, core::Timestamp now)>;
  void OnWithdrawal(WithdrawalHook hook) { on_withdrawal_ = std::move(hook); }

 private:
  static core::StatusOr<std::vector<Consent>> Load(storage::Transaction& tx, const std::string& where,
                                            const storage::Params& params);
  // Withholds from staff the reasons of steps their agency did not record.
  static void ForReader(const authz::Principal& who, Consent& c);
  // Whether `who` may record for `person`: the gate for staff, own record for a citizen.
  authz::Decision MayRecord(const authz::Principal& who, core::PersonId person,
                            bool citizen_allowed) const;
  core::Status DenyAudited(const authz::Principal& who, const std::string& action,
                           const std::string& record_id, core::PersonId person,
                           const std::string& message);

  storage::Database& db_;
  const authz::DataCategories& categories_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
  WithdrawalHook on_withdrawal_;
};

}  // namespace sharing
