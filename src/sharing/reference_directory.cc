#include "sharing/reference_directory.h"

#include <fmt/format.h>

namespace sharing {
namespace {

using core::Status;
using core::StatusOr;

}  // namespace

std::string_view CapacityName(Capacity c) {
  switch (c) {
    case Capacity::kRegistered: return "registered";
    case Capacity::kClientRecord: return "client_record";
    case Capacity::kScreened: return "screened";
  }
  return "unknown";
}

std::string_view CapacityLabel(Capacity c) {
  switch (c) {
    case Capacity::kRegistered: return "Registered the person";
    case Capacity::kClientRecord: return "Keeps a client record";
    case Capacity::kScreened: return "Screened the household for programs";
  }
  return "Unknown";
}

StatusOr<Holding> ReferenceDirectory::Holds(storage::Transaction& tx, core::AgencyId agency,
                                            core::PersonId person) {
  // The first row says whether the person exists and who registered them.
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT 0, created_agency FROM persons WHERE id = ? "
                            "UNION ALL SELECT 1, agency_id FROM source_records WHERE person_id = ? AND agency_id = ? "
                            "UNION ALL SELECT 2, s.agency_id FROM household_members m JOIN screenings s ON "
                            "s.household_id = m.household_id WHERE m.person_id = ? AND s.agency_id = ?",
                            {person.value, person.value, agency.value, person.value, agency.value}));
  Holding out;
  for (const auto& r : rows) {
    if (r.Int(0) == 0) out.exists = true;
    if (r.Int(1) == agency.value) out.holds = true;
  }
  return out;
}

StatusOr<std::vector<DirectoryEntry>> ReferenceDirectory::Entries(const authz::Principal& who, core::PersonId person) {
  std::vector<DirectoryEntry> out;
  authz::Decision decision;
  bool found = false;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    out.clear();
    decision = gate_.DecidePerson(who, authz::Operation::kRead, person, authz::Resource::kPerson, &tx);
    RETURN_IF_ERROR(audit_.Append(tx, who, {"person.directory", "person", std::to_string(person.value), person,
                                            decision.allowed, decision.reason}));
    if (!decision.allowed) return Status::Ok();
    ASSIGN_OR_RETURN(storage::Rows exists, tx.Query("SELECT 1 FROM persons WHERE id = ?", {person.value}));
    found = !exists.empty();
    if (!found) return Status::Ok();
    ASSIGN_OR_RETURN(out, registry::AgenciesThatKnow(tx, person));
    return Status::Ok();
  }));
  if (!decision.allowed) return Status::PermissionDenied(decision.reason);
  if (!found) return Status::NotFound(fmt::format("no client has id {}", person.value));
  return out;
}

}  // namespace sharing
