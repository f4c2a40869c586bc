// Benchmarks of the eligibility engine (docs/PERFORMANCE.md, "Eligibility"):
//
//   OneHousehold/*   one household against every shipped program (rules/inputs.yaml, rules/us,
//                    rules/demo), in process: the plain evaluation (a Batch of one, Run, each
//                    program's outcome and amount read) and the full Screen with explanations.
//                    Each call is timed; p50 and p99 are reported (goal: p50 under 50 µs).
//   Bulk/*           1,000,000 generated households against every shipped program on 2
//                    threads, filled straight into the batches (goal: under 10 s).
//   SnapYardstick    SNAP by the engine and by hand (bench/snap_handwritten.cc) over the same
//                    1,000,000 households on one thread, batch by batch in turn: ns per household
//                    for each, the ratio (goal: within 3x), and the households where they
//                    disagree (must be 0).
//
//   cmake --build build/release --target eligibility_benchmark
//   build/release/bench/eligibility_benchmark
//
// Households come from eligibility::HouseholdGenerator (seed 2026); the as-of date is
// 2026-03-01, inside SNAP's FY 2026 and the WIC 2025/26 guidelines.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "eligibility/bulk.h"
#include "eligibility/evaluator.h"
#include "eligibility/rule_set.h"
#include "eligibility/screening.h"
#include "snap_handwritten.h"

namespace {

using eligibility::Outcome;

constexpr core::Date kAsOf{2026, 3, 1};
constexpr uint64_t kSeed = 2026;
constexpr uint64_t kBulkHouseholds = 1'000'000;

const eligibility::RuleSet& Rules() {
  static const std::unique_ptr<eligibility::RuleSet> rules = [] {
    std::string root = ONEDOOR_SOURCE_DIR;
    std::vector<std::string> warnings;
    auto r = eligibility::RuleSet::Load(
        {root + "/rules/inputs.yaml", root + "/rules/us", root + "/rules/demo"}, kAsOf, &warnings);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().message().c_str());
      std::abort();
    }
    return std::move(r).value();
  }();
  return *rules;
}

// Households as text, as a single screening receives them.
const std::vector<eligibility::BulkRow>& SomeRows() {
  static const std::vector<eligibility::BulkRow> rows = [] {
    eligibility::HouseholdGenerator gen(kSeed);
    std::vector<eligibility::BulkRow> out;
    for (uint64_t i = 0; i < 1000; ++i) out.push_back(gen.Row(gen.Make(i), Rules()));
    return out;
  }();
  return rows;
}

// Times each call of `one(i)` and reports p50, p99 and the mean in microseconds.
template <typename F>
void Latencies(benchmark::State& state, F one) {
  std::vector<double> us;
  size_t i = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    one(i++);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[us.size() * 99 / 100];
  state.counters["programs"] = static_cast<double>(Rules().programs().size());
}

// Reads every program's outcome and amount as bulk screening does.
int64_t ReadOutcomes(eligibility::Evaluator& ev) {
  int64_t sum = 0;
  for (const auto& p : Rules().programs()) {
    const eligibility::Column& e = ev.Symbol(p.eligible_symbol);
    sum += e.s[0] * 2 + e.v[0];
    if (e.s[0] == eligibility::kKnown && e.v[0] && p.amount_node >= 0)
      sum += ev.Node(p.amount_node).v[0];
  }
  return sum;
}

void BM_OneHousehold_Evaluate(benchmark::State& state) {
  const auto& rows = SomeRows();
  eligibility::Batch batch(Rules());
  eligibility::Evaluator ev(Rules());
  Latencies(state, [&](size_t i) {
    batch.Clear();
    if (!batch.Add(rows[i % rows.size()].input).ok()) std::abort();
    ev.Run(batch, kAsOf);
    benchmark::DoNotOptimize(ReadOutcomes(ev));
  });
}
BENCHMARK(BM_OneHousehold_Evaluate)->Name("OneHousehold/Evaluate")->Iterations(20000);

// The same with a new Batch and Evaluator per household, as Screen makes them.
void BM_OneHousehold_EvaluateFresh(benchmark::State& state) {
  const auto& rows = SomeRows();
  Latencies(state, [&](size_t i) {
    eligibility::Batch batch(Rules());
    if (!batch.Add(rows[i % rows.size()].input).ok()) std::abort();
    eligibility::Evaluator ev(Rules());
    ev.Run(batch, kAsOf);
    benchmark::DoNotOptimize(ReadOutcomes(ev));
  });
}
BENCHMARK(BM_OneHousehold_EvaluateFresh)->Name("OneHousehold/EvaluateFresh")->Iterations(20000);

void BM_OneHousehold_Screen(benchmark::State& state) {
  const auto& rows = SomeRows();
  Latencies(state, [&](size_t i) {
    auto s = eligibility::Screen(Rules(), rows[i % rows.size()].input, kAsOf);
    if (!s.ok()) std::abort();
    benchmark::DoNotOptimize(s->programs.size());
  });
}
BENCHMARK(BM_OneHousehold_Screen)->Name("OneHousehold/Screen")->Iterations(20000);

