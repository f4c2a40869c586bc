#include "eligibility/rule_set.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "eligibility/evaluator.h"
#include "eligibility/rule_tests.h"
#include "eligibility/screening.h"

namespace eligibility {
namespace {

const core::Date kToday{2026, 12, 1};

// The inputs and parameters every golden case can use.
constexpr char kBase[] = R"(inputs:
  a: {type: money, entity: household, period: month, label: A}
  b: {type: money, entity: household, period: month, label: B}
  y: {type: money, entity: household, period: year, label: Y}
  cash: {type: money, entity: household, label: Cash}
  n: {type: integer, entity: household, label: N, min: 1}
  flag: {type: boolean, entity: household, label: Flag}
  when: {type: date, entity: household, label: When}
  housing: {type: enum, values: [renter, owner, homeless], entity: household, label: Housing}
  age: {type: integer, entity: person, label: Age}
  disabled: {type: boolean, entity: person, label: Disabled, default: false}
  pay: {type: money, entity: person, period: month, label: Pay}
parameters:
  t.limit:
    label: Limit
    type: money
    period: month
    breakdown: n
    last_reviewed: 2025-01-01
    values:
      2025-01-01: {value: {1: 1000, 2: 1500, 3: 1750, 4: 2000, additional: 300}, reference: "test A"}
      2025-07-01: {value: {1: 1100, 2: 1600, 3: 1850, 4: 2100, additional: 300}, reference: "test B"}
  t.rate:
    label: Rate
    type: number
    last_reviewed: 2025-01-01
    values:
      2025-01-01: {value: 0.3, reference: "test C"}
  t.tax:
    label: Tax
    type: number
    brackets: true
    last_reviewed: 2025-01-01
    values:
      2025-01-01: {value: [{threshold: 0, value: 0}, {threshold: 1000, value: 0.1}, {threshold: 2000, value: 0.2}], reference: "test D"}
  t.grant:
    label: Grant
    type: money
    last_reviewed: 2025-01-01
    values:
      2025-01-01: {value: 150, reference: "test E"}
      2026-04-01: null
)";

// Builds a program whose variable `out` (of `type`) has `formula`, written as a block scalar
// from line `kFormulaLine` at column 7.
constexpr int kFormulaLine = 14;
std::string ProgramWith(const std::string& type, const std::string& formula) {
  std::string indented;
  std::istringstream in(formula);
  std::string line;
  while (std::getline(in, line)) indented += "      " + line + "\n";
  return fmt::format(R"(program: p
name: P
agency: x
jurisdiction: J
legal_basis: L
version: "1"
currency: USD
variables:
  out:
    {}
    entity: household
    label: Out
    formula: |
{}tests:
  - {{name: t, condition: "true", citation: C, pass: ok, fail: no}}
)",
                     type, indented);
}

std::string TypeLine(const std::string& spec) {
  // "money month" → "type: money, period: month" as YAML flow-free lines.
  std::istringstream in(spec);
  std::string type, period;
  in >> type >> period;
  std::string out = "type: " + type;
  out += period.empty() ? "\n    description: golden" : "\n    period: " + period;
  return out;
}

