#pragma once

// Record matching for the shared client index: records are normalised into flat comparison
// keys (RecordTable), candidate pairs come from several blocking keys joined by OR
// (BlockingIndex), each pair is compared field by field into graded levels and scored by
// Fellegi-Sunter (Model, Scorer) with term-frequency adjustment, m and u are estimated without
// labels (EM for m, random pairs for u), and links are decided with two thresholds and
// clustered with a guard against chaining (LinkTables, Deduplicate).
//
// Thread safety: RecordTable, BlockingIndex and Scorer are safe for concurrent reads once
// built; building or adding is not.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "identity/normalize.h"
#include "identity/record.h"

namespace identity {

// ---------------------------------------------------------------------------------------------
// Features and comparison levels

enum class Feature : uint8_t {
  kGivenName,
  kFamilyName,
  kDateOfBirth,
  kIdentifier,
  kStreetNumber,
  kAddressLine1,
  kAddressLine2,
  kLocality,
  kPostcode,
  kRegion,
  kPhone,
};
inline constexpr size_t kFeatureCount = 11;

// "given_name", "family_name", "date_of_birth", "identifier", "street_number",
// "address_line1", "address_line2", "locality", "postcode", "region", "phone".
std::string_view FeatureName(Feature f);
std::optional<Feature> FeatureByName(std::string_view name);

// How a feature is compared, and so which levels it has. Level 0 is always "null" (a value is
// missing on either side: no evidence, weight 0) and level 1 "else" (disagreement); higher
// levels are stronger agreement, the highest "exact".
enum class ComparisonKind : uint8_t {
  // null, else, jw>=0.80, phonetic, jw>=0.90, edit<=1, nickname, swapped, exact
  kName,
  // null, else, year, year_month, partial, one_digit, day_month_swapped, exact
  kDate,
  // null, else, edit<=2, edit<=1, exact
  kCode,
  // null, else, jw>=0.80, jw>=0.90, edit<=1, exact
  kText,
  // null, else, exact
  kCategory,
};
ComparisonKind KindOf(Feature f);
size_t LevelCount(Feature f);
std::string_view LevelName(Feature f, uint8_t level);
// The level named `name` of feature f, if any.
std::optional<uint8_t> LevelByName(Feature f, std::string_view name);

inline constexpr uint8_t kLevelNull = 0;
inline constexpr uint8_t kLevelElse = 1;
// The exact level of a feature (its highest).
uint8_t ExactLevel(Feature f);

using FeatureMask = std::array<bool, kFeatureCount>;
inline constexpr FeatureMask kAllFeatures = {true, true, true, true, true, true,
                                             true, true, true, true, true};

// One comparison vector: the level of each feature.
using Levels = std::array<uint8_t, kFeatureCount>;

// ---------------------------------------------------------------------------------------------
// Normalised records

struct ProbeKeys;

// The normalised comparison keys of a set of records, in flat arrays. Each feature's values are
// interned: equal normalised values share one id (0 = missing), so exact agreement is an
// integer comparison and value frequencies (for term-frequency adjustment) are counts per id.
// Rows are numbered from 0 in the order added.
class RecordTable {
 public:
  RecordTable();
  RecordTable(const RecordTable&) = delete;
  RecordTable& operator=(const RecordTable&) = delete;
  RecordTable(RecordTable&&) = default;
  RecordTable& operator=(RecordTable&&) = default;

  void Reserve(size_t rows);
  // Normalises `record` (see normalize.h: names transliterated to ASCII, punctuation,
  // honorifics, dates parsed, address abbreviations, phones, identifiers) and returns its row.
  uint32_t Add(const PersonRecord& record);
  size_t size() const { return rows_.size(); }

  // The interned value of feature f in `row`; 0 when missing.
  uint32_t Value(uint32_t row, Feature f) const { return rows_[row].value[Index(f)]; }
  // The normalised text of a value id of f ("" for 0). Valid until the next Add.
  std::string_view Text(Feature f, uint32_t value) const { return dict_[Index(f)].texts[value]; }
  // How many rows hold this value, and how many hold any value of f.
  uint32_t Count(Feature f, uint32_t value) const { return dict_[Index(f)].counts[value]; }
  uint32_t NonNullCount(Feature f) const { return non_null_[Index(f)]; }
  // Distinct values of f, plus one for the missing value 0.
  size_t DictionarySize(Feature f) const { return dict_[Index(f)].texts.size(); }

