#include "app/rules_commands.h"

#include <cstdio>
#include <ctime>
#include <iostream>

#include <fmt/format.h>

#include "eligibility/rule_set.h"
#include "eligibility/rule_tests.h"

namespace app {
namespace {

constexpr char kRulesUsage[] =
    "usage: onedoor rules check [--rules DIRS]\n"
    "       onedoor rules test [--rules DIRS] PATH...\n"
    "DIRS is a list of rules files or folders separated by ':' (default: the rules_dirs setting)\n";

core::Date Today() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return core::Date{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
}

}  // namespace

std::vector<std::string> RulesDirs(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t colon = list.find(':', start);
    if (colon == std::string::npos) colon = list.size();
    if (colon > start) out.push_back(list.substr(start, colon - start));
    start = colon + 1;
  }
  return out;
}

int RulesCommand(const core::Config& config, const std::vector<std::string>& args) {
  if (args.size() < 2) {
    std::fputs(kRulesUsage, stderr);
    return 2;
  }
  std::string dirs = config.rules_dirs;
  std::vector<std::string> rest;
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--rules") {
      if (i + 1 >= args.size()) {
        std::fputs(kRulesUsage, stderr);
        return 2;
      }
      dirs = args[++i];
    } else {
      rest.push_back(args[i]);
    }
  }
  std::vector<std::string> warnings;
  auto rules = eligibility::RuleSet::Load(RulesDirs(dirs), Today(), &warnings);
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (!rules.ok()) {
    std::fprintf(stderr, "%s\n", rules.status().message().c_str());
    return 1;
  }
  const std::string& sub = args[1];
  if (sub == "check") {
    if (!rest.empty()) {
      std::fputs(kRulesUsage, stderr);
      return 2;
    }
    std::printf("%zu programs, %zu inputs and variables, %zu parameters; rules %s\n", (*rules)->programs().size(),
                (*rules)->symbols().size(), (*rules)->parameters().size(), (*rules)->content_hash().substr(0, 16).c_str());
    for (const auto& p : (*rules)->programs()) {
      std::printf("  %-24s %-18s %s (version %s)\n", p.id.c_str(), p.agency.c_str(), p.name.c_str(), p.version.c_str());
    }
    return 0;
  }
  if (sub == "test") {
    if (rest.empty()) {
      std::fputs(kRulesUsage, stderr);
      return 2;
    }
    auto summary = eligibility::RunRuleTests(**rules, rest, std::cout);
    std::cout.flush();
    if (!summary.ok()) {
      std::fprintf(stderr, "%s\n", summary.status().message().c_str());
      return 1;
    }
    return summary->failed == 0 ? 0 : 1;
  }
  std::fputs(kRulesUsage, stderr);
  return 2;
}

}  // namespace app