// Runs the cases of testdata/expressions.golden. Each case is
//   eval TYPE [PERIOD] [| as_of=DATE] [| name=value ...] [| member name=value ...]...
//   FORMULA LINES
//   ----
//   EXPECTED (the value, "unknown: missing a, b", "error: ..."; or for `error` cases the
//             load error with the formula's own line:column)
std::string RunCase(const std::string& header, const std::string& formula) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t bar = header.find('|', start);
    parts.push_back(header.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  auto trim = [](std::string s) {
    while (!s.empty() && s.front() == ' ') s.erase(s.begin());
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
  };
  std::string kind_type = trim(parts[0]);
  std::string kind = kind_type.substr(0, kind_type.find(' '));
  std::string type = trim(kind_type.substr(kind.size()));
  std::vector<std::string> warnings;
  auto rules = RuleSet::LoadText({{"base.yaml", kBase}, {"p.yaml", ProgramWith(TypeLine(type), formula)}}, kToday, &warnings);
  if (!rules.ok()) {
    std::string m = rules.status().message();
    // "the rules have 1 problem:\np.yaml:14:9: message" → "2:3: message" (formula line:col).
    size_t nl = m.find('\n');
    std::string first = nl == std::string::npos ? m : m.substr(nl + 1);
    first = first.substr(0, first.find('\n'));
    if (first.rfind("p.yaml:", 0) == 0) {
      int line = 0, col = 0;
      if (std::sscanf(first.c_str(), "p.yaml:%d:%d:", &line, &col) == 2) {
        size_t msg = first.find(": ");
        return fmt::format("error {}:{}: {}", line - kFormulaLine, col - 6, first.substr(msg + 2));
      }
    }
    return "error " + first;
  }
  if (kind == "error") return "loaded without error";
  HouseholdInput input;
  core::Date as_of{2025, 10, 1};
  for (size_t i = 1; i < parts.size(); ++i) {
    std::istringstream words(trim(parts[i]));
    std::string w;
    HouseholdInput::Values* target = &input.values;
    bool first = true;
    while (words >> w) {
      if (first && w == "member") {
        input.members.emplace_back();
        target = &input.members.back();
        first = false;
        continue;
      }
      first = false;
      size_t eq = w.find('=');
      std::string name = w.substr(0, eq), value = w.substr(eq + 1);
      if (name == "as_of") {
        as_of = *core::Date::Parse(value);
      } else {
        target->emplace_back(name, value);
      }
    }
  }
  const RuleSet& rs = **rules;
  Batch batch(rs);
  if (auto s = batch.Add(input); !s.ok()) return "input error " + s.message();
  Evaluator ev(rs);
  ev.Run(batch, as_of);
  int out = rs.FindSymbol("out");
  const Column& c = ev.Symbol(out);
  if (c.s[0] == kKnown) return RawValue(rs, rs.symbols()[out].type, -1, c.v[0]);
  if (c.s[0] == kUnknown) {
    std::vector<int> missing;
    ev.Missing(ev.ActiveFormula(out), 0, &missing);
    std::string list;
    for (int m : missing) list += (list.empty() ? "" : ", ") + rs.symbols()[m].name;
    return "unknown: missing " + list;
  }
  std::string e = ev.ErrorAt(ev.ActiveFormula(out), 0);
  // Drop the file position, keep the message.
  size_t colon = e.find(": ");
  return "error: " + (colon == std::string::npos ? e : e.substr(colon + 2));
}

TEST(RuleSetGolden, ExpressionsParseTypeCheckAndEvaluate) {
  std::ifstream in(std::string(ONEDOOR_SOURCE_DIR) + "/src/eligibility/testdata/expressions.golden");
  ASSERT_TRUE(in) << "missing testdata";
  std::string line;
  int line_no = 0;
  int cases = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    int case_line = line_no;
    std::string header = line, formula, expected;
    while (std::getline(in, line) && line != "----") {
      ++line_no;
      formula += line + "\n";
    }
    ++line_no;
    std::getline(in, expected);
    ++line_no;
    EXPECT_EQ(RunCase(header, formula), expected) << "expressions.golden:" << case_line << ": " << header;
    ++cases;
  }
  EXPECT_GT(cases, 40);
}

constexpr char kProgram[] = R"(program: grant
name: Test grant
agency: city-social
jurisdiction: Test
legal_basis: Test Act s.1
version: "1"
currency: USD
effective_from: 2025-01-01
variables:
  income:
    type: money
    entity: household
    period: month
    label: Income
    formula: a + b
tests:
  - name: income
    condition: income <= t.limit[n]
    citation: Test Act s.2
    pass: Income of {value} is within the limit of {limit}.
    fail: Income of {value} is {margin} above the limit of {limit}.
  - name: savings
    applies_if: not flag
    condition: cash <= 5000
    citation: Test Act s.3
    pass: Savings within the limit.
    fail: Savings of {cash} are above the limit.
outcome:
  amount: t.grant
  amount_label: One-off grant
)";

std::unique_ptr<RuleSet> Load(std::vector<std::string>* warnings = nullptr) {
  std::vector<std::string> w;
  auto rules = RuleSet::LoadText({{"base.yaml", kBase}, {"grant.yaml", kProgram}}, kToday, warnings ? warnings : &w);
  EXPECT_TRUE(rules.ok()) << rules.status().message();
  return std::move(rules).value();
}

const ProgramResult& Only(const Screening& s) { return s.programs.at(0); }

