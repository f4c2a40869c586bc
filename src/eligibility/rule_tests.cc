#include "eligibility/rule_tests.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "eligibility/decimal.h"
#include "eligibility/evaluator.h"
#include "eligibility/screening.h"
#include "eligibility/yaml_keys.h"

namespace eligibility {
namespace {

// Whether symbol `s` is a program's `<id>_eligible`, which a test may expect to be not_in_force.
bool EligibleOf(const RuleSet& rules, int s) {
  for (const auto& p : rules.programs()) {
    if (p.eligible_symbol == s) return true;
  }
  return false;
}

// "from 2026-01-01", "until 2025-06-01", "from 2026-01-01 until 2027-12-31".
std::string InForceText(const Program& p) {
  std::string out;
  if (p.effective_from) out += "from " + p.effective_from->ToString();
  if (p.effective_to)
    out += (out.empty() ? "" : " ") + std::string("until ") + p.effective_to->ToString();
  return out;
}

core::Status Bad(const std::string& file, const YAML::Node& at, const std::string& message) {
  return core::Status::InvalidArgument(fmt::format("{}:{}:{}: {}", file, at.Mark().line + 1, at.Mark().column + 1, message));
}

// "2025-11" → 2025-11-01, "2025" → 2025-01-01, "2025-11-15" → itself.
std::optional<core::Date> PeriodStart(const std::string& period) {
  if (period.size() == 4) return core::Date::Parse(period + "-01-01").ok() ? std::optional(*core::Date::Parse(period + "-01-01")) : std::nullopt;
  if (period.size() == 7) {
    auto d = core::Date::Parse(period + "-01");
    return d.ok() ? std::optional(*d) : std::nullopt;
  }
  auto d = core::Date::Parse(period);
  return d.ok() ? std::optional(*d) : std::nullopt;
}

core::StatusOr<HouseholdInput::Values> ReadValues(const RuleSet& rules, const std::string& file, const YAML::Node& map,
                                                  Entity entity) {
  HouseholdInput::Values values;
  for (const auto& kv : map) {
    std::string name = kv.first.Scalar();
    if (entity == Entity::kHousehold && name == "members") continue;
    int s = rules.FindSymbol(name);
    if (s < 0) return Bad(file, kv.first, fmt::format("unknown variable '{}'", name));
    if (rules.symbols()[s].entity != entity) {
      return Bad(file, kv.first, entity == Entity::kHousehold
                                     ? fmt::format("{} is a value for each member: give it under members", name)
                                     : fmt::format("{} is a value for the household, not for a member", name));
    }
    if (!kv.second.IsScalar()) return Bad(file, kv.second, fmt::format("{} must be a single value", name));
    auto parsed = ParseValue(rules.symbols()[s], kv.second.Scalar(), name);
    if (!parsed.ok()) return Bad(file, kv.second, parsed.status().message());
    values.emplace_back(name, kv.second.Scalar());
  }
  return values;
}

}  // namespace

core::StatusOr<RuleTestSummary> RunRuleTestText(const RuleSet& rules, const std::string& file, const std::string& text,
                                                std::ostream& out) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return core::Status::InvalidArgument(
        fmt::format("{}:{}:{}: {}", file, e.mark.line + 1, e.mark.column + 1, YamlErrorText(e)));
  }
  RuleTestSummary summary;
  if (!root || root.IsNull()) return summary;
  if (auto dup = FirstDuplicateKey(root)) {
    return core::Status::InvalidArgument(fmt::format("{}:{}:{}: {}", file, dup->second.line + 1,
                                                     dup->second.column + 1,
                                                     DuplicateKeyText(*dup)));
  }
  if (!root.IsSequence()) return Bad(file, root, "a test file is a list of tests (each starting with '- name:')");
  // Check the whole file before running anything.
  struct Case {
    std::string name;
    int line;
    std::string period;
    core::Date as_of;
    HouseholdInput input;
    int64_t margin = 0;
    std::vector<std::tuple<int, YAML::Node, int>> outputs;  // symbol, expected, line
  };
  std::vector<Case> cases;
  for (const auto& t : root) {
    if (!t.IsMap()) return Bad(file, t, "a test is a map with name, period, input and output");
    for (const auto& kv : t) {
      static const char* kKeys[] = {"name", "description", "period", "as_of", "absolute_error_margin", "input", "output"};
      std::string key = kv.first.Scalar();
      if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
        return Bad(file, kv.first, fmt::format("unknown key '{}' (allowed: name, description, period, as_of, absolute_error_margin, input, output)", key));
      }
    }
    Case c;
    c.line = t.Mark().line + 1;
    if (!t["name"]) return Bad(file, t, "a test needs a name");
    c.name = t["name"].Scalar();
    if (!t["period"]) return Bad(file, t, fmt::format("test '{}' needs a period (2025-11 or 2025)", c.name));
    c.period = t["period"].Scalar();
    auto start = PeriodStart(c.period);
    if (!start) return Bad(file, t["period"], fmt::format("period must be a month like 2025-11 or a year like 2025, not '{}'", c.period));
    c.as_of = *start;
    if (t["as_of"]) {
      auto d = core::Date::Parse(t["as_of"].Scalar());
      if (!d.ok()) return Bad(file, t["as_of"], "as_of must be a date like 2025-11-15");
      c.as_of = *d;
    }
    if (t["absolute_error_margin"]) {
      auto m = decimal::Parse(t["absolute_error_margin"].Scalar());
      if (!m || *m < 0) return Bad(file, t["absolute_error_margin"], "absolute_error_margin must be a number of at least 0");
      c.margin = *m;
    }
    const YAML::Node& input = t["input"];
    if (input) {
      if (!input.IsMap()) return Bad(file, input, "input is a map of names to values");
      ASSIGN_OR_RETURN(c.input.values, ReadValues(rules, file, input, Entity::kHousehold));
      if (input["members"]) {
        if (!input["members"].IsSequence()) return Bad(file, input["members"], "members is a list, one map per member");
        for (const auto& m : input["members"]) {
          if (!m.IsMap()) return Bad(file, m, "each member is a map of names to values");
          ASSIGN_OR_RETURN(auto values, ReadValues(rules, file, m, Entity::kPerson));
          c.input.members.push_back(std::move(values));
        }
      }
    }
    const YAML::Node& output = t["output"];
    if (!output || !output.IsMap() || output.size() == 0) return Bad(file, t, fmt::format("test '{}' needs an output map", c.name));
    for (const auto& kv : output) {
      std::string name = kv.first.Scalar();
      int s = rules.FindSymbol(name);
      if (s < 0) return Bad(file, kv.first, fmt::format("unknown variable '{}'", name));
      const Symbol& sym = rules.symbols()[s];
      if (sym.entity == Entity::kPerson) {
        if (!kv.second.IsSequence()) return Bad(file, kv.second, fmt::format("{} is a value for each member: give a list", name));
        for (const auto& v : kv.second) {
          if (v.Scalar() == "unknown") continue;
          auto parsed = ParseValue(sym, v.Scalar(), name);
          if (!parsed.ok()) return Bad(file, v, parsed.status().message());
        }
      } else {
        if (!kv.second.IsScalar()) return Bad(file, kv.second, fmt::format("{} must be a single value", name));
        if (kv.second.Scalar() != "unknown" &&
            !(kv.second.Scalar() == "not_in_force" && EligibleOf(rules, s))) {
          // Outputs are checked without min/max: a variable may be outside an input's bounds.
          Symbol unbounded = sym;
          unbounded.min.reset();
          unbounded.max.reset();
          auto parsed = ParseValue(unbounded, kv.second.Scalar(), name);
          if (!parsed.ok()) return Bad(file, kv.second, parsed.status().message());
        }
      }
      c.outputs.emplace_back(s, kv.second, kv.first.Mark().line + 1);
    }
    cases.push_back(std::move(c));
  }

  Batch batch(rules);
  Evaluator ev(rules);
  for (const auto& c : cases) {
    batch.Clear();
    auto added = batch.Add(c.input);
    if (!added.ok()) return core::Status::InvalidArgument(fmt::format("{}:{}: {}", file, c.line, added.message()));
    ev.Run(batch, c.as_of);
    bool ok = true;
    // As a screening says it: a program not in force on the test's date has no result, only
    // not_in_force, whatever its formulas give.
    std::map<int, const Program*> not_in_force;
    for (const auto& p : rules.programs()) {
      if (p.eligible_symbol >= 0 && ((p.effective_from && c.as_of < *p.effective_from) ||
                                     (p.effective_to && *p.effective_to < c.as_of))) {
        not_in_force[p.eligible_symbol] = &p;
      }
    }
    for (const auto& [s, expected, line] : c.outputs) {
      const Symbol& sym = rules.symbols()[s];
      const Column& col = ev.Symbol(s);
      std::vector<std::string> expected_values;
      if (expected.IsSequence()) {
        for (const auto& v : expected) expected_values.push_back(v.Scalar());
      } else {
        expected_values.push_back(expected.Scalar());
      }
      size_t rows = sym.entity == Entity::kPerson ? col.v.size() : 1;
      if (expected_values.size() != rows) {
        out << fmt::format("{}:{}: {}: {} for {}: expected {} values, there are {} members\n", file, line, c.name, sym.name,
                           c.period, expected_values.size(), rows);
        ok = false;
        continue;
      }
      if (auto off = not_in_force.find(s); off != not_in_force.end()) {
        if (expected_values[0] != "not_in_force") {
          out << fmt::format(
              "{}:{}: {}: {} for {}: expected {}, got not_in_force ({} is in force {})\n", file,
              line, c.name, sym.name, c.period, expected_values[0], off->second->name,
              InForceText(*off->second));
          ok = false;
        }
        continue;
      }
      for (size_t i = 0; i < rows; ++i) {
        std::string actual = col.s[i] == kKnown ? RawValue(rules, sym.type, s, col.v[i])
                             : col.s[i] == kUnknown ? "unknown" : "error";
        bool match;
        if (expected_values[i] == "not_in_force") {
          match = false;  // the program is in force on this date
        } else if (expected_values[i] == "unknown" || col.s[i] != kKnown) {
          match = expected_values[i] == actual;
        } else if (sym.type == Type::kNumber || sym.type == Type::kMoney) {
          int64_t want = *decimal::Parse(expected_values[i]);
          int64_t diff = want > col.v[i] ? want - col.v[i] : col.v[i] - want;
          match = diff <= c.margin;
        } else {
          Symbol unbounded = sym;
          unbounded.min.reset();
          unbounded.max.reset();
          match = *ParseValue(unbounded, expected_values[i], sym.name) == col.v[i];
        }
        if (!match) {
          std::string detail;
          if (col.s[i] == kError && ev.ActiveFormula(s) >= 0) {
            detail = " (" + ev.ErrorAt(ev.ActiveFormula(s), static_cast<uint32_t>(i)) + ")";
          }
          out << fmt::format("{}:{}: {}: {}{} for {}: expected {}, got {}{}\n", file, line, c.name, sym.name,
                             rows > 1 ? fmt::format("[member {}]", i) : "", c.period, expected_values[i], actual, detail);
          ok = false;
        }
      }
    }
    if (ok) ++summary.passed; else ++summary.failed;
  }
  return summary;
}

core::StatusOr<RuleTestSummary> RunRuleTests(const RuleSet& rules, const std::vector<std::string>& paths, std::ostream& out) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      const size_t before = files.size();
      for (auto it = fs::recursive_directory_iterator(p, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->is_regular_file() && it->path().extension() == ".yaml") files.push_back(it->path().string());
      }
      // A wrong folder must not pass as "0 passed, 0 failed".
      if (files.size() == before) return core::Status::NotFound(fmt::format("{}: no test files (*.yaml) in this folder", p));
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p);
    } else {
      return core::Status::NotFound(fmt::format("{}: no such file or folder", p));
    }
  }
  std::sort(files.begin(), files.end());
  RuleTestSummary total;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    ASSIGN_OR_RETURN(RuleTestSummary s, RunRuleTestText(rules, f, ss.str(), out));
    total.passed += s.passed;
    total.failed += s.failed;
  }
  out << fmt::format("{} passed, {} failed\n", total.passed, total.failed);
  return total;
}

}  // namespace eligibility
