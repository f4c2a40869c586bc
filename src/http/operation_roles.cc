#include "http/operation_roles.h"

#include <fmt/format.h>

namespace http {
namespace {

using authz::Role;

// The roles that work with client records (authz::HasClientRole), and with cases among them
// (authz::HasCaseworkRole).
const std::vector<Role> kClient = {Role::kFrontdesk, Role::kCaseworker, Role::kSpecialist,
                                   Role::kCoordinator, Role::kManager};
const std::vector<Role> kCasework = {Role::kCaseworker, Role::kSpecialist, Role::kCoordinator,
                                     Role::kManager};
const std::vector<Role> kCoordinates = {Role::kCoordinator, Role::kManager};
const std::vector<Role> kAdmin = {Role::kAdmin};
const std::vector<Role> kManages = {Role::kManager, Role::kAdmin};
const std::vector<Role> kGovernance = {Role::kGovernance};
const std::vector<Role> kSetsTargets = {Role::kGovernance, Role::kManager, Role::kAdmin};

}  // namespace

// The widest set of roles with which each operation can succeed, for some record and some valid
// request; the services' own checks are the source (each narrows further: scopes, purpose, the
// caller's agency, the record). Writes that every role may make in some case have no entry:
// createScreening (a household not registered), actOnWork (a team's member, whatever their
// role), saveDiagnostic (a token with metrics:write, whatever its roles).
const std::vector<std::pair<std::string, std::vector<authz::Role>>>& OperationRoles() {
  static const auto* table = new std::vector<std::pair<std::string, std::vector<authz::Role>>>{
      // Client records (the access gate: client roles only).
      {"createPerson", kClient},
      {"updatePerson", kClient},
      {"createHousehold", kClient},
      {"addHouseholdMember", kClient},
      {"endHouseholdMembership", kClient},
      {"removeHouseholdMember", kClient},
      {"matchPerson", kClient},
      {"decideMatchReview", kCasework},
      {"putSourceRecordBatch", kClient},
      {"putSourceRecord", kClient},
      // Accounts: an agency's administrators.
      {"createAgency", kAdmin},
      {"createOffice", kAdmin},
      {"createUser", kAdmin},
      {"deactivateUser", kAdmin},
      {"activateUser", kAdmin},
      {"issueToken", kAdmin},
      {"updateToken", kAdmin},
      {"revokeToken", kAdmin},
      // Sharing.
      {"proposeSharingAgreement", {Role::kGovernance, Role::kManager}},
      {"decideSharingAgreement", kGovernance},
      {"giveConsent", kCasework},
      {"recordConsentEvent", kCasework},
      {"reviewBreakGlass", {Role::kManager, Role::kAuditor, Role::kGovernance}},
      {"markChangeApplied", kClient},
      {"setAgencyWebhook", kManages},
      {"removeAgencyWebhook", kManages},
      {"redeliverChangeNotice", kManages},
      // Referrals, cases, applications, documents.
      {"sendReferral", kCasework},
      {"actOnReferral", kCasework},
      {"openCase", kCoordinates},
      {"addCaseParticipant", kCoordinates},
      {"removeCaseParticipant", kCoordinates},
      {"appointCaseLead", kCoordinates},
      {"scheduleCaseConference", kCoordinates},
      {"recordCaseConference", kCoordinates},
      {"addCaseGoal", kCoordinates},
      {"addCaseAction", kCoordinates},
      {"updateCasePlanItem", kCasework},
      {"reviewCase", kCoordinates},
      {"closeCase", kCoordinates},
      {"applyForPrograms", kClient},
      {"decideApplicationPart", kCasework},
      {"uploadDocument", kClient},
      // Teams and the directory.
      {"createTeam", kManages},
      {"addTeamMember", kManages},
      {"removeTeamMember", kManages},
      {"joinTeam", kManages},
      {"leaveTeam", kManages},
      {"importDirectory", kAdmin},
      // The front office.
      {"recordInteraction", kClient},
      {"rateInteraction", kClient},
      {"createQueue", kManages},
      {"createCounter", kManages},
      {"signInCounter", kClient},
      {"signOutCounter", kClient},
      {"callNextTicket", kClient},
      {"checkIn", kClient},
      {"actOnTicket", kClient},
      {"createSlots", kManages},
      {"bookAppointment", kClient},
      {"setOfficeHours", kManages},
      // Metrics and outcomes.
      {"addServiceTarget", kSetsTargets},
      {"removeServiceTarget", kSetsTargets},
      {"addOutcome", kGovernance},
      {"removeOutcome", kGovernance},
      {"addOutcomeIndicator", kGovernance},
      {"removeOutcomeIndicator", kGovernance},
      {"addOutcomeContribution", kSetsTargets},
      {"removeOutcomeContribution", kSetsTargets},
  };
  return *table;
}

// The writes the portal's people make about themselves through the API: their contact details,
// consents, applications, documents and appointments.
const std::vector<std::string>& OperationsForPeople() {
  static const auto* ops =
      new std::vector<std::string>{"updatePerson",     "giveConsent",    "recordConsentEvent",
                                   "applyForPrograms", "uploadDocument", "bookAppointment"};
  return *ops;
}

core::Status ApplyOperationRoles(Router& router) {
  for (const auto& [operation, roles] : OperationRoles()) {
    Route* route = router.FindOperation(operation);
    if (route == nullptr) {
      return core::Status::Internal(
          fmt::format("the roles table names operation {}, which no route has", operation));
    }
    route->roles = roles;
  }
  for (const std::string& operation : OperationsForPeople()) {
    Route* route = router.FindOperation(operation);
    if (route == nullptr || route->roles.empty()) {
      return core::Status::Internal(fmt::format(
          "the table of people's operations names {}, which no route with roles has", operation));
    }
    route->people_too = true;
  }
  return core::Status::Ok();
}

}  // namespace http
