#include "eligibility/evaluator.h"

#include <algorithm>

#include <fmt/format.h>

#include "eligibility/decimal.h"

namespace eligibility {
namespace {

uint64_t HashText(std::string_view s) {  // must match rule_set.cc
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

inline uint8_t Merge(uint8_t a, uint8_t b) { return a > b ? a : b; }

}  // namespace

core::StatusOr<int64_t> ParseValue(const Symbol& symbol, std::string_view text, const std::string& field) {
  auto bad = [&](std::string message) {
    return core::Status::InvalidArgument(fmt::format("{}: {}", field, message), {{field, message}});
  };
  switch (symbol.type) {
    case Type::kBool:
      if (text == "true") return 1;
      if (text == "false") return 0;
      return bad("expected true or false");
    case Type::kNumber:
    case Type::kMoney: {
      auto v = decimal::Parse(text);
      if (!v) return bad(symbol.type == Type::kMoney ? "expected an amount like 1234.56" : "expected a number");
      if (symbol.integer && *v % decimal::kScale != 0) return bad("expected a whole number");
      if (symbol.min && *v < *symbol.min) return bad(fmt::format("must be at least {}", decimal::ToString(*symbol.min)));
      if (symbol.max && *v > *symbol.max) return bad(fmt::format("must be at most {}", decimal::ToString(*symbol.max)));
      return *v;
    }
    case Type::kDate: {
      auto d = core::Date::Parse(text);
      if (!d.ok()) return bad("expected a date like 2025-10-01");
      return d->ToDays();
    }
    case Type::kText:
      return static_cast<int64_t>(HashText(text));
    case Type::kEnum: {
      auto it = std::find(symbol.enum_values.begin(), symbol.enum_values.end(), text);
      if (it == symbol.enum_values.end()) {
        std::string list;
        for (const auto& v : symbol.enum_values) list += (list.empty() ? "" : ", ") + v;
        return bad(fmt::format("expected one of {}", list));
      }
      return it - symbol.enum_values.begin();
    }
  }
  return bad("unsupported type");
}

Batch::Batch(const RuleSet& rules) : rules_(rules) {
  given_.resize(rules.symbols().size());
  any_given_.assign(rules.symbols().size(), 0);
  member_begin_.push_back(0);
}

void Batch::Clear() {
  for (auto& c : given_) {
    c.v.clear();
    c.s.clear();
  }
  std::fill(any_given_.begin(), any_given_.end(), 0);
  member_begin_.assign(1, 0);
  member_household_.clear();
}

core::Status Batch::Add(const HouseholdInput& household) {
  const auto& symbols = rules_.symbols();
  // Parse everything first, so that a bad value appends nothing.
  std::vector<std::pair<int, int64_t>> values;
  for (const auto& [name, text] : household.values) {
    int s = rules_.FindSymbol(name);
    if (s < 0) return core::Status::InvalidArgument(fmt::format("{}: unknown input", name), {{name, "unknown input"}});
    if (symbols[s].entity == Entity::kPerson) {
      return core::Status::InvalidArgument(fmt::format("{}: a value for each member: give it under members", name),
                                           {{name, "a value for each member: give it under members"}});
    }
    ASSIGN_OR_RETURN(int64_t v, ParseValue(symbols[s], text, name));
    values.emplace_back(s, v);
  }
  std::vector<std::vector<std::pair<int, int64_t>>> members(household.members.size());
  for (size_t m = 0; m < household.members.size(); ++m) {
    for (const auto& [name, text] : household.members[m]) {
      std::string field = fmt::format("members/{}/{}", m, name);
      int s = rules_.FindSymbol(name);
      if (s < 0) return core::Status::InvalidArgument(fmt::format("{}: unknown input", field), {{field, "unknown input"}});
      if (symbols[s].entity != Entity::kPerson) {
        return core::Status::InvalidArgument(fmt::format("{}: a value for the household, not for a member", field),
                                             {{field, "a value for the household, not for a member"}});
      }
      ASSIGN_OR_RETURN(int64_t v, ParseValue(symbols[s], text, field));
      members[m].emplace_back(s, v);
    }
  }
  uint32_t h = static_cast<uint32_t>(households());
  for (size_t s = 0; s < symbols.size(); ++s) {
    Column& c = given_[s];
    size_t add = symbols[s].entity == Entity::kHousehold ? 1 : members.size();
    c.v.resize(c.v.size() + add, 0);
    c.s.resize(c.s.size() + add, kUnknown);
  }
  for (auto [s, v] : values) {
    given_[s].v.back() = v;
    given_[s].s.back() = kKnown;
    any_given_[s] = 1;
  }
  size_t first = member_household_.size();
  for (size_t m = 0; m < members.size(); ++m) {
    member_household_.push_back(h);
    for (auto [s, v] : members[m]) {
      given_[s].v[first + m] = v;
      given_[s].s[first + m] = kKnown;
      any_given_[s] = 1;
    }
  }
  member_begin_.push_back(static_cast<uint32_t>(member_household_.size()));
  return core::Status::Ok();
}

Evaluator::Evaluator(const RuleSet& rules) : rules_(rules) {
  size_t n = rules.nodes().size();
  node_epoch_.assign(n, 0);
  cols_.resize(n);
  result_.assign(n, nullptr);
  symbol_epoch_.assign(rules.symbols().size(), 0);
  sym_cols_.resize(rules.symbols().size());
  active_root_.assign(rules.symbols().size(), -1);
  params_.assign(rules.parameters().size(), nullptr);
  param_ended_.assign(rules.parameters().size(), 0);
}

void Evaluator::Run(const Batch& batch, core::Date as_of) {
  batch_ = &batch;
  as_of_ = as_of;
  as_of_days_ = as_of.ToDays();
  ++epoch_;
  const auto& symbols = rules_.symbols();
  for (size_t s = 0; s < symbols.size(); ++s) {
    int root = -1;
    for (const auto& f : symbols[s].formulas) {
      if (f.from <= as_of || f.from == core::Date{}) root = f.root;
    }
    active_root_[s] = root;
  }
  for (size_t p = 0; p < rules_.parameters().size(); ++p) {
    bool ended = false;
    params_[p] = rules_.parameters()[p].At(as_of, &ended);
    param_ended_[p] = ended;
  }
}

const ParameterValue* Evaluator::Parameter(int p, bool* ended) const {
  *ended = param_ended_[p];
  return params_[p];
}

bool Evaluator::Given(int symbol, uint32_t row) const {
  return batch_->given_[symbol].s[row] == kKnown;
}

size_t Evaluator::Rows(Entity e) const {
  return e == Entity::kHousehold ? batch_->households() : batch_->members();
}

Column& Evaluator::Own(int node, Entity e) {
  Column& c = cols_[node];
  size_t n = Rows(e);
  c.v.resize(n);
  c.s.resize(n);
  result_[node] = &c;
  return c;
}

const Column& Evaluator::Node(int node) {
  if (node_epoch_[node] != epoch_) {
    Compute(node);
    node_epoch_[node] = epoch_;
  }
  return *result_[node];
}

const Column& Evaluator::Symbol(int symbol) {
  if (symbol_epoch_[symbol] != epoch_) {
    ComputeSymbol(symbol);
    symbol_epoch_[symbol] = epoch_;
  }
  return sym_cols_[symbol];
}

void Evaluator::ComputeSymbol(int s) {
  const eligibility::Symbol& sym = rules_.symbols()[s];
  const Column& given = batch_->given_[s];
  Column& out = sym_cols_[s];
  size_t n = Rows(sym.entity);
  out.v.resize(n);
  out.s.resize(n);
  if (sym.is_input) {
    int64_t dv = sym.default_value.value_or(0);
    uint8_t ds = sym.default_value ? kKnown : kUnknown;
    for (size_t i = 0; i < n; ++i) {
      bool g = given.s[i] == kKnown;
      out.v[i] = g ? given.v[i] : dv;
      out.s[i] = g ? kKnown : ds;
    }
    return;
  }
  int root = active_root_[s];
  if (root < 0) {
    std::fill(out.v.begin(), out.v.end(), 0);
    std::fill(out.s.begin(), out.s.end(), kError);
  } else {
    const Column& f = Node(root);
    std::copy(f.v.begin(), f.v.end(), out.v.begin());
    std::copy(f.s.begin(), f.s.end(), out.s.begin());
  }
  if (batch_->any_given_[s]) {
    for (size_t i = 0; i < n; ++i) {
      if (given.s[i] == kKnown) {
        out.v[i] = given.v[i];
        out.s[i] = kKnown;
      }
    }
  }
}

void Evaluator::Compute(int id) {
  const eligibility::Node& node = rules_.nodes()[id];
  const auto& a = node.args;
  switch (node.op) {
    case Op::kSymbol:
      result_[id] = &Symbol(node.symbol);
      return;
    default:
      break;
  }
  // Children first (they may resize cols_ entries of other nodes, never this one).
  for (int c : a) if (c >= 0) Node(c);
  Column& out = Own(id, node.entity);
  const size_t n = out.v.size();
  int64_t* ov = out.v.data();
  uint8_t* os = out.s.data();
  auto arg = [&](size_t i) -> const Column& { return *result_[a[i]]; };

  switch (node.op) {
    case Op::kSymbol:
      return;
    case Op::kConst:
      std::fill(ov, ov + n, node.imm);
      std::fill(os, os + n, kKnown);
      return;
    case Op::kAsOf:
      std::fill(ov, ov + n, as_of_days_);
      std::fill(os, os + n, kKnown);
      return;
    case Op::kParam: {
      const ParameterValue* pv = params_[node.parameter];
      std::fill(ov, ov + n, pv ? pv->scalar : 0);
      std::fill(os, os + n, pv ? kKnown : kError);
      return;
    }
    case Op::kParamIndex: {
      const ParameterValue* pv = params_[node.parameter];
      const Column& key = arg(0);
      for (size_t i = 0; i < n; ++i) {
        os[i] = key.s[i];
        ov[i] = 0;
        if (os[i] != kKnown) continue;
        if (!pv || key.v[i] % decimal::kScale != 0 || pv->table.empty() || key.v[i] < pv->table.front().first) {
          os[i] = kError;
          continue;
        }
        int64_t k = key.v[i];
        const auto& t = pv->table;
        if (k >= t.back().first) {
          int64_t extra = (k - t.back().first) / decimal::kScale;
          int64_t add = pv->additional.value_or(0);
          decimal::Int128 v = static_cast<decimal::Int128>(t.back().second) + static_cast<decimal::Int128>(extra) * add;
          if (v > INT64_MAX || v < INT64_MIN) {
            os[i] = kError;
          } else {
            ov[i] = static_cast<int64_t>(v);
          }
          continue;
        }
        auto it = std::upper_bound(t.begin(), t.end(), std::make_pair(k, INT64_MAX));
        ov[i] = std::prev(it)->second;  // keys not listed take the nearest smaller key
      }
      return;
    }
    case Op::kBracket:
    case Op::kScale: {
      const ParameterValue* pv = params_[node.parameter];
      const Column& x = arg(0);
      for (size_t i = 0; i < n; ++i) {
        os[i] = x.s[i];
        ov[i] = 0;
        if (os[i] != kKnown) continue;
        if (!pv || pv->brackets.empty() || x.v[i] < pv->brackets.front().first) {
          os[i] = kError;
          continue;
        }
        const auto& b = pv->brackets;
        if (node.op == Op::kBracket) {
          auto it = std::upper_bound(b.begin(), b.end(), std::make_pair(x.v[i], INT64_MAX));
          ov[i] = std::prev(it)->second;
          continue;
        }
        int64_t total = 0;
        bool ok = true;
        for (size_t j = 0; j < b.size() && x.v[i] > b[j].first; ++j) {
          int64_t top = j + 1 < b.size() ? std::min(x.v[i], b[j + 1].first) : x.v[i];
          auto part = decimal::Mul(top - b[j].first, b[j].second);
          auto sum = part ? decimal::Add(total, *part) : std::nullopt;
          if (!sum) {
            ok = false;
            break;
          }
          total = *sum;
        }
        ov[i] = total;
        if (!ok) os[i] = kError;
      }
      return;
    }
    case Op::kBroadcast: {
      const Column& h = arg(0);
      const uint32_t* mh = batch_->member_household_.data();
      for (size_t i = 0; i < n; ++i) {
        ov[i] = h.v[mh[i]];
        os[i] = h.s[mh[i]];
      }
      return;
    }
    case Op::kNeg: {
      const Column& x = arg(0);
      for (size_t i = 0; i < n; ++i) {
        os[i] = x.s[i];
        if (x.v[i] == INT64_MIN) {
          os[i] = kError;
          ov[i] = 0;
        } else {
          ov[i] = -x.v[i];
        }
      }
      return;
    }
    case Op::kNot: {
      const Column& x = arg(0);
      for (size_t i = 0; i < n; ++i) {
        os[i] = x.s[i];
        ov[i] = !x.v[i];
      }
      return;
    }
    case Op::kAdd:
    case Op::kSub: {
      const int64_t* x = arg(0).v.data();
      const int64_t* y = arg(1).v.data();
      const uint8_t* xs = arg(0).s.data();
      const uint8_t* ys = arg(1).s.data();
      bool add = node.op == Op::kAdd;
      for (size_t i = 0; i < n; ++i) {
        int64_t r;
        bool overflow = add ? __builtin_add_overflow(x[i], y[i], &r) : __builtin_sub_overflow(x[i], y[i], &r);
        ov[i] = overflow ? 0 : r;
        os[i] = Merge(Merge(xs[i], ys[i]), overflow ? kError : kKnown);
      }
      return;
    }
    case Op::kMul:
    case Op::kDiv: {
      const Column& x = arg(0);
      const Column& y = arg(1);
      bool mul = node.op == Op::kMul;
      for (size_t i = 0; i < n; ++i) {
        uint8_t s = Merge(x.s[i], y.s[i]);
        auto r = s == kKnown ? (mul ? decimal::Mul(x.v[i], y.v[i]) : decimal::Div(x.v[i], y.v[i])) : std::optional<int64_t>(0);
        ov[i] = r.value_or(0);
        os[i] = r ? s : kError;
      }
      return;
    }
    case Op::kEq: case Op::kNe: case Op::kLt: case Op::kLe: case Op::kGt: case Op::kGe: {
      const int64_t* x = arg(0).v.data();
      const int64_t* y = arg(1).v.data();
      const uint8_t* xs = arg(0).s.data();
      const uint8_t* ys = arg(1).s.data();
      for (size_t i = 0; i < n; ++i) os[i] = Merge(xs[i], ys[i]);
      switch (node.op) {
        case Op::kEq: for (size_t i = 0; i < n; ++i) ov[i] = x[i] == y[i]; break;
        case Op::kNe: for (size_t i = 0; i < n; ++i) ov[i] = x[i] != y[i]; break;
        case Op::kLt: for (size_t i = 0; i < n; ++i) ov[i] = x[i] < y[i]; break;
        case Op::kLe: for (size_t i = 0; i < n; ++i) ov[i] = x[i] <= y[i]; break;
        case Op::kGt: for (size_t i = 0; i < n; ++i) ov[i] = x[i] > y[i]; break;
        default: for (size_t i = 0; i < n; ++i) ov[i] = x[i] >= y[i]; break;
      }
      return;
    }
    case Op::kAnd:
    case Op::kOr: {
      // false and x = false; true or x = true, whatever x is.
      const Column& x = arg(0);
      const Column& y = arg(1);
      int64_t decisive = node.op == Op::kAnd ? 0 : 1;
      for (size_t i = 0; i < n; ++i) {
        bool xd = x.s[i] == kKnown && x.v[i] == decisive;
        bool yd = y.s[i] == kKnown && y.v[i] == decisive;
        if (xd || yd) {
          ov[i] = decisive;
          os[i] = kKnown;
        } else {
          ov[i] = 1 - decisive;
          os[i] = Merge(x.s[i], y.s[i]);
        }
      }
      return;
    }
    case Op::kIf: {
      size_t branches = a.size() / 2;
      const Column& otherwise = arg(a.size() - 1);
      for (size_t i = 0; i < n; ++i) {
        const Column* chosen = &otherwise;
        uint8_t blocked = kKnown;
        for (size_t b = 0; b < branches; ++b) {
          const Column& cond = arg(2 * b);
          if (cond.s[i] != kKnown) {
            blocked = cond.s[i];
            break;
          }
          if (cond.v[i]) {
            chosen = &arg(2 * b + 1);
            break;
          }
        }
        if (blocked != kKnown) {
          // An unknown condition still gives an answer when every branch gives the same one.
          bool same = true;
          int64_t first = arg(1).v[i];
          for (size_t b = 0; b <= branches && same; ++b) {
            const Column& br = b < branches ? arg(2 * b + 1) : otherwise;
            same = br.s[i] == kKnown && br.v[i] == first;
          }
          ov[i] = first;
          os[i] = same && blocked == kUnknown ? kKnown : blocked;
          continue;
        }
        ov[i] = chosen->v[i];
        os[i] = chosen->s[i];
      }
      return;
    }
    case Op::kMin:
    case Op::kMax: {
      const Column& x0 = arg(0);
      std::copy(x0.v.begin(), x0.v.end(), ov);
      std::copy(x0.s.begin(), x0.s.end(), os);
      bool is_min = node.op == Op::kMin;
      for (size_t k = 1; k < a.size(); ++k) {
        const Column& x = arg(k);
        for (size_t i = 0; i < n; ++i) {
          ov[i] = is_min ? std::min(ov[i], x.v[i]) : std::max(ov[i], x.v[i]);
          os[i] = Merge(os[i], x.s[i]);
        }
      }
      return;
    }
    case Op::kAbs: {
      const Column& x = arg(0);
      for (size_t i = 0; i < n; ++i) {
        os[i] = x.v[i] == INT64_MIN ? kError : x.s[i];
        ov[i] = x.v[i] < 0 && x.v[i] != INT64_MIN ? -x.v[i] : x.v[i];
      }
      return;
    }
    case Op::kRound:
    case Op::kFloor:
    case Op::kCeil: {
      const Column& x = arg(0);
      const Column& unit = arg(1);
      auto mode = node.op == Op::kRound ? decimal::Rounding::kNearest
                  : node.op == Op::kFloor ? decimal::Rounding::kDown : decimal::Rounding::kUp;
      for (size_t i = 0; i < n; ++i) {
        uint8_t s = Merge(x.s[i], unit.s[i]);
        auto r = s == kKnown ? decimal::RoundTo(x.v[i], unit.v[i], mode) : std::optional<int64_t>(0);
        ov[i] = r.value_or(0);
        os[i] = r ? s : kError;
      }
      return;
    }
    case Op::kSum:
    case Op::kCount:
    case Op::kAny:
    case Op::kAll: {
      const uint32_t* mb = batch_->member_begin_.data();
      const Column* value = node.op == Op::kSum ? &arg(0) : nullptr;
      const Column* filter = node.op == Op::kSum ? (a.size() > 1 ? &arg(1) : nullptr) : (a.empty() ? nullptr : &arg(0));
      for (size_t h = 0; h < n; ++h) {
        int64_t acc = node.op == Op::kAll ? 1 : 0;
        uint8_t st = kKnown;
        bool settled = false;
        for (uint32_t m = mb[h]; m < mb[h + 1]; ++m) {
          uint8_t fs = filter ? filter->s[m] : kKnown;
          bool fv = filter ? filter->v[m] != 0 : true;
          switch (node.op) {
            case Op::kSum: {
              if (fs == kKnown && !fv) break;
              st = Merge(st, Merge(fs, value->s[m]));
              int64_t r;
              if (__builtin_add_overflow(acc, value->v[m], &r)) {
                st = kError;
              } else {
                acc = r;
              }
              break;
            }
            case Op::kCount:
              if (fs == kKnown) acc += fv ? decimal::kScale : 0;
              else st = Merge(st, fs);
              break;
            case Op::kAny:
              if (fs == kKnown && fv) settled = true;
              else if (fs != kKnown) st = Merge(st, fs);
              break;
            default:  // kAll
              if (fs == kKnown && !fv) settled = true;
              else if (fs != kKnown) st = Merge(st, fs);
              break;
          }
        }
        if (node.op == Op::kAny) acc = settled ? 1 : 0;
        if (node.op == Op::kAll) acc = settled ? 0 : 1;
        ov[h] = acc;
        os[h] = settled ? kKnown : st;
      }
      return;
    }
    case Op::kMonthly:
    case Op::kYearly: {
      const Column& x = arg(0);
      for (size_t i = 0; i < n; ++i) {
        auto r = node.op == Op::kMonthly ? decimal::Div(x.v[i], decimal::FromInt(12)) : decimal::Mul(x.v[i], decimal::FromInt(12));
        ov[i] = r.value_or(0);
        os[i] = r ? x.s[i] : kError;
      }
      return;
    }
    case Op::kYearsBetween:
    case Op::kMonthsBetween: {
      const Column& x = arg(0);
      const Column& y = arg(1);
      for (size_t i = 0; i < n; ++i) {
        os[i] = Merge(x.s[i], y.s[i]);
        ov[i] = 0;
        if (os[i] != kKnown) continue;
        core::Date from = core::Date::FromDays(x.v[i]);
        core::Date to = core::Date::FromDays(y.v[i]);
        int sign = 1;
        if (to < from) {
          std::swap(from, to);
          sign = -1;
        }
        int months = (to.year - from.year) * 12 + (to.month - from.month) - (to.day < from.day ? 1 : 0);
        int64_t whole = node.op == Op::kYearsBetween ? months / 12 : months;
        ov[i] = sign * whole * decimal::kScale;
      }
      return;
    }
    case Op::kKnown: {
      const Column& x = arg(0);
      for (size_t i = 0; i < n; ++i) {
        ov[i] = x.s[i] == kKnown;
        os[i] = kKnown;
      }
      return;
    }
    case Op::kAllTests: {
      // Eligible when every applicable test passes; one failing test settles it.
      for (size_t i = 0; i < n; ++i) {
        bool failed = false;
        uint8_t st = kKnown;
        for (size_t t = 0; t + 1 < a.size(); t += 2) {
          const Column& cond = *result_[a[t + 1]];
          uint8_t as = kKnown;
          bool applies = true;
          if (a[t] >= 0) {
            const Column& ap = *result_[a[t]];
            as = ap.s[i];
            applies = ap.v[i] != 0;
          }
          if (as == kKnown && !applies) continue;
          if (cond.s[i] == kKnown && cond.v[i]) continue;  // passes, whether it applies or not
          if (cond.s[i] == kKnown && as == kKnown) {
            failed = true;
            break;
          }
          st = Merge(st, Merge(cond.s[i], as));
        }
        ov[i] = failed ? 0 : 1;
        os[i] = failed ? kKnown : st;
      }
      return;
    }
  }
}

void Evaluator::Missing(int node, uint32_t row, std::vector<int>* symbols) {
  std::vector<uint8_t> seen(rules_.symbols().size(), 0);
  Walk(node, row, symbols, nullptr, seen);
  std::sort(symbols->begin(), symbols->end());
  symbols->erase(std::unique(symbols->begin(), symbols->end()), symbols->end());
}

std::string Evaluator::ErrorAt(int node, uint32_t row) {
  std::vector<uint8_t> seen(rules_.symbols().size(), 0);
  std::string error;
  Walk(node, row, nullptr, &error, seen);
  return error;
}

// Follows the cells that are unknown (or an error) down to their cause: a missing input, or
// the node where the error arose.
void Evaluator::Walk(int id, uint32_t row, std::vector<int>* missing, std::string* error, std::vector<uint8_t>& seen) {
  if (error && !error->empty()) return;
  const eligibility::Node& node = rules_.nodes()[id];
  const Column& c = Node(id);
  uint8_t want = missing ? kUnknown : kError;
  if (c.s[row] != want) return;
  if (node.op == Op::kSymbol) {
    const eligibility::Symbol& sym = rules_.symbols()[node.symbol];
    if (sym.is_input) {
      if (missing) missing->push_back(node.symbol);
      return;
    }
    int root = active_root_[node.symbol];
    if (root < 0) {
      if (error) *error = fmt::format("{}: no formula of {} is in force on {}", sym.pos.ToString(), sym.name, as_of_.ToString());
      return;
    }
    if (sym.entity == Entity::kHousehold) {
      if (seen[node.symbol]) return;
      seen[node.symbol] = 1;
    }
    Walk(root, row, missing, error, seen);
    return;
  }
  const auto& a = node.args;
  bool child_has = false;
  for (int child : a) {
    if (child < 0) continue;
    const eligibility::Node& cn = rules_.nodes()[child];
    const Column& cc = Node(child);
    if (node.op == Op::kBroadcast) {
      uint32_t h = batch_->member_household_[row];
      if (cc.s[h] == want) {
        child_has = true;
        Walk(child, h, missing, error, seen);
      }
    } else if (cn.entity == Entity::kPerson && node.entity == Entity::kHousehold) {
      for (uint32_t m = batch_->member_begin_[row]; m < batch_->member_begin_[row + 1]; ++m) {
        if (cc.s[m] == want) {
          child_has = true;
          Walk(child, m, missing, error, seen);
        }
      }
    } else if (cc.s[row] == want) {
      child_has = true;
      Walk(child, row, missing, error, seen);
    }
  }
  if (error && !child_has && error->empty()) {
    std::string where = node.pos.ToString();
    switch (node.op) {
      case Op::kDiv: *error = fmt::format("{}: division by zero", where); break;
      case Op::kParam:
      case Op::kParamIndex:
      case Op::kBracket:
      case Op::kScale: {
        const eligibility::Parameter& p = rules_.parameters()[node.parameter];
        if (!params_[node.parameter]) {
          *error = fmt::format("{}: parameter {} has no value on {}", where, p.name, as_of_.ToString());
        } else {
          *error = fmt::format("{}: parameter {} has no value for this key", where, p.name);
        }
        break;
      }
      default: *error = fmt::format("{}: the value is out of range", where); break;
    }
  }
}

}  // namespace eligibility
