#include "identity/matcher.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "identity/generate.h"
#include "identity/link_eval.h"

namespace identity {
namespace {

PersonRecord Person(std::string given, std::string family, std::string dob = "",
                    std::string postcode = "", std::string number = "") {
  PersonRecord r;
  r.given_name = std::move(given);
  r.family_name = std::move(family);
  r.date_of_birth = std::move(dob);
  r.postcode = std::move(postcode);
  r.street_number = std::move(number);
  return r;
}

uint8_t Level(Feature f, std::string_view name) { return *LevelByName(f, name); }

std::vector<uint32_t> Iota(size_t n) {
  std::vector<uint32_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint32_t>(i);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Comparison levels

TEST(CompareRows, GradesNamesFromExactToDisagreement) {
  RecordTable t;
  uint32_t a = t.Add(Person("Robert", "Smith"));
  uint32_t b = t.Add(Person("bob", "SMITH"));    // nickname, exact after folding
  uint32_t c = t.Add(Person("Robrt", "Smyth"));  // one deletion; one substitution
  uint32_t d = t.Add(Person("Roberto", "Schmidt"));
  uint32_t e = t.Add(Person("Xavier", "Quill"));
  Levels ab = CompareRows(t, a, b, kAllFeatures);
  EXPECT_EQ(ab[0], Level(Feature::kGivenName, "nickname"));
  EXPECT_EQ(ab[1], Level(Feature::kFamilyName, "exact"));
  Levels ac = CompareRows(t, a, c, kAllFeatures);
  EXPECT_EQ(ac[0], Level(Feature::kGivenName, "edit<=1"));
  EXPECT_EQ(ac[1], Level(Feature::kFamilyName, "edit<=1"));
  Levels ad = CompareRows(t, a, d, kAllFeatures);
  EXPECT_EQ(ad[0], Level(Feature::kGivenName, "edit<=1"));  // one insertion
  // smith / schmidt: Jaro-Winkler 0.79, but they share the metaphone code XMT.
  EXPECT_EQ(ad[1], Level(Feature::kFamilyName, "phonetic"));
  Levels ae = CompareRows(t, a, e, kAllFeatures);
  EXPECT_EQ(ae[0], kLevelElse);
  EXPECT_EQ(ae[1], kLevelElse);
}

TEST(CompareRows, MissingValuesAndUnusedFeaturesAreNull) {
  RecordTable t;
  uint32_t a = t.Add(Person("anna", "", "19800101"));
  uint32_t b = t.Add(Person("anna", "lee", "19800101"));
  FeatureMask use = kAllFeatures;
  use[static_cast<size_t>(Feature::kDateOfBirth)] = false;
  Levels l = CompareRows(t, a, b, use);
  EXPECT_EQ(l[static_cast<size_t>(Feature::kGivenName)], Level(Feature::kGivenName, "exact"));
  EXPECT_EQ(l[static_cast<size_t>(Feature::kFamilyName)], kLevelNull);
  EXPECT_EQ(l[static_cast<size_t>(Feature::kDateOfBirth)], kLevelNull);
  EXPECT_EQ(l[static_cast<size_t>(Feature::kPhone)], kLevelNull);
}

TEST(CompareRows, RecognisesGivenAndFamilyNamesSwapped) {
  RecordTable t;
  uint32_t a = t.Add(Person("natalia", "streich"));
  uint32_t b = t.Add(Person("streich", "natalia"));
  uint32_t c = t.Add(Person("streicj", "natalia"));  // swapped, with a typo
  EXPECT_EQ(CompareRows(t, a, b, kAllFeatures)[0], Level(Feature::kGivenName, "swapped"));
  EXPECT_EQ(CompareRows(t, a, b, kAllFeatures)[1], Level(Feature::kFamilyName, "swapped"));
  EXPECT_EQ(CompareRows(t, a, c, kAllFeatures)[0], Level(Feature::kGivenName, "swapped"));
}

TEST(CompareRows, GradesDatesIncludingDayMonthSwaps) {
  RecordTable t;
  uint32_t a = t.Add(Person("a", "b", "1985-03-04"));
  uint32_t b = t.Add(Person("a", "b", "04/03/1985"));  // the same date, day first
  uint32_t c = t.Add(Person("a", "b", "19850403"));    // day and month swapped
  uint32_t d = t.Add(Person("a", "b", "1985"));        // year only
  uint32_t e = t.Add(Person("a", "b", "19850304x"));   // unreadable: missing
  const size_t dob = static_cast<size_t>(Feature::kDateOfBirth);
  EXPECT_EQ(CompareRows(t, a, b, kAllFeatures)[dob], Level(Feature::kDateOfBirth, "exact"));
  EXPECT_EQ(CompareRows(t, a, c, kAllFeatures)[dob],
            Level(Feature::kDateOfBirth, "day_month_swapped"));
  EXPECT_EQ(CompareRows(t, a, d, kAllFeatures)[dob], Level(Feature::kDateOfBirth, "partial"));
  EXPECT_EQ(CompareRows(t, a, e, kAllFeatures)[dob], kLevelNull);
}

TEST(CompareRows, MatchesAddressLinesWrittenInEachOthersPlace) {
  RecordTable t;
  PersonRecord x = Person("a", "b");
  x.address_line1 = "lubuma place";
  x.address_line2 = "merewether public school";
  PersonRecord y = x;
  std::swap(y.address_line1, y.address_line2);
  y.address_line2 = "lubumaplace";  // and a space lost
  uint32_t a = t.Add(x), b = t.Add(y);
  Levels l = CompareRows(t, a, b, kAllFeatures);
  EXPECT_EQ(l[static_cast<size_t>(Feature::kAddressLine1)], Level(Feature::kAddressLine1, "exact"));
  EXPECT_EQ(l[static_cast<size_t>(Feature::kAddressLine2)], Level(Feature::kAddressLine2, "exact"));
}

TEST(CompareRows, NormalisesAddressesPhonesAndIdentifiersBeforeComparing) {
  RecordTable t;
  PersonRecord x = Person("a", "b");
  x.address_line1 = "12 Smith St";
  x.phone = "(02) 9876 5432";
  x.identifier = "046-454-286";
  PersonRecord y = Person("a", "b");
  y.address_line1 = "12 smith street";
  y.phone = "+61 2 9876 5432";
  y.identifier = "046 454 268";  // adjacent digits transposed
  uint32_t a = t.Add(x), b = t.Add(y);
  Levels l = CompareRows(t, a, b, kAllFeatures);
  EXPECT_EQ(l[static_cast<size_t>(Feature::kAddressLine1)], Level(Feature::kAddressLine1, "exact"));
  EXPECT_EQ(l[static_cast<size_t>(Feature::kPhone)], Level(Feature::kPhone, "exact"));
  EXPECT_EQ(l[static_cast<size_t>(Feature::kIdentifier)], Level(Feature::kIdentifier, "edit<=1"));
}

TEST(RecordTable, InternsEqualValuesAndCountsThem) {
  RecordTable t;
  t.Add(Person("Anna", "Lee"));
  t.Add(Person("anna", "Li"));
  t.Add(Person("ANNA", ""));
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.Value(0, Feature::kGivenName), t.Value(2, Feature::kGivenName));
  uint32_t anna = t.Value(0, Feature::kGivenName);
  EXPECT_EQ(t.Text(Feature::kGivenName, anna), "anna");
  EXPECT_EQ(t.Count(Feature::kGivenName, anna), 3u);
  EXPECT_EQ(t.NonNullCount(Feature::kFamilyName), 2u);
  EXPECT_EQ(t.Value(2, Feature::kFamilyName), 0u);
  EXPECT_EQ(t.DictionarySize(Feature::kFamilyName), 3u);  // missing, lee, li
}

// ---------------------------------------------------------------------------------------------
// Blocking

TEST(BlockingIndex, FindsRowsSharingAnyKey) {
  RecordTable t;
  t.Add(Person("anna", "lee", "19800101"));           // 0
  t.Add(Person("hannah", "leigh", "19800101"));       // 1: same date of birth
  t.Add(Person("anna", "lee", "19900101"));           // 2: same names
  t.Add(Person("zoe", "quill", "19700101", "2000"));  // 3: nothing shared
  std::vector<uint32_t> rows = {1, 2, 3};
  BlockingIndex index(t, rows, kAllFeatures, 100);
  std::vector<uint32_t> out;
  BlockingStats stats;
  index.Candidates(t, 0, out, stats);
  EXPECT_EQ(out, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(stats.pairs_compared, 2u);
  // Row 1 shares the date of birth with the family initial; row 2 two keys: names_phonetic
  // and given_name_family_prefix (not family_name_birth_year: another year).
  EXPECT_EQ(stats.pairs_generated, 3u);
  index.Candidates(t, 0, out, stats, 2);  // only rows from 2 on
  EXPECT_EQ(out, (std::vector<uint32_t>{2}));
}

TEST(BlockingIndex, LeavesBlocksOverTheCapOut) {
  RecordTable t;
  std::vector<uint32_t> rows;
  // Five people born the same day whose family names start alike, with nothing else in common.
  const char* given[] = {"anna", "bella", "chloe", "dana", "erin"};
  const char* family[] = {"smith", "stone", "sharp", "swan", "stark"};
  for (int i = 0; i < 5; ++i) rows.push_back(t.Add(Person(given[i], family[i], "19800101")));
  BlockingIndex capped(t, rows, kAllFeatures, 3);
  EXPECT_EQ(capped.capped_block_count(), 1u);
  EXPECT_EQ(capped.rows_in_capped_blocks(), 5u);
  std::vector<uint32_t> out;
  BlockingStats stats;
  capped.Candidates(t, 0, out, stats);
  EXPECT_TRUE(out.empty());
  BlockingIndex open(t, rows, kAllFeatures, 5);
  open.Candidates(t, 0, out, stats);
  EXPECT_EQ(out, (std::vector<uint32_t>{1, 2, 3, 4}));
}

TEST(BlockingIndex, ReportsWhichKeysFoundEachCandidateAndCountsPairsPerKey) {
  RecordTable t;
  t.Add(Person("anna", "lee", "19800101"));      // 0
  t.Add(Person("hannah", "leigh", "19800101"));  // 1: same date of birth only
  t.Add(Person("anna", "lee", "19900101"));      // 2: same names, another year
  std::vector<uint32_t> rows = {1, 2};
  BlockingIndex index(t, rows, kAllFeatures, 100);
  std::vector<uint32_t> out;
  std::vector<uint16_t> keys;
  BlockingStats stats;
  index.Candidates(t, 0, out, keys, stats);
  ASSERT_EQ(out, (std::vector<uint32_t>{1, 2}));
  auto bit = [](BlockingKey k) { return static_cast<uint16_t>(1u << static_cast<size_t>(k)); };
  // Row 1: the date of birth with the family initial "l" (anna/hannah differ).
  EXPECT_EQ(keys[0], bit(BlockingKey::kDateOfBirthFamilyInitial));
  EXPECT_EQ(keys[1], bit(BlockingKey::kNamesPhonetic) | bit(BlockingKey::kGivenNameFamilyPrefix));
  EXPECT_EQ(stats.pairs_by_key[static_cast<size_t>(BlockingKey::kDateOfBirthFamilyInitial)], 1u);
  EXPECT_EQ(stats.pairs_by_key[static_cast<size_t>(BlockingKey::kNamesPhonetic)], 1u);
  EXPECT_EQ(stats.pairs_by_key[static_cast<size_t>(BlockingKey::kGivenNameFamilyPrefix)], 1u);
  EXPECT_EQ(stats.pairs_generated, 3u);
  EXPECT_EQ(stats.pairs_compared, 2u);
  // The plain form finds the same rows.
  std::vector<uint32_t> plain;
  index.Candidates(t, 0, plain, stats);
  EXPECT_EQ(plain, out);
}

TEST(SelectionFreeLevels, HidesOnlyWhatEveryKeyOfThePairIsMadeOf) {
  Levels l{};
  for (size_t i = 0; i < kFeatureCount; ++i) l[i] = ExactLevel(static_cast<Feature>(i));
  auto bit = [](BlockingKey k) { return static_cast<uint16_t>(1u << static_cast<size_t>(k)); };
  const auto given = static_cast<size_t>(Feature::kGivenName);
  const auto family = static_cast<size_t>(Feature::kFamilyName);
  const auto dob = static_cast<size_t>(Feature::kDateOfBirth);
  const auto postcode = static_cast<size_t>(Feature::kPostcode);

  // Found only because given and family name agree: their agreement is no evidence.
  Levels names = SelectionFreeLevels(l, bit(BlockingKey::kGivenNameFamilyPrefix));
  EXPECT_EQ(names[given], kLevelNull);
  EXPECT_EQ(names[family], kLevelNull);
  EXPECT_EQ(names[dob], ExactLevel(Feature::kDateOfBirth));

  // Found by two keys: only what both are made of (the given name) is hidden.
  Levels two = SelectionFreeLevels(
      l, bit(BlockingKey::kGivenNameFamilyPrefix) | bit(BlockingKey::kGivenNamePostcode));
  EXPECT_EQ(two[given], kLevelNull);
  EXPECT_EQ(two[family], ExactLevel(Feature::kFamilyName));
  EXPECT_EQ(two[postcode], ExactLevel(Feature::kPostcode));

  // Found by keys with nothing in common: everything counts.
  EXPECT_EQ(SelectionFreeLevels(l, bit(BlockingKey::kDateOfBirthGivenInitial) |
                                       bit(BlockingKey::kIdentifier)),
            l);
  EXPECT_EQ(SelectionFreeLevels(l, 0), l);
}

TEST(BlockingIndex, IgnoredFeaturesMakeNoKeys) {
  RecordTable t;
  PersonRecord r = Person("anna", "lee", "19800101");
  r.identifier = "123";
  t.Add(r);
  FeatureMask use = kAllFeatures;
  use[static_cast<size_t>(Feature::kIdentifier)] = false;
  use[static_cast<size_t>(Feature::kDateOfBirth)] = false;
  auto keys = BlockingIndex::KeysOf(t, 0, use);
  EXPECT_EQ(keys[static_cast<size_t>(BlockingKey::kIdentifier)], 0u);
  EXPECT_EQ(keys[static_cast<size_t>(BlockingKey::kDateOfBirthGivenInitial)], 0u);
  EXPECT_EQ(keys[static_cast<size_t>(BlockingKey::kDateOfBirthFamilyInitial)], 0u);
  EXPECT_EQ(keys[static_cast<size_t>(BlockingKey::kFamilyNameBirthYear)], 0u);
  EXPECT_NE(keys[static_cast<size_t>(BlockingKey::kNamesPhonetic)], 0u);
}

// ---------------------------------------------------------------------------------------------
// Model, estimation and scoring

TEST(Model, TextFormRoundTrips) {
  Model m = Model::Neutral();
  m.version = 3;
  m.note = "edited by hand";
  m.prior = 0.00025;
  m.use[static_cast<size_t>(Feature::kPhone)] = false;
  m.term_frequency[static_cast<size_t>(Feature::kFamilyName)] = true;
  m.m[1][8] = 0.875;
  m.u[1][8] = 0.0031;
  auto parsed = Model::FromText(m.ToText());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->version, 3);
  EXPECT_EQ(parsed->note, "edited by hand");
  EXPECT_EQ(parsed->prior, 0.00025);
  EXPECT_EQ(parsed->use, m.use);
  EXPECT_EQ(parsed->term_frequency, m.term_frequency);
  EXPECT_EQ(parsed->m[1], m.m[1]);
  EXPECT_EQ(parsed->u[1][8], 0.0031);
}

TEST(Model, FromTextNamesTheWrongLine) {
  auto bad_header = Model::FromText("model 2\n");
  ASSERT_FALSE(bad_header.ok());
  EXPECT_EQ(bad_header.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_header.status().message(), "model line 1: expected 'onedoor-identity-model 1'");
  auto bad_level = Model::FromText(
      "onedoor-identity-model 1\nprior 0.1\nlevel given_name closeish m=0.5 u=0.5\n");
  ASSERT_FALSE(bad_level.ok());
  EXPECT_EQ(bad_level.status().message(), "model line 3: unknown level 'closeish' of given_name");
  auto bad_prior = Model::FromText("onedoor-identity-model 1\nprior 2\n");
  ASSERT_FALSE(bad_prior.ok());
  EXPECT_EQ(bad_prior.status().message(), "model line 2: prior must be a number between 0 and 1");
}

TEST(Model, FromTextRequiresEveryLevelOfAUsedFeature) {
  auto missing = Model::FromText(
      "onedoor-identity-model 1\nprior 0.1\nfeature region use=1 tf=0\n"
      "level region exact m=0.9 u=0.2\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(missing.status().message(), "model level region else needs m and u in (0, 1]");
  auto complete = Model::FromText(
      "onedoor-identity-model 1\nprior 0.1\nfeature region use=1 tf=0\n"
      "level region else m=0.1 u=0.8\nlevel region exact m=0.9 u=0.2\n");
  ASSERT_TRUE(complete.ok()) << complete.status().ToString();
  EXPECT_TRUE(complete->use[static_cast<size_t>(Feature::kRegion)]);
  EXPECT_FALSE(complete->use[static_cast<size_t>(Feature::kGivenName)]);
}

TEST(EstimateU, ComputesExactAgreementFromValueCounts) {
  RecordTable t;
  for (const char* family : {"lee", "lee", "kim", "wu"}) t.Add(Person("", family));
  std::vector<uint32_t> rows = {0, 1, 2, 3};
  FeatureMask use{};
  use[static_cast<size_t>(Feature::kFamilyName)] = true;
  Model m = EstimateU(t, rows, {}, use, 0, 1);
  // Pairs agreeing by chance: 2 ordered pairs (lee, lee) of 12.
  EXPECT_DOUBLE_EQ(m.u[1][8], 2.0 / 12.0);
  double total = 0;
  for (size_t l = 1; l < m.u[1].size(); ++l) total += m.u[1][l];
  EXPECT_NEAR(total, 1.0, 1e-12);
  // Linking {lee, lee} with {lee, kim}: 2 of 4 cross pairs agree.
  std::vector<uint32_t> left = {0, 1}, right = {1, 2};
  EXPECT_DOUBLE_EQ(EstimateU(t, left, right, use, 0, 1).u[1][8], 0.5);
}

TEST(EstimateM, RecoversAKnownMixture) {
  // Three features used with two levels each (else, exact), on comparison vectors laid out
  // exactly as a mixture with prior 0.2, m(exact) = 0.9, 0.8, 0.85 and u(exact) = 0.1, 0.05,
  // 0.02. (Three binary features are the fewest for which such a mixture is identifiable.)
  const std::array<Feature, 3> features = {Feature::kRegion, Feature::kGivenName,
                                           Feature::kFamilyName};
  const double m_exact[3] = {0.9, 0.8, 0.85}, u_exact[3] = {0.1, 0.05, 0.02};
  std::vector<Levels> levels;
  for (int pattern = 0; pattern < 8; ++pattern) {
    double pm = 0.2, pu = 0.8;
    Levels l{};
    for (size_t k = 0; k < 3; ++k) {
      bool exact = (pattern >> k) & 1;
      pm *= exact ? m_exact[k] : 1 - m_exact[k];
      pu *= exact ? u_exact[k] : 1 - u_exact[k];
      l[static_cast<size_t>(features[k])] = exact ? ExactLevel(features[k]) : kLevelElse;
    }
    auto count = static_cast<size_t>(std::lround(1000000 * (pm + pu)));
    levels.insert(levels.end(), count, l);
  }
  Model start = Model::Neutral();
  start.use = {};
  for (Feature f : features) start.use[static_cast<size_t>(f)] = true;
  Model m = EstimateM(levels, start, 1000);
  EXPECT_NEAR(m.prior, 0.2, 0.005);
  for (size_t k = 0; k < 3; ++k) {
    size_t f = static_cast<size_t>(features[k]);
    EXPECT_NEAR(m.m[f][ExactLevel(features[k])], m_exact[k], 0.005) << FeatureName(features[k]);
    EXPECT_NEAR(m.m[f][kLevelElse], 1 - m_exact[k], 0.005) << FeatureName(features[k]);
  }
  EXPECT_EQ(m.u[1], start.u[1]);  // u is not EM's to change
}

TEST(Scorer, ExplainsEveryScoreAsPerFieldWeights) {
  RecordTable t;
  uint32_t a = t.Add(Person("anna", "lee", "19800101"));
  uint32_t b = t.Add(Person("anna", "leigh", "19800101"));
  Model model = Model::Neutral();
  model.prior = 0.001;
  model.m[1] = {0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.3};  // family name
  model.u[1] = {0, 0.8, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.01};
  Scorer scorer(t, model);
  Explanation e = scorer.Explain(a, b);
  double sum = e.prior_weight;
  for (const FieldWeight& f : e.fields) sum += f.weight;
  EXPECT_DOUBLE_EQ(e.total, sum);
  EXPECT_DOUBLE_EQ(e.total, scorer.Weight(a, b));
  EXPECT_DOUBLE_EQ(e.prior_weight, std::log2(0.001 / 0.999));
  EXPECT_EQ(e.fields[1].feature, Feature::kFamilyName);
  EXPECT_EQ(e.fields[1].level, "phonetic");  // lee / leigh: both L, Jaro-Winkler 0.81
  EXPECT_DOUBLE_EQ(e.fields[1].weight, std::log2(0.1 / 0.05));
  EXPECT_DOUBLE_EQ(e.probability, Scorer::Probability(e.total));
}

TEST(Scorer, WeighsAgreementOnACommonNameLessThanOnARareOne) {
  RecordTable t;
  for (int i = 0; i < 8; ++i) t.Add(Person("", "smith"));
  uint32_t z1 = t.Add(Person("", "zyzzyva"));
  uint32_t z2 = t.Add(Person("", "zyzzyva"));
  Model model = Model::Neutral();
  model.use = {};
  model.use[1] = true;
  model.term_frequency[1] = true;
  model.m[1][8] = 0.9;
  model.u[1][8] = 0.5;
  Scorer scorer(t, model);
  Explanation common = scorer.Explain(0, 1), rare = scorer.Explain(z1, z2);
  EXPECT_TRUE(common.fields[0].term_frequency_adjusted);
  EXPECT_DOUBLE_EQ(common.fields[0].weight, std::log2(0.9 / 0.8));  // smith: 8 of 10
  EXPECT_DOUBLE_EQ(rare.fields[0].weight, std::log2(0.9 / 0.2));    // zyzzyva: 2 of 10
}

TEST(Scorer, ConvertsBetweenWeightsAndProbabilities) {
  EXPECT_DOUBLE_EQ(Scorer::Probability(0), 0.5);
  EXPECT_DOUBLE_EQ(Scorer::Probability(Scorer::WeightOfProbability(0.9)), 0.9);
  EXPECT_DOUBLE_EQ(Scorer::WeightOfProbability(0.8), 2.0);
}

// ---------------------------------------------------------------------------------------------
// Linking and clustering, small

TEST(Deduplicate, ClustersTheSamePersonAndKeepsOthersApart) {
  RecordTable t;
  std::vector<PersonRecord> people;
  // Twenty different people, and two more records of the first.
  for (int i = 0; i < 20; ++i) {
    PersonRecord r = Person("given" + std::string(1, static_cast<char>('a' + i)),
                            "family" + std::string(1, static_cast<char>('a' + i)),
                            "19" + std::to_string(50 + i) + "0" + std::to_string(1 + i % 9) + "1" +
                                std::to_string(i % 10),
                            std::to_string(2000 + i * 7), std::to_string(i + 1));
    r.identifier = std::to_string(1000000 + i * 7919);
    people.push_back(r);
  }
  PersonRecord dup1 = people[0], dup2 = people[0];
  dup1.given_name = "givena";
  dup1.family_name = "famliya";  // transposition
  dup2.identifier.clear();
  dup2.postcode = "2001";  // one digit off
  people.push_back(dup1);
  people.push_back(dup2);
  for (const PersonRecord& p : people) t.Add(p);
  MatchOptions options;
  options.random_pairs = 2000;
  MatchResult r = Deduplicate(t, options);
  EXPECT_EQ(r.cluster[20], r.cluster[0]);
  EXPECT_EQ(r.cluster[21], r.cluster[0]);
  for (uint32_t i = 1; i < 20; ++i) EXPECT_NE(r.cluster[i], r.cluster[0]) << i;
}

TEST(Deduplicate, GivesTheSameResultOnOneThreadAsOnSeveral) {
  GeneratorOptions g;
  g.records = 3000;
  g.seed = 11;
  RecordTable t;
  for (const GeneratedRecord& r : GenerateRecords(g)) t.Add(r.record);
  MatchOptions one, three;
  one.threads = 1;
  three.threads = 3;
  MatchResult a = Deduplicate(t, one), b = Deduplicate(t, three);
  EXPECT_EQ(a.cluster, b.cluster);
  ASSERT_EQ(a.links.size(), b.links.size());
  for (size_t i = 0; i < a.links.size(); ++i) {
    EXPECT_EQ(a.links[i].a, b.links[i].a);
    EXPECT_EQ(a.links[i].b, b.links[i].b);
    EXPECT_EQ(a.links[i].weight, b.links[i].weight);
  }
  EXPECT_EQ(a.model.ToText(), b.model.ToText());
  EXPECT_EQ(a.blocking.pairs_compared, b.blocking.pairs_compared);
  EXPECT_EQ(a.blocking.pairs_by_key, b.blocking.pairs_by_key);
  EXPECT_GT(a.links.size(), 500u);
}

TEST(Deduplicate, CountsTheCandidatePairsAPredicateSelects) {
  GeneratorOptions g;
  g.records = 2000;
  g.seed = 5;
  std::vector<GeneratedRecord> records = GenerateRecords(g);
  RecordTable t;
  for (const GeneratedRecord& r : records) t.Add(r.record);
  MatchOptions options;
  options.count_pairs_where = [&](uint32_t a, uint32_t b) {
    return records[a].entity == records[b].entity;
  };
  MatchResult r = Deduplicate(t, options);
  // Count the true pairs among the candidates the slow way.
  BlockingIndex index(t, Iota(t.size()), kAllFeatures, options.max_block_size);
  BlockingStats ignored;
  std::vector<uint32_t> out;
  uint64_t expected = 0;
  for (uint32_t a = 0; a < t.size(); ++a) {
    index.Candidates(t, a, out, ignored, a + 1);
    for (uint32_t b : out) expected += records[a].entity == records[b].entity;
  }
  EXPECT_EQ(r.pairs_counted, expected);
  EXPECT_GT(expected, 500u);
}

// ---------------------------------------------------------------------------------------------
// Real-time matching

// A plausible hand-made model: agreement is likely for the same person, rare by chance.
Model HandModel() {
  Model model = Model::Neutral();
  model.prior = 1e-3;
  for (size_t i = 0; i < kFeatureCount; ++i) {
    size_t n = model.m[i].size();
    for (size_t l = 1; l < n; ++l) {
      model.m[i][l] = 0.1 / static_cast<double>(n - 2);
      model.u[i][l] = 0.05 / static_cast<double>(n - 2);
    }
    model.m[i][n - 1] = 0.85;
    model.m[i][kLevelElse] = 0.05;
    model.u[i][n - 1] = 0.01;
    model.u[i][kLevelElse] = 0.94;
  }
  return model;
}

std::vector<PersonRecord> SmallPopulation() {
  std::vector<PersonRecord> people;
  const char* given[] = {"anna", "ben", "chloe", "dev", "ella", "finn", "grace", "hugo"};
  const char* family[] = {"lee", "nguyen", "smith", "khan", "brown", "wilson", "taylor", "ito"};
  for (int i = 0; i < 8; ++i) {
    PersonRecord r = Person(given[i], family[i], "19" + std::to_string(60 + i) + "0612",
                            std::to_string(3000 + i), std::to_string(10 + i));
    r.locality = "springvale";
    r.identifier = std::to_string(5550000 + 37 * i);
    people.push_back(r);
  }
  return people;
}

TEST(RecordTable, ProbeLooksValuesUpWithoutAddingThem) {
  RecordTable t;
  for (const PersonRecord& p : SmallPopulation()) t.Add(p);
  ProbeKeys probe = t.Probe(Person("Anna", "Zed"));
  EXPECT_EQ(probe.value[0], t.Value(0, Feature::kGivenName));
  EXPECT_EQ(probe.value[1], ProbeKeys::kUnseen);
  EXPECT_EQ(probe.text[1], "zed");
  EXPECT_EQ(probe.value[static_cast<size_t>(Feature::kDateOfBirth)], 0u);  // missing
  EXPECT_EQ(t.size(), 8u);
  EXPECT_EQ(t.Find(Feature::kFamilyName, "zed"), ProbeKeys::kUnseen);
  EXPECT_EQ(t.Find(Feature::kFamilyName, ""), 0u);
}

TEST(CompareProbe, AgreesWithCompareRows) {
  RecordTable t;
  std::vector<PersonRecord> people = SmallPopulation();
  for (const PersonRecord& p : people) t.Add(p);
  PersonRecord changed = people[2];
  changed.family_name = "smyth";
  changed.date_of_birth = "19620621";
  uint32_t row = t.Add(changed);
  ProbeKeys probe = t.Probe(changed);
  EXPECT_EQ(CompareProbe(t, probe, 2, kAllFeatures), CompareRows(t, row, 2, kAllFeatures));
}

TEST(ClientIndex, FindsTheSamePersonFirstDespiteTypos) {
  RecordTable t;
  for (const PersonRecord& p : SmallPopulation()) t.Add(p);
  ClientIndex index(t, HandModel());
  PersonRecord probe = SmallPopulation()[5];
  probe.given_name = "Fin";
  probe.family_name = "Wilsen";
  probe.identifier.clear();
  std::vector<ClientIndex::Match> found = index.Find(probe, 3);
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found[0].row, 5u);
  EXPECT_GT(found[0].probability, 0.99);
  for (size_t i = 1; i < found.size(); ++i) EXPECT_LT(found[i].probability, 0.01);
  EXPECT_LE(found.size(), 3u);
}

TEST(ClientIndex, FindsNobodyForAStranger) {
  RecordTable t;
  for (const PersonRecord& p : SmallPopulation()) t.Add(p);
  ClientIndex index(t, HandModel());
  EXPECT_TRUE(index.Find(Person("zoe", "quill", "20010101", "9999", "1"), 10, 0.5).empty());
}

// A household: two adults and a child at one address with one phone, among neighbours.
std::vector<PersonRecord> Household() {
  std::vector<PersonRecord> people;
  const char* given[] = {"ethan", "sarah", "lily", "omar", "ruth", "tariq"};
  const char* family[] = {"cohen", "cohen", "cohen", "haddad", "okafor", "malik"};
  const char* dob[] = {"19570603", "19600202", "19991111", "19720415", "19850930", "19900101"};
  for (int i = 0; i < 6; ++i) {
    PersonRecord r = Person(given[i], family[i], dob[i], i < 3 ? "7972" : "7973",
                            i < 3 ? "70" : std::to_string(10 + i));
    r.address_line1 = i < 3 ? "quay lane" : "harbour road";
    r.locality = "riverside";
    r.region = "north";
    r.phone = i < 3 ? "0489173936" : "04000000" + std::to_string(10 + i);
    people.push_back(r);
  }
  return people;
}

TEST(StarterModel, FindsThePersonAfterAMoveButNotTheirHousehold) {
  RecordTable t;
  for (const PersonRecord& p : Household()) t.Add(p);
  ClientIndex index(t, Model::Starter());

  // Ethan, moved across town with a new phone: his name and date of birth still find him.
  PersonRecord moved = Person("ethan", "cohen", "19570603", "8001", "12");
  moved.address_line1 = "harbour road";
  moved.locality = "portside";
  moved.phone = "0400111222";
  std::vector<ClientIndex::Match> found = index.Find(moved, 3);
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found[0].row, 0u);
  // Found well above the 5% below which the registration page does not show a candidate (in
  // this small table his family name is half the people's, so it counts for little).
  EXPECT_GT(found[0].probability, 0.2);

