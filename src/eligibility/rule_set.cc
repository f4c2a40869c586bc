#include "eligibility/rule_set.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/crypto.h"
#include "eligibility/decimal.h"
#include "eligibility/expr/parser.h"
#include "eligibility/yaml_keys.h"

namespace eligibility {
namespace {

constexpr size_t kMaxErrors = 50;

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !(std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool IsParameterName(std::string_view s) {
  if (s.find('.') == std::string_view::npos) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string_view part = s.substr(start, dot == std::string_view::npos ? s.size() - start : dot - start);
    if (!IsIdentifier(part)) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool IsNumeric(Type t) { return t == Type::kNumber || t == Type::kMoney; }

}  // namespace

uint64_t TextValue(std::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string SourcePos::ToString() const {
  if (line == 0) return file;
  return fmt::format("{}:{}:{}", file, line, column);
}

std::string TypeName(Type type, Period period) {
  switch (type) {
    case Type::kBool: return "true/false";
    case Type::kNumber: return "a number";
    case Type::kMoney:
      return period == Period::kMonth ? "money per month" : period == Period::kYear ? "money per year" : "money";
    case Type::kDate: return "a date";
    case Type::kText: return "text";
    case Type::kEnum: return "a choice";
  }
  return "?";
}

const ParameterValue* Parameter::At(core::Date date, bool* ended) const {
  *ended = false;
  const ParameterValue* found = nullptr;
  const ParameterValue* before_end = nullptr;
  for (const auto& v : values) {
    if (date < v.from) break;
    if (v.ends) {
      before_end = found;
      found = nullptr;
      continue;
    }
    found = &v;
    before_end = nullptr;
  }
  if (found) return found;
  if (before_end) {
    *ended = true;
    return before_end;
  }
  return nullptr;
}

std::optional<core::Date> Parameter::EndDate() const {
  if (!values.empty() && values.back().ends) return values.back().from;
  return std::nullopt;
}

int RuleSet::FindSymbol(std::string_view name) const {
  for (size_t i = 0; i < symbols_.size(); ++i) if (symbols_[i].name == name) return static_cast<int>(i);
  return -1;
}

int RuleSet::FindParameter(std::string_view name) const {
  for (size_t i = 0; i < parameters_.size(); ++i) if (parameters_[i].name == name) return static_cast<int>(i);
  return -1;
}

int RuleSet::FindProgram(std::string_view id) const {
  for (size_t i = 0; i < programs_.size(); ++i) if (programs_[i].id == id) return static_cast<int>(i);
  return -1;
}

// Reads the files, declares every name, then binds every formula: resolves names, checks
// types, periods and entities, and emits typed nodes. Problems are collected, not thrown, so
// that one load reports all of them.
class RuleLoader {
 public:
  RuleLoader(core::Date today, std::vector<std::string>* warnings) : today_(today), warnings_(warnings) {}

  core::StatusOr<std::unique_ptr<RuleSet>> Run(const std::vector<std::pair<std::string, std::string>>& files) {
    rs_ = std::make_unique<RuleSet>();
    std::string all;
    for (const auto& [name, text] : files) {
      all += name;
      all += '\0';
      all += core::Sha256Hex(text);
      all += '\0';
    }
    rs_->content_hash_ = core::Sha256Hex(all);
    for (const auto& [name, text] : files) {
      sources_.push_back({name, text});
    }
    for (size_t i = 0; i < sources_.size(); ++i) Declare(i);
    CheckBreakdowns();
    if (errors_.empty()) BindAll();
    if (errors_.empty()) CheckCycles();
    if (errors_.empty()) ComputeClosures();
    if (errors_.empty()) {
      static std::atomic<uint64_t> next_serial{1};
      rs_->serial_ = next_serial++;
      rs_->lookups_.resize(rs_->parameters_.size());
      for (size_t n = 0; n < rs_->nodes_.size(); ++n) {
        const Node& node = rs_->nodes_[n];
        if (node.op == Op::kParamIndex && node.entity == Entity::kHousehold) {
          rs_->lookups_[node.parameter].push_back(static_cast<int>(n));
        }
      }
    }
    if (!errors_.empty()) {
      std::string message = fmt::format("the rules have {} problem{}:", errors_.size(), errors_.size() == 1 ? "" : "s");
      for (const auto& e : errors_) message += "\n" + e;
      return core::Status::InvalidArgument(message);
    }
    for (const auto& p : rs_->parameters_) {
      auto end = p.EndDate();
      if (end && *end <= today_) {
        Warn(fmt::format("{}: parameter {} ended on {}; results that use it are marked stale", p.pos.ToString(),
                         p.name, end->ToString()));
      }
    }
    return std::move(rs_);
  }

 private:
  struct Source {
    std::string name;
    std::string text;
  };
  // A formula waiting to be bound, with where it was written.
  struct Pending {
    size_t source;
    YAML::Mark mark;
    std::string text;
  };

  void Warn(std::string w) {
    if (warnings_) warnings_->push_back(std::move(w));
  }

  SourcePos PosOf(size_t source, const YAML::Mark& mark) const {
    return {sources_[source].name, mark.line + 1, mark.column + 1};
  }

  void Error(const SourcePos& pos, std::string message) {
    if (errors_.size() < kMaxErrors) errors_.push_back(fmt::format("{}: {}", pos.ToString(), message));
  }
  void Error(size_t source, const YAML::Node& node, std::string message) {
    // A node that is not there (a key missing under a key missing) has no place: the file's.
    SourcePos pos{sources_[source].name, 0, 0};
    if (node.IsDefined()) pos = PosOf(source, node.Mark());
    Error(pos, std::move(message));
  }

  // Maps a place inside a formula to the file: plain and quoted scalars start at the mark;
  // block scalars (| or >) on the next line, indented.
  SourcePos MapPos(const Pending& p, expr::Pos at) const {
    const std::string& text = sources_[p.source].text;
    SourcePos out{sources_[p.source].name, p.mark.line + 1, p.mark.column + 1};
    char c = p.mark.pos >= 0 && static_cast<size_t>(p.mark.pos) < text.size() ? text[p.mark.pos] : ' ';
    if (c == '|' || c == '>') {
      // The block's indentation is that of its first line, one line below the indicator.
      int first = p.mark.line + 2;
      size_t offset = 0;
      for (int l = 1; l < first && offset != std::string::npos; ++l) {
        offset = text.find('\n', offset);
        if (offset != std::string::npos) ++offset;
      }
      int indent = 0;
      while (offset != std::string::npos && offset + indent < text.size() && text[offset + indent] == ' ') ++indent;
      out.line = p.mark.line + 1 + at.line;
      out.column = indent + at.column;
      return out;
    }
    int quote = (c == '"' || c == '\'') ? 1 : 0;
    out.line = p.mark.line + at.line;
    out.column = at.line == 1 ? p.mark.column + quote + at.column : at.column;
    return out;
  }

  // ---- Reading YAML ----

  bool CheckKeys(size_t src, const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                 std::string_view what) {
    if (!map.IsMap()) {
      Error(src, map, fmt::format("{} must be a map of keys to values", what));
      return false;
    }
    bool ok = true;
    for (const auto& kv : map) {
      std::string key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        Error(src, kv.first, fmt::format("unknown key '{}' in {} (allowed: {})", key, what, list));
        ok = false;
      }
    }
    return ok;
  }

  std::optional<std::string> Text(size_t src, const YAML::Node& map, const char* key, bool required,
                                  std::string_view what) {
    YAML::Node n = map[key];
    if (!n || n.IsNull()) {
      if (required) Error(src, map, fmt::format("{} needs '{}'", what, key));
      return std::nullopt;
    }
    if (!n.IsScalar()) {
      Error(src, n, fmt::format("'{}' must be a single value", key));
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::optional<core::Date> DateOf(size_t src, const YAML::Node& n, std::string_view what) {
    if (!n.IsScalar()) {
      Error(src, n, fmt::format("{} must be a date like 2025-10-01", what));
      return std::nullopt;
    }
    auto d = core::Date::Parse(n.Scalar());
    if (!d.ok()) {
      Error(src, n, fmt::format("{} must be a date like 2025-10-01, not '{}'", what, n.Scalar()));
      return std::nullopt;
    }
    return *d;
  }

  std::optional<int64_t> NumberOf(size_t src, const YAML::Node& n, std::string_view what) {
    if (!n.IsScalar()) {
      Error(src, n, fmt::format("{} must be a number", what));
      return std::nullopt;
    }
    auto v = decimal::Parse(n.Scalar());
    if (!v) Error(src, n, fmt::format("{} must be a number with at most 6 decimals, not '{}'", what, n.Scalar()));
    return v;
  }

  bool AddName(const std::string& name, size_t src, const YAML::Node& at) {
    auto [it, fresh] = names_.emplace(name, PosOf(src, at.Mark()));
    if (!fresh) {
      Error(src, at, fmt::format("'{}' is already defined at {}", name, it->second.ToString()));
      return false;
    }
    return true;
  }

  std::optional<Type> TypeOf(size_t src, const YAML::Node& n, bool* integer) {
    static const std::map<std::string, Type, std::less<>> kTypes = {
        {"boolean", Type::kBool}, {"integer", Type::kNumber}, {"number", Type::kNumber}, {"money", Type::kMoney},
        {"date", Type::kDate},    {"text", Type::kText},      {"enum", Type::kEnum}};
    if (!n || !n.IsScalar()) {
      Error(src, n, "'type' must be one of boolean, integer, number, money, date, text, enum");
      return std::nullopt;
    }
    auto it = kTypes.find(n.Scalar());
    if (it == kTypes.end()) {
      Error(src, n, fmt::format("unknown type '{}' (use boolean, integer, number, money, date, text or enum)", n.Scalar()));
      return std::nullopt;
    }
    *integer = n.Scalar() == "integer";
    return it->second;
  }

  std::optional<Period> PeriodOf(size_t src, const YAML::Node& map, Type type) {
    YAML::Node n = map["period"];
    if (!n) return Period::kNone;
    if (type != Type::kMoney) {
      Error(src, n, "only money has a period");
      return std::nullopt;
    }
    if (n.Scalar() == "month") return Period::kMonth;
    if (n.Scalar() == "year") return Period::kYear;
    Error(src, n, fmt::format("period must be month or year, not '{}'", n.Scalar()));
    return std::nullopt;
  }

  std::optional<Entity> EntityOf(size_t src, const YAML::Node& map) {
    YAML::Node n = map["entity"];
    if (!n) {
      Error(src, map, "needs 'entity' (household or person)");
      return std::nullopt;
    }
    if (n.Scalar() == "household") return Entity::kHousehold;
    if (n.Scalar() == "person") return Entity::kPerson;
    Error(src, n, fmt::format("entity must be household or person, not '{}'", n.Scalar()));
    return std::nullopt;
  }

  // Parses a literal value of a symbol's type (defaults).
  std::optional<int64_t> ValueOf(size_t src, const YAML::Node& n, const Symbol& s) {
    if (!n.IsScalar()) {
      Error(src, n, "must be a single value");
      return std::nullopt;
    }
    const std::string& v = n.Scalar();
    switch (s.type) {
      case Type::kBool:
        if (v == "true") return 1;
        if (v == "false") return 0;
        Error(src, n, fmt::format("expected true or false, not '{}'", v));
        return std::nullopt;
      case Type::kNumber:
      case Type::kMoney:
        return NumberOf(src, n, "the value");
      case Type::kDate: {
        auto d = DateOf(src, n, "the value");
        if (!d) return std::nullopt;
        return d->ToDays();
      }
      case Type::kText:
        return static_cast<int64_t>(TextValue(v));
      case Type::kEnum: {
        auto it = std::find(s.enum_values.begin(), s.enum_values.end(), v);
        if (it == s.enum_values.end()) {
          Error(src, n, fmt::format("'{}' is not one of the values of {}", v, s.name));
          return std::nullopt;
        }
        return it - s.enum_values.begin();
      }
    }
    return std::nullopt;
  }

  // Reads one file; a YAML exception left over (a value of a shape no check expected) is
  // reported at its place rather than ending the load.
  void Declare(size_t src) {
    try {
      DeclareFile(src);
    } catch (const YAML::Exception& e) {
      Error(SourcePos{sources_[src].name, e.mark.line + 1, e.mark.column + 1},
            "this value does not have the expected shape (" + e.msg + ")");
    }
  }

  void DeclareFile(size_t src) {
    YAML::Node root;
    try {
      root = YAML::Load(sources_[src].text);
    } catch (const YAML::Exception& e) {
      Error(SourcePos{sources_[src].name, e.mark.line + 1, e.mark.column + 1}, YamlErrorText(e));
      return;
    }
    if (!root || root.IsNull()) return;
    if (auto dup = FirstDuplicateKey(root)) {
      Error(PosOf(src, dup->second), DuplicateKeyText(*dup));
      return;
    }
    if (!root.IsMap()) {
      Error(src, root, "a rules file is a map with inputs:, parameters: or program:");
      return;
    }
    bool is_program = static_cast<bool>(root["program"]);
    if (is_program) {
      if (!CheckKeys(src, root,
                     {"inputs", "parameters", "program", "name", "agency", "jurisdiction", "legal_basis", "version",
                      "currency", "description", "effective_from", "effective_to", "decision_clock", "variables", "tests",
                      "outcome"},
                     "a program file")) {
        return;
      }
    } else if (!CheckKeys(src, root, {"inputs", "parameters"}, "a rules file (a program file starts with program:)")) {
      return;
    }
    if (root["inputs"]) DeclareInputs(src, root["inputs"]);
    if (root["parameters"]) DeclareParameters(src, root["parameters"]);
    if (is_program) DeclareProgram(src, root);
  }

  void DeclareInputs(size_t src, const YAML::Node& inputs) {
    if (!inputs.IsMap()) {
      Error(src, inputs, "inputs: must be a map of names to definitions");
      return;
    }
    for (const auto& kv : inputs) {
      std::string name = kv.first.Scalar();
      const YAML::Node& def = kv.second;
      if (!IsIdentifier(name)) {
        Error(src, kv.first, fmt::format("input name '{}' must be lower case letters, digits and _", name));
        continue;
      }
      if (!CheckKeys(src, def, {"type", "entity", "period", "label", "question", "default", "min", "max", "values"},
                     "an input")) {
        continue;
      }
      Symbol s;
      s.name = name;
      s.is_input = true;
      s.pos = PosOf(src, kv.first.Mark());
      auto type = TypeOf(src, def["type"], &s.integer);
      auto entity = EntityOf(src, def);
      if (!type || !entity) continue;
      s.type = *type;
      s.entity = *entity;
      auto period = PeriodOf(src, def, s.type);
      if (!period) continue;
      s.period = *period;
      auto label = Text(src, def, "label", true, "an input");
      if (!label) continue;
      s.label = *label;
      s.question = Text(src, def, "question", false, "an input").value_or("");
      if (s.type == Type::kEnum) {
        if (!def["values"] || !def["values"].IsSequence() || def["values"].size() == 0) {
          Error(src, def, "an enum input needs 'values': a list of its choices");
          continue;
        }
        for (const auto& v : def["values"]) s.enum_values.push_back(v.Scalar());
      } else if (def["values"]) {
        Error(src, def["values"], "only an enum input has 'values'");
        continue;
      }
      if (def["min"]) s.min = NumberOf(src, def["min"], "min");
      if (def["max"]) s.max = NumberOf(src, def["max"], "max");
      if (def["default"]) {
        s.default_value = ValueOf(src, def["default"], s);
        if (!s.default_value) continue;
      }
      if (!AddName(name, src, kv.first)) continue;
      rs_->symbols_.push_back(std::move(s));
    }
  }

  void DeclareParameters(size_t src, const YAML::Node& params) {
    if (!params.IsMap()) {
      Error(src, params, "parameters: must be a map of names to definitions");
      return;
    }
    for (const auto& kv : params) {
      std::string name = kv.first.Scalar();
      const YAML::Node& def = kv.second;
      if (!IsParameterName(name)) {
        Error(src, kv.first,
              fmt::format("parameter name '{}' must have at least one dot, like snap.asset_limit", name));
        continue;
      }
      if (!CheckKeys(src, def,
                     {"label", "description", "type", "period", "breakdown", "brackets", "last_reviewed", "values",
                      "unit"},
                     "a parameter")) {
        continue;
      }
      Parameter p;
      p.name = name;
      p.pos = PosOf(src, kv.first.Mark());
      auto type = TypeOf(src, def["type"], &p.integer);
      if (!type) continue;
      if (!IsNumeric(*type)) {
        Error(src, def["type"], "a parameter is money, number or integer");
        continue;
      }
      p.type = *type;
      auto period = PeriodOf(src, def, p.type);
      if (!period) continue;
      p.period = *period;
      auto label = Text(src, def, "label", true, "a parameter");
      if (!label) continue;
      p.label = *label;
      if (def["breakdown"]) p.breakdown = def["breakdown"].Scalar();
      p.brackets = def["brackets"] && def["brackets"].Scalar() == "true";
      if (!p.breakdown.empty() && p.brackets) {
        Error(src, def, "a parameter has a breakdown or brackets, not both");
        continue;
      }
      if (!def["last_reviewed"]) {
        Error(src, def, fmt::format("parameter {} needs 'last_reviewed': when its values were last checked", name));
        continue;
      }
      auto reviewed = DateOf(src, def["last_reviewed"], "last_reviewed");
      if (!reviewed) continue;
      p.last_reviewed = *reviewed;
      const YAML::Node& values = def["values"];
      if (!values || !values.IsMap() || values.size() == 0) {
        Error(src, def, fmt::format("parameter {} needs 'values': dates to {{value, reference}}", name));
        continue;
      }
      bool ok = true;
      for (const auto& dv : values) {
        auto from = DateOf(src, dv.first, "a value's key");
        if (!from) {
          ok = false;
          continue;
        }
        ParameterValue v;
        v.from = *from;
        if (dv.second.IsNull()) {
          v.ends = true;
          p.values.push_back(std::move(v));
          continue;
        }
        if (!CheckKeys(src, dv.second, {"value", "reference"}, "a parameter value")) {
          ok = false;
          continue;
        }
        auto reference = Text(src, dv.second, "reference", true, fmt::format("the value of {} from {}", name, from->ToString()));
        if (!reference || reference->empty()) {
          if (reference) {
            Error(src, dv.second["reference"],
                  fmt::format(
                      "the value of {} from {} needs a reference: where the figure comes from",
                      name, from->ToString()));
          }
          ok = false;
          continue;
        }
        v.reference = *reference;
        const YAML::Node& value = dv.second["value"];
        if (!value) {
          Error(src, dv.second, "needs 'value'");
          ok = false;
          continue;
        }
        if (!p.breakdown.empty()) {
          if (!value.IsMap()) {
            Error(src, value, fmt::format("{} has a breakdown by {}: the value is a table like {{1: 100, 2: 150, additional: 50}}", name, p.breakdown));
            ok = false;
            continue;
          }
          for (const auto& kv2 : value) {
            auto amount = NumberOf(src, kv2.second, "a table value");
            if (!amount) {
              ok = false;
              continue;
            }
            if (kv2.first.Scalar() == "additional") {
              v.additional = *amount;
              continue;
            }
            auto key = decimal::Parse(kv2.first.Scalar());
            if (!key || *key % decimal::kScale != 0) {
              Error(src, kv2.first, fmt::format("a table key is a whole number or 'additional', not '{}'", kv2.first.Scalar()));
              ok = false;
              continue;
            }
            v.table.emplace_back(*key, *amount);
          }
          std::sort(v.table.begin(), v.table.end());
          if (v.table.empty()) {
            Error(src, value, "the table is empty");
            ok = false;
          }
          // A key left out would take the value of the one below it without a word.
          for (size_t i = 1; i < v.table.size(); ++i) {
            if (v.table[i].first - v.table[i - 1].first > decimal::kScale) {
              Error(
                  src, value,
                  fmt::format(
                      "the table of {} from {} has no value for {} {}: give every {} from {} to {}",
                      name, from->ToString(), p.breakdown,
                      decimal::ToString(v.table[i - 1].first + decimal::kScale), p.breakdown,
                      decimal::ToString(v.table.front().first),
                      decimal::ToString(v.table.back().first)));
              ok = false;
              break;
            }
          }
        } else if (p.brackets) {
          if (!value.IsSequence() || value.size() == 0) {
            Error(src, value, "a bracket value is a list like [{threshold: 0, value: 0.1}, {threshold: 1000, value: 0.2}]");
            ok = false;
            continue;
          }
          for (const auto& b : value) {
            if (!CheckKeys(src, b, {"threshold", "value"}, "a bracket") || !b["threshold"] || !b["value"]) {
              if (b.IsMap()) Error(src, b, "a bracket needs threshold and value");
              ok = false;
              continue;
            }
            auto t = NumberOf(src, b["threshold"], "threshold");
            auto a = NumberOf(src, b["value"], "value");
            if (!t || !a) {
              ok = false;
              continue;
            }
            if (!v.brackets.empty() && *t <= v.brackets.back().first) {
              Error(src, b["threshold"], "thresholds must increase");
              ok = false;
              continue;
            }
            v.brackets.emplace_back(*t, *a);
          }
        } else {
          auto amount = NumberOf(src, value, "the value");
          if (!amount) {
            ok = false;
            continue;
          }
          v.scalar = *amount;
        }
        p.values.push_back(std::move(v));
      }
      if (!ok) continue;
      std::sort(p.values.begin(), p.values.end(), [](const auto& a, const auto& b) { return a.from < b.from; });
      if (p.values.front().ends) {
        Error(src, values, fmt::format("parameter {} starts with null: the first value must be a value", name));
        continue;
      }
      if (!AddName(name, src, kv.first)) continue;
      rs_->parameters_.push_back(std::move(p));
    }
  }

  void DeclareProgram(size_t src, const YAML::Node& root) {
    Program prog;
    prog.pos = PosOf(src, root["program"].Mark());
    std::string what = "a program";
    auto id = Text(src, root, "program", true, what);
    if (!id) return;
    if (!IsIdentifier(*id)) {
      Error(src, root["program"], fmt::format("program id '{}' must be lower case letters, digits and _", *id));
      return;
    }
    prog.id = *id;
    bool ok = true;
    auto need = [&](const char* key, std::string& out) {
      auto v = Text(src, root, key, true, what);
      if (v) out = *v; else ok = false;
    };
    need("name", prog.name);
    need("agency", prog.agency);
    need("jurisdiction", prog.jurisdiction);
    need("legal_basis", prog.legal_basis);
    need("version", prog.version);
    need("currency", prog.currency);
    prog.description = Text(src, root, "description", false, what).value_or("");
    if (ok && prog.currency != "USD" && prog.currency != "GBP" && prog.currency != "EUR") {
      Error(src, root["currency"], fmt::format("currency must be USD, GBP or EUR, not '{}'", prog.currency));
      ok = false;
    }
    if (root["effective_from"]) prog.effective_from = DateOf(src, root["effective_from"], "effective_from");
    if (root["effective_to"]) prog.effective_to = DateOf(src, root["effective_to"], "effective_to");
    if (prog.effective_from && prog.effective_to && *prog.effective_to < *prog.effective_from) {
      Error(src, root["effective_to"],
            fmt::format("effective_to ({}) is before effective_from ({}): the program would never "
                        "be in force",
                        prog.effective_to->ToString(), prog.effective_from->ToString()));
      ok = false;
    }
    if (const YAML::Node& clock = root["decision_clock"]) {
      if (!clock.IsMap()) {
        Error(src, clock, "decision_clock: must be a map with days, expedited_days and citation");
        ok = false;
      } else if (CheckKeys(src, clock, {"days", "expedited_days", "citation"}, "decision_clock")) {
        auto days = [&](const char* key) -> int {
          const YAML::Node& n = clock[key];
          if (!n) return 0;
          int value = 0;
          try {
            value = n.as<int>();
          } catch (const YAML::Exception&) {
            value = -1;
          }
          if (value < 1 || value > 365) {
            Error(src, n, fmt::format("decision_clock: {} must be a whole number of days from 1 to 365", key));
            ok = false;
            return 0;
          }
          return value;
        };
        prog.decision_days = days("days");
        prog.expedited_days = days("expedited_days");
        if (!clock["days"]) {
          Error(src, clock, "decision_clock: give days, the time to decide an application");
          ok = false;
        }
        if (prog.expedited_days > prog.decision_days) {
          Error(src, clock["expedited_days"], "decision_clock: expedited_days must not be more than days");
          ok = false;
        }
        prog.clock_citation = Text(src, clock, "citation", true, "decision_clock").value_or("");
      } else {
        ok = false;
      }
    }
    if (!ok) return;
    if (!AddName("program:" + prog.id, src, root["program"])) return;
    int program_index = static_cast<int>(rs_->programs_.size());

    const YAML::Node& vars = root["variables"];
    if (vars) {
      if (!vars.IsMap()) {
        Error(src, vars, "variables: must be a map of names to definitions");
      } else {
        for (const auto& kv : vars) DeclareVariable(src, program_index, kv.first, kv.second);
      }
    }
    // `<id>_eligible`, bound after the tests.
    Symbol eligible;
    eligible.name = prog.id + "_eligible";
    eligible.type = Type::kBool;
    eligible.entity = Entity::kHousehold;
    eligible.label = prog.name + ": eligible";
    eligible.program = program_index;
    eligible.pos = prog.pos;
    if (AddName(eligible.name, src, root["program"])) {
      prog.eligible_symbol = static_cast<int>(rs_->symbols_.size());
      rs_->symbols_.push_back(std::move(eligible));
    }

    PendingProgram pending;
    pending.source = src;
    pending.index = program_index;
    const YAML::Node& tests = root["tests"];
    if (!tests || !tests.IsSequence() || tests.size() == 0) {
      Error(src, root, "a program needs 'tests': a list of its eligibility tests");
    } else {
      std::set<std::string> test_names;
      for (const auto& t : tests) {
        if (!CheckKeys(src, t, {"name", "label", "condition", "applies_if", "citation", "pass", "fail"}, "a test")) {
          continue;
        }
        ProgramTest test;
        test.pos = PosOf(src, t.Mark());
        bool tok = true;
        auto tneed = [&](const char* key, std::string& out) {
          auto v = Text(src, t, key, true, "a test");
          if (v) out = *v; else tok = false;
        };
        tneed("name", test.name);
        tneed("citation", test.citation);
        tneed("pass", test.pass_message);
        tneed("fail", test.fail_message);
        test.label = Text(src, t, "label", false, "a test").value_or(test.name);
        if (!t["condition"] || !t["condition"].IsScalar()) {
          Error(src, t, "a test needs 'condition': a formula that is true when the test passes");
          tok = false;
        }
        if (!tok) continue;
        if (!test_names.insert(test.name).second) {
          Error(src, t["name"], fmt::format("a second test named '{}'", test.name));
          continue;
        }
        pending.tests.push_back({Pending{src, t["condition"].Mark(), t["condition"].Scalar()},
                                 t["applies_if"] ? std::optional<Pending>(Pending{src, t["applies_if"].Mark(),
                                                                                  t["applies_if"].Scalar()})
                                                 : std::nullopt});
        prog.tests.push_back(std::move(test));
      }
    }
    const YAML::Node& outcome = root["outcome"];
    if (outcome) {
      if (CheckKeys(src, outcome, {"amount", "amount_label"}, "outcome") && outcome["amount"]) {
        pending.amount = Pending{src, outcome["amount"].Mark(), outcome["amount"].Scalar()};
        prog.amount_label = Text(src, outcome, "amount_label", false, "outcome").value_or("Amount");
      }
    }
    pending_programs_.push_back(std::move(pending));
    rs_->programs_.push_back(std::move(prog));
  }

  void DeclareVariable(size_t src, int program, const YAML::Node& key, const YAML::Node& def) {
    std::string name = key.Scalar();
    if (!IsIdentifier(name)) {
      Error(src, key, fmt::format("variable name '{}' must be lower case letters, digits and _ (a dot marks a parameter)", name));
      return;
    }
    if (!CheckKeys(src, def, {"type", "entity", "period", "label", "formula", "formulas", "description"}, "a variable")) {
      return;
    }
    Symbol s;
    s.name = name;
    s.program = program;
    s.pos = PosOf(src, key.Mark());
    auto type = TypeOf(src, def["type"], &s.integer);
    auto entity = EntityOf(src, def);
    if (!type || !entity) return;
    if (*type == Type::kEnum || *type == Type::kText) {
      Error(src, def["type"], "a variable is boolean, integer, number, money or date");
      return;
    }
    s.type = *type;
    s.entity = *entity;
    auto period = PeriodOf(src, def, s.type);
    if (!period) return;
    s.period = *period;
    auto label = Text(src, def, "label", true, "a variable");
    if (!label) return;
    s.label = *label;
    std::vector<std::pair<core::Date, Pending>> formulas;
    if (def["formula"] && def["formulas"]) {
      Error(src, def, "a variable has 'formula' or dated 'formulas', not both");
      return;
    }
    if (def["formula"]) {
      formulas.push_back({core::Date{}, Pending{src, def["formula"].Mark(), def["formula"].Scalar()}});
    } else if (def["formulas"] && def["formulas"].IsMap()) {
      for (const auto& f : def["formulas"]) {
        auto from = DateOf(src, f.first, "a formula's date");
        if (!from) return;
        formulas.push_back({*from, Pending{src, f.second.Mark(), f.second.Scalar()}});
      }
      std::sort(formulas.begin(), formulas.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    } else {
      Error(src, def, fmt::format("variable {} needs a 'formula' (or dated 'formulas')", name));
      return;
    }
    if (!AddName(name, src, key)) return;
    int index = static_cast<int>(rs_->symbols_.size());
    for (auto& [from, p] : formulas) {
      s.formulas.push_back({from, -1, p.text});
      pending_formulas_.push_back({index, static_cast<int>(s.formulas.size() - 1), std::move(p)});
    }
    rs_->symbols_.push_back(std::move(s));
  }

  // ---- Binding ----

  struct PendingFormula {
    int symbol;
    int formula;
    Pending source;
  };
  struct PendingProgram {
    size_t source;
    int index;
    std::vector<std::pair<Pending, std::optional<Pending>>> tests;
    std::optional<Pending> amount;
  };

  struct Ctx {
    const Pending* src;
    Entity entity;
  };

  int Add(Node n) {
    rs_->nodes_.push_back(std::move(n));
    return static_cast<int>(rs_->nodes_.size() - 1);
  }
  Node& At(int id) { return rs_->nodes_[id]; }

  int Fail(const Ctx& ctx, expr::Pos pos, std::string message) {
    Error(MapPos(*ctx.src, pos), message);
    return -1;
  }

  // Binds one formula text. Returns the root node id or -1 (the error is recorded).
  int BindText(const Pending& p, Entity entity, std::string_view what) {
    expr::ParseError perr;
    auto e = expr::Parse(p.text, perr);
    if (!e) {
      Error(MapPos(p, perr.pos), perr.message);
      return -1;
    }
    Ctx ctx{&p, entity};
    size_t before = errors_.size();
    int id = Bind(*e, ctx);
    if (id < 0 && errors_.size() == before) Error(MapPos(p, e->pos), fmt::format("{}: cannot be worked out", what));
    return id;
  }

  // Lets a literal number stand for money (in place: literal nodes are never shared).
  bool Unify(int a, int b) {
    Node& x = At(a);
    Node& y = At(b);
    if (x.type == y.type) return true;
    if (x.type == Type::kMoney && y.type == Type::kNumber && y.literal) {
      PromoteLiteral(b);
      return true;
    }
    if (y.type == Type::kMoney && x.type == Type::kNumber && x.literal) {
      PromoteLiteral(a);
      return true;
    }
    return false;
  }
  void PromoteLiteral(int id) {
    Node& n = At(id);
    n.type = Type::kMoney;
    if (n.op == Op::kNeg || n.op == Op::kAdd || n.op == Op::kSub || n.op == Op::kMin || n.op == Op::kMax ||
        n.op == Op::kIf) {
      for (int arg : std::vector<int>(n.args)) {
        if (At(arg).type == Type::kNumber) PromoteLiteral(arg);
      }
    }
  }

  std::optional<Period> JoinPeriods(const Ctx& ctx, expr::Pos pos, int a, int b, std::string_view verb) {
    Period pa = At(a).period, pb = At(b).period;
    if (pa != Period::kNone && pb != Period::kNone && pa != pb) {
      Fail(ctx, pos, fmt::format("cannot {} {} and {}; convert with monthly(...) or yearly(...)", verb,
                                 TypeName(Type::kMoney, pa), TypeName(Type::kMoney, pb)));
      return std::nullopt;
    }
    return pa != Period::kNone ? pa : pb;
  }

  int Broadcast(int id, const Ctx& ctx) {
    if (ctx.entity == Entity::kPerson && At(id).entity == Entity::kHousehold) {
      Node n = At(id);
      Node b;
      b.op = Op::kBroadcast;
      b.type = n.type;
      b.period = n.period;
      b.entity = Entity::kPerson;
      b.literal = n.literal;
      b.args = {id};
      b.pos = n.pos;
      return Add(std::move(b));
    }
    return id;
  }

  Node Make(Op op, Type type, const Ctx& ctx, expr::Pos pos) {
    Node n;
    n.op = op;
    n.type = type;
    n.entity = ctx.entity;
    n.pos = MapPos(*ctx.src, pos);
    return n;
  }

  int Bind(const expr::Expr& e, const Ctx& ctx) {
    switch (e.kind) {
      case expr::ExprKind::kNumber: {
        auto v = decimal::Parse(e.text);
        if (!v) return Fail(ctx, e.pos, fmt::format("the number {} has more than 6 decimals or is too large", e.text));
        Node n = Make(Op::kConst, Type::kNumber, ctx, e.pos);
        n.imm = *v;
        n.literal = true;
        return Add(std::move(n));
      }
      case expr::ExprKind::kString: {
        Node n = Make(Op::kConst, Type::kText, ctx, e.pos);
        n.imm = static_cast<int64_t>(TextValue(e.text));
        n.literal = true;
        int id = Add(std::move(n));
        string_literals_[id] = e.text;
        return id;
      }
      case expr::ExprKind::kBool: {
        Node n = Make(Op::kConst, Type::kBool, ctx, e.pos);
        n.imm = e.text == "true";
        return Add(std::move(n));
      }
      case expr::ExprKind::kName:
        return BindName(e, ctx);
      case expr::ExprKind::kIndex:
        return BindIndex(e, ctx);
      case expr::ExprKind::kUnary: {
        int a = Bind(*e.args[0], ctx);
        if (a < 0) return -1;
        if (e.text == "not") {
          if (At(a).type != Type::kBool) {
            return Fail(ctx, e.args[0]->pos, fmt::format("'not' needs true/false, not {}", TypeName(At(a).type, At(a).period)));
          }
          Node n = Make(Op::kNot, Type::kBool, ctx, e.pos);
          n.args = {a};
          return Add(std::move(n));
        }
        if (!IsNumeric(At(a).type)) {
          return Fail(ctx, e.args[0]->pos, fmt::format("'-' needs a number or money, not {}", TypeName(At(a).type, At(a).period)));
        }
        Node n = Make(Op::kNeg, At(a).type, ctx, e.pos);
        n.period = At(a).period;
        n.literal = At(a).literal;
        n.args = {a};
        return Add(std::move(n));
      }
      case expr::ExprKind::kBinary:
        return BindBinary(e, ctx);
      case expr::ExprKind::kIf:
        return BindIf(e, ctx);
      case expr::ExprKind::kCall:
        return BindCall(e, ctx);
    }
    return -1;
  }

  int BindName(const expr::Expr& e, const Ctx& ctx) {
    if (e.text == "as_of") return Add(Make(Op::kAsOf, Type::kDate, ctx, e.pos));
    if (e.text == "members") {
      return Fail(ctx, e.pos, "'members' is only the first argument of sum, count, any or all");
    }
    if (e.text.find('.') != std::string::npos) {
      int p = rs_->FindParameter(e.text);
      if (p < 0) return Fail(ctx, e.pos, fmt::format("unknown parameter '{}'", e.text));
      const Parameter& param = rs_->parameters_[p];
      if (!param.breakdown.empty()) {
        return Fail(ctx, e.pos, fmt::format("{} is a table by {}: write {}[{}]", e.text, param.breakdown, e.text, param.breakdown));
      }
      if (param.brackets) {
        return Fail(ctx, e.pos, fmt::format("{} is a set of brackets: use bracket({}, x) or scale({}, x)", e.text, e.text, e.text));
      }
      Node n = Make(Op::kParam, param.type, ctx, e.pos);
      n.period = param.period;
      n.parameter = p;
      return Add(std::move(n));
    }
    int s = rs_->FindSymbol(e.text);
    if (s < 0) return Fail(ctx, e.pos, fmt::format("unknown name '{}'{}", e.text, Suggest(e.text)));
    const Symbol& sym = rs_->symbols_[s];
    if (sym.entity == Entity::kPerson && ctx.entity == Entity::kHousehold) {
      return Fail(ctx, e.pos, fmt::format("{} is a value for each member: use it inside sum, count, any or all(members, ...)", e.text));
    }
    Node n = Make(Op::kSymbol, sym.type, ctx, e.pos);
    n.entity = sym.entity;
    n.period = sym.period;
    n.symbol = s;
    return Broadcast(Add(std::move(n)), ctx);
  }

  std::string Suggest(const std::string& name) {
    // The closest defined name by edit distance, when it is close.
    auto distance = [](const std::string& a, const std::string& b) {
      std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
      for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
      for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
          cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
        }
        std::swap(prev, cur);
      }
      return prev[b.size()];
    };
    std::string best;
    size_t best_d = 3;
    for (const auto& s : rs_->symbols_) {
      size_t d = distance(name, s.name);
      if (d < best_d) {
        best_d = d;
        best = s.name;
      }
    }
    return best.empty() ? "" : fmt::format(" (did you mean {}?)", best);
  }

  int BindIndex(const expr::Expr& e, const Ctx& ctx) {
    const expr::Expr& base = *e.args[0];
    int p = rs_->FindParameter(base.text);
    if (base.text.find('.') == std::string::npos || p < 0) {
      return Fail(ctx, base.pos, fmt::format("only a parameter table can be indexed; '{}' is not a parameter", base.text));
    }
    const Parameter& param = rs_->parameters_[p];
    if (param.breakdown.empty()) {
      return Fail(ctx, base.pos, fmt::format("{} has no breakdown: write it without [...]", base.text));
    }
    int key = Bind(*e.args[1], ctx);
    if (key < 0) return -1;
    if (At(key).type != Type::kNumber) {
      return Fail(ctx, e.args[1]->pos, fmt::format("the key of {} must be a number, not {}", base.text, TypeName(At(key).type, At(key).period)));
    }
    Node n = Make(Op::kParamIndex, param.type, ctx, base.pos);
    n.period = param.period;
    n.parameter = p;
    n.args = {key};
    n.entity = At(key).entity;
    return Add(std::move(n));
  }

  int BindBinary(const expr::Expr& e, const Ctx& ctx) {
    int a = Bind(*e.args[0], ctx);
    int b = a < 0 ? -1 : Bind(*e.args[1], ctx);
    if (a < 0 || b < 0) return -1;
    const std::string& op = e.text;
    auto type_of = [&](int id) { return TypeName(At(id).type, At(id).period); };
    if (op == "and" || op == "or") {
      for (int id : {a, b}) {
        if (At(id).type != Type::kBool) {
          return Fail(ctx, e.pos, fmt::format("'{}' needs true/false on both sides, not {}", op, type_of(id)));
        }
      }
      Node n = Make(op == "and" ? Op::kAnd : Op::kOr, Type::kBool, ctx, e.pos);
      n.args = {a, b};
      return Add(std::move(n));
    }
    if (op == "+" || op == "-") {
      if (!IsNumeric(At(a).type) || !IsNumeric(At(b).type) || !Unify(a, b)) {
        return Fail(ctx, e.pos, fmt::format("cannot {} {} and {}", op == "+" ? "add" : "subtract", type_of(a), type_of(b)));
      }
      auto period = JoinPeriods(ctx, e.pos, a, b, op == "+" ? "add" : "subtract");
      if (!period) return -1;
      Node n = Make(op == "+" ? Op::kAdd : Op::kSub, At(a).type, ctx, e.pos);
      n.period = *period;
      n.literal = At(a).literal && At(b).literal;
      n.args = {a, b};
      return Add(std::move(n));
    }
    if (op == "*" || op == "/") {
      Type ta = At(a).type, tb = At(b).type;
      if (!IsNumeric(ta) || !IsNumeric(tb)) {
        return Fail(ctx, e.pos, fmt::format("cannot {} {} by {}", op == "*" ? "multiply" : "divide", type_of(a), type_of(b)));
      }
      Node n = Make(op == "*" ? Op::kMul : Op::kDiv, Type::kNumber, ctx, e.pos);
      n.args = {a, b};
      n.literal = At(a).literal && At(b).literal;
      if (op == "*") {
        if (ta == Type::kMoney && tb == Type::kMoney) {
          return Fail(ctx, e.pos, "cannot multiply money by money");
        }
        if (ta == Type::kMoney || tb == Type::kMoney) {
          n.type = Type::kMoney;
          n.period = ta == Type::kMoney ? At(a).period : At(b).period;
        }
      } else {
        if (ta == Type::kNumber && tb == Type::kMoney) {
          if (!At(a).literal) return Fail(ctx, e.pos, "cannot divide a number by money");
          PromoteLiteral(a);
          ta = Type::kMoney;
        }
        if (ta == Type::kMoney && tb == Type::kMoney) {
          auto period = JoinPeriods(ctx, e.pos, a, b, "divide");
          if (!period) return -1;
          n.type = Type::kNumber;
        } else if (ta == Type::kMoney) {
          n.type = Type::kMoney;
          n.period = At(a).period;
        }
      }
      return Add(std::move(n));
    }
    // Comparisons.
    static const std::map<std::string, Op, std::less<>> kCmp = {{"==", Op::kEq}, {"!=", Op::kNe}, {"<", Op::kLt},
                                                                {"<=", Op::kLe}, {">", Op::kGt},  {">=", Op::kGe}};
    Op cop = kCmp.at(op);
    Type ta = At(a).type, tb = At(b).type;
    bool ordered = cop != Op::kEq && cop != Op::kNe;
    if (ta == Type::kEnum || tb == Type::kEnum) {
      if (ordered) return Fail(ctx, e.pos, "choices are compared with == and != only");
      int en = ta == Type::kEnum ? a : b;
      int other = en == a ? b : a;
      const Symbol* sym = EnumSymbol(en);
      if (At(other).type == Type::kText && At(other).literal && sym) {
        const std::string& text = string_literals_[other];
        auto it = std::find(sym->enum_values.begin(), sym->enum_values.end(), text);
        if (it == sym->enum_values.end()) {
          std::string list;
          for (const auto& v : sym->enum_values) list += (list.empty() ? "" : ", ") + v;
          return Fail(ctx, e.args[en == a ? 1 : 0]->pos, fmt::format("'{}' is not a value of {} ({})", text, sym->name, list));
        }
        At(other).type = Type::kEnum;
        At(other).imm = it - sym->enum_values.begin();
      } else if (At(other).type == Type::kEnum) {
        const Symbol* s2 = EnumSymbol(other);
        if (!sym || !s2 || sym->enum_values != s2->enum_values) {
          return Fail(ctx, e.pos, "these two choices have different values and cannot be compared");
        }
      } else {
        return Fail(ctx, e.pos, fmt::format("cannot compare a choice with {}", type_of(other)));
      }
    } else if (IsNumeric(ta) && IsNumeric(tb)) {
      if (!Unify(a, b)) return Fail(ctx, e.pos, fmt::format("cannot compare {} with {}", type_of(a), type_of(b)));
      if (!JoinPeriods(ctx, e.pos, a, b, "compare")) return -1;
    } else if (ta != tb) {
      return Fail(ctx, e.pos, fmt::format("cannot compare {} with {}", type_of(a), type_of(b)));
    } else if (ordered && (ta == Type::kBool || ta == Type::kText)) {
      return Fail(ctx, e.pos, fmt::format("{} is compared with == and != only", type_of(a)));
    }
    Node n = Make(cop, Type::kBool, ctx, e.pos);
    n.args = {a, b};
    return Add(std::move(n));
  }

  const Symbol* EnumSymbol(int id) {
    const Node* n = &At(id);
    while (n->op == Op::kBroadcast) n = &At(n->args[0]);
    if (n->op == Op::kSymbol) return &rs_->symbols_[n->symbol];
    return nullptr;
  }

  // Brings branches of `if`, `min`, `max` to one type. Returns false with an error recorded.
  bool UnifyAll(const Ctx& ctx, expr::Pos pos, const std::vector<int>& ids, std::string_view what) {
    int money = -1;
    for (int id : ids) if (At(id).type == Type::kMoney) money = id;
    for (int id : ids) {
      if (money >= 0 && !Unify(money, id)) {
        Fail(ctx, pos, fmt::format("{} mixes {} and {}", what, TypeName(At(money).type, At(money).period),
                                   TypeName(At(id).type, At(id).period)));
        return false;
      }
      if (At(id).type != At(ids[0]).type) {
        Fail(ctx, pos, fmt::format("{} mixes {} and {}", what, TypeName(At(ids[0]).type, At(ids[0]).period),
                                   TypeName(At(id).type, At(id).period)));
        return false;
      }
      if (money >= 0 && !JoinPeriods(ctx, pos, money, id, "mix")) return false;
    }
    if (At(ids[0]).type == Type::kEnum) {
      for (int id : ids) {
        const Symbol* a = EnumSymbol(ids[0]);
        const Symbol* b = EnumSymbol(id);
        if (!a || !b || a->enum_values != b->enum_values) {
          Fail(ctx, pos, fmt::format("{} mixes different choices", what));
          return false;
        }
      }
    }
    return true;
  }

  Period PeriodOfAll(const std::vector<int>& ids) {
    for (int id : ids) if (At(id).period != Period::kNone) return At(id).period;
    return Period::kNone;
  }

  int BindIf(const expr::Expr& e, const Ctx& ctx) {
    std::vector<int> args;
    std::vector<int> branches;
    for (size_t i = 0; i < e.args.size(); ++i) {
      int id = Bind(*e.args[i], ctx);
      if (id < 0) return -1;
      bool is_cond = i + 1 < e.args.size() && i % 2 == 0;
      if (is_cond && At(id).type != Type::kBool) {
        return Fail(ctx, e.args[i]->pos, fmt::format("the condition of 'if' must be true/false, not {}", TypeName(At(id).type, At(id).period)));
      }
      if (!is_cond) branches.push_back(id);
      args.push_back(id);
    }
    if (!UnifyAll(ctx, e.pos, branches, "'if'")) return -1;
    Node n = Make(Op::kIf, At(branches[0]).type, ctx, e.pos);
    n.period = PeriodOfAll(branches);
    n.args = std::move(args);
    n.literal = std::all_of(branches.begin(), branches.end(), [&](int id) { return At(id).literal; });
    return Add(std::move(n));
  }

  int BindCall(const expr::Expr& e, const Ctx& ctx) {
    const std::string& f = e.text;
    auto arity = [&](size_t lo, size_t hi) {
      if (e.args.size() < lo || e.args.size() > hi) {
        std::string want = lo == hi ? fmt::format("{}", lo) : hi > 50 ? fmt::format("at least {}", lo) : fmt::format("{} to {}", lo, hi);
        Fail(ctx, e.pos, fmt::format("{}() takes {} argument{}, not {}", f, want, (lo == 1 && hi == 1) ? "" : "s", e.args.size()));
        return false;
      }
      return true;
    };
    auto type_of = [&](int id) { return TypeName(At(id).type, At(id).period); };
    if (f == "sum" || f == "count" || f == "any" || f == "all") {
      if (!arity(f == "count" ? 1 : 2, f == "sum" ? 3 : 2)) return -1;
      if (e.args[0]->kind != expr::ExprKind::kName || e.args[0]->text != "members") {
        return Fail(ctx, e.args[0]->pos, fmt::format("the first argument of {}() is 'members'", f));
      }
      if (ctx.entity == Entity::kPerson) return Fail(ctx, e.pos, fmt::format("{}() cannot be used inside another sum, count, any or all", f));
      Ctx inner{ctx.src, Entity::kPerson};
      std::vector<int> args;
      for (size_t i = 1; i < e.args.size(); ++i) {
        int id = Bind(*e.args[i], inner);
        if (id < 0) return -1;
        args.push_back(Broadcast(id, inner));
      }
      Node n = Make(Op::kSum, Type::kNumber, ctx, e.pos);
      if (f == "sum") {
        if (!IsNumeric(At(args[0]).type)) return Fail(ctx, e.args[1]->pos, fmt::format("sum() adds numbers or money, not {}", type_of(args[0])));
        if (args.size() > 1 && At(args[1]).type != Type::kBool) {
          return Fail(ctx, e.args[2]->pos, fmt::format("the filter of sum() must be true/false, not {}", type_of(args[1])));
        }
        n.type = At(args[0]).type;
        n.period = At(args[0]).period;
      } else {
        for (size_t i = 0; i < args.size(); ++i) {
          if (At(args[i]).type != Type::kBool) {
            return Fail(ctx, e.args[i + 1]->pos, fmt::format("{}() needs a true/false condition, not {}", f, type_of(args[i])));
          }
        }
        n.op = f == "count" ? Op::kCount : f == "any" ? Op::kAny : Op::kAll;
        n.type = f == "count" ? Type::kNumber : Type::kBool;
      }
      n.args = std::move(args);
      return Add(std::move(n));
    }
    if (f == "date") {
      if (!arity(1, 1)) return -1;
      if (e.args[0]->kind != expr::ExprKind::kString) return Fail(ctx, e.args[0]->pos, "date() takes a text like \"2025-10-01\"");
      auto d = core::Date::Parse(e.args[0]->text);
      if (!d.ok()) return Fail(ctx, e.args[0]->pos, fmt::format("'{}' is not a date like 2025-10-01", e.args[0]->text));
      Node n = Make(Op::kConst, Type::kDate, ctx, e.pos);
      n.imm = d->ToDays();
      return Add(std::move(n));
    }
    if (f == "bracket" || f == "scale") {
      if (!arity(2, 2)) return -1;
      const expr::Expr& pe = *e.args[0];
      int p = pe.kind == expr::ExprKind::kName ? rs_->FindParameter(pe.text) : -1;
      if (p < 0 || !rs_->parameters_[p].brackets) {
        return Fail(ctx, pe.pos, fmt::format("the first argument of {}() is a parameter with brackets", f));
      }
      int x = Bind(*e.args[1], ctx);
      if (x < 0) return -1;
      if (!IsNumeric(At(x).type)) return Fail(ctx, e.args[1]->pos, fmt::format("{}() needs a number or money, not {}", f, type_of(x)));
      const Parameter& param = rs_->parameters_[p];
      Node n = Make(f == "bracket" ? Op::kBracket : Op::kScale, param.type, ctx, e.pos);
      n.parameter = p;
      n.period = param.period;
      n.args = {x};
      if (f == "scale") {
        if (param.type != Type::kNumber) return Fail(ctx, pe.pos, "scale() needs brackets of rates (type number)");
        n.type = At(x).type;
        n.period = At(x).period;
      }
      return Add(std::move(n));
    }
    std::vector<int> args;
    for (const auto& a : e.args) {
      int id = Bind(*a, ctx);
      if (id < 0) return -1;
      args.push_back(id);
    }
    if (f == "min" || f == "max") {
      if (!arity(2, 1000)) return -1;
      for (size_t i = 0; i < args.size(); ++i) {
        if (!IsNumeric(At(args[i]).type)) return Fail(ctx, e.args[i]->pos, fmt::format("{}() needs numbers or money, not {}", f, type_of(args[i])));
      }
      if (!UnifyAll(ctx, e.pos, args, f + "()")) return -1;
      Node n = Make(f == "min" ? Op::kMin : Op::kMax, At(args[0]).type, ctx, e.pos);
      n.period = PeriodOfAll(args);
      n.literal = std::all_of(args.begin(), args.end(), [&](int id) { return At(id).literal; });
      n.args = std::move(args);
      return Add(std::move(n));
    }
    if (f == "abs") {
      if (!arity(1, 1)) return -1;
      if (!IsNumeric(At(args[0]).type)) return Fail(ctx, e.args[0]->pos, fmt::format("abs() needs a number or money, not {}", type_of(args[0])));
      Node n = Make(Op::kAbs, At(args[0]).type, ctx, e.pos);
      n.period = At(args[0]).period;
      n.args = std::move(args);
      return Add(std::move(n));
    }
    if (f == "round" || f == "floor" || f == "ceil") {
      if (!arity(2, 2)) return -1;
      if (!IsNumeric(At(args[0]).type)) return Fail(ctx, e.args[0]->pos, fmt::format("{}() needs a number or money, not {}", f, type_of(args[0])));
      if (At(args[1]).type == Type::kMoney && At(args[0]).type == Type::kMoney) At(args[1]).type = Type::kNumber;
      if (At(args[1]).type != Type::kNumber) return Fail(ctx, e.args[1]->pos, fmt::format("the unit of {}() is a number like 1 or 0.01", f));
      Node n = Make(f == "round" ? Op::kRound : f == "floor" ? Op::kFloor : Op::kCeil, At(args[0]).type, ctx, e.pos);
      n.period = At(args[0]).period;
      n.args = std::move(args);
      return Add(std::move(n));
    }
    if (f == "monthly" || f == "yearly") {
      if (!arity(1, 1)) return -1;
      Period from = f == "monthly" ? Period::kYear : Period::kMonth;
      if (At(args[0]).type != Type::kMoney || At(args[0]).period == (f == "monthly" ? Period::kMonth : Period::kYear)) {
        return Fail(ctx, e.args[0]->pos, fmt::format("{}() converts {}, not {}", f, TypeName(Type::kMoney, from), type_of(args[0])));
      }
      Node n = Make(f == "monthly" ? Op::kMonthly : Op::kYearly, Type::kMoney, ctx, e.pos);
      n.period = f == "monthly" ? Period::kMonth : Period::kYear;
      n.args = std::move(args);
      return Add(std::move(n));
    }
    if (f == "years_between" || f == "months_between") {
      if (!arity(2, 2)) return -1;
      for (size_t i = 0; i < 2; ++i) {
        if (At(args[i]).type != Type::kDate) return Fail(ctx, e.args[i]->pos, fmt::format("{}() needs two dates, not {}", f, type_of(args[i])));
      }
      Node n = Make(f == "years_between" ? Op::kYearsBetween : Op::kMonthsBetween, Type::kNumber, ctx, e.pos);
      n.args = std::move(args);
      return Add(std::move(n));
    }
    if (f == "known") {
      if (!arity(1, 1)) return -1;
      Node n = Make(Op::kKnown, Type::kBool, ctx, e.pos);
      n.args = std::move(args);
      return Add(std::move(n));
    }
    return Fail(ctx, e.pos, fmt::format("unknown function {}()", f));
  }

  bool CheckDeclared(const Symbol& s, int root, const Pending& p) {
    Node& n = At(root);
    if (s.type == Type::kMoney && n.type == Type::kNumber && n.literal) PromoteLiteral(root);
    if (n.type != s.type) {
      Error(MapPos(p, {1, 1}), fmt::format("{} is declared as {} but its formula gives {}", s.name, TypeName(s.type, s.period),
                                           TypeName(n.type, n.period)));
      return false;
    }
    if (s.type == Type::kMoney && n.period != Period::kNone && n.period != s.period) {
      Error(MapPos(p, {1, 1}), fmt::format("{} is declared as {} but its formula gives {}; convert with monthly(...) or yearly(...)",
                                           s.name, TypeName(s.type, s.period), TypeName(n.type, n.period)));
      return false;
    }
    return true;
  }

  // A parameter's breakdown names the integer input its table is keyed by (docs/rules.md).
  void CheckBreakdowns() {
    for (const auto& p : rs_->parameters_) {
      if (p.breakdown.empty()) continue;
      const int s = rs_->FindSymbol(p.breakdown);
      if (s < 0) {
        Error(p.pos,
              fmt::format("{}: breakdown names '{}', which is not an input", p.name, p.breakdown));
      } else if (!rs_->symbols_[s].is_input || rs_->symbols_[s].type != Type::kNumber ||
                 !rs_->symbols_[s].integer) {
        Error(p.pos, fmt::format("{}: breakdown names '{}', which is not an integer input", p.name,
                                 p.breakdown));
      }
    }
  }

  void BindAll() {
    for (auto& pf : pending_formulas_) {
      Symbol& s = rs_->symbols_[pf.symbol];
      int root = BindText(pf.source, s.entity, s.name);
      if (root < 0) continue;
      if (!CheckDeclared(rs_->symbols_[pf.symbol], root, pf.source)) continue;
      rs_->symbols_[pf.symbol].formulas[pf.formula].root = root;
    }
    for (auto& pp : pending_programs_) {
      Program& prog = rs_->programs_[pp.index];
      Node all;
      all.op = Op::kAllTests;
      all.type = Type::kBool;
      all.pos = prog.pos;
      for (size_t i = 0; i < pp.tests.size(); ++i) {
        ProgramTest& t = rs_->programs_[pp.index].tests[i];
        // A placeholder that names nothing would reach staff and citizens as written.
        for (const auto& [which, text] :
             {std::pair{"pass", &t.pass_message}, std::pair{"fail", &t.fail_message}}) {
          for (size_t open = text->find('{'); open != std::string::npos;
               open = text->find('{', open + 1)) {
            const size_t close = text->find('}', open);
            if (close == std::string::npos) break;
            const std::string key = text->substr(open + 1, close - open - 1);
            if (key == "value" || key == "limit" || key == "margin") continue;
            if (const int s = rs_->FindSymbol(key); s >= 0) {
              // A member's value has one answer per member, and the message is about the household.
              if (rs_->symbols_[static_cast<size_t>(s)].entity != Entity::kPerson) continue;
              Error(t.pos,
                    fmt::format(
                        "the {} message of test {} has {{{}}}, a value for each member, which a "
                        "message about the household cannot give: name a household value, or "
                        "{{value}}, {{limit}} or {{margin}}",
                        which, t.name, key));
              continue;
            }
            Error(t.pos,
                  fmt::format(
                      "the {} message of test {} has {{{}}}, which names nothing: use {{value}}, "
                      "{{limit}}, {{margin}} or the name of a variable or input",
                      which, t.name, key));
          }
        }
        int cond = BindText(pp.tests[i].first, Entity::kHousehold, fmt::format("test {}", t.name));
        int applies = -1;
        if (pp.tests[i].second) {
          applies = BindText(*pp.tests[i].second, Entity::kHousehold, fmt::format("test {} applies_if", t.name));
          if (applies < 0) continue;
          if (At(applies).type != Type::kBool) {
            Error(MapPos(*pp.tests[i].second, {1, 1}), fmt::format("applies_if of test {} must be true/false", t.name));
            continue;
          }
        }
        if (cond < 0) continue;
        if (At(cond).type != Type::kBool) {
          Error(MapPos(pp.tests[i].first, {1, 1}), fmt::format("the condition of test {} must be true/false, not {}", t.name,
                                                               TypeName(At(cond).type, At(cond).period)));
          continue;
        }
        t.condition = cond;
        t.applies_if = applies;
        switch (At(cond).op) {
          case Op::kLt: case Op::kLe: case Op::kGt: case Op::kGe: case Op::kEq: case Op::kNe:
            if (IsNumeric(At(At(cond).args[0]).type)) {
              t.value_node = At(cond).args[0];
              t.limit_node = At(cond).args[1];
            }
            break;
          default:
            break;
        }
        all.args.push_back(applies);
        all.args.push_back(cond);
      }
      int all_id = Add(std::move(all));
      rs_->symbols_[rs_->programs_[pp.index].eligible_symbol].formulas.push_back({core::Date{}, all_id, "all tests pass"});
      if (pp.amount) {
        int amount = BindText(*pp.amount, Entity::kHousehold, "outcome amount");
        if (amount >= 0) {
          if (At(amount).type == Type::kNumber && At(amount).literal) PromoteLiteral(amount);
          if (At(amount).type != Type::kMoney) {
            Error(MapPos(*pp.amount, {1, 1}), fmt::format("the outcome amount must be money, not {}", TypeName(At(amount).type, At(amount).period)));
          } else {
            rs_->programs_[pp.index].amount_node = amount;
          }
        }
      }
    }
  }

  // Direct symbol references of a node tree.
  void Refs(int node, std::vector<int>& symbols, std::vector<int>& params) {
    const Node& n = At(node);
    if (n.op == Op::kSymbol) symbols.push_back(n.symbol);
    if (n.parameter >= 0) params.push_back(n.parameter);
    for (int a : n.args) if (a >= 0) Refs(a, symbols, params);
  }

  void CheckCycles() {
    size_t n = rs_->symbols_.size();
    std::vector<int> state(n, 0);  // 0 new, 1 on the path, 2 done
    std::vector<size_t> chain(n, 0);  // the longest chain of variables from each, itself included
    std::vector<int> path;
    // A variable is evaluated inside those that use it: a chain this long would exhaust the stack.
    constexpr size_t kMaxChain = 200;
    auto too_deep = [&](int s, size_t length) {
      Error(rs_->symbols_[s].pos,
            fmt::format("variables depend on each other too deeply: {} starts a chain of {} or more variables, each "
                        "using the next (at most {})",
                        rs_->symbols_[s].name, length, kMaxChain));
      return false;
    };
    std::function<bool(int)> visit = [&](int s) -> bool {
      if (state[s] == 2) return true;
      if (state[s] == 1) {
        auto it = std::find(path.begin(), path.end(), s);
        std::string cycle;
        for (; it != path.end(); ++it) cycle += rs_->symbols_[*it].name + " -> ";
        cycle += rs_->symbols_[s].name;
        Error(rs_->symbols_[s].pos, fmt::format("variables depend on each other in a cycle: {}", cycle));
        return false;
      }
      if (path.size() >= kMaxChain) return too_deep(path.front(), path.size() + 1);
      state[s] = 1;
      path.push_back(s);
      std::vector<int> syms, params;
      for (const auto& f : rs_->symbols_[s].formulas) if (f.root >= 0) Refs(f.root, syms, params);
      size_t longest = 0;
      for (int d : syms) {
        if (!visit(d)) return false;
        longest = std::max(longest, chain[d]);
      }
      chain[s] = longest + 1;
      if (chain[s] > kMaxChain) return too_deep(s, chain[s]);
      path.pop_back();
      state[s] = 2;
      return true;
    };
    for (size_t s = 0; s < n; ++s) {
      if (!visit(static_cast<int>(s))) return;
    }
  }

  void Closure(int node, std::vector<bool>& seen_sym, std::vector<bool>& seen_param) {
    std::vector<int> syms, params;
    Refs(node, syms, params);
    for (int p : params) seen_param[p] = true;
    for (int s : syms) {
      if (seen_sym[s]) continue;
      seen_sym[s] = true;
      for (const auto& f : rs_->symbols_[s].formulas) if (f.root >= 0) Closure(f.root, seen_sym, seen_param);
    }
  }

  static std::vector<int> Indices(const std::vector<bool>& flags) {
    std::vector<int> out;
    for (size_t i = 0; i < flags.size(); ++i) if (flags[i]) out.push_back(static_cast<int>(i));
    return out;
  }

  void ComputeClosures() {
    for (auto& prog : rs_->programs_) {
      std::vector<bool> all_sym(rs_->symbols_.size()), all_param(rs_->parameters_.size());
      for (auto& t : prog.tests) {
        std::vector<bool> sym(rs_->symbols_.size()), param(rs_->parameters_.size());
        Closure(t.condition, sym, param);
        if (t.applies_if >= 0) Closure(t.applies_if, sym, param);
        t.symbols = Indices(sym);
        t.parameters = Indices(param);
        for (size_t i = 0; i < sym.size(); ++i) all_sym[i] = all_sym[i] || sym[i];
        for (size_t i = 0; i < param.size(); ++i) all_param[i] = all_param[i] || param[i];
      }
      if (prog.amount_node >= 0) Closure(prog.amount_node, all_sym, all_param);
      prog.symbols = Indices(all_sym);
      prog.parameters = Indices(all_param);
    }
  }

  core::Date today_;
  std::vector<std::string>* warnings_;
  std::unique_ptr<RuleSet> rs_;
  std::vector<Source> sources_;
  std::vector<std::string> errors_;
  std::map<std::string, SourcePos> names_;
  std::vector<PendingFormula> pending_formulas_;
  std::vector<PendingProgram> pending_programs_;
  std::unordered_map<int, std::string> string_literals_;
};

core::StatusOr<std::unique_ptr<RuleSet>> RuleSet::LoadText(
    const std::vector<std::pair<std::string, std::string>>& files, core::Date today,
    std::vector<std::string>* warnings) {
  RuleLoader loader(today, warnings);
  return loader.Run(files);
}

core::StatusOr<std::unique_ptr<RuleSet>> RuleSet::Load(const std::vector<std::string>& dirs, core::Date today,
                                                       std::vector<std::string>* warnings) {
  namespace fs = std::filesystem;
  std::vector<std::string> paths;
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (fs::is_regular_file(dir, ec)) {
      paths.push_back(dir);
      continue;
    }
    if (!fs::is_directory(dir, ec)) return core::Status::NotFound(fmt::format("rules directory {} does not exist", dir));
    for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (it->is_directory() && it->path().filename() == "tests") {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file() && it->path().extension() == ".yaml") paths.push_back(it->path().string());
    }
    if (ec) return core::Status::Unavailable(fmt::format("cannot read the rules directory {}: {}", dir, ec.message()));
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& p : paths) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return core::Status::Unavailable(fmt::format("cannot read {}", p));
    std::stringstream ss;
    ss << in.rdbuf();
    files.emplace_back(p, ss.str());
  }
  return LoadText(files, today, warnings);
}

}  // namespace eligibility
