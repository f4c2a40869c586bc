#include "eligibility/bulk.h"

#include <gtest/gtest.h>

#include <sstream>

#include "eligibility/decimal.h"

namespace eligibility {
namespace {

constexpr core::Date kToday{2026, 3, 1};

std::unique_ptr<RuleSet> LoadShipped() {
  std::string root = ONEDOOR_SOURCE_DIR;
  std::vector<std::string> warnings;
  auto rules = RuleSet::Load(
      {root + "/rules/inputs.yaml", root + "/rules/us", root + "/rules/demo"}, kToday, &warnings);
  EXPECT_TRUE(rules.ok()) << rules.status().message();
  return std::move(rules).value();
}

// Collects every batch given to a sink, checking they come in stream order.
struct Collected {
  std::vector<std::string> ids;
  std::vector<std::vector<ProgramOutcome>> results;  // per household, per program
  core::Status Add(const ScreenedBatch& b) {
    EXPECT_EQ(b.first, ids.size());
    for (size_t h = 0; h < b.ids.size(); ++h) {
      ids.push_back(b.ids[h]);
      results.emplace_back(b.results.begin() + h * b.programs,
                           b.results.begin() + (h + 1) * b.programs);
    }
    return core::Status::Ok();
  }
};

RowSource RowsOf(std::vector<BulkRow> rows) {
  auto all = std::make_shared<std::vector<BulkRow>>(std::move(rows));
  auto next = std::make_shared<size_t>(0);
  return [all, next](size_t max, std::vector<BulkRow>* out) {
    while (out->size() < max && *next < all->size()) out->push_back((*all)[(*next)++]);
    return core::Status::Ok();
  };
}

void ExpectSameAsScreen(const RuleSet& rules, core::Date as_of) {
  HouseholdGenerator gen(7);
  const uint64_t n = 300;
  std::vector<BulkRow> rows;
  for (uint64_t i = 0; i < n; ++i) rows.push_back(gen.Row(gen.Make(i), rules));

  BulkOptions options{.as_of = as_of, .threads = 2, .batch_size = 64};
  Collected from_rows;
  auto count = ScreenBulk(rules, options, RowFeed(RowsOf(rows)),
                          [&](const ScreenedBatch& b) { return from_rows.Add(b); });
  ASSERT_TRUE(count.ok()) << count.status().message();
  ASSERT_EQ(*count, n);

  Collected generated;  // the same households filled straight into the batches
  count = ScreenBulk(rules, options, gen.Feed(n),
                     [&](const ScreenedBatch& b) { return generated.Add(b); });
  ASSERT_TRUE(count.ok()) << count.status().message();

  std::map<Outcome, int> seen;
  for (uint64_t i = 0; i < n; ++i) {
    ASSERT_EQ(from_rows.ids[i], rows[i].id);
    ASSERT_EQ(generated.ids[i], rows[i].id);
    auto s = Screen(rules, rows[i].input, as_of);
    ASSERT_TRUE(s.ok()) << s.status().message();
    ASSERT_EQ(s->programs.size(), rules.programs().size());
    for (size_t p = 0; p < s->programs.size(); ++p) {
      const ProgramResult& want = s->programs[p];
      EXPECT_EQ(from_rows.results[i][p].outcome, want.outcome) << rows[i].id << " " << want.program;
      EXPECT_EQ(from_rows.results[i][p].amount, want.amount) << rows[i].id << " " << want.program;
      EXPECT_EQ(generated.results[i][p], from_rows.results[i][p])
          << rows[i].id << " " << want.program;
      ++seen[want.outcome];
    }
  }
  // The generated households reach every outcome a screening of complete-enough data can give.
  EXPECT_GT(seen[Outcome::kEligible], 100);
  EXPECT_GT(seen[Outcome::kNotEligible], 100);
  EXPECT_GT(seen[Outcome::kUnknown], 0);
}

TEST(ScreenBulk, GivesScreensOutcomesAndAmountsForGeneratedHouseholds) {
  auto rules = LoadShipped();
  ASSERT_GE(rules->programs().size(), 5u);
  ExpectSameAsScreen(*rules, {2026, 3, 1});
}

TEST(ScreenBulk, ProgramsNotYetInForceAreReportedSo) {
  auto rules = LoadShipped();
  // Before the winter fuel grant started (2024-11-01): not in force, as Screen says.
  ExpectSameAsScreen(*rules, {2024, 10, 15});
}

TEST(ScreenBulk, AnInvalidRowStopsTheScreeningAndNamesTheHousehold) {
  auto rules = LoadShipped();
  std::vector<BulkRow> rows(3);
  rows[0] = {"a", {{{"household_size", "2"}}, {}}};
  rows[1] = {"b", {{{"household_size", "two"}}, {}}};
  rows[2] = {"c", {{{"household_size", "1"}}, {}}};
  auto count =
      ScreenBulk(*rules, {.as_of = kToday, .threads = 2, .batch_size = 1}, RowFeed(RowsOf(rows)),
                 [](const ScreenedBatch&) { return core::Status::Ok(); });
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(count.status().message(), "household b: household_size: expected a number");
}

TEST(ScreenBulk, ASinkErrorStopsTheScreening) {
  auto rules = LoadShipped();
  HouseholdGenerator gen(1);
  int calls = 0;
  auto count =
      ScreenBulk(*rules, {.as_of = kToday, .threads = 2, .batch_size = 10}, gen.Feed(1000),
                 [&](const ScreenedBatch&) {
                   return ++calls == 3 ? core::Status::DataLoss("disk full") : core::Status::Ok();
                 });
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.status().message(), "disk full");
  EXPECT_EQ(calls, 3);
}

// ------------------------------------------------------------------ generator

TEST(HouseholdGenerator, IsDeterministicPerSeed) {
  auto rules = LoadShipped();
  HouseholdGenerator a(2026), b(2026), c(2027);
  std::ostringstream out_a, out_b, out_c;
  ASSERT_TRUE(a.WriteCsv(*rules, 500, out_a).ok());
  ASSERT_TRUE(b.WriteCsv(*rules, 500, out_b).ok());
  ASSERT_TRUE(c.WriteCsv(*rules, 500, out_c).ok());
  EXPECT_EQ(out_a.str(), out_b.str());
  EXPECT_NE(out_a.str(), out_c.str());
  // A household depends on the seed and its index only, not on what was made before.
  EXPECT_EQ(a.Row(a.Make(321), *rules).input.values, b.Row(b.Make(321), *rules).input.values);
}

TEST(HouseholdGenerator, MakesHouseholdsThatFitTogether) {
  HouseholdGenerator gen(11);
  int sizes[9] = {};
  int zero_earnings = 0, elderly = 0, missing_assets = 0, on_benefits = 0,
      benefits_not_answered = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    GeneratedHousehold h = gen.Make(i);
    ASSERT_GE(h.household_size, 1);
    ASSERT_LE(h.household_size, 8);
    ASSERT_EQ(h.member_count, h.household_size);
    ++sizes[h.household_size];
    bool any_elderly_or_disabled = false, any_adult = false;
    for (int m = 0; m < h.member_count; ++m) {
      const auto& x = h.members[m];
      ASSERT_GE(x.age, 0);
      ASSERT_LE(x.age, 100);
      any_adult |= x.age >= 18;
      any_elderly_or_disabled |= x.age >= 60 || x.is_disabled;
      if (x.is_pregnant || x.is_postpartum) {
        EXPECT_GE(x.age, 18);
        EXPECT_LE(x.age, 44);
      }
      if (x.age < 65 && x.is_medicare_entitled) {
        EXPECT_TRUE(x.is_disabled);
      }
    }
    EXPECT_TRUE(any_adult);
    EXPECT_EQ(h.has_elderly_or_disabled_member, any_elderly_or_disabled);
    EXPECT_GE(h.earned_income, 0);
    EXPECT_EQ(h.earned_income % (decimal::kScale / 100), 0);  // whole cents
    zero_earnings += h.earned_income == 0;
    elderly += any_elderly_or_disabled;
    missing_assets += !h.countable_assets;
    on_benefits += h.receives_qualifying_benefit.value_or(false);
    benefits_not_answered += !h.receives_qualifying_benefit;
  }
  EXPECT_GT(on_benefits, n / 10);
  EXPECT_GT(benefits_not_answered, 0);
  EXPECT_LT(benefits_not_answered, n / 10);
  EXPECT_GT(sizes[1] + sizes[2], n / 2);
  EXPECT_GT(sizes[8], 0);
  EXPECT_GT(zero_earnings, n / 5);
  EXPECT_LT(zero_earnings, n * 3 / 4);
  EXPECT_GT(elderly, n / 10);
  EXPECT_GT(missing_assets, 0);
  EXPECT_LT(missing_assets, n / 10);
}

