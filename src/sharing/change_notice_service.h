#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "access/access_gate.h"
#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/ids.h"
#include "exchange/outbox.h"
#include "storage/database.h"

// Tell us once: the change notices each agency receives when another changes the data of a
// person it knows (registry/change_notices.h writes them with the change), the feed an agency
// reads them from, the acknowledgement that it applied a change in its own system, and for each
// person where each change went.
namespace sharing {

struct ChangeNotice {
  int64_t id = 0;
  core::PersonId person;
  core::AgencyId agency;  // the agency told
  std::string agency_name;
  core::AgencyId from_agency;  // the agency that made the change
  std::string from_agency_name;
  std::string type;                 // person.updated, household.member_added...
  std::vector<std::string> fields;  // what changed, never the values
  int64_t version = 0;              // the person's record version after a person.updated; 0 otherwise
  core::Timestamp at;
  bool applied = false;
  std::optional<core::Timestamp> applied_at;
  std::string applied_by;
  std::string note;
  bool overdue = false;  // still pending after ChangeNoticeOptions::overdue_after
  // Push to the agency's webhook: none (feed only), waiting, delivered or dead (given up after
  // 72 hours), with the failed attempts and the last error.
  std::string delivery = "none";
  int64_t attempts = 0;
  std::string last_error;
};

// Where an agency's notices are pushed. The secret is never read back.
struct AgencyWebhook {
  std::string url;
  bool active = false;
  std::string disabled_reason;  // why it was disabled: a 410 Gone, or the agency's manager
  core::Timestamp updated_at;
};

struct ChangeNoticeOptions {
  std::chrono::hours overdue_after{24 * 5};
};

// Thread-safe.
class ChangeNoticeService {
 public:
  ChangeNoticeService(storage::Database& db, const authz::AccessGate& gate, audit::AuditLog& audit,
                      exchange::Outbox& outbox, const core::Clock& clock, ChangeNoticeOptions options = {})
      : db_(db), gate_(gate), audit_(audit), outbox_(outbox), clock_(clock), options_(options) {}

  // The feed of `who`'s agency: its notices with an id above `after`, oldest first, at most
  // `limit` (1..500; kInvalidArgument, field limit), only the pending ones when `pending_only`.
  // For staff with a client role and for API tokens with the scope changes:read (otherwise
  // kPermissionDenied, audited). Each notice names a person: each is audited as a read
  // (change.feed) before the page is released.
  // With `dead_only`, the notices whose push was given up (the dead-letter list).
  core::StatusOr<std::vector<ChangeNotice>> Feed(const authz::Principal& who, int64_t after, int limit,
                                                 bool pending_only, bool dead_only = false);

  // Pushes a dead-lettered notice again from now (attempts start over): the agency's managers
  // and administrators (kPermissionDenied, audited). kNotFound (no such notice for the agency),
  // kFailedPrecondition when it is not dead or the agency has no active webhook.
  core::StatusOr<ChangeNotice> Redeliver(const authz::Principal& who, int64_t id);

  // Records that `who`'s agency applied notice `id` in its own system. kNotFound (no such
  // notice for the agency), kPermissionDenied (audited: no client role, or a token without
  // changes:write), kInvalidArgument (field note: over 500 characters), kFailedPrecondition
  // when already applied. Emits change.applied.
  core::StatusOr<ChangeNotice> MarkApplied(const authz::Principal& who, int64_t id, const std::string& note);

  // The agency's webhook: managers and admins of the agency set, read and remove it
  // (kPermissionDenied, audited, for anyone else). Set: kInvalidArgument naming url (http:// or
  // https://, at most 500 characters) or secret ("whsec_" + base64 of 16 to 128 bytes). From the
  // next notice on, the agency's notices are pushed as well as kept in its feed. A new secret
  // rotates the old one out: for 24 hours deliveries carry a signature with each. kNotFound from
  // Get when none was set.
  core::StatusOr<AgencyWebhook> SetWebhook(const authz::Principal& who, const std::string& url,
                                           const std::string& secret);
  // With `public_only` (the server's default, agency_webhooks_internal false) an agency's
  // receiver must be https:// and may not name this machine or an address inside the network
  // (kInvalidArgument naming url); deliveries check the address connected to as well.
  void OnlyPublicWebhooks(bool public_only) { public_only_ = public_only; }
  core::StatusOr<AgencyWebhook> GetWebhook(const authz::Principal& who);
  core::Status RemoveWebhook(const authz::Principal& who);

  // Every notice about `person`, newest first: where each change went and whether each agency
  // has applied it. A read of the person (the gate decides, audited as person.changes); the
  // person may read their own. kNotFound for an unknown person.
  core::StatusOr<std::vector<ChangeNotice>> ForPerson(const authz::Principal& who, core::PersonId person);

 private:
  core::StatusOr<std::vector<ChangeNotice>> Load(storage::Transaction& tx, const std::string& where,
                                                 const storage::Params& params) const;
  core::Status DenyAudited(const authz::Principal& who, const std::string& action, const std::string& id,
                           const std::string& message);

  storage::Database& db_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
  const ChangeNoticeOptions options_;
  bool public_only_ = false;
};

}  // namespace sharing
