// Directory search over a generated directory of N services (default 50,000): imports it
// through DirectoryService::Import into a fresh SQLite database (or PostgreSQL with --db URL),
// then runs a mix of searches as /hsds/services answers them — Search, then the page's rows —
// and prints the latency percentiles as one JSON line (docs/PERFORMANCE.md, "Directory search";
// make bench-directory).
//
//   directory_benchmark [--services N] [--queries Q] [--db postgres://...]

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "directory/directory_service.h"
#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "storage/sqlite/sqlite_database.h"

namespace {

using nlohmann::json;

std::string Uuid(int kind, int n) { return fmt::format("{:08x}-0000-4000-8000-{:012x}", kind, n); }

const std::vector<std::string> kNeeds = {
    "food",     "housing",   "rent",      "job",       "employment", "training", "debt",     "benefit",
    "health",   "counselling", "baby",    "pregnancy", "children",   "school",   "heating",  "energy",
    "transport", "legal",    "advice",    "disability", "carer",     "elderly",  "pension",  "bereavement",
    "funeral",  "shelter",   "homeless",  "meals",     "groceries",  "clinic",   "dental",   "vaccination",
    "literacy", "language",  "interpreter", "immigration", "tax",    "utilities", "internet", "phone"};
const std::vector<std::string> kKinds = {"support", "advice", "service", "programme", "clinic", "centre",
                                         "helpline", "group", "scheme", "fund"};
const std::vector<std::string> kFiller = {
    "free",   "local",     "confidential", "weekly", "families", "people", "residents", "help",
    "apply",  "appointment", "drop-in",    "online", "phone",    "visit",  "trained",   "volunteers",
    "staff",  "city",      "region",       "open",   "monday",   "friday", "referral",  "needed",
    "bring",  "identity",  "proof",        "income", "address",  "letter", "community", "trust"};
const std::vector<std::string> kLangs = {"en", "es", "zh", "ar", "pl", "hi", "mi", "to", "fr", "pt"};

directory::Dataset Generate(int services, std::mt19937& rng) {
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  json bundle = {{"organizations", json::array()}, {"services", json::array()}, {"locations", json::array()},
                 {"taxonomies", json::array({{{"id", Uuid(3, 1)}, {"name", "Needs"}, {"description", "Needs"}}})},
                 {"taxonomy_terms", json::array()}};
  for (size_t i = 0; i < kNeeds.size(); ++i) {
    bundle["taxonomy_terms"].push_back({{"id", Uuid(4, static_cast<int>(i))}, {"name", kNeeds[i]},
                                        {"description", kNeeds[i]}, {"taxonomy_id", Uuid(3, 1)}});
  }
  const int orgs = std::max(1, services / 100), locations = std::max(1, services / 20);
  for (int o = 0; o < orgs; ++o) {
    bundle["organizations"].push_back(
        {{"id", Uuid(1, o)}, {"name", fmt::format("Organisation {}", o)}, {"description", "A provider"}});
  }
  for (int l = 0; l < locations; ++l) {
    const int town = l % 200;
    bundle["locations"].push_back(
        {{"id", Uuid(2, l)},
         {"location_type", "physical"},
         {"name", fmt::format("Centre {}", l)},
         {"addresses", json::array({{{"id", Uuid(10, l)}, {"address_1", fmt::format("{} Main Street", l)},
                                      {"city", fmt::format("Town{}", town)}, {"state_province", "Region"},
                                      {"postal_code", fmt::format("T{:03} {}AB", town, l % 10)}, {"country", "US"},
                                      {"address_type", "physical"}}})}});
  }
  for (int s = 0; s < services; ++s) {
    const std::string need = pick(kNeeds), need2 = pick(kNeeds);
    std::string description;
    for (int w = 0; w < 30; ++w) description += (w ? " " : "") + (w % 7 == 3 ? pick(kNeeds) : pick(kFiller));
    json svc = {{"id", Uuid(5, s)},
                {"name", fmt::format("{} {} {}", need, pick(kKinds), s)},
                {"description", description},
                {"status", s % 20 == 0 ? "inactive" : "active"},
                {"organization_id", Uuid(1, s % orgs)},
                {"service_at_locations", json::array({{{"id", Uuid(8, s)}, {"location_id", Uuid(2, s % locations)}}})}};
    json attrs = json::array();
    for (const std::string& n : {need, need2}) {
      const auto idx = std::find(kNeeds.begin(), kNeeds.end(), n) - kNeeds.begin();
      attrs.push_back({{"id", Uuid(6, s * 2 + static_cast<int>(attrs.size()))}, {"taxonomy_term_id", Uuid(4, static_cast<int>(idx))}});
    }
    svc["attributes"] = attrs;
    json langs = json::array();
    langs.push_back({{"id", Uuid(7, s * 3)}, {"code", "en"}, {"name", "English"}});
    if (s % 3 == 0) langs.push_back({{"id", Uuid(7, s * 3 + 1)}, {"code", kLangs[1 + rng() % (kLangs.size() - 1)]}});
    svc["languages"] = langs;
    bundle["services"].push_back(std::move(svc));
  }
  directory::Dataset data;
  core::Status s = directory::FlattenDocument(bundle, "", "generated", data);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(1);
  }
  return data;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  int services = 50'000, queries = 2'000;
  std::string url;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--services") services = std::stoi(argv[i + 1]);
    else if (a == "--queries") queries = std::stoi(argv[i + 1]);
    else if (a == "--db") url = argv[i + 1];
  }
  std::mt19937 rng(42);
  std::unique_ptr<storage::Database> db;
  const std::string dir = std::filesystem::temp_directory_path() / fmt::format("onedoor-directory-bench-{}", getpid());
  if (url.empty()) {
    std::filesystem::create_directories(dir);
    auto opened = storage::OpenSqlite(dir + "/bench.db");
    if (!opened.ok()) return std::fprintf(stderr, "%s\n", opened.status().ToString().c_str()), 1;
    db = std::move(opened).value();
  } else {
    auto opened = storage::OpenPostgres(url, {.connections = 4});
    if (!opened.ok()) return std::fprintf(stderr, "%s\n", opened.status().ToString().c_str()), 1;
    db = std::move(opened).value();
  }
  if (auto m = storage::Migrate(*db, storage::OnedoorSchema()); !m.ok()) {
    return std::fprintf(stderr, "%s\n", m.status().ToString().c_str()), 1;
  }
  core::SystemClock clock;
  audit::AuditLog audit(clock);
  exchange::Outbox outbox(clock);
  auto synonyms = directory::Synonyms::Load(ONEDOOR_SOURCE_DIR "/config/synonyms.yaml");
  if (!synonyms.ok()) return std::fprintf(stderr, "%s\n", synonyms.status().ToString().c_str()), 1;
  directory::DirectoryService service(*db, audit, outbox, clock, std::move(synonyms).value());
  authz::Principal admin;
  admin.kind = authz::PrincipalKind::kSystem;
  admin.name = "bench";
  admin.roles = {authz::Role::kAdmin};

  const auto t0 = std::chrono::steady_clock::now();
  directory::Dataset data = Generate(services, rng);
  const auto t1 = std::chrono::steady_clock::now();
  auto report = service.Import(admin, data, false);
  if (!report.ok()) return std::fprintf(stderr, "%s\n", report.status().ToString().c_str()), 1;
  const auto t2 = std::chrono::steady_clock::now();

  // The mix: common and rare words, two words, synonyms, prefixes (typing), filters, later pages.
  std::vector<directory::SearchQuery> mix;
  for (int i = 0; i < 50; ++i) {
    const std::string need = kNeeds[rng() % kNeeds.size()];
    mix.push_back({.text = need});
    mix.push_back({.text = need + " " + kFiller[rng() % kFiller.size()]});
    mix.push_back({.text = "I lost my job"});
    mix.push_back({.text = need.substr(0, 3)});
    mix.push_back({.text = need, .language = kLangs[rng() % kLangs.size()], .active_only = true});
    mix.push_back({.taxonomy_term_id = Uuid(4, static_cast<int>(rng() % kNeeds.size())),
                   .postcode = fmt::format("T{:03} {}AB", rng() % 200, rng() % 10)});
    mix.push_back({.text = need, .page = 3});
    mix.push_back({.text = "help with " + need + " and " + kNeeds[rng() % kNeeds.size()]});
  }
  std::vector<double> ms;
  std::vector<std::vector<double>> by_kind(8);
  int64_t matched = 0;
  for (int q = 0; q < queries; ++q) {
    const auto& query = mix[static_cast<size_t>(q) % mix.size()];
    const auto a = std::chrono::steady_clock::now();
    auto found = service.Search(query);
    if (!found.ok()) return std::fprintf(stderr, "%s\n", found.status().ToString().c_str()), 1;
    auto rows = service.GetMany("service", found->ids, false);
    if (!rows.ok()) return std::fprintf(stderr, "%s\n", rows.status().ToString().c_str()), 1;
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    by_kind[static_cast<size_t>(q) % 8].push_back(ms.back());
    matched += found->total;
  }
  std::printf("{\"services\":%d,\"rows\":%zu,\"import_s\":%.1f,\"generate_s\":%.1f,\"queries\":%d,"
              "\"mean_matches\":%lld,\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,\"db\":\"%s\"}\n",
              services, data.size(), std::chrono::duration<double>(t2 - t1).count(),
              std::chrono::duration<double>(t1 - t0).count(), queries, static_cast<long long>(matched / queries),
              Percentile(ms, 0.5), Percentile(ms, 0.9), Percentile(ms, 0.99), *std::max_element(ms.begin(), ms.end()),
              db->Describe().c_str());
  const char* kinds[] = {"word", "two words", "lost my job", "prefix", "word+language", "term+postcode",
                         "word, page 3", "question"};
  for (size_t k = 0; k < by_kind.size(); ++k) {
    if (!by_kind[k].empty()) std::fprintf(stderr, "%-14s p99 %.2f ms\n", kinds[k], Percentile(by_kind[k], 0.99));
  }
  if (url.empty() && !std::getenv("ONEDOOR_BENCH_KEEP")) std::filesystem::remove_all(dir);
  if (std::getenv("ONEDOOR_BENCH_KEEP")) std::fprintf(stderr, "kept %s\n", dir.c_str());
  return 0;
}
