#include "app/app.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "app/rules_commands.h"
#include "core/log.h"
#include "http/api_accounts.h"
#include "http/api_agreements.h"
#include "http/api_applications.h"
#include "http/api_cases.h"
#include "http/api_consents.h"
#include "http/api_directory.h"
#include "http/api_documents.h"
#include "http/api_interactions.h"
#include "http/api_match.h"
#include "http/api_metrics.h"
#include "http/api_outcomes.h"
#include "http/api_persons.h"
#include "http/api_queues.h"
#include "http/api_referrals.h"
#include "http/api_screenings.h"
#include "http/api_timeline.h"
#include "http/api_work.h"
#include "http/openapi.h"
#include "http/operation_roles.h"
#include "http/pages.h"
#include "http/static_files.h"
#include "metrics/operational.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "storage/sqlite/sqlite_database.h"

namespace app {

struct PageDepsHolder {
  http::PageDeps deps;
};

App::App(core::Config config) : config_(std::move(config)) {}
App::~App() { StopBackgroundWork(); }

core::StatusOr<std::unique_ptr<App>> App::Open(const core::Config& config, bool web) {
  auto app = std::unique_ptr<App>(new App(config));
  if (storage::IsPostgresUrl(config.db)) {
    // Twice SQLite's read pool, since each read now waits on network round trips, and as many
    // sessions again for concurrent writes, whose commits PostgreSQL flushes together.
    ASSIGN_OR_RETURN(auto db, storage::OpenPostgres(config.db, {.connections = config.read_connections * 2}));
    app->db_ = http::Instrument(std::move(db), app->metrics_);
  } else {
    std::filesystem::path db_path(config.db);
    if (db_path.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(db_path.parent_path(), ec);
    }
    ASSIGN_OR_RETURN(auto db, storage::OpenSqlite(config.db, {.read_connections = config.read_connections}));
    app->db_ = http::Instrument(std::move(db), app->metrics_);
  }
  // The deployment's files are checked before the schema moves on, so that a file an upgrade
  // needs changed stops the start with the database as it was.
  auto categories = authz::DataCategories::Load(config.data_categories);
  if (!categories.ok()) {
    return core::Status(categories.status().code(), "data categories: " + categories.status().message());
  }
  {
    std::vector<storage::Migration> schema = storage::OnedoorSchema();
    for (auto& m : schema) {
      if (m.version == 45 || m.version == 48) m.step = registry::RekeyFoldedNames;
      if (m.version == 46) m.step = registry::KeyIdentifiers;
    }
    RETURN_IF_ERROR(storage::Migrate(*app->db_, schema).status());
  }
  app->audit_ = std::make_unique<audit::AuditLog>(app->clock_);
  app->outbox_ = std::make_unique<exchange::Outbox>(app->clock_);
  {
    // The data categories: a problem stopped the start above, named by file, line and column.
    app->categories_ = std::make_unique<authz::DataCategories>(std::move(categories).value());
    app->agreements_ = std::make_unique<sharing::AgreementService>(*app->db_, *app->categories_, *app->audit_,
                                                                   *app->outbox_, app->clock_);
    // The access gate decides with the categories, the agreements in force, the consents and
    // the reference directory.
    app->gate_facts_ =
        std::make_unique<sharing::GateFacts>(*app->db_, *app->agreements_, *app->categories_, app->clock_);
    app->gate_ = std::make_unique<authz::AccessGate>(*app->categories_, *app->gate_facts_);
    app->consents_ = std::make_unique<sharing::ConsentService>(*app->db_, *app->categories_, *app->gate_,
                                                               *app->audit_, *app->outbox_, app->clock_);
    app->directory_ = std::make_unique<sharing::ReferenceDirectory>(*app->db_, *app->gate_, *app->audit_);
    app->glass_ = std::make_unique<sharing::BreakGlassService>(*app->db_, *app->audit_, *app->outbox_, app->clock_);
    app->changes_ = std::make_unique<sharing::ChangeNoticeService>(*app->db_, *app->gate_, *app->audit_,
                                                                   *app->outbox_, app->clock_);
    app->changes_->OnlyPublicWebhooks(!config.agency_webhooks_internal);
    app->referrals_ = std::make_unique<cases::ReferralService>(*app->db_, *app->categories_, *app->gate_,
                                                               *app->audit_, *app->outbox_, app->clock_);
    app->cases_ = std::make_unique<cases::CaseService>(*app->db_, *app->categories_, *app->gate_, *app->audit_,
                                                       *app->outbox_, app->clock_);
    // Withdrawing a consent ends the referrals and case places that relied on it, at once.
    {
      audit::AuditLog* audit = app->audit_.get();
      exchange::Outbox* outbox = app->outbox_.get();
      app->consents_->OnWithdrawal([audit, outbox](storage::Transaction& tx, int64_t consent,
                                                   const authz::Principal& who, core::Timestamp now) -> core::Status {
        RETURN_IF_ERROR(cases::ReferralService::CloseOnWithdrawnConsent(tx, *audit, *outbox, who, consent, now));
        return cases::CaseService::LeaveOnWithdrawnConsent(tx, *audit, *outbox, who, consent, now);
      });
    }
    app->documents_ = std::make_unique<cases::DocumentService>(
        *app->db_, *app->categories_, *app->gate_, *app->audit_, *app->outbox_, app->clock_,
        // A file travels in a form with its other fields: 64 KiB of the request's limit is kept for them.
        cases::DocumentOptions{std::min<size_t>(5u << 20, config.max_body_bytes > (128 << 10)
                                                              ? static_cast<size_t>(config.max_body_bytes) - (64 << 10)
                                                              : static_cast<size_t>(config.max_body_bytes))});
    app->interactions_ = std::make_unique<frontoffice::InteractionService>(
        *app->db_, *app->categories_, *app->gate_, *app->audit_, *app->outbox_, app->clock_);
    // Offices without a time zone of their own keep the deployment's.
    app->office_hours_ =
        std::make_unique<frontoffice::OfficeHoursService>(*app->db_, *app->audit_, app->clock_, config.time_zone);
    app->service_metrics_ = std::make_unique<metrics::ServiceMetricsService>(
        *app->db_, *app->audit_, app->clock_, metrics::MetricsOptions{config.metrics_min_cell, config.time_zone});
    app->scorecards_ = std::make_unique<metrics::ScorecardService>(*app->db_, *app->audit_, app->clock_,
                                                                   *app->service_metrics_, config.time_zone);
    // The programs an agency may map to an outcome: those of the rules loaded below.
    App* self = app.get();
    app->outcomes_ = std::make_unique<metrics::OutcomeService>(
        *app->db_, *app->audit_, app->clock_, *app->scorecards_, *app->service_metrics_, [self] {
          std::vector<metrics::KnownProgram> out;
          if (self->rules_ == nullptr) return out;
          for (const auto& p : self->rules_->programs()) out.push_back({p.id, p.name, p.agency});
          return out;
        });
    app->diagnostics_ = std::make_unique<metrics::DiagnosticService>(*app->db_, *app->audit_, app->clock_);
    app->queues_ = std::make_unique<frontoffice::QueueService>(*app->db_, *app->gate_, *app->audit_, *app->outbox_,
                                                               app->clock_, *app->office_hours_);
    app->appointments_ = std::make_unique<frontoffice::AppointmentService>(*app->db_, *app->gate_, *app->audit_,
                                                                          *app->outbox_, app->clock_, *app->queues_);
    app->reference_guesses_ = std::make_unique<http::AddressThrottle>(app->clock_);
    app->online_bookings_ = std::make_unique<http::AddressThrottle>(
        app->clock_, http::AddressThrottle::Limits{.max = config.online_bookings_per_hour,
                                                   .window_micros = 60 * 60 * int64_t{1'000'000}});
    app->sign_ups_ = std::make_unique<http::AddressThrottle>(
        app->clock_, http::AddressThrottle::Limits{.max = 10, .window_micros = 60 * 60 * int64_t{1'000'000}});
    app->caller_limit_ = std::make_unique<http::CallerLimit>(
        app->clock_, http::CallerLimit::Limits{.user_per_minute = config.user_requests_per_minute,
                                               .token_per_minute = config.token_requests_per_minute});
    if (auto zone = cases::LocalDate(app->clock_.Now(), config.time_zone); !zone.ok()) {
      return core::Status::InvalidArgument("time_zone: " + zone.status().message());
    }
  }
  accounts::AccountOptions account_options;
  account_options.session_idle_minutes = config.session_idle_minutes;
  account_options.login_max_failures = config.login_max_failures;
  account_options.login_window_minutes = config.login_window_minutes;
  account_options.token_requests_per_minute = config.token_requests_per_minute;
  account_options.temporary_password_days = config.temporary_password_days;
  app->accounts_ = std::make_unique<accounts::AccountService>(*app->db_, *app->audit_, app->clock_, account_options);
  if (!config.password_blocklist.empty()) {
    if (core::Status s = app->accounts_->UseBlocklist(config.password_blocklist); !s.ok()) {
      return core::Status(s.code(), "password_blocklist: " + s.message());
    }
  }
  app->persons_ = std::make_unique<registry::PersonService>(*app->db_, *app->gate_, *app->audit_, *app->outbox_,
                                                            app->clock_);
  app->portal_ = std::make_unique<portal::PortalService>(*app->db_, *app->audit_, app->clock_, *app->accounts_,
                                                         *app->persons_, portal::PortalOptions{config.public_url});
  app->representatives_ = std::make_unique<portal::RepresentativeService>(*app->db_, *app->audit_, app->clock_);
  if (!config.audit_signing_key.empty()) {
    auto key = audit::LoadSigningKey(config.audit_signing_key);
    if (!key.ok()) return core::Status(key.status().code(), "audit_signing_key: " + key.status().message());
    app->sealer_ = std::make_unique<audit::PeriodicSealer>(*app->db_, std::move(key).value(), app->clock_,
                                                           std::chrono::minutes(config.audit_seal_minutes));
  }
  if (!config.oidc_providers.empty()) {
    auto providers = portal::LoadOidcProviders(config.oidc_providers);
    if (!providers.ok()) return core::Status(providers.status().code(), "oidc_providers: " + providers.status().message());
    app->oidc_ = std::make_unique<portal::OidcService>(*app->db_, *app->audit_, app->clock_, *app->accounts_,
                                                       std::move(providers).value(), config.public_url,
                                                       portal::CurlFetch());
  }
  {
    std::vector<std::string> codes;
    std::stringstream list(config.access_log_exceptions);
    for (std::string code; std::getline(list, code, ',');) {
      code.erase(0, code.find_first_not_of(' '));
      code.erase(code.find_last_not_of(' ') + 1);
      if (!code.empty()) codes.push_back(code);
    }
    app->persons_->SetAccessLogExceptions(std::move(codes));
  }
  app->households_ = std::make_unique<registry::HouseholdService>(
      *app->db_, *app->gate_, *app->audit_, *app->outbox_, app->clock_,
      [clock = &app->clock_, zone = config.time_zone] {
        auto day = cases::LocalDate(clock->Now(), zone);
        return day.ok() ? *day : clock->Now().UtcDate();
      });
  app->match_ = std::make_unique<identity::MatchService>(*app->db_, *app->gate_, *app->audit_, app->clock_);
  app->reviews_ =
      std::make_unique<identity::ReviewService>(*app->db_, *app->persons_, *app->gate_, *app->audit_, app->clock_);
  {
    // The rule packs: a pack with a problem stops the start, with every problem listed.
    std::vector<std::string> warnings;
    core::Date today = app->clock_.Now().UtcDate();
    auto rules = eligibility::RuleSet::Load(RulesDirs(config.rules_dirs), today, &warnings);
    if (!rules.ok()) return core::Status(rules.status().code(), "rules: " + rules.status().message());
    // A program's agency is the code of an agency of the deployment: a misspelt one would show
    // its code on screening results and have every application to it refused.
    if (auto agencies = app->accounts_->ListAgencies(); agencies.ok() && !agencies->empty()) {
      std::set<std::string> codes;
      for (const auto& a : *agencies) codes.insert(a.code);
      for (const auto& program : (*rules)->programs()) {
        if (codes.count(program.agency) == 0) {
          warnings.push_back(fmt::format(
              "program {} names agency '{}', which no agency of this deployment has: screening "
              "results show the "
              "code, and applications to the program are refused until an agency has it",
              program.id, program.agency));
        }
      }
    }
    // Said by the server as it starts; the commands that check the rules say them their own way,
    // and the others (a token issued, an account switched off, a verify run by cron) do not
    // repeat them.
    if (web) {
      for (const auto& w : warnings) core::LogWarn("rules.warning", {{"detail", w}});
    }
    app->rules_ = std::move(rules).value();
    app->screenings_ = std::make_unique<eligibility::ScreeningService>(
        *app->db_, *app->rules_, *app->persons_, *app->households_, *app->gate_, *app->audit_, *app->outbox_,
        app->clock_);
    app->applications_ = std::make_unique<cases::ApplicationService>(
        *app->db_, *app->gate_, app->rules_.get(), *app->audit_, *app->outbox_, app->clock_,
        cases::ApplicationOptions{config.time_zone, 30});
    // Incoming work is routed to the agencies' teams by the intake rules.
    auto intake = cases::IntakeRules::Load(config.intake_rules);
    if (!intake.ok()) return core::Status(intake.status().code(), "intake_rules: " + intake.status().message());
    app->intake_ = std::make_unique<cases::IntakeRules>(std::move(intake).value());
    app->referrals_->SetIntake(app->intake_.get());
    app->applications_->SetIntake(app->intake_.get());
    app->cases_->SetIntake(app->intake_.get());
    app->work_ = std::make_unique<cases::WorkQueueService>(*app->db_, *app->intake_, *app->audit_, *app->outbox_,
                                                           app->clock_);
  }
  {
    // The service directory, searched with the deployment's synonyms.
    auto synonyms = directory::Synonyms::Load(config.directory_synonyms);
    if (!synonyms.ok()) {
      return core::Status(synonyms.status().code(), "directory_synonyms: " + synonyms.status().message());
    }
    app->service_directory_ = std::make_unique<directory::DirectoryService>(*app->db_, *app->audit_, *app->outbox_,
                                                                            app->clock_, std::move(synonyms).value());
    // The life events, checked against the questions and programs of the rules.
    directory::RuleNames names;
    for (const auto& symbol : app->rules_->symbols()) {
      if (symbol.is_input) names.questions[symbol.name] = symbol.question.empty() ? symbol.label : symbol.question;
    }
    for (const auto& program : app->rules_->programs()) names.programs[program.id] = program.name;
    auto events = directory::LifeEvents::Load(config.life_events, names);
    if (!events.ok()) return core::Status(events.status().code(), "life_events: " + events.status().message());
    app->life_events_ = std::make_unique<directory::LifeEvents>(std::move(events).value());
  }
  if (!web) return app;

  {
    // Change notices go to each agency's own webhook, where it set one (tell us once).
    std::string instance = config.instance;
    if (instance.empty()) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      instance = std::string(host) + ":" + std::to_string(getpid());
    }
    app->notice_delivery_ = std::make_unique<sharing::NoticeDelivery>(
        *app->db_, app->clock_,
        sharing::NoticeDeliveryOptions{.owner = instance,
                                       .poll_interval = std::chrono::milliseconds(config.outbox_poll_ms),
                                       .lease = std::chrono::seconds(config.outbox_lease_seconds),
                                       .audit = app->audit_.get(),
                                       .public_only = !config.agency_webhooks_internal});
  }
  if (!config.webhook_url.empty() || !config.webhook_secret.empty()) {
    if (config.webhook_url.empty() || config.webhook_secret.empty()) {
      return core::Status::InvalidArgument("set both webhook_url and webhook_secret, or neither");
    }
    std::string instance = config.instance;
    if (instance.empty()) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      instance = std::string(host) + ":" + std::to_string(getpid());
    }
    ASSIGN_OR_RETURN(app->webhook_, exchange::WebhookSink::Create({config.webhook_url, config.webhook_secret, instance},
                                                                 app->clock_));
    app->outbox_worker_ = std::make_unique<exchange::OutboxWorker>(
        *app->db_, *app->outbox_, *app->webhook_, app->clock_,
        exchange::OutboxWorkerOptions{.owner = instance,
                                      .poll_interval = std::chrono::milliseconds(config.outbox_poll_ms),
                                      .lease = std::chrono::seconds(config.outbox_lease_seconds)});
  }

  ASSIGN_OR_RETURN(app->templates_, http::Templates::Load(config.web_root));
  // The portal's messages are written from the same catalogues as the pages.
  app->portal_->UseMessages(&app->templates_->messages());
  ASSIGN_OR_RETURN(std::string openapi, http::LoadOpenApi(config.web_root));
  app->pages_ = std::make_unique<PageDepsHolder>(PageDepsHolder{
      {*app->templates_, *app->accounts_, *app->persons_, *app->households_, config.secure_cookies,
       account_options.session_max_hours, app->match_.get(), app->reviews_.get(), app->screenings_.get()}});
  app->pages_->deps.agreements = app->agreements_.get();
  app->pages_->deps.directory = app->directory_.get();
  app->pages_->deps.glass = app->glass_.get();
  app->audit_search_ = std::make_unique<audit::AuditSearch>(*app->db_, *app->audit_);
  app->pages_->deps.audit_search = app->audit_search_.get();
  app->pages_->deps.consents = app->consents_.get();
  app->pages_->deps.changes = app->changes_.get();
  app->pages_->deps.referrals = app->referrals_.get();
  app->pages_->deps.cases = app->cases_.get();
  app->pages_->deps.applications = app->applications_.get();
  app->pages_->deps.documents = app->documents_.get();
  app->pages_->deps.work = app->work_.get();
  app->pages_->deps.services = app->service_directory_.get();
  app->pages_->deps.life_events = app->life_events_.get();
  app->pages_->deps.interactions = app->interactions_.get();
  app->pages_->deps.queues = app->queues_.get();
  app->pages_->deps.office_hours = app->office_hours_.get();
  app->pages_->deps.metrics = app->service_metrics_.get();
  app->pages_->deps.scorecards = app->scorecards_.get();
  app->pages_->deps.outcomes = app->outcomes_.get();
  app->pages_->deps.diagnostics = app->diagnostics_.get();
  app->pages_->deps.portal = app->portal_.get();
  app->pages_->deps.oidc = app->oidc_.get();
  app->pages_->deps.representatives = app->representatives_.get();
  app->pages_->deps.appointments = app->appointments_.get();
  app->pages_->deps.reference_guesses = app->reference_guesses_.get();
  app->pages_->deps.online_bookings = app->online_bookings_.get();
  app->pages_->deps.sign_ups = app->sign_ups_.get();
  app->AddOperationalRoutes();
  const std::string openapi_text = openapi;
  http::AddOpenApiRoute(app->router_, std::move(openapi));
  http::AddAccountRoutes(app->router_, *app->accounts_);
  http::AddPersonRoutes(app->router_, *app->persons_, *app->households_);
  http::AddMatchRoutes(app->router_, *app->match_);
  http::AddScreeningRoutes(app->router_, *app->screenings_);
  http::AddReviewRoutes(app->router_, *app->reviews_);
  http::AddAgreementRoutes(app->router_, *app->agreements_);
  http::AddConsentRoutes(app->router_, *app->consents_);
  http::AddDirectoryRoutes(app->router_, *app->directory_);
  http::AddBreakGlassRoutes(app->router_, *app->glass_);
  http::AddChangeRoutes(app->router_, *app->changes_);
  http::AddReferralRoutes(app->router_, *app->referrals_);
  http::AddCaseRoutes(app->router_, *app->cases_);
  http::AddApplicationRoutes(app->router_, *app->applications_);
  http::AddDocumentRoutes(app->router_, *app->documents_);
  http::AddWorkRoutes(app->router_, *app->work_);
  http::AddDirectoryApiRoutes(app->router_, *app->service_directory_, app->life_events_.get());
  http::AddTimelineRoutes(app->router_, app->referrals_.get(), app->cases_.get(), app->applications_.get(),
                          app->documents_.get(), app->interactions_.get());
  http::AddInteractionRoutes(app->router_, *app->interactions_);
  http::AddQueueRoutes(app->router_, *app->queues_);
  http::AddAppointmentRoutes(app->router_, *app->appointments_, *app->reference_guesses_);
  http::AddMetricsRoutes(app->router_, *app->service_metrics_, config.time_zone);
  http::AddScorecardRoutes(app->router_, *app->scorecards_);
  http::AddOutcomeRoutes(app->router_, *app->outcomes_, *app->scorecards_);
  http::AddDiagnosticRoutes(app->router_, *app->diagnostics_);
  http::AddPageRoutes(app->router_, app->pages_->deps);
  http::AddStaticRoutes(app->router_, config.web_root, config.node_modules);
  RETURN_IF_ERROR(http::ApplyOperationRoles(app->router_));
  auto trusted_proxies = core::SplitAddresses(config.trusted_proxies);
  if (!trusted_proxies.ok()) return core::Status::InvalidArgument("trusted_proxies: " + trusted_proxies.status().message());
  app->dispatcher_ = std::make_unique<http::Dispatcher>(
      app->router_, *app->accounts_, app->metrics_,
      http::DispatcherOptions{config.secure_cookies, static_cast<size_t>(config.max_body_bytes),
                              config.public_url.rfind("https://", 0) == 0,
                              std::move(trusted_proxies).value(),
                              app->db_->CanSubmit() ? app->db_.get() : nullptr,
                              app->caller_limit_.get(), http::QueryParameters(openapi_text)},
      http::MakeErrorPage(app->pages_->deps));
  return app;
}