// ------------------------------------------------------------------ CSV

core::StatusOr<std::vector<std::string>> ScreenCsv(
    const RuleSet& rules, const std::string& text,
    std::vector<std::vector<ProgramOutcome>>* results = nullptr) {
  std::istringstream in(text);
  ASSIGN_OR_RETURN(auto csv, HouseholdCsv::Open(in, "h.csv", {&rules}));
  Collected got;
  auto count = ScreenBulk(rules, {.as_of = kToday, .threads = 2, .batch_size = 2}, csv->Feed(),
                          [&](const ScreenedBatch& b) { return got.Add(b); });
  if (!count.ok()) return count.status();
  if (results) *results = got.results;
  return got.ids;
}

TEST(HouseholdCsv, ReadsHouseholdsAndMembersLikeScreen) {
  auto rules = LoadShipped();
  HouseholdGenerator gen(3);
  std::ostringstream csv;
  ASSERT_TRUE(gen.WriteCsv(*rules, 200, csv).ok());
  std::vector<std::vector<ProgramOutcome>> results;
  auto ids = ScreenCsv(*rules, csv.str(), &results);
  ASSERT_TRUE(ids.ok()) << ids.status().message();
  ASSERT_EQ(ids->size(), 200u);
  for (uint64_t i = 0; i < 200; ++i) {
    BulkRow row = gen.Row(gen.Make(i), *rules);
    EXPECT_EQ((*ids)[i], row.id);
    auto s = Screen(*rules, row.input, kToday);
    ASSERT_TRUE(s.ok());
    for (size_t p = 0; p < s->programs.size(); ++p) {
      EXPECT_EQ(results[i][p].outcome, s->programs[p].outcome) << row.id;
      EXPECT_EQ(results[i][p].amount, s->programs[p].amount) << row.id;
    }
  }
}

