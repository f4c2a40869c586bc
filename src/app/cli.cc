#include "app/cli.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "app/app.h"
#include "app/demo_data.h"
#include "app/directory_commands.h"
#include "app/rules_commands.h"
#include "audit/audit_log.h"
#include "audit/seal.h"
#include "core/crypto.h"
#include "core/log.h"
#include "http/server.h"
#include "identity/generate.h"
#include "identity/link_eval.h"
#include "identity/registry_linker.h"
#include "registry/client_import.h"
#include "storage/copy.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "storage/sqlite/sqlite_database.h"

namespace app {
namespace {

constexpr char kUsage[] = R"(onedoor — one front door for the agencies of a region

Usage: onedoor [--config FILE] COMMAND [ARGS]

Commands:
  serve               run the web server and API (ONEDOOR_LISTEN, default 127.0.0.1:8080)
  migrate [--check]   create or upgrade the database schema, then exit; --check says the
                      version and what it would apply, and changes nothing
  demo-data [--people N]
                      load the demo consortium (agencies, staff, people); safe to repeat
  audit verify [--seals FILE]
                      check the audit log's hash chains and its signed seals (and a copy of
                      the seals kept elsewhere); names the first broken entry or seal
  audit keygen ID FILE
                      make an Ed25519 key pair for sealing: the signing key goes to FILE
                      (readable by its owner only), the public key line is printed
  audit seal          seal the audit log now with audit_signing_key
  audit seals         print every seal, one JSON line each, to keep elsewhere
  backup FILE         write a consistent copy of the SQLite database to FILE while it runs
  db copy --from DB --to DB
                      copy every table into a new, empty database (DB is a SQLite path,
                      sqlite:PATH or postgres://...), then check row counts and the audit chain
  import clients --agency CODE --mapping MAPPING.yaml [--rejects FILE] FILE.csv
                      load an agency's client list into its source records (docs/imports.md);
                      rows that cannot be used go to the reject file with line and reason
  link generate --records N --seed S [--out FILE] [--duplicates-share P]
                      write realistic corrupted person records with known truth (FEBRL CSV)
  link dedupe [--dry-run]
                      link every agency's source records into shared persons (the client
                      index); doubtful pairs go to the review queue; prints a JSON summary
  link eval --format febrl FILE [FILE] [--ignore COLUMN,...] [--model M] [--model-out M]
                      match the FEBRL test files (one: deduplicate; two: link) and print
                      precision, recall, F1, pairs compared and seconds as one JSON line
  directory import [--type TABLE] [--replace] PATH
                      load a service directory in Open Referral HSDS 3.0: a JSON file, or a
                      folder with the CSV data package; problems name file, line and field
  directory export --format json|csv OUT
                      write the whole directory as an HSDS JSON bundle, or as the CSV data
                      package into the folder OUT
  rules check [--rules DIRS]
                      load the rule packs and list their programs; errors name file, line, column
  rules test [--rules DIRS] PATH...
                      run the rule packs' YAML test files; ends with "N passed, N failed"
  rules screen [--as-of DATE] [--threads N] (--csv FILE | --all) [--out FILE]
               [--compare OLD_DIRS NEW_DIRS] [--enrolled FILE --take-up OUT]
                      screen many households against every program (a CSV file, or every
                      registered household with a saved screening); compare two rule sets;
                      list the likely eligible who are not enrolled (onedoor rules --help)
  rules generate --households N [--seed S] [--out FILE]
                      write realistic generated households as CSV, for benchmarks
  agency create --code CODE --name NAME --kind government|nonprofit
                      add a partner agency
  user create --agency CODE --username NAME --name "DISPLAY NAME" --roles ROLE[,ROLE]
                      add a staff account; the password is read from ONEDOOR_PASSWORD or stdin
  user disable|enable --agency CODE --username NAME
                      switch a staff account off (its sessions end at once) or back on
  token create --agency CODE --name NAME --roles ROLE[,ROLE] --scopes SCOPE[,SCOPE] [--days N]
               [--requests-per-minute N]
                      issue an API token for an agency system, valid N days (1 to 730, default
                      365), with its own request limit a minute if given (0: none); prints the
                      secret once
  token list [--agency CODE]
                      list the API tokens (of one agency): id, agency, name, roles, scopes,
                      expiry, last use and whether revoked; never their secrets
  token revoke --id ID
                      revoke a token: its next request is refused
  token limit --id ID --requests-per-minute N|default
                      give a token its own request limit a minute (0: none), or the
                      deployment's token_requests_per_minute again
  routes              print the route table, one JSON line per route: method, pattern,
                      authentication (public, page, api) and OpenAPI operationId
  version             print the version
  --help              show this help

Configuration comes from the YAML file given by --config (or ONEDOOR_CONFIG), then from
environment variables that override it, one for each setting of the file (ONEDOOR_ and the
setting's name in capitals):
)";

// The usage with every environment variable a setting has, as core::Config reads them.
std::string UsageText() {
  std::string out = kUsage;
  std::string line;
  const std::vector<std::string> names = core::Config::EnvironmentVariables();
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string word = names[i] + (i + 1 < names.size() ? "," : ".");
    if (!line.empty() && line.size() + 1 + word.size() > 96) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line + "\nSee docs/operators.md.\n";
}

int Fail(const core::Status& s) {
  std::fprintf(stderr, "onedoor: %s\n", s.ToString().c_str());
  return 1;
}

// "--key value" pairs after a sub-command.
std::map<std::string, std::string> Flags(const std::vector<std::string>& args, size_t from) {
  std::map<std::string, std::string> out;
  for (size_t i = from; i + 1 < args.size(); i += 2) {
    if (args[i].rfind("--", 0) == 0) out[args[i].substr(2)] = args[i + 1];
  }
  return out;
}

// The "--key value" pairs of a command that takes only `known` options: an option it does not
// take, or one without its value, is named with the command's usage instead of being ignored.
std::optional<std::map<std::string, std::string>> KnownFlags(const std::vector<std::string>& args,
                                                             size_t from,
                                                             const std::vector<std::string>& known,
                                                             const std::string& command,
                                                             std::string* problem) {
  std::map<std::string, std::string> out;
  for (size_t i = from; i < args.size(); i += 2) {
    const std::string& a = args[i];
    const std::string key = a.rfind("--", 0) == 0 ? a.substr(2) : "";
    if (key.empty() || std::find(known.begin(), known.end(), key) == known.end()) {
      *problem = a.rfind("--", 0) == 0
                     ? fmt::format("'{}' does not take {}", command, a)
                     : fmt::format("'{}' does not take '{}' (options start with --)", command, a);
      return std::nullopt;
    }
    if (i + 1 >= args.size()) {
      *problem = fmt::format("{} needs a value", a);
      return std::nullopt;
    }
    // Given twice, which one counts would be a guess (a token revoked, another left working).
    if (out.count(key) > 0) {
      *problem = fmt::format("{} is given twice: give it once", a);
      return std::nullopt;
    }
    out[key] = args[i + 1];
  }
  return out;
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// The lines of the usage about `command` ("backup", "user"...), or "" when it has none.
std::string CommandUsage(const std::string& command) {
  std::istringstream in(UsageText());
  std::string line;
  std::string out;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.size() > 2 && line.compare(0, 2, "  ") == 0 && line[2] != ' ') {
      inside = line.compare(2, command.size(), command) == 0 &&
               (line.size() == 2 + command.size() || line[2 + command.size()] == ' ');
    } else if (line.compare(0, 3, "   ") != 0) {
      inside = false;
    }
    if (inside) out += line + "\n";
  }
  return out;
}

