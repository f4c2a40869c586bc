#pragma once

#include <map>
#include <optional>
#include <string>

#include "access/principal.h"
#include "accounts/account_service.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "i18n/messages.h"
#include "registry/person_service.h"
#include "storage/database.h"

// The citizen portal's accounts. A person signs up with their name, e-mail address and a
// password; onedoor queues a message with a link that confirms the address, and only a confirmed
// account signs in. The account sees nothing of the registry until it is linked to the person's
// record: the person asks the portal for a one-time code and shows it at a desk, where staff
// who may see the person's record (having checked who they are) link the two. Every step is
// audited; the person's own reads appear in their access log.
namespace portal {

struct PortalOptions {
  std::string public_url = "http://127.0.0.1:8080";  // for the link in the confirmation message
  int verify_hours = 48;                             // how long the confirmation link works
  int link_minutes = 30;                             // how long a desk code works
  int reset_minutes = 60;                            // how long a password reset link works
};

// What the portal shows of the signed-in account.
struct Account {
  core::UserId user;
  std::string display_name;
  std::string email;
  std::optional<core::PersonId> person;  // linked
  std::optional<core::Timestamp> linked_at;
};

// A person's request to have their account linked to their record by matching what they
// say about themself with the registry, and what became of it.
struct LinkRequestInput {
  std::string given;
  std::string family;
  std::string birth_date;  // YYYY-MM-DD
  std::string postcode;    // optional
  std::string address;     // optional: the first line of their address
};

struct LinkRequest {
  int64_t id = 0;
  core::UserId user;
  std::string account_name;  // the portal account's name and address, as signed up
  std::string account_email;
  LinkRequestInput said;
  std::string state;  // waiting, linked, declined
  core::Timestamp created_at;
  std::optional<core::Timestamp> decided_at;
  std::string decided_by;  // staff username
  std::optional<core::PersonId> person;  // the record it was linked to
  std::string reason;                    // why it was not linked, as told to the person
  std::string lang = "en";               // the language the person asked in, and is answered in
};

struct LinkCode {
  std::string code;  // "K7QF-2M9P"
  core::Timestamp expires;
};

// Thread-safe.
class PortalService {
 public:
  PortalService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock,
                accounts::AccountService& accounts, registry::PersonService& persons, PortalOptions options);

  // The address its messages' links start with, when it is known only once the server listens
  // (`listen` with port 0 and no public_url). Before any request is handled: not thread-safe.
  void SetPublicUrl(std::string url) { options_.public_url = std::move(url); }