TEST(HouseholdCsv, QuotedFieldsBlankLinesAndEmptyCells) {
  auto rules = LoadShipped();
  std::vector<std::vector<ProgramOutcome>> results;
  auto ids = ScreenCsv(*rules,
                       "id,household_size,earned_income,unearned_income,countable_assets,"
                       "has_elderly_or_disabled_member,shelter_costs,member1.age,member2.age\r\n"
                       "\"Smith, J.\",1,1000,0,100,false,500,40,\r\n"
                       "\r\n"
                       "\"say \"\"hi\"\"\",2,,0,100,false,500,40,3\n",
                       &results);
  ASSERT_TRUE(ids.ok()) << ids.status().message();
  EXPECT_EQ(*ids, (std::vector<std::string>{"Smith, J.", "say \"hi\""}));
  int snap = rules->FindProgram("snap");
  EXPECT_EQ(results[0][snap].outcome, Outcome::kEligible);
  EXPECT_EQ(results[1][snap].outcome, Outcome::kUnknown);  // earned income not given
}

TEST(HouseholdCsv, ErrorsNameTheFileLineAndColumn) {
  auto rules = LoadShipped();
  auto err = [&](const std::string& text) {
    auto r = ScreenCsv(*rules, text);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(err("id,household_size,member1.age\nx,1,30\ny,2,\nz,1,old\n"),
            "h.csv:4: member1.age: expected a number");
  EXPECT_EQ(err("id,household_size\nx,1\n\ny,-3\n"), "h.csv:4: household_size: must be at least 1");
  EXPECT_EQ(err("id,household_size\nx,1,2\n"), "h.csv:2: 3 cells, but the header has 2 columns");
  EXPECT_EQ(err("id,household_size\n,1\n"), "h.csv:2: id: empty");
  EXPECT_EQ(err("id,household_size\n\"x,1\n"), "h.csv:2: unterminated quote");
  EXPECT_EQ(err("id,no_such_input\n"), "h.csv:1: no_such_input: unknown input");
  EXPECT_EQ(err("household_size\n1\n"), "h.csv:1: no id column");
  EXPECT_EQ(err("id,age\n"),
            "h.csv:1: age: a value for each member: name the columns member1.age, member2.age…");
  EXPECT_EQ(err("id,member1.household_size\n"),
            "h.csv:1: member1.household_size: household_size is a value for the household, not for "
            "a member");
  EXPECT_EQ(err("id,member1.age,member1.age\n"), "h.csv:1: member1.age: named twice");
  EXPECT_EQ(err(""), "h.csv:1: empty file: expected a header row");
}

TEST(CsvField, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvField("abc"), "abc");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  std::vector<std::string> cells;
  ASSERT_TRUE(SplitCsvLine("a,\"b,c\",,\"d\"\"e\"", &cells));
  EXPECT_EQ(cells, (std::vector<std::string>{"a", "b,c", "", "d\"e"}));
}

