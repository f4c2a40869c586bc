#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace testing_support {

// A throwaway PostgreSQL 15 cluster for tests: initdb into a temporary directory, a server
// on a free loopback port (fsync on, trust authentication, user "onedoor"), stopped and
// removed when the object dies. When running as root, the server runs as the `postgres`
// system user (or `nobody`), since PostgreSQL refuses to run as root.
//
// The binaries are looked up in $ONEDOOR_PG_BINDIR, then /usr/lib/postgresql/15/bin.
//
// `ctest` starts one cluster for the whole run (the fixture `postgres`, tests/CMakeLists.txt) in
// the directory $ONEDOOR_TEST_PG_DIR, and each test process uses it rather than starting its own:
// see PostgresEnvironment.
class PostgresCluster {
 public:
  // Starts a cluster in a new temporary directory, or in `root` (created, emptied first) when
  // given. Throws std::runtime_error, with a message that says what to install or what the
  // server logged, if it cannot.
  static std::unique_ptr<PostgresCluster> Start(const std::filesystem::path& root = {});

  // The cluster started in `root` by another process, which stops it: this object neither stops
  // it nor removes `root`, but drops the databases it created when it dies. Throws if `root` has
  // no running cluster.
  static std::unique_ptr<PostgresCluster> Attach(const std::filesystem::path& root);

  // Leaves the cluster running when this object dies (for the process that starts it for others).
  void Release() { owned_ = false; }

  // Stops the cluster started in `root` and removes `root`; nothing if there is none.
  static void StopAt(const std::filesystem::path& root);

  ~PostgresCluster();
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  // Creates a fresh, empty database and returns its URL
  // ("postgresql://onedoor@127.0.0.1:PORT/dbN"). Thread-safe. Throws on failure.
  std::string NewDatabaseUrl();

  // Creates a fresh database with onedoor's schema, as storage::Migrate with
  // storage::OnedoorSchema() leaves an empty one, and returns its URL. A copy of a template
  // migrated once per cluster, so much faster than migrating. Thread-safe. Throws on failure.
  std::string NewMigratedDatabaseUrl();

  int port() const { return port_; }

 private:
  PostgresCluster() = default;
  void Stop();
  void DropCreatedDatabases();
  std::string CreateDatabase(const std::string& template_name);

  std::filesystem::path bindir_;
  std::filesystem::path root_;  // the temporary directory: data/, sockets/, logs
  std::string run_as_;          // the user the server runs as, empty if ourselves
  int port_ = 0;
  bool running_ = false;
  bool owned_ = true;  // stopped and removed when this object dies
  std::mutex mu_;
  int databases_ = 0;                 // GUARDED_BY(mu_)
  std::vector<std::string> created_;  // GUARDED_BY(mu_): dropped at the end when not owned
  std::mutex template_mu_;
  bool template_ready_ = false;  // GUARDED_BY(template_mu_): onedoor_schema exists
};

// The one cluster of a test binary, found the first time Cluster() is called (so that a
// binary whose PostgreSQL tests are filtered out never looks for it): the cluster of the ctest
// run when $ONEDOOR_TEST_PG_DIR names one (or the reason it could not start), else one of the
// binary's own, started then and stopped in TearDown.
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
