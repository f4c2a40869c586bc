#include "sharing/change_notice_service.h"

#include <fmt/format.h>

#include <sstream>

#include "core/utf8.h"
#include "exchange/webhook_sink.h"

namespace sharing {
namespace {

using core::Status;
using core::StatusOr;

constexpr const char* kSelect =
    "SELECT n.id, n.person_id, n.agency_id, a.name, n.from_agency_id, COALESCE(f.name, ''), n.type, n.fields, "
    "n.version, n.created_at, n.state, n.applied_at, n.applied_by, n.note, n.delivery_state, n.attempts, "
    "n.last_error FROM change_notices n "
    "JOIN agencies a ON a.id = n.agency_id LEFT JOIN agencies f ON f.id = n.from_agency_id ";

// Empty when `who` may use the feed with `scope`; otherwise why not.
std::string FeedRefusal(const authz::Principal& who, const std::string& scope) {
  if (who.kind == authz::PrincipalKind::kCitizen || !who.agency.valid()) {
    return "only an agency's staff and systems read its change notices";
  }
  if (who.kind == authz::PrincipalKind::kSystem && (who.scopes.empty() || !who.HasScope(scope))) {
    return fmt::format("the API token lacks the scope {}", scope);
  }
  if (!authz::HasClientRole(who)) {
    return fmt::format("no role of {} works with client records", who.RoleList().empty() ? "(none)" : who.RoleList());
  }
  if (authz::IsClientPurpose(who.purpose)) return "";
  return fmt::format("the purpose {} does not allow working with client records", authz::PurposeName(who.purpose));
}

std::vector<std::string> Split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

Status ChangeNoticeService::DenyAudited(const authz::Principal& who, const std::string& action, const std::string& id,
                                        const std::string& message) {
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(tx, who, {action, "change_notice", id, std::nullopt, false, message});
  }));
  return Status::PermissionDenied(message);
}

StatusOr<std::vector<ChangeNotice>> ChangeNoticeService::Load(storage::Transaction& tx, const std::string& where,
                                                              const storage::Params& params) const {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(std::string(kSelect) + where, params));
  const core::Timestamp now = clock_.Now();
  const int64_t overdue_micros = std::chrono::duration_cast<std::chrono::microseconds>(options_.overdue_after).count();
  std::vector<ChangeNotice> out;
  for (const auto& r : rows) {
    ChangeNotice n;
    n.id = r.Int(0);
    n.person = core::PersonId{r.Int(1)};
    n.agency = core::AgencyId{r.Int(2)};
    n.agency_name = r.Text(3);
    n.from_agency = core::AgencyId{r.Int(4)};
    n.from_agency_name = r.Text(5);
    n.type = r.Text(6);
    n.fields = Split(r.Text(7));
    n.version = r.Int(8);
    n.at = core::Timestamp{r.Int(9)};
    n.applied = r.Text(10) == "applied";
    if (auto at = r.OptInt(11)) n.applied_at = core::Timestamp{*at};
    n.applied_by = r.OptText(12).value_or("");
    n.note = r.OptText(13).value_or("");
    n.overdue = !n.applied && now.micros - n.at.micros > overdue_micros;
    n.delivery = r.Text(14);
    n.attempts = r.Int(15);
    n.last_error = r.OptText(16).value_or("");
    out.push_back(std::move(n));
  }
  return out;
}

