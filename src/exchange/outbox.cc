#include "exchange/outbox.h"

namespace exchange {

core::Status Outbox::Append(storage::Transaction& tx, std::string type, std::string aggregate_type,
                            std::string aggregate_id, std::string payload) {
  return tx
      .Execute("INSERT INTO outbox (at, type, aggregate_type, aggregate_id, payload, attempts) "
               "VALUES (?, ?, ?, ?, ?, 0)",
               {clock_.Now().micros, std::move(type), std::move(aggregate_type), std::move(aggregate_id),
                std::move(payload)})
      .status();
}

core::StatusOr<std::vector<Event>> Outbox::Pending(storage::Transaction& tx, int limit) {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT id, at, type, aggregate_type, aggregate_id, payload FROM outbox "
                            "WHERE delivered_at IS NULL ORDER BY id LIMIT ?",
                            {int64_t{limit}}));
  std::vector<Event> out;
  for (const auto& r : rows) {
    out.push_back(Event{r.Int(0), {r.Int(1)}, r.Text(2), r.Text(3), r.Text(4), r.Text(5)});
  }
  return out;
}

core::StatusOr<int64_t> Outbox::CountPending(storage::Transaction& tx) {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL"));
  return rows.at(0).Int(0);
}

}  // namespace exchange
