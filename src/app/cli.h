#pragma once

namespace app {

// The command line: serve, migrate, demo-data, audit verify, backup, --help.
// Returns the process exit code: 0 ok, 1 failure, 2 usage error.
int Main(int argc, char** argv);

}  // namespace app