int Usage(const std::string& what) {
  std::fprintf(stderr, "onedoor: %s\n", what.c_str());
  return 2;
}

// A whole number as given at the command line: digits only, at most ten of them.
std::optional<int64_t> ParseWholeNumber(const std::string& text) {
  if (text.empty() || text.size() > 10 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(text);
}

// onedoor token limit --id ID --requests-per-minute N|default: a token's own request limit a
// minute, or the deployment's again. Audited; applies from the token's next request.
int TokenLimitCommand(const core::Config& config, const std::vector<std::string>& args) {
  auto flags = Flags(args, 2);
  const char* usage = "usage: onedoor token limit --id ID --requests-per-minute N|default";
  if (args.size() != 6 || !flags.count("id") || !flags.count("requests-per-minute")) return Usage(usage);
  auto id = ParseWholeNumber(flags["id"]);
  if (!id || *id < 1) return Usage("--id must be a token's id: a whole number from 1");
  std::optional<int64_t> limit;
  if (flags["requests-per-minute"] != "default") {
    limit = ParseWholeNumber(flags["requests-per-minute"]);
    if (!limit) return Usage("--requests-per-minute must be default or a whole number from 0 (no limit) to 1000000000");
  }
  auto app = App::Open(config, false);
  if (!app.ok()) return Fail(app.status());
  auto token = (*app)->accounts().SetTokenLimit(accounts::AccountService::SystemPrincipal("cli"),
                                                core::ApiTokenId{*id}, limit);
  if (!token.ok()) return Fail(token.status());
  if (!token->requests_per_minute) {
    std::printf("token %lld (%s) has the deployment's request limit\n", static_cast<long long>(*id), token->name.c_str());
  } else if (*token->requests_per_minute == 0) {
    std::printf("token %lld (%s) has no request limit\n", static_cast<long long>(*id), token->name.c_str());
  } else {
    std::printf("token %lld (%s) may make at most %d requests a minute\n", static_cast<long long>(*id),
                token->name.c_str(), *token->requests_per_minute);
  }
  return 0;
}

// A password typed at the terminal: asked for on standard error and not shown as it is typed.
// From a pipe, the first line.
std::optional<std::string> ReadPassword(const std::string& username) {
  const bool terminal = ::isatty(STDIN_FILENO) == 1;
  termios before{};
  if (terminal) {
    std::fprintf(stderr, "Password for %s (not shown as you type): ", username.c_str());
    std::fflush(stderr);
    if (::tcgetattr(STDIN_FILENO, &before) == 0) {
      termios quiet = before;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
  }
  char buf[512];
  const bool got = std::fgets(buf, sizeof buf, stdin) != nullptr;
  if (terminal) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &before);
    std::fputc('\n', stderr);
  }
  if (!got) return std::nullopt;
  std::string password = buf;
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
    password.pop_back();
  return password;
}

