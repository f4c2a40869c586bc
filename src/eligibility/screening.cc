#include "eligibility/screening.h"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "eligibility/decimal.h"

namespace eligibility {
namespace {

// An error's place as the rule's file and line ("snap.yaml:26:29: ..."), without the folders the
// server loaded the packs from: results are read by staff and partner systems.
std::string FileNameOnly(std::string error) {
  const size_t place_end = error.find(": ");
  if (place_end == std::string::npos) return error;
  const size_t slash = error.rfind('/', place_end);
  if (slash == std::string::npos) return error;
  return error.substr(slash + 1);
}

std::string_view CurrencySymbol(std::string_view currency) {
  if (currency == "GBP") return "£";
  if (currency == "EUR") return "€";
  return "$";
}

int EnumSymbolOf(const RuleSet& rules, int node) {
  const Node* n = &rules.nodes()[node];
  while (n->op == Op::kBroadcast) n = &rules.nodes()[n->args[0]];
  return n->op == Op::kSymbol ? n->symbol : -1;
}

}  // namespace

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kEligible: return "eligible";
    case Outcome::kNotEligible: return "not_eligible";
    case Outcome::kUnknown: return "unknown";
    case Outcome::kError: return "error";
    case Outcome::kNotInForce: return "not_in_force";
  }
  return "?";
}

std::string_view TestOutcomeName(TestOutcome o) {
  switch (o) {
    case TestOutcome::kPass: return "pass";
    case TestOutcome::kFail: return "fail";
    case TestOutcome::kUnknown: return "unknown";
    case TestOutcome::kNotApplicable: return "not_applicable";
    case TestOutcome::kError: return "error";
  }
  return "?";
}

std::string RawValue(const RuleSet& rules, Type type, int enum_symbol, int64_t value) {
  switch (type) {
    case Type::kBool: return value ? "true" : "false";
    case Type::kNumber:
    case Type::kMoney: return decimal::ToString(value);
    case Type::kDate: return core::Date::FromDays(value).ToString();
    case Type::kEnum:
      if (enum_symbol >= 0) {
        const auto& values = rules.symbols()[enum_symbol].enum_values;
        if (value >= 0 && static_cast<size_t>(value) < values.size()) return values[value];
      }
      return fmt::format("#{}", value);
    case Type::kText: return "(text)";
  }
  return "";
}

std::string FormatValue(const RuleSet& rules, Type type, int enum_symbol, int64_t value, std::string_view currency) {
  switch (type) {
    case Type::kBool: return value ? "yes" : "no";
    case Type::kMoney: {
      std::string amount = decimal::ToMoneyString(value);
      std::string out;
      out.reserve(amount.size() + 3);
      if (amount[0] == '-') {
        out += '-';
        out += CurrencySymbol(currency);
        out.append(amount, 1);
      } else {
        out += CurrencySymbol(currency);
        out += amount;
      }
      return out;
    }
    default: return RawValue(rules, type, enum_symbol, value);
  }
}

namespace {

class ProgramExplainer {
 public:
  ProgramExplainer(const RuleSet& rules, Evaluator& ev, const Program& p) : rules_(rules), ev_(ev), p_(p) {}

  std::string NodeText(int node) {
    const Column& c = ev_.Node(node);
    if (c.s[0] != kKnown) return "unknown";
    return FormatValue(rules_, rules_.nodes()[node].type, EnumSymbolOf(rules_, node), c.v[0], p_.currency);
  }

  std::string SymbolText(int s) {
    const Symbol& sym = rules_.symbols()[s];
    if (sym.entity == Entity::kPerson) return "(for each member)";
    const Column& c = ev_.Symbol(s);
    if (c.s[0] != kKnown) return c.s[0] == kError ? "error" : "unknown";
    return FormatValue(rules_, sym.type, s, c.v[0], p_.currency);
  }

  // Replaces {value}, {limit}, {margin} and {name} in a message.
  std::string Render(const std::string& tmpl, const TestResult& t) {
    std::string out;
    size_t i = 0;
    while (i < tmpl.size()) {
      if (tmpl[i] == '{') {
        size_t close = tmpl.find('}', i);
        if (close != std::string::npos) {
          std::string key = tmpl.substr(i + 1, close - i - 1);
          std::string rep;
          bool found = true;
          if (key == "value") rep = t.value;
          else if (key == "limit") rep = t.limit;
          else if (key == "margin") rep = t.margin;
          else if (int s = rules_.FindSymbol(key); s >= 0) rep = SymbolText(s);
          else found = false;
          if (found) {
            out += rep;
            i = close + 1;
            continue;
          }
        }
      }
      out += tmpl[i++];
    }
    return out;
  }

