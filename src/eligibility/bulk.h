#pragma once

// Bulk screening: many households against every program, column-wise, on several threads,
// without explanations (screening.h explains one household). Households stream in and
// results stream out a batch at a time, so that a million households never sit in memory at
// once. On top of it: the comparison of two rule sets over the same households (who gains or
// loses eligibility, whose amount changes), the take-up report (eligible but not enrolled),
// households read from CSV, and a generator of realistic households for benchmarks.

#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/date.h"
#include "core/status.h"
#include "eligibility/decimal.h"
#include "eligibility/evaluator.h"
#include "eligibility/rule_set.h"
#include "eligibility/screening.h"

namespace eligibility {

struct BulkRow {
  std::string id;
  HouseholdInput input;
};

// One household's result for one program: what Screen would say, without the explanation.
struct ProgramOutcome {
  Outcome outcome = Outcome::kUnknown;
  std::optional<int64_t> amount;  // decimal, when eligible and the program's amount is known
  bool operator==(const ProgramOutcome&) const = default;
};

// The results of one batch of households, in the order they came in.
struct ScreenedBatch {
  uint64_t first = 0;   // position in the stream of the first household (0-based)
  size_t programs = 0;  // RuleSet::programs().size()
  std::vector<std::string> ids;
  std::vector<ProgramOutcome> results;  // ids.size() × programs, household by household
  const ProgramOutcome& at(size_t household, size_t program) const {
    return results[household * programs + program];
  }
};

// Loads the households of one claimed chunk into `batch` (which may be over any of the rule sets
// being run) and appends their ids to `ids` when it is not null. Called once per rule set.
using ChunkLoader = std::function<core::Status(Batch& batch, std::vector<std::string>* ids)>;
// Where the households come from. Claims the next chunk of at most `max` households and
// returns its loader; an empty loader ends the stream. The screener calls the feed from one
// worker at a time (claims are cheap: reading lines, taking a range) and runs the loaders on
// every worker at once (parsing, checking), so a loader must not share mutable state.
using HouseholdFeed = std::function<core::StatusOr<ChunkLoader>(size_t max)>;

// Rows produced by the caller, a batch at a time: appends at most `max` rows to `rows` (empty
// on entry); appending none ends the stream. Called from one worker at a time.
using RowSource = std::function<core::Status(size_t max, std::vector<BulkRow>* rows)>;
// The feed of a row source; each row is checked like Screen's input. A row that is not valid
// stops the screening with kInvalidArgument "household ID: field: problem".
HouseholdFeed RowFeed(RowSource source);

struct BulkOptions {
  core::Date as_of;
  int threads = 1;           // workers, each with its own Batch and Evaluator per rule set
  size_t batch_size = 1024;  // households per Batch
};

// Receives the results a batch at a time, in stream order, from one worker at a time. A
// non-OK status stops the screening and is returned.
using ResultSink = std::function<core::Status(const ScreenedBatch& batch)>;

// Screens every household of `feed` against every program of `rules` on `options.as_of`.
// Outcomes and amounts equal Screen's for the same household. Returns the number of
// households, or the first error of the feed, a loader or the sink.
core::StatusOr<uint64_t> ScreenBulk(const RuleSet& rules, const BulkOptions& options,
                                    const HouseholdFeed& feed, const ResultSink& sink);

// The same households under two rule sets (before and after a change), batch by batch: the two
// batches given to the sink hold the same households, with each rule set's programs.
using PairSink =
    std::function<core::Status(const ScreenedBatch& before, const ScreenedBatch& after)>;
core::StatusOr<uint64_t> ScreenBulkPair(const RuleSet& before, const RuleSet& after,
                                        const BulkOptions& options, const HouseholdFeed& feed,
                                        const PairSink& sink);

// ------------------------------------------------------------------ comparing two rule sets

enum class ChangeKind { kGain, kLoss, kAmount };
std::string_view ChangeKindName(ChangeKind k);  // "gain", "loss", "amount"

struct ProgramChange {
  std::string id;
  std::string program;
  ProgramOutcome before, after;
  ChangeKind kind = ChangeKind::kGain;
};

struct ProgramChangeCounts {
  std::string program;
  uint64_t eligible_before = 0, eligible_after = 0;
  uint64_t gains = 0, losses = 0;
  uint64_t amount_up = 0, amount_down = 0;  // eligible under both, with a different amount
  // The sum over households of the amount after − the amount before (0 when not eligible), in
  // millionths: 128 bits, so that no number of households can overflow it.
  decimal::Int128 amount_change = 0;
};
// A 128-bit sum of decimals as text, like decimal::ToString: "-1234.5".
std::string TotalString(decimal::Int128 millionths);

// Pairs programs by id (a program missing from one rule set counts as not in force there) and
// lists who gains eligibility (not eligible, unknown… before; eligible after), who loses it,
// and who stays eligible with a different amount. Not thread-safe: feed it from a PairSink.
class RuleChangeReport {
 public:
  RuleChangeReport(const RuleSet& before, const RuleSet& after);
  // Appends the changes of one pair of batches to `changes`, household by household.
  void Add(const ScreenedBatch& before, const ScreenedBatch& after,
           std::vector<ProgramChange>* changes);
  // Per program, in the order of the `after` rule set, then programs only in `before`.
  const std::vector<ProgramChangeCounts>& counts() const { return counts_; }

