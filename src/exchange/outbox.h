#pragma once

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
};

class Outbox {
 public:
  explicit Outbox(const core::Clock& clock) : clock_(clock) {}
  core::Status Append(storage::Transaction& tx, std::string type, std::string aggregate_type,
                      std::string aggregate_id, std::string payload);
  // Oldest undelivered events first.
  core::StatusOr<std::vector<Event>> Pending(storage::Transaction& tx, int limit);
  core::StatusOr<int64_t> CountPending(storage::Transaction& tx);

 private:
  const core::Clock& clock_;
};

}  // namespace exchange
