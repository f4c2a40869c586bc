#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "exchange/outbox_worker.h"
#include "storage/database.h"

// Pushes change notices (tell us once) to each agency's own webhook: a CloudEvents 1.0 JSON
// body signed the Standard Webhooks way with the agency's secret, thin (the notice, never the
// values). At least once, in order per agency and person, with exponential back-off and jitter
// for `give_up_after` (72 hours) and then the dead-letter list; a 410 Gone disables the agency's
// webhook (notices still wait in its feed).
namespace audit {
class AuditLog;
}

namespace sharing {

struct NoticeDeliveryOptions {
  std::string owner;  // this server's name in claims
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::seconds lease{30};
  int batch = 200;
  std::chrono::seconds first_backoff{10};
  std::chrono::seconds max_backoff{3600};
  std::chrono::hours give_up_after{72};
  // When set, each push is audited as the receiving agency's ("change.push", about the
  // person), in the transaction that records it delivered, so the person sees who was told.
  audit::AuditLog* audit = nullptr;
  // Agencies' receivers are reached over https at public addresses only (agency_webhooks_internal
  // false, the default): see exchange::WebhookOptions::public_only.
  bool public_only = false;
};

// Makes the sink for an agency's webhook: its URL and its secrets, the current one first, then
// one being rotated out. The default makes an exchange::WebhookSink.
using SinkFactory = std::function<core::StatusOr<std::unique_ptr<exchange::EventSink>>(
    const std::string& url, const std::vector<std::string>& secrets)>;

// Thread-safe; several servers may run one each on the same database.
class NoticeDelivery {
 public:
  NoticeDelivery(storage::Database& db, const core::Clock& clock, NoticeDeliveryOptions options,
                 SinkFactory factory = {});
  ~NoticeDelivery();

  // One round: claims up to a batch of notices due (the oldest waiting one of each agency and
  // person only), delivers each, records the outcome. Returns the number delivered.
  core::StatusOr<int> RunOnce();

  void Start();
  void Stop();

  int64_t delivered() const { return delivered_; }
  int64_t failed() const { return failed_; }
  int64_t dead() const { return dead_; }

 private:
  void Loop();
  exchange::EventSink* SinkFor(int64_t agency, const std::string& url, const std::vector<std::string>& secrets,
                               std::string* error);

  storage::Database& db_;
  const core::Clock& clock_;
  const NoticeDeliveryOptions options_;
  SinkFactory factory_;
  std::mutex sinks_mu_;
  // agency -> (url + secret, sink); rebuilt when the configuration changes.
  std::map<int64_t, std::pair<std::string, std::unique_ptr<exchange::EventSink>>> sinks_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<int64_t> delivered_{0};
  std::atomic<int64_t> failed_{0};
  std::atomic<int64_t> dead_{0};
};

}  // namespace sharing
