// The monthly scorecard of a busy agency (docs/PERFORMANCE.md, "Service metrics"; make
// bench-scorecard): six months of work stored as onedoor stores it (by default 1,000,000 contacts,
// and 100,000 each of tickets, referrals and decided parts of applications), four targets, and
// ScorecardService::Monthly timed on the last month (it computes the six months of the trend).
// Prints one JSON line: the fastest and the median of five runs, with what the card said.
//
//   scorecard_benchmark [--interactions N] [--cases N] [--db postgres://...]

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>

#include "metrics/scorecard.h"
#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "storage/sqlite/sqlite_database.h"

namespace {

constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kDay = 1440 * kMinute;
constexpr int64_t kJune = 1'780'272'000'000'000;  // 2026-06-01T00:00:00Z
constexpr int64_t kSixMonths = 183 * kDay;        // June to November

}  // namespace

int main(int argc, char** argv) {
  int64_t interactions = 1'000'000, cases = 100'000;
  std::string url;
  // all; or, on PostgreSQL, load (then VACUUM ANALYZE from outside, as autovacuum would in a
  // running deployment) and measure, in two runs on the same database.
  std::string phase = "all";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--interactions") interactions = std::stoll(argv[i + 1]);
    else if (a == "--cases") cases = std::stoll(argv[i + 1]);
    else if (a == "--db") url = argv[i + 1];
    else if (a == "--phase") phase = argv[i + 1];
  }
  if (phase != "all" && (url.empty() || (phase != "load" && phase != "measure"))) {
    return std::fprintf(stderr, "--phase load or measure needs --db postgres://...\n"), 2;
  }
  const std::string dir = std::filesystem::temp_directory_path() / fmt::format("onedoor-scorecard-bench-{}", getpid());
  std::unique_ptr<storage::Database> db;
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
  std::mt19937_64 rng(42);
  auto uniform = [&](int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); };
  const auto load_start = std::chrono::steady_clock::now();
  core::Status setup = phase == "measure" ? core::Status::Ok() : db->Write([&](storage::Transaction& tx) -> core::Status {
    auto run = [&](const std::string& sql, storage::Params p = {}) { return tx.Execute(sql, std::move(p)).status(); };
    RETURN_IF_ERROR(run("INSERT INTO agencies (code, name, kind, created_at) VALUES ('city', 'City', 'government', 0)"));
    RETURN_IF_ERROR(run("INSERT INTO agencies (code, name, kind, created_at) VALUES ('state', 'State', 'government', 0)"));
    RETURN_IF_ERROR(run("INSERT INTO offices (agency_id, name, address, created_at) VALUES (1, 'Centre', '', 0)"));
    for (const char* code : {"A", "B", "C", "D", "E"}) {
      RETURN_IF_ERROR(run("INSERT INTO queues (office_id, code, name, directory_service_id, created_at) VALUES (1, ?, ?, "
                          "NULL, 0)",
                          {std::string(code), std::string("Queue ") + code}));
    }
    RETURN_IF_ERROR(run("INSERT INTO persons (version, display_name, doc, created_at, updated_at, created_by, "
                        "created_agency) VALUES (1, 'P', '{}', 0, 0, 1, 1)"));
    RETURN_IF_ERROR(run("INSERT INTO consents (person_id, receiving_agency_id, scope, categories, purpose, legal_basis, "
                        "valid_from, how_to_withdraw, evidence, document_ref, recorded_by, recorded_by_name, agency_id, "
                        "recorded_at, state, version) VALUES (1, 1, 'full', '', 'service_delivery', 'consent', "
                        "'2026-01-01', 'x', 'signed_form', 'x', 1, 'x', 1, 0, 'active', 1)"));
    RETURN_IF_ERROR(run("INSERT INTO households (name, version, created_at, created_by) VALUES ('P', 1, 0, 1)"));
    RETURN_IF_ERROR(run("INSERT INTO screenings (household_id, as_of, rules_hash, input, result, created_at, created_by, "
                        "agency_id) VALUES (1, '2026-06-01', 'h', '{}', '{}', 0, 1, 1)"));
    RETURN_IF_ERROR(run("INSERT INTO applications (person_id, household_id, screening_id, agency_id, made_by, answers, "
                        "created_at) VALUES (1, 1, 1, 1, 'x', '{}', 0)"));
    // One person for every twenty contacts, so that people come back (repeat contacts).
    const int64_t people = std::max<int64_t>(1, interactions / 20);
    for (int64_t i = 1; i < people; ++i) {
      RETURN_IF_ERROR(run("INSERT INTO persons (version, display_name, doc, created_at, updated_at, created_by, "
                          "created_agency) VALUES (1, 'P', '{}', 0, 0, 1, 1)"));
    }
    const char* channels[] = {"desk", "phone", "web", "email", "outreach"};
    const char* outcomes[] = {"resolved", "resolved", "resolved", "referred", "booked", "follow_up"};
    const char* topics[] = {"Rent", "Food", "Work", "Health", "Benefits", "Housing", "Debt", "Family"};
    for (int64_t i = 0; i < interactions; ++i) {
      const int64_t score = uniform(3) == 0 ? 1 + uniform(5) : 0;
      const bool known = uniform(10) < 7;
      RETURN_IF_ERROR(run("INSERT INTO interactions (person_id, agency_id, recorded_by, channel, topic, outcome, note, "
                          "satisfaction, at, repeat_contact) VALUES (?, 1, 'x', ?, ?, ?, '', ?, ?, ?)",
                          {known ? storage::Value(1 + uniform(people)) : storage::Value(storage::Null{}),
                           std::string(channels[uniform(5)]), std::string(topics[uniform(8)]),
                           std::string(outcomes[uniform(6)]),
                           score ? storage::Value(score) : storage::Value(storage::Null{}),
                           kJune + uniform(kSixMonths), int64_t{known && uniform(5) == 0 ? 1 : 0}}));
    }
    for (int64_t i = 0; i < cases; ++i) {
      const int64_t arrived = kJune + uniform(kSixMonths);
      const int64_t called = arrived + (1 + uniform(40)) * kMinute;
      RETURN_IF_ERROR(run("INSERT INTO tickets (office_id, queue_id, day, code, number, label, priority, state, "
                          "recalls, arrived_at, called_at, served_at, finished_at) VALUES (1, ?, 'd', 'A', ?, 'A', 0, "
                          "'done', 0, ?, ?, ?, ?)",
                          {1 + uniform(5), i, arrived, called, called, called + (3 + uniform(20)) * kMinute}));
      const int64_t created = kJune + uniform(kSixMonths);
      const bool answered = uniform(10) != 0;
      RETURN_IF_ERROR(run("INSERT INTO referrals (person_id, person_name, from_agency_id, from_user_id, from_actor, "
                          "to_agency_id, service, urgency, message, consent_id, state, reason, outcome, respond_by, "
                          "answered_at, created_at, updated_at, version) VALUES (1, 'P', 1, 1, 'x', 1, 's', 'routine', "
                          "'m', 1, ?, '', '', ?, ?, ?, ?, 1)",
                          {std::string(!answered ? "sent" : uniform(5) == 0 ? "declined" : "accepted"),
                           created + 2 * kDay,
                           answered ? storage::Value(created + uniform(4 * kDay)) : storage::Value(storage::Null{}),
                           created, created}));
      const int64_t decided = kJune + uniform(kSixMonths);
      const std::string due = core::Timestamp{decided + (uniform(4) - 1) * kDay}.UtcDate().ToString();
      RETURN_IF_ERROR(run("INSERT INTO application_parts (application_id, program, program_name, agency_id, screened, "
                          "state, expedited, received, due, clock, reason, request, decided_at, decided_by, version) "
                          "VALUES (1, 'snap', 'SNAP', 1, 'eligible', 'approved', 0, '2026-06-01', ?, '30 days', '', '', ?, "
                          "'x', 2)",
                          {due, decided}));
      // A case the city coordinates, reviewed once (on time or up to a week late) or not yet.
      const int64_t review_due = kJune + uniform(kSixMonths);
      const bool reviewed = uniform(4) != 0;
      ASSIGN_OR_RETURN(storage::Rows made,
                       tx.Query("INSERT INTO cases (person_id, title, criteria, coordinator_user_id, coordinator, "
                                "coordinating_agency_id, state, review_every_days, next_review_at, outcome, "
                                "close_reason, opened_at, version) VALUES (?, 'Plan', 'x', 1, 'c', 1, 'open', 28, ?, "
                                "'', '', 0, 1) RETURNING id",
                                {1 + uniform(people), reviewed ? review_due + 28 * kDay : review_due}));
      if (reviewed) {
        RETURN_IF_ERROR(run("INSERT INTO case_reviews (case_id, agency_id, due_at, reviewed_at) VALUES (?, 1, ?, ?)",
                            {made.at(0).Int(0), review_due, review_due + (uniform(10) - 3) * kDay}));
      }
      // A change told to the state and sent to the city, applied within two days or not yet.
      const int64_t told = kJune + uniform(kSixMonths);
      const bool applied = uniform(8) != 0;
      RETURN_IF_ERROR(run("INSERT INTO change_notices (person_id, agency_id, from_agency_id, type, fields, version, "
                          "created_at, state, applied_at) VALUES (?, 1, 2, 'address', '[]', 1, ?, ?, ?)",
                          {1 + uniform(people), told, std::string(applied ? "applied" : "pending"),
                           applied ? storage::Value(told + uniform(2 * kDay)) : storage::Value(storage::Null{})}));
    }
    return core::Status::Ok();
  });
  if (!setup.ok()) return std::fprintf(stderr, "%s\n", setup.ToString().c_str()), 1;
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();

  core::FakeClock clock(core::Timestamp{kJune + kSixMonths + 5 * kDay});
  audit::AuditLog audit(clock);
  metrics::ServiceMetricsService service(*db, audit, clock, metrics::MetricsOptions{5, "UTC"});
  metrics::ScorecardService cards(*db, audit, clock, service, "UTC");
  authz::Principal who;
  who.kind = authz::PrincipalKind::kStaff;
  who.user = core::UserId{1};
  who.agency = core::AgencyId{1};
  who.name = "manager";
  who.roles = {authz::Role::kManager};
  for (const metrics::NewTarget& t : {metrics::NewTarget{"waited_within_percent", "at_least", 80, 20},
                                      metrics::NewTarget{"first_contact_resolution_percent", "at_least", 50, 0},
                                      metrics::NewTarget{"referrals_answered_in_time_percent", "at_least", 95, 0},
                                      metrics::NewTarget{"decided_in_time_percent", "at_least", 90, 0},
                                      metrics::NewTarget{"repeat_contacts_percent", "at_most", 20, 0},
                                      metrics::NewTarget{"reviews_on_time_percent", "at_least", 90, 0},
                                      metrics::NewTarget{"change_applied_median_minutes", "at_most", 1440, 0}}) {
    if (phase == "measure") break;
    if (auto r = cards.AddTarget(who, core::AgencyId{1}, t); !r.ok()) {
      return std::fprintf(stderr, "%s\n", r.status().ToString().c_str()), 1;
    }
  }
  if (phase == "load") {
    std::printf("%s\n", fmt::format(R"({{"database":"postgres","phase":"load","load_s":{:.1f}}})", load_s).c_str());
    return 0;
  }
  std::vector<double> runs;
  metrics::Scorecard last;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto card = cards.Monthly(who, core::AgencyId{1}, "2026-11");
    runs.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    if (!card.ok()) return std::fprintf(stderr, "%s\n", card.status().ToString().c_str()), 1;
    last = *card;
  }
  std::sort(runs.begin(), runs.end());
  std::printf("%s\n",
              fmt::format(R"({{"database":"{}","interactions":{},"tickets":{},"referrals":{},"decisions":{},"cases":{},"changes":{},)"
                          R"("load_s":{:.1f},"scorecard_ms_min":{:.0f},"scorecard_ms_median":{:.0f},"targets":{},)"
                          R"("met":{},"missed":{},"unknown":{}}})",
                          url.empty() ? "sqlite" : "postgres", interactions, cases, cases, cases, cases, cases, load_s, runs.front(),
                          runs[runs.size() / 2], last.results.size(), last.met, last.missed, last.unknown)
                  .c_str());
  if (url.empty()) std::filesystem::remove_all(dir);
  return 0;
}