int AccountCommand(const core::Config& config, const std::vector<std::string>& args) {
  const std::string& what = args[0];
  const std::vector<std::string> known =
      what == "agency" ? std::vector<std::string>{"code", "name", "kind"}
      : what == "user" ? std::vector<std::string>{"agency", "username", "name", "email", "roles"}
                       : std::vector<std::string>{"agency", "name", "roles",
                                                  "scopes", "days", "requests-per-minute"};
  std::string problem;
  auto known_flags = KnownFlags(args, 2, known, what + " create", &problem);
  if (!known_flags) {
    std::fprintf(stderr, "onedoor: %s; its usage:\n%s", problem.c_str(),
                 CommandUsage(what).c_str());
    return 2;
  }
  auto& flags = *known_flags;
  std::optional<int> days;
  if (flags.count("days")) {
    auto parsed = ParseWholeNumber(flags["days"]);
    if (!parsed || *parsed < 1 || *parsed > 730)
      return Usage("--days must be a whole number of days from 1 to 730");
    days = static_cast<int>(*parsed);
  }
  auto app = App::Open(config, false);
  if (!app.ok()) return Fail(app.status());
  auto& accounts = (*app)->accounts();
  authz::Principal system = accounts::AccountService::SystemPrincipal("cli");
  const std::string& kind = args[0];
  if (kind == "agency") {
    if (!flags.count("code") || !flags.count("name")) return Usage("agency create needs --code and --name");
    accounts::Agency agency{{}, flags["code"], flags["name"],
                            flags["kind"] == "nonprofit" ? accounts::AgencyKind::kNonprofit
                                                         : accounts::AgencyKind::kGovernment};
    if (flags.count("kind") && flags["kind"] != "government" && flags["kind"] != "nonprofit") {
      return Usage("--kind must be government or nonprofit");
    }
    auto created = accounts.CreateAgency(system, agency);
    if (!created.ok()) return Fail(created.status());
    std::printf("agency %s created with id %lld\n", created->code.c_str(), static_cast<long long>(created->id.value));
    return 0;
  }
  if (!flags.count("agency")) return Usage(kind + " create needs --agency CODE");
  auto agency = accounts.FindAgencyByCode(flags["agency"]);
  if (!agency.ok()) return Fail(agency.status());
  system.agency = agency->id;
  std::vector<authz::Role> roles;
  for (const auto& r : SplitList(flags["roles"])) {
    auto role = authz::ParseRole(r);
    if (!role.ok()) return Fail(role.status());
    roles.push_back(*role);
  }
  if (kind == "user") {
    accounts::NewUser user;
    user.username = flags["username"];
    user.display_name = flags.count("name") ? flags["name"] : flags["username"];
    user.email = flags["email"];
    user.agency = agency->id;
    user.roles = roles;
    if (const char* pw = std::getenv("ONEDOOR_PASSWORD")) {
      user.password = pw;
    } else {
      auto typed = ReadPassword(user.username);
      if (!typed) return Usage("give the password on stdin or in ONEDOOR_PASSWORD");
      user.password = *typed;
    }
    auto created = accounts.CreateUser(system, user);
    if (!created.ok()) return Fail(created.status());
    std::printf("user %s created with id %lld\n", created->username.c_str(), static_cast<long long>(created->id.value));
    return 0;
  }
  std::optional<int64_t> limit;
  if (flags.count("requests-per-minute")) {
    auto parsed = ParseWholeNumber(flags["requests-per-minute"]);
    if (!parsed) return Usage("--requests-per-minute must be a whole number from 0 (no limit) to 1000000000");
    limit = *parsed;
  }
  auto issued = accounts.IssueToken(system, flags["name"], roles, SplitList(flags["scopes"]),
                                    days.value_or(365), limit);
  if (!issued.ok()) return Fail(issued.status());
  // The secret alone on standard output (scripts keep it); what it is, for the operator, beside it.
  std::fprintf(stderr, "token %lld (%s) for %s, valid until %s; the secret is shown once:\n",
               static_cast<long long>(issued->token.id.value), issued->token.name.c_str(),
               agency->code.c_str(),
               issued->token.expires_at
                   ? issued->token.expires_at->ToRfc3339().substr(0, 10).c_str()
                   : "revoked");
  std::printf("%s\n", issued->secret.c_str());
  return 0;
}

// onedoor token list [--agency CODE]: the tokens, never their secrets.
int TokenListCommand(const core::Config& config, const std::vector<std::string>& args) {
  std::string problem;
  auto flags = KnownFlags(args, 2, {"agency"}, "token list", &problem);
  if (!flags) return Usage(problem + "; usage: onedoor token list [--agency CODE]");
  auto app = App::Open(config, false);
  if (!app.ok()) return Fail(app.status());
  auto& accounts = (*app)->accounts();
  authz::Principal system = accounts::AccountService::SystemPrincipal("cli");
  if (flags->count("agency")) {
    auto agency = accounts.FindAgencyByCode((*flags)["agency"]);
    if (!agency.ok())
      return Fail(core::Status(
          agency.status().code(),
          fmt::format("--agency {}: {}", (*flags)["agency"], agency.status().message())));
    system.agency = agency->id;
  }
  auto agencies = accounts.ListAgencies();
  if (!agencies.ok()) return Fail(agencies.status());
  std::map<int64_t, std::string> codes;
  for (const auto& a : *agencies) codes[a.id.value] = a.code;
  auto tokens = accounts.ListTokens(system);
  if (!tokens.ok()) return Fail(tokens.status());
  auto day = [](const std::optional<core::Timestamp>& t) {
    return t ? t->ToRfc3339().substr(0, 10) : std::string("-");
  };
  std::printf("%-5s %-18s %-20s %-9s %-10s %-10s %-24s %s\n", "id", "agency", "name", "state",
              "expires", "last used", "roles", "scopes");
  for (const auto& t : *tokens) {
    std::string roles;
    for (auto r : t.roles) roles += (roles.empty() ? "" : ",") + std::string(authz::RoleName(r));
    std::string scopes;
    for (const auto& sc : t.scopes) scopes += (scopes.empty() ? "" : ",") + sc;
    const char* state = t.revoked_at ? "revoked" : t.expired ? "expired" : "active";
    std::printf("%-5lld %-18s %-20s %-9s %-10s %-10s %-24s %s\n",
                static_cast<long long>(t.id.value), codes[t.agency.value].c_str(), t.name.c_str(),
                state, day(t.expires_at).c_str(), day(t.last_used_at).c_str(), roles.c_str(),
                scopes.c_str());
  }
  return 0;
}

