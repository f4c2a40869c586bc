#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/date.h"
#include "core/status.h"
#include "eligibility/rule_set.h"

namespace eligibility {

// One household's answers: inputs (or variables, which then replace their formula) by name,
// as text ("1200", "1200.50", "true", "2025-10-01", "renter"), and each member's person inputs.
struct HouseholdInput {
  using Values = std::vector<std::pair<std::string, std::string>>;
  Values values;
  std::vector<Values> members;
};

// The state of a cell: known, unknown (an input is missing) or an error (division by zero…).
inline constexpr uint8_t kKnown = 0;
inline constexpr uint8_t kUnknown = 1;
inline constexpr uint8_t kError = 2;

// A value per household (or per member) of a batch.
struct Column {
  std::vector<int64_t> v;
  std::vector<uint8_t> s;  // kKnown, kUnknown or kError
};

// Households in columns, ready for the evaluator. Not thread-safe; one per thread.
class Batch {
 public:
  explicit Batch(const RuleSet& rules);

  // Checks and appends one household. On error nothing is appended and the error names the
  // field ("earned_income", "members/1/age") and what is wrong with it.
  core::Status Add(const HouseholdInput& household);
  void Clear();
  size_t households() const { return member_begin_.size() - 1; }
  size_t members() const { return member_household_.size(); }

 private:
  friend class Evaluator;
  const RuleSet& rules_;
  std::vector<Column> given_;  // per symbol; s is kKnown where given, kUnknown where not
  std::vector<uint8_t> any_given_;
  std::vector<uint32_t> member_begin_;
  std::vector<uint32_t> member_household_;
};

// Parses one value of `symbol`'s type; `field` names it in the error.
core::StatusOr<int64_t> ParseValue(const Symbol& symbol, std::string_view text, const std::string& field);

// Evaluates the rules over a batch, column by column: every node is computed once for all the
// households of the batch, on demand, and kept until the next Run. Not thread-safe; one per
// thread over a shared RuleSet.
class Evaluator {
 public:
  explicit Evaluator(const RuleSet& rules);

  void Run(const Batch& batch, core::Date as_of);
  core::Date as_of() const { return as_of_; }

  const Column& Node(int node);
  const Column& Symbol(int symbol);
  // The formula of `symbol` in force on the as-of date, or -1.
  int ActiveFormula(int symbol) const { return active_root_[symbol]; }

  // The inputs, missing and without a default, that make `node` unknown for `row`.
  void Missing(int node, uint32_t row, std::vector<int>* symbols);
  // Why `node` is an error for `row`: the formula and the problem. Empty when it is not.
  std::string ErrorAt(int node, uint32_t row);

  // The parameter's value in force on the as-of date (nullptr before its first value);
  // `ended` when it had ended by then.
  const ParameterValue* Parameter(int p, bool* ended) const;

  bool Given(int symbol, uint32_t row) const;

 private:
  void Compute(int node);
  void ComputeSymbol(int symbol);
  size_t Rows(Entity e) const;
  Column& Own(int node, Entity e);
  void Walk(int node, uint32_t row, std::vector<int>* missing, std::string* error, std::vector<uint8_t>& seen);

  const RuleSet& rules_;
  const Batch* batch_ = nullptr;
  core::Date as_of_;
  int64_t as_of_days_ = 0;
  uint32_t epoch_ = 0;
  std::vector<uint32_t> node_epoch_, symbol_epoch_;
  std::vector<Column> cols_;
  std::vector<Column> sym_cols_;
  std::vector<const Column*> result_;
  std::vector<int> active_root_;
  std::vector<const ParameterValue*> params_;
  std::vector<uint8_t> param_ended_;
};

}  // namespace eligibility