// ------------------------------------------------------------------ rule changes and take-up

constexpr char kInputs[] = R"(inputs:
  household_size: {type: integer, entity: household, label: Size, min: 1}
  income: {type: money, entity: household, period: month, label: Income, min: 0}
)";

std::string Program(const std::string& id, const std::string& test) {
  return "program: " + id + R"(
name: )" +
         id + R"(
agency: city-social
jurisdiction: Test
legal_basis: Test Act
version: "1"
currency: USD
effective_from: 2025-01-01
tests:
  - name: income
    condition: )" +
         test + R"(
    citation: Test Act s.1
    pass: Within.
    fail: Above.
)";
}

std::string Parameter(const std::string& name, const std::string& value,
                      const std::string& period = "") {
  return "  " + name + ":\n    label: L\n    type: money\n" +
         (period.empty() ? "" : "    period: " + period + "\n") +
         "    last_reviewed: 2026-01-01\n    values:\n      2025-01-01: {value: " + value +
         ", reference: \"Test Act\"}\n";
}

// Before: grant for income <= 1000 paying 100, bonus for income <= 1000.
// After: grant for income <= 1200 paying 120, bonus for income <= 800, and a new program.
std::unique_ptr<RuleSet> ChangeRules(bool after) {
  std::string params = "parameters:\n" +
                       Parameter("grant.limit", after ? "1200" : "1000", "month") +
                       Parameter("grant.amount", after ? "120" : "100") +
                       Parameter("bonus.limit", after ? "800" : "1000", "month");
  std::vector<std::pair<std::string, std::string>> files = {
      {"inputs.yaml", kInputs},
      {"params.yaml", params},
      {"grant.yaml",
       Program("grant", "income <= grant.limit") + "outcome:\n  amount: grant.amount\n"},
      {"bonus.yaml", Program("bonus", "income <= bonus.limit")}};
  if (after) files.push_back({"extra.yaml", Program("extra", "income <= 500")});
  std::vector<std::string> warnings;
  auto rules = RuleSet::LoadText(files, kToday, &warnings);
  EXPECT_TRUE(rules.ok()) << rules.status().message();
  return std::move(rules).value();
}

TEST(RuleChangeReport, ListsGainsLossesAndAmountChangesPerProgram) {
  auto before = ChangeRules(false);
  auto after = ChangeRules(true);
  std::istringstream in(
      "id,household_size,income\n"
      "h900,1,900\n"    // grant: eligible both, 100 → 120; bonus: lost
      "h1100,1,1100\n"  // grant: gained
      "h1300,1,1300\n"  // nothing changes
      "h400,1,400\n"    // grant 100 → 120; extra: gained (a program the old rules lack)
      "hnone,1,\n");    // unknown under both
  auto csv = HouseholdCsv::Open(in, "h.csv", {before.get(), after.get()});
  ASSERT_TRUE(csv.ok()) << csv.status().message();
  RuleChangeReport report(*before, *after);
  std::vector<ProgramChange> changes;
  auto count = ScreenBulkPair(*before, *after, {.as_of = kToday, .threads = 2, .batch_size = 2},
                              (*csv)->Feed(), [&](const ScreenedBatch& b, const ScreenedBatch& a) {
                                report.Add(b, a, &changes);
                                return core::Status::Ok();
                              });
  ASSERT_TRUE(count.ok()) << count.status().message();
  EXPECT_EQ(*count, 5u);
  std::string text = ChangesCsvHeader();
  AppendChangesCsv(changes, &text);
  EXPECT_EQ(text,
            "id,program,old_outcome,new_outcome,old_amount,new_amount,change\n"
            "h900,grant,eligible,eligible,100,120,amount\n"
            "h900,bonus,eligible,not_eligible,,,loss\n"
            "h1100,grant,not_eligible,eligible,,120,gain\n"
            "h400,grant,eligible,eligible,100,120,amount\n"
            "h400,extra,not_in_force,eligible,,,gain\n");
  ASSERT_EQ(report.counts().size(), 3u);
  const auto& grant = report.counts()[0];
  EXPECT_EQ(grant.program, "grant");
  EXPECT_EQ(grant.eligible_before, 2u);
  EXPECT_EQ(grant.eligible_after, 3u);
  EXPECT_EQ(grant.gains, 1u);
  EXPECT_EQ(grant.losses, 0u);
  EXPECT_EQ(grant.amount_up, 2u);
  EXPECT_EQ(TotalString(grant.amount_change), "160");  // +20 +20 +120
  const auto& bonus = report.counts()[1];
  EXPECT_EQ(bonus.program, "bonus");
  EXPECT_EQ(bonus.losses, 1u);
  EXPECT_EQ(bonus.gains, 0u);
  EXPECT_EQ(report.counts()[2].program, "extra");
  EXPECT_EQ(report.counts()[2].gains, 1u);
}