  // The id of `text` in f's dictionary without adding it: 0 for "", ProbeKeys::kUnseen when
  // the table has no such value.
  uint32_t Find(Feature f, std::string_view text) const;

  // Normalises a record that is not to be added (a search probe), with the value ids the
  // table knows. Thread-safe with other const calls.
  ProbeKeys Probe(const PersonRecord& record) const;

  // Derived keys used in comparison and blocking.
  struct NameCodes {
    uint32_t metaphone_primary = 0;  // up to 4 characters packed, 0 when empty
    uint32_t metaphone_alternate = 0;
    uint16_t nickname_group[2] = {0xFFFF, 0xFFFF};  // first two groups, 0xFFFF = none
  };
  const NameCodes& Codes(Feature f, uint32_t value) const {
    return f == Feature::kGivenName ? given_codes_[value] : family_codes_[value];
  }
  const DateKey& Date(uint32_t value) const { return dates_[value]; }

 private:
  static size_t Index(Feature f) { return static_cast<size_t>(f); }
  struct Row {
    std::array<uint32_t, kFeatureCount> value{};
  };
  // Interned values: texts by id, and an open-addressing table from text to id.
  struct Dictionary {
    std::vector<std::string> texts;
    std::vector<uint32_t> counts;
    std::vector<uint64_t> hashes;  // by id
    std::vector<uint32_t> slots;   // ids, 0 = empty; power-of-two size
  };
  uint32_t Intern(Feature f, std::string&& text, bool* added);

  std::vector<Row> rows_;
  std::array<Dictionary, kFeatureCount> dict_;
  std::array<uint32_t, kFeatureCount> non_null_{};
  std::vector<NameCodes> given_codes_, family_codes_;
  std::vector<DateKey> dates_;
};

// The comparison keys of a record that is not in a table (a search probe), normalised as
// RecordTable::Add would: per feature the id of the value when the table knows it, kUnseen
// when it does not, and the normalised text ("" when missing).
struct ProbeKeys {
  static constexpr uint32_t kUnseen = 0xFFFFFFFF;
  std::array<uint32_t, kFeatureCount> value{};
  std::array<std::string, kFeatureCount> text;
  RecordTable::NameCodes given_codes;
  RecordTable::NameCodes family_codes;
  DateKey date;
};

// Compares rows a and b of `table` on the features in `use` (others get level null).
Levels CompareRows(const RecordTable& table, uint32_t a, uint32_t b, const FeatureMask& use);
// Compares a probe with a row of the table it was made from, the same way.
Levels CompareProbe(const RecordTable& table, const ProbeKeys& probe, uint32_t row,
                    const FeatureMask& use);

// ---------------------------------------------------------------------------------------------
// Blocking

// The blocking keys. Two rows become a candidate pair when they share any one key (OR).
// Each key joins two fields, so that one typo rarely hides a pair from every key.
enum class BlockingKey : uint8_t {
  kIdentifier,                 // the identifier
  kDateOfBirthGivenInitial,    // the full date of birth and the first letter of a name; the
  kDateOfBirthFamilyInitial,   //   two names share one key space, so names swapped still meet
  kDateOfBirthPostcode,        // the full date of birth and the postcode
  kNamesPhonetic,              // metaphone of given and family name, in either order
  kFamilyNameBirthYear,        // family name and year of birth
  kPostcodeNumberStreetInitial,  // postcode, street number and the street's first letter
  kGivenNamePostcode,          // given name and postcode
  kFamilyNamePostcode,         // family name and postcode
  kFamilyNameStreetNumber,     // family name and street number
  kGivenNameFamilyPrefix,      // given name and the first two letters of the family name
  kAddressLine1Locality,       // an address line and the locality; the two lines share one
  kAddressLine2Locality,       //   key space, so lines written in each other's place still meet
  kAddressLine1Postcode,       // first address line and postcode
  kPhone,                      // the phone number
};
inline constexpr size_t kBlockingKeyCount = 15;
std::string_view BlockingKeyName(BlockingKey k);
// The features a blocking key is made of: two rows that share the key agree on them.
FeatureMask BlockingKeyFeatures(BlockingKey k);

struct BlockingStats {
  uint64_t pairs_generated = 0;  // summed over keys, before removing repeats
  uint64_t pairs_compared = 0;   // distinct candidate pairs
  uint64_t blocks = 0;           // distinct (key, value) blocks in the index
  uint64_t blocks_capped = 0;    // blocks larger than the cap, which generate no pairs
  uint64_t rows_in_capped_blocks = 0;
  // Per blocking key: the pairs it generated (a pair found by several keys counts for each)
  // and its blocks over the cap, so that a key that costs much and adds little shows.
  std::array<uint64_t, kBlockingKeyCount> pairs_by_key{};
  std::array<uint64_t, kBlockingKeyCount> capped_by_key{};

