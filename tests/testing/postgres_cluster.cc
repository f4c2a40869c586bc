#include "tests/testing/postgres_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"

namespace testing_support {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultBindir = "/usr/lib/postgresql/15/bin";
constexpr auto kReadyTimeout = std::chrono::seconds(20);

bool IsExecutable(const fs::path& p) { return access(p.c_str(), X_OK) == 0; }

// Runs `argv` with stdout and stderr appended to `log`, in `cwd`; returns its exit status.
int Run(const std::vector<std::string>& argv, const fs::path& log, const fs::path& cwd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    const int null_in = open("/dev/null", O_RDONLY);
    if (null_in >= 0) dup2(null_in, STDIN_FILENO);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ReadFile(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Tail(const fs::path& file, size_t max_chars = 3000) {
  std::string text = ReadFile(file);
  return text.size() > max_chars ? "..." + text.substr(text.size() - max_chars) : text;
}

// A loopback port nobody listens on right now.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("cannot find a free loopback port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// When running as root, PostgreSQL runs as this user (it refuses to run as root).
const passwd* ServerUser() {
  const passwd* pw = getpwnam("postgres");
  if (pw == nullptr) pw = getpwnam("nobody");
  if (pw == nullptr) throw std::runtime_error("running as root, and neither user postgres nor nobody exists");
  return pw;
}

std::filesystem::path Bindir() {
  const char* env_bindir = std::getenv("ONEDOOR_PG_BINDIR");
  return env_bindir != nullptr && *env_bindir != '\0' ? env_bindir : kDefaultBindir;
}

// Runs `sql` on the cluster's `postgres` database; returns the first value of the first row,
// if any. Throws with PostgreSQL's message when it fails.
std::string AdminExec(PGconn* conn, const std::string& sql) {
  PGresult* res = PQexec(conn, sql.c_str());
  const auto status = PQresultStatus(res);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string why = PQresultErrorMessage(res);
    PQclear(res);
    throw std::runtime_error("[" + sql + "] failed: " + why);
  }
  std::string out = PQntuples(res) > 0 && PQnfields(res) > 0 ? PQgetvalue(res, 0, 0) : "";
  PQclear(res);
  return out;
}

std::string AdminConninfo(int port, const std::string& dbname) {
  return fmt::format("host=127.0.0.1 port={} user=onedoor dbname={} connect_timeout=5", port,
                     dbname);
}

// A connection to the cluster's `postgres` database, closed when it goes.
struct AdminConnection {
  explicit AdminConnection(int port) : conn(PQconnectdb(AdminConninfo(port, "postgres").c_str())) {}
  ~AdminConnection() { PQfinish(conn); }
  AdminConnection(const AdminConnection&) = delete;
  AdminConnection& operator=(const AdminConnection&) = delete;
  bool ok() const { return PQstatus(conn) == CONNECTION_OK; }
  // Throws if it could not connect.
  PGconn* get() const {
    if (!ok()) throw std::runtime_error(std::string("cannot connect to the PostgreSQL test server: ") + PQerrorMessage(conn));
    return conn;
  }
  PGconn* conn;
};

// Makes the migrated database `name` unless it exists. Made once per cluster, by whichever
// process asks first: the others wait on the lock. It gets its name only once migrated, so a
// failed attempt leaves nothing used.
void MakeMigratedTemplate(int port, const std::string& name) {
  AdminConnection admin(port);
  PGconn* conn = admin.get();
  AdminExec(conn, "SELECT pg_advisory_lock(20261206)");  // released when the connection closes
  if (AdminExec(conn, fmt::format("SELECT count(*) FROM pg_database WHERE datname = '{}'", name)) != "0") return;
  const std::string building = name + "_building";
  AdminExec(conn, "DROP DATABASE IF EXISTS " + building + " WITH (FORCE)");
  AdminExec(conn, "CREATE DATABASE " + building);
  {
    auto db = storage::OpenPostgres(fmt::format("postgresql://onedoor@127.0.0.1:{}/{}", port, building),
                                    {.connections = 1});
    if (!db.ok()) throw std::runtime_error(db.status().ToString());
    auto applied = storage::Migrate(**db, storage::OnedoorSchema());
    if (!applied.ok()) throw std::runtime_error(applied.status().ToString());
  }
  AdminExec(conn, fmt::format("ALTER DATABASE {} RENAME TO {}", building, name));
}

}  // namespace

std::unique_ptr<PostgresCluster> PostgresCluster::Start(const fs::path& root) {
  auto cluster = std::unique_ptr<PostgresCluster>(new PostgresCluster());
  cluster->bindir_ = Bindir();
  for (const char* tool : {"initdb", "pg_ctl", "postgres"}) {
    if (!IsExecutable(cluster->bindir_ / tool)) {
      throw std::runtime_error(fmt::format(
          "PostgreSQL 15 is needed for these tests but {} was not found; install the Debian "
          "package "
          "'postgresql' (run `make deps` or scripts/install-deps.sh), or set ONEDOOR_PG_BINDIR",
          (cluster->bindir_ / tool).string()));
    }
  }

  if (root.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "onedoor-pg-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    cluster->root_ = tmpl;
  } else {
    StopAt(root);  // what a run that was killed left behind
    fs::create_directories(root);
    cluster->root_ = root;
  }

  // PostgreSQL refuses to run as root: hand the directory to an unprivileged user.
  std::vector<std::string> prefix;
  if (geteuid() == 0) {
    const passwd* pw = ServerUser();
    cluster->run_as_ = pw->pw_name;
    std::string runuser = IsExecutable("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser";
    prefix = {runuser, "-u", cluster->run_as_, "--"};
    if (chown(cluster->root_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      throw std::runtime_error("cannot give " + cluster->root_.string() + " to user " +
                               cluster->run_as_);
    }
  }
  chmod(cluster->root_.c_str(), 0700);
  const fs::path log = cluster->root_ / "commands.log";
  const fs::path data = cluster->root_ / "data";
  const fs::path sockets = cluster->root_ / "sockets";
  auto as_user = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), prefix.begin(), prefix.end());
    return Run(argv, log, cluster->root_);
  };