StatusOr<std::vector<ChangeNotice>> ChangeNoticeService::Feed(const authz::Principal& who, int64_t after, int limit,
                                                              bool pending_only, bool dead_only) {
  if (limit < 1 || limit > 500) {
    return Status::InvalidArgument("the page size is out of range", {{"limit", "must be from 1 to 500"}});
  }
  if (std::string why = FeedRefusal(who, "changes:read"); !why.empty()) {
    return DenyAudited(who, "change.feed", "", why);
  }
  std::vector<ChangeNotice> out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    // A cursor past every notice written would skip those still to come: no answer gave it.
    if (after > 0) {
      ASSIGN_OR_RETURN(storage::Rows newest,
                       tx.Query("SELECT COALESCE(MAX(id), 0) FROM change_notices"));
      if (after > newest.at(0).Int(0)) {
        return Status::InvalidArgument("the cursor is past the newest notice",
                                       {{"after",
                                         "is past the newest notice: give the cursor of your last "
                                         "answer, or 0 to start again"}});
      }
    }
    ASSIGN_OR_RETURN(out, Load(tx,
                               std::string("WHERE n.agency_id = ? AND n.id > ?") +
                                   (pending_only ? " AND n.state = 'pending'" : "") +
                                   (dead_only ? " AND n.delivery_state = 'dead'" : "") + " ORDER BY n.id LIMIT ?",
                               {who.agency.value, after, int64_t{limit}}));
    // Each notice tells the agency that a person it knows changed: a read of that person.
    for (const auto& n : out) {
      RETURN_IF_ERROR(audit_.Append(tx, who, {"change.feed", "change_notice", std::to_string(n.id), n.person, true,
                                              "the agency knows the person and is told of changes (tell us once)"}));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<ChangeNotice> ChangeNoticeService::MarkApplied(const authz::Principal& who, int64_t id,
                                                        const std::string& note) {
  const std::string record = std::to_string(id);
  if (std::string why = FeedRefusal(who, "changes:write"); !why.empty()) {
    return DenyAudited(who, "change.applied", record, why);
  }
  if (core::Utf8Length(note) > 500) {
    return Status::InvalidArgument("the acknowledgement has invalid fields", {{"note", "must be at most 500 characters"}});
  }
  ChangeNotice out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<ChangeNotice> found,
                     Load(tx, "WHERE n.id = ? AND n.agency_id = ?", {id, who.agency.value}));
    if (found.empty()) return Status::NotFound(fmt::format("your agency has no change notice {}", id));
    out = found.front();
    if (out.applied) {
      return Status::FailedPrecondition(fmt::format("change notice {} was already marked applied by {}", id,
                                                    out.applied_by));
    }
    const core::Timestamp now = clock_.Now();
    ASSIGN_OR_RETURN(int64_t changed,
                     tx.Execute("UPDATE change_notices SET state = 'applied', applied_at = ?, applied_by = ?, note = ? "
                                "WHERE id = ? AND state = 'pending'",
                                {now.micros, who.name, note, id}));
    if (changed != 1) return Status::Aborted("the notice changed meanwhile; look again");
    out.applied = true;
    out.applied_at = now;
    out.applied_by = who.name;
    out.note = note;
    out.overdue = false;
    RETURN_IF_ERROR(audit_.Append(tx, who, {"change.applied", "change_notice", record, out.person, true,
                                            "the agency applied the change in its own system"}));
    return outbox_.Append(tx, "change.applied", "change_notice", record,
                          fmt::format(R"({{"id":{},"person_id":{},"agency_id":{}}})", id, out.person.value,
                                      out.agency.value));
  }));
  return out;
}

StatusOr<std::vector<ChangeNotice>> ChangeNoticeService::ForPerson(const authz::Principal& who,
                                                                   core::PersonId person) {
  std::vector<ChangeNotice> out;
  authz::Decision decision;
  bool found = false;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    decision = gate_.DecidePerson(who, authz::Operation::kRead, person, authz::Resource::kPerson, &tx);
    RETURN_IF_ERROR(audit_.Append(tx, who, {"person.changes", "person", std::to_string(person.value), person,
                                            decision.allowed, decision.reason}));
    if (!decision.allowed) return Status::Ok();
    ASSIGN_OR_RETURN(storage::Rows exists, tx.Query("SELECT 1 FROM persons WHERE id = ?", {person.value}));
    found = !exists.empty();
    if (!found) return Status::Ok();
    ASSIGN_OR_RETURN(out, Load(tx, "WHERE n.person_id = ? ORDER BY n.id DESC LIMIT 500", {person.value}));
    if (who.kind == authz::PrincipalKind::kCitizen) {
      // The person sees which agency applied the change; staff usernames are for staff.
      for (auto& n : out) n.applied_by.clear();
    }
    return Status::Ok();
  }));
  if (!decision.allowed) return Status::PermissionDenied(decision.reason);
  if (!found) return Status::NotFound(fmt::format("no client has id {}", person.value));
  return out;
}

namespace {

bool ManagesAgency(const authz::Principal& who) {
  return who.kind == authz::PrincipalKind::kStaff && who.agency.valid() &&
         who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin});
}

constexpr const char* kNotManager =
    "only the agency's managers and administrators, signed in with their own account, set its "
    "webhook";

}  // namespace