TEST(Screening, ExplainsAPassWithValuesAndTheParametersUsed) {
  auto rules = Load();
  HouseholdInput h{{{"a", "900"}, {"b", "100"}, {"n", "2"}, {"flag", "false"}, {"cash", "10"}}, {}};
  auto s = Screen(*rules, h, {2025, 3, 1});
  ASSERT_TRUE(s.ok()) << s.status().message();
  const auto& r = Only(*s);
  EXPECT_EQ(r.outcome, Outcome::kEligible);
  EXPECT_EQ(r.amount_text, "$150.00");
  EXPECT_EQ(r.tests[0].message, "Income of $1,000.00 is within the limit of $1,500.00.");
  EXPECT_EQ(r.tests[0].margin, "$500.00");
  bool found = false;
  for (const auto& t : r.trace) {
    if (t.name == "t.limit") {
      found = true;
      EXPECT_EQ(t.value, "$1,500.00 for n 2");
      EXPECT_EQ(t.effective, "2025-01-01");
      EXPECT_EQ(t.source, "test A");
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(s->rules_hash, rules->content_hash());
  EXPECT_EQ(s->rules_hash.size(), 64u);
}

TEST(Screening, MarginIsTheDistanceAboveTheLimit) {
  auto rules = Load();
  HouseholdInput h{{{"a", "1501"}, {"b", "0"}, {"n", "2"}, {"flag", "true"}}, {}};
  auto s = Screen(*rules, h, {2025, 3, 1});
  ASSERT_TRUE(s.ok());
  const auto& r = Only(*s);
  EXPECT_EQ(r.outcome, Outcome::kNotEligible);
  EXPECT_EQ(r.tests[0].outcome, TestOutcome::kFail);
  EXPECT_EQ(r.tests[0].message, "Income of $1,501.00 is $1.00 above the limit of $1,500.00.");
  EXPECT_EQ(r.reason, r.tests[0].message);
  EXPECT_EQ(r.tests[1].outcome, TestOutcome::kNotApplicable);
  EXPECT_FALSE(r.amount.has_value());
}

TEST(Screening, EffectiveDatingAcrossAParameterChange) {
  auto rules = Load();
  HouseholdInput h{{{"a", "1050"}, {"b", "0"}, {"n", "1"}, {"flag", "true"}}, {}};
  auto before = Screen(*rules, h, {2025, 6, 30});
  auto after = Screen(*rules, h, {2025, 7, 1});
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(Only(*before).outcome, Outcome::kNotEligible);  // limit 1000
  EXPECT_EQ(Only(*after).outcome, Outcome::kEligible);      // limit 1100
  EXPECT_EQ(Only(*after).tests[0].limit, "$1,100.00");
}

TEST(Screening, UnknownListsOnlyTheMissingInputsThatMatter) {
  auto rules = Load();
  // `flag` and `cash` are missing; b is missing too, so income cannot be worked out.
  HouseholdInput h{{{"a", "100"}, {"n", "1"}}, {}};
  auto s = Screen(*rules, h, {2025, 3, 1});
  ASSERT_TRUE(s.ok());
  const auto& r = Only(*s);
  EXPECT_EQ(r.outcome, Outcome::kUnknown);
  EXPECT_EQ(r.missing_inputs, (std::vector<std::string_view>{"b", "cash", "flag"}));
  EXPECT_EQ(r.reason, "We still need: B; Cash; Flag.");
  // Once a test fails the answer is settled, whatever is still missing.
  HouseholdInput over{{{"a", "5000"}, {"n", "1"}}, {}};
  auto s2 = Screen(*rules, over, {2025, 3, 1});
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(Only(*s2).outcome, Outcome::kUnknown);  // b missing: a + b is unknown
  HouseholdInput over2{{{"a", "5000"}, {"b", "0"}, {"n", "1"}}, {}};
  auto s3 = Screen(*rules, over2, {2025, 3, 1});
  EXPECT_EQ(Only(*s3).outcome, Outcome::kNotEligible);
  EXPECT_TRUE(Only(*s3).missing_inputs.empty());
}

TEST(Screening, ExpiredParameterWarnsAndMarksResultsStale) {
  std::vector<std::string> warnings;
  auto rules = Load(&warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "base.yaml:36:3: parameter t.grant ended on 2026-04-01; results that use it are marked stale");
  HouseholdInput h{{{"a", "0"}, {"b", "0"}, {"n", "1"}, {"flag", "true"}}, {}};
  auto now = Screen(*rules, h, {2026, 5, 1});
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(Only(*now).stale, (std::vector<std::string_view>{"t.grant"}));
  EXPECT_EQ(Only(*now).amount_text, "$150.00");
  auto then = Screen(*rules, h, {2026, 3, 1});
  EXPECT_TRUE(Only(*then).stale.empty());
}

TEST(Screening, DatedFormulasApplyFromTheirDate) {
  std::string p = R"(program: d
name: D
agency: x
jurisdiction: J
legal_basis: L
version: "1"
currency: USD
variables:
  counted:
    type: money
    entity: household
    period: month
    label: Counted income
    formulas:
      2025-01-01: a
      2025-07-01: a - b
tests:
  - {name: t, condition: counted <= 100, citation: C, pass: ok, fail: no}
)";
  std::vector<std::string> w;
  auto rules = RuleSet::LoadText({{"base.yaml", kBase}, {"d.yaml", p}}, kToday, &w);
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  HouseholdInput h{{{"a", "150"}, {"b", "60"}}, {}};
  EXPECT_EQ(Only(*Screen(**rules, h, {2025, 6, 30})).outcome, Outcome::kNotEligible);  // 150
  EXPECT_EQ(Only(*Screen(**rules, h, {2025, 7, 1})).outcome, Outcome::kEligible);      // 90
  // Before the first formula there is no rule: an error that says so, not a guess.
  auto early = Screen(**rules, h, {2024, 12, 31});
  EXPECT_EQ(Only(*early).outcome, Outcome::kError);
  EXPECT_EQ(Only(*early).reason, "d.yaml:9:3: no formula of counted is in force on 2024-12-31");
  // Loaded from a folder of the server, the result names the file, not the folders: staff and
  // partner systems read it.
  auto placed = RuleSet::LoadText(
      {{"/srv/onedoor/rules/base.yaml", kBase}, {"/srv/onedoor/rules/d.yaml", p}}, kToday, &w);
  ASSERT_TRUE(placed.ok()) << placed.status().message();
  EXPECT_EQ(Only(*Screen(**placed, h, {2024, 12, 31})).reason,
            "d.yaml:9:3: no formula of counted is in force on 2024-12-31");
}

TEST(Screening, ProgramNotInForceBeforeItStarts) {
  auto rules = Load();
  HouseholdInput h{{{"a", "0"}, {"b", "0"}, {"n", "1"}, {"flag", "true"}}, {}};
  auto s = Screen(*rules, h, {2024, 12, 31});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Only(*s).outcome, Outcome::kNotInForce);
}

