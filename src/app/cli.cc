#include "app/cli.h"

#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "app/app.h"
#include "app/demo_data.h"
#include "audit/audit_log.h"
#include "core/crypto.h"
#include "core/log.h"
#include "http/server.h"
#include "storage/schema.h"
#include "storage/sqlite/sqlite_database.h"

namespace app {
namespace {

constexpr char kUsage[] = R"(onedoor — one front door for the agencies of a region

Usage: onedoor [--config FILE] COMMAND [ARGS]

Commands:
  serve               run the web server and API (ONEDOOR_LISTEN, default 127.0.0.1:8080)
  migrate             create or upgrade the database schema, then exit
  demo-data [--people N]
                      load the demo consortium (agencies, staff, people); safe to repeat
  audit verify        check the audit log's hash chain; names the first broken entry
  backup FILE         write a consistent copy of the SQLite database to FILE while it runs
  version             print the version
  --help              show this help

Configuration comes from the YAML file given by --config (or ONEDOOR_CONFIG), then from
environment variables that override it: ONEDOOR_DB, ONEDOOR_LISTEN, ONEDOOR_WEB_ROOT,
ONEDOOR_NODE_MODULES, ONEDOOR_LOG_LEVEL, ONEDOOR_SECURE_COOKIES, ONEDOOR_WORKER_THREADS,
ONEDOOR_IO_THREADS, ONEDOOR_READ_CONNECTIONS, ONEDOOR_MAX_BODY_BYTES,
ONEDOOR_SESSION_IDLE_MINUTES, ONEDOOR_LOGIN_MAX_FAILURES, ONEDOOR_LOGIN_WINDOW_MINUTES,
ONEDOOR_SHUTDOWN_GRACE_SECONDS. See docs/operators.md.
)";

int Fail(const core::Status& s) {
  std::fprintf(stderr, "onedoor: %s\n", s.ToString().c_str());
  return 1;
}

int Serve(const core::Config& config) {
  auto app = App::Open(config, true);
  if (!app.ok()) return Fail(app.status());
  http::ServerOptions options;
  if (auto s = http::ParseListen(config.listen, options.host, options.port); !s.ok()) return Fail(s);
  options.io_threads = config.io_threads;
  options.worker_threads = config.worker_threads;
  options.max_body_bytes = static_cast<size_t>(config.max_body_bytes) + 1;
  options.grace_seconds = config.shutdown_grace_seconds;
  App& a = **app;
  core::Status s = http::Serve(
      options, [&a](http::Request& r) { return a.dispatcher().Handle(r); },
      [&] {
        core::LogInfo("listening", {{"address", config.listen}, {"database", a.db().Describe()}});
        std::printf("onedoor is running at http://%s/\n", config.listen.c_str());
        std::fflush(stdout);
      },
      [&a] { a.SetDraining(); });
  if (!s.ok()) return Fail(s);
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string config_path;
  if (const char* env = std::getenv("ONEDOOR_CONFIG")) config_path = env;
  if (args.size() >= 2 && args[0] == "--config") {
    config_path = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "version" || args[0] == "--version") {
    std::printf("onedoor 0.1.0\n");
    return 0;
  }
  if (auto s = core::InitCrypto(); !s.ok()) return Fail(s);
  auto config = core::Config::Load(config_path);
  if (!config.ok()) return Fail(config.status());
  core::SetLogLevel(core::ParseLogLevel(config->log_level));
  const std::string& command = args[0];

  if (command == "serve") return Serve(*config);

  if (command == "migrate") {
    auto app = App::Open(*config, false);
    if (!app.ok()) return Fail(app.status());
    auto version = storage::SchemaVersion((*app)->db());
    if (!version.ok()) return Fail(version.status());
    std::printf("database %s is at schema version %d\n", (*app)->db().Describe().c_str(), *version);
    return 0;
  }

  if (command == "demo-data") {
    int people = 300;
    if (args.size() == 3 && args[1] == "--people") {
      try {
        people = std::stoi(args[2]);
      } catch (const std::exception&) {
        people = -1;
      }
      if (people < 0 || people > 100000) {
        std::fprintf(stderr, "onedoor: --people must be a number from 0 to 100000\n");
        return 2;
      }
    } else if (args.size() != 1) {
      std::fputs(kUsage, stderr);
      return 2;
    }
    auto app = App::Open(*config, false);
    if (!app.ok()) return Fail(app.status());
    auto summary = LoadDemoData(**app, people);
    if (!summary.ok()) return Fail(summary.status());
    std::printf("%s\n", summary->c_str());
    return 0;
  }

  if (command == "audit" && args.size() == 2 && args[1] == "verify") {
    auto app = App::Open(*config, false);
    if (!app.ok()) return Fail(app.status());
    auto report = audit::AuditLog::Verify((*app)->db());
    if (!report.ok()) return Fail(report.status());
    if (!report->ok) {
      std::printf("audit log BROKEN at entry %lld: %s (%lld entries checked)\n",
                  static_cast<long long>(report->first_bad_seq), report->problem.c_str(),
                  static_cast<long long>(report->entries));
      return 1;
    }
    std::printf("audit log verified: %lld entries, chain intact\n", static_cast<long long>(report->entries));
    return 0;
  }

  if (command == "backup" && args.size() == 2) {
    if (auto s = storage::BackupSqlite(config->db, args[1]); !s.ok()) return Fail(s);
    std::printf("backup written to %s\n", args[1].c_str());
    return 0;
  }

  std::fprintf(stderr, "onedoor: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 2;
}

}  // namespace app
