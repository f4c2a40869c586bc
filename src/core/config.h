#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace core {

// Everything an operator can set. Loaded from a YAML file, then overridden by environment
// variables (ONEDOOR_DB, ONEDOOR_LISTEN, ...). See docs/operators.md.
// The IP addresses of a comma-separated list (trusted_proxies), each checked.
StatusOr<std::vector<std::string>> SplitAddresses(const std::string& text);

struct Config {
  std::string db = "var/onedoor.db";       // ONEDOOR_DB: a SQLite file path
  std::string listen = "127.0.0.1:8080";   // ONEDOOR_LISTEN: host:port
  std::string web_root = ONEDOOR_DEFAULT_WEB_ROOT;          // ONEDOOR_WEB_ROOT
  std::string node_modules = ONEDOOR_DEFAULT_NODE_MODULES;  // ONEDOOR_NODE_MODULES
  int io_threads = 0;          // ONEDOOR_IO_THREADS: 0 = one per core
  int worker_threads = 64;     // ONEDOOR_WORKER_THREADS: handlers waiting on a commit hold one each
  int read_connections = 4;    // ONEDOOR_READ_CONNECTIONS
  std::string log_level = "info";  // ONEDOOR_LOG_LEVEL
  bool secure_cookies = true;      // ONEDOOR_SECURE_COOKIES
  int session_idle_minutes = 30;   // ONEDOOR_SESSION_IDLE_MINUTES
  int max_body_bytes = 1 << 20;    // ONEDOOR_MAX_BODY_BYTES
  int login_max_failures = 5;      // ONEDOOR_LOGIN_MAX_FAILURES within login_window_minutes
  int login_window_minutes = 15;
  int temporary_password_days = 7;  // a temporary password from an administrator stops working after this
  int shutdown_grace_seconds = 10;
  // ONEDOOR_RULES_DIRS: the rule packs to load, files or folders separated by ':'
  // (docs/rules.md). The default is the shared inputs and the US and demo packs.
  std::string rules_dirs = ONEDOOR_DEFAULT_RULES_DIRS;
  // ONEDOOR_DATA_CATEGORIES: the deployment's data categories, their sharing classes and the
  // category of every person field and record kind (docs/sharing.md). The default is
  // config/data-categories.yaml of the source tree.
  std::string data_categories = DefaultDataCategories();
  // ONEDOOR_ACCESS_LOG_EXCEPTIONS: agency codes, separated by commas, whose accesses a person
  // does not see in their access log (a legal exception of the deployment, for example an
  // investigation unit); the entries stay in the audit log for auditors. Empty: none.
  std::string access_log_exceptions;
  // ONEDOOR_INTAKE_RULES: the intake rules that route incoming work to the agencies' front-line
  // and specialist teams (docs/cases.md). The default is config/intake.yaml of the source tree.
  std::string intake_rules = DefaultIntakeRules();
  // ONEDOOR_DIRECTORY_SYNONYMS: groups of words that the service directory's search treats as
  // one (docs/directory.md). The default is config/synonyms.yaml of the source tree.
  std::string directory_synonyms = DefaultDirectorySynonyms();
  // ONEDOOR_LIFE_EVENTS: the life events of the navigator (/life-events), with their steps and
  // services (docs/directory.md). The default is config/life-events.yaml of the source tree.
  std::string life_events = DefaultLifeEvents();
  // ONEDOOR_TIME_ZONE: the IANA time zone whose calendar statutory clocks count in
  // ("Europe/Brussels"); onedoor refuses to start with an unknown one.
  std::string time_zone = "UTC";
  // ONEDOOR_METRICS_MIN_CELL: the smallest count service metrics show; smaller ones (but not
  // zero) are suppressed so that no one can be singled out (docs/metrics.md).
  int metrics_min_cell = 5;
  // ONEDOOR_PUBLIC_URL: the address people open onedoor at, for the links in the messages it
  // sends (confirming a portal account's e-mail address). Unset, Load makes it http:// and the
  // listen address.
  std::string public_url = "http://127.0.0.1:8080";
  bool public_url_set = false;  // given in the file or the environment
  // ONEDOOR_PASSWORD_BLOCKLIST: passwords known to attackers, one a line, refused for every
  // account (docs/operators.md, "Passwords"). The default is config/breached-passwords.txt of
  // the source tree; empty: none.
  std::string password_blocklist = DefaultPasswordBlocklist();
  // Sealing the audit log (docs/operators.md, "Sealing the audit log"). ONEDOOR_AUDIT_SIGNING_KEY:
  // the file of the Ed25519 key the server seals with (empty: the server does not seal);
  // ONEDOOR_AUDIT_VERIFY_KEYS: the file of the public keys `onedoor audit verify` trusts (old
  // keys stay listed after a rotation); ONEDOOR_AUDIT_SEAL_MINUTES: how often the server seals.
  std::string audit_signing_key;
  std::string audit_verify_keys;
  int audit_seal_minutes = 60;
  // ONEDOOR_OIDC_PROVIDERS: the OpenID Connect providers people may sign in to the portal with
  // (docs/operators.md, "Signing in with OpenID Connect"). Empty: none, e-mail and password only.
  std::string oidc_providers;

  // ONEDOOR_TRUSTED_PROXIES: the addresses of the reverse proxies in front of onedoor, separated
  // by commas; a request from one of them is taken to come from the address its
  // X-Forwarded-For names (for throttling by client address). Empty: none.
  std::string trusted_proxies = "127.0.0.1,::1";
  // ONEDOOR_ONLINE_BOOKINGS_PER_HOUR: how many appointments one client address may book online,
  // without an account, within an hour (docs/front-office.md, "Booking online").
  int online_bookings_per_hour = 20;
  // ONEDOOR_USER_REQUESTS_PER_MINUTE, ONEDOOR_TOKEN_REQUESTS_PER_MINUTE: how many requests one
  // signed-in person (a staff user, a portal account) and one API token may make in a minute,
  // all at once or spread out (docs/operators.md, "Limits per caller"). 0: no limit.
  int user_requests_per_minute = 600;
  int token_requests_per_minute = 6000;

  // Delivery of domain events from the outbox (docs/operators.md, "Event delivery").
  std::string webhook_url;       // ONEDOOR_WEBHOOK_URL: empty = events wait in the outbox
  std::string webhook_secret;    // ONEDOOR_WEBHOOK_SECRET: "whsec_" + base64 of 16-128 bytes
  std::string instance;          // ONEDOOR_INSTANCE: this server's name; empty = host:pid
  // ONEDOOR_AGENCY_WEBHOOKS_INTERNAL: let agencies' own webhooks (set by their managers) be
  // http:// or inside the network. False: https:// to public addresses only.
  bool agency_webhooks_internal = false;
  int outbox_poll_ms = 1000;     // ONEDOOR_OUTBOX_POLL_MS
  int outbox_lease_seconds = 30;  // ONEDOOR_OUTBOX_LEASE_SECONDS: a dead server's claims end after it

  // The compiled-in default of `data_categories`.
  static std::string DefaultDataCategories();
  static std::string DefaultIntakeRules();
  static std::string DefaultDirectorySynonyms();
  static std::string DefaultLifeEvents();
  static std::string DefaultPasswordBlocklist();

  // The environment variable of each setting (ONEDOOR_ and its name in capitals), sorted.
  static std::vector<std::string> EnvironmentVariables();

  // Reads `path` (empty: defaults only) and applies environment overrides.
  // Errors name the file, line and key.
  static StatusOr<Config> Load(const std::string& path);
};

}  // namespace core