// onedoor token revoke --id ID: the token's next request is refused. Audited.
int TokenRevokeCommand(const core::Config& config, const std::vector<std::string>& args) {
  std::string problem;
  auto flags = KnownFlags(args, 2, {"id"}, "token revoke", &problem);
  if (!flags || !flags->count("id")) {
    return Usage((flags ? std::string("token revoke needs --id") : problem) +
                 "; usage: onedoor token revoke --id ID");
  }
  auto id = ParseWholeNumber((*flags)["id"]);
  if (!id || *id < 1)
    return Usage("--id must be a token's id (onedoor token list): a whole number from 1");
  auto app = App::Open(config, false);
  if (!app.ok()) return Fail(app.status());
  auto& accounts = (*app)->accounts();
  const authz::Principal system = accounts::AccountService::SystemPrincipal("cli");
  if (auto s = accounts.RevokeToken(system, core::ApiTokenId{*id}); !s.ok()) return Fail(s);
  std::printf("token %lld revoked: its next request is refused\n", static_cast<long long>(*id));
  return 0;
}

// onedoor user disable|enable --agency CODE --username NAME: switches a staff account off (its
// sessions end at once, and it can no longer sign in) or back on. Audited.
int UserActiveCommand(const core::Config& config, const std::vector<std::string>& args) {
  auto flags = Flags(args, 2);
  const bool enable = args[1] == "enable";
  if (args.size() != 6 || !flags.count("agency") || !flags.count("username")) {
    return Usage("usage: onedoor user disable|enable --agency CODE --username NAME");
  }
  auto app = App::Open(config, false);
  if (!app.ok()) return Fail(app.status());
  auto& accounts = (*app)->accounts();
  auto agency = accounts.FindAgencyByCode(flags["agency"]);
  if (!agency.ok()) return Fail(agency.status());
  authz::Principal system = accounts::AccountService::SystemPrincipal("cli");
  system.agency = agency->id;
  auto users = accounts.ListUsers(system, agency->id);
  if (!users.ok()) return Fail(users.status());
  auto user = std::find_if(users->begin(), users->end(), [&](const accounts::User& u) { return u.username == flags["username"]; });
  if (user == users->end()) {
    return Fail(core::Status::NotFound(fmt::format("{} has no staff account {}", agency->code, flags["username"])));
  }
  if (auto s = accounts.SetUserActive(system, user->id, enable); !s.ok()) return Fail(s);
  std::printf("%s\n", enable ? fmt::format("account {} switched on", user->username).c_str()
                               : fmt::format("account {} switched off; its sessions have ended", user->username).c_str());
  return 0;
}

int Serve(const core::Config& config) {
  auto app = App::Open(config, true);
  if (!app.ok()) return Fail(app.status());
  http::ServerOptions options;
  if (auto s = http::ParseListen(config.listen, options.host, options.port); !s.ok()) return Fail(s);
  options.io_threads = config.io_threads;
  options.worker_threads = config.worker_threads;
  // The dispatcher answers 413 with a problem body up to this ceiling; beyond it the
  // connection is closed without reading further.
  options.max_body_bytes = std::max<size_t>(static_cast<size_t>(config.max_body_bytes) * 4, 8u << 20);
  options.grace_seconds = config.shutdown_grace_seconds;
  App& a = **app;
  options.runs_inline = [&a](const http::Request& r) { return a.dispatcher().RunsInline(r); };
  // The address as bound: with port 0 in listen, the port the system chose.
  auto address = [&options](uint16_t port) {
    const bool v6 = options.host.find(':') != std::string::npos;
    return fmt::format("{}{}{}:{}", v6 ? "[" : "", options.host, v6 ? "]" : "", port);
  };
  if (!config.public_url_set && options.port == 0) {
    // Links in the portal's messages name the port the system chooses.
    options.on_bound = [&a, address](uint16_t port) { a.SetPublicUrl("http://" + address(port)); };
  }
  core::Status s = http::Serve(
      options, [&a](http::Request& r) { return a.dispatcher().Handle(r); },
      [&](uint16_t port) {
        const std::string bound = address(port);
        core::LogInfo("listening", {{"address", bound}, {"database", a.db().Describe()}});
        a.StartBackgroundWork();
        std::printf("onedoor is running at http://%s/\n", bound.c_str());
        std::fflush(stdout);
      },
      [&a] { a.SetDraining(); });
  if (!s.ok()) return Fail(s);
  return 0;
}

// A SQLite path, "sqlite:PATH", or a PostgreSQL URL.
std::string SqlitePath(const std::string& db) { return db.rfind("sqlite:", 0) == 0 ? db.substr(7) : db; }

core::StatusOr<std::unique_ptr<storage::Database>> OpenDatabase(const std::string& db) {
  if (storage::IsPostgresUrl(db)) return storage::OpenPostgres(db);
  std::string path = SqlitePath(db);
  if (path.empty()) return core::Status::InvalidArgument("give a SQLite path after sqlite:");
  return storage::OpenSqlite(path);
}