 private:
  std::vector<ProgramChangeCounts> counts_;
  std::vector<int> before_index_, after_index_;  // per entry of counts_, or -1
};

// ------------------------------------------------------------------ take-up

// Who is already enrolled in what: `id,program` rows. Programs that the rules do not know are
// kept out and counted (an export from a case system lists other programs too).
class Enrolments {
 public:
  // Reads a CSV with a header naming the columns `id` and `program` (others are ignored).
  // Returns kInvalidArgument "file:line: problem" for a missing column or an empty cell.
  static core::StatusOr<Enrolments> ReadCsv(std::istream& in, const std::string& name,
                                            const RuleSet& rules);
  bool Contains(const std::string& id, int program) const;
  size_t rows() const { return rows_; }
  size_t households() const { return by_id_.size(); }  // enrolled in a program of the rules
  // Program id → rows naming it, for programs the rules do not have.
  const std::unordered_map<std::string, uint64_t>& unknown_programs() const { return unknown_; }

 private:
  friend class TakeUpReport;
  std::unordered_map<std::string, std::vector<int>> by_id_;
  std::unordered_map<std::string, uint64_t> unknown_;
  size_t rows_ = 0;
};

struct TakeUpRow {  // a household likely eligible for a program and not enrolled in it
  std::string id;
  std::string program;
  std::optional<int64_t> amount;
};

struct TakeUpCounts {
  std::string program;
  uint64_t eligible = 0;
  uint64_t eligible_enrolled = 0;
  uint64_t eligible_not_enrolled = 0;  // the outreach list
  uint64_t enrolled_not_eligible = 0;  // enrolled, screened not eligible (may be stale data)
  uint64_t enrolled_unknown = 0;       // enrolled, screening unknown or an error
};

// Counts, per program, the households screened eligible and whether they are enrolled, and
// lists those who are not (the outreach list). `enrolments` must outlive the report. Not
// thread-safe: feed it from a ResultSink.
class TakeUpReport {
 public:
  TakeUpReport(const RuleSet& rules, const Enrolments& enrolments);
  void Add(const ScreenedBatch& batch, std::vector<TakeUpRow>* rows);
  const std::vector<TakeUpCounts>& counts() const { return counts_; }
  // Households in the enrolments that were never screened (a different or older list).
  uint64_t EnrolledNotScreened() const;

 private:
  const Enrolments& enrolments_;
  std::vector<TakeUpCounts> counts_;
  uint64_t enrolled_seen_ = 0;
};

// ------------------------------------------------------------------ CSV

// Households from CSV: one row per household; the header names the columns: `id`, household
// inputs (or variables, which then replace their formula), and each member's inputs as
// `member1.age`, `member2.age`… A household has as many members as the highest member number
// with a value. An empty cell is not given. Fields may be quoted ("a, b"; "" for a quote) but
// do not span lines; blank lines are skipped. Every error names the file, the line and the
// column: "households.csv:17: member2.age: expected a number".
class HouseholdCsv {
 public:
  // Reads the header. Each column must name an input (or variable) of at least one of `rules`
  // (a comparison reads one file for two rule sets), with the right entity: a household value
  // by its name, a person value as memberN.name. `in` must outlive the reader.
  static core::StatusOr<std::unique_ptr<HouseholdCsv>> Open(
      std::istream& in, std::string name, const std::vector<const RuleSet*>& rules);
  // Claims read lines; loaders parse them. A column a batch's rules lack is left out there.
  // The reader must outlive the feed's use.
  HouseholdFeed Feed();

 private:
  struct ColumnSpec {
    std::string header;
    std::string symbol;   // empty for the id column
    uint32_t member = 0;  // 1-based for member columns, 0 for the household
  };