void BM_Bulk(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  eligibility::HouseholdGenerator gen(kSeed);
  uint64_t eligible = 0;
  for (auto _ : state) {
    eligible = 0;
    auto n = eligibility::ScreenBulk(Rules(), {.as_of = kAsOf, .threads = threads},
                                     gen.Feed(kBulkHouseholds),
                                     [&](const eligibility::ScreenedBatch& b) {
                                       for (const auto& r : b.results)
                                         eligible += r.outcome == Outcome::kEligible;
                                       return core::Status::Ok();
                                     });
    if (!n.ok() || *n != kBulkHouseholds) state.SkipWithError("bulk screening failed");
  }
  state.counters["households_per_s"] = benchmark::Counter(
      static_cast<double>(kBulkHouseholds), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["eligible_results"] = static_cast<double>(eligible);
}
BENCHMARK(BM_Bulk)
    ->Name("Bulk/GeneratedMillion")
    ->Arg(2)
    ->Arg(1)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

// The same million households, typed, for both sides of the yardstick.
struct Population {
  std::vector<eligibility::GeneratedHousehold> households;
  std::vector<bench::SnapHousehold> snap;
};

const Population& Million() {
  static const Population p = [] {
    Population out;
    eligibility::HouseholdGenerator gen(kSeed);
    out.households.reserve(kBulkHouseholds);
    out.snap.reserve(kBulkHouseholds);
    for (uint64_t i = 0; i < kBulkHouseholds; ++i) {
      const auto& h = out.households.emplace_back(gen.Make(i));
      out.snap.push_back({.household_size = h.household_size,
                          .earned_income = h.earned_income,
                          .unearned_income = h.unearned_income,
                          .shelter_costs = h.shelter_costs,
                          .dependent_care_costs = h.dependent_care_costs.value_or(0),
                          .medical_costs = h.medical_costs.value_or(0),
                          .child_support_paid = h.child_support_paid.value_or(0),
                          .has_elderly_or_disabled_member = h.has_elderly_or_disabled_member,
                          .countable_assets = h.countable_assets});
    }
    return out;
  }();
  return p;
}

void BM_SnapYardstick(benchmark::State& state) {
  const Population& pop = Million();
  const eligibility::RuleSet& rules = Rules();
  const auto& snap = rules.programs()[rules.FindProgram("snap")];
  const size_t n = pop.households.size();
  std::vector<bench::SnapResult> by_hand(n);
  std::vector<bench::SnapResult> by_engine(n);
  double hand_s = 0, engine_fill_s = 0, engine_eval_s = 0;
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    eligibility::Batch batch(rules);
    eligibility::Evaluator ev(rules);
    eligibility::GeneratedLayout layout(rules);
    const size_t batch_size = static_cast<size_t>(state.range(0));
    for (size_t first = 0; first < n; first += batch_size) {
      size_t count = std::min<size_t>(batch_size, n - first);
      // The hand-written function and the engine take turns on each batch, so that both see
      // the same machine (a shared one, whose speed drifts).
      auto t0 = Clock::now();
      bench::SnapFy2026(pop.snap.data() + first, by_hand.data() + first, count);
      benchmark::ClobberMemory();
      auto t1 = Clock::now();
      hand_s += std::chrono::duration<double>(t1 - t0).count();
      batch.Clear();
      for (size_t i = first; i < first + count; ++i) layout.AddTo(pop.households[i], batch);
      auto t2 = Clock::now();
      ev.Run(batch, kAsOf);
      const eligibility::Column& e = ev.Symbol(snap.eligible_symbol);
      const eligibility::Column& a = ev.Node(snap.amount_node);
      for (size_t h = 0; h < count; ++h) {
        bench::SnapResult& r = by_engine[first + h];
        r.outcome = e.s[h] != eligibility::kKnown ? bench::SnapOutcome::kUnknown
                    : e.v[h]                      ? bench::SnapOutcome::kEligible
                                                  : bench::SnapOutcome::kNotEligible;
        r.allotment = r.outcome == bench::SnapOutcome::kEligible ? a.v[h] : 0;
      }
      auto t3 = Clock::now();
      engine_fill_s += std::chrono::duration<double>(t2 - t1).count();
      engine_eval_s += std::chrono::duration<double>(t3 - t2).count();
    }
  }
  uint64_t mismatches = 0, eligible = 0, unknown = 0;
  for (size_t i = 0; i < n; ++i) {
    mismatches += by_hand[i].outcome != by_engine[i].outcome ||
                  by_hand[i].allotment != by_engine[i].allotment;
    eligible += by_hand[i].outcome == bench::SnapOutcome::kEligible;
    unknown += by_hand[i].outcome == bench::SnapOutcome::kUnknown;
  }
  double iters = static_cast<double>(state.iterations()) * static_cast<double>(n);
  state.counters["hand_ns"] = hand_s * 1e9 / iters;
  state.counters["engine_eval_ns"] = engine_eval_s * 1e9 / iters;
  state.counters["engine_fill_ns"] = engine_fill_s * 1e9 / iters;
  state.counters["ratio_eval"] = engine_eval_s / hand_s;
  state.counters["ratio_with_fill"] = (engine_eval_s + engine_fill_s) / hand_s;
  state.counters["eligible"] = static_cast<double>(eligible);
  state.counters["unknown"] = static_cast<double>(unknown);
  state.counters["mismatches"] = static_cast<double>(mismatches);
  if (mismatches != 0) state.SkipWithError("the engine and the hand-written SNAP disagree");
}
BENCHMARK(BM_SnapYardstick)
    ->Name("SnapYardstick")
    ->Arg(1024)
    ->Iterations(3)
    ->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
