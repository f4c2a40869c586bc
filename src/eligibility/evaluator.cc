#include "eligibility/evaluator.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/wide.h"
#include "eligibility/decimal.h"

namespace eligibility {
namespace {

inline uint8_t Merge(uint8_t a, uint8_t b) { return a > b ? a : b; }

// decimal::Mul, Div and RoundTo with 64-bit arithmetic when the intermediate fits (nearly
// always: amounts and rates), and the same results; the 128-bit versions otherwise.
// `when ? b : a` without a branch: the compilers turn ternaries whose operands come from memory
// into jumps, which mispredict on data that is true for some rows and false for others.
inline int64_t Select(bool when, int64_t a, int64_t b) {
  return a ^ ((a ^ b) & -static_cast<int64_t>(when));
}
inline uint8_t Select(bool when, uint8_t a, uint8_t b) {
  return static_cast<uint8_t>(a ^ ((a ^ b) & -static_cast<uint8_t>(when)));
}

// True when every cell of the column is known: the loops then skip merging states (an OR over
// the bytes, which the compiler vectorises).
inline bool AllKnown(const uint8_t* s, size_t n) {
  uint8_t any = 0;
  for (size_t i = 0; i < n; ++i) any |= s[i];
  return any == kKnown;
}

// a * b / 10^6 rounded halves away from zero (decimal::Mul), as (p ± 10^6 / 2) / 10^6 with a
// division by a constant; false when that leaves 64 bits (decimal::Mul then decides).
inline bool MulRound(int64_t a, int64_t b, int64_t* out) {
  int64_t p;
  if (__builtin_mul_overflow(a, b, &p)) return false;
  const int64_t sign = p >> 63;  // 0 or -1
  const int64_t half = ((decimal::kScale / 2) ^ sign) - sign;
  int64_t t;
  if (__builtin_add_overflow(p, half, &t)) return false;
  *out = t / decimal::kScale;
  return true;
}

inline std::optional<int64_t> MulFast(int64_t a, int64_t b) {
  int64_t r;
  if (!MulRound(a, b, &r)) [[unlikely]]
    return decimal::Mul(a, b);
  return r;
}

inline std::optional<int64_t> DivFast(int64_t a, int64_t b) {
  int64_t p;
  if (b == 0) return std::nullopt;
  if (__builtin_mul_overflow(a, decimal::kScale, &p)) return decimal::Div(a, b);
  // p is a multiple of 10^6, so never INT64_MIN: p / -1 cannot overflow.
  int64_t q = p / b;
  int64_t r = p % b;
  if (r != 0) {
    uint64_t twice = 2 * (r < 0 ? 0 - static_cast<uint64_t>(r) : static_cast<uint64_t>(r));
    uint64_t babs = b < 0 ? 0 - static_cast<uint64_t>(b) : static_cast<uint64_t>(b);
    if (twice >= babs) q += (p < 0) != (b < 0) ? -1 : 1;
  }
  return q;
}

// RoundToFast for a unit of exactly 1 (10^6): a constant divisor and no branch on the data.
// Returns false when the result leaves the range.
inline bool RoundToWhole(int64_t value, decimal::Rounding mode, int64_t* out) {
  int64_t q = value / decimal::kScale;
  int64_t r = value - q * decimal::kScale;
  switch (mode) {
    case decimal::Rounding::kDown:
      q -= r < 0;
      break;
    case decimal::Rounding::kUp:
      q += r > 0;
      break;
    case decimal::Rounding::kNearest:
      q += ((r >> 63) | 1) & -static_cast<int64_t>(2 * (r < 0 ? -r : r) >= decimal::kScale);
      break;
  }
  return !__builtin_mul_overflow(q, decimal::kScale, out);
}

inline std::optional<int64_t> RoundToFast(int64_t value, int64_t unit, decimal::Rounding mode)
    __attribute__((always_inline));
inline std::optional<int64_t> RoundToFast(int64_t value, int64_t unit, decimal::Rounding mode) {
  if (unit <= 0) return std::nullopt;
  int64_t q = value / unit;
  int64_t r = value % unit;
  if (r != 0) {
    switch (mode) {
      case decimal::Rounding::kDown:
        if (r < 0) q -= 1;
        break;
      case decimal::Rounding::kUp:
        if (r > 0) q += 1;
        break;
      case decimal::Rounding::kNearest: {
        uint64_t twice = 2 * (r < 0 ? 0 - static_cast<uint64_t>(r) : static_cast<uint64_t>(r));
        if (twice >= static_cast<uint64_t>(unit)) q += r < 0 ? -1 : 1;
        break;
      }
    }
  }
  int64_t out;
  if (__builtin_mul_overflow(q, unit, &out)) return std::nullopt;
  return out;
}

}  // namespace

core::StatusOr<int64_t> ParseValue(const Symbol& symbol, std::string_view text,
                                   const std::string& field) {
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
      if (!v)
        return bad(symbol.type == Type::kMoney ? "expected an amount like 1234.56"
                                               : "expected a number");
      if (symbol.integer && *v % decimal::kScale != 0) return bad("expected a whole number");
      if (symbol.min && *v < *symbol.min)
        return bad(fmt::format("must be at least {}", decimal::ToString(*symbol.min)));
      if (symbol.max && *v > *symbol.max)
        return bad(fmt::format("must be at most {}", decimal::ToString(*symbol.max)));
      return *v;
    }
    case Type::kDate: {
      auto d = core::Date::Parse(text);
      if (!d.ok()) return bad("expected a date like 2025-10-01");
      return d->ToDays();
    }
    case Type::kText:
      return static_cast<int64_t>(TextValue(text));
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
  const int size = rules.FindSymbol("household_size");
  if (size >= 0 && rules.symbols()[size].entity == Entity::kHousehold &&
      rules.symbols()[size].integer) {
    size_symbol_ = size;
  }
  given_.resize(rules.symbols().size());
  member_begin_.push_back(0);
}

