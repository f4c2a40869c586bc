#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/status.h"

// Namespace authz: the name access is taken by POSIX access(2).
namespace authz {

enum class Role { kFrontdesk, kCaseworker, kSpecialist, kCoordinator, kManager, kGovernance, kAdmin, kAuditor };

std::string_view RoleName(Role role);
core::StatusOr<Role> ParseRole(std::string_view name);
const std::vector<Role>& AllRoles();

enum class PrincipalKind { kStaff, kCitizen, kSystem };

// Why a principal is looking at people's data. Stated at sign-in (staff) or per API request
// (header `X-Purpose`), written to every audit entry.
enum class Purpose { kServiceDelivery, kCaseWork, kEligibility, kFrontDesk, kAdministration, kAudit, kOwnRecord };

std::string_view PurposeName(Purpose p);   // "case_work"
std::string_view PurposeLabel(Purpose p);  // "Case work"
core::StatusOr<Purpose> ParsePurpose(std::string_view name);
const std::vector<Purpose>& StaffPurposes();

// Who is making a request, on whose behalf, and why. Built by authentication; every service
// call takes one.
struct Principal {
  PrincipalKind kind = PrincipalKind::kStaff;
  core::UserId user;             // staff or citizen account; unset for a system token
  core::AgencyId agency;         // the agency the staff user or system belongs to
  core::ApiTokenId token;        // set when authenticated by an API token
  std::string name;              // username or token name: for audit, never personal data
  std::vector<Role> roles;
  std::vector<std::string> scopes;  // API token scopes; empty for sessions (all scopes of the roles)
  Purpose purpose = Purpose::kServiceDelivery;
  std::optional<core::PersonId> person;  // a citizen's own person record, or the one they represent
  // A portal account acting for `person` as their authorised representative: the grant's id
  // (portal/representative_service.h); `scopes` then holds "portal:" and what the grant allows.
  int64_t representation = 0;
  std::string request_id;
  // Where the request came from (http::Request::client_address): kept in its audit entries.
  // Empty for work no one asked for over the network (commands, background jobs).
  std::string client_address;
  // An API token's own request limit a minute (0: none); unset: the deployment's for tokens.
  std::optional<int> requests_per_minute;
  // Break-glass: the justification of an emergency access to data the principal's agency
  // could not otherwise see (header `X-Break-Glass` or the form on a client's page). Empty
  // for a normal request. The gate flags every decision that relied on it.
  std::string break_glass;

  bool HasRole(Role r) const;
  bool HasAnyRole(std::initializer_list<Role> rs) const;
  // True when no scopes restrict the principal or `scope` is one of them.
  bool HasScope(std::string_view scope) const;
  std::string RoleList() const;  // "caseworker,frontdesk"
};

}  // namespace authz