  // --no-sync only skips flushing the fresh cluster; the server itself runs with fsync on.
  if (as_user({(cluster->bindir_ / "initdb").string(), "-D", data.string(), "-A", "trust", "-U",
               "onedoor", "-E", "UTF8", "--locale=C", "--no-sync"}) != 0) {
    throw std::runtime_error("initdb failed:\n" + Tail(log));
  }
  if (as_user({"/bin/mkdir", "-p", sockets.string()}) != 0)
    throw std::runtime_error("cannot create " + sockets.string());

  // The port is free when chosen but could be taken before the server binds it: try again.
  for (int attempt = 0; attempt < 3 && !cluster->running_; ++attempt) {
    cluster->port_ = FreePort();
    const std::string options = fmt::format("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on",
                                            cluster->port_, sockets.string());
    const int rc = as_user({(cluster->bindir_ / "pg_ctl").string(), "-D", data.string(), "-l",
                            (cluster->root_ / "server.log").string(), "-o", options, "-w", "-t",
                            std::to_string(kReadyTimeout.count()), "start"});
    cluster->running_ = rc == 0;
    if (!cluster->running_) {
      // pg_ctl may give up while the server is still starting.
      (void)as_user(
          {(cluster->bindir_ / "pg_ctl").string(), "-D", data.string(), "-m", "immediate", "stop"});
    }
  }
  if (!cluster->running_) {
    throw std::runtime_error("the PostgreSQL test server did not start:\n" + Tail(log) + "\n" +
                             Tail(cluster->root_ / "server.log"));
  }