void Batch::Clear() {
  for (int s : used_) given_[s].clear();
  used_.clear();
  member_begin_.assign(1, 0);
  member_household_.clear();
}

core::Status Batch::Add(const HouseholdInput& household) {
  const auto& symbols = rules_.symbols();
  // Parse everything first, so that a bad value appends nothing; every bad value is named.
  std::vector<core::FieldError> errors;
  auto refuse = [&](const std::string& field, const std::string& message) {
    errors.push_back({field, message});
  };
  std::vector<Value> values;
  values.reserve(household.values.size());
  for (const auto& [name, text] : household.values) {
    int s = rules_.FindSymbol(name);
    if (s < 0) {
      refuse(name, "unknown input");
      continue;
    }
    if (symbols[s].entity == Entity::kPerson) {
      refuse(name, "a value for each member: give it under members");
      continue;
    }
    auto v = ParseValue(symbols[s], text, name);
    if (!v.ok()) {
      for (const auto& fe : v.status().fields()) errors.push_back(fe);
      continue;
    }
    values.push_back({s, *v});
  }
  std::vector<MemberValue> member_values;
  for (size_t m = 0; m < household.members.size(); ++m) {
    for (const auto& value : household.members[m]) {
      const std::string& name = value.first;
      const std::string& text = value.second;
      // The field's name is only spelt out for an error: this runs for every member value.
      auto field = [&] { return fmt::format("members/{}/{}", m, name); };
      int s = rules_.FindSymbol(name);
      if (s < 0) {
        refuse(field(), "unknown input");
        continue;
      }
      if (symbols[s].entity != Entity::kPerson) {
        refuse(field(), "a value for the household, not for a member");
        continue;
      }
      auto v = ParseValue(symbols[s], text, name);
      if (!v.ok()) {
        const core::Status named = ParseValue(symbols[s], text, field()).status();
        for (const auto& fe : named.fields()) errors.push_back(fe);
        continue;
      }
      member_values.push_back({static_cast<uint32_t>(m), s, *v});
    }
  }
  if (!errors.empty()) {
    // The first in the message, as a caller that shows one line would; all of them by field.
    std::string message = fmt::format("{}: {}", errors.front().field, errors.front().message);
    if (errors.size() > 1) message += fmt::format(" (and {} more)", errors.size() - 1);
    return core::Status::InvalidArgument(std::move(message), std::move(errors));
  }
  AddParsed(values, static_cast<uint32_t>(household.members.size()), member_values);
  return core::Status::Ok();
}

void Batch::AddParsed(std::span<const Value> values, uint32_t members,
                      std::span<const MemberValue> member_values) {
  const uint32_t h = static_cast<uint32_t>(households());
  const uint32_t first = static_cast<uint32_t>(member_household_.size());
  for (const Value& x : values) {
    auto& g = given_[x.symbol];
    if (g.empty()) used_.push_back(x.symbol);
    g.push_back({h, x.value});
    // The people the household's size counts but no one listed: members of whom nothing is known.
    if (x.symbol == size_symbol_ && x.value > 0) {
      const int64_t size = x.value / decimal::kScale;
      if (size > members && size <= 1000) members = static_cast<uint32_t>(size);
    }
  }
  member_household_.resize(first + members, h);
  for (const MemberValue& x : member_values) {
    auto& g = given_[x.symbol];
    if (g.empty()) used_.push_back(x.symbol);
    g.push_back({first + x.member, x.value});
  }
  member_begin_.push_back(static_cast<uint32_t>(member_household_.size()));
}

