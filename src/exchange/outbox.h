#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/clock.h"
#include "storage/database.h"

namespace exchange {

// A domain event waiting to be delivered, written in the same transaction as the change.
struct Event {
  int64_t id = 0;
  core::Timestamp at;
  std::string type;            // "person.created"
  std::string aggregate_type;  // "person"
  std::string aggregate_id;
  std::string payload;  // JSON object: ids and changed field names, never field values
  int64_t attempts = 0;  // failed deliveries so far
};

// The outbox table. Events are claimed for delivery with a lease: a claimed event is not
// handed to another claimer until its lease ends, so two servers never deliver the same event
// at once, and the events of a server that died are taken over when its leases run out.
// Delivery is at least once: a server that dies after delivering an event but before marking
// it delivered leaves it to be delivered again (recipients deduplicate by event id).
class Outbox {
 public:
  explicit Outbox(const core::Clock& clock) : clock_(clock) {}
  core::Status Append(storage::Transaction& tx, std::string type, std::string aggregate_type,
                      std::string aggregate_id, std::string payload);
  // Oldest undelivered events first.
  core::StatusOr<std::vector<Event>> Pending(storage::Transaction& tx, int limit);
  core::StatusOr<int64_t> CountPending(storage::Transaction& tx);

  // Claims up to `limit` of the oldest events that are not delivered, not claimed by a live
  // lease and not waiting for a retry, for `owner` until now + `lease`. Must run in a write
  // transaction. On PostgreSQL, concurrent claimers skip each other's rows (SKIP LOCKED).
  // Returns the events in id order.
  core::StatusOr<std::vector<Event>> Claim(storage::Transaction& tx, const std::string& owner, int limit,
                                           std::chrono::microseconds lease);
  // Records that event `id` was delivered. Succeeds even if the lease ran out meanwhile (the
  // event was delivered all the same). Returns kNotFound if there is no such event.
  core::Status MarkDelivered(storage::Transaction& tx, int64_t id);
  // Gives a claimed event back undelivered, untried (it waits behind an earlier event of its
  // record that failed): claimable again at once, and claimed after that one.
  core::Status Release(storage::Transaction& tx, int64_t id, const std::string& owner);
  // Records a failed delivery of `id` by `owner`: counts the attempt, releases the claim and
  // makes the event wait until `retry_at`. Does nothing if `owner` no longer holds the claim.
  core::Status MarkFailed(storage::Transaction& tx, int64_t id, const std::string& owner,
                          core::Timestamp retry_at);

 private:
  const core::Clock& clock_;
};

}  // namespace exchange