  // Adds the pair counts of `other` (the index's block counts are not summed).
  void AddPairs(const BlockingStats& other);
};

// An in-memory index from blocking-key values to rows, rebuilt from the records (never a
// second source of truth). Blocks larger than `max_block_size` are kept out of candidate
// generation (and counted), so one common value cannot make the work quadratic.
class BlockingIndex {
 public:
  // Indexes `rows` of `table` under every key whose features are all in `use`.
  BlockingIndex(const RecordTable& table, std::span<const uint32_t> rows, const FeatureMask& use,
                size_t max_block_size);

  // Fills `out` with the distinct indexed rows, other than `row` and not below `min_row`,
  // that share a key with `row` of `table`, sorted, and counts them into `stats`
  // (pairs_generated, pairs_compared). Deduplication passes min_row = row + 1 so that each
  // pair is seen once.
  void Candidates(const RecordTable& table, uint32_t row, std::vector<uint32_t>& out,
                  BlockingStats& stats, uint32_t min_row = 0) const;
  // The same for a probe made by table.Probe().
  void Candidates(const ProbeKeys& probe, std::vector<uint32_t>& out, BlockingStats& stats) const;
  // As the first, and also fills `keys` with, for each row of `out`, the blocking keys it
  // shares with `row` (bit k for BlockingKey k).
  void Candidates(const RecordTable& table, uint32_t row, std::vector<uint32_t>& out,
                  std::vector<uint16_t>& keys, BlockingStats& stats, uint32_t min_row = 0) const;

  uint64_t block_count() const { return block_count_; }
  uint64_t capped_block_count() const { return capped_blocks_; }
  uint64_t rows_in_capped_blocks() const { return rows_in_capped_; }
  // Blocks over the cap, per key.
  const std::array<uint64_t, kBlockingKeyCount>& capped_by_key() const { return capped_by_key_; }

  // The key hashes of a row (0 where the row has no value for the key); exposed for tests.
  static std::array<uint64_t, kBlockingKeyCount> KeysOf(const RecordTable& table, uint32_t row,
                                                        const FeatureMask& use);
  static std::array<uint64_t, kBlockingKeyCount> KeysOf(const ProbeKeys& probe,
                                                        const FeatureMask& use);

 private:
  void Gather(const std::array<uint64_t, kBlockingKeyCount>& keys, uint32_t row, uint32_t min_row,
              std::vector<uint32_t>& out, std::vector<uint16_t>* key_masks,
              BlockingStats& stats) const;
  struct Slot {
    uint64_t key = 0;  // 0 = empty
    uint32_t start = 0;
    uint32_t count = 0;
  };
  const Slot* Find(uint64_t key) const;

  FeatureMask use_;
  size_t max_block_size_;
  std::vector<Slot> slots_;  // open addressing, power-of-two size
  std::vector<uint32_t> rows_;
  uint64_t block_count_ = 0;
  uint64_t capped_blocks_ = 0;
  uint64_t rows_in_capped_ = 0;
  std::array<uint64_t, kBlockingKeyCount> capped_by_key_{};
};

// ---------------------------------------------------------------------------------------------
// Fellegi-Sunter model

// m = P(level | same person), u = P(level | different people), per feature and level (level 0,
// null, is not modelled), and the prior share of matches among compared pairs. Versioned text
// form so that a trained model can be stored, reviewed and edited by hand.
struct Model {
  int version = 1;
  std::string note;  // free text kept with the model ("trained by EM on ...")
  // The probability that two records drawn at random are the same person.
  double prior = 0.01;
  FeatureMask use = kAllFeatures;
  // Term-frequency adjustment of the exact level, per feature.
  FeatureMask term_frequency{};
  // The address's parts and the phone count as one fact (see Scorer): for data where they are
  // not independent evidence (households share them; a move changes them together), as a
  // hand-set model has not learnt how much each is worth.
  bool contact_as_one = false;
  std::array<std::vector<double>, kFeatureCount> m;  // by level, size LevelCount(f)
  std::array<std::vector<double>, kFeatureCount> u;

