#pragma once

#include <optional>
#include <string>
#include <vector>

#include "access/access_gate.h"
#include "access/data_categories.h"
#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "exchange/outbox.h"
#include "storage/database.h"

// Every contact with a person through any channel (the desk, the phone, the web, e-mail, an
// outreach visit), recorded against the person or anonymously: which agency and office, what it
// was about, how it ended (resolved at the first contact, referred, booked, needs follow-up),
// how long it took, and afterwards how satisfied the person was. Other agencies see where the
// person has been (the "contacts" category of the deployment, under the access gate); the notes
// and the person's comment stay with the agency that recorded them.
namespace frontoffice {

const std::vector<std::string>& Channels();  // desk, phone, web, email, outreach
const std::vector<std::string>& Outcomes();  // resolved, referred, booked, follow_up
std::string ChannelLabel(const std::string& channel);  // "At the desk"
std::string OutcomeLabel(const std::string& outcome);  // "Resolved at the first contact"

struct Interaction {
  int64_t id = 0;
  std::optional<core::PersonId> person;
  core::AgencyId agency;
  std::string agency_name;
  std::optional<int64_t> office;
  std::string office_name;
  std::string channel;
  std::string topic;
  std::string service_id;  // a service of the directory, if the contact was about one
  std::string outcome;
  std::optional<int64_t> duration_seconds;
  std::string recorded_by;
  core::Timestamp at;
  std::optional<int> satisfaction;  // 1 to 5
  // Only for the agency that recorded the contact; empty and `own` false for the others.
  bool own = false;
  std::string note;
  std::string satisfaction_comment;
};

struct NewInteraction {
  std::optional<core::PersonId> person;  // none: an anonymous contact (an enquiry)
  std::optional<int64_t> office;
  std::string channel;
  std::string topic;
  std::string service_id;
  std::string outcome;
  std::optional<int64_t> duration_minutes;
  std::string note;
};

struct Recorded {
  Interaction interaction;
  // The person's link to say how it went (/feedback/TOKEN), given once; only its hash is kept.
  std::string feedback_token;
};

struct PersonContacts {
  std::vector<Interaction> items;  // newest first
  std::string withheld;            // why the contacts are withheld from the caller, if they are
};

inline constexpr char kContactsRecord[] = "interaction";  // the record kind in data-categories.yaml

// Thread-safe. Every record and read is audited (interaction.create, interaction.list on the
// person); a new contact sends `interaction.recorded`, a rating `interaction.rated`.
class InteractionService {
 public:
  InteractionService(storage::Database& db, const authz::DataCategories& categories, const authz::AccessGate& gate,
                     audit::AuditLog& audit, exchange::Outbox& outbox, const core::Clock& clock);

  // Staff with a client role. kInvalidArgument naming channel, outcome, topic (1-200
  // characters), note (up to 2,000), duration_minutes (0 to 600), office_id (an office of the
  // caller's agency) or service_id (not in the directory); kNotFound (person); kPermissionDenied
  // (audited) when the gate withholds the person's contacts from the caller.
  // `read_errors` are the fields the caller could not read (minutes that are not a number); they
  // are named with every other mistake. The same contact with a person sent again within two
  // minutes by the same member of staff (a form sent twice) is kAlreadyExists, recorded once.
  core::StatusOr<Recorded> Record(const authz::Principal& who, const NewInteraction& in,
                                  std::vector<core::FieldError> read_errors = {});

  // The person's contacts with every agency, as far as the gate lets the caller see them.
  core::StatusOr<PersonContacts> ForPerson(const authz::Principal& who, core::PersonId person);

  // The caller's agency's contacts of one day (UTC, "2026-12-02"), newest first, anonymous ones
  // included; no person's data, only whether there was a person. Client roles.
  core::StatusOr<std::vector<Interaction>> AgencyDay(const authz::Principal& who, core::Date day);

  // A rating by staff of their own agency's contact (from a paper or kiosk survey).
  core::StatusOr<Interaction> Rate(const authz::Principal& who, int64_t id, int score, const std::string& comment);

  // The person's own rating, by the link of the contact: once, within 30 days. kNotFound for an
  // unknown or used link, kInvalidArgument naming score (1 to 5) or comment (up to 1,000).
  core::Status Feedback(const std::string& token, int score, const std::string& comment);
  // Whether the link can still be used, and what the contact was about (the topic and agency).
  core::StatusOr<Interaction> FeedbackFor(const std::string& token);

  core::Date Today() const { return clock_.Now().UtcDate(); }

 private:
  core::StatusOr<std::vector<Interaction>> Load(storage::Transaction& tx, const std::string& where,
                                                const storage::Params& params, core::AgencyId viewer);
  core::Status DenyAudited(const authz::Principal& who, const std::string& action, std::optional<core::PersonId> person,
                           const std::string& message);
  std::string ContactsCategory() const;

  storage::Database& db_;
  const authz::DataCategories& categories_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
};

}  // namespace frontoffice
