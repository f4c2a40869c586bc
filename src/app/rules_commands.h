#pragma once

#include <string>
#include <vector>

#include "core/config.h"

namespace app {

// `onedoor rules check|test|screen ...` (docs/rules.md). Returns the process exit code.
int RulesCommand(const core::Config& config, const std::vector<std::string>& args);

// Splits "a:b:c" into its parts.
std::vector<std::string> RulesDirs(const std::string& list);

}  // namespace app
