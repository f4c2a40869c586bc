#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.h"
#include "core/status.h"
#include "eligibility/evaluator.h"
#include "eligibility/rule_set.h"

namespace eligibility {

enum class Outcome { kEligible, kNotEligible, kUnknown, kError, kNotInForce };
std::string_view OutcomeName(Outcome o);  // "eligible", "not_eligible", "unknown", "error", "not_in_force"

enum class TestOutcome { kPass, kFail, kUnknown, kNotApplicable, kError };
std::string_view TestOutcomeName(TestOutcome o);  // "pass", "fail", "unknown", "not_applicable", "error"

// Names, labels, citations, formulas and references are views into the RuleSet the screening
// was made with: valid while it lives (the server keeps its rules for its whole life).
struct TestResult {
  std::string_view name;
  std::string_view label;
  std::string_view citation;
  TestOutcome outcome = TestOutcome::kUnknown;
  std::string message;  // the pass or fail message with its values, or why it is unknown
  std::string value, limit, margin;  // when the condition is a comparison and known
  std::vector<std::string_view> uses;  // names of the variables, inputs and parameters it used
};

struct TraceValue {  // a variable, an input or a parameter as used
  std::string_view name;
  std::string_view label;
  std::string value;            // formatted; "unknown" when it cannot be worked out
  std::string raw;              // the exact value: "2888", "true", "" when unknown
  std::string_view kind;        // "input", "variable", "parameter"
  std::string_view source;      // input: "given", "default" or "missing"; variable: formula text; parameter: reference
  std::string effective;        // parameter: the date its value applies from
};

struct ProgramResult {
  std::string_view program;
  std::string_view name;
  std::string_view agency;
  std::string_view jurisdiction;
  std::string_view legal_basis;
  std::string_view version;
  std::string_view currency;
  Outcome outcome = Outcome::kUnknown;
  std::optional<int64_t> amount;  // decimal, when eligible and the program has an amount
  std::string amount_text;        // "$291.00"
  std::string_view amount_label;
  std::string reason;                            // one plain-language sentence
  std::vector<std::string_view> missing_inputs;  // names, for the questionnaire
  std::vector<TestResult> tests;
  std::vector<TraceValue> trace;
  std::vector<std::string_view> stale;  // parameters used that had ended
};

struct Screening {
  core::Date as_of;
  std::string rules_hash;
  std::vector<ProgramResult> programs;
};

// Screens one household against every program in force on `as_of`, with explanations.
// Returns kInvalidArgument (naming the field) when an input is not valid.
core::StatusOr<Screening> Screen(const RuleSet& rules, const HouseholdInput& household, core::Date as_of);

// Formats a value of the given type for people: money in the currency ("$1,234.50"), numbers
// exactly, true/false as "yes"/"no", choices by name.
std::string FormatValue(const RuleSet& rules, Type type, int enum_symbol, int64_t value, std::string_view currency);
// The exact value as text: "1234.5", "true", "2025-10-01", "renter".
std::string RawValue(const RuleSet& rules, Type type, int enum_symbol, int64_t value);

}  // namespace eligibility
