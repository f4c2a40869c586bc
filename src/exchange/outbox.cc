#include "exchange/outbox.h"

#include "core/log.h"

#include <algorithm>

namespace exchange {
namespace {

constexpr std::string_view kClaimSqlite =
    "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id IN ("
    "SELECT id FROM outbox WHERE delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until "
    "<= ?) "
    "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.delivered_at IS NULL AND e.aggregate_type = "
    "outbox.aggregate_type "
    "AND e.aggregate_id = outbox.aggregate_id AND e.id < outbox.id AND e.claimed_until > ?) "
    "ORDER BY id LIMIT ?) "
    "RETURNING id, at, type, aggregate_type, aggregate_id, payload, attempts";

// An event waits while an earlier one of the same record is out for delivery elsewhere or waiting
// for its retry, so that a receiver gets a record's events in their order.
// SKIP LOCKED lets two servers claim at the same moment without waiting for each other or
// taking the same rows: each skips the rows the other's UPDATE has locked.
constexpr std::string_view kClaimPostgres =
    "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id IN ("
    "SELECT id FROM outbox WHERE delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until "
    "<= ?) "
    "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.delivered_at IS NULL AND e.aggregate_type = "
    "outbox.aggregate_type "
    "AND e.aggregate_id = outbox.aggregate_id AND e.id < outbox.id AND e.claimed_until > ?) "
    "ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED) "
    "RETURNING id, at, type, aggregate_type, aggregate_id, payload, attempts";

}  // namespace

core::Status Outbox::Append(storage::Transaction& tx, std::string type, std::string aggregate_type,
                            std::string aggregate_id, std::string payload) {
  // Refuse rather than lose: a change whose event cannot be queued is not made (the transaction
  // rolls back), so that no agency misses it. The insert may be sent with the commit, which then
  // fails.
  auto refuse = [](core::Status written) {
    if (written.code() == core::StatusCode::kAborted) return written;
    core::LogError("the outbox cannot be written", {{"error", written.ToString()}});
    return core::Status::Unavailable("the event of this change cannot be queued, so nothing was changed: try again "
                                     "later");
  };
  return tx.Queue("INSERT INTO outbox (at, type, aggregate_type, aggregate_id, payload, attempts) "
                  "VALUES (?, ?, ?, ?, ?, 0)",
                  {clock_.Now().micros, std::move(type), std::move(aggregate_type), std::move(aggregate_id),
                   std::move(payload)},
                  refuse);
}

core::StatusOr<std::vector<Event>> Outbox::Pending(storage::Transaction& tx, int limit) {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT id, at, type, aggregate_type, aggregate_id, payload, attempts FROM outbox "
                            "WHERE delivered_at IS NULL ORDER BY id LIMIT ?",
                            {int64_t{limit}}));
  std::vector<Event> out;
  for (const auto& r : rows) {
    out.push_back(Event{r.Int(0), {r.Int(1)}, r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Int(6)});
  }
  return out;
}

core::StatusOr<int64_t> Outbox::CountPending(storage::Transaction& tx) {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL"));
  return rows.at(0).Int(0);
}

core::StatusOr<std::vector<Event>> Outbox::Claim(storage::Transaction& tx, const std::string& owner, int limit,
                                                 std::chrono::microseconds lease) {
  const int64_t now = clock_.Now().micros;
  ASSIGN_OR_RETURN(
      storage::Rows rows,
      tx.Query(tx.dialect() == storage::Dialect::kPostgres ? kClaimPostgres : kClaimSqlite,
               {owner, now + lease.count(), now, now, int64_t{limit}}));
  std::vector<Event> out;
  for (const auto& r : rows) {
    out.push_back(Event{r.Int(0), {r.Int(1)}, r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Int(6)});
  }
  // RETURNING gives no order.
  std::sort(out.begin(), out.end(), [](const Event& a, const Event& b) { return a.id < b.id; });
  return out;
}

core::Status Outbox::MarkDelivered(storage::Transaction& tx, int64_t id) {
  ASSIGN_OR_RETURN(int64_t changed,
                   tx.Execute("UPDATE outbox SET delivered_at = ?, claimed_until = NULL "
                              "WHERE id = ? AND delivered_at IS NULL",
                              {clock_.Now().micros, id}));
  if (changed == 1) return core::Status::Ok();
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT 1 FROM outbox WHERE id = ?", {id}));
  if (rows.empty()) return core::Status::NotFound("no outbox event has id " + std::to_string(id));
  return core::Status::Ok();  // already marked by a server that delivered it too
}

core::Status Outbox::Release(storage::Transaction& tx, int64_t id, const std::string& owner) {
  return tx
      .Execute(
          "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = "
          "? AND "
          "delivered_at IS NULL",
          {id, owner})
      .status();
}

core::Status Outbox::MarkFailed(storage::Transaction& tx, int64_t id, const std::string& owner,
                                core::Timestamp retry_at) {
  return tx
      .Execute("UPDATE outbox SET attempts = attempts + 1, claimed_by = NULL, claimed_until = ? "
               "WHERE id = ? AND claimed_by = ? AND delivered_at IS NULL",
               {retry_at.micros, id, owner})
      .status();
}

}  // namespace exchange
