#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "access/access_gate.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "eligibility/rule_set.h"
#include "eligibility/screening.h"
#include "exchange/outbox.h"
#include "registry/household_service.h"
#include "registry/person_service.h"
#include "storage/database.h"

namespace eligibility {

struct ScreeningRequest {
  // A registered household: its members come from the registry, in order, each with `age`
  // worked out from a full birth date, and household_size is their number unless given. Its
  // members on `as_of` for a date before today (those who lived there then), its current
  // members otherwise.
  std::optional<core::HouseholdId> household;
  // The answers. With a household, members[i] adds answers for its i-th member (above).
  HouseholdInput input;
  std::optional<core::Date> as_of;  // today when empty
  // False to screen a registered household without saving the screening: the portal's
  // questionnaire, while it still has questions to ask.
  bool save = true;
  // The key of the staff form that sent it, new each time the form is shown: a screening sent
  // again with the same key by the same account, with the same date and answers (the page
  // reloaded, the button pressed twice), is the one saved the first time, not a second one.
  // Empty: none (the API, the portal).
  std::string form_token;
};

struct ScreeningRecord {
  int64_t id = 0;  // 0 when the screening was not saved (no registered household)
  std::optional<core::HouseholdId> household;
  core::Timestamp created_at;
  int64_t created_by = 0;
  int64_t agency = 0;
  core::Date as_of;
  HouseholdInput input;     // as screened, registry facts included (Screen only)
  Screening result;         // Screen only
  std::string result_json;  // the stored form (see ScreeningJson)
  // Screen only: the screening its form had saved already (ScreeningRequest::form_token); id and
  // created_at are that one's, and nothing was saved or told this time.
  bool repeated = false;
};

// The screening as JSON text: as_of, rules hash and every program's result with its tests and
// trace. Stored with the household and returned by the API.
std::string ScreeningJson(const Screening& s);

// Screens households against every program of the loaded rules, saves the screenings of
// registered households with their audit entries, and reads them back through the gate.
// Thread-safe.
class ScreeningService {
 public:
  ScreeningService(storage::Database& db, const RuleSet& rules, registry::PersonService& persons,
                   registry::HouseholdService& households, const authz::AccessGate& gate, audit::AuditLog& audit,
                   exchange::Outbox& outbox, const core::Clock& clock)
      : db_(db), rules_(rules), persons_(persons), households_(households), gate_(gate), audit_(audit),
        outbox_(outbox), clock_(clock) {}

  // Screens `request`. With a household: the household is read through the gate (audited),
  // and the screening is saved in one transaction with an audit entry for each member and a
  // `screening.completed` event. Returns kInvalidArgument naming the field of a bad answer,
  // kNotFound / kPermissionDenied from the household. A person signed in to the portal screens
  // their own household: its members' ages are worked out from their records without
  // releasing them, and each member's record shows the screening in its access log.
  core::StatusOr<ScreeningRecord> Screen(const authz::Principal& who, const ScreeningRequest& request);
  // A saved screening; each member's read is decided by the gate and audited.
  core::StatusOr<ScreeningRecord> Get(const authz::Principal& who, int64_t id);
  // Whether Get would give `who` screening `id`, decided without reading it for them or recording
  // anything: for offering a link only where it opens (an application's page, to the agency
  // deciding a part, which sees the answers with the application).
  bool MayRead(const authz::Principal& who, int64_t id);
  // A household's saved screenings, newest first.
  core::StatusOr<std::vector<ScreeningRecord>> ForHousehold(const authz::Principal& who, core::HouseholdId household,
                                                            int limit);
  // The same for a household the caller has just read through HouseholdService::Get (gated and
  // audited there): its members are not read, nor recorded as read, a second time.
  core::StatusOr<std::vector<ScreeningRecord>> ForReadHousehold(
      const authz::Principal& who, const registry::Household& household, int limit);

  const RuleSet& rules() const { return rules_; }
  core::Date Today() const;
  // The day whose members a registered household is screened with on `as_of`: that date when it
  // is before today (those who lived there then), "" otherwise (its current members), as
  // Membership::LivedThereOn takes it.
  std::string MembersDay(core::Date as_of) const;
  // Whether `as_of` is further ahead than screenings go (two years): refused, as rules are written
  // for the years around now and every member's age would be impossible.
  bool TooFarAhead(core::Date as_of) const;

 private:
  // `made_by` is the agency that made the screening (0 for several or for the portal): its staff
  // read what they asked and were answered, whether or not the agency holds the members.
  core::Status AuditMembers(const authz::Principal& who, const std::string& action,
                            int64_t screening, const std::vector<core::PersonId>& members,
                            int64_t made_by);
  // The gate's decision on each member, for a screening `made_by` made (above); nothing recorded.
  std::vector<authz::Decision> DecideMembers(const authz::Principal& who,
                                             const std::vector<core::PersonId>& members,
                                             int64_t made_by, storage::Transaction* tx) const;
  // Screening `id` (left empty when there is none) and the people it was made for: its
  // household's members on its day (its date, or the day it was made if that came first).
  core::Status ReadWithMembers(int64_t id, std::optional<ScreeningRecord>& found,
                               std::vector<core::PersonId>& members);

  storage::Database& db_;
  const RuleSet& rules_;
  registry::PersonService& persons_;
  registry::HouseholdService& households_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
};

}  // namespace eligibility