TEST(Screening, BadInputIsRefusedWithTheField) {
  auto rules = Load();
  auto s = Screen(*rules, HouseholdInput{{{"a", "12.345.6"}}, {}}, {2025, 3, 1});
  EXPECT_EQ(s.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(), "a: expected an amount like 1234.56");
  auto s2 = Screen(*rules, HouseholdInput{{{"n", "0"}}, {}}, {2025, 3, 1});
  EXPECT_EQ(s2.status().message(), "n: must be at least 1");
  auto s3 = Screen(*rules, HouseholdInput{{}, {{{"age", "x"}}}}, {2025, 3, 1});
  EXPECT_EQ(s3.status().message(), "members/0/age: expected a number");
  auto s4 = Screen(*rules, HouseholdInput{{{"nope", "1"}}, {}}, {2025, 3, 1});
  EXPECT_EQ(s4.status().message(), "nope: unknown input");
  EXPECT_EQ(s4.status().fields().at(0).field, "nope");
  // Every bad value at once, by field; the message names the first.
  auto s5 =
      Screen(*rules, HouseholdInput{{{"a", "x"}, {"nope", "1"}}, {{{"age", "y"}}}}, {2025, 3, 1});
  EXPECT_EQ(s5.status().message(), "a: expected an amount like 1234.56 (and 2 more)");
  std::vector<std::string> fields;
  for (const auto& fe : s5.status().fields()) fields.push_back(fe.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"a", "nope", "members/0/age"}));
}

std::string LoadError(const std::string& program) {
  std::vector<std::string> w;
  auto rules = RuleSet::LoadText({{"base.yaml", kBase}, {"bad.yaml", program}}, kToday, &w);
  return rules.ok() ? "ok" : rules.status().message();
}