  // A model with every level present and neutral (m == u).
  static Model Neutral();
  // A conservative hand-set model for use before any training: agreement levels share most of
  // m, disagreement most of u; names get the term-frequency adjustment; the address and phone
  // count as one fact. Prior 1e-4.
  static Model Starter();

  // The text form, one line per fact:
  //   onedoor-identity-model 1
  //   version 3
  //   note trained by EM on 41234 candidate pairs
  //   prior 0.132
  //   contact_as_one 1          (only when set)
  //   feature given_name use=1 tf=1
  //   level given_name exact m=0.87 u=0.0021
  //   ...
  std::string ToText() const;
  // Parses the text form. InvalidArgument names the line; FailedPrecondition if a used
  // feature lacks a level or has probabilities outside (0, 1].
  static core::StatusOr<Model> FromText(std::string_view text);
};

// The weight of one feature in a score, for explanations.
struct FieldWeight {
  Feature feature;
  std::string_view level;
  double weight = 0;  // log2(m / u), or the term-frequency adjusted weight
  bool term_frequency_adjusted = false;
};

struct Explanation {
  double prior_weight = 0;  // log2(prior / (1 - prior))
  std::vector<FieldWeight> fields;
  double total = 0;  // prior_weight + sum of field weights
  double probability = 0;
};

// Scores compared pairs with a model: the match weight is the prior log-odds plus, per feature,
// log2(m/u) of its level; an exact agreement on a feature with term-frequency adjustment uses
// log2(m_exact / p(value)) instead, where p(value) is the value's share of the table, never
// less than the feature's next level's weight. In a model with contact_as_one, the address's
// parts and the phone count as one fact: the weights of those that agree are scaled down to add up
// to the largest of them, and those that disagree to the most negative of them.
class Scorer {
 public:
  Scorer(const RecordTable& table, Model model);

  const Model& model() const { return model_; }
  // The match weight of a pair compared into `levels`. Term frequencies are those of the values
  // of `row`, either row of the pair: where the adjustment applies (exact agreement) both
  // hold the same value.
  double Weight(const Levels& levels, uint32_t row) const;
  double Weight(uint32_t a, uint32_t b) const { return Weight(Compare(a, b), a); }
  Levels Compare(uint32_t a, uint32_t b) const { return CompareRows(table_, a, b, model_.use); }
  Explanation Explain(uint32_t a, uint32_t b) const;
  // The explanation of a pair compared into `levels`; term frequencies are those of `row`.
  Explanation Explain(const Levels& levels, uint32_t row) const;

  static double Probability(double weight);
  static double WeightOfProbability(double probability);

 private:
  double ExactTermWeight(Feature f, uint32_t value) const;
  // Each feature's weight for `levels`, the contact features combined as above.
  void FieldWeights(const Levels& levels, uint32_t row, std::array<double, kFeatureCount>& w) const;

  const RecordTable& table_;
  Model model_;
  double prior_weight_ = 0;
  std::array<std::vector<double>, kFeatureCount> weight_;
  std::array<double, kFeatureCount> log2_m_exact_{};
};

// ---------------------------------------------------------------------------------------------
// Real-time matching

// The shared client index: every known record, indexed for matching one new record against
// all of them (at registration, at search). Rebuilt in memory from the records in the database;
// never a second source of truth.
class ClientIndex {
 public:
  struct Match {
    uint32_t row = 0;
    double weight = 0;
    double probability = 0;
  };

  // Indexes every row of `table`, which must outlive this index and not change while it is in
  // use; scores with `model`.
  ClientIndex(const RecordTable& table, Model model, size_t max_block_size = 100);

  // The rows that share a blocking key with `record`, scored, with probability at least
  // `min_probability`, best first, at most `limit`. Thread-safe (const).
  std::vector<Match> Find(const PersonRecord& record, size_t limit = 10,
                          double min_probability = 0) const;

  // Keeping up with changes without indexing every row again. The table may grow after the
  // index is built (RecordTable::Add); `IndexAdded` makes Find see every row added since, in a
  // small index of their own made again at each call; `Retire` hides a row for good (a record
  // replaced by a newer one). Scores use the table's value counts as they are at the time of
  // Find. Neither may run while a Find or another call runs.
  void IndexAdded();
  void Retire(uint32_t row);
  // Rows of the table added since the build.
  size_t added() const { return table_.size() - built_rows_; }

