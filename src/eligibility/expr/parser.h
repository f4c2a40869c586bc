#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eligibility::expr {

// A place in a formula's text, 1-based.
struct Pos {
  int line = 1;
  int column = 1;
};

enum class ExprKind {
  kNumber,  // text: the literal as written
  kString,  // text: the unquoted value
  kBool,    // text: "true" or "false"
  kName,    // text: a variable, input, parameter (has a dot), `as_of` or `members`
  kCall,    // text: the function; args
  kIndex,   // args: [kName parameter, key]
  kUnary,   // text: "-" or "not"; args: [operand]
  kBinary,  // text: the operator ("+", "<=", "and"…); args: [left, right]
  kIf,      // args: [cond1, then1, cond2, then2, …, else]
};

struct Expr {
  ExprKind kind;
  Pos pos;
  std::string text;
  std::vector<std::unique_ptr<Expr>> args;
  int height = 1;  // 1 for a leaf, else 1 + the tallest argument's
};

// The deepest formula accepted: nesting (brackets, calls, `if`, `not`, minus signs) and chains of
// operators (`a + b + c …`) past this many levels are refused as too complex, so that checking
// and evaluating a formula never exhausts the stack.
inline constexpr int kMaxFormulaDepth = 64;

struct ParseError {
  Pos pos;
  std::string message;
};

// Parses one formula. On failure returns nullptr and sets `error` to the first problem.
std::unique_ptr<Expr> Parse(std::string_view text, ParseError& error);

// The formula back as text, fully parenthesised: for golden tests and traces.
std::string ToString(const Expr& e);

}  // namespace eligibility::expr