StatusOr<AgencyWebhook> ChangeNoticeService::SetWebhook(const authz::Principal& who, const std::string& url,
                                                        const std::string& secret) {
  if (!ManagesAgency(who)) return DenyAudited(who, "agency_webhook.set", "", kNotManager);
  std::vector<core::FieldError> errors;
  if (!(url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) || url.size() > 500 || url.size() < 10) {
    errors.push_back({"url", "give the http:// or https:// address of your receiver, at most 500 characters"});
  } else if (public_only_) {
    if (std::string why = exchange::NonPublicWebhookReason(url); !why.empty()) errors.push_back({"url", why});
  }
  auto key = exchange::DecodeWebhookSecret(secret);
  if (!key.ok()) {
    errors.push_back({"secret", key.status().message()});
  } else if (key->size() < 16 || key->size() > 128) {
    errors.push_back({"secret", "the key after whsec_ must be 16 to 128 bytes"});
  }
  if (!errors.empty()) return Status::InvalidArgument("the webhook has invalid fields", std::move(errors));
  AgencyWebhook out{url, true, "", clock_.Now()};
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    // A new secret is a rotation: the one it replaces keeps signing deliveries for a day, so that
    // the receiver can switch over without losing any.
    ASSIGN_OR_RETURN(storage::Rows current,
                     tx.Query("SELECT secret, previous_secret, previous_until FROM agency_webhooks "
                              "WHERE agency_id = ?",
                              {who.agency.value}));
    storage::Value previous = storage::Null{};
    storage::Value previous_until = storage::Null{};
    if (!current.empty() && current[0].Text(0) != secret) {
      previous = current[0].Text(0);
      previous_until = out.updated_at.micros + std::chrono::duration_cast<std::chrono::microseconds>(
                                                   std::chrono::hours(24))
                                                   .count();
    } else if (!current.empty() && !current[0].IsNull(1) && !current[0].IsNull(2) &&
               current[0].Int(2) > out.updated_at.micros) {
      // The same secret again (to enable the webhook after it was disabled, say): a rotation under
      // way keeps the rest of its day.
      previous = current[0].Text(1);
      previous_until = current[0].Int(2);
    }
    RETURN_IF_ERROR(tx.Execute("DELETE FROM agency_webhooks WHERE agency_id = ?", {who.agency.value}).status());
    RETURN_IF_ERROR(tx.Execute("INSERT INTO agency_webhooks (agency_id, url, secret, previous_secret, previous_until, "
                               "state, disabled_reason, updated_at) VALUES (?, ?, ?, ?, ?, 'active', '', ?)",
                               {who.agency.value, url, secret, previous, previous_until, out.updated_at.micros})
                        .status());
    return audit_.Append(tx, who, {"agency_webhook.set", "agency", std::to_string(who.agency.value), std::nullopt,
                                   true, "the agency's manager set where its change notices are pushed"});
  }));
  return out;
}

StatusOr<AgencyWebhook> ChangeNoticeService::GetWebhook(const authz::Principal& who) {
  if (!ManagesAgency(who)) return DenyAudited(who, "agency_webhook.read", "", kNotManager);
  AgencyWebhook out;
  bool found = false;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT url, state, disabled_reason, updated_at FROM agency_webhooks WHERE agency_id = ?",
                              {who.agency.value}));
    if (rows.empty()) return Status::Ok();
    found = true;
    out = {rows[0].Text(0), rows[0].Text(1) == "active", rows[0].Text(2), core::Timestamp{rows[0].Int(3)}};
    return Status::Ok();
  }));
  if (!found) return Status::NotFound("your agency has no webhook; its change notices wait in its feed");
  return out;
}

Status ChangeNoticeService::RemoveWebhook(const authz::Principal& who) {
  if (!ManagesAgency(who)) return DenyAudited(who, "agency_webhook.remove", "", kNotManager);
  return db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute("DELETE FROM agency_webhooks WHERE agency_id = ?", {who.agency.value}).status());
    // What was waiting to be pushed now waits in the feed only.
    RETURN_IF_ERROR(tx.Execute("UPDATE change_notices SET delivery_state = 'none' WHERE agency_id = ? AND "
                               "delivery_state = 'waiting'",
                               {who.agency.value})
                        .status());
    return audit_.Append(tx, who, {"agency_webhook.remove", "agency", std::to_string(who.agency.value), std::nullopt,
                                   true, "the agency's manager removed its webhook"});
  });
}

StatusOr<ChangeNotice> ChangeNoticeService::Redeliver(const authz::Principal& who, int64_t id) {
  const std::string record = std::to_string(id);
  if (!ManagesAgency(who)) {
    return DenyAudited(who, "change.redeliver", record,
                       "only the agency's managers and administrators, signed in with their own "
                       "account, redeliver");
  }
  ChangeNotice out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<ChangeNotice> found,
                     Load(tx, "WHERE n.id = ? AND n.agency_id = ?", {id, who.agency.value}));
    if (found.empty()) return Status::NotFound(fmt::format("your agency has no change notice {}", id));
    out = found.front();
    if (out.delivery != "dead") {
      return Status::FailedPrecondition(fmt::format("change notice {} is {}, not dead-lettered", id, out.delivery));
    }
    ASSIGN_OR_RETURN(storage::Rows hook, tx.Query("SELECT 1 FROM agency_webhooks WHERE agency_id = ? AND state = "
                                                  "'active'",
                                                  {who.agency.value}));
    if (hook.empty()) {
      return Status::FailedPrecondition("your agency has no active webhook; set one first");
    }
    RETURN_IF_ERROR(tx.Execute("UPDATE change_notices SET delivery_state = 'waiting', attempts = 0, "
                               "next_attempt_at = ?, delivery_since = ? WHERE id = ?",
                               {clock_.Now().micros, clock_.Now().micros, id})
                        .status());
    out.delivery = "waiting";
    out.attempts = 0;
    return audit_.Append(tx, who, {"change.redeliver", "change_notice", record, out.person, true,
                                   "the agency's manager asked for a dead-lettered notice again"});
  }));
  return out;
}

}  // namespace sharing
