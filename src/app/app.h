#pragma once

#include <atomic>
#include <memory>

#include "access/access_gate.h"
#include "access/data_categories.h"
#include "accounts/account_service.h"
#include "audit/audit_log.h"
#include "audit/audit_search.h"
#include "audit/seal.h"
#include "cases/application_service.h"
#include "cases/case_service.h"
#include "cases/document_service.h"
#include "cases/referral_service.h"
#include "cases/work_queue.h"
#include "core/clock.h"
#include "core/config.h"
#include "directory/directory_service.h"
#include "directory/life_events.h"
#include "eligibility/rule_set.h"
#include "eligibility/screening_service.h"
#include "exchange/outbox.h"
#include "exchange/outbox_worker.h"
#include "exchange/webhook_sink.h"
#include "frontoffice/appointment_service.h"
#include "frontoffice/interaction_service.h"
#include "frontoffice/queue_service.h"
#include "http/address_throttle.h"
#include "http/caller_limit.h"
#include "http/dispatcher.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/templates.h"
#include "identity/match_service.h"
#include "identity/review_service.h"
#include "metrics/diagnostic.h"
#include "metrics/outcomes.h"
#include "metrics/scorecard.h"
#include "metrics/service_metrics.h"
#include "portal/oidc.h"
#include "portal/portal_service.h"
#include "portal/representative_service.h"
#include "registry/household_service.h"
#include "registry/person_service.h"
#include "sharing/agreement_service.h"
#include "sharing/break_glass_service.h"
#include "sharing/change_notice_service.h"
#include "sharing/consent_service.h"
#include "sharing/gate_facts.h"
#include "sharing/notice_delivery.h"
#include "sharing/reference_directory.h"
#include "storage/database.h"

namespace app {

// The composition root: one of each service, wired together. Members are declared in
// dependency order so that they are destroyed in reverse.
class App {
 public:
  // Opens the database and runs pending migrations. `web` also loads templates and builds
  // the routes.
  static core::StatusOr<std::unique_ptr<App>> Open(const core::Config& config, bool web);

  ~App();
  const core::Config& config() const { return config_; }
  storage::Database& db() { return *db_; }
  audit::AuditLog& audit() { return *audit_; }
  const core::Clock& clock() const { return clock_; }
  accounts::AccountService& accounts() { return *accounts_; }
  registry::PersonService& persons() { return *persons_; }
  directory::DirectoryService& service_directory() { return *service_directory_; }
  frontoffice::QueueService& queues() { return *queues_; }
  frontoffice::OfficeHoursService& office_hours() { return *office_hours_; }
  frontoffice::AppointmentService& appointments() { return *appointments_; }
  registry::HouseholdService& households() { return *households_; }
  identity::MatchService& match() { return *match_; }
  eligibility::ScreeningService& screenings() { return *screenings_; }
  const eligibility::RuleSet& rules() const { return *rules_; }
  metrics::OutcomeService& outcomes() { return *outcomes_; }
  metrics::DiagnosticService& diagnostics() { return *diagnostics_; }
  portal::PortalService& portal() { return *portal_; }
  const authz::DataCategories& categories() const { return *categories_; }
  sharing::AgreementService& agreements() { return *agreements_; }
  sharing::ConsentService& consents() { return *consents_; }
  sharing::ReferenceDirectory& directory() { return *directory_; }
  const authz::AccessGate& gate() const { return *gate_; }
  http::Router& router() { return router_; }
  http::Dispatcher& dispatcher() { return *dispatcher_; }
  http::Metrics& metrics() { return metrics_; }
  void SetDraining() { draining_ = true; }
  // The public URL, for a deployment without public_url whose port is known only once it listens
  // (port 0): the portal's links then name it. Before any request is handled.
  void SetPublicUrl(const std::string& url);
  // Starts delivering outbox events if a webhook is configured; stopped by the destructor.
  void StartBackgroundWork();
  void StopBackgroundWork();

 private:
  explicit App(core::Config config);
  void AddOperationalRoutes();

  core::Config config_;
  core::SystemClock clock_;
  http::Metrics metrics_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<exchange::Outbox> outbox_;
  std::unique_ptr<accounts::AccountService> accounts_;
  std::unique_ptr<registry::PersonService> persons_;
  std::unique_ptr<registry::HouseholdService> households_;
  std::unique_ptr<identity::MatchService> match_;
  std::unique_ptr<identity::ReviewService> reviews_;
  std::unique_ptr<eligibility::RuleSet> rules_;
  std::unique_ptr<eligibility::ScreeningService> screenings_;
  std::unique_ptr<authz::DataCategories> categories_;
  std::unique_ptr<sharing::AgreementService> agreements_;
  std::unique_ptr<sharing::ConsentService> consents_;
  std::unique_ptr<cases::ReferralService> referrals_;
  std::unique_ptr<cases::CaseService> cases_;
  std::unique_ptr<cases::ApplicationService> applications_;
  std::unique_ptr<cases::DocumentService> documents_;
  std::unique_ptr<cases::IntakeRules> intake_;
  std::unique_ptr<cases::WorkQueueService> work_;
  std::unique_ptr<directory::DirectoryService> service_directory_;
  std::unique_ptr<directory::LifeEvents> life_events_;
  std::unique_ptr<frontoffice::InteractionService> interactions_;
  std::unique_ptr<frontoffice::OfficeHoursService> office_hours_;
  std::unique_ptr<metrics::ServiceMetricsService> service_metrics_;
  std::unique_ptr<metrics::ScorecardService> scorecards_;
  std::unique_ptr<metrics::OutcomeService> outcomes_;
  std::unique_ptr<metrics::DiagnosticService> diagnostics_;
  std::unique_ptr<portal::PortalService> portal_;
  std::unique_ptr<portal::RepresentativeService> representatives_;
  std::unique_ptr<portal::OidcService> oidc_;  // none when no provider is configured
  std::unique_ptr<frontoffice::QueueService> queues_;
  std::unique_ptr<frontoffice::AppointmentService> appointments_;
  std::unique_ptr<http::AddressThrottle> reference_guesses_;  // appointment references that found nothing
  std::unique_ptr<http::AddressThrottle> online_bookings_;    // appointments booked without an account
  std::unique_ptr<http::AddressThrottle> sign_ups_;           // portal accounts asked for
  std::unique_ptr<http::CallerLimit> caller_limit_;           // requests per signed-in caller
  std::unique_ptr<sharing::GateFacts> gate_facts_;
  std::unique_ptr<authz::AccessGate> gate_;
  std::unique_ptr<sharing::ReferenceDirectory> directory_;
  std::unique_ptr<sharing::BreakGlassService> glass_;
  std::unique_ptr<audit::AuditSearch> audit_search_;
  std::unique_ptr<sharing::ChangeNoticeService> changes_;
  std::unique_ptr<http::Templates> templates_;
  std::unique_ptr<struct PageDepsHolder> pages_;
  http::Router router_;
  std::unique_ptr<http::Dispatcher> dispatcher_;
  std::atomic<bool> draining_{false};
  std::unique_ptr<exchange::WebhookSink> webhook_;
  std::unique_ptr<exchange::OutboxWorker> outbox_worker_;
  std::unique_ptr<audit::PeriodicSealer> sealer_;  // when a signing key is configured
  std::unique_ptr<sharing::NoticeDelivery> notice_delivery_;
};

}  // namespace app