TEST(RuleSetLoad, CyclesBetweenVariablesAreRefused) {
  std::string p = R"(program: c
name: C
agency: x
jurisdiction: J
legal_basis: L
version: "1"
currency: USD
variables:
  v1: {type: money, entity: household, period: month, label: V1, formula: v2 + a}
  v2: {type: money, entity: household, period: month, label: V2, formula: v1 + b}
tests:
  - {name: t, condition: v1 > 0, citation: C, pass: ok, fail: no}
)";
  EXPECT_EQ(LoadError(p), "the rules have 1 problem:\nbad.yaml:9:3: variables depend on each other in a cycle: v1 -> v2 -> v1");
}

// A chain of variables each using the next is evaluated one inside the other: past 200 (the input
// at its end counted) it is refused when the pack loads, naming where, rather than exhausting the
// stack later.
TEST(RuleSetLoad, AChainOfVariablesTooLongIsRefused) {
  auto pack = [](int n) {
    std::string p = "program: c\nname: C\nagency: x\njurisdiction: J\nlegal_basis: L\nversion: \"1\"\ncurrency: USD\nvariables:\n";
    p += "  v0: {type: money, entity: household, period: month, label: V, formula: a}\n";
    for (int i = 1; i < n; ++i) {
      p += fmt::format("  v{}: {{type: money, entity: household, period: month, label: V, formula: v{} + a}}\n", i, i - 1);
    }
    p += fmt::format("tests:\n  - {{name: t, condition: v{} > 0, citation: C, pass: ok, fail: no}}\n", n - 1);
    return p;
  };
  EXPECT_EQ(LoadError(pack(150)), "ok");
  EXPECT_EQ(LoadError(pack(201)),
            "the rules have 1 problem:\nbad.yaml:208:3: variables depend on each other too deeply: v199 starts a chain of "
            "201 or more variables, each using the next (at most 200)");
  const std::string error = LoadError(pack(5000));
  EXPECT_NE(error.find("variables depend on each other too deeply: v199 starts a chain of 201"), std::string::npos)
      << error.substr(0, 600);
}

TEST(RuleSetLoad, UnknownKeysMissingReferencesAndDuplicatesNameTheirPlace) {
  std::string p = R"(program: c
name: C
agency: x
jurisdiction: J
legal_basis: L
version: "1"
currency: USD
colour: blue
)";
  EXPECT_EQ(LoadError(p).substr(0, 73), "the rules have 1 problem:\nbad.yaml:8:1: unknown key 'colour' in a program");
  std::string params = R"(parameters:
  x.y:
    label: X
    type: money
    last_reviewed: 2025-01-01
    values:
      2025-01-01: {value: 3}
inputs:
  a: {type: money, entity: household, label: again}
)";
  EXPECT_EQ(LoadError(params),
            "the rules have 2 problems:\n"
            "bad.yaml:9:3: 'a' is already defined at base.yaml:2:3\n"
            "bad.yaml:7:19: the value of x.y from 2025-01-01 needs 'reference'");
  EXPECT_EQ(LoadError("program: [\n"), "the rules have 1 problem:\nbad.yaml:2:1: YAML: end of sequence flow not found");
}

TEST(RuleSetLoad, AMessagePlaceholderThatNamesNothingIsRefusedAtItsTest) {
  std::string p = R"(program: c
name: C
agency: x
jurisdiction: J
legal_basis: L
version: "1"
currency: USD
tests:
  - name: income
    condition: a <= 100
    citation: Test Act s.2
    pass: Income of {value} for {hosehold_size} people is within {limit}.
    fail: Income of {value} is {margin} above {limit}; savings {cash}.
)";
  EXPECT_EQ(LoadError(p),
            "the rules have 1 problem:\n"
            "bad.yaml:9:5: the pass message of test income has {hosehold_size}, which names "
            "nothing: use {value}, "
            "{limit}, {margin} or the name of a variable or input");
}

// A member's value has an answer per member: in a message about the household it could only be
// shown as "(for each member)".
TEST(RuleSetLoad, AMessagePlaceholderNamingAMembersValueIsRefusedAtItsTest) {
  std::string p = R"(program: c
name: C
agency: x
jurisdiction: J
legal_basis: L
version: "1"
currency: USD
tests:
  - name: income
    condition: a <= 100
    citation: Test Act s.2
    pass: Income of {value} for {n} people is within {limit}.
    fail: Someone aged {age} earns {value}.
)";
  EXPECT_EQ(
      LoadError(p),
      "the rules have 1 problem:\n"
      "bad.yaml:9:5: the fail message of test income has {age}, a value for each member, which a "
      "message "
      "about the household cannot give: name a household value, or {value}, {limit} or {margin}");
}