  ProgramResult Explain() {
    ProgramResult r;
    r.program = p_.id;
    r.name = p_.name;
    r.agency = p_.agency;
    r.jurisdiction = p_.jurisdiction;
    r.legal_basis = p_.legal_basis;
    r.version = p_.version;
    r.currency = p_.currency;
    r.amount_label = p_.amount_label;
    core::Date as_of = ev_.as_of();
    if ((p_.effective_from && as_of < *p_.effective_from) || (p_.effective_to && *p_.effective_to < as_of)) {
      r.outcome = Outcome::kNotInForce;
      r.reason = fmt::format("{} is not in force on {}.", p_.name, as_of.ToString());
      return r;
    }
    for (int p : p_.parameters) {
      bool ended = false;
      ev_.Parameter(p, &ended);
      if (ended) r.stale.push_back(rules_.parameters()[p].name);
    }
    const Column& eligible = ev_.Symbol(p_.eligible_symbol);
    std::vector<int> missing;
    std::vector<int> test_missing;
    r.tests.reserve(p_.tests.size());
    for (const auto& t : p_.tests) r.tests.push_back(ExplainTest(t, &test_missing));
    switch (eligible.s[0]) {
      case kKnown:
        r.outcome = eligible.v[0] ? Outcome::kEligible : Outcome::kNotEligible;
        break;
      case kUnknown:
        r.outcome = Outcome::kUnknown;
        break;
      default:
        r.outcome = Outcome::kError;
        break;
    }
    if (r.outcome == Outcome::kEligible && p_.amount_node >= 0) {
      const Column& amount = ev_.Node(p_.amount_node);
      if (amount.s[0] == kKnown) {
        r.amount = amount.v[0];
        r.amount_text = FormatValue(rules_, Type::kMoney, -1, amount.v[0], p_.currency);
      } else if (amount.s[0] == kUnknown) {
        ev_.Missing(p_.amount_node, 0, &missing);
      } else {
        r.outcome = Outcome::kError;
        r.reason = FileNameOnly(ev_.ErrorAt(p_.amount_node, 0));
      }
    }
    // Only an open answer needs more questions: a failed test settles it, whatever is missing.
    if (r.outcome == Outcome::kUnknown) {
      missing.insert(missing.end(), test_missing.begin(), test_missing.end());
      ev_.Missing(rules_.symbols()[p_.eligible_symbol].formulas[0].root, 0, &missing);
    }
    std::sort(missing.begin(), missing.end());
    missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
    for (int s : missing) r.missing_inputs.push_back(rules_.symbols()[s].name);
    if (r.outcome == Outcome::kError && r.reason.empty()) {
      r.reason =
          FileNameOnly(ev_.ErrorAt(rules_.symbols()[p_.eligible_symbol].formulas[0].root, 0));
    }
    if (r.reason.empty()) r.reason = Reason(r);
    Trace(r);
    return r;
  }

 private:
  std::string Reason(const ProgramResult& r) {
    switch (r.outcome) {
      case Outcome::kEligible:
        return r.amount ? fmt::format("Likely eligible for {}: {} {}.", p_.name, r.amount_text,
                                      p_.amount_label.empty() ? "" : "(" + p_.amount_label + ")")
                        : fmt::format("Likely eligible for {}: every test passes.", p_.name);
      case Outcome::kNotEligible:
        for (const auto& t : r.tests) {
          if (t.outcome == TestOutcome::kFail) return t.message;
        }
        return "Not eligible.";
      case Outcome::kUnknown: {
        std::string list;
        for (const auto& m : r.missing_inputs) {
          const Symbol& s = rules_.symbols()[rules_.FindSymbol(m)];
          list += (list.empty() ? "" : "; ") + s.label;
        }
        return list.empty() ? "Some answers are still needed." : "We still need: " + list + ".";
      }
      default:
        return "";
    }
  }

  TestResult ExplainTest(const ProgramTest& t, std::vector<int>* missing) {
    TestResult r;
    r.name = t.name;
    r.label = t.label;
    r.citation = t.citation;
    r.uses.reserve(t.symbols.size() + t.parameters.size());
    for (int s : t.symbols) r.uses.push_back(rules_.symbols()[s].name);
    for (int p : t.parameters) r.uses.push_back(rules_.parameters()[p].name);
    if (t.value_node >= 0) {
      const Column& v = ev_.Node(t.value_node);
      const Column& l = ev_.Node(t.limit_node);
      r.value = NodeText(t.value_node);
      r.limit = NodeText(t.limit_node);
      if (v.s[0] == kKnown && l.s[0] == kKnown) {
        int64_t d = v.v[0] > l.v[0] ? v.v[0] - l.v[0] : l.v[0] - v.v[0];
        r.margin = FormatValue(rules_, rules_.nodes()[t.value_node].type, -1, d, p_.currency);
      }
    }
    const Column& cond = ev_.Node(t.condition);
    uint8_t as = kKnown;
    bool applies = true;
    if (t.applies_if >= 0) {
      const Column& a = ev_.Node(t.applies_if);
      as = a.s[0];
      applies = a.v[0] != 0;
    }
    if (as == kKnown && !applies) {
      r.outcome = TestOutcome::kNotApplicable;
      r.message = "This test does not apply to this household.";
      return r;
    }
    if (cond.s[0] == kKnown && (as == kKnown || cond.v[0])) {
      r.outcome = cond.v[0] ? TestOutcome::kPass : TestOutcome::kFail;
      r.message = Render(cond.v[0] ? t.pass_message : t.fail_message, r);
      return r;
    }
    if (cond.s[0] == kError || as == kError) {
      r.outcome = TestOutcome::kError;
      r.message = FileNameOnly(ev_.ErrorAt(cond.s[0] == kError ? t.condition : t.applies_if, 0));
      return r;
    }
    r.outcome = TestOutcome::kUnknown;
    std::vector<int> m;
    if (cond.s[0] == kUnknown) ev_.Missing(t.condition, 0, &m);
    if (as == kUnknown) ev_.Missing(t.applies_if, 0, &m);
    std::string list;
    for (int s : m) list += (list.empty() ? "" : ", ") + rules_.symbols()[s].label;
    r.message = list.empty() ? "Cannot be worked out yet." : "Needs: " + list + ".";
    missing->insert(missing->end(), m.begin(), m.end());
    return r;
  }

