#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

namespace testing_support {

// A throwaway PostgreSQL 15 cluster for tests: initdb into a temporary directory, a server
// on a free loopback port (fsync on, trust authentication, user "onedoor"), stopped and
// removed when the object dies. When running as root, the server runs as the `postgres`
// system user (or `nobody`), since PostgreSQL refuses to run as root.
//
// The binaries are looked up in $ONEDOOR_PG_BINDIR, then /usr/lib/postgresql/15/bin.
class PostgresCluster {
 public:
  // Starts a cluster. Throws std::runtime_error, with a message that says what to install or
  // what the server logged, if it cannot.
  static std::unique_ptr<PostgresCluster> Start();

  ~PostgresCluster();
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  // Creates a fresh, empty database and returns its URL
  // ("postgresql://onedoor@127.0.0.1:PORT/dbN"). Thread-safe. Throws on failure.
  std::string NewDatabaseUrl();

  int port() const { return port_; }

 private:
  PostgresCluster() = default;
  void Stop();

  std::filesystem::path bindir_;
  std::filesystem::path root_;  // the temporary directory: data/, sockets/, logs
  std::string run_as_;          // the user the server runs as, empty if ourselves
  int port_ = 0;
  bool running_ = false;
  std::mutex mu_;
  int databases_ = 0;  // GUARDED_BY(mu_)
};

// The one cluster of a test binary, started the first time Cluster() is called (so that a
// binary whose PostgreSQL tests are filtered out never starts it) and stopped in TearDown.
// Register it once per binary:
//   const auto* kPostgres = ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);
class PostgresEnvironment : public ::testing::Environment {
 public:
  // Throws std::runtime_error if the cluster cannot be started; every test that needs it
  // then fails with that message.
  static PostgresCluster& Cluster();
  void TearDown() override;
};

}  // namespace testing_support
