// Calling the next ticket with 50 counters busy (docs/PERFORMANCE.md, "Access-centre queue";
// make bench-queue): one office with 5 queues and 50 counters, each signed in by its own member
// of staff; a kiosk thread checks visitors in at a steady rate while the 50 counters call the
// next ticket, serve it for a moment and finish it, as fast as they can. Prints the latency of
// QueueService::CallNext (the whole transaction) as one JSON line, and checks that no ticket was
// called twice.
//
//   queue_benchmark [--counters N] [--seconds S] [--rate R] [--db postgres://...]

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "frontoffice/queue_service.h"
#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "storage/sqlite/sqlite_database.h"

namespace {

authz::Principal Staff(int64_t user) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{user};
  p.agency = core::AgencyId{1};
  p.name = fmt::format("staff{}", user);
  p.roles = {user == 1 ? authz::Role::kManager : authz::Role::kFrontdesk};
  p.purpose = authz::Purpose::kFrontDesk;
  return p;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  int counters = 50, seconds = 10, rate = 400;
  std::string url;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--counters") counters = std::stoi(argv[i + 1]);
    else if (a == "--seconds") seconds = std::stoi(argv[i + 1]);
    else if (a == "--rate") rate = std::stoi(argv[i + 1]);
    else if (a == "--db") url = argv[i + 1];
  }
  const std::string dir = std::filesystem::temp_directory_path() / fmt::format("onedoor-queue-bench-{}", getpid());
  std::unique_ptr<storage::Database> db;
  if (url.empty()) {
    std::filesystem::create_directories(dir);
    auto opened = storage::OpenSqlite(dir + "/bench.db");
    if (!opened.ok()) return std::fprintf(stderr, "%s\n", opened.status().ToString().c_str()), 1;
    db = std::move(opened).value();
  } else {
    auto opened = storage::OpenPostgres(url, {.connections = 16});
    if (!opened.ok()) return std::fprintf(stderr, "%s\n", opened.status().ToString().c_str()), 1;
    db = std::move(opened).value();
  }
  if (auto m = storage::Migrate(*db, storage::OnedoorSchema()); !m.ok()) {
    return std::fprintf(stderr, "%s\n", m.status().ToString().c_str()), 1;
  }
  core::Status setup = db->Write([&](storage::Transaction& tx) -> core::Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO agencies (code, name, kind, created_at) VALUES ('city', 'City', 'government', 0)")
                        .status());
    for (int u = 1; u <= counters + 1; ++u) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO users (kind, username, display_name, password_hash, agency_id, created_at, "
                                 "updated_at) VALUES ('staff', ?, ?, 'x', 1, 0, 0)",
                                 {fmt::format("staff{}", u), fmt::format("Staff {}", u)})
                          .status());
    }
    return tx.Execute("INSERT INTO offices (agency_id, name, address, created_at) VALUES (1, 'Centre', '', 0)").status();
  });
  if (!setup.ok()) return std::fprintf(stderr, "%s\n", setup.ToString().c_str()), 1;
  core::SystemClock clock;
  audit::AuditLog audit(clock);
  exchange::Outbox outbox(clock);
  authz::AccessGate gate;
  frontoffice::OfficeHoursService hours(*db, audit, clock, "UTC");
  frontoffice::QueueService queues(*db, gate, audit, outbox, clock, hours);
  std::vector<int64_t> queue_ids;
  for (const char* code : {"A", "B", "C", "D", "E"}) {
    auto q = queues.CreateQueue(Staff(1), 1, code, std::string("Queue ") + code, "");
    if (!q.ok()) return std::fprintf(stderr, "%s\n", q.status().ToString().c_str()), 1;
    queue_ids.push_back(q->id);
  }
  std::vector<int64_t> counter_ids;
  for (int c = 0; c < counters; ++c) {
    // Each counter takes two or three of the queues.
    std::vector<int64_t> mine = {queue_ids[static_cast<size_t>(c) % 5], queue_ids[static_cast<size_t>(c + 1) % 5]};
    if (c % 2) mine.push_back(queue_ids[static_cast<size_t>(c + 2) % 5]);
    auto counter = queues.CreateCounter(Staff(1), 1, fmt::format("Counter {}", c + 1), mine);
    if (!counter.ok()) return std::fprintf(stderr, "%s\n", counter.status().ToString().c_str()), 1;
    if (auto s = queues.SignIn(Staff(c + 2), counter->id); !s.ok()) {
      return std::fprintf(stderr, "%s\n", s.status().ToString().c_str()), 1;
    }
    counter_ids.push_back(counter->id);
  }
  // A queue to start with, so that every counter is busy from the first moment.
  for (int i = 0; i < counters * 4; ++i) (void)queues.KioskCheckIn(queue_ids[static_cast<size_t>(i) % 5], frontoffice::Priority::kNormal);

  std::atomic<bool> stop{false};
  std::atomic<int64_t> issued{0}, failures{0};
  std::mutex mu;
  std::vector<double> latencies;
  std::set<int64_t> called;
  int64_t duplicates = 0, empty_calls = 0;
  std::thread kiosk([&] {
    const auto period = std::chrono::microseconds(1'000'000 / std::max(1, rate));
    auto next = std::chrono::steady_clock::now();
    int i = 0;
    while (!stop.load()) {
      const auto priority = i % 10 ? frontoffice::Priority::kNormal : frontoffice::Priority::kAccessibility;
      if (queues.KioskCheckIn(queue_ids[static_cast<size_t>(i) % 5], priority).ok()) ++issued;
      ++i;
      next += period;
      std::this_thread::sleep_until(next);
    }
  });
  std::vector<std::thread> desks;
  for (int c = 0; c < counters; ++c) {
    desks.emplace_back([&, c] {
      const authz::Principal who = Staff(c + 2);
      std::vector<double> mine;
      std::vector<int64_t> got;
      int64_t empty = 0;
      while (!stop.load()) {
        const auto a = std::chrono::steady_clock::now();
        auto next = queues.CallNext(who, counter_ids[static_cast<size_t>(c)]);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count();
        if (!next.ok()) {
          ++failures;
          continue;
        }
        mine.push_back(ms);
        if (!next->has_value()) {
          ++empty;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
        got.push_back((*next)->id);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the visit, much shortened
        if (!queues.Act(who, (*next)->id, "finish", std::nullopt).ok()) ++failures;
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
      for (int64_t id : got) duplicates += !called.insert(id).second;
      empty_calls += empty;
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  kiosk.join();
  for (auto& d : desks) d.join();
  std::printf("{\"counters\":%d,\"seconds\":%d,\"checked_in\":%lld,\"called\":%zu,\"empty_calls\":%lld,"
              "\"duplicates\":%lld,\"failures\":%lld,\"call_p50_ms\":%.2f,\"call_p90_ms\":%.2f,\"call_p99_ms\":%.2f,"
              "\"db\":\"%s\"}\n",
              counters, seconds, static_cast<long long>(issued.load() + counters * 4), called.size(),
              static_cast<long long>(empty_calls), static_cast<long long>(duplicates),
              static_cast<long long>(failures.load()), Percentile(latencies, 0.5), Percentile(latencies, 0.9),
              Percentile(latencies, 0.99), db->Describe().c_str());
  if (url.empty()) std::filesystem::remove_all(dir);
  return duplicates == 0 ? 0 : 1;
}
