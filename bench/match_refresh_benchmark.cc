// The real-time match while the registry changes (docs/PERFORMANCE.md, "Client index";
// make bench-match): N generated persons in a SQLite database, two match services over it —
// one that adds each change to its index (the default), one with max_added 0 that builds its
// index again at every change — then K new persons registered one by one, each followed by a
// match on both services. Prints the build time and, for both, the time from the change until a
// match sees it, as one JSON line.
//
// With --added A, then A more persons written at once and caught up by one match, and one more
// after them (the cost of a change near max_added; --max-added sets it for the first service).
//
//   match_refresh_benchmark [--persons N] [--changes K] [--added A] [--max-added M]

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "exchange/outbox.h"
#include "identity/generate.h"
#include "identity/match_service.h"
#include "registry/person_service.h"
#include "storage/migrations.h"
#include "storage/schema.h"
#include "storage/sqlite/sqlite_database.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

authz::Principal Caseworker() {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{1};
  p.agency = core::AgencyId{1};
  p.name = "bench";
  p.roles = {authz::Role::kCaseworker};
  p.purpose = authz::Purpose::kCaseWork;
  return p;
}

registry::Person ToPerson(const identity::PersonRecord& r) {
  registry::Person p;
  p.names = {{"official", r.given_name.empty() ? "x" : r.given_name, r.family_name.empty() ? "x" : r.family_name}};
  std::string dob = r.date_of_birth;
  if (dob.size() == 8) dob = dob.substr(0, 4) + "-" + dob.substr(4, 2) + "-" + dob.substr(6, 2);
  if (auto d = core::PartialDate::Parse(dob); d.ok()) p.birth_date = *d;
  registry::Address a;
  a.use = "home";
  a.line1 = (r.street_number.empty() ? "" : r.street_number + " ") + r.address_line1;
  a.line2 = r.address_line2;
  a.city = r.locality;
  a.postcode = r.postcode;
  a.region = r.region;
  if (!a.line1.empty() || !a.city.empty()) p.addresses.push_back(a);
  if (!r.identifier.empty()) p.identifiers.push_back({"national_id", r.identifier, ""});
  return p;
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

int Fail(const core::Status& s) {
  std::fprintf(stderr, "%s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t persons = 100'000;
  int changes = 10;
  uint64_t added = 0;
  size_t max_added = identity::MatchServiceOptions{}.max_added;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--persons") persons = std::stoull(argv[i + 1]);
    else if (a == "--added") added = std::stoull(argv[i + 1]);
    else if (a == "--max-added") max_added = std::stoull(argv[i + 1]);
    else if (a == "--changes") changes = std::stoi(argv[i + 1]);
  }
  core::SetLogLevel(core::LogLevel::kWarn);
  const std::string dir = std::filesystem::temp_directory_path() / fmt::format("onedoor-match-bench-{}", getpid());
  std::filesystem::create_directories(dir);
  auto opened = storage::OpenSqlite(dir + "/bench.db");
  if (!opened.ok()) return Fail(opened.status());
  std::unique_ptr<storage::Database> db = std::move(opened).value();
  if (auto m = storage::Migrate(*db, storage::OnedoorSchema()); !m.ok()) return Fail(m.status());

  // The persons to write, and the new ones registered after.
  identity::GeneratorOptions gen;
  gen.records = persons + static_cast<uint64_t>(changes);
  gen.duplicates_share = 0;
  gen.shuffle = false;
  gen.seed = 2026;
  std::vector<registry::Person> people;
  people.reserve(gen.records);
  identity::GenerateRecords(gen, [&](const identity::GeneratedRecord& r) { people.push_back(ToPerson(r.record)); });
  // Persons people[from % persons] onwards, written straight to the table as a migration from
  // another system would, in one transaction.
  auto insert = [&](uint64_t from, uint64_t count) {
    return db->Write([&](storage::Transaction& tx) -> core::Status {
      for (uint64_t i = from; i < from + count; ++i) {
        const registry::Person& p = people[i % persons];
        RETURN_IF_ERROR(tx.Execute("INSERT INTO persons (version, display_name, birth_date, doc, created_at, "
                                   "updated_at, created_by, created_agency) VALUES (1, ?, ?, ?, 0, 0, 1, 1)",
                                   {p.DisplayName(),
                                    p.birth_date ? storage::Value(p.birth_date->ToString()) : storage::Value(storage::Null{}),
                                    registry::ToStorageJson(p).dump()})
                            .status());
      }
      return core::Status::Ok();
    });
  };
  auto start = Clock::now();
  if (auto loaded = insert(0, persons); !loaded.ok()) return Fail(loaded);
  const double load_seconds = Seconds(start);

  core::SystemClock clock;
  authz::AccessGate gate;
  audit::AuditLog audit(clock);
  exchange::Outbox outbox(clock);
  registry::PersonService registry(*db, gate, audit, outbox, clock);
  identity::MatchService adding(*db, gate, audit, clock,
                                {.max_staleness = std::chrono::milliseconds(0), .max_added = max_added});
  identity::MatchService rebuilding(*db, gate, audit, clock,
                                    {.max_staleness = std::chrono::milliseconds(0), .max_added = 0});
  const registry::Person probe = people[persons / 2];
  start = Clock::now();
  if (auto m = adding.Match(Caseworker(), probe, 5); !m.ok()) return Fail(m.status());
  const double build_seconds = Seconds(start);
  if (auto m = rebuilding.Match(Caseworker(), probe, 5); !m.ok()) return Fail(m.status());

  std::vector<double> adding_ms, rebuilding_ms;
  int found_new = 0;
  for (int i = 0; i < changes; ++i) {
    const registry::Person& fresh = people[persons + static_cast<uint64_t>(i)];
    auto made = registry.Create(Caseworker(), fresh);
    if (!made.ok()) return Fail(made.status());
    start = Clock::now();
    auto a = adding.Match(Caseworker(), fresh, 5);
    adding_ms.push_back(Seconds(start) * 1000);
    if (!a.ok()) return Fail(a.status());
    if (!a->empty() && (*a)[0].person == made->id) ++found_new;
    // Until a match sees the change: the build it starts, then a match on the new index.
    start = Clock::now();
    if (auto b = rebuilding.Match(Caseworker(), fresh, 5); !b.ok()) return Fail(b.status());
    rebuilding.WaitForBuild();
    auto b = rebuilding.Match(Caseworker(), fresh, 5);
    rebuilding_ms.push_back(Seconds(start) * 1000);
    if (!b.ok()) return Fail(b.status());
  }
  // Near the limit: `added` more persons written at once, caught up by one match; then one more,
  // whose match re-indexes every row added since the build.
  double bulk_ms = 0, one_more_ms = 0;
  if (added > 0) {
    if (auto s = insert(0, added); !s.ok()) return Fail(s);
    start = Clock::now();
    if (auto m = adding.Match(Caseworker(), probe, 5); !m.ok()) return Fail(m.status());
    bulk_ms = Seconds(start) * 1000;
    if (auto s = insert(1, 1); !s.ok()) return Fail(s);
    start = Clock::now();
    if (auto m = adding.Match(Caseworker(), probe, 5); !m.ok()) return Fail(m.status());
    one_more_ms = Seconds(start) * 1000;
  }
  const identity::MatchIndexStats sa = adding.Stats(), sb = rebuilding.Stats();
  std::printf(
      "{\"persons\":%llu,\"changes\":%d,\"load_seconds\":%.1f,\"build_seconds\":%.2f,"
      "\"after_change_ms_adding\":{\"p50\":%.2f,\"max\":%.2f,\"builds\":%lld},"
      "\"after_change_ms_rebuilding\":{\"p50\":%.1f,\"max\":%.1f,\"builds\":%lld},"
      "\"ratio_p50\":%.0f,\"new_person_ranked_first\":%d,"
      "\"added_at_once\":%llu,\"catch_up_ms\":%.1f,\"one_more_after_them_ms\":%.1f,\"rows_added\":%zu}\n",
      static_cast<unsigned long long>(persons), changes, load_seconds, build_seconds, Percentile(adding_ms, 0.5),
      Percentile(adding_ms, 1.0), static_cast<long long>(sa.builds), Percentile(rebuilding_ms, 0.5),
      Percentile(rebuilding_ms, 1.0), static_cast<long long>(sb.builds),
      Percentile(rebuilding_ms, 0.5) / std::max(1e-9, Percentile(adding_ms, 0.5)), found_new,
      static_cast<unsigned long long>(added), bulk_ms, one_more_ms, sa.added);
  std::filesystem::remove_all(dir);
  return found_new == changes ? 0 : 1;
}