Evaluator::Evaluator(const RuleSet& rules) : rules_(rules) {
  size_t n = rules.nodes().size();
  node_epoch_.assign(n, 0);
  cols_.resize(n);
  result_.assign(n, nullptr);
  symbol_epoch_.assign(rules.symbols().size(), 0);
  sym_cols_.resize(rules.symbols().size());
  sym_result_.assign(rules.symbols().size(), nullptr);
  uniform_.resize(n);
  dense_.resize(n);
  sym_default_rows_.assign(rules.symbols().size(), 0);
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
  // Linear in the values given for the symbol: this serves explanations, one household at a time.
  for (const auto& g : batch_->given_[symbol]) {
    if (g.row == row) return true;
  }
  return false;
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

// A column with one value in every row (a constant, a parameter, the as-of date) keeps it
// from one batch to the next: only the node writes its column, so when the value and the
// number of rows are those of the last fill there is nothing to do.
void Evaluator::FillUniform(int node, int64_t v, uint8_t s) {
  Column& c = cols_[node];
  Uniform& u = uniform_[node];
  if (u.filled && u.v == v && u.s == s && u.rows == c.v.size()) return;
  std::fill(c.v.begin(), c.v.end(), v);
  std::fill(c.s.begin(), c.s.end(), s);
  u = {true, v, s, c.v.size()};
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
  return *sym_result_[symbol];
}

// A variable no household overrides points at its formula's column; otherwise the symbol gets
// its own column: the default (or unknown) or the formula's values, with the given values
// spread over them.
void Evaluator::ComputeSymbol(int s) {
  const eligibility::Symbol& sym = rules_.symbols()[s];
  const auto& given = batch_->given_[s];
  const size_t n = Rows(sym.entity);
  int root = sym.is_input ? -1 : active_root_[s];
  if (root >= 0 && given.empty()) {
    sym_result_[s] = &Node(root);
    return;
  }
  Column& out = sym_cols_[s];
  out.v.resize(n);
  out.s.resize(n);
  int64_t* ov = out.v.data();
  uint8_t* os = out.s.data();
  // The column holds the input's default in every row from the last batch only if nothing
  // below writes anything else.
  const bool was_default = sym_default_rows_[s] == n;
  sym_default_rows_[s] = 0;
  if (sym.is_input && given.size() == n) {
    // Given for every row, once each and in order (as bulk loading gives them): a copy.
    uint32_t off = 0;
    for (size_t i = 0; i < n; ++i) {
      ov[i] = given[i].value;
      off |= given[i].row ^ static_cast<uint32_t>(i);
    }
    if (off == 0) {
      std::fill(os, os + n, kKnown);
      sym_result_[s] = &out;
      return;
    }
  }
  if (sym.is_input) {
    // Given nowhere: the default (or unknown) in every row, kept from the last batch.
    if (!given.empty() || !was_default) {
      std::fill(ov, ov + n, sym.default_value.value_or(0));
      std::fill(os, os + n, sym.default_value ? kKnown : kUnknown);
    }
    if (given.empty()) sym_default_rows_[s] = n;
  } else if (root < 0) {
    std::fill(ov, ov + n, 0);
    std::fill(os, os + n, kError);
  } else {
    const Column& f = Node(root);
    std::copy(f.v.begin(), f.v.end(), ov);
    std::copy(f.s.begin(), f.s.end(), os);
  }
  for (const auto& g : given) {
    ov[g.row] = g.value;
    os[g.row] = kKnown;
  }
  sym_result_[s] = &out;
}

// `if c1 then t1 elif c2 then t2 ... else e` over the rows, for B conditions (0: any number).
// A row takes the first branch whose condition is true; a condition not known before that
// blocks the row, which is then known only when every branch gives the same known value.
template <size_t B>
void Evaluator::IfRows(const std::vector<int>& a, size_t n, int64_t* __restrict ov,
                       uint8_t* __restrict os) {
  const size_t branches = B ? B : a.size() / 2;
  struct Branch {
    const int64_t* cv;
    const uint8_t* cs;
    const int64_t* tv;
    const uint8_t* ts;
  };
  std::vector<Branch> br(branches);
  for (size_t b = 0; b < branches; ++b) {
    const Column& c = *result_[a[2 * b]];
    const Column& t = *result_[a[2 * b + 1]];
    br[b] = {c.v.data(), c.s.data(), t.v.data(), t.s.data()};
  }
  const int64_t* ev = result_[a.back()]->v.data();
  const uint8_t* es = result_[a.back()]->s.data();
  for (size_t i = 0; i < n; ++i) {
    // From the last branch to the first, so that the first true condition has the last word;
    // `blocked` is the state of the condition that blocks the row (kKnown when none does): the
    // first one not known with only false ones before it.
    int64_t v = ev[i];
    uint8_t st = es[i];
    uint8_t blocked = kKnown;
    for (size_t b = branches; b-- > 0;) {
      const uint8_t c_s = br[b].cs[i];
      const bool known = c_s == kKnown;
      const bool take = known & (br[b].cv[i] != 0);
      v = Select(take, v, br[b].tv[i]);
      st = Select(take, st, br[b].ts[i]);
      blocked = Select(known, c_s, Select(take, blocked, uint8_t{kKnown}));
    }
    if (blocked != kKnown) [[unlikely]] {
      // An unknown condition still gives an answer when every branch gives the same one.
      const int64_t first = br[0].tv[i];
      bool same = true;
      for (size_t b = 0; b < branches && same; ++b)
        same = br[b].ts[i] == kKnown && br[b].tv[i] == first;
      same = same && es[i] == kKnown && ev[i] == first;
      v = first;
      st = same && blocked == kUnknown ? kKnown : blocked;
    }
    ov[i] = v;
    os[i] = st;
  }
}

// Which entry of a dense table each row's key falls on, for the keys of one column from
// `first_key`: made once per batch for a column that several table look-ups use (household
// size), and kept in a few slots.
const Evaluator::KeyIndex& Evaluator::IndexKeys(const Column& key, int64_t first_key) {
  for (const KeyIndex& k : key_index_) {
    if (k.key == &key && k.epoch == epoch_ && k.first_key == first_key) return k;
  }
  KeyIndex& k = key_index_[key_index_next_++ % key_index_.size()];
  k.key = &key;
  k.epoch = epoch_;
  k.first_key = first_key;
  const size_t n = key.v.size();
  k.idx.resize(n);
  const int64_t* kv = key.v.data();
  const uint8_t* ks = key.s.data();
  uint8_t* ix = k.idx.data();
  uint8_t special = 0;
  for (size_t i = 0; i < n; ++i) {
    // The offset from the first key in whole keys, when it is one (a 32-bit division by a
    // constant); the rows that are not fall to the slow path.
    const uint64_t d = static_cast<uint64_t>(kv[i]) - static_cast<uint64_t>(first_key);
    const uint32_t j = static_cast<uint32_t>(d) / static_cast<uint32_t>(decimal::kScale);
    const bool in = (d < static_cast<uint64_t>(KeyIndex::kDense) * decimal::kScale) &
                    (j * static_cast<uint64_t>(decimal::kScale) == d);
    const uint8_t code = Select(ks[i] == kKnown, KeyIndex::kNotKnown,
                                Select(in, KeyIndex::kOther, static_cast<uint8_t>(j)));
    ix[i] = code;
    special |= static_cast<uint8_t>(code >= KeyIndex::kDense);
  }
  k.special = special != 0;
  return k;
}

// The loops below read their columns through raw pointers taken once: writing a status byte
// (uint8_t may alias anything) would otherwise make the compiler reload every vector's data
// pointer on each row.
ONEDOOR_WIDE void Evaluator::Compute(int id) {
  const eligibility::Node& node = rules_.nodes()[id];
  const auto& a = node.args;
  if (node.op == Op::kSymbol) {
    result_[id] = &Symbol(node.symbol);
    return;
  }
  // Children first (they may resize cols_ entries of other nodes, never this one).
  for (int c : a)
    if (c >= 0) Node(c);
  Column& out = Own(id, node.entity);
  const size_t n = out.v.size();
  int64_t* ov = out.v.data();
  uint8_t* os = out.s.data();
  auto arg = [&](size_t i) -> const Column& { return *result_[a[i]]; };
  auto V = [&](size_t i) { return arg(i).v.data(); };
  auto S = [&](size_t i) { return arg(i).s.data(); };

  switch (node.op) {
    case Op::kSymbol:
      return;
    case Op::kConst:
      FillUniform(id, node.imm, kKnown);
      return;
    case Op::kAsOf:
      FillUniform(id, as_of_days_, kKnown);
      return;
    case Op::kParam: {
      const ParameterValue* pv = params_[node.parameter];
      FillUniform(id, pv ? pv->scalar : 0, pv ? kKnown : kError);
      return;
    }
    case Op::kParamIndex: {
      const ParameterValue* pv = params_[node.parameter];
      const int64_t* kv = V(0);
      const uint8_t* ks = S(0);
      if (!pv || pv->table.empty()) {
        for (size_t i = 0; i < n; ++i) {
          ov[i] = 0;
          os[i] = ks[i] == kKnown ? kError : ks[i];
        }
        return;
      }
      const auto& t = pv->table;
      const int64_t first_key = t.front().first;
      const int64_t last_key = t.back().first;
      const int64_t last_value = t.back().second;
      const int64_t additional = pv->additional.value_or(0);
      // The value for one key, known, as the search and the `additional` per key above the
      // last one give it; false when out of range.
      auto lookup = [&](int64_t k, int64_t* v) {
        if (k % decimal::kScale != 0 || k < first_key) return false;
        if (k >= last_key) {
          int64_t extra = (k - last_key) / decimal::kScale;
          decimal::Int128 r = static_cast<decimal::Int128>(last_value) +
                              static_cast<decimal::Int128>(extra) * additional;
          if (r > INT64_MAX || r < INT64_MIN) return false;
          *v = static_cast<int64_t>(r);
          return true;
        }
        *v = std::prev(std::upper_bound(t.begin(), t.end(), std::make_pair(k, INT64_MAX)))->second;
        return true;
      };
      // Whole keys from the first one (household sizes) are read from a dense table of the
      // next kDense keys, made once per parameter value, instead of a search per row.
      constexpr int64_t kDense = KeyIndex::kDense;
      if (first_key % decimal::kScale == 0 &&
          first_key / decimal::kScale <= INT64_MAX / decimal::kScale - kDense) {
        DenseTable& d = dense_[id];
        if (d.of != pv) {
          d.of = pv;
          d.v.assign(kDense + 2, 0);
          d.s.assign(kDense + 2, kKnown);
          for (int64_t j = 0; j < kDense; ++j) {
            if (!lookup(first_key + j * decimal::kScale, &d.v[j])) d.s[j] = kError;
          }
        }
        const KeyIndex& ki = IndexKeys(arg(0), first_key);
        const uint8_t* ix = ki.idx.data();
        const int64_t* dv = d.v.data();
        const uint8_t* ds = d.s.data();
        for (size_t i = 0; i < n; ++i) {
          const uint8_t j = ix[i];
          ov[i] = dv[j];
          os[i] = ds[j];
        }
        if (ki.special) [[unlikely]] {
          for (size_t i = 0; i < n; ++i) {
            if (ix[i] == KeyIndex::kNotKnown) {
              os[i] = ks[i];
            } else if (ix[i] == KeyIndex::kOther) {
              int64_t v = 0;
              const bool ok = lookup(kv[i], &v);
              ov[i] = ok ? v : 0;
              os[i] = ok ? kKnown : kError;
            }
          }
        }
        return;
      }
      for (size_t i = 0; i < n; ++i) {
        int64_t v = 0;
        uint8_t st = ks[i];
        if (st == kKnown && !lookup(kv[i], &v)) {
          v = 0;
          st = kError;
        }
        ov[i] = v;
        os[i] = st;
      }
      return;
    }
    case Op::kBracket:
    case Op::kScale: {
      const ParameterValue* pv = params_[node.parameter];
      const int64_t* xv = V(0);
      const uint8_t* xs = S(0);
      for (size_t i = 0; i < n; ++i) {
        os[i] = xs[i];
        ov[i] = 0;
        if (os[i] != kKnown) continue;
        if (!pv || pv->brackets.empty() || xv[i] < pv->brackets.front().first) {
          os[i] = kError;
          continue;
        }
        const auto& b = pv->brackets;
        if (node.op == Op::kBracket) {
          auto it = std::upper_bound(b.begin(), b.end(), std::make_pair(xv[i], INT64_MAX));
          ov[i] = std::prev(it)->second;
          continue;
        }
        int64_t total = 0;
        bool ok = true;
        for (size_t j = 0; j < b.size() && xv[i] > b[j].first; ++j) {
          int64_t top = j + 1 < b.size() ? std::min(xv[i], b[j + 1].first) : xv[i];
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
      const int64_t* hv = V(0);
      const uint8_t* hs = S(0);
      const uint32_t* mh = batch_->member_household_.data();
      for (size_t i = 0; i < n; ++i) {
        ov[i] = hv[mh[i]];
        os[i] = hs[mh[i]];
      }
      return;
    }
    case Op::kNeg: {
      const int64_t* xv = V(0);
      const uint8_t* xs = S(0);
      for (size_t i = 0; i < n; ++i) {
        bool min = xv[i] == INT64_MIN;
        os[i] = min ? kError : xs[i];
        ov[i] = min ? 0 : -xv[i];
      }
      return;
    }
    case Op::kNot: {
      const int64_t* xv = V(0);
      const uint8_t* xs = S(0);
      for (size_t i = 0; i < n; ++i) {
        os[i] = xs[i];
        ov[i] = !xv[i];
      }
      return;
    }
    case Op::kAdd:
    case Op::kSub: {
      const int64_t* x = V(0);
      const int64_t* y = V(1);
      const uint8_t* xs = S(0);
      const uint8_t* ys = S(1);
      // Wrapping arithmetic, with the sign bit of `over` set when some row overflowed (rare):
      // loops without a branch or a flag, which vectorise; the rows that overflowed become
      // errors after.
      int64_t over = 0;
      if (node.op == Op::kAdd) {
        for (size_t i = 0; i < n; ++i) {
          const int64_t r =
              static_cast<int64_t>(static_cast<uint64_t>(x[i]) + static_cast<uint64_t>(y[i]));
          over |= (x[i] ^ r) & (y[i] ^ r);
          ov[i] = r;
        }
      } else {
        for (size_t i = 0; i < n; ++i) {
          const int64_t r =
              static_cast<int64_t>(static_cast<uint64_t>(x[i]) - static_cast<uint64_t>(y[i]));
          over |= (x[i] ^ y[i]) & (x[i] ^ r);
          ov[i] = r;
        }
      }
      if (AllKnown(xs, n) && AllKnown(ys, n)) {
        std::fill(os, os + n, kKnown);
      } else {
        for (size_t i = 0; i < n; ++i) os[i] = Merge(xs[i], ys[i]);
      }
      if (over < 0) [[unlikely]] {
        for (size_t i = 0; i < n; ++i) {
          int64_t r;
          if (node.op == Op::kAdd ? __builtin_add_overflow(x[i], y[i], &r)
                                  : __builtin_sub_overflow(x[i], y[i], &r)) {
            ov[i] = 0;
            os[i] = kError;
          }
        }
      }
      return;
    }
    case Op::kMul:
    case Op::kDiv: {
      const int64_t* x = V(0);
      const int64_t* y = V(1);
      const uint8_t* xs = S(0);
      const uint8_t* ys = S(1);
      if (node.op == Op::kMul && AllKnown(xs, n) && AllKnown(ys, n)) {
        for (size_t i = 0; i < n; ++i) {
          int64_t q;
          if (!MulRound(x[i], y[i], &q)) [[unlikely]] {
            auto r = decimal::Mul(x[i], y[i]);
            ov[i] = r.value_or(0);
            os[i] = r ? kKnown : kError;
            continue;
          }
          ov[i] = q;
          os[i] = kKnown;
        }
        return;
      }
      if (node.op == Op::kMul) {
        for (size_t i = 0; i < n; ++i) {
          uint8_t s = Merge(xs[i], ys[i]);
          int64_t q;
          if (!MulRound(x[i], y[i], &q)) [[unlikely]] {
            auto r = s == kKnown ? decimal::Mul(x[i], y[i]) : std::optional<int64_t>(0);
            ov[i] = r.value_or(0);
            os[i] = r ? s : kError;
            continue;
          }
          ov[i] = Select(s != kKnown, q, 0);
          os[i] = s;
        }
        return;
      }
      for (size_t i = 0; i < n; ++i) {
        uint8_t s = Merge(xs[i], ys[i]);
        auto r = s == kKnown ? DivFast(x[i], y[i]) : std::optional<int64_t>(0);
        ov[i] = r.value_or(0);
        os[i] = r ? s : kError;
      }
      return;
    }
    case Op::kEq:
    case Op::kNe:
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe: {
      const int64_t* x = V(0);
      const int64_t* y = V(1);
      const uint8_t* xs = S(0);
      const uint8_t* ys = S(1);
      if (AllKnown(xs, n) && AllKnown(ys, n)) {
        std::fill(os, os + n, kKnown);
      } else {
        for (size_t i = 0; i < n; ++i) os[i] = Merge(xs[i], ys[i]);
      }
      switch (node.op) {
        case Op::kEq:
          for (size_t i = 0; i < n; ++i) ov[i] = x[i] == y[i];
          break;
        case Op::kNe:
          for (size_t i = 0; i < n; ++i) ov[i] = x[i] != y[i];
          break;
        case Op::kLt:
          for (size_t i = 0; i < n; ++i) ov[i] = x[i] < y[i];
          break;
        case Op::kLe:
          for (size_t i = 0; i < n; ++i) ov[i] = x[i] <= y[i];
          break;
        case Op::kGt:
          for (size_t i = 0; i < n; ++i) ov[i] = x[i] > y[i];
          break;
        default:
          for (size_t i = 0; i < n; ++i) ov[i] = x[i] >= y[i];
          break;
      }
      return;
    }
    case Op::kAnd:
    case Op::kOr: {
      // false and x = false; true or x = true, whatever x is.
      const int64_t* xv = V(0);
      const int64_t* yv = V(1);
      const uint8_t* xs = S(0);
      const uint8_t* ys = S(1);
      const int64_t decisive = node.op == Op::kAnd ? 0 : 1;
      for (size_t i = 0; i < n; ++i) {
        const uint8_t x_s = xs[i], y_s = ys[i];
        const bool d =
            ((x_s == kKnown) & (xv[i] == decisive)) | ((y_s == kKnown) & (yv[i] == decisive));
        ov[i] = Select(d, 1 - decisive, decisive);
        os[i] = Select(d, Merge(x_s, y_s), kKnown);
      }
      return;
    }
    case Op::kIf: {
      const size_t branches = a.size() / 2;
      if (branches == 1) {  // if c then t else e: the common case, without the inner loop
        const int64_t* cv = V(0);
        const uint8_t* cs = S(0);
        const int64_t* tv = V(1);
        const uint8_t* ts = S(1);
        const int64_t* ev = V(2);
        const uint8_t* es = S(2);
        // Branch-free: the condition is data, and a mispredicted branch per row costs more
        // than computing both sides.
        if (AllKnown(cs, n) && AllKnown(ts, n) && AllKnown(es, n)) {
          for (size_t i = 0; i < n; ++i) ov[i] = Select(cv[i] == 0, tv[i], ev[i]);
          std::fill(os, os + n, kKnown);
          return;
        }
        if (AllKnown(cs, n)) {  // a known condition picks a branch, its value and its state
          for (size_t i = 0; i < n; ++i) ov[i] = Select(cv[i] == 0, tv[i], ev[i]);
          for (size_t i = 0; i < n; ++i) os[i] = Select(cv[i] == 0, ts[i], es[i]);
          return;
        }
        for (size_t i = 0; i < n; ++i) {
          const int64_t t = tv[i], e = ev[i];
          const uint8_t c_s = cs[i], t_s = ts[i], e_s = es[i];
          const bool known = c_s == kKnown;
          const bool c = cv[i] != 0;
          // An unknown condition still gives an answer when both branches give the same one.
          const bool same = (t_s | e_s) == kKnown && e == t;
          const uint8_t open = Select(same && c_s == kUnknown, c_s, kKnown);
          ov[i] = Select(known && !c, t, e);
          os[i] = Select(known, open, Select(c, e_s, t_s));
        }
        return;
      }
      // Several conditions: row by row, the branches in registers.
      if (branches == 2) {
        IfRows<2>(a, n, ov, os);
      } else if (branches == 3) {
        IfRows<3>(a, n, ov, os);
      } else {
        IfRows<0>(a, n, ov, os);
      }
      return;
    }
    case Op::kMin:
    case Op::kMax: {
      std::copy(V(0), V(0) + n, ov);
      std::copy(S(0), S(0) + n, os);
      const bool is_min = node.op == Op::kMin;
      for (size_t k = 1; k < a.size(); ++k) {
        const int64_t* xv = V(k);
        const uint8_t* xs = S(k);
        if (is_min) {
          for (size_t i = 0; i < n; ++i) ov[i] = std::min(ov[i], xv[i]);
        } else {
          for (size_t i = 0; i < n; ++i) ov[i] = std::max(ov[i], xv[i]);
        }
        if (!AllKnown(xs, n)) {
          for (size_t i = 0; i < n; ++i) os[i] = Merge(os[i], xs[i]);
        }
      }
      return;
    }
    case Op::kAbs: {
      const int64_t* xv = V(0);
      const uint8_t* xs = S(0);
      for (size_t i = 0; i < n; ++i) {
        os[i] = xv[i] == INT64_MIN ? kError : xs[i];
        ov[i] = xv[i] < 0 && xv[i] != INT64_MIN ? -xv[i] : xv[i];
      }
      return;
    }
    case Op::kRound:
    case Op::kFloor:
    case Op::kCeil: {
      const int64_t* xv = V(0);
      const uint8_t* xs = S(0);
      const int64_t* uv = V(1);
      const uint8_t* us = S(1);
      auto mode = node.op == Op::kRound   ? decimal::Rounding::kNearest
                  : node.op == Op::kFloor ? decimal::Rounding::kDown
                                          : decimal::Rounding::kUp;
      for (size_t i = 0; i < n; ++i) {
        uint8_t s = Merge(xs[i], us[i]);
        if (uv[i] == decimal::kScale) {
          // A whole unit (round to the dollar): a constant divisor, no hardware division.
          int64_t r;
          bool ok = RoundToWhole(xv[i], mode, &r);
          bool bad = s == kKnown && !ok;
          ov[i] = Select(s != kKnown || bad, r, 0);
          os[i] = Select(bad, s, kError);
          continue;
        }
        auto r = s == kKnown ? RoundToFast(xv[i], uv[i], mode) : std::optional<int64_t>(0);
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
      const Column* filter = node.op == Op::kSum ? (a.size() > 1 ? &arg(1) : nullptr)
                                                 : (a.empty() ? nullptr : &arg(0));
      const int64_t* vv = value ? value->v.data() : nullptr;
      const uint8_t* vs = value ? value->s.data() : nullptr;
      const int64_t* fv_col = filter ? filter->v.data() : nullptr;
      const uint8_t* fs_col = filter ? filter->s.data() : nullptr;
      for (size_t h = 0; h < n; ++h) {
        int64_t acc = node.op == Op::kAll ? 1 : 0;
        uint8_t st = kKnown;
        bool settled = false;
        for (uint32_t m = mb[h]; m < mb[h + 1]; ++m) {
          uint8_t fs = fs_col ? fs_col[m] : kKnown;
          bool fv = fs_col ? fv_col[m] != 0 : true;
          switch (node.op) {
            case Op::kSum: {
              if (fs == kKnown && !fv) break;
              st = Merge(st, Merge(fs, vs[m]));
              int64_t r;
              if (__builtin_add_overflow(acc, vv[m], &r)) {
                st = kError;
              } else {
                acc = r;
              }
              break;
            }
            case Op::kCount:
              if (fs == kKnown)
                acc += fv ? decimal::kScale : 0;
              else
                st = Merge(st, fs);
              break;
            case Op::kAny:
              if (fs == kKnown && fv)
                settled = true;
              else if (fs != kKnown)
                st = Merge(st, fs);
              break;
            default:  // kAll
              if (fs == kKnown && !fv)
                settled = true;
              else if (fs != kKnown)
                st = Merge(st, fs);
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
      const int64_t* xv = V(0);
      const uint8_t* xs = S(0);
      const bool monthly = node.op == Op::kMonthly;
      for (size_t i = 0; i < n; ++i) {
        auto r =
            monthly ? DivFast(xv[i], decimal::FromInt(12)) : MulFast(xv[i], decimal::FromInt(12));
        ov[i] = r.value_or(0);
        os[i] = r ? xs[i] : kError;
      }
      return;
    }
    case Op::kYearsBetween:
    case Op::kMonthsBetween: {
      const int64_t* xv = V(0);
      const uint8_t* xs = S(0);
      const int64_t* yv = V(1);
      const uint8_t* ys = S(1);
      for (size_t i = 0; i < n; ++i) {
        os[i] = Merge(xs[i], ys[i]);
        ov[i] = 0;
        if (os[i] != kKnown) continue;
        core::Date from = core::Date::FromDays(xv[i]);
        core::Date to = core::Date::FromDays(yv[i]);
        int sign = 1;
        if (to < from) {
          std::swap(from, to);
          sign = -1;
        }
        int months =
            (to.year - from.year) * 12 + (to.month - from.month) - (to.day < from.day ? 1 : 0);
        int64_t whole = node.op == Op::kYearsBetween ? months / 12 : months;
        ov[i] = sign * whole * decimal::kScale;
      }
      return;
    }
    case Op::kKnown: {
      const uint8_t* xs = S(0);
      for (size_t i = 0; i < n; ++i) {
        ov[i] = xs[i] == kKnown;
        os[i] = kKnown;
      }
      return;
    }
    case Op::kAllTests: {
      // Eligible when every applicable test passes; one failing test settles it. Test by test
      // over the column: ov holds "failed so far" and os the merged state of the open tests
      // until the last pass turns them into the answer.
      std::fill(ov, ov + n, 0);
      std::fill(os, os + n, kKnown);
      // Branch-free per row: which tests pass, fail or stay open is data.
      auto test = [&](const int64_t* cv, const uint8_t* cs, auto applies_if) {
        for (size_t i = 0; i < n; ++i) {
          auto [as, applies] = applies_if(i);
          const uint8_t c_s = cs[i];
          // Bitwise, not short-circuit: every operand is already loaded, and && would branch.
          const bool skip =
              ((as == kKnown) & !applies) | ((c_s == kKnown) & (cv[i] != 0));  // n/a or passes
          const bool fail = !skip & (c_s == kKnown) & (as == kKnown);
          ov[i] |= fail;
          os[i] = Merge(os[i], Select(skip | fail, Merge(c_s, as), kKnown));
        }
      };
      for (size_t t = 0; t + 1 < a.size(); t += 2) {
        const int64_t* cv = result_[a[t + 1]]->v.data();
        const uint8_t* cs = result_[a[t + 1]]->s.data();
        if (AllKnown(cs, n) && (a[t] < 0 || AllKnown(result_[a[t]]->s.data(), n))) {
          // Every cell known: the test fails where it applies and its condition is false.
          const int64_t* av = a[t] >= 0 ? result_[a[t]]->v.data() : nullptr;
          for (size_t i = 0; i < n; ++i) ov[i] |= (av ? av[i] != 0 : true) & (cv[i] == 0);
          continue;
        }
        if (a[t] < 0) {
          test(cv, cs, [](size_t) { return std::pair<uint8_t, bool>(kKnown, true); });
        } else {
          const int64_t* av = result_[a[t]]->v.data();
          const uint8_t* as = result_[a[t]]->s.data();
          test(cv, cs, [&](size_t i) { return std::pair<uint8_t, bool>(as[i], av[i] != 0); });
        }
      }
      for (size_t i = 0; i < n; ++i) {
        const bool failed = ov[i] != 0;
        ov[i] = !failed;
        os[i] = Select(failed, os[i], kKnown);
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
void Evaluator::Walk(int id, uint32_t row, std::vector<int>* missing, std::string* error,
                     std::vector<uint8_t>& seen) {
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
      if (error)
        *error = fmt::format("{}: no formula of {} is in force on {}", sym.pos.ToString(), sym.name,
                             as_of_.ToString());
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
      case Op::kDiv:
        *error = fmt::format("{}: division by zero", where);
        break;
      case Op::kParam:
      case Op::kParamIndex:
      case Op::kBracket:
      case Op::kScale: {
        const eligibility::Parameter& p = rules_.parameters()[node.parameter];
        if (!params_[node.parameter]) {
          *error =
              fmt::format("{}: parameter {} has no value on {}", where, p.name, as_of_.ToString());
        } else {
          *error = fmt::format("{}: parameter {} has no value for this key", where, p.name);
        }
        break;
      }
      default:
        *error = fmt::format("{}: the value is out of range", where);
        break;
    }
  }
}

}  // namespace eligibility