// The configured database opened to be checked, as it is: neither created nor upgraded. Refused
// when it is not an onedoor database (an empty file, a file that is not a database, one without
// the schema) or one written by a newer onedoor; `note` says when it is older than this build's.
core::StatusOr<std::unique_ptr<storage::Database>> OpenToCheck(const core::Config& config,
                                                               std::string* note) {
  const bool sqlite = !storage::IsPostgresUrl(config.db);
  const std::string name = sqlite ? SqlitePath(config.db) : std::string("the PostgreSQL database");
  if (std::error_code ec; sqlite && std::filesystem::is_regular_file(name, ec) &&
                          std::filesystem::file_size(name, ec) == 0) {
    return core::Status::FailedPrecondition(
        fmt::format("{} is empty: it is not an onedoor database (check the db setting, or the file "
                    "a restore copied)",
                    name));
  }
  auto db = OpenDatabase(config.db);
  if (!db.ok())
    return core::Status(db.status().code(), fmt::format("{}: {}", name, db.status().message()));
  auto version = storage::ReadSchemaVersion(**db);
  if (!version.ok())
    return core::Status(version.status().code(),
                        fmt::format("{}: {}", name, version.status().message()));
  const int latest = storage::OnedoorSchema().back().version;
  if (*version == 0) {
    return core::Status::FailedPrecondition(
        fmt::format("{} has no onedoor schema: it is not an onedoor database (check the db "
                    "setting, or the file a "
                    "restore copied)",
                    name));
  }
  if (*version > latest) {
    return core::Status::FailedPrecondition(fmt::format(
        "{} is at schema version {}, written by a newer onedoor (this one knows up to {})", name,
        *version, latest));
  }
  if (*version < latest && note != nullptr) {
    *note = fmt::format(
        "{} is at schema version {} (this onedoor's is {}): checked as it is, not upgraded", name,
        *version, latest);
  }
  return std::move(db).value();
}

