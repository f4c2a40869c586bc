#pragma once

#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"

// Intake rules: how incoming work is classified and routed, written by the consortium in the
// formula language of the rule packs (docs/rules.md) over the facts of a piece of work:
//
//   rules:
//     - name: Urgent referrals go to the specialists
//       when: kind == "referral" and urgency == "urgent"
//       complexity: complex
//       tier: specialist
//       skills: [crisis]
//     - name: Everything else
//       when: true
//       complexity: simple
//       tier: front_line
//
// The first rule whose `when` is true decides. Facts (names in `when`):
//   kind      text: "referral", "application" or "case_action"
//   urgency   text: a referral's urgency ("routine", "soon", "urgent"); "" otherwise
//   program   text: an application part's program id; "" otherwise
//   expedited boolean: an application part asked for expedited service
//   agencies  number: how many agencies know the person (the reference directory)
// Formulas may use numbers, "text", true/false, the facts, not, and, or, + - * /, and the
// comparisons < <= > >= == !=; anything else is refused when the file loads.
namespace cases {

using IntakeValue = std::variant<bool, double, std::string>;
using IntakeFacts = std::map<std::string, IntakeValue>;

struct IntakeDecision {
  std::string rule;        // its name
  std::string complexity;  // simple, complex
  std::string tier;        // front_line, specialist
  std::vector<std::string> skills;
};

class IntakeRules {
 public:
  ~IntakeRules();
  IntakeRules(IntakeRules&&) noexcept;
  // kInvalidArgument "file:line:column: message" for a YAML error, an unknown key, a formula
  // that does not parse, an unknown fact, a type mismatch, a `when` that is not boolean, a
  // complexity or tier not in the lists, or a file whose last rule can be false (some work
  // would be routed nowhere). kNotFound when the file cannot be opened.
  static core::StatusOr<IntakeRules> Load(const std::string& path);
  static core::StatusOr<IntakeRules> Parse(const std::string& text, const std::string& file_name);
  // The rules the shipped config/intake.yaml would give, for a deployment that names none.
  static const IntakeRules& Default();

  // Routes `facts` (every fact must be given). kInternal only for facts of the wrong type.
  core::StatusOr<IntakeDecision> Route(const IntakeFacts& facts) const;

 private:
  struct Rule;
  IntakeRules();
  std::vector<Rule> rules_;
};

}  // namespace cases
