// Starts and stops the one PostgreSQL cluster that the tests of a ctest run share (the fixture
// `postgres` in tests/CMakeLists.txt):
//   pg_test_cluster start DIR   a cluster in DIR, its port in DIR/port; if it cannot start, the
//                               reason in DIR/error, which every PostgreSQL test then fails with
//                               (the SQLite tests, which need no cluster, still run)
//   pg_test_cluster stop DIR    stops it and removes DIR
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "tests/testing/postgres_cluster.h"

int main(int argc, char** argv) {
  const std::string command = argc == 3 ? argv[1] : "";
  if (command != "start" && command != "stop") {
    std::cerr << "usage: pg_test_cluster start|stop DIR\n";
    return 2;
  }
  const std::filesystem::path dir = argv[2];
  if (command == "stop") {
    testing_support::PostgresCluster::StopAt(dir);
    return 0;
  }
  try {
    auto cluster = testing_support::PostgresCluster::Start(dir);
    std::ofstream(dir / "port") << cluster->port() << "\n";
    cluster->Release();
    std::cout << "PostgreSQL test cluster on port " << cluster->port() << " in " << dir.string() << "\n";
  } catch (const std::exception& e) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "error") << e.what();
    std::cout << "no PostgreSQL test cluster: " << e.what() << "\n";
  }
  return 0;
}