TEST(TotalString, FormatsLargeSums) {
  decimal::Int128 big =
      static_cast<decimal::Int128>(100'000'000'000) * 1'000'000'000 + 500'000;  // beyond int64
  EXPECT_EQ(TotalString(big), "100000000000000.5");
  EXPECT_EQ(TotalString(-1500000), "-1.5");
  EXPECT_EQ(TotalString(0), "0");
}

TEST(TakeUpReport, ListsEligibleHouseholdsNotEnrolled) {
  auto rules = ChangeRules(false);
  std::istringstream enrolled_in(
      "id,program,since\n"
      "h900,grant,2025-02-01\n"
      "h900,grant,2025-03-01\n"  // listed twice: counted once
      "h1300,grant,2024-01-01\n"
      "gone,bonus,2024-01-01\n"
      "h400,tanf,2025-01-01\n");
  auto enrolments = Enrolments::ReadCsv(enrolled_in, "enrolled.csv", *rules);
  ASSERT_TRUE(enrolments.ok()) << enrolments.status().message();
  EXPECT_EQ(enrolments->rows(), 5u);
  EXPECT_EQ(enrolments->unknown_programs().at("tanf"), 1u);
  std::istringstream in(
      "id,household_size,income\nh900,1,900\nh1300,1,1300\nh400,1,400\nhnone,1,\n");
  auto csv = HouseholdCsv::Open(in, "h.csv", {rules.get()});
  ASSERT_TRUE(csv.ok());
  TakeUpReport report(*rules, *enrolments);
  std::vector<TakeUpRow> rows;
  auto count = ScreenBulk(*rules, {.as_of = kToday, .threads = 2, .batch_size = 1}, (*csv)->Feed(),
                          [&](const ScreenedBatch& b) {
                            report.Add(b, &rows);
                            return core::Status::Ok();
                          });
  ASSERT_TRUE(count.ok());
  std::string text = TakeUpCsvHeader();
  AppendTakeUpCsv(rows, &text);
  EXPECT_EQ(text,
            "id,program,amount\n"
            "h900,bonus,\n"
            "h400,grant,100\n"
            "h400,bonus,\n");
  const auto& grant = report.counts()[0];
  EXPECT_EQ(grant.program, "grant");
  EXPECT_EQ(grant.eligible, 2u);
  EXPECT_EQ(grant.eligible_enrolled, 1u);
  EXPECT_EQ(grant.eligible_not_enrolled, 1u);
  EXPECT_EQ(grant.enrolled_not_eligible, 1u);  // h1300
  EXPECT_EQ(report.counts()[1].eligible_not_enrolled, 2u);
  EXPECT_EQ(report.EnrolledNotScreened(), 1u);  // "gone" (h400 is enrolled in tanf only)
}

TEST(Enrolments, ErrorsNameTheLine) {
  auto rules = ChangeRules(false);
  auto err = [&](const std::string& text) {
    std::istringstream in(text);
    auto r = Enrolments::ReadCsv(in, "e.csv", *rules);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(err("id,program\na,grant\n,grant\n"), "e.csv:3: id: empty");
  EXPECT_EQ(err("id,program\na,grant,x\n"), "e.csv:2: 3 cells, but the header has 2 columns");
  EXPECT_EQ(err("id,prog\n"), "e.csv:1: no program column");
  EXPECT_EQ(err("id,program\na,\n"), "e.csv:2: program: empty");
}

}  // namespace
}  // namespace eligibility
