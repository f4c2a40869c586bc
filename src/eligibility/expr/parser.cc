#include "eligibility/expr/parser.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace eligibility::expr {
namespace {

enum class Tok { kEnd, kNumber, kString, kName, kOp, kLParen, kRParen, kLBracket, kRBracket, kComma };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;
  Pos pos;
};

bool IsKeyword(std::string_view s) {
  return s == "and" || s == "or" || s == "not" || s == "if" || s == "then" || s == "elif" ||
         s == "else" || s == "true" || s == "false";
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  bool Next(Token& out, ParseError& error) {
    SkipSpace();
    out = Token{};
    out.pos = pos_;
    if (i_ >= text_.size()) return true;
    char c = text_[i_];
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i_ + 1 < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i_ + 1])))) {
      size_t start = i_;
      bool dot = false;
      while (i_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[i_])) ||
                                   (text_[i_] == '.' && !dot) || text_[i_] == '_')) {
        if (text_[i_] == '.') dot = true;
        Advance();
      }
      out.kind = Tok::kNumber;
      out.text = std::string(text_.substr(start, i_ - start));
      if (i_ < text_.size() && (std::isalpha(static_cast<unsigned char>(text_[i_])) || text_[i_] == '.')) {
        error = {pos_, fmt::format("unexpected '{}' after the number {}", text_[i_], out.text)};
        return false;
      }
      return true;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = i_;
      while (i_ < text_.size()) {
        char d = text_[i_];
        if (std::isalnum(static_cast<unsigned char>(d)) || d == '_') {
          Advance();
        } else if (d == '.' && i_ + 1 < text_.size() &&
                   (std::isalpha(static_cast<unsigned char>(text_[i_ + 1])) || text_[i_ + 1] == '_')) {
          Advance();
        } else {
          break;
        }
      }
      out.kind = Tok::kName;
      out.text = std::string(text_.substr(start, i_ - start));
      return true;
    }
    if (c == '"' || c == '\'') {
      char quote = c;
      Advance();
      std::string value;
      while (i_ < text_.size() && text_[i_] != quote) {
        if (text_[i_] == '\n') break;
        value += text_[i_];
        Advance();
      }
      if (i_ >= text_.size() || text_[i_] != quote) {
        error = {out.pos, "this text has no closing quote"};
        return false;
      }
      Advance();
      out.kind = Tok::kString;
      out.text = std::move(value);
      return true;
    }
    Advance();
    switch (c) {
      case '(': out.kind = Tok::kLParen; out.text = "("; return true;
      case ')': out.kind = Tok::kRParen; out.text = ")"; return true;
      case '[': out.kind = Tok::kLBracket; out.text = "["; return true;
      case ']': out.kind = Tok::kRBracket; out.text = "]"; return true;
      case ',': out.kind = Tok::kComma; out.text = ","; return true;
      case '+': case '-': case '*': case '/':
        out.kind = Tok::kOp;
        out.text = std::string(1, c);
        return true;
      case '<': case '>': case '=': case '!': {
        out.kind = Tok::kOp;
        out.text = std::string(1, c);
        if (i_ < text_.size() && text_[i_] == '=') {
          out.text += '=';
          Advance();
        }
        if (out.text == "=" || out.text == "!") {
          error = {out.pos, out.text == "=" ? "use == to compare" : "use 'not' for negation, != for 'not equal'"};
          return false;
        }
        return true;
      }
      default:
        error = {out.pos, fmt::format("unexpected character '{}'", c)};
        return false;
    }
  }

 private:
  void Advance() {
    if (text_[i_] == '\n') {
      ++pos_.line;
      pos_.column = 1;
    } else {
      ++pos_.column;
    }
    ++i_;
  }
  void SkipSpace() {
    while (i_ < text_.size()) {
      char c = text_[i_];
      if (c == '#') {  // a comment runs to the end of the line
        while (i_ < text_.size() && text_[i_] != '\n') Advance();
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        Advance();
      } else {
        break;
      }
    }
  }

  std::string_view text_;
  size_t i_ = 0;
  Pos pos_;
};

class Parser {
 public:
  Parser(std::string_view text, ParseError& error) : lexer_(text), error_(error) {}

  std::unique_ptr<Expr> ParseAll() {
    if (!Advance()) return nullptr;
    if (tok_.kind == Tok::kEnd) return Fail(tok_.pos, "the formula is empty");
    auto e = ParseExpr();
    if (!e) return nullptr;
    if (tok_.kind != Tok::kEnd) return Fail(tok_.pos, fmt::format("unexpected '{}'", tok_.text));
    return e;
  }

 private:
  bool Advance() { return lexer_.Next(tok_, error_); }
  std::unique_ptr<Expr> Fail(Pos pos, std::string message) {
    error_ = {pos, std::move(message)};
    return nullptr;
  }
  bool IsWord(std::string_view w) const { return tok_.kind == Tok::kName && tok_.text == w; }

