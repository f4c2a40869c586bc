#pragma once

#include <string>
#include <vector>

#include "access/access_gate.h"
#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/ids.h"
#include "registry/change_notices.h"
#include "storage/database.h"

// The reference directory ("who knows this person"): which agencies hold a record of a person,
// in what capacity and since when. The access gate asks it whether the principal's agency
// holds the person; staff see it on the person's page.
namespace sharing {

using Capacity = registry::Capacity;
using DirectoryEntry = registry::KnownBy;

std::string_view CapacityName(Capacity c);   // "registered", "client_record", "screened", "applied"
std::string_view CapacityLabel(Capacity c);  // "Registered the person"

class ReferenceDirectory {
 public:
  ReferenceDirectory(storage::Database& db, const authz::AccessGate& gate, audit::AuditLog& audit)
      : db_(db), gate_(gate), audit_(audit) {}

  // Every agency that knows `person`, by agency name then capacity. A read of the person's data:
  // the gate decides (the front desk sees where a person has been, not the details of their
  // cases), the decision is audited as person.directory, and a refusal is kPermissionDenied.
  // kNotFound when there is no such person (after the audit).
  core::StatusOr<std::vector<DirectoryEntry>> Entries(const authz::Principal& who, core::PersonId person);

 private:
  storage::Database& db_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
};

}  // namespace sharing