  void Trace(ProgramResult& r) {
    r.trace.reserve(p_.symbols.size() + p_.parameters.size());
    for (int s : p_.symbols) {
      const Symbol& sym = rules_.symbols()[s];
      if (sym.entity == Entity::kPerson) continue;
      TraceValue t;
      t.name = sym.name;
      t.label = sym.label;
      t.kind = sym.is_input ? "input" : "variable";
      const Column& c = ev_.Symbol(s);
      t.value = SymbolText(s);
      if (c.s[0] == kKnown) t.raw = RawValue(rules_, sym.type, s, c.v[0]);
      if (sym.is_input) {
        t.source = ev_.Given(s, 0) ? "given" : sym.default_value ? "default" : "missing";
      } else if (ev_.Given(s, 0)) {
        t.source = "given";
      } else {
        int root = ev_.ActiveFormula(s);
        for (const auto& f : sym.formulas) if (f.root == root) t.source = f.text;
      }
      r.trace.push_back(std::move(t));
    }
    for (int p : p_.parameters) {
      const Parameter& param = rules_.parameters()[p];
      TraceValue t;
      t.name = param.name;
      t.label = param.label;
      t.kind = "parameter";
      bool ended = false;
      const ParameterValue* v = ev_.Parameter(p, &ended);
      if (!v) {
        t.value = "no value";
        r.trace.push_back(std::move(t));
        continue;
      }
      t.source = v->reference;
      t.effective = v->from.ToString();
      if (!param.breakdown.empty()) {
        // The entry this household used, when the key is known.
        int key = rules_.FindSymbol(param.breakdown);
        const Column* kc = key >= 0 && rules_.symbols()[key].entity == Entity::kHousehold ? &ev_.Symbol(key) : nullptr;
        bool shown = false;
        if (kc && kc->s[0] == kKnown) {
          for (int n : rules_.LookupsOf(p)) {
            if (shown) break;
            const Node& node = rules_.nodes()[n];
            const Column& c = ev_.Node(n);
            const Column& k = ev_.Node(node.args[0]);
            if (c.s[0] == kKnown && k.s[0] == kKnown && k.v[0] == kc->v[0]) {
              t.value = fmt::format("{} for {} {}", FormatValue(rules_, param.type, -1, c.v[0], p_.currency),
                                    param.breakdown, decimal::ToString(k.v[0]));
              t.raw = decimal::ToString(c.v[0]);
              shown = true;
            }
          }
        }
        if (!shown) t.value = "(table by " + param.breakdown + ")";
      } else if (param.brackets) {
        t.value = fmt::format("({} brackets)", v->brackets.size());
      } else {
        t.value = FormatValue(rules_, param.type, -1, v->scalar, p_.currency);
        t.raw = decimal::ToString(v->scalar);
      }
      if (ended) t.value += " (ended)";
      r.trace.push_back(std::move(t));
    }
  }

  const RuleSet& rules_;
  Evaluator& ev_;
  const Program& p_;
};

}  // namespace

namespace {

// One batch and evaluator per thread, kept for the next screening over the same rules: making
// them allocates a column for every node, which costs more than evaluating one household.
struct ThreadEvaluator {
  uint64_t serial = 0;
  std::unique_ptr<Batch> batch;
  std::unique_ptr<Evaluator> evaluator;
};

ThreadEvaluator& EvaluatorFor(const RuleSet& rules) {
  thread_local ThreadEvaluator cache;
  if (cache.serial != rules.serial() || !cache.evaluator) {
    cache.evaluator.reset();
    cache.batch = std::make_unique<Batch>(rules);
    cache.evaluator = std::make_unique<Evaluator>(rules);
    cache.serial = rules.serial();
  }
  cache.batch->Clear();
  return cache;
}

}  // namespace

core::StatusOr<Screening> Screen(const RuleSet& rules, const HouseholdInput& household, core::Date as_of) {
  ThreadEvaluator& t = EvaluatorFor(rules);
  RETURN_IF_ERROR(t.batch->Add(household));
  Evaluator& ev = *t.evaluator;
  ev.Run(*t.batch, as_of);
  Screening out;
  out.as_of = as_of;
  out.rules_hash = rules.content_hash();
  for (const auto& p : rules.programs()) {
    ProgramExplainer explainer(rules, ev, p);
    out.programs.push_back(explainer.Explain());
  }
  return out;
}

}  // namespace eligibility
