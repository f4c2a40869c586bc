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

}  // namespace
}  // namespace eligibility::expr
