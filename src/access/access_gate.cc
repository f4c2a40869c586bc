#include "access/access_gate.h"

#include <algorithm>

#include <fmt/format.h>

namespace authz {
namespace {

constexpr Role kClientRoles[] = {Role::kFrontdesk, Role::kCaseworker, Role::kSpecialist, Role::kCoordinator,
                                 Role::kManager};
constexpr Purpose kClientPurposes[] = {Purpose::kServiceDelivery, Purpose::kCaseWork, Purpose::kEligibility,
                                       Purpose::kFrontDesk};
constexpr Category kAll[] = {Category::kIdentity, Category::kContact, Category::kNeeds, Category::kHousehold,
                             Category::kHistory};

Decision Deny(std::string reason) { return Decision{false, std::move(reason), {}, {}}; }

std::string_view OperationVerb(Operation op) {
  switch (op) {
    case Operation::kRead: return "read";
    case Operation::kSearch: return "search";
    case Operation::kCreate: return "create";
    case Operation::kUpdate: return "update";
  }
  return "use";
}

}  // namespace

std::string_view CategoryName(Category c) {
  switch (c) {
    case Category::kIdentity: return "identity";
    case Category::kContact: return "contact";
    case Category::kNeeds: return "needs";
    case Category::kHousehold: return "household";
    case Category::kHistory: return "history";
  }
  return "unknown";
}

bool Decision::Sees(Category c) const { return std::find(visible.begin(), visible.end(), c) != visible.end(); }

Decision AccessGate::DecidePerson(const Principal& who, Operation op, core::PersonId person,
                                  Resource resource) const {
  if (who.kind == PrincipalKind::kCitizen) {
    if (op == Operation::kRead && who.person && *who.person == person) {
      return Decision{true, "a person may read their own record", {std::begin(kAll), std::end(kAll)}, {}};
    }
    return Deny("a citizen may read only their own record");
  }
  const bool writes = op == Operation::kCreate || op == Operation::kUpdate;
  if (who.kind == PrincipalKind::kSystem) {
    const char* prefix = resource == Resource::kHousehold      ? "households"
                         : resource == Resource::kSourceRecord ? "source-records"
                                                               : "persons";
    const std::string scope = fmt::format("{}:{}", prefix, writes ? "write" : "read");
    // HasScope treats no scopes as unrestricted (sessions); a token without scopes has none.
    if (who.scopes.empty() || !who.HasScope(scope)) {
      return Deny(fmt::format("the API token lacks the scope {}", scope));
    }
  }
  auto role = std::find_if(std::begin(kClientRoles), std::end(kClientRoles), [&](Role r) { return who.HasRole(r); });
  if (role == std::end(kClientRoles)) {
    return Deny(fmt::format("no role of {} may {} client records", who.RoleList().empty() ? "(none)" : who.RoleList(),
                            OperationVerb(op)));
  }
  if (std::find(std::begin(kClientPurposes), std::end(kClientPurposes), who.purpose) == std::end(kClientPurposes)) {
    return Deny(fmt::format("the purpose {} does not allow working with client records", PurposeName(who.purpose)));
  }
  Decision d{true, fmt::format("role {} may {} client records for {}", RoleName(*role), OperationVerb(op),
                               PurposeName(who.purpose)),
             {}, {}};
  const bool frontdesk_only = who.HasRole(Role::kFrontdesk) &&
                              !who.HasAnyRole({Role::kCaseworker, Role::kSpecialist, Role::kCoordinator, Role::kManager});
  for (Category c : kAll) {
    if (c == Category::kHistory && frontdesk_only) {
      d.withheld.push_back({c, "the change history is for caseworkers, not the front desk"});
    } else {
      d.visible.push_back(c);
    }
  }
  return d;
}

}  // namespace authz
