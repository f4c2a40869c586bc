// Micro-benchmarks of the client record's conversions on the read path.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "registry/person.h"
#include "registry/person_service.h"

namespace {

registry::Person Sample() {
  registry::Person p;
  p.id = core::PersonId{42};
  p.version = 3;
  p.names = {{"official", "Amara", "Okonkwo"}, {"alias", "Amy", "Okonkwo"}};
  p.birth_date = core::PartialDate{1987, 2, 14};
  p.sex = "female";
  p.identifiers = {{"national_id", "NI1234567", ""}};
  p.addresses = {{"home", "12 Market Street", "", "Riverside", "", "4000", ""}};
  p.phones = {{"mobile", "0400 123 456"}};
  p.preferred_language = "en";
  return p;
}

void BM_FromStorageJson(benchmark::State& state) {
  const std::string doc = registry::ToStorageJson(Sample()).dump();
  for (auto _ : state) benchmark::DoNotOptimize(registry::FromStorageJson(doc));
}
BENCHMARK(BM_FromStorageJson);

void BM_ToJsonDump(benchmark::State& state) {
  const registry::Person p = Sample();
  const authz::Decision all = authz::SeeEverything("");
  for (auto _ : state) benchmark::DoNotOptimize(registry::ToJson(p, all).dump());
}
BENCHMARK(BM_ToJsonDump);

// What a read does now: the answer's text straight from the stored document, with a source
// record added as the read adds them.
void BM_ReadAnswerText(benchmark::State& state) {
  const registry::Person p = Sample();
  registry::PersonView view;
  view.stored = registry::ToStorageJson(p).dump();
  view.person.id = p.id;
  view.person.version = p.version;
  view.decision = authz::SeeEverything("");
  view.sources = {{core::AgencyId{1}, "City Social Services", "C-1"}};
  for (auto _ : state) benchmark::DoNotOptimize(registry::ReadAnswerText(view));
}
BENCHMARK(BM_ReadAnswerText);

}  // namespace

BENCHMARK_MAIN();