TEST(RuleTests, ReportsEachMismatchWithVariableAndPeriodAndRejectsUnknownKeys) {
  auto rules = Load();
  std::ostringstream out;
  auto summary = RunRuleTestText(*rules, "t.yaml", R"(
- name: passes
  period: 2025-03
  input: {a: 100, b: 50, n: 1, flag: true}
  output: {income: 150, grant_eligible: true}
- name: wrong
  period: 2025-03
  input: {a: 100, b: 50, n: 1, flag: true}
  output:
    income: 151
    grant_eligible: true
- name: override and unknown
  period: 2025-03
  input: {income: 2000, n: 1}
  output: {income: 2000, grant_eligible: false}
- name: unknown
  period: 2025
  input: {a: 1, n: 1}
  output: {grant_eligible: unknown}
- name: margin
  period: 2025-03
  absolute_error_margin: 1
  input: {a: 100, b: 50.5}
  output: {income: 151}
)",
                                 out);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->passed, 4);
  EXPECT_EQ(summary->failed, 1);
  EXPECT_EQ(out.str(), "t.yaml:10: wrong: income for 2025-03: expected 151, got 150\n");

  auto bad = RunRuleTestText(*rules, "t.yaml", "- name: x\n  period: 2025-03\n  inptu: {a: 1}\n  output: {a: 1}\n", out);
  EXPECT_EQ(bad.status().message(),
            "t.yaml:3:3: unknown key 'inptu' (allowed: name, description, period, as_of, absolute_error_margin, input, output)");
  auto bad_var = RunRuleTestText(*rules, "t.yaml", "- name: x\n  period: 2025-03\n  input: {incom: 1}\n  output: {a: 1}\n", out);
  EXPECT_EQ(bad_var.status().message(), "t.yaml:3:11: unknown variable 'incom'");
  auto bad_value = RunRuleTestText(*rules, "t.yaml", "- name: x\n  period: 2025-03\n  input: {a: lots}\n  output: {a: 1}\n", out);
  EXPECT_EQ(bad_value.status().message(), "t.yaml:3:14: a: expected an amount like 1234.56");
}

TEST(RuleTests, AProgramNotInForceOnTheTestsDateIsNotInForceAsAScreeningSaysIt) {
  // The grant is in force from 2025-01-01: a test of 2024 gets no result from its formulas.
  auto rules = Load();
  std::ostringstream out;
  auto summary = RunRuleTestText(*rules, "t.yaml", R"(
- name: before it starts, expecting a result
  period: 2024-11
  input: {a: 100, b: 50, n: 1, flag: true}
  output: {income: 150, grant_eligible: true}
- name: before it starts
  period: 2024-11
  input: {a: 100, b: 50, n: 1, flag: true}
  output: {grant_eligible: not_in_force}
- name: in force, expecting none
  period: 2025-03
  input: {a: 100, b: 50, n: 1, flag: true}
  output: {grant_eligible: not_in_force}
)",
                                 out);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->passed, 1);
  EXPECT_EQ(summary->failed, 2);
  EXPECT_EQ(out.str(),
            "t.yaml:5: before it starts, expecting a result: grant_eligible for 2024-11: expected "
            "true, got "
            "not_in_force (Test grant is in force from 2025-01-01)\n"
            "t.yaml:13: in force, expecting none: grant_eligible for 2025-03: expected "
            "not_in_force, got true\n");
  // Only a program's result may be expected not_in_force.
  auto bad = RunRuleTestText(
      *rules, "t.yaml", "- name: x\n  period: 2025-03\n  output: {income: not_in_force}\n", out);
  EXPECT_FALSE(bad.ok());
}

TEST(RuleSetLoad, ABreakdownNamesAnIntegerInput) {
  const std::string error = LoadError(R"(parameters:
  t.by_housing:
    label: By housing
    type: money
    breakdown: housing
    last_reviewed: 2025-01-01
    values:
      2025-01-01: {value: {1: 10}, reference: "x"}
  t.by_nothing:
    label: By nothing
    type: money
    breakdown: nonexistent_thing
    last_reviewed: 2025-01-01
    values:
      2025-01-01: {value: {1: 10}, reference: "x"}
)");
  EXPECT_NE(error.find("the rules have 2 problems:"), std::string::npos) << error;
  EXPECT_NE(
      error.find(
          "bad.yaml:2:3: t.by_housing: breakdown names 'housing', which is not an integer input"),
      std::string::npos)
      << error;
  EXPECT_NE(error.find("t.by_nothing: breakdown names 'nonexistent_thing', which is not an input"),
            std::string::npos)
      << error;
}

