#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.h"
#include "exchange/outbox.h"
#include "storage/database.h"

namespace exchange {

// Where delivered events go: a partner's webhook, a message bus. Thread-compatible: one
// worker calls it from one thread.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Returns Ok once the recipient has acknowledged `event`; any error means "try again later".
  virtual core::Status Deliver(const Event& event) = 0;
};

struct OutboxWorkerOptions {
  std::string owner;  // this server's name in claims: ONEDOOR_INSTANCE
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::seconds lease{30};  // longer than a batch takes to deliver
  int batch = 50;
  std::chrono::seconds max_backoff{3600};
};

// Delivers outbox events to a sink: claims a batch with a lease, delivers each event in id
// order, marks it delivered (or failed, to retry after an exponential backoff), and repeats.
// Several servers may run one each on the same database. Thread-safe.
class OutboxWorker {
 public:
  OutboxWorker(storage::Database& db, Outbox& outbox, EventSink& sink, const core::Clock& clock,
               OutboxWorkerOptions options);
  ~OutboxWorker();  // stops the thread

  // One round: claim, deliver, record. Returns the number of events delivered. Errors are
  // those of the database; a failed delivery is not an error of the round.
  core::StatusOr<int> RunOnce();

  // Runs rounds on a thread until Stop(): immediately again after a full batch, otherwise
  // after the poll interval.
  void Start();
  // Stops after the event being delivered, if any. Events still claimed are released when
  // their lease ends.
  void Stop();

  int64_t delivered() const { return delivered_; }
  int64_t failed() const { return failed_; }

 private:
  void Loop();

  storage::Database& db_;
  Outbox& outbox_;
  EventSink& sink_;
  const core::Clock& clock_;
  const OutboxWorkerOptions options_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
  std::atomic<int64_t> delivered_{0};
  std::atomic<int64_t> failed_{0};
};

}  // namespace exchange
