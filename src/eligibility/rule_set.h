#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.h"
#include "core/status.h"

namespace eligibility {

// The compiled form of every rule pack loaded from the rules directories: the inputs, the
// parameters with their dated values, the programs with their variables and tests, and the
// typed expression nodes that the evaluator runs. Built once by Load and immutable after, so
// one RuleSet is shared by every thread. The file format is described in docs/rules.md.

enum class Type : uint8_t { kBool, kNumber, kMoney, kDate, kText, kEnum };
enum class Period : uint8_t { kNone, kMonth, kYear };
enum class Entity : uint8_t { kHousehold, kPerson };

struct SourcePos {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  std::string ToString() const;  // "rules/us/snap.yaml:42:27"
};

// Values in the evaluator are int64: booleans 0/1, numbers and money as decimals (millionths,
// see decimal.h), dates as days since 1970-01-01, enums as the index of the value, text as a
// 64-bit hash of the text.
struct Symbol {  // an input or a variable
  std::string name;
  bool is_input = false;
  Type type = Type::kNumber;
  bool integer = false;
  Period period = Period::kNone;
  Entity entity = Entity::kHousehold;
  std::vector<std::string> enum_values;
  std::string label;
  std::string question;
  std::optional<int64_t> default_value;
  std::optional<int64_t> min, max;
  SourcePos pos;
  int program = -1;  // the program that defines a variable
  struct Formula {
    core::Date from;  // {} for an undated formula
    int root = -1;    // node id
    std::string text;
  };
  std::vector<Formula> formulas;  // ascending by `from`
};

struct ParameterValue {
  core::Date from;
  bool ends = false;  // `null`: no value from this date
  int64_t scalar = 0;
  std::vector<std::pair<int64_t, int64_t>> table;  // breakdown key → value, ascending
  std::optional<int64_t> additional;
  std::vector<std::pair<int64_t, int64_t>> brackets;  // threshold → value, ascending
  std::string reference;
};

struct Parameter {
  std::string name;
  std::string label;
  Type type = Type::kNumber;  // kNumber or kMoney
  bool integer = false;
  Period period = Period::kNone;
  std::string breakdown;  // the input that keys the table, or empty
  bool brackets = false;
  core::Date last_reviewed;
  std::vector<ParameterValue> values;  // ascending by `from`
  SourcePos pos;

  // The value in force on `date`, or nullptr before the first value. When the parameter ended
  // on or before `date`, the last value before the end is returned and `*ended` set.
  const ParameterValue* At(core::Date date, bool* ended) const;
  // The end date when the last entry is `null`.
  std::optional<core::Date> EndDate() const;
};

enum class Op : uint8_t {
  kConst, kSymbol, kAsOf, kParam, kParamIndex, kBracket, kScale, kBroadcast,
  kNeg, kNot, kAdd, kSub, kMul, kDiv,
  kEq, kNe, kLt, kLe, kGt, kGe,
  kAnd, kOr, kIf, kMin, kMax, kAbs, kRound, kFloor, kCeil,
  kSum, kCount, kAny, kAll, kMonthly, kYearly, kYearsBetween, kMonthsBetween, kKnown,
  kAllTests,
};

struct Node {
  Op op = Op::kConst;
  Type type = Type::kNumber;
  Period period = Period::kNone;
  Entity entity = Entity::kHousehold;
  bool literal = false;  // a number written in the formula: may stand for money
  int64_t imm = 0;       // kConst value
  int symbol = -1;       // kSymbol
  int parameter = -1;    // kParam, kParamIndex, kBracket, kScale
  std::vector<int> args;
  SourcePos pos;
};

struct ProgramTest {
  std::string name;
  std::string label;
  std::string citation;
  std::string pass_message;
  std::string fail_message;
  int condition = -1;   // node id
  int applies_if = -1;  // node id, -1 when the test always applies
  int value_node = -1;  // when the condition is a comparison: its left side
  int limit_node = -1;  // … and its right side
  std::vector<int> symbols;     // every variable and input the test depends on
  std::vector<int> parameters;  // every parameter it depends on
  SourcePos pos;
};

struct Program {
  std::string id;
  std::string name;
  std::string agency;
  std::string jurisdiction;
  std::string legal_basis;
  std::string version;
  std::string currency;
  std::string description;
  std::optional<core::Date> effective_from, effective_to;
  // The statutory time to decide an application (`decision_clock` in the pack): calendar days
  // from the day it is received, and for expedited service; 0 when the pack gives none.
  int decision_days = 0;
  int expedited_days = 0;
  std::string clock_citation;
  std::vector<ProgramTest> tests;
  int eligible_symbol = -1;  // `<id>_eligible`
  int amount_node = -1;
  std::string amount_label;
  std::vector<int> symbols;     // every variable and input the program depends on, in order
  std::vector<int> parameters;  // every parameter it depends on
  SourcePos pos;
};

class RuleSet {
 public:
  // Loads every .yaml file under `dirs` (files or folders; folders named `tests` are skipped).
  // `today` decides which parameters are expired (each one adds a line to `warnings`).
  // Returns kInvalidArgument listing every problem as "file:line:column: message".
  static core::StatusOr<std::unique_ptr<RuleSet>> Load(const std::vector<std::string>& dirs,
                                                       core::Date today,
                                                       std::vector<std::string>* warnings);
  // The same from text already in memory, as (file name, content) pairs: for tests.
  static core::StatusOr<std::unique_ptr<RuleSet>> LoadText(
      const std::vector<std::pair<std::string, std::string>>& files, core::Date today,
      std::vector<std::string>* warnings);

  const std::vector<Symbol>& symbols() const { return symbols_; }
  const std::vector<Parameter>& parameters() const { return parameters_; }
  const std::vector<Program>& programs() const { return programs_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  // SHA-256 over every file loaded, in path order: names the exact rules a result came from.
  const std::string& content_hash() const { return content_hash_; }
  // Unique to this RuleSet object in the process (never reused): keys caches built over it.
  uint64_t serial() const { return serial_; }
  // The household-level table look-ups (kParamIndex nodes) of parameter `p`.
  const std::vector<int>& LookupsOf(int p) const { return lookups_[p]; }
  int FindSymbol(std::string_view name) const;
  int FindParameter(std::string_view name) const;
  int FindProgram(std::string_view id) const;

 private:
  friend class RuleLoader;
  std::vector<Symbol> symbols_;
  std::vector<Parameter> parameters_;
  std::vector<Program> programs_;
  std::vector<Node> nodes_;
  std::string content_hash_;
  uint64_t serial_ = 0;
  std::vector<std::vector<int>> lookups_;
};

// The value of a text in the evaluator: a 64-bit FNV-1a hash, compared for equality only.
uint64_t TextValue(std::string_view text);

// "money per month", "true/false"…: how types are named in messages.
std::string TypeName(Type type, Period period);

}  // namespace eligibility
