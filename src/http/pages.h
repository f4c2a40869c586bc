#pragma once

#include "accounts/account_service.h"
#include "cases/application_service.h"
#include "cases/case_service.h"
#include "cases/document_service.h"
#include "cases/work_queue.h"
#include "cases/referral_service.h"
#include "eligibility/screening_service.h"
#include "frontoffice/interaction_service.h"
#include "frontoffice/appointment_service.h"
#include "frontoffice/queue_service.h"
#include "http/dispatcher.h"
#include "http/router.h"
#include "http/templates.h"
#include "identity/match_service.h"
#include "identity/review_service.h"
#include "registry/household_service.h"
#include "registry/person_service.h"
#include "sharing/agreement_service.h"
#include "sharing/break_glass_service.h"
#include "sharing/change_notice_service.h"
#include "sharing/consent_service.h"
#include "sharing/reference_directory.h"

namespace audit {
class AuditSearch;
}

namespace metrics {
class DiagnosticService;
class OutcomeService;
class ScorecardService;
class ServiceMetricsService;
}  // namespace metrics

namespace portal {
class PortalService;
class RepresentativeService;
class OidcService;
}

namespace directory {
class DirectoryService;
class LifeEvents;
}

namespace http {

class AddressThrottle;

struct PageDeps {
  const Templates& templates;
  accounts::AccountService& accounts;
  registry::PersonService& persons;
  registry::HouseholdService& households;
  bool secure_cookies = true;
  int session_max_hours = 12;
  // Likely duplicates are shown before a new client is registered; none when null.
  identity::MatchService* match = nullptr;
  // The client index's review queue pages; none when null.
  identity::ReviewService* reviews = nullptr;
  // The screening pages; none when null.
  eligibility::ScreeningService* screenings = nullptr;
  // The sharing agreement pages (public register, proposals, governance); none when null.
  sharing::AgreementService* agreements = nullptr;
  // "Known by" on a client's page; none when null.
  sharing::ReferenceDirectory* directory = nullptr;
  // The emergency access review queue (/break-glass); none when null.
  sharing::BreakGlassService* glass = nullptr;
  // The printable consent receipt (/consents/{id}/receipt); none when null.
  sharing::ConsentService* consents = nullptr;
  // "Where changes went" on a client's page; none when null.
  sharing::ChangeNoticeService* changes = nullptr;
  // The referral pages (/referrals) and "Referrals" on a client's page; none when null.
  cases::ReferralService* referrals = nullptr;
  // The case pages (/cases) and "Cases" on a client's page; none when null.
  cases::CaseService* cases = nullptr;
  // The application pages (/applications) and "Apply" on a screening's page; none when null.
  cases::ApplicationService* applications = nullptr;
  // "Documents" on a client's page and their upload; none when null.
  cases::DocumentService* documents = nullptr;
  // The work queue page (/work); none when null.
  cases::WorkQueueService* work = nullptr;
  // The service directory's pages (/directory); none when null.
  directory::DirectoryService* services = nullptr;
  // The life events navigator (/life-events); none when null.
  const directory::LifeEvents* life_events = nullptr;
  // "Contacts" on a client's page, /contacts and the feedback pages; none when null.
  frontoffice::InteractionService* interactions = nullptr;
  // The desk, kiosk and display pages of the access centres; none when null.
  frontoffice::QueueService* queues = nullptr;
  // The office pages (/offices/{id}: opening hours, queues, counters, slots); none when null.
  frontoffice::OfficeHoursService* office_hours = nullptr;
  // Checking in for an appointment at the kiosk and the desk; none when null.
  frontoffice::AppointmentService* appointments = nullptr;
  // Counts the appointment references that found nothing, per client address (the public
  // "manage your appointment" page); required with `appointments`.
  AddressThrottle* reference_guesses = nullptr;
  // Counts the appointments booked online without an account, per client address (the public
  // booking page); required with `appointments`.
  AddressThrottle* online_bookings = nullptr;
  // Counts the portal accounts asked for, per client address (the sign-up page); required with
  // `portal`.
  AddressThrottle* sign_ups = nullptr;
  // The performance page (/performance); none when null.
  metrics::ServiceMetricsService* metrics = nullptr;
  // The monthly scorecard against the service targets (/performance/scorecard); none when null.
  metrics::ScorecardService* scorecards = nullptr;
  // The outcomes framework (/performance/outcomes); none when null.
  metrics::OutcomeService* outcomes = nullptr;
  // The integration diagnostic (/performance/diagnostics); none when null.
  metrics::DiagnosticService* diagnostics = nullptr;
  // The citizen portal (/portal) and linking an account at a client's page; none when null.
  portal::PortalService* portal = nullptr;
  // Signing in to the portal with OpenID Connect providers; none when null.
  portal::OidcService* oidc = nullptr;
  // Authorised representatives in the portal; none when null.
  portal::RepresentativeService* representatives = nullptr;
  // The audit log's page for auditors (/audit); none when null.
  audit::AuditSearch* audit_search = nullptr;
};

// The server-rendered pages for staff: sign in, home, client search, register, view, edit,
// history and household.
void AddPageRoutes(Router& router, const PageDeps& deps);

// An HTML error page in the layout, for the dispatcher.
ErrorPage MakeErrorPage(const PageDeps& deps);

}  // namespace http