  const std::string conninfo = AdminConninfo(cluster->port_, "postgres");
  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  while (PQping(conninfo.c_str()) != PQPING_OK) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(
          "the PostgreSQL test server did not accept connections within 20 s:\n" +
          Tail(cluster->root_ / "server.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cluster;
}

std::unique_ptr<PostgresCluster> PostgresCluster::Attach(const fs::path& root) {
  // The process that starts the run's cluster writes why it could not, if it could not.
  if (fs::exists(root / "error")) throw std::runtime_error(ReadFile(root / "error"));
  const std::string port = ReadFile(root / "port");
  auto cluster = std::unique_ptr<PostgresCluster>(new PostgresCluster());
  try {
    cluster->port_ = std::stoi(port);
  } catch (const std::exception&) {
    throw std::runtime_error("no PostgreSQL test cluster in " + root.string() + " (no port file)");
  }
  cluster->bindir_ = Bindir();
  cluster->owned_ = false;
  if (PQping(AdminConninfo(cluster->port_, "postgres").c_str()) != PQPING_OK) {
    throw std::runtime_error("the PostgreSQL test cluster in " + root.string() + " does not answer on port " + port);
  }
  return cluster;
}

void PostgresCluster::StopAt(const fs::path& root) {
  if (!fs::exists(root)) return;
  auto cluster = std::unique_ptr<PostgresCluster>(new PostgresCluster());
  cluster->bindir_ = Bindir();
  cluster->root_ = root;
  if (geteuid() == 0) cluster->run_as_ = ServerUser()->pw_name;
  cluster->running_ = fs::exists(root / "data" / "postmaster.pid");
  // Destroyed here: stopped and removed.
}

PostgresCluster::~PostgresCluster() {
  if (owned_) {
    Stop();
  } else {
    DropCreatedDatabases();
  }
}

void PostgresCluster::DropCreatedDatabases() {
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    names.swap(created_);
  }
  if (names.empty()) return;
  AdminConnection admin(port_);
  if (!admin.ok()) return;
  for (const auto& name : names) PQclear(PQexec(admin.conn, ("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").c_str()));
}

void PostgresCluster::Stop() {
  if (root_.empty()) return;
  if (running_) {
    std::vector<std::string> argv = {
        (bindir_ / "pg_ctl").string(), "-D", (root_ / "data").string(), "-m", "fast", "-w", "stop"};
    if (!run_as_.empty()) {
      std::string runuser =
          IsExecutable("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser";
      argv.insert(argv.begin(), {runuser, "-u", run_as_, "--"});
    }
    (void)Run(argv, root_ / "commands.log", root_);
    running_ = false;
  }
  std::error_code ec;
  fs::remove_all(root_, ec);
  root_.clear();
}

std::string PostgresCluster::NewDatabaseUrl() { return CreateDatabase("template1"); }

std::string PostgresCluster::NewMigratedDatabaseUrl() {
  constexpr const char* kTemplate = "onedoor_schema";
  {
    std::lock_guard template_lock(template_mu_);  // not held while the copy is made
    if (!template_ready_) {
      MakeMigratedTemplate(port_, kTemplate);
      template_ready_ = true;
    }
  }
  return CreateDatabase(kTemplate);
}

std::string PostgresCluster::CreateDatabase(const std::string& template_name) {
  std::string name;
  {
    std::lock_guard lock(mu_);
    // Unique among the processes that share the cluster.
    name = fmt::format("db{}_{}", getpid(), ++databases_);
  }
  AdminConnection admin(port_);
  AdminExec(admin.get(), fmt::format("CREATE DATABASE {} TEMPLATE {}", name, template_name));
  {
    std::lock_guard lock(mu_);
    created_.push_back(name);
  }
  return fmt::format("postgresql://onedoor@127.0.0.1:{}/{}", port_, name);
}

namespace {

std::mutex environment_mu;
std::unique_ptr<PostgresCluster> environment_cluster;  // GUARDED_BY(environment_mu)
std::string environment_error;                         // GUARDED_BY(environment_mu)

}  // namespace

PostgresCluster& PostgresEnvironment::Cluster() {
  std::lock_guard lock(environment_mu);
  // A cluster that failed to start is not tried again for every test.
  if (!environment_error.empty()) throw std::runtime_error(environment_error);
  if (!environment_cluster) {
    try {
      const char* shared = std::getenv("ONEDOOR_TEST_PG_DIR");
      environment_cluster = shared != nullptr && *shared != '\0' ? PostgresCluster::Attach(shared)
                                                                  : PostgresCluster::Start();
    } catch (const std::exception& e) {
      environment_error = e.what();
      throw;
    }
  }
  return *environment_cluster;
}

void PostgresEnvironment::TearDown() {
  std::lock_guard lock(environment_mu);
  environment_cluster.reset();
}

}  // namespace testing_support