  // Adds `arg` to `e`, keeping e's height; nullptr (and the error) when the formula gets too deep.
  std::unique_ptr<Expr> Adopt(std::unique_ptr<Expr> e, std::unique_ptr<Expr> arg) {
    e->height = std::max(e->height, arg->height + 1);
    e->args.push_back(std::move(arg));
    if (e->height > kMaxFormulaDepth) return TooDeep(e->pos);
    return e;
  }
  std::unique_ptr<Expr> TooDeep(Pos pos) {
    return Fail(pos, fmt::format("the formula is too complex: it nests more than {} levels; split it into "
                                 "variables",
                                 kMaxFormulaDepth));
  }
  // Counts the parser's own recursion, which brackets and prefixes deepen before any node exists.
  struct Nest {
    explicit Nest(int& depth) : depth_(depth) { ++depth_; }
    ~Nest() { --depth_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;
    int& depth_;
  };
  int depth_ = 0;
  bool IsOp(std::string_view o) const { return tok_.kind == Tok::kOp && tok_.text == o; }

  static std::unique_ptr<Expr> Make(ExprKind kind, Pos pos, std::string text) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    e->text = std::move(text);
    return e;
  }

  std::unique_ptr<Expr> ParseExpr() {
    Nest nest(depth_);
    if (depth_ > kMaxFormulaDepth) return TooDeep(tok_.pos);
    if (IsWord("if")) return ParseIf();
    return ParseOr();
  }

  std::unique_ptr<Expr> ParseIf() {
    auto e = Make(ExprKind::kIf, tok_.pos, "if");
    if (!Advance()) return nullptr;
    while (true) {
      auto cond = ParseExpr();
      if (!cond) return nullptr;
      if (!IsWord("then")) return Fail(tok_.pos, "expected 'then' after the condition of 'if'");
      if (!Advance()) return nullptr;
      auto then = ParseExpr();
      if (!then) return nullptr;
      e = Adopt(std::move(e), std::move(cond));
      if (!e) return nullptr;
      e = Adopt(std::move(e), std::move(then));
      if (!e) return nullptr;
      if (IsWord("elif")) {
        if (!Advance()) return nullptr;
        continue;
      }
      if (!IsWord("else")) return Fail(tok_.pos, "expected 'else' or 'elif': every 'if' needs an 'else'");
      if (!Advance()) return nullptr;
      auto otherwise = ParseExpr();
      if (!otherwise) return nullptr;
      return Adopt(std::move(e), std::move(otherwise));
    }
  }

  std::unique_ptr<Expr> Binary(std::string op, Pos pos, std::unique_ptr<Expr> l, std::unique_ptr<Expr> r) {
    auto e = Make(ExprKind::kBinary, pos, std::move(op));
    e = Adopt(std::move(e), std::move(l));
    if (!e) return nullptr;
    return Adopt(std::move(e), std::move(r));
  }

  std::unique_ptr<Expr> ParseOr() {
    auto l = ParseAnd();
    while (l && IsWord("or")) {
      Pos pos = tok_.pos;
      if (!Advance()) return nullptr;
      auto r = ParseAnd();
      if (!r) return nullptr;
      l = Binary("or", pos, std::move(l), std::move(r));
    }
    return l;
  }

  std::unique_ptr<Expr> ParseAnd() {
    auto l = ParseNot();
    while (l && IsWord("and")) {
      Pos pos = tok_.pos;
      if (!Advance()) return nullptr;
      auto r = ParseNot();
      if (!r) return nullptr;
      l = Binary("and", pos, std::move(l), std::move(r));
    }
    return l;
  }

  std::unique_ptr<Expr> ParseNot() {
    if (IsWord("not")) {
      Nest nest(depth_);
      if (depth_ > kMaxFormulaDepth) return TooDeep(tok_.pos);
      auto e = Make(ExprKind::kUnary, tok_.pos, "not");
      if (!Advance()) return nullptr;
      auto operand = ParseNot();
      if (!operand) return nullptr;
      return Adopt(std::move(e), std::move(operand));
    }
    return ParseComparison();
  }

  std::unique_ptr<Expr> ParseComparison() {
    auto l = ParseAdditive();
    if (!l) return nullptr;
    if (tok_.kind == Tok::kOp && (tok_.text == "<" || tok_.text == "<=" || tok_.text == ">" ||
                                  tok_.text == ">=" || tok_.text == "==" || tok_.text == "!=")) {
      std::string op = tok_.text;
      Pos pos = tok_.pos;
      if (!Advance()) return nullptr;
      auto r = ParseAdditive();
      if (!r) return nullptr;
      if (tok_.kind == Tok::kOp && (tok_.text == "<" || tok_.text == "<=" || tok_.text == ">" ||
                                    tok_.text == ">=" || tok_.text == "==" || tok_.text == "!=")) {
        return Fail(tok_.pos, "comparisons do not chain: write 'a <= b and b <= c'");
      }
      return Binary(op, pos, std::move(l), std::move(r));
    }
    return l;
  }

  std::unique_ptr<Expr> ParseAdditive() {
    auto l = ParseMultiplicative();
    while (l && (IsOp("+") || IsOp("-"))) {
      std::string op = tok_.text;
      Pos pos = tok_.pos;
      if (!Advance()) return nullptr;
      auto r = ParseMultiplicative();
      if (!r) return nullptr;
      l = Binary(op, pos, std::move(l), std::move(r));
    }
    return l;
  }

