#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "directory/hsds.h"

namespace app {

// `onedoor directory import|export ...` (docs/directory.md). Returns the process exit code.
int DirectoryCommand(const core::Config& config, const std::vector<std::string>& args);

// Reads an HSDS document from `path`: a JSON file (a bundle, or one object, list or page of
// `type`) or a directory holding the CSV data package. Problems name the file, line and field.
core::Status ReadDirectoryFiles(const std::string& path, const std::string& type, directory::Dataset& out);

}  // namespace app