  // Someone else moving in at the household's address with its phone is none of them.
  PersonRecord lodger = Person("maria", "lopez", "19800101", "7972", "70");
  lodger.address_line1 = "quay lane";
  lodger.locality = "riverside";
  lodger.region = "north";
  lodger.phone = "0489173936";
  for (const ClientIndex::Match& m : index.Find(lodger, 10)) EXPECT_LT(m.probability, 0.05);

  // Nor is a new member of the household who shares its family name.
  PersonRecord newborn = lodger;
  newborn.given_name = "noah";
  newborn.family_name = "cohen";
  newborn.date_of_birth = "20260101";
  for (const ClientIndex::Match& m : index.Find(newborn, 10)) EXPECT_LT(m.probability, 0.05);

  // The address and phone agreeing count once in the explanation, which still adds up.
  Explanation e = index.scorer().Explain(0, 1);
  double contact = 0, sum = e.prior_weight;
  for (const FieldWeight& fw : e.fields) {
    sum += fw.weight;
    if (fw.feature != Feature::kGivenName && fw.feature != Feature::kFamilyName &&
        fw.feature != Feature::kDateOfBirth && fw.feature != Feature::kIdentifier) {
      contact += fw.weight;
    }
  }
  EXPECT_NEAR(sum, e.total, 1e-9);
  const Model& starter = index.scorer().model();
  const size_t phone = static_cast<size_t>(Feature::kPhone);
  EXPECT_NEAR(contact, std::log2(starter.m[phone].back() / starter.u[phone].back()), 1e-9);
  EXPECT_LT(e.probability, 0.05);
}

TEST(StarterModel, CountsContactAsOneOnlyWhenTheModelSaysSo) {
  RecordTable t;
  for (const PersonRecord& p : Household()) t.Add(p);
  Model independent = Model::Starter();
  independent.contact_as_one = false;
  Scorer as_one(t, Model::Starter()), apart(t, independent);
  // Ethan and Sarah agree on six contact features: counted apart they make a certain match.
  EXPECT_GT(apart.Explain(0, 1).probability, 0.99);
  EXPECT_LT(as_one.Explain(0, 1).probability, 0.05);

  auto text = Model::Starter().ToText();
  EXPECT_NE(text.find("\ncontact_as_one 1\n"), std::string::npos);
  auto back = Model::FromText(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->contact_as_one);
  EXPECT_EQ(independent.ToText().find("contact_as_one"), std::string::npos);
  auto bad = Model::FromText("onedoor-identity-model 1\ncontact_as_one yes\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "model line 2: contact_as_one must be 0 or 1");
}

// ---------------------------------------------------------------------------------------------
// FEBRL (third_party/febrl): the client index's goals, measured end to end.

std::string FebrlFile(const char* name) { return std::string(ONEDOOR_FEBRL_DIR) + "/" + name; }

bool HaveFebrl() {
  return std::filesystem::exists(FebrlFile("dataset3.csv")) &&
         std::filesystem::exists(FebrlFile("dataset4a.csv")) &&
         std::filesystem::exists(FebrlFile("dataset4b.csv"));
}

// Generous against the measured 0.1-0.15 s (RelWithDebInfo -O2), so that a sanitizer build or
// a busy machine still passes; the 0.25 s goal is measured with link_eval.
constexpr double kSecondsBound = 5.0;

TEST(Matcher, LinksFebrl4WithAllFields) {
  ASSERT_TRUE(HaveFebrl()) << "FEBRL data not found in " << ONEDOOR_FEBRL_DIR;
  auto report = EvaluateFebrl({FebrlFile("dataset4a.csv"), FebrlFile("dataset4b.csv")}, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->pairs.true_pairs, 5000u);
  EXPECT_GE(report->pairs.f1, 0.9999);  // goal 0.999; measured 1.0 (5000 of 5000, no error)
  EXPECT_GE(report->pairs.precision, 0.9999);
  EXPECT_GE(report->clusters.f1, 0.999);
  EXPECT_LT(report->blocking.pairs_compared, 20000u);
  EXPECT_LT(report->seconds, kSecondsBound);
}

TEST(Matcher, LinksFebrl4WithoutTheSocialSecurityNumber) {
  ASSERT_TRUE(HaveFebrl()) << "FEBRL data not found in " << ONEDOOR_FEBRL_DIR;
  MatchOptions options;
  options.use[static_cast<size_t>(Feature::kIdentifier)] = false;
  auto report = EvaluateFebrl({FebrlFile("dataset4a.csv"), FebrlFile("dataset4b.csv")}, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_GE(report->pairs.f1, 0.9995);  // goal 0.995; measured 0.9999 (one pair not blocked)
  EXPECT_GE(report->pairs.precision, 0.9995);
  EXPECT_FALSE(report->model.use[static_cast<size_t>(Feature::kIdentifier)]);
  EXPECT_LT(report->seconds, kSecondsBound);
}

TEST(Matcher, DeduplicatesFebrl3) {
  ASSERT_TRUE(HaveFebrl()) << "FEBRL data not found in " << ONEDOOR_FEBRL_DIR;
  auto report = EvaluateFebrl({FebrlFile("dataset3.csv")}, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->pairs.true_pairs, 6538u);
  EXPECT_GE(report->pairs.f1, 0.9995);  // goal 0.995; measured 0.99969
  EXPECT_GE(report->pairs.precision, 0.9995);
  EXPECT_GE(report->clusters.f1, 0.998);
  EXPECT_LT(report->seconds, kSecondsBound);
}

}  // namespace
}  // namespace identity
