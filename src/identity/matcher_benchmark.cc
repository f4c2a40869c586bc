// Benchmarks of the identity matcher. The headline: matching one record in real time against
// an index of 1,000,000 synthetic persons (goal: p99 under 5 ms in-process).
//
//   cmake --build build/identity --target identity_benchmark
//   build/identity/src/identity_benchmark --benchmark_filter=ClientIndex
//
// The population is generated (deterministically) so that names follow a skewed frequency
// like real ones: a few very common, a long tail of rare.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "identity/compare.h"
#include "identity/matcher.h"
#include "identity/normalize.h"

namespace identity {
namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ULL + 1) {}
  uint64_t Next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1DULL;
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  // Skewed towards small indexes: index 0 is the most common value.
  size_t Skewed(size_t n) {
    double u = static_cast<double>(Next() >> 11) / 9007199254740992.0;
    return std::min(n - 1, static_cast<size_t>(static_cast<double>(n) * u * u * u));
  }

 private:
  uint64_t s_;
};

std::vector<std::string> MakeWords(size_t n, uint64_t seed, int syllables) {
  static const char* kSyllables[] = {
      "an", "be", "ca", "da", "el", "fi", "ga", "ha", "is", "jo", "ka", "li",  "ma",  "ne",  "or",
      "pe", "qu", "ra", "si", "ta", "ul", "va", "wi", "xa", "yo", "ze", "ton", "son", "ley", "ric"};
  Rng rng(seed);
  std::vector<std::string> words;
  words.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string w;
    int count = syllables + static_cast<int>(rng.Below(2));
    for (int k = 0; k < count; ++k) w += kSyllables[rng.Below(std::size(kSyllables))];
    words.push_back(std::move(w));
  }
  return words;
}

struct Population {
  std::vector<PersonRecord> people;
  RecordTable table;
  std::unique_ptr<ClientIndex> index;
  std::vector<PersonRecord> probes;
  std::vector<int64_t> probe_source;  // row a probe was made from, or -1
};

PersonRecord Typo(PersonRecord r, Rng& rng) {
  std::string& name = rng.Below(2) ? r.family_name : r.given_name;
  if (name.size() > 3) std::swap(name[1], name[2]);
  if (rng.Below(2)) r.identifier.clear();
  if (rng.Below(3) == 0) r.postcode[3] = static_cast<char>('0' + rng.Below(10));
  return r;
}

Model MakeModel() {
  Model model = Model::Starter();
  model.prior = 1e-6;
  return model;
}

Population& OneMillion() {
  static Population* population = [] {
    auto* p = new Population;
    const size_t n = 1'000'000;
    std::vector<std::string> given = MakeWords(3000, 1, 2), family = MakeWords(60000, 2, 3),
                             streets = MakeWords(20000, 3, 3), towns = MakeWords(3000, 4, 2);
    const char* kinds[] = {"street", "road", "avenue", "place", "crescent", "court"};
    const char* regions[] = {"nsw", "vic", "qld", "wa", "sa", "tas", "act", "nt"};
    Rng rng(42);
    p->people.reserve(n);
    p->table.Reserve(n);
    for (size_t i = 0; i < n; ++i) {
      PersonRecord r;
      r.given_name = given[rng.Skewed(given.size())];
      r.family_name = family[rng.Skewed(family.size())];
      r.date_of_birth = std::to_string(1920 + rng.Below(90)) + "-" +
                        std::to_string(1 + rng.Below(12)) + "-" + std::to_string(1 + rng.Below(28));
      r.street_number = std::to_string(1 + rng.Below(300));
      r.address_line1 = streets[rng.Below(streets.size())] + " " + kinds[rng.Below(6)];
      r.locality = towns[rng.Skewed(towns.size())];
      r.postcode = std::to_string(1000 + rng.Below(9000));
      r.region = regions[rng.Below(8)];
      r.identifier = std::to_string(100000000 + rng.Below(900000000));
      p->table.Add(r);
      p->people.push_back(std::move(r));
    }
    p->index = std::make_unique<ClientIndex>(p->table, MakeModel());
    for (size_t i = 0; i < 2000; ++i) {
      if (i % 5 == 4) {  // a stranger
        PersonRecord r = p->people[rng.Below(n)];
        r.given_name = given[rng.Below(given.size())];
        r.family_name = family[rng.Below(family.size())];
        r.identifier = std::to_string(100000000 + rng.Below(900000000));
        r.date_of_birth = "1901-01-01";
        p->probes.push_back(r);
        p->probe_source.push_back(-1);
      } else {
        size_t row = rng.Below(n);
        p->probes.push_back(Typo(p->people[row], rng));
        p->probe_source.push_back(static_cast<int64_t>(row));
      }
    }
    return p;
  }();
  return *population;
}

void BM_ClientIndexFindInOneMillion(benchmark::State& state) {
  Population& p = OneMillion();
  std::vector<double> micros;
  micros.reserve(1 << 16);
  size_t i = 0, found = 0, known = 0;
  for (auto _ : state) {
    const PersonRecord& probe = p.probes[i % p.probes.size()];
    auto start = std::chrono::steady_clock::now();
    std::vector<ClientIndex::Match> matches = p.index->Find(probe, 5);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
    int64_t source = p.probe_source[i % p.probes.size()];
    if (source >= 0) {
      ++known;
      if (!matches.empty() && matches[0].row == static_cast<uint32_t>(source)) ++found;
    }
    benchmark::DoNotOptimize(matches);
    ++i;
  }
  std::sort(micros.begin(), micros.end());
  auto at = [&](double q) { return micros[static_cast<size_t>(q * (micros.size() - 1))]; };
  state.counters["p50_us"] = at(0.5);
  state.counters["p99_us"] = at(0.99);
  state.counters["max_us"] = micros.back();
  state.counters["top1"] = known ? static_cast<double>(found) / static_cast<double>(known) : 0;
  state.counters["persons"] = static_cast<double>(p.table.size());
}
BENCHMARK(BM_ClientIndexFindInOneMillion)->Iterations(20000)->Unit(benchmark::kMicrosecond);

void BM_JaroWinkler(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(JaroWinkler("salkauskas crescent", "salkauskas cresent"));
  }
}
BENCHMARK(BM_JaroWinkler);

void BM_DoubleMetaphone(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(DoubleMetaphone("schwarzenegger"));
}
BENCHMARK(BM_DoubleMetaphone);

void BM_NormalizeNameCyrillic(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(NormalizeName("Александр Пушкин"));
}
BENCHMARK(BM_NormalizeNameCyrillic);

}  // namespace
}  // namespace identity

BENCHMARK_MAIN();
