#include "cases/intake.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "eligibility/expr/parser.h"

namespace cases {

using core::Status;
using core::StatusOr;
using eligibility::expr::Expr;
using eligibility::expr::ExprKind;

namespace {

enum class T { kBool, kNumber, kText };

const std::map<std::string, T>& FactTypes() {
  static const auto* types = new std::map<std::string, T>{
      {"kind", T::kText}, {"urgency", T::kText}, {"program", T::kText}, {"expedited", T::kBool}, {"agencies", T::kNumber}};
  return *types;
}

std::string_view TypeName(T t) { return t == T::kBool ? "boolean" : t == T::kNumber ? "number" : "text"; }

// The type of `e`, or an error naming where it goes wrong.
StatusOr<T> Check(const Expr& e) {
  auto at = [&](const Expr& x, const std::string& message) {
    return Status::InvalidArgument(fmt::format("{}:{}: {}", x.pos.line, x.pos.column, message));
  };
  switch (e.kind) {
    case ExprKind::kNumber:
      return T::kNumber;
    case ExprKind::kString:
      return T::kText;
    case ExprKind::kBool:
      return T::kBool;
    case ExprKind::kName: {
      auto it = FactTypes().find(e.text);
      if (it == FactTypes().end()) {
        return at(e, fmt::format("'{}' is not a fact of incoming work; use kind, urgency, program, expedited or "
                                 "agencies",
                                 e.text));
      }
      return it->second;
    }
    case ExprKind::kUnary: {
      ASSIGN_OR_RETURN(T t, Check(*e.args[0]));
      if (e.text == "not" && t != T::kBool) return at(e, "'not' needs a boolean");
      if (e.text == "-" && t != T::kNumber) return at(e, "'-' needs a number");
      return t;
    }
    case ExprKind::kBinary: {
      ASSIGN_OR_RETURN(T l, Check(*e.args[0]));
      ASSIGN_OR_RETURN(T r, Check(*e.args[1]));
      const std::string& op = e.text;
      if (op == "and" || op == "or") {
        if (l != T::kBool || r != T::kBool) return at(e, fmt::format("'{}' needs booleans on both sides", op));
        return T::kBool;
      }
      if (op == "==" || op == "!=") {
        if (l != r) {
          return at(e, fmt::format("'{}' compares a {} with a {}", op, TypeName(l), TypeName(r)));
        }
        return T::kBool;
      }
      if (op == "<" || op == "<=" || op == ">" || op == ">=") {
        if (l != T::kNumber || r != T::kNumber) return at(e, fmt::format("'{}' needs numbers on both sides", op));
        return T::kBool;
      }
      if (op == "+" || op == "-" || op == "*" || op == "/") {
        if (l != T::kNumber || r != T::kNumber) return at(e, fmt::format("'{}' needs numbers on both sides", op));
        return T::kNumber;
      }
      return at(e, fmt::format("'{}' is not available in intake rules", op));
    }
    default:
      return at(e, "only facts, literals, not, and, or, arithmetic and comparisons are available in intake rules");
  }
}

StatusOr<IntakeValue> Eval(const Expr& e, const IntakeFacts& facts) {
  switch (e.kind) {
    case ExprKind::kNumber:
      return IntakeValue(std::stod(e.text));
    case ExprKind::kString:
      return IntakeValue(e.text);
    case ExprKind::kBool:
      return IntakeValue(e.text == "true");
    case ExprKind::kName: {
      auto it = facts.find(e.text);
      if (it == facts.end()) return Status::Internal(fmt::format("the fact {} was not given", e.text));
      return it->second;
    }
    case ExprKind::kUnary: {
      ASSIGN_OR_RETURN(IntakeValue v, Eval(*e.args[0], facts));
      if (e.text == "not") return IntakeValue(!std::get<bool>(v));
      return IntakeValue(-std::get<double>(v));
    }
    case ExprKind::kBinary: {
      const std::string& op = e.text;
      ASSIGN_OR_RETURN(IntakeValue l, Eval(*e.args[0], facts));
      if (op == "and" && !std::get<bool>(l)) return IntakeValue(false);
      if (op == "or" && std::get<bool>(l)) return IntakeValue(true);
      ASSIGN_OR_RETURN(IntakeValue r, Eval(*e.args[1], facts));
      if (op == "and" || op == "or") return r;
      if (op == "==") return IntakeValue(l == r);
      if (op == "!=") return IntakeValue(l != r);
      const double a = std::get<double>(l);
      const double b = std::get<double>(r);
      if (op == "<") return IntakeValue(a < b);
      if (op == "<=") return IntakeValue(a <= b);
      if (op == ">") return IntakeValue(a > b);
      if (op == ">=") return IntakeValue(a >= b);
      if (op == "+") return IntakeValue(a + b);
      if (op == "-") return IntakeValue(a - b);
      if (op == "*") return IntakeValue(a * b);
      if (op == "/") return IntakeValue(b == 0 ? 0.0 : a / b);
      return Status::Internal("unknown operator " + op);
    }
    default:
      return Status::Internal("an expression the intake rules do not evaluate");
  }
}

}  // namespace

struct IntakeRules::Rule {
  IntakeDecision decision;
  std::unique_ptr<Expr> when;
  bool always = false;  // `when: true`
};

IntakeRules::IntakeRules() = default;
IntakeRules::~IntakeRules() = default;
IntakeRules::IntakeRules(IntakeRules&&) noexcept = default;

StatusOr<IntakeRules> IntakeRules::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("{}: cannot open the intake rules", path));
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

