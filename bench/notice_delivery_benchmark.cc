// Tell us once, pushed (docs/PERFORMANCE.md, "Change notices"; make bench-notices): change
// notices written at a steady rate by one thread (a commit per millisecond), while the
// delivery worker pushes them through the real path (claim with a lease, a signed CloudEvent by
// HTTP POST with libcurl, the outcome recorded) to a RESTinio receiver on loopback that answers
// 204. Reports the sustained deliveries per second and the lag from notice to acknowledged
// delivery (median, p99). The goal: 5,000 deliveries per second with p99 lag under 1 s.
//
//   notice_delivery_benchmark [rate per second, default 5000] [seconds, default 10]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <restinio/all.hpp>

#include "audit/audit_log.h"
#include "core/clock.h"
#include "sharing/notice_delivery.h"
#include "storage/migrations.h"
#include "storage/schema.h"
#include "storage/sqlite/sqlite_database.h"

namespace {

using core::Status;

void Check(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(1);
  }
}

constexpr int kPersons = 2000;

}  // namespace

int main(int argc, char** argv) {
  const int rate = argc > 1 ? std::atoi(argv[1]) : 5000;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 10;
  const unsigned short port = 18097;

  // The receiver.
  std::atomic<int64_t> received{0};
  using traits = restinio::default_traits_t;
  auto receiver = restinio::run_async<traits>(
      restinio::own_io_context(),
      restinio::server_settings_t<traits>{}.port(port).address("127.0.0.1").request_handler([&received](auto req) {
        ++received;
        return req->create_response(restinio::status_no_content()).done();
      }),
      1);

  const std::string path = "/tmp/onedoor-notice-bench.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  auto db = storage::OpenSqlite(path, {.read_connections = 2}).value();
  Check(storage::Migrate(*db, storage::OnedoorSchema()).status());
  Check(db->Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO agencies (code, name, kind, created_at) VALUES ('city', 'City', "
                               "'government', 0), ('state', 'State', 'government', 0)")
                        .status());
    for (int i = 1; i <= kPersons; ++i) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO persons (version, display_name, doc, created_at, updated_at, "
                                 "created_by, created_agency) VALUES (1, 'x', '{}', 0, 0, 1, 1)")
                          .status());
    }
    return tx
        .Execute("INSERT INTO agency_webhooks (agency_id, url, secret, state, disabled_reason, updated_at) VALUES "
                 "(2, ?, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'active', '', 0)",
                 {std::string("http://127.0.0.1:") + std::to_string(port) + "/hook"})
        .status();
  }));

  core::SystemClock clock;
  // Each push audited, as the server does.
  audit::AuditLog audit(clock);
  sharing::NoticeDelivery delivery(
      *db, clock, {.owner = "bench", .poll_interval = std::chrono::milliseconds(5), .batch = 500, .audit = &audit});
  delivery.Start();

  // The producer: notices at `rate` per second, written every millisecond in one transaction
  // (concurrent requests' changes share commits the same way: the database groups them).
  const int total = rate * seconds;
  const auto start = std::chrono::steady_clock::now();
  int written = 0;
  for (int tick = 1; written < total; ++tick) {
    std::this_thread::sleep_until(start + std::chrono::milliseconds(tick));
    const int upto = std::min<int>(total, static_cast<int>(static_cast<int64_t>(tick) * rate / 1000));
    if (upto <= written) continue;
    const int64_t now = clock.Now().micros;
    Check(db->Write([&](storage::Transaction& tx) -> Status {
      for (int i = written; i < upto; ++i) {
        RETURN_IF_ERROR(
            tx.Execute("INSERT INTO change_notices (person_id, agency_id, from_agency_id, type, fields, version, "
                       "created_at, state, delivery_state, next_attempt_at) VALUES (?, 2, 1, 'person.updated', "
                       "'addresses', 2, ?, 'pending', 'waiting', ?)",
                       {int64_t{1 + i % kPersons}, now, now})
                .status());
      }
      return Status::Ok();
    }));
    written = upto;
  }
  const double produced_in =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  while (delivery.delivered() < total &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(seconds * 5 + 30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const double all_in = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  delivery.Stop();

  std::vector<int64_t> lags;
  Check(db->Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT delivered_at - created_at FROM change_notices WHERE delivery_state = "
                              "'delivered'"));
    for (const auto& r : rows) lags.push_back(r.Int(0));
    return Status::Ok();
  }));
  std::sort(lags.begin(), lags.end());
  auto pct = [&](double p) {
    return lags.empty() ? 0.0 : static_cast<double>(lags[static_cast<size_t>(p * (lags.size() - 1))]) / 1000.0;
  };
  std::printf("notices %d at %d/s over %.1f s; delivered %lld (receiver saw %lld) in %.1f s: %.0f deliveries/s\n",
              total, rate, produced_in, static_cast<long long>(delivery.delivered()),
              static_cast<long long>(received.load()), all_in, static_cast<double>(delivery.delivered()) / all_in);
  std::printf("lag from notice to acknowledged delivery: median %.1f ms, p99 %.1f ms, max %.1f ms\n", pct(0.5),
              pct(0.99), pct(1.0));
  receiver->stop();
  receiver->wait();
  return delivery.delivered() == total ? 0 : 1;
}
