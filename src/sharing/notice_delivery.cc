#include "sharing/notice_delivery.h"

#include <fmt/format.h>

#include <cmath>
#include <random>

#include "audit/audit_log.h"
#include "core/log.h"
#include "exchange/webhook_sink.h"

namespace sharing {
namespace {

using core::Status;
using core::StatusOr;

struct Due {
  int64_t id = 0;
  int64_t agency = 0;
  int64_t person = 0;
  std::string type;
  std::string fields;
  int64_t version = 0;
  int64_t from_agency = 0;
  core::Timestamp at;
  int64_t attempts = 0;
  std::string url;
  std::vector<std::string> secrets;  // the current one first
  core::Timestamp since;              // when the 72 hours started: the notice, or a redelivery
};

std::string FieldsJson(const std::string& list) {
  std::string out = "[";
  size_t start = 0;
  while (start < list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    if (out.size() > 1) out += ",";
    out += "\"" + core::JsonEscape(list.substr(start, end - start)) + "\"";
    start = end + 1;
  }
  return out + "]";
}

}  // namespace

NoticeDelivery::NoticeDelivery(storage::Database& db, const core::Clock& clock, NoticeDeliveryOptions options,
                               SinkFactory factory)
    : db_(db), clock_(clock), options_(std::move(options)), factory_(std::move(factory)) {
  if (!factory_) {
    const std::string owner = options_.owner;
    const bool public_only = options_.public_only;
    const core::Clock* c = &clock_;
    factory_ = [owner, public_only, c](const std::string& url,
                          const std::vector<std::string>& secrets) -> StatusOr<std::unique_ptr<exchange::EventSink>> {
      exchange::WebhookOptions o;
      o.url = url;
      o.secret = secrets.at(0);
      o.previous_secrets.assign(secrets.begin() + 1, secrets.end());
      o.instance = owner;
      o.public_only = public_only;
      ASSIGN_OR_RETURN(auto sink, exchange::WebhookSink::Create(std::move(o), *c));
      return std::unique_ptr<exchange::EventSink>(std::move(sink));
    };
  }
}

NoticeDelivery::~NoticeDelivery() { Stop(); }

exchange::EventSink* NoticeDelivery::SinkFor(int64_t agency, const std::string& url,
                                             const std::vector<std::string>& secrets, std::string* error) {
  std::lock_guard lock(sinks_mu_);
  std::string key = url;
  for (const auto& s : secrets) key += "\n" + s;
  auto it = sinks_.find(agency);
  if (it != sinks_.end() && it->second.first == key) return it->second.second.get();
  auto made = factory_(url, secrets);
  if (!made.ok()) {
    *error = made.status().message();
    return nullptr;
  }
  auto& slot = sinks_[agency];
  slot = {key, std::move(made).value()};
  return slot.second.get();
}

StatusOr<int> NoticeDelivery::RunOnce() {
  const core::Timestamp now = clock_.Now();
  const int64_t lease_until =
      now.micros + std::chrono::duration_cast<std::chrono::microseconds>(options_.lease).count();
  std::vector<Due> due;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    due.clear();
    // The oldest waiting notice of each agency and person only: order per person is kept even
    // while an earlier one waits for a retry.
    std::string sql =
        "SELECT n.id, n.agency_id, n.person_id, n.type, n.fields, n.version, n.from_agency_id, n.created_at, "
        "n.attempts, w.url, w.secret, CASE WHEN w.previous_until > ? THEN w.previous_secret END, "
        "COALESCE(n.delivery_since, n.created_at) "
        "FROM change_notices n JOIN agency_webhooks w ON w.agency_id = n.agency_id "
        "AND w.state = 'active' WHERE n.delivery_state = 'waiting' AND n.next_attempt_at <= ? AND "
        "(n.lease_until IS NULL OR n.lease_until < ?) AND NOT EXISTS (SELECT 1 FROM change_notices e WHERE "
        "e.delivery_state = 'waiting' AND e.agency_id = n.agency_id AND e.person_id = n.person_id AND e.id < n.id) "
        "ORDER BY n.id LIMIT ?";
    if (tx.dialect() == storage::Dialect::kPostgres) sql += " FOR UPDATE OF n SKIP LOCKED";
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query(sql, {now.micros, now.micros, now.micros, int64_t{options_.batch}}));
    for (const auto& r : rows) {
      ASSIGN_OR_RETURN(int64_t claimed,
                       tx.Execute("UPDATE change_notices SET lease_owner = ?, lease_until = ? WHERE id = ? AND "
                                  "(lease_until IS NULL OR lease_until < ?)",
                                  {options_.owner, lease_until, r.Int(0), now.micros}));
      if (claimed != 1) continue;
      Due d{r.Int(0), r.Int(1), r.Int(2), r.Text(3), r.Text(4), r.Int(5), r.Int(6), core::Timestamp{r.Int(7)},
            r.Int(8), r.Text(9), {r.Text(10)}};
      if (auto previous = r.OptText(11)) d.secrets.push_back(*previous);
      d.since = core::Timestamp{r.Int(12)};
      due.push_back(std::move(d));
    }
    return Status::Ok();
  }));
  std::mt19937_64 rng(static_cast<uint64_t>(now.micros));
  // Deliver the batch, then record every outcome in one transaction. A server that dies in
  // between leaves the claims to run out: those notices are delivered again (at least once).
  std::vector<Status> results;
  results.reserve(due.size());
  // Stop before the claims run out, so that no other server takes a notice this one is still
  // delivering (which could deliver a later notice of the same person first).
  const auto started = std::chrono::steady_clock::now();
  const auto budget = options_.lease / 2;
  for (const Due& d : due) {
    if (std::chrono::steady_clock::now() - started > budget) {
      results.push_back(Status::Aborted("not attempted: the batch ran out of time"));
      continue;
    }
    exchange::Event event;
    event.id = d.id;
    event.at = d.at;
    event.type = "change." + d.type;
    event.aggregate_type = "person";
    event.aggregate_id = std::to_string(d.person);
    event.payload = fmt::format(R"({{"notice_id":{},"person_id":{},"type":"{}","fields":{},"version":{},)"
                                R"("from_agency_id":{},"fetch":"/api/v1/persons/{}"}})",
                                d.id, d.person, core::JsonEscape(d.type), FieldsJson(d.fields), d.version,
                                d.from_agency, d.person);
    std::string error;
    exchange::EventSink* sink = SinkFor(d.agency, d.url, d.secrets, &error);
    results.push_back(sink == nullptr ? Status::FailedPrecondition("the webhook is not valid: " + error)
                                      : sink->Deliver(event));
  }
  if (due.empty()) return 0;
  const core::Timestamp after = clock_.Now();
  const auto give_up = std::chrono::duration_cast<std::chrono::microseconds>(options_.give_up_after).count();
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    for (size_t k = 0; k < due.size(); ++k) {
      const Due& d = due[k];
      const Status& result = results[k];
      if (result.code() == core::StatusCode::kAborted) {
        // Not attempted: released for the next round, as it was.
        RETURN_IF_ERROR(tx.Execute("UPDATE change_notices SET lease_owner = NULL, lease_until = NULL WHERE id = ?",
                                   {d.id})
                            .status());
      } else if (result.ok()) {
        RETURN_IF_ERROR(tx.Execute("UPDATE change_notices SET delivery_state = 'delivered', delivered_at = ?, "
                                   "lease_owner = NULL, lease_until = NULL, last_error = NULL WHERE id = ?",
                                   {after.micros, d.id})
                            .status());
        if (options_.audit != nullptr) {
          authz::Principal told;
          told.kind = authz::PrincipalKind::kSystem;
          told.name = "tell-us-once";
          told.agency = core::AgencyId{d.agency};
          told.purpose = authz::Purpose::kServiceDelivery;
          RETURN_IF_ERROR(options_.audit->Append(
              tx, told,
              {"change.push", "change_notice", std::to_string(d.id), core::PersonId{d.person}, true,
               fmt::format("tell us once: the agency's webhook was told that {} changed", d.fields)}));
        }
      } else if (result.code() == core::StatusCode::kFailedPrecondition) {
        // 410 Gone (or a webhook that cannot be used): the agency reads its feed until it sets a new one.
        RETURN_IF_ERROR(tx.Execute("UPDATE agency_webhooks SET state = 'disabled', disabled_reason = ?, "
                                   "updated_at = ? WHERE agency_id = ? AND url = ?",
                                   {result.message(), after.micros, d.agency, d.url})
                            .status());
        RETURN_IF_ERROR(tx.Execute("UPDATE change_notices SET lease_owner = NULL, lease_until = NULL, last_error = ? "
                                   "WHERE id = ?",
                                   {result.message(), d.id})
                            .status());
      } else if (after.micros - d.since.micros >= give_up) {
        RETURN_IF_ERROR(tx.Execute("UPDATE change_notices SET delivery_state = 'dead', attempts = ?, lease_owner = "
                                   "NULL, lease_until = NULL, last_error = ? WHERE id = ?",
                                   {d.attempts + 1, result.message(), d.id})
                            .status());
      } else {
        // Exponential back-off with jitter: between half and all of the step.
        const int64_t attempts = d.attempts + 1;
        const double step =
            std::min<double>(static_cast<double>(options_.first_backoff.count()) *
                                 std::pow(2.0, static_cast<double>(std::min<int64_t>(attempts - 1, 30))),
                             static_cast<double>(options_.max_backoff.count()));
        const double wait = step * (0.5 + 0.5 * std::uniform_real_distribution<double>(0, 1)(rng));
        RETURN_IF_ERROR(tx.Execute("UPDATE change_notices SET attempts = ?, next_attempt_at = ?, lease_owner = NULL, "
                                   "lease_until = NULL, last_error = ? WHERE id = ?",
                                   {attempts, after.micros + static_cast<int64_t>(wait * 1e6), result.message(),
                                    d.id})
                            .status());
      }
    }
    return Status::Ok();
  }));
  int delivered = 0;
  for (size_t k = 0; k < due.size(); ++k) {
    const Due& d = due[k];
    const Status& result = results[k];
    if (result.ok()) {
      ++delivered;
      ++delivered_;
      continue;
    }
    if (result.code() == core::StatusCode::kAborted) continue;
    ++failed_;
    if (result.code() == core::StatusCode::kFailedPrecondition) {
      core::LogWarn("change.webhook_disabled", {{"agency_id", std::to_string(d.agency)}, {"detail", result.message()}});
    } else if (after.micros - d.since.micros >= give_up) {
      ++dead_;
      // An alert for operators: no personal data, the notice and agency ids only.
      core::LogError("change.dead_letter", {{"notice_id", std::to_string(d.id)},
                                            {"agency_id", std::to_string(d.agency)},
                                            {"detail", result.message()}});
    }
  }
  return delivered;
}

void NoticeDelivery::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void NoticeDelivery::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void NoticeDelivery::Loop() {
  for (;;) {
    auto n = RunOnce();
    if (!n.ok()) core::LogWarn("change.delivery_failed", {{"detail", n.status().message()}});
    std::unique_lock lock(mu_);
    if (stopping_) return;
    if (n.ok() && *n >= options_.batch) continue;
    wake_.wait_for(lock, options_.poll_interval, [this] { return stopping_; });
    if (stopping_) return;
  }
}

}  // namespace sharing
