#include "access/principal.h"

#include <algorithm>

namespace authz {
namespace {
constexpr std::pair<Role, std::string_view> kRoles[] = {
    {Role::kFrontdesk, "frontdesk"},     {Role::kCaseworker, "caseworker"},
    {Role::kSpecialist, "specialist"},   {Role::kCoordinator, "coordinator"},
    {Role::kManager, "manager"},         {Role::kGovernance, "governance"},
    {Role::kAdmin, "admin"},             {Role::kAuditor, "auditor"},
};
struct PurposeText {
  Purpose p;
  std::string_view name;
  std::string_view label;
};
constexpr PurposeText kPurposes[] = {
    {Purpose::kServiceDelivery, "service_delivery", "Service delivery"},
    {Purpose::kCaseWork, "case_work", "Case work"},
    {Purpose::kEligibility, "eligibility", "Eligibility assessment"},
    {Purpose::kFrontDesk, "front_desk", "Front desk reception"},
    {Purpose::kAdministration, "administration", "Administration"},
    {Purpose::kAudit, "audit", "Audit and oversight"},
    {Purpose::kOwnRecord, "own_record", "The person's own record"},
};
}  // namespace

std::string_view RoleName(Role role) {
  for (const auto& [r, n] : kRoles) if (r == role) return n;
  return "unknown";
}

core::StatusOr<Role> ParseRole(std::string_view name) {
  for (const auto& [r, n] : kRoles) if (n == name) return r;
  return core::Status::InvalidArgument(
      "unknown role; use one of frontdesk, caseworker, specialist, coordinator, manager, governance, admin, auditor");
}

const std::vector<Role>& AllRoles() {
  static const std::vector<Role> roles = [] {
    std::vector<Role> v;
    for (const auto& [r, n] : kRoles) v.push_back(r);
    return v;
  }();
  return roles;
}

std::string_view PurposeName(Purpose p) {
  for (const auto& t : kPurposes) if (t.p == p) return t.name;
  return "unknown";
}

std::string_view PurposeLabel(Purpose p) {
  for (const auto& t : kPurposes) if (t.p == p) return t.label;
  return "Unknown";
}

core::StatusOr<Purpose> ParsePurpose(std::string_view name) {
  for (const auto& t : kPurposes) if (t.name == name) return t.p;
  return core::Status::InvalidArgument(
      "unknown purpose; use one of service_delivery, case_work, eligibility, front_desk, administration, audit");
}

const std::vector<Purpose>& StaffPurposes() {
  static const std::vector<Purpose> v = {Purpose::kServiceDelivery, Purpose::kCaseWork, Purpose::kEligibility,
                                         Purpose::kFrontDesk, Purpose::kAdministration, Purpose::kAudit};
  return v;
}

bool Principal::HasRole(Role r) const { return std::find(roles.begin(), roles.end(), r) != roles.end(); }

bool Principal::HasAnyRole(std::initializer_list<Role> rs) const {
  return std::any_of(rs.begin(), rs.end(), [&](Role r) { return HasRole(r); });
}

bool Principal::HasScope(std::string_view scope) const {
  return scopes.empty() || std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

std::string Principal::RoleList() const {
  std::string out;
  for (Role r : roles) {
    if (!out.empty()) out += ",";
    out += RoleName(r);
  }
  return out;
}

}  // namespace authz
