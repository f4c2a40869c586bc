// libFuzzer target for the rule language: the expression parser, the rule-pack loader (YAML,
// names, types, periods, cycles) and, when a pack loads, the evaluator and the explanations.
// Any input must give a result or a clean error: no crash, leak, overflow or undefined
// behaviour. Build and run with fuzz/run.sh (docs/rules.md, "Fuzzing").

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "eligibility/expr/parser.h"
#include "eligibility/rule_set.h"
#include "eligibility/screening.h"

namespace {

// Inputs and parameters the fuzzed program may use.
constexpr char kBase[] = R"(inputs:
  a: {type: money, entity: household, period: month, label: A}
  y: {type: money, entity: household, period: year, label: Y}
  n: {type: integer, entity: household, label: N, min: 1}
  flag: {type: boolean, entity: household, label: Flag}
  housing: {type: enum, values: [renter, owner], entity: household, label: Housing}
  age: {type: integer, entity: person, label: Age}
parameters:
  t.limit:
    label: Limit
    type: money
    period: month
    breakdown: n
    last_reviewed: 2025-01-01
    values:
      2025-01-01: {value: {1: 1000, 2: 1500, additional: 300}, reference: "r"}
  t.rate:
    label: Rate
    type: number
    last_reviewed: 2025-01-01
    values:
      2025-01-01: {value: 0.3, reference: "r"}
      2026-01-01: null
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  eligibility::expr::ParseError error;
  auto e = eligibility::expr::Parse(text, error);
  if (e) (void)eligibility::expr::ToString(*e);

  std::vector<std::string> warnings;
  auto rules = eligibility::RuleSet::LoadText({{"base.yaml", kBase}, {"fuzz.yaml", text}}, {2026, 6, 1}, &warnings);
  if (!rules.ok()) return 0;
  eligibility::HouseholdInput households[] = {
      {},
      {{{"a", "1200.50"}, {"y", "-3"}, {"n", "3"}, {"flag", "true"}, {"housing", "owner"}}, {{{"age", "70"}}, {}}},
      {{{"a", "0"}, {"n", "1"}, {"flag", "false"}}, {{{"age", "0"}}}},
  };
  for (const auto& h : households) {
    for (core::Date d : {core::Date{2024, 1, 1}, core::Date{2025, 6, 1}, core::Date{2027, 1, 1}}) {
      (void)eligibility::Screen(**rules, h, d);
    }
  }
  return 0;
}
