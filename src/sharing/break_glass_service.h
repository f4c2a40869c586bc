#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/ids.h"
#include "exchange/outbox.h"
#include "storage/database.h"

// Review of emergency accesses (break-glass). A caseworker, specialist, coordinator or manager
// may open a person's white and grey data that no agreement or consent gives their agency, by
// stating why (X-Break-Glass, or the emergency access form on a client's page). The gate flags
// the decision, and the audit log queues each release for review in the same transaction.
namespace sharing {

enum class GlassState { kPending, kJustified, kNotJustified };

std::string_view GlassStateName(GlassState s);  // "pending", "justified", "not_justified"
core::StatusOr<GlassState> ParseGlassState(std::string_view name);

struct GlassAccess {
  int64_t id = 0;
  int64_t audit_seq = 0;  // the audit entry that released the data
  core::Timestamp at;
  int64_t user = 0;
  std::string actor;
  core::AgencyId agency;
  std::string agency_name;
  core::PersonId person;
  std::string action;  // the audit action: person.read...
  std::string justification;
  GlassState state = GlassState::kPending;
  std::string reviewer;
  std::optional<core::Timestamp> reviewed_at;
  std::string review_note;
};

struct GlassQuery {
  std::optional<GlassState> state;
  int limit = 50;     // 1..200
  int64_t after = 0;  // the last id of the previous page
};

// The review queue. Managers and auditors review their own agency's emergency accesses,
// governance users every agency's; nobody reviews their own. Listing and reviewing are audited.
// Thread-safe.
class BreakGlassService {
 public:
  BreakGlassService(storage::Database& db, audit::AuditLog& audit, exchange::Outbox& outbox, const core::Clock& clock)
      : db_(db), audit_(audit), outbox_(outbox), clock_(clock) {}

  // Oldest first. kPermissionDenied (audited) for anyone but managers, auditors and governance
  // users; kInvalidArgument (field limit).
  core::StatusOr<std::vector<GlassAccess>> List(const authz::Principal& who, const GlassQuery& query);

  // Records the review of access `id`: justified, or not_justified with a note saying why.
  // kNotFound (or not one `who` may review); kPermissionDenied (audited) for other roles and
  // for the person who used it; kInvalidArgument (field outcome, or note: required for
  // not_justified, at most 1000 characters); kFailedPrecondition when already reviewed.
  // Emits break_glass.reviewed.
  core::StatusOr<GlassAccess> Review(const authz::Principal& who, int64_t id, GlassState outcome,
                                     const std::string& note);

 private:
  core::Status DenyAudited(const authz::Principal& who, const std::string& action, const std::string& id,
                           const std::string& message);

  storage::Database& db_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
};

}  // namespace sharing