void App::SetPublicUrl(const std::string& url) {
  if (portal_) portal_->SetPublicUrl(url);
  if (oidc_) oidc_->SetPublicUrl(url);
}

void App::AddOperationalRoutes() {
  router_.Add({"GET", "/healthz", http::Auth::kPublic, "getHealth", [](http::Context&) {
                 return http::Response::Json(200, R"({"status":"ok"})");
               }});
  router_.Add({"GET", "/readyz", http::Auth::kPublic, "getReadiness", [this](http::Context&) {
                 if (draining_) return http::Response::Json(503, R"({"status":"draining"})");
                 core::Status s = db_->Read([](storage::Transaction& tx) { return tx.Query("SELECT 1").status(); });
                 if (!s.ok()) return http::Response::Json(503, R"({"status":"database unavailable"})");
                 return http::Response::Json(200, R"({"status":"ready"})");
               }});
  router_.Add({"GET", "/metrics", http::Auth::kPublic, "getMetrics", [this](http::Context&) {
                 std::string text = metrics_.Render();
                 if (outbox_worker_) {
                   text += "# HELP onedoor_outbox_delivered_total Outbox events delivered by this server.\n"
                           "# TYPE onedoor_outbox_delivered_total counter\n"
                           "onedoor_outbox_delivered_total " + std::to_string(outbox_worker_->delivered()) + "\n"
                           "# HELP onedoor_outbox_failed_total Failed outbox deliveries by this server (retried).\n"
                           "# TYPE onedoor_outbox_failed_total counter\n"
                           "onedoor_outbox_failed_total " + std::to_string(outbox_worker_->failed()) + "\n";
                 }
                 if (notice_delivery_) {
                   text += "# HELP onedoor_change_pushes_delivered_total Change notices pushed to agencies' webhooks by this server.\n"
                           "# TYPE onedoor_change_pushes_delivered_total counter\n"
                           "onedoor_change_pushes_delivered_total " + std::to_string(notice_delivery_->delivered()) + "\n"
                           "# HELP onedoor_change_pushes_failed_total Failed pushes of change notices by this server (retried).\n"
                           "# TYPE onedoor_change_pushes_failed_total counter\n"
                           "onedoor_change_pushes_failed_total " + std::to_string(notice_delivery_->failed()) + "\n";
                 }
                 // The dead-letter list, deployment-wide: alert when it is above zero.
                 int64_t dead = -1;
                 (void)db_->Read([&](storage::Transaction& tx) -> core::Status {
                   ASSIGN_OR_RETURN(storage::Rows rows,
                                    tx.Query("SELECT COUNT(*) FROM change_notices WHERE delivery_state = 'dead'"));
                   dead = rows.at(0).Int(0);
                   return core::Status::Ok();
                 });
                 if (dead >= 0) {
                   text += "# HELP onedoor_change_notices_dead Change notices given up after 72 hours of failed pushes, "
                           "waiting for the agency to redeliver them.\n"
                           "# TYPE onedoor_change_notices_dead gauge\n"
                           "onedoor_change_notices_dead " + std::to_string(dead) + "\n";
                 }
                 // The work waiting now at the queues and in the agencies' trays.
                 const core::Timestamp now = clock_.Now();
                 auto today = cases::LocalDate(now, config_.time_zone);
                 auto gauges = metrics::OperationalGauges(*db_, now, (today.ok() ? *today : now.UtcDate()).ToString());
                 if (gauges.ok()) text += *gauges;
                 return http::Response::Text(200, text, "text/plain; version=0.0.4; charset=utf-8");
               }});
}

void App::StartBackgroundWork() {
  if (match_) match_->StartBuilding();
  if (sealer_) sealer_->Start();
  if (outbox_worker_) outbox_worker_->Start();
  if (notice_delivery_) notice_delivery_->Start();
}

void App::StopBackgroundWork() {
  if (sealer_) sealer_->Stop();
  if (outbox_worker_) outbox_worker_->Stop();
  if (notice_delivery_) notice_delivery_->Stop();
}

}  // namespace app