  std::unique_ptr<Expr> ParseMultiplicative() {
    auto l = ParseUnary();
    while (l && (IsOp("*") || IsOp("/"))) {
      std::string op = tok_.text;
      Pos pos = tok_.pos;
      if (!Advance()) return nullptr;
      auto r = ParseUnary();
      if (!r) return nullptr;
      l = Binary(op, pos, std::move(l), std::move(r));
    }
    return l;
  }

  std::unique_ptr<Expr> ParseUnary() {
    if (IsOp("-")) {
      Nest nest(depth_);
      if (depth_ > kMaxFormulaDepth) return TooDeep(tok_.pos);
      auto e = Make(ExprKind::kUnary, tok_.pos, "-");
      if (!Advance()) return nullptr;
      auto operand = ParseUnary();
      if (!operand) return nullptr;
      return Adopt(std::move(e), std::move(operand));
    }
    return ParsePrimary();
  }

  std::unique_ptr<Expr> ParsePrimary() {
    Token t = tok_;
    switch (t.kind) {
      case Tok::kNumber:
        if (!Advance()) return nullptr;
        return Make(ExprKind::kNumber, t.pos, t.text);
      case Tok::kString:
        if (!Advance()) return nullptr;
        return Make(ExprKind::kString, t.pos, t.text);
      case Tok::kLParen: {
        if (!Advance()) return nullptr;
        auto e = ParseExpr();
        if (!e) return nullptr;
        if (tok_.kind != Tok::kRParen) return Fail(tok_.pos, "expected ')'");
        if (!Advance()) return nullptr;
        return e;
      }
      case Tok::kName: {
        if (t.text == "true" || t.text == "false") {
          if (!Advance()) return nullptr;
          return Make(ExprKind::kBool, t.pos, t.text);
        }
        if (IsKeyword(t.text)) return Fail(t.pos, fmt::format("unexpected '{}'", t.text));
        if (!Advance()) return nullptr;
        if (tok_.kind == Tok::kLParen) {
          auto call = Make(ExprKind::kCall, t.pos, t.text);
          if (!Advance()) return nullptr;
          if (tok_.kind != Tok::kRParen) {
            while (true) {
              auto arg = ParseExpr();
              if (!arg) return nullptr;
              call = Adopt(std::move(call), std::move(arg));
              if (!call) return nullptr;
              if (tok_.kind == Tok::kComma) {
                if (!Advance()) return nullptr;
                continue;
              }
              break;
            }
            if (tok_.kind != Tok::kRParen) return Fail(tok_.pos, fmt::format("expected ',' or ')' in the call of {}", t.text));
          }
          if (!Advance()) return nullptr;
          return call;
        }
        auto name = Make(ExprKind::kName, t.pos, t.text);
        if (tok_.kind == Tok::kLBracket) {
          auto index = Make(ExprKind::kIndex, tok_.pos, "[]");
          if (!Advance()) return nullptr;
          auto key = ParseExpr();
          if (!key) return nullptr;
          if (tok_.kind != Tok::kRBracket) return Fail(tok_.pos, "expected ']'");
          if (!Advance()) return nullptr;
          index = Adopt(std::move(index), std::move(name));
          if (!index) return nullptr;
          return Adopt(std::move(index), std::move(key));
        }
        return name;
      }
      case Tok::kEnd:
        return Fail(t.pos, "the formula ends too early");
      default:
        return Fail(t.pos, fmt::format("unexpected '{}'", t.text));
    }
  }

  Lexer lexer_;
  ParseError& error_;
  Token tok_;
};

}  // namespace

std::unique_ptr<Expr> Parse(std::string_view text, ParseError& error) {
  Parser parser(text, error);
  return parser.ParseAll();
}

std::string ToString(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kNumber:
    case ExprKind::kBool:
    case ExprKind::kName:
      return e.text;
    case ExprKind::kString:
      return "\"" + e.text + "\"";
    case ExprKind::kCall: {
      std::string out = e.text + "(";
      for (size_t i = 0; i < e.args.size(); ++i) out += (i ? ", " : "") + ToString(*e.args[i]);
      return out + ")";
    }
    case ExprKind::kIndex:
      return ToString(*e.args[0]) + "[" + ToString(*e.args[1]) + "]";
    case ExprKind::kUnary:
      return "(" + e.text + (e.text == "not" ? " " : "") + ToString(*e.args[0]) + ")";
    case ExprKind::kBinary:
      return "(" + ToString(*e.args[0]) + " " + e.text + " " + ToString(*e.args[1]) + ")";
    case ExprKind::kIf: {
      std::string out = "(if ";
      size_t i = 0;
      for (; i + 1 < e.args.size(); i += 2) {
        out += (i ? " elif " : "") + ToString(*e.args[i]) + " then " + ToString(*e.args[i + 1]);
      }
      return out + " else " + ToString(*e.args[i]) + ")";
    }
  }
  return "";
}

}  // namespace eligibility::expr