  const Scorer& scorer() const { return scorer_; }

 private:
  const RecordTable& table_;
  Scorer scorer_;
  BlockingIndex index_;
  size_t max_block_size_;
  size_t built_rows_;                     // the table's rows at the build
  std::unique_ptr<BlockingIndex> added_;  // rows added after the build; none until IndexAdded
  std::vector<bool> retired_;             // by row; rows past its end are not retired
};

// ---------------------------------------------------------------------------------------------
// Unsupervised estimation

// u from random pairs: `pairs` pairs drawn with `seed` from rows_a x rows_b (or, when rows_b is
// empty, from distinct pairs within rows_a). The exact level's u is computed from value counts
// instead, which is exact and cheap; the other levels share the rest in the sampled
// proportions. Levels never sampled get half a count.
Model EstimateU(const RecordTable& table, std::span<const uint32_t> rows_a,
                std::span<const uint32_t> rows_b, const FeatureMask& use, size_t pairs,
                uint64_t seed);

// m by expectation-maximisation over the comparison vectors of the candidate pairs: a
// two-class mixture with conditionally independent features, where the non-match class has
// its own free distribution (candidate pairs are not random pairs). Returns `model` with m
// replaced and prior set to the estimated share of matches among these pairs; u is left as
// given. `levels` holds one comparison vector per pair.
Model EstimateM(std::span<const Levels> levels, Model model, int max_iterations = 100);
// The same over distinct comparison vectors, each with the number of pairs that have it.
Model EstimateM(std::span<const std::pair<Levels, double>> patterns, Model model,
                int max_iterations = 100);

// The comparison vector EM learns from, for a pair found by the blocking keys `keys` (bit k
// for BlockingKey k): a feature that every one of those keys is made of is set to null. The
// pair was chosen because it agrees there, so its agreement says nothing about whether it is
// a match; were it counted, the pairs that one broad key brings (everyone with the same given
// name and family initial, say) could form a "class" of their own and EM would take it for
// the matches.
Levels SelectionFreeLevels(Levels levels, uint16_t keys);

// ---------------------------------------------------------------------------------------------
// Linking and clustering

struct MatchOptions {
  FeatureMask use = kAllFeatures;
  size_t max_block_size = 100;
  size_t random_pairs = 10000;
  uint64_t seed = 20240601;
  int em_iterations = 100;
  // Pairs at or above `link_probability` are linked automatically; pairs from
  // `review_probability` up to it go to the review queue.
  double link_probability = 0.5;
  double review_probability = 0.05;
  // Linking two tables: each record is linked to at most one of the other (best first).
  bool one_to_one = true;
  // Deduplicating: two clusters are not joined through one link if any pair across them
  // scores below this weight (clearly different people).
  double chain_guard_weight = -5.0;
  size_t chain_guard_max_checks = 256;
  // A model to score with (a stored one, perhaps edited by hand) instead of training one.
  std::optional<Model> model;
  // Threads that generate, compare and score the candidate pairs (0: one per core, at most 8).
  // The result does not depend on it.
  unsigned threads = 0;
  // When set, the candidate pairs (a, b) for which it holds are counted into
  // MatchResult::pairs_counted (an evaluation counts the true pairs that blocking let through).
  // Called from several threads at once.
  std::function<bool(uint32_t a, uint32_t b)> count_pairs_where;
};

struct ScoredPair {
  uint32_t a = 0;
  uint32_t b = 0;
  float weight = 0;
};

struct MatchResult {
  Model model;
  BlockingStats blocking;
  std::vector<ScoredPair> links;   // decided automatically
  std::vector<ScoredPair> review;  // for a person to decide
  // Cluster of each row of the table (rows not taking part have their own): rows with the
  // same cluster are the same person.
  std::vector<uint32_t> cluster;
  uint64_t merges_refused = 0;  // links the chaining guard refused
  uint64_t pairs_counted = 0;   // candidate pairs for which options.count_pairs_where held
};

// Links rows [0, split) with rows [split, table.size()): trains the model on these tables
// (unsupervised), scores the candidate pairs and keeps the best one-to-one links.
MatchResult LinkTables(const RecordTable& table, uint32_t split, const MatchOptions& options);

// Finds the records of the same person within `table` and clusters them.
MatchResult Deduplicate(const RecordTable& table, const MatchOptions& options);

}  // namespace identity