  // kInvalidArgument naming name, email and password (12 to 256 characters). When the address
  // already has an account, nothing is created and that account's owner is sent a message
  // saying so: the answer is the same, so that no one learns who has an account here. An
  // address that was sent a message about its account in the last 5 minutes (a confirmation
  // link, this one, a reset link) is not sent another. The message is written in `lang` (see
  // UseMessages).
  core::Status SignUp(const std::string& name, const std::string& email, const std::string& password,
                      const std::string& lang = "en");
  // Confirms the address of the account whose link carried `token`. kNotFound (unknown or
  // already used), kFailedPrecondition (expired: sign up again to get a new link).
  core::Status Verify(const std::string& token);
  // kUnauthenticated ("the e-mail address or password is not right"), kFailedPrecondition
  // (the address is not confirmed yet), kResourceExhausted (throttled, as for staff; `client` is
  // the caller's address as the throttle counts it).
  core::StatusOr<accounts::NewSession> SignIn(const std::string& email, const std::string& password,
                                              const std::string& request_id, const std::string& client = "");
  // A forgotten password: when `email` belongs to a confirmed account, a message with a
  // one-time link (reset_minutes) is queued, at most one every 5 minutes. The answer is the
  // same whether or not there is such an account. kInvalidArgument (email) for no address.
  core::Status RequestPasswordReset(const std::string& email, const std::string& lang = "en");
  // The catalogues the messages onedoor sends are written from, in the language the person
  // used; without them (or for a message they lack) the messages are in English. Call before
  // serving; `messages` must outlive the service.
  void UseMessages(const i18n::Messages* messages) { messages_ = messages; }
  // Whether `token` is a reset link that still works (to show the form): kNotFound (unknown or
  // used), kFailedPrecondition (expired: ask for a new one).
  core::Status CheckPasswordReset(const std::string& token);
  // Sets the new password of the account whose link carried `token`, uses the link up and ends
  // the account's sessions. The errors of CheckPasswordReset, and kInvalidArgument (password).
  core::Status ResetPassword(const std::string& token, const std::string& password);
  core::StatusOr<Account> Me(const authz::Principal& citizen);
  // A new code for the signed-in, not yet linked citizen (replacing any earlier one).
  // kFailedPrecondition when the account is already linked.
  core::StatusOr<LinkCode> NewLinkCode(const authz::Principal& citizen);
  // Staff who may see the person's record (front desk, caseworkers, coordinators, managers)
  // link the account that holds `code` to it, after checking who the person is. The read of
  // the record goes through the access gate and is audited; the link is audited as
  // portal.link. kInvalidArgument (code: not known, or expired), kPermissionDenied,
  // kFailedPrecondition (another account is already linked to this person).
  core::Status Link(const authz::Principal& staff, core::PersonId person, const std::string& code);
  // The signed-in, not yet linked person asks to have their account linked by matching their
  // details; nothing of the registry is shown to them. kInvalidArgument naming given, family,
  // birth_date (a whole date, not in the future), postcode and address (at most 200
  // characters); kFailedPrecondition when the account is linked or already has a request
  // waiting. Audited as portal.link_requested. The messages about it are written in `lang`.
  core::StatusOr<LinkRequest> RequestLink(const authz::Principal& citizen, const LinkRequestInput& in,
                                          const std::string& lang = "en");
  // The signed-in person's latest request, if any.
  core::StatusOr<std::optional<LinkRequest>> MyLinkRequest(const authz::Principal& citizen);
  // For staff who may link accounts (as Link): the waiting requests, oldest first, and one
  // request. kPermissionDenied (audited), kNotFound.
  core::StatusOr<std::vector<LinkRequest>> WaitingLinkRequests(const authz::Principal& staff);
  core::StatusOr<LinkRequest> GetLinkRequest(const authz::Principal& staff, int64_t id);
  // Staff decide a waiting request after reviewing the likely records: link the account to
  // `person` (its record read through the access gate, audited as portal.link like a link at the
  // desk), or, without a person, decline with `reason` (told to the person; kInvalidArgument
  // naming reason when empty or over 500 characters; audited as portal.link_declined). Either
  // way a message is queued to the account's address. kFailedPrecondition when the request was
  // already decided, the account was linked meanwhile, or another account is linked to the person.
  core::Status DecideLinkRequest(const authz::Principal& staff, int64_t id, std::optional<core::PersonId> person,
                                 const std::string& reason);
  // The signed-in person unlinks their account from their record: the account stays, sees
  // nothing of the registry again, and can be linked anew at a desk. Audited as portal.unlink
  // (in the person's access log). kFailedPrecondition when the account is not linked.
  core::Status Unlink(const authz::Principal& citizen);

 private:
  // Whether `staff` may link portal accounts; audits the refusal of `action` otherwise.
  core::Status MayLink(const authz::Principal& staff, const std::string& action, const std::string& record_type,
                       const std::string& record_id, std::optional<core::PersonId> person);
  core::Status QueueMessage(storage::Transaction& tx, const std::string& address, const std::string& body);
  // `message` in `lang`, its arguments filled in.
  std::string Say(const std::string& lang, const std::string& message,
                  const std::map<std::string, std::string>& args) const;

  storage::Database& db_;
  audit::AuditLog& audit_;
  const core::Clock& clock_;
  accounts::AccountService& accounts_;
  registry::PersonService& persons_;
  PortalOptions options_;
  const i18n::Messages* messages_ = nullptr;
};

}  // namespace portal
