#include "exchange/outbox_worker.h"

#include <algorithm>
#include <set>
#include <utility>

#include "core/log.h"

namespace exchange {

OutboxWorker::OutboxWorker(storage::Database& db, Outbox& outbox, EventSink& sink, const core::Clock& clock,
                           OutboxWorkerOptions options)
    : db_(db), outbox_(outbox), sink_(sink), clock_(clock), options_(std::move(options)) {}

OutboxWorker::~OutboxWorker() { Stop(); }

core::StatusOr<int> OutboxWorker::RunOnce() {
  std::vector<Event> batch;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> core::Status {
    ASSIGN_OR_RETURN(batch, outbox_.Claim(tx, options_.owner, options_.batch, options_.lease));
    return core::Status::Ok();
  }));
  int delivered = 0;
  // The records whose event failed in this batch: their later events wait behind it.
  std::set<std::pair<std::string, std::string>> failed_records;
  for (const Event& event : batch) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    if (failed_records.count({event.aggregate_type, event.aggregate_id}) > 0) {
      RETURN_IF_ERROR(db_.Write(
          [&](storage::Transaction& tx) { return outbox_.Release(tx, event.id, options_.owner); }));
      continue;
    }
    core::Status sent = sink_.Deliver(event);
    if (sent.ok()) {
      RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) { return outbox_.MarkDelivered(tx, event.id); }));
      ++delivered;
      ++delivered_;
      continue;
    }
    ++failed_;
    failed_records.insert({event.aggregate_type, event.aggregate_id});
    // 1 s, 2 s, 4 s… up to the ceiling.
    const int shift = static_cast<int>(std::min<int64_t>(event.attempts, 20));
    const auto backoff = std::min<std::chrono::seconds>(std::chrono::seconds(int64_t{1} << shift), options_.max_backoff);
    core::LogWarn("outbox delivery failed", {{"event", std::to_string(event.id)},
                                             {"type", event.type},
                                             {"attempt", std::to_string(event.attempts + 1)},
                                             {"retry_in_seconds", std::to_string(backoff.count())},
                                             {"error", sent.message()}});
    const core::Timestamp retry_at{clock_.Now().micros +
                                   std::chrono::duration_cast<std::chrono::microseconds>(backoff).count()};
    RETURN_IF_ERROR(db_.Write(
        [&](storage::Transaction& tx) { return outbox_.MarkFailed(tx, event.id, options_.owner, retry_at); }));
  }
  return delivered;
}

void OutboxWorker::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void OutboxWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutboxWorker::Loop() {
  for (;;) {
    auto round = RunOnce();
    if (!round.ok()) {
      core::LogWarn("outbox round failed", {{"error", round.status().ToString()}});
    }
    const bool more = round.ok() && *round >= options_.batch;
    std::unique_lock lock(mu_);
    if (stopping_) return;
    if (!more) wake_.wait_for(lock, options_.poll_interval, [this] { return stopping_; });
    if (stopping_) return;
  }
}

}  // namespace exchange
