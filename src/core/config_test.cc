#include "core/config.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/testing.h"

namespace core {
namespace {

using ::testing::HasSubstr;

constexpr const char* kEnvNames[] = {"ONEDOOR_DB",
                                     "ONEDOOR_LISTEN",
                                     "ONEDOOR_WEB_ROOT",
                                     "ONEDOOR_NODE_MODULES",
                                     "ONEDOOR_IO_THREADS",
                                     "ONEDOOR_WORKER_THREADS",
                                     "ONEDOOR_READ_CONNECTIONS",
                                     "ONEDOOR_LOG_LEVEL",
                                     "ONEDOOR_SECURE_COOKIES",
                                     "ONEDOOR_SESSION_IDLE_MINUTES",
                                     "ONEDOOR_MAX_BODY_BYTES",
                                     "ONEDOOR_LOGIN_MAX_FAILURES",
                                     "ONEDOOR_LOGIN_WINDOW_MINUTES",
                                     "ONEDOOR_SHUTDOWN_GRACE_SECONDS",
                                     "ONEDOOR_DATA_CATEGORIES",
                                     "ONEDOOR_TRUSTED_PROXIES",
                                     "ONEDOOR_PUBLIC_URL"};

// Clears every ONEDOOR_* variable the loader reads so the host environment cannot leak in,
// and puts the original values back afterwards.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kEnvNames) {
      const char* v = std::getenv(name);
      saved_[name] = v ? std::optional<std::string>(v) : std::nullopt;
      unsetenv(name);
    }
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }

  std::string Write(const std::string& text) {
    const std::string path = dir_.File("onedoor.yaml");
    std::ofstream(path) << text;
    return path;
  }

  testing_support::TempDir dir_;
  std::map<std::string, std::optional<std::string>> saved_;
};