StatusOr<IntakeRules> IntakeRules::Parse(const std::string& text, const std::string& file_name) {
  auto fail = [&](const YAML::Mark& m, const std::string& message) {
    return Status::InvalidArgument(fmt::format("{}:{}:{}: {}", file_name, m.line + 1, m.column + 1, message));
  };
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return fail(e.mark, e.msg);
  }
  if (!root.IsMap() || !root["rules"] || !root["rules"].IsSequence() || root["rules"].size() == 0) {
    return fail(root.Mark(), "the file needs `rules:`, a list of at least one rule");
  }
  for (const auto& kv : root) {
    if (kv.first.as<std::string>() != "rules") {
      return fail(kv.first.Mark(), fmt::format("unknown key '{}'; the file has rules only", kv.first.as<std::string>()));
    }
  }
  IntakeRules out;
  for (const auto& node : root["rules"]) {
    if (!node.IsMap()) return fail(node.Mark(), "a rule is a map with name, when, complexity, tier and skills");
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      if (key != "name" && key != "when" && key != "complexity" && key != "tier" && key != "skills") {
        return fail(kv.first.Mark(), fmt::format("unknown key '{}'; a rule has name, when, complexity, tier and "
                                                 "skills",
                                                 key));
      }
    }
    Rule rule;
    for (const char* key : {"name", "when", "complexity", "tier"}) {
      if (!node[key] || !node[key].IsScalar() || node[key].Scalar().empty()) {
        return fail(node.Mark(), fmt::format("the rule needs `{}`", key));
      }
    }
    rule.decision.rule = node["name"].Scalar();
    rule.decision.complexity = node["complexity"].Scalar();
    if (rule.decision.complexity != "simple" && rule.decision.complexity != "complex") {
      return fail(node["complexity"].Mark(), "complexity must be simple or complex");
    }
    rule.decision.tier = node["tier"].Scalar();
    if (rule.decision.tier != "front_line" && rule.decision.tier != "specialist") {
      return fail(node["tier"].Mark(), "tier must be front_line or specialist");
    }
    if (const YAML::Node& skills = node["skills"]) {
      if (!skills.IsSequence()) return fail(skills.Mark(), "skills must be a list, like [crisis, housing]");
      for (const auto& s : skills) rule.decision.skills.push_back(s.as<std::string>());
    }
    const YAML::Node& when = node["when"];
    eligibility::expr::ParseError error;
    rule.when = eligibility::expr::Parse(when.Scalar(), error);
    // Positions inside the formula, from the start of the `when` value.
    auto place = [&](int line, int column) {
      return fmt::format("{}:{}:{}", file_name, when.Mark().line + line, (line == 1 ? when.Mark().column : 0) + column);
    };
    if (!rule.when) {
      return Status::InvalidArgument(fmt::format("{}: {}", place(error.pos.line, error.pos.column), error.message));
    }
    auto type = Check(*rule.when);
    if (!type.ok()) {
      // "line:column: message" from inside the formula.
      const std::string& m = type.status().message();
      const size_t first = m.find(':');
      const size_t second = m.find(':', first + 1);
      const int line = std::stoi(m.substr(0, first));
      const int column = std::stoi(m.substr(first + 1, second - first - 1));
      return Status::InvalidArgument(fmt::format("{}: {}", place(line, column), m.substr(second + 2)));
    }
    if (*type != T::kBool) return fail(when.Mark(), "`when` must be true or false: a comparison, and, or, not");
    rule.always = rule.when->kind == ExprKind::kBool && rule.when->text == "true";
    out.rules_.push_back(std::move(rule));
  }
  if (!out.rules_.back().always) {
    return fail(root["rules"][root["rules"].size() - 1].Mark(),
                "the last rule must have `when: true`, so that every piece of work is routed");
  }
  return out;
}

const IntakeRules& IntakeRules::Default() {
  static const IntakeRules* rules = [] {
    auto parsed = Parse(R"yaml(
rules:
  - name: Urgent referrals go to the specialists
    when: kind == "referral" and urgency == "urgent"
    complexity: complex
    tier: specialist
  - name: Expedited applications go to the specialists
    when: kind == "application" and expedited
    complexity: complex
    tier: specialist
  - name: People several agencies know need a specialist
    when: agencies >= 3
    complexity: complex
    tier: specialist
  - name: Everything else to the front line
    when: true
    complexity: simple
    tier: front_line
)yaml",
                        "built-in intake rules");
    return new IntakeRules(std::move(parsed).value());
  }();
  return *rules;
}

StatusOr<IntakeDecision> IntakeRules::Route(const IntakeFacts& facts) const {
  for (const auto& [name, type] : FactTypes()) {
    auto it = facts.find(name);
    if (it == facts.end()) return Status::Internal(fmt::format("the fact {} was not given", name));
    const bool ok = (type == T::kBool && std::holds_alternative<bool>(it->second)) ||
                    (type == T::kNumber && std::holds_alternative<double>(it->second)) ||
                    (type == T::kText && std::holds_alternative<std::string>(it->second));
    if (!ok) return Status::Internal(fmt::format("the fact {} has the wrong type", name));
  }
  for (const auto& rule : rules_) {
    if (rule.always) return rule.decision;
    ASSIGN_OR_RETURN(IntakeValue v, Eval(*rule.when, facts));
    if (std::get<bool>(v)) return rule.decision;
  }
  return rules_.back().decision;
}

}  // namespace cases