// onedoor db copy --from DB --to DB
// onedoor audit keygen ID FILE | seal | seals.
int AuditCommand(const core::Config& config, const std::vector<std::string>& args) {
  if (args[1] == "keygen") {
    if (args.size() != 4) return Fail(core::Status::InvalidArgument("usage: onedoor audit keygen ID FILE"));
    if (std::ifstream(args[3])) {
      return Fail(core::Status::AlreadyExists(args[3] + " already exists: keys are never overwritten"));
    }
    auto key = audit::NewSigningKey(args[2]);
    if (!key.ok()) return Fail(key.status());
    {
      const int fd = ::open(args[3].c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
      if (fd < 0) return Fail(core::Status::InvalidArgument(args[3] + ": cannot be created"));
      const std::string line = audit::SigningKeyLine(*key) + "\n";
      const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
      ::close(fd);
      if (!written) return Fail(core::Status::Internal(args[3] + ": could not be written"));
    }
    std::fprintf(stderr, "signing key written to %s (keep it secret; set audit_signing_key to it)\n"
                         "add this line to the verification keys file (audit_verify_keys):\n", args[3].c_str());
    std::printf("%s\n", audit::VerifyKeyLine(audit::VerifyKeyOf(*key)).c_str());
    return 0;
  }
  if (args[1] == "seal" && args.size() == 2) {
    if (config.audit_signing_key.empty()) {
      return Fail(core::Status::FailedPrecondition("set audit_signing_key (ONEDOOR_AUDIT_SIGNING_KEY) to seal"));
    }
    auto key = audit::LoadSigningKey(config.audit_signing_key);
    if (!key.ok()) return Fail(key.status());
    auto app = App::Open(config, false);
    if (!app.ok()) return Fail(app.status());
    core::SystemClock clock;
    auto seal = audit::SealNow((*app)->db(), *key, clock);
    if (!seal.ok()) return Fail(seal.status());
    std::printf("audit log sealed: seal %lld, %lld entries on %zu chain%s, key %s\n", static_cast<long long>(seal->id),
                static_cast<long long>(seal->Entries()), seal->heads.size(), seal->heads.size() == 1 ? "" : "s",
                seal->key_id.c_str());
    return 0;
  }
  if (args[1] == "seals" && args.size() == 2) {
    auto db = OpenToCheck(config, nullptr);
    if (!db.ok()) return Fail(db.status());
    auto seals = audit::ListSeals(**db);
    if (!seals.ok()) return Fail(seals.status());
    for (const auto& s : *seals) std::printf("%s\n", s.ToJson().c_str());
    return 0;
  }
  return Fail(core::Status::InvalidArgument("usage: onedoor audit verify|keygen|seal|seals (see onedoor --help)"));
}

int CopyCommand(const std::vector<std::string>& args) {
  if (args.size() != 6) return Usage("usage: onedoor db copy --from DB --to DB");
  auto flags = Flags(args, 2);
  if (!flags.count("from") || !flags.count("to")) return Usage("db copy needs --from DB and --to DB");
  // OpenSqlite would create a missing file: refuse a source that is not there.
  if (!storage::IsPostgresUrl(flags["from"]) && !std::filesystem::exists(SqlitePath(flags["from"]))) {
    return Usage("the source database " + flags["from"] + " does not exist");
  }
  auto from = OpenDatabase(flags["from"]);
  if (!from.ok()) return Fail(from.status());
  auto to = OpenDatabase(flags["to"]);
  if (!to.ok()) return Fail(to.status());
  std::printf("copying %s to %s\n", (*from)->Describe().c_str(), (*to)->Describe().c_str());
  if (auto migrated = storage::Migrate(**to, storage::OnedoorSchema()); !migrated.ok()) {
    return Fail(migrated.status());
  }
  auto report = storage::CopyDatabase(**from, **to, storage::OnedoorTables());
  if (!report.ok()) return Fail(report.status());
  for (const storage::TableCopy& t : report->tables) {
    std::printf("  %-20s %10lld rows\n", t.table.c_str(), static_cast<long long>(t.target_rows));
  }
  std::printf("row counts equal in every table\n");
  auto audit = audit::AuditLog::Verify(**to);
  if (!audit.ok()) return Fail(audit.status());
  if (!audit->ok) {
    std::printf("audit log BROKEN on the target at entry %lld: %s\n", static_cast<long long>(audit->first_bad_seq),
                audit->problem.c_str());
    return 1;
  }
  std::printf("audit chains verified on the target: %lld entries on %lld chain%s\n",
              static_cast<long long>(audit->entries), static_cast<long long>(audit->chains),
              audit->chains == 1 ? "" : "s");
  return 0;
}

// onedoor import clients --agency CODE --mapping M.yaml [--rejects R.csv] FILE.csv
int ImportCommand(const core::Config& config, const std::vector<std::string>& args) {
  constexpr const char* kUsage =
      "usage: onedoor import clients --agency CODE --mapping MAPPING.yaml [--rejects REJECTS.csv] FILE.csv";
  if (args.size() < 3 || args[1] != "clients") return Usage(kUsage);
  std::map<std::string, std::string> flags;
  std::string file;
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i].rfind("--", 0) == 0) {
      if (i + 1 >= args.size()) return Usage(kUsage);
      flags[args[i].substr(2)] = args[i + 1];
      ++i;
    } else if (file.empty()) {
      file = args[i];
    } else {
      return Usage(kUsage);
    }
  }
  for (const auto& [k, v] : flags) {
    if (k != "agency" && k != "mapping" && k != "rejects") return Usage("unknown option --" + k + "; " + kUsage);
  }
  if (file.empty() || !flags.count("agency") || !flags.count("mapping")) return Usage(kUsage);
  auto mapping = registry::ImportMapping::Load(flags["mapping"]);
  if (!mapping.ok()) return Fail(mapping.status());
  std::ifstream in(file, std::ios::binary);
  if (!in) return Usage("cannot open " + file);
  std::error_code ec;
  const auto total_bytes = static_cast<int64_t>(std::filesystem::file_size(file, ec));
  auto app = App::Open(config, false);
  if (!app.ok()) return Fail(app.status());
  auto agency = (*app)->accounts().FindAgencyByCode(flags["agency"]);
  if (!agency.ok()) return Fail(agency.status());
  const std::string rejects_path =
      flags.count("rejects") ? flags["rejects"] : std::filesystem::path(file).stem().string() + ".rejects.csv";
  std::ofstream rejects(rejects_path);
  if (!rejects) return Usage("cannot write the reject file " + rejects_path);
  authz::Principal who;
  who.kind = authz::PrincipalKind::kSystem;
  who.agency = agency->id;
  who.name = "import " + std::filesystem::path(file).filename().string();
  who.roles = {authz::Role::kCaseworker};
  who.scopes = {"source-records:write"};
  who.purpose = authz::Purpose::kCaseWork;
  who.request_id = "cli-import";

  // A progress line on a terminal: done, rate, and time left from the bytes read.
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto start = std::chrono::steady_clock::now();
  registry::ImportOptions options;
  options.source_name = std::filesystem::path(file).filename().string();
  options.progress = [&](int64_t bytes, int64_t rows) {
    if (!tty) return;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double share = total_bytes > 0 ? std::min(1.0, static_cast<double>(bytes) / total_bytes) : 0;
    const double rate = secs > 0 ? rows / secs : 0;
    const double eta = share > 0 ? secs / share - secs : 0;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(share * kWidth);
    std::fprintf(stderr, "\r  [%s%s] %3.0f%%  %lld rows  %.0f rows/s  ETA %.0f s   ",
                 std::string(filled, '#').c_str(), std::string(kWidth - filled, ' ').c_str(), share * 100,
                 static_cast<long long>(rows), rate, eta);
    std::fflush(stderr);
  };
  auto summary = registry::ImportClients((*app)->persons(), who, *mapping, in, rejects, options);
  if (tty) std::fprintf(stderr, "\n");
  if (!summary.ok()) return Fail(summary.status());
  rejects.close();
  std::printf("imported %s for %s: %lld rows read, %lld created, %lld updated, %lld unchanged, %lld rejected "
              "in %.1f s\n",
              options.source_name.c_str(), agency->code.c_str(), static_cast<long long>(summary->rows),
              static_cast<long long>(summary->created), static_cast<long long>(summary->updated),
              static_cast<long long>(summary->unchanged), static_cast<long long>(summary->rejected),
              summary->seconds);
  if (summary->rejected > 0) {
    std::printf("rejected rows, each with its line and reason: %s\n", rejects_path.c_str());
  } else {
    std::filesystem::remove(rejects_path, ec);
  }
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string config_path;
  if (const char* env = std::getenv("ONEDOOR_CONFIG")) config_path = env;
  // --config FILE (or --config=FILE) before or after the command.
  for (size_t i = 0; i < args.size();) {
    if (args[i] == "--config") {
      if (i + 1 >= args.size()) return Usage("--config needs a file: onedoor --config FILE COMMAND");
      config_path = args[i + 1];
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i), args.begin() + static_cast<std::ptrdiff_t>(i) + 2);
    } else if (args[i].rfind("--config=", 0) == 0) {
      config_path = args[i].substr(9);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(UsageText().c_str(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  // COMMAND --help: that command's lines of the usage, and nothing done.
  if (std::find(args.begin() + 1, args.end(), "--help") != args.end() ||
      std::find(args.begin() + 1, args.end(), "-h") != args.end()) {
    const std::string lines = CommandUsage(args[0]);
    if (lines.empty()) {
      std::fprintf(stderr, "onedoor: unknown command '%s'\n\n%s", args[0].c_str(),
                   UsageText().c_str());
      return 2;
    }
    std::printf("Usage: onedoor [--config FILE] ...\n%s", lines.c_str());
    return 0;
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

  // Commands that work on a database made before (by `migrate`, `serve` or `demo-data`): a path
  // typed wrong would otherwise be created empty, and `audit verify` would find its empty log
  // intact.
  const bool on_existing_database =
      (command == "audit" && args.size() >= 2 && args[1] != "keygen") || command == "agency" ||
      command == "user" || command == "token" || command == "import" || command == "backup" ||
      command == "directory" || (command == "link" && args.size() >= 2 && args[1] == "dedupe") ||
      (command == "rules" && std::find(args.begin(), args.end(), "--all") != args.end());
  if (on_existing_database && !storage::IsPostgresUrl(config->db)) {
    const std::string path = SqlitePath(config->db);
    if (std::error_code ec;
        !path.empty() && path != ":memory:" && !std::filesystem::exists(path, ec)) {
      return Fail(
          core::Status::NotFound(fmt::format("there is no database at {}: check the db setting "
                                             "(ONEDOOR_DB), or create it with onedoor migrate",
                                             path)));
    }
  }

  if (command == "serve") {
    if (args.size() != 1) return Usage("usage: onedoor [--config FILE] serve (settings come from the file and ONEDOOR_*)");
    return Serve(*config);
  }

  if (command == "migrate" && args.size() == 2 && args[1] == "--check") {
    // The version, and what `migrate` would do, without doing it.
    if (!storage::IsPostgresUrl(config->db)) {
      if (std::error_code ec; !std::filesystem::exists(SqlitePath(config->db), ec)) {
        std::printf("there is no database at %s: onedoor migrate would create it\n",
                    SqlitePath(config->db).c_str());
        return 0;
      }
    }
    auto db = OpenDatabase(config->db);
    if (!db.ok()) return Fail(db.status());
    auto version = storage::ReadSchemaVersion(**db);
    if (!version.ok()) return Fail(version.status());
    const int latest = storage::OnedoorSchema().back().version;
    std::printf("database %s is at schema version %d; this onedoor's is %d",
                (*db)->Describe().c_str(), *version, latest);
    if (*version < latest) {
      std::printf(
          ": onedoor migrate would apply %d migration%s (back up first: docs/operators.md)\n",
          latest - *version, latest - *version == 1 ? "" : "s");
    } else if (*version > latest) {
      std::printf(": written by a newer onedoor, which this one refuses\n");
    } else {
      std::printf(": nothing to apply\n");
    }
    return 0;
  }

  if (command == "migrate") {
    if (args.size() != 1) return Usage("usage: onedoor [--config FILE] migrate [--check]");
    auto app = App::Open(*config, false);
    if (!app.ok()) return Fail(app.status());
    auto version = storage::SchemaVersion((*app)->db());
    if (!version.ok()) return Fail(version.status());
    std::printf("database %s is at schema version %d\n", (*app)->db().Describe().c_str(), *version);
    return 0;
  }

  if (command == "routes") {
    if (args.size() != 1) return Usage("usage: onedoor routes");
    core::SetLogLevel(core::LogLevel::kError);
    // The routes are the program's, not the database's: they are built on a throwaway database,
    // so that printing them never creates or upgrades the configured one.
    std::error_code ec;
    const std::filesystem::path scratch =
        std::filesystem::temp_directory_path(ec) / ("onedoor-routes-" + std::to_string(::getpid()));
    std::filesystem::create_directories(scratch, ec);
    if (ec)
      return Fail(core::Status::Unavailable("cannot make a temporary folder: " + ec.message()));
    int rc = 0;
    {
      core::Config scratch_config = *config;
      scratch_config.db = (scratch / "routes.db").string();
      auto app = App::Open(scratch_config, true);
      if (!app.ok()) {
        rc = Fail(app.status());
      } else {
        for (const http::Route& route : (*app)->router().routes()) {
          const char* auth = route.auth == http::Auth::kPublic ? "public"
                             : route.auth == http::Auth::kPage ? "page"
                                                               : "api";
          std::printf(
              "{\"method\":\"%s\",\"pattern\":\"%s\",\"auth\":\"%s\",\"operation_id\":\"%s\"}\n",
              route.method.c_str(), route.pattern.c_str(), auth, route.operation_id.c_str());
        }
      }
    }
    std::filesystem::remove_all(scratch, ec);
    return rc;
  }

  if (command == "demo-data") {
    int people = 300;
    if (args.size() <= 3 && args.size() >= 2 && args[1] == "--people") {
      size_t used = 0;
      try {
        people = args.size() == 3 ? std::stoi(args[2], &used) : -1;
      } catch (const std::exception&) {
        people = -1;
      }
      if (args.size() == 3 && used != args[2].size()) people = -1;
      if (people < 0 || people > 100000) {
        std::fprintf(stderr, "onedoor: --people must be a number from 0 to 100000\n");
        return 2;
      }
    } else if (args.size() != 1) {
      std::fprintf(stderr,
                   "onedoor: 'demo-data' was given arguments it does not take; its usage:\n%s",
                   CommandUsage("demo-data").c_str());
      return 2;
    }
    auto app = App::Open(*config, false);
    if (!app.ok()) return Fail(app.status());
    auto summary = LoadDemoData(**app, people);
    if (!summary.ok()) return Fail(summary.status());
    std::printf("%s\n", summary->c_str());
    return 0;
  }

  if (command == "audit" && args.size() >= 2 && args[1] != "verify") return AuditCommand(*config, args);
  if (command == "audit" && args.size() >= 2 && args[1] == "verify") {
    std::vector<audit::Seal> exported;
    if (args.size() == 4 && args[2] == "--seals") {
      std::ifstream in(args[3]);
      if (!in) return Fail(core::Status::InvalidArgument(args[3] + ": cannot be read"));
      int line_no = 0;
      for (std::string line; std::getline(in, line);) {
        ++line_no;
        if (line.empty()) continue;
        auto seal = audit::Seal::FromJson(line);
        if (!seal.ok()) {
          return Fail(core::Status::InvalidArgument(
              fmt::format("{}:{}: {}", args[3], line_no, seal.status().message())));
        }
        exported.push_back(*seal);
      }
    } else if (args.size() != 2) {
      // A mistyped command is not a broken log: the usage's status, not the tampering one.
      return Usage("usage: onedoor audit verify [--seals FILE]");
    }
    // Checked as it is: a backup verified before it is restored must still open with the build
    // that wrote it.
    std::string older;
    auto checked = OpenToCheck(*config, &older);
    if (!checked.ok()) return Fail(checked.status());
    storage::Database& db = **checked;
    if (!older.empty()) std::printf("%s\n", older.c_str());
    auto report = audit::AuditLog::Verify(db);
    if (!report.ok()) return Fail(report.status());
    if (!report->ok) {
      std::printf("audit log BROKEN at entry %lld: %s (%lld entries checked)\n",
                  static_cast<long long>(report->first_bad_seq), report->problem.c_str(),
                  static_cast<long long>(report->entries));
      return 1;
    }
    std::printf("audit log verified: %lld entries on %lld chain%s, every chain intact\n",
                static_cast<long long>(report->entries), static_cast<long long>(report->chains),
                report->chains == 1 ? "" : "s");
    // The seals, with every key the deployment trusts (and the signing key's own).
    std::vector<audit::VerifyKey> keys;
    if (!config->audit_verify_keys.empty()) {
      auto loaded = audit::LoadVerifyKeys(config->audit_verify_keys);
      if (!loaded.ok()) return Fail(loaded.status());
      keys = *loaded;
    }
    if (!config->audit_signing_key.empty()) {
      auto signing = audit::LoadSigningKey(config->audit_signing_key);
      if (!signing.ok()) return Fail(signing.status());
      const audit::VerifyKey own = audit::VerifyKeyOf(*signing);
      if (std::none_of(keys.begin(), keys.end(), [&](const audit::VerifyKey& k) { return k.id == own.id; })) {
        keys.push_back(own);
      }
    }
    auto seals = audit::ListSeals(db);
    if (!seals.ok()) return Fail(seals.status());
    if (seals->empty() && exported.empty()) {
      std::printf("no seals yet: set audit_signing_key to seal the log (docs/operators.md)\n");
      return 0;
    }
    if (keys.empty()) {
      std::printf("audit seals NOT CHECKED: %zu seal%s and no key to check them with (set audit_verify_keys)\n",
                  seals->size(), seals->size() == 1 ? "" : "s");
      return 1;
    }
    auto sealed = audit::VerifySeals(db, keys, exported);
    if (!sealed.ok()) return Fail(sealed.status());
    if (!sealed->ok) {
      std::printf("audit seals BROKEN: %s\n", sealed->problem.c_str());
      return 1;
    }
    std::printf("audit seals verified: %lld seal%s, every signature holds and the log holds what each sealed%s\n",
                static_cast<long long>(sealed->seals), sealed->seals == 1 ? "" : "s",
                exported.empty() ? "" : ", and the exported seals are all there");
    return 0;
  }

  if ((command == "agency" || command == "user" || command == "token") && args.size() >= 2 && args[1] == "create") {
    return AccountCommand(*config, args);
  }

  if (command == "token" && args.size() >= 2 && args[1] == "limit") return TokenLimitCommand(*config, args);
  if (command == "token" && args.size() >= 2 && args[1] == "list")
    return TokenListCommand(*config, args);
  if (command == "token" && args.size() >= 2 && args[1] == "revoke")
    return TokenRevokeCommand(*config, args);
  if (command == "user" && args.size() >= 2 && (args[1] == "disable" || args[1] == "enable")) {
    return UserActiveCommand(*config, args);
  }
  if (command == "db" && args.size() >= 2 && args[1] == "copy") return CopyCommand(args);
  if (command == "import") return ImportCommand(*config, args);
  if (command == "rules") return RulesCommand(*config, args);
  if (command == "directory") return DirectoryCommand(*config, args);
  if (command == "link" && args.size() >= 2 && args[1] == "eval") {
    return identity::RunLinkEval(std::vector<std::string>(args.begin() + 2, args.end()));
  }
  if (command == "link" && args.size() >= 2 && args[1] == "generate") {
    return identity::RunLinkGenerate(std::vector<std::string>(args.begin() + 2, args.end()));
  }
  if (command == "link" && args.size() >= 2 && args[1] == "dedupe") {
    auto app = App::Open(*config, false);
    if (!app.ok()) return Fail(app.status());
    return identity::RunLinkDedupe((*app)->persons(), (*app)->db(), (*app)->clock(),
                                   std::vector<std::string>(args.begin() + 2, args.end()));
  }

  if (command == "backup" && args.size() == 2 && args[1].rfind('-', 0) == 0) {
    return Usage("usage: onedoor backup FILE (a file name, not an option: '" + args[1] + "')");
  }
  if (command == "backup" && args.size() == 2) {
    if (config->db.rfind("postgres", 0) == 0) {
      std::fprintf(stderr, "onedoor: backup copies a SQLite database; back up PostgreSQL with pg_dump or "
                           "pg_basebackup (see docs/operators.md)\n");
      return 2;
    }
    if (auto s = storage::BackupSqlite(SqlitePath(config->db), args[1]); !s.ok()) return Fail(s);
    std::printf("backup written to %s\n", args[1].c_str());
    return 0;
  }

  if (const std::string lines = CommandUsage(command); !lines.empty()) {
    std::fprintf(stderr, "onedoor: '%s' was given arguments it does not take; its usage:\n%s", command.c_str(),
                 lines.c_str());
    return 2;
  }
  std::fprintf(stderr, "onedoor: unknown command '%s'\n\n%s", command.c_str(), UsageText().c_str());
  return 2;
}

}  // namespace app
