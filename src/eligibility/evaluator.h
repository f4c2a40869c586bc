#pragma once

#include <array>
#include <cstdint>
#include <span>
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

  // A value already in the evaluator's form (see ParseValue) for the symbol with that index.
  struct Value {
    int symbol;
    int64_t value;
  };
  struct MemberValue {
    uint32_t member;  // 0-based, below the household's member count
    int symbol;
    int64_t value;
  };
  // Appends one household of `members` members whose values are already typed and checked: for
  // bulk screening of generated or pre-parsed data, without text. A household_size above
  // `members` adds members of whom nothing is known (their inputs are asked for, and what depends
  // on them is unknown), as does Add: the people not listed are not taken to be no one. Symbols not
  // listed are not given; a symbol given twice keeps the last value, as with Add. REQUIRES:
  // `values` name household symbols and `member_values` person symbols of this batch's rules, with
  // values of their type within their bounds (nothing is checked).
  void AddParsed(std::span<const Value> values, uint32_t members,
                 std::span<const MemberValue> member_values);

  void Clear();
  size_t households() const { return member_begin_.size() - 1; }
  size_t members() const { return member_household_.size(); }
  const RuleSet& rules() const { return rules_; }

 private:
  friend class Evaluator;
  const RuleSet& rules_;
  int size_symbol_ = -1;  // household_size, if the rules have it
  // The values given, per symbol, as (row, value) in the order they were added: appending a
  // household costs one entry per value given, whatever the number of symbols; the evaluator
  // spreads them over a column when it first reads the symbol.
  struct Given {
    uint32_t row;  // household row, or member row for person symbols
    int64_t value;
  };
  std::vector<std::vector<Given>> given_;
  std::vector<int> used_;  // the symbols with a value in given_
  std::vector<uint32_t> member_begin_;
  std::vector<uint32_t> member_household_;
};

// Parses one value of `symbol`'s type; `field` names it in the error.
core::StatusOr<int64_t> ParseValue(const Symbol& symbol, std::string_view text,
                                   const std::string& field);

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
  template <size_t B>
  void IfRows(const std::vector<int>& args, size_t n, int64_t* __restrict ov,
              uint8_t* __restrict os);
  void FillUniform(int node, int64_t v, uint8_t s);
  void ComputeSymbol(int symbol);
  size_t Rows(Entity e) const;
  Column& Own(int node, Entity e);
  void Walk(int node, uint32_t row, std::vector<int>* missing, std::string* error,
            std::vector<uint8_t>& seen);

  const RuleSet& rules_;
  const Batch* batch_ = nullptr;
  core::Date as_of_;
  int64_t as_of_days_ = 0;
  uint32_t epoch_ = 0;
  std::vector<uint32_t> node_epoch_, symbol_epoch_;
  std::vector<Column> cols_;
  std::vector<Column> sym_cols_;           // a symbol's own column, when it cannot point at another
  std::vector<const Column*> sym_result_;  // a symbol's values: sym_cols_ or its formula's column
  struct Uniform {  // what a constant or parameter node's column was last filled with
    bool filled = false;
    int64_t v = 0;
    uint8_t s = 0;
    size_t rows = 0;
  };
  std::vector<Uniform> uniform_;
  // The rows of an input's own column when it holds the input's default in every row, else 0.
  std::vector<size_t> sym_default_rows_;
  struct DenseTable {  // a table parameter node's values for the first whole keys, by key
    const ParameterValue* of = nullptr;
    std::vector<int64_t> v;
    std::vector<uint8_t> s;
  };
  std::vector<DenseTable> dense_;
  struct KeyIndex {
    static constexpr uint8_t kDense = 64;          // entries of a dense table
    static constexpr uint8_t kNotKnown = kDense;   // the key is unknown or an error
    static constexpr uint8_t kOther = kDense + 1;  // known, not a whole key of the dense table
    const Column* key = nullptr;
    uint32_t epoch = 0;
    int64_t first_key = 0;
    bool special = false;  // some row is kNotKnown or kOther
    std::vector<uint8_t> idx;
  };
  std::array<KeyIndex, 4> key_index_;
  size_t key_index_next_ = 0;
  const KeyIndex& IndexKeys(const Column& key, int64_t first_key);
  std::vector<const Column*> result_;
  std::vector<int> active_root_;
  std::vector<const ParameterValue*> params_;
  std::vector<uint8_t> param_ended_;
};

}  // namespace eligibility