TEST(RuleSetLoad, KeysGivenTwiceGapsInTablesAndEmptyReferencesAreRefused) {
  // A value's date copied and left unchanged: YAML would keep either silently.
  EXPECT_EQ(LoadError(R"(parameters:
  t.grant:
    label: Grant
    type: money
    last_reviewed: 2025-01-01
    values:
      2025-07-01: {value: 400, reference: "x"}
      2025-07-01: {value: 450, reference: "x"}
)"),
            "the rules have 1 problem:\nbad.yaml:8:7: '2025-07-01' is given twice in the same "
            "place (first at "
            "line 7): each key once");
  // A household size given twice, and one left out (3 would take the limit of 2).
  EXPECT_EQ(LoadError(R"(parameters:
  t.limit:
    label: Limit
    type: money
    breakdown: household_size
    last_reviewed: 2025-01-01
    values:
      2025-01-01: {value: {1: 2100, 3: 3500, 3: 9999, additional: 720}, reference: "x"}
)"),
            "the rules have 1 problem:\nbad.yaml:8:46: '3' is given twice in the same place (first "
            "at line 8): "
            "each key once");
  EXPECT_EQ(LoadError(R"(parameters:
  t.limit:
    label: Limit
    type: money
    breakdown: household_size
    last_reviewed: 2025-01-01
    values:
      2025-01-01: {value: {1: 2100, 2: 2800, 4: 4200, additional: 720}, reference: "x"}
)"),
            "the rules have 1 problem:\nbad.yaml:8:27: the table of t.limit from 2025-01-01 has no "
            "value for "
            "household_size 3: give every household_size from 1 to 4");
  // An empty reference is named where it is, not later as an unknown parameter.
  EXPECT_EQ(LoadError(R"(parameters:
  t.grant:
    label: Grant
    type: money
    last_reviewed: 2025-01-01
    values:
      2025-07-01: {value: 400, reference: ""}
)"),
            "the rules have 1 problem:\nbad.yaml:7:43: the value of t.grant from 2025-07-01 needs "
            "a reference: "
            "where the figure comes from");
  // Text with ": " reads as a map: the message says to quote it.
  EXPECT_NE(LoadError("program: c\nname: Costs: {x} a month\n").find("must be in quotes"),
            std::string::npos);
}

TEST(RuleSetLoad, AnEndBeforeTheStartIsRefused) {
  std::string p = kProgram;
  p.replace(p.find("effective_from: 2025-01-01"), 26,
            "effective_from: 2025-01-01\neffective_to: 2024-06-01");
  EXPECT_EQ(LoadError(p),
            "the rules have 1 problem:\nbad.yaml:9:15: effective_to (2024-06-01) is before "
            "effective_from "
            "(2025-01-01): the program would never be in force");
}

TEST(RuleSetLoad, InputsTheFuzzerFoundLoadWithAnErrorNotACrash) {
  // Each regression-* seed once threw from inside yaml-cpp.
  namespace fs = std::filesystem;
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(std::string(ONEDOOR_SOURCE_DIR) + "/fuzz/corpus/rules")) {
    if (entry.path().filename().string().rfind("regression-", 0) != 0) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<std::string> w;
    auto rules = RuleSet::LoadText({{"base.yaml", kBase}, {"fuzz.yaml", text.str()}}, kToday, &w);
    EXPECT_FALSE(rules.ok()) << entry.path();
    ++seen;
  }
  EXPECT_GE(seen, 1);
}

TEST(RuleSetLoad, ShippedPacksLoadAndTheirContentHashIsStable) {
  std::string root = std::string(ONEDOOR_SOURCE_DIR) + "/rules";
  std::vector<std::string> w1, w2;
  auto a = RuleSet::Load({root + "/inputs.yaml", root + "/us", root + "/uk", root + "/demo"}, kToday, &w1);
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = RuleSet::Load({root + "/inputs.yaml", root + "/us", root + "/uk", root + "/demo"}, kToday, &w2);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*a)->content_hash(), (*b)->content_hash());
  EXPECT_GE((*a)->programs().size(), 6u);
  EXPECT_GE((*a)->FindProgram("snap"), 0);
  EXPECT_FALSE(w1.empty());  // the FY 2026 amounts ended on 2026-10-01
}

