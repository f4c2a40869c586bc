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
    case Capacity::kApplied:
      return "applied";
  }
  return "unknown";
}

std::string_view CapacityLabel(Capacity c) {
  switch (c) {
    case Capacity::kRegistered: return "Registered the person";
    case Capacity::kClientRecord: return "Keeps a client record";
    case Capacity::kScreened: return "Screened the household for programs";
    case Capacity::kApplied:
      return "Decides an application of the person";
  }
  return "Unknown";
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
