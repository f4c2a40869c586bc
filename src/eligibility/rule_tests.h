#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "core/status.h"
#include "eligibility/rule_set.h"

namespace eligibility {

struct RuleTestSummary {
  int passed = 0;
  int failed = 0;
};

// Runs OpenFisca-style YAML test files (docs/rules.md, "Testing rules") against `rules`.
// `paths` are files or folders (every *.yaml under them). Writes one line per failure, naming
// the file, line, test, variable, period, expected and actual value, then "N passed, N failed".
// Returns kInvalidArgument (with file and line) when a test file itself is malformed: unknown
// keys, unknown variables, values of the wrong type.
core::StatusOr<RuleTestSummary> RunRuleTests(const RuleSet& rules, const std::vector<std::string>& paths,
                                             std::ostream& out);
// The same over one file's text.
core::StatusOr<RuleTestSummary> RunRuleTestText(const RuleSet& rules, const std::string& file_name,
                                                const std::string& text, std::ostream& out);

}  // namespace eligibility
