#include "tests/testing/testing.h"

#include <cstdlib>
#include <stdexcept>

#include "core/crypto.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "storage/sqlite/sqlite_database.h"
#include "tests/testing/postgres_cluster.h"

namespace testing_support {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "onedoor-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::unique_ptr<storage::Database> NewMigratedSqlite(const TempDir& dir, const std::string& name) {
  (void)core::InitCrypto();
  auto db = storage::OpenSqlite(dir.File(name), {.read_connections = 2});
  if (!db.ok()) throw std::runtime_error(db.status().ToString());
  auto applied = storage::Migrate(**db, storage::OnedoorSchema());
  if (!applied.ok()) throw std::runtime_error(applied.status().ToString());
  return std::move(db).value();
}

std::unique_ptr<storage::Database> NewMigratedDatabase(const std::string& backend, const TempDir& dir,
                                                       int connections) {
  if (backend == "sqlite") return NewMigratedSqlite(dir);
  if (backend != "postgres") throw std::runtime_error("no backend " + backend);
  auto db = storage::OpenPostgres(PostgresEnvironment::Cluster().NewMigratedDatabaseUrl(), {.connections = connections});
  if (!db.ok()) throw std::runtime_error(db.status().ToString());
  auto applied = storage::Migrate(**db, storage::OnedoorSchema());
  if (!applied.ok()) throw std::runtime_error(applied.status().ToString());
  return std::move(db).value();
}

core::Status RefuseInserts(storage::Database& db, const std::string& table, const std::string& condition) {
  return db.Write([&](storage::Transaction& tx) {
    const std::string name = "refuse_" + table;
    if (tx.dialect() == storage::Dialect::kPostgres) {
      return tx.ExecuteScript("CREATE FUNCTION " + name + "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF " +
                              condition + " THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$; " +
                              "CREATE TRIGGER " + name + " BEFORE INSERT ON " + table +
                              " FOR EACH ROW EXECUTE FUNCTION " + name + "();");
    }
    return tx.ExecuteScript("CREATE TRIGGER " + name + " BEFORE INSERT ON " + table + " WHEN " + condition +
                            " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;");
  });
}

}  // namespace testing_support
