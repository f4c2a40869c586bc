#include "eligibility/expr/parser.h"

#include <gtest/gtest.h>

namespace eligibility::expr {
namespace {

std::string P(std::string_view text) {
  ParseError error;
  auto e = Parse(text, error);
  if (!e) return "error " + std::to_string(error.pos.line) + ":" + std::to_string(error.pos.column) + ": " + error.message;
  return ToString(*e);
}

TEST(ExprParser, Precedence) {
  EXPECT_EQ(P("a + b * c - d"), "((a + (b * c)) - d)");
  EXPECT_EQ(P("not a and b or c"), "(((not a) and b) or c)");
  EXPECT_EQ(P("a <= b and -c > 0.5"), "((a <= b) and ((-c) > 0.5))");
  EXPECT_EQ(P("snap.limit[household_size] * 1.3"), "(snap.limit[household_size] * 1.3)");
  EXPECT_EQ(P("if a then 1 elif b then 2 else 3"), "(if a then 1 elif b then 2 else 3)");
  EXPECT_EQ(P("sum(members, income, age >= 18)"), "sum(members, income, (age >= 18))");
  EXPECT_EQ(P("x == \"renter\" # a comment"), "(x == \"renter\")");
}

TEST(ExprParser, ErrorsGiveLineAndColumn) {
  EXPECT_EQ(P("a +"), "error 1:4: the formula ends too early");
  EXPECT_EQ(P("a = b"), "error 1:3: use == to compare");
  EXPECT_EQ(P("if a then b"), "error 1:12: expected 'else' or 'elif': every 'if' needs an 'else'");
  EXPECT_EQ(P("a < b < c"), "error 1:7: comparisons do not chain: write 'a <= b and b <= c'");
  EXPECT_EQ(P("max(a,\n  b c)"), "error 2:5: expected ',' or ')' in the call of max");
  EXPECT_EQ(P("\"open"), "error 1:1: this text has no closing quote");
  EXPECT_EQ(P(""), "error 1:1: the formula is empty");
  EXPECT_EQ(P("3abc"), "error 1:2: unexpected 'a' after the number 3");
}

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// A formula deeper than kMaxFormulaDepth is refused with its place, however the depth is built,
// and the largest one accepted still parses: checking and evaluating never exhaust the stack.
TEST(ExprParser, AFormulaTooDeepIsRefusedWithItsPlace) {
  const std::string kTooDeep = "the formula is too complex: it nests more than 64 levels; split it into variables";
  // Brackets: 64 levels of ParseExpr are the formula and 63 brackets.
  EXPECT_EQ(P(Repeat("(", 63) + "a" + Repeat(")", 63)), "a");
  EXPECT_EQ(P(Repeat("(", 100000) + "a" + Repeat(")", 100000)), "error 1:65: " + kTooDeep);
  EXPECT_EQ(P(Repeat("-", 100000) + "a").substr(0, 12), "error 1:64: ");
  EXPECT_EQ(P(Repeat("not ", 100000) + "a").substr(0, 6), "error ");
  EXPECT_EQ(P(Repeat("max(", 100000) + "a"), "error 1:257: " + kTooDeep);
  // Chains: a + a + … is a left-deep tree, one level per operator.
  EXPECT_EQ(P("a" + Repeat(" + a", 63)).substr(0, 3), "(((");
  const std::string chain = P("a" + Repeat(" + a", 100000));
  EXPECT_EQ(chain.substr(0, 6), "error ") << chain;
  EXPECT_NE(chain.find(kTooDeep), std::string::npos) << chain;
  EXPECT_EQ(P(Repeat("if a then 1 else ", 100000) + "1").substr(0, 6), "error ");
}

}  // namespace
}  // namespace eligibility::expr