// The guide's examples work as written: the test case of "Testing rules" passes against the
// shipped packs, and the inputs of "Inputs" load.
std::string GuideBlock(const std::string& guide, const std::string& section) {
  const size_t at = guide.find(section);
  if (at == std::string::npos) return "";
  const size_t open = guide.find("```yaml\n", at);
  const size_t close = guide.find("```", open + 8);
  if (open == std::string::npos || close == std::string::npos) return "";
  return guide.substr(open + 8, close - open - 8);
}

TEST(RuleSetLoad, TheGuidesExamplesWorkAsWritten) {
  std::ifstream in(std::string(ONEDOOR_SOURCE_DIR) + "/docs/rules.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string guide = ss.str();

  const std::string test_case = GuideBlock(guide, "## Testing rules");
  ASSERT_FALSE(test_case.empty());
  std::string root = std::string(ONEDOOR_SOURCE_DIR) + "/rules";
  std::vector<std::string> w;
  auto rules = RuleSet::Load({root + "/inputs.yaml", root + "/us", root + "/demo"}, kToday, &w);
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  std::ostringstream out;
  auto summary = RunRuleTestText(**rules, "rules.md", test_case, out);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->failed, 0) << out.str();
  EXPECT_EQ(summary->passed, 1) << out.str();

  const std::string inputs = GuideBlock(guide, "## Inputs");
  ASSERT_FALSE(inputs.empty());
  std::vector<std::string> w2;
  auto loaded = RuleSet::LoadText({{"inputs.yaml", inputs}}, kToday, &w2);
  EXPECT_TRUE(loaded.ok()) << loaded.status().message();
}

TEST(Screening, PeopleTheSizeCountsButNoOneListedAreAskedAboutNotTakenToBeNoOne) {
  std::string root = std::string(ONEDOOR_SOURCE_DIR) + "/rules";
  std::vector<std::string> w;
  auto rules = RuleSet::Load({root + "/inputs.yaml", root + "/us"}, kToday, &w);
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  auto wic = [&](const HouseholdInput& h) {
    auto s = Screen(**rules, h, {2025, 11, 1});
    EXPECT_TRUE(s.ok()) << s.status().message();
    for (const auto& p : s->programs) {
      if (p.program == "wic") return p;
    }
    ADD_FAILURE() << "no wic";
    return ProgramResult{};
  };
  // Three people, one of them described (aged 67): the other two may be a pregnant woman or a
  // child under five, so WIC is unknown and asks about them; it is not "no one in the household
  // is".
  HouseholdInput three{
      {{"household_size", "3"}, {"earned_income", "1000"}, {"unearned_income", "0"}},
      {{{"age", "67"}}}};
  const ProgramResult unknown = wic(three);
  EXPECT_EQ(unknown.outcome, Outcome::kUnknown) << unknown.reason;
  EXPECT_FALSE(unknown.missing_inputs.empty());
  // Everyone described: the answer is known.
  HouseholdInput all = three;
  all.members = {{{"age", "67"}, {"is_pregnant", "false"}},
                 {{"age", "40"}, {"is_pregnant", "false"}},
                 {{"age", "30"}, {"is_pregnant", "false"}}};
  EXPECT_EQ(wic(all).outcome, Outcome::kNotEligible) << wic(all).reason;
}

TEST(RuleTests, AFolderWithoutTestFilesIsAnErrorNotAPass) {
  const std::string empty = ::testing::TempDir() + "/rule-tests-empty";
  std::filesystem::create_directories(empty);
  std::string root = std::string(ONEDOOR_SOURCE_DIR) + "/rules";
  std::vector<std::string> w;
  auto rules = RuleSet::Load({root + "/inputs.yaml", root + "/us", root + "/demo"}, kToday, &w);
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  std::ostringstream out;
  auto summary = RunRuleTests(**rules, {empty}, out);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), core::StatusCode::kNotFound);
  EXPECT_NE(summary.status().message().find("no test files"), std::string::npos);
}

}  // namespace
}  // namespace eligibility