TEST_F(ConfigTest, EmptyPathGivesDefaults) {
  auto c = Config::Load("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const Config defaults;
  EXPECT_EQ(c->db, "var/onedoor.db");
  EXPECT_EQ(c->listen, "127.0.0.1:8080");
  EXPECT_EQ(c->web_root, defaults.web_root);
  EXPECT_EQ(c->io_threads, 0);
  EXPECT_EQ(c->worker_threads, 64);
  EXPECT_EQ(c->read_connections, 4);
  EXPECT_EQ(c->log_level, "info");
  EXPECT_TRUE(c->secure_cookies);
  EXPECT_EQ(c->session_idle_minutes, 30);
  EXPECT_EQ(c->max_body_bytes, 1 << 20);
  EXPECT_EQ(c->login_max_failures, 5);
  EXPECT_EQ(c->login_window_minutes, 15);
  EXPECT_EQ(c->temporary_password_days, 7);
  EXPECT_EQ(c->shutdown_grace_seconds, 10);
}

TEST_F(ConfigTest, DataCategoriesDefaultToTheShippedFileAndCanBeMoved) {
  auto c = Config::Load("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_THAT(c->data_categories, ::testing::EndsWith("/config/data-categories.yaml"));
  EXPECT_EQ(c->data_categories, Config::DefaultDataCategories());
  auto from_file = Config::Load(Write("data_categories: /etc/onedoor/categories.yaml\n"));
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_EQ(from_file->data_categories, "/etc/onedoor/categories.yaml");
  setenv("ONEDOOR_DATA_CATEGORIES", "/srv/categories.yaml", 1);
  auto from_env = Config::Load("");
  ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
  EXPECT_EQ(from_env->data_categories, "/srv/categories.yaml");
  setenv("ONEDOOR_DATA_CATEGORIES", "", 1);
  EXPECT_THAT(Config::Load("").status().message(), HasSubstr("ONEDOOR_DATA_CATEGORIES must name the data categories file"));
}

TEST_F(ConfigTest, EmptyFileGivesDefaults) {
  auto c = Config::Load(Write(""));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->db, "var/onedoor.db");
  EXPECT_EQ(c->worker_threads, 64);
}

// Found by the configuration fuzzer: a key that is itself a mapping threw out of Load.
TEST_F(ConfigTest, AKeyThatIsNotAWordIsAnErrorNamingTheLine) {
  auto c = Config::Load(Write("db: x.db\n? var/o.,+o.0n: 128r/o.0\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), ::testing::HasSubstr(":2: a setting's name must be a word"));
  EXPECT_FALSE(Config::Load(Write("? [a, b]\n: 1\n")).ok());
}

TEST_F(ConfigTest, ReadsValuesFromTheFile) {
  auto c = Config::Load(Write(
      "# onedoor settings\n"
      "db: /srv/onedoor/data.db\n"
      "listen: 0.0.0.0:9090\n"
      "web_root: /srv/web\n"
      "node_modules: /srv/nm\n"
      "io_threads: 3\n"
      "worker_threads: 8\n"
      "read_connections: 2\n"
      "log_level: debug\n"
      "secure_cookies: false\n"
      "session_idle_minutes: 45\n"
      "max_body_bytes: 4096\n"
      "login_max_failures: 9\n"
      "login_window_minutes: 20\n"
      "temporary_password_days: 3\n"
      "shutdown_grace_seconds: 0\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->db, "/srv/onedoor/data.db");
  EXPECT_EQ(c->listen, "0.0.0.0:9090");
  EXPECT_EQ(c->web_root, "/srv/web");
  EXPECT_EQ(c->node_modules, "/srv/nm");
  EXPECT_EQ(c->io_threads, 3);
  EXPECT_EQ(c->worker_threads, 8);
  EXPECT_EQ(c->read_connections, 2);
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_FALSE(c->secure_cookies);
  EXPECT_EQ(c->session_idle_minutes, 45);
  EXPECT_EQ(c->max_body_bytes, 4096);
  EXPECT_EQ(c->login_max_failures, 9);
  EXPECT_EQ(c->login_window_minutes, 20);
  EXPECT_EQ(c->temporary_password_days, 3);
  EXPECT_EQ(c->shutdown_grace_seconds, 0);
}

TEST_F(ConfigTest, MissingFileIsNotFound) {
  auto c = Config::Load(dir_.File("nope.yaml"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("nope.yaml"));
}

TEST_F(ConfigTest, UnknownKeyNamesFileLineAndKey) {
  const std::string path = Write("db: x.db\nlisten: 127.0.0.1:1\nworkr_threads: 4\n");
  auto c = Config::Load(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr(path + ":3"));
  EXPECT_THAT(c.status().message(), HasSubstr("workr_threads"));
}

TEST_F(ConfigTest, WrongTypeNamesFileLineAndKey) {
  const std::string path = Write("db: x.db\n\nworker_threads: many\n");
  auto c = Config::Load(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr(path + ":3"));
  EXPECT_THAT(c.status().message(), HasSubstr("worker_threads"));
}

TEST_F(ConfigTest, RejectsBadValues) {
  for (const char* text : {"worker_threads: 0\n",
                           "worker_threads: 2000\n",
                           "worker_threads: 4.5\n",
                           "read_connections: -1\n",
                           "secure_cookies: maybe\n",
                           "log_level: loud\n",
                           "listen: localhost\n",
                           "listen: 127.0.0.1:99999\n",
                           "listen: ':8080'\n",
                           "listen: '127.0.0.1:'\n",
                           "max_body_bytes: 99999999999999999999\n",
                           "online_bookings_per_hour: 0\n",
                           "temporary_password_days: 0\n",
                           "temporary_password_days: 91\n",
                           "user_requests_per_minute: -1\n",
                           "token_requests_per_minute: 2000000000\n",
                           "db: [a, b]\n",
                           "db:\n  nested: 1\n",
                           "db: \"\"\n",
                           "db: ' '\n"}) {
    const std::string path = Write(text);
    auto c = Config::Load(path);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(c.status().message(), HasSubstr(path + ":1")) << text;
  }
}

TEST_F(ConfigTest, RequestLimitsPerCallerHaveDefaultsAndZeroTurnsThemOff) {
  const Config defaults = Config::Load("").value();
  EXPECT_EQ(defaults.user_requests_per_minute, 600);
  EXPECT_EQ(defaults.token_requests_per_minute, 6000);
  auto c = Config::Load(Write("user_requests_per_minute: 0\ntoken_requests_per_minute: 120000\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->user_requests_per_minute, 0);
  EXPECT_EQ(c->token_requests_per_minute, 120000);
}

TEST_F(ConfigTest, TrustedProxiesAreIpAddresses) {
  EXPECT_EQ(Config::Load("").value().trusted_proxies, "127.0.0.1,::1") << "loopback by default";
  auto c = Config::Load(Write("trusted_proxies: \"10.0.0.5, fd00::7\"\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(SplitAddresses(c->trusted_proxies).value(), (std::vector<std::string>{"10.0.0.5", "fd00::7"}));
  EXPECT_TRUE(SplitAddresses("").value().empty());

  const std::string path = Write("db: x.db\ntrusted_proxies: 10.0.0.5, proxy.example.org\n");
  auto bad = Config::Load(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr(path + ":2"));
  EXPECT_THAT(bad.status().message(), HasSubstr("\"proxy.example.org\" is not an IP address"));

  setenv("ONEDOOR_TRUSTED_PROXIES", "10.0.0.0/8", 1);
  auto from_env = Config::Load("");
  ASSERT_FALSE(from_env.ok());
  EXPECT_THAT(from_env.status().message(), HasSubstr("ONEDOOR_TRUSTED_PROXIES"));
}

TEST_F(ConfigTest, MalformedYamlNamesFileAndLine) {
  const std::string path = Write("db: x.db\nlisten: [unclosed\n");
  auto c = Config::Load(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr(path + ":"));
}

TEST_F(ConfigTest, TopLevelMustBeAMapping) {
  const std::string path = Write("- db\n- listen\n");
  auto c = Config::Load(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr(path));
}

TEST_F(ConfigTest, EnvironmentOverridesTheFile) {
  const std::string path = Write("db: from-file.db\nworker_threads: 8\nsecure_cookies: true\nlog_level: warn\n");
  setenv("ONEDOOR_DB", "from-env.db", 1);
  setenv("ONEDOOR_WORKER_THREADS", "12", 1);
  setenv("ONEDOOR_SECURE_COOKIES", "0", 1);
  auto c = Config::Load(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->db, "from-env.db");
  EXPECT_EQ(c->worker_threads, 12);
  EXPECT_FALSE(c->secure_cookies);
  EXPECT_EQ(c->log_level, "warn");  // not overridden: the file's value stays
}

TEST_F(ConfigTest, EnvironmentOverridesDefaults) {
  setenv("ONEDOOR_LISTEN", "[::1]:7000", 1);
  setenv("ONEDOOR_SHUTDOWN_GRACE_SECONDS", "3", 1);
  auto c = Config::Load("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "[::1]:7000");
  EXPECT_EQ(c->shutdown_grace_seconds, 3);
}

TEST_F(ConfigTest, ThePublicAddressIsTheListenAddressUnlessGiven) {
  setenv("ONEDOOR_LISTEN", "127.0.0.1:18232", 1);
  auto c = Config::Load("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->public_url, "http://127.0.0.1:18232");  // the links in e-mails reach this server
  auto given = Config::Load(Write("public_url: https://onedoor.example.org/\n"));
  ASSERT_TRUE(given.ok()) << given.status().ToString();
  EXPECT_EQ(given->public_url, "https://onedoor.example.org");
}

TEST_F(ConfigTest, ASettingGivenTwiceNamesBothLines) {
  const std::string path = Write("db: /srv/a.db\nlisten: 127.0.0.1:1\ndb: /srv/b.db\n");
  auto c = Config::Load(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), path + ":3: 'db' is set twice (also on line 1): keep one");
}

TEST_F(ConfigTest, AFolderIsNamedNotRead) {
  auto c = Config::Load(dir_.path().string());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(),
            dir_.path().string() + ": is a folder: give the configuration file in it");
}

TEST_F(ConfigTest, AnEmptyDatabaseNameIsRefused) {
  // SQLite would open a private temporary database and lose everything written to it.
  setenv("ONEDOOR_DB", "", 1);
  auto c = Config::Load("");
  unsetenv("ONEDOOR_DB");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "environment variable ONEDOOR_DB must name the database: a SQLite file path, "
            "sqlite:PATH or postgres://...");
}

TEST_F(ConfigTest, InvalidEnvironmentValueNamesTheVariable) {
  setenv("ONEDOOR_READ_CONNECTIONS", "lots", 1);
  auto c = Config::Load("");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("ONEDOOR_READ_CONNECTIONS"));
  unsetenv("ONEDOOR_READ_CONNECTIONS");

  setenv("ONEDOOR_LOG_LEVEL", "verbose", 1);
  auto c2 = Config::Load(Write("log_level: info\n"));
  ASSERT_FALSE(c2.ok());
  EXPECT_EQ(c2.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c2.status().message(), HasSubstr("ONEDOOR_LOG_LEVEL"));
}

}  // namespace
}  // namespace core
