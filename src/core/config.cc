#include "core/config.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

namespace core {
namespace {

using Setter = std::function<Status(Config&, const std::string&)>;

Status ParseIntInto(int& out, const std::string& text, int min, int max) {
  try {
    size_t used = 0;
    long v = std::stol(text, &used);
    if (used != text.size() || v < min || v > max) throw std::out_of_range("range");
    out = static_cast<int>(v);
    return Status::Ok();
  } catch (const std::exception&) {
    return Status::InvalidArgument(fmt::format("must be a whole number from {} to {}", min, max));
  }
}

Status ParseBoolInto(bool& out, const std::string& text) {
  if (text == "true" || text == "1" || text == "yes") {
    out = true;
  } else if (text == "false" || text == "0" || text == "no") {
    out = false;
  } else {
    return Status::InvalidArgument("must be true or false");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<std::string>> SplitAddresses(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) {
      unsigned char buf[16];
      if (inet_pton(AF_INET, item.c_str(), buf) != 1 && inet_pton(AF_INET6, item.c_str(), buf) != 1) {
        return Status::InvalidArgument(
            fmt::format("\"{}\" is not an IP address: give addresses like 127.0.0.1 or ::1, separated by commas", item));
      }
      out.push_back(std::move(item));
    }
    start = comma + 1;
  }
  return out;
}

namespace {

const std::map<std::string, Setter>& Setters() {
  static const auto* setters = new std::map<std::string, Setter>{
      {"db",
       [](Config& c, const std::string& v) {
         // SQLite takes an empty name for a private temporary database, lost when it closes.
         if (v.find_first_not_of(" \t") == std::string::npos) {
           return Status::InvalidArgument("must name the database: a SQLite file path, sqlite:PATH or postgres://...");
         }
         c.db = v;
         return Status::Ok();
       }},
      {"listen",
       [](Config& c, const std::string& v) {
         const size_t colon = v.rfind(':');
         if (colon == std::string::npos) return Status::InvalidArgument("must be host:port");
         // Checked here, before any database is opened or changed.
         if (colon == 0) return Status::InvalidArgument("must name the host before the port, like 127.0.0.1:8080");
         const std::string port = v.substr(colon + 1);
         int number = 0;
         if (port.empty() || !ParseIntInto(number, port, 0, 65535).ok()) {
           return Status::InvalidArgument("must end with a port from 0 to 65535, like 127.0.0.1:8080");
         }
         c.listen = v;
         return Status::Ok();
       }},
      {"web_root", [](Config& c, const std::string& v) { c.web_root = v; return Status::Ok(); }},
      {"node_modules", [](Config& c, const std::string& v) { c.node_modules = v; return Status::Ok(); }},
      {"io_threads", [](Config& c, const std::string& v) { return ParseIntInto(c.io_threads, v, 0, 256); }},
      {"worker_threads", [](Config& c, const std::string& v) { return ParseIntInto(c.worker_threads, v, 1, 1024); }},
      {"read_connections", [](Config& c, const std::string& v) { return ParseIntInto(c.read_connections, v, 1, 64); }},
      {"log_level",
       [](Config& c, const std::string& v) {
         if (v != "debug" && v != "info" && v != "warn" && v != "error") {
           return Status::InvalidArgument("must be debug, info, warn or error");
         }
         c.log_level = v;
         return Status::Ok();
       }},
      {"secure_cookies", [](Config& c, const std::string& v) { return ParseBoolInto(c.secure_cookies, v); }},
      {"agency_webhooks_internal",
       [](Config& c, const std::string& v) { return ParseBoolInto(c.agency_webhooks_internal, v); }},
      {"session_idle_minutes", [](Config& c, const std::string& v) { return ParseIntInto(c.session_idle_minutes, v, 1, 24 * 60); }},
      {"max_body_bytes", [](Config& c, const std::string& v) { return ParseIntInto(c.max_body_bytes, v, 1024, 64 << 20); }},
      {"login_max_failures", [](Config& c, const std::string& v) { return ParseIntInto(c.login_max_failures, v, 1, 1000); }},
      {"login_window_minutes", [](Config& c, const std::string& v) { return ParseIntInto(c.login_window_minutes, v, 1, 24 * 60); }},
      {"temporary_password_days", [](Config& c, const std::string& v) { return ParseIntInto(c.temporary_password_days, v, 1, 90); }},
      {"webhook_url",
       [](Config& c, const std::string& v) {
         if (!v.empty() && v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0) {
           return Status::InvalidArgument("must start with http:// or https://");
         }
         c.webhook_url = v;
         return Status::Ok();
       }},
      {"webhook_secret",
       [](Config& c, const std::string& v) {
         if (!v.empty() && v.rfind("whsec_", 0) != 0) return Status::InvalidArgument("must start with whsec_");
         c.webhook_secret = v;
         return Status::Ok();
       }},
      {"instance", [](Config& c, const std::string& v) { c.instance = v; return Status::Ok(); }},
      {"rules_dirs",
       [](Config& c, const std::string& v) {
         if (v.empty()) return Status::InvalidArgument("must name at least one rules file or folder");
         c.rules_dirs = v;
         return Status::Ok();
       }},
      {"data_categories",
       [](Config& c, const std::string& v) {
         if (v.empty()) return Status::InvalidArgument("must name the data categories file");
         c.data_categories = v;
         return Status::Ok();
       }},
      {"metrics_min_cell", [](Config& c, const std::string& v) { return ParseIntInto(c.metrics_min_cell, v, 1, 1000); }},
      {"public_url",
       [](Config& c, const std::string& v) {
         if (v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0) {
           return Status::InvalidArgument("must be an http:// or https:// address, like https://onedoor.example.org");
         }
         c.public_url = v.back() == '/' ? v.substr(0, v.size() - 1) : v;
         c.public_url_set = true;
         return Status::Ok();
       }},
      {"time_zone",
       [](Config& c, const std::string& v) {
         if (v.empty()) return Status::InvalidArgument("must name a time zone, like Europe/Brussels or UTC");
         c.time_zone = v;
         return Status::Ok();
       }},
      {"intake_rules",
       [](Config& c, const std::string& v) {
         if (v.empty()) return Status::InvalidArgument("must name the intake rules file");
         c.intake_rules = v;
         return Status::Ok();
       }},
      {"directory_synonyms",
       [](Config& c, const std::string& v) {
         if (v.empty()) return Status::InvalidArgument("must name the synonyms file");
         c.directory_synonyms = v;
         return Status::Ok();
       }},
      {"life_events",
       [](Config& c, const std::string& v) {
         if (v.empty()) return Status::InvalidArgument("must name the life events file");
         c.life_events = v;
         return Status::Ok();
       }},
      {"password_blocklist", [](Config& c, const std::string& v) { c.password_blocklist = v; return Status::Ok(); }},
      {"audit_signing_key", [](Config& c, const std::string& v) { c.audit_signing_key = v; return Status::Ok(); }},
      {"audit_verify_keys", [](Config& c, const std::string& v) { c.audit_verify_keys = v; return Status::Ok(); }},
      {"audit_seal_minutes", [](Config& c, const std::string& v) { return ParseIntInto(c.audit_seal_minutes, v, 1, 24 * 60); }},
      {"oidc_providers",
       [](Config& c, const std::string& v) {
         c.oidc_providers = v;
         return Status::Ok();
       }},
      {"access_log_exceptions",
       [](Config& c, const std::string& v) {
         c.access_log_exceptions = v;
         return Status::Ok();
       }},
      {"trusted_proxies",
       [](Config& c, const std::string& v) {
         auto list = SplitAddresses(v);
         if (!list.ok()) return list.status();
         c.trusted_proxies = v;
         return Status::Ok();
       }},
      {"online_bookings_per_hour",
       [](Config& c, const std::string& v) { return ParseIntInto(c.online_bookings_per_hour, v, 1, 100000); }},
      {"user_requests_per_minute",
       [](Config& c, const std::string& v) { return ParseIntInto(c.user_requests_per_minute, v, 0, 1'000'000'000); }},
      {"token_requests_per_minute",
       [](Config& c, const std::string& v) { return ParseIntInto(c.token_requests_per_minute, v, 0, 1'000'000'000); }},
      {"outbox_poll_ms", [](Config& c, const std::string& v) { return ParseIntInto(c.outbox_poll_ms, v, 10, 600000); }},
      {"outbox_lease_seconds", [](Config& c, const std::string& v) { return ParseIntInto(c.outbox_lease_seconds, v, 1, 3600); }},
      {"shutdown_grace_seconds", [](Config& c, const std::string& v) { return ParseIntInto(c.shutdown_grace_seconds, v, 0, 600); }},
  };
  return *setters;
}

std::string EnvName(const std::string& key) {
  std::string out = "ONEDOOR_";
  for (char c : key) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

// A definition private to this file (src/CMakeLists.txt), so that changing it rebuilds one file.
std::string Config::DefaultDataCategories() { return ONEDOOR_DEFAULT_DATA_CATEGORIES; }
std::string Config::DefaultIntakeRules() { return ONEDOOR_DEFAULT_INTAKE_RULES; }
std::string Config::DefaultDirectorySynonyms() { return ONEDOOR_DEFAULT_DIRECTORY_SYNONYMS; }
std::string Config::DefaultLifeEvents() { return ONEDOOR_DEFAULT_LIFE_EVENTS; }
std::string Config::DefaultPasswordBlocklist() { return ONEDOOR_DEFAULT_PASSWORD_BLOCKLIST; }

std::vector<std::string> Config::EnvironmentVariables() {
  std::vector<std::string> out;
  for (const auto& [key, setter] : Setters()) out.push_back(EnvName(key));
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<Config> Config::Load(const std::string& path) {
  Config config;
  if (!path.empty()) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      return Status::InvalidArgument(
          fmt::format("{}: is a folder: give the configuration file in it", path));
    }
    std::ifstream in(path);
    if (!in) return Status::NotFound(fmt::format("{}: cannot open the configuration file", path));
    YAML::Node root;
    try {
      root = YAML::Load(in);
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument(fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
    } catch (const std::exception&) {
      return Status::InvalidArgument(fmt::format("{}: cannot read the configuration file", path));
    }
    if (root && !root.IsNull()) try {
      if (!root.IsMap()) return Status::InvalidArgument(fmt::format("{}: the file must be a mapping of settings", path));
      std::map<std::string, int> seen;  // setting -> its line
      for (const auto& kv : root) {
        const int line = kv.first.Mark().line + 1;
        // A key that is a list or a mapping (YAML allows it: "? [a, b]: 1") is no setting.
        if (!kv.first.IsScalar()) {
          return Status::InvalidArgument(fmt::format("{}:{}: a setting's name must be a word", path, line));
        }
        const std::string key = kv.first.Scalar();
        auto it = Setters().find(key);
        if (it == Setters().end()) {
          return Status::InvalidArgument(fmt::format("{}:{}: unknown setting '{}'", path, line, key));
        }
        if (auto [first, added] = seen.emplace(key, line); !added) {
          return Status::InvalidArgument(
              fmt::format("{}:{}: '{}' is set twice (also on line {}): keep one", path, line, key,
                          first->second));
        }
        if (!kv.second.IsScalar()) {
          return Status::InvalidArgument(fmt::format("{}:{}: '{}' must be a single value", path, line, key));
        }
        Status s = it->second(config, kv.second.as<std::string>());
        if (!s.ok()) return Status::InvalidArgument(fmt::format("{}:{}: '{}' {}", path, line, key, s.message()));
      }
    } catch (const YAML::Exception& e) {
      // Whatever shape the YAML has, a mistake is an error naming the file, never a crash.
      return Status::InvalidArgument(fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
    }
  }
  for (const auto& [key, setter] : Setters()) {
    const std::string env = EnvName(key);
    if (const char* v = std::getenv(env.c_str()); v != nullptr) {
      Status s = setter(config, v);
      if (!s.ok()) return Status::InvalidArgument(fmt::format("environment variable {} {}", env, s.message()));
    }
  }
  // Links in e-mails lead to where the server listens unless the address people use is given.
  if (!config.public_url_set) config.public_url = "http://" + config.listen;
  return config;
}

}  // namespace core