  HouseholdCsv(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}
  std::istream& in_;
  std::string name_;
  std::vector<ColumnSpec> columns_;
  size_t id_column_ = 0;
  uint64_t line_ = 1;  // lines read so far (the header)
};

// Splits one CSV line into `cells`. Returns false on an unterminated quote.
bool SplitCsvLine(std::string_view line, std::vector<std::string>* cells);
// Quotes a field when it holds a comma, a quote or a line break.
std::string CsvField(std::string_view text);

// The results as CSV: `id`, then `<program>.outcome` and `<program>.amount` per program.
// Amounts are exact decimals ("291", "1799.75"); empty when there is none.
std::string ResultsCsvHeader(const RuleSet& rules);
void AppendResultsCsv(const ScreenedBatch& batch, std::string* out);
// id,program,old_outcome,new_outcome,old_amount,new_amount,change
std::string ChangesCsvHeader();
void AppendChangesCsv(const std::vector<ProgramChange>& changes, std::string* out);
// id,program,amount
std::string TakeUpCsvHeader();
void AppendTakeUpCsv(const std::vector<TakeUpRow>& rows, std::string* out);

// ------------------------------------------------------------------ generated households

// A household made up for benchmarks and tests. Money in decimals (millionths) with whole
// cents; nullopt where the answer is missing (as in real intake data).
struct GeneratedHousehold {
  struct Member {
    int age = 0;
    bool is_pregnant = false;
    bool is_postpartum = false;
    bool is_disabled = false;
    bool is_medicare_entitled = false;
  };
  uint64_t index = 0;
  int household_size = 1;
  int64_t earned_income = 0;
  int64_t unearned_income = 0;
  std::optional<int64_t> shelter_costs;
  std::optional<int64_t> dependent_care_costs;  // inputs with a default of 0: often not given
  std::optional<int64_t> medical_costs;
  std::optional<int64_t> child_support_paid;
  bool has_elderly_or_disabled_member = false;
  std::optional<int64_t> countable_assets;
  std::optional<bool> receives_qualifying_benefit;  // SNAP, Medicaid, SSI… (Lifeline's question)
  int member_count = 0;
  Member members[8];
};

// Realistic random households, deterministic in (seed, index) and the same on every platform
// (own PRNG and integer arithmetic only): households of 1 to 8 (most of 1 to 4), incomes often
// zero and otherwise skewed with a long tail, shelter costs, savings (many near zero, a few
// large), members whose ages fit the household (adults, children, elderly), some disabled,
// pregnant or on Medicare, some on a qualifying benefit (more often with low incomes); a few
// percent of shelter costs, savings and benefit answers not given.
// Thread-safe: Make is const.
class HouseholdGenerator {
 public:
  explicit HouseholdGenerator(uint64_t seed) : seed_(seed) {}
  GeneratedHousehold Make(uint64_t index) const;
  // "g0000001" for index 0: sortable, unique per index.
  static std::string Id(uint64_t index);

  // The inputs the generator fills, by name.
  static const std::vector<std::string>& InputNames();
  // The inputs of `rules` the generator does not fill (they stay not given).
  static std::vector<std::string> NotGenerated(const RuleSet& rules);

  // The household as text inputs, limited to the inputs `rules` has.
  BulkRow Row(const GeneratedHousehold& h, const RuleSet& rules) const;
  // The feed of households 0 … count-1, filled straight into each batch (no text).
  HouseholdFeed Feed(uint64_t count) const;
  // Writes households 0 … count-1 as CSV (HouseholdCsv's format) with the columns `rules` has.
  core::Status WriteCsv(const RuleSet& rules, uint64_t count, std::ostream& out) const;

 private:
  uint64_t seed_;
};

// Where each generated field goes in one rule set's symbols (-1 when the rules lack it or it has
// another type). Cheap to build: once per batch.
class GeneratedLayout {
 public:
  explicit GeneratedLayout(const RuleSet& rules);
  void AddTo(const GeneratedHousehold& h, Batch& batch) const;

 private:
  enum Field {  // household fields, then from kAge on the person fields
    kHouseholdSize,
    kEarnedIncome,
    kUnearnedIncome,
    kShelterCosts,
    kDependentCareCosts,
    kMedicalCosts,
    kChildSupportPaid,
    kHasElderlyOrDisabled,
    kCountableAssets,
    kReceivesQualifyingBenefit,
    kAge,
    kIsPregnant,
    kIsPostpartum,
    kIsDisabled,
    kIsMedicareEntitled,
    kFieldCount
  };
  friend class HouseholdGenerator;
  int symbol_[kFieldCount];
};

}  // namespace eligibility
