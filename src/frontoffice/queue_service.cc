#include "frontoffice/queue_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "core/utf8.h"

namespace frontoffice {

using core::Status;
using core::StatusOr;

namespace {

constexpr int64_t kMinuteMicros = 60'000'000;

std::vector<int64_t> ParseList(const std::string& s) {
  std::vector<int64_t> out;
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end) {
    int64_t v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc()) break;
    out.push_back(v);
    p = next + 1;
  }
  return out;
}

std::string JoinList(const std::vector<int64_t>& v) {
  std::string out;
  for (int64_t x : v) out += (out.empty() ? "" : ",") + std::to_string(x);
  return out;
}

storage::Value Opt(std::optional<int64_t> v) { return v ? storage::Value(*v) : storage::Value(storage::Null{}); }

constexpr char kTicketColumns[] =
    "SELECT t.id, t.office_id, t.queue_id, q.name, t.label, t.day, t.priority, t.person_id, t.state, t.counter_id, "
    "c.name, t.recalls, t.arrived_at, t.called_at, t.served_at, t.finished_at "
    "FROM tickets t JOIN queues q ON q.id = t.queue_id LEFT JOIN counters c ON c.id = t.counter_id ";

std::vector<Ticket> Tickets(const storage::Rows& rows) {
  std::vector<Ticket> out;
  for (const auto& r : rows) {
    Ticket t;
    t.id = r.Int(0);
    t.office = r.Int(1);
    t.queue = r.Int(2);
    t.queue_name = r.Text(3);
    t.label = r.Text(4);
    t.day = r.Text(5);
    t.priority = static_cast<Priority>(r.Int(6));
    if (!r.IsNull(7)) t.person = core::PersonId{r.Int(7)};
    t.state = r.Text(8);
    if (!r.IsNull(9)) t.counter = r.Int(9);
    t.counter_name = r.IsNull(10) ? "" : r.Text(10);
    t.recalls = r.Int(11);
    t.arrived_at = core::Timestamp{r.Int(12)};
    if (!r.IsNull(13)) t.called_at = core::Timestamp{r.Int(13)};
    if (!r.IsNull(14)) t.served_at = core::Timestamp{r.Int(14)};
    if (!r.IsNull(15)) t.finished_at = core::Timestamp{r.Int(15)};
    out.push_back(std::move(t));
  }
  return out;
}

// The average length of a visit at `queue` over its last 20 finished tickets, in minutes.
StatusOr<double> AverageMinutes(storage::Transaction& tx, int64_t queue, int64_t fallback) {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT finished_at - called_at FROM tickets WHERE queue_id = ? "
                                                "AND state = 'done' AND called_at IS NOT NULL "
                                                "ORDER BY finished_at DESC LIMIT 20",
                                                {queue}));
  if (rows.empty()) return static_cast<double>(fallback);
  double total = 0;
  for (const auto& r : rows) total += static_cast<double>(r.Int(0)) / kMinuteMicros;
  return std::max(0.5, total / static_cast<double>(rows.size()));
}

StatusOr<int64_t> OpenCounters(storage::Transaction& tx, int64_t office, int64_t queue) {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT queues FROM counters WHERE office_id = ? AND "
                                                "staff_user_id IS NOT NULL",
                                                {office}));
  int64_t n = 0;
  for (const auto& r : rows) {
    const auto list = ParseList(r.Text(0));
    n += std::find(list.begin(), list.end(), queue) != list.end();
  }
  return n;
}

// How many wait before `t` in its queue, plus one, and the estimated wait in minutes.
Status Place(storage::Transaction& tx, Ticket& t, int64_t fallback) {
  if (t.state != "waiting") return Status::Ok();
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT COUNT(*) FROM tickets WHERE queue_id = ? AND day = ? AND state = 'waiting' AND "
                            "(priority > ? OR (priority = ? AND (arrived_at < ? OR (arrived_at = ? AND id < ?))))",
                            {t.queue, t.day, static_cast<int64_t>(t.priority), static_cast<int64_t>(t.priority),
                             t.arrived_at.micros, t.arrived_at.micros, t.id}));
  t.position = rows.at(0).Int(0) + 1;
  ASSIGN_OR_RETURN(double minutes, AverageMinutes(tx, t.queue, fallback));
  ASSIGN_OR_RETURN(int64_t counters, OpenCounters(tx, t.office, t.queue));
  t.estimated_minutes = static_cast<int64_t>(
      std::ceil(static_cast<double>(t.position - 1) * minutes / static_cast<double>(std::max<int64_t>(1, counters))));
  return Status::Ok();
}

// The visitor called to `counter` or being served there, if any: their ticket's label and state.
StatusOr<std::optional<std::pair<std::string, std::string>>> VisitorAt(storage::Transaction& tx,
                                                                       int64_t counter) {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT label, state FROM tickets WHERE counter_id = ? AND state IN "
                            "('called', 'serving') ORDER BY id LIMIT 1",
                            {counter}));
  if (rows.empty()) return std::optional<std::pair<std::string, std::string>>();
  return std::optional<std::pair<std::string, std::string>>(
      std::pair{rows.at(0).Text(0), rows.at(0).Text(1)});
}

}  // namespace

std::string_view PriorityName(Priority p) {
  switch (p) {
    case Priority::kNormal: return "normal";
    case Priority::kAccessibility: return "accessibility";
    case Priority::kUrgent: return "urgent";
    case Priority::kAppointment: return "appointment";
  }
  return "normal";
}

StatusOr<Priority> ParsePriority(std::string_view name) {
  if (name.empty() || name == "normal") return Priority::kNormal;
  if (name == "accessibility") return Priority::kAccessibility;
  if (name == "urgent") return Priority::kUrgent;
  if (name == "appointment") return Priority::kAppointment;
  return Status::InvalidArgument("priority must be normal, accessibility, urgent or appointment",
                                 {{"priority", "must be normal, accessibility, urgent or appointment"}});
}

QueueService::QueueService(storage::Database& db, const authz::AccessGate& gate, audit::AuditLog& audit,
                           exchange::Outbox& outbox, const core::Clock& clock, OfficeHoursService& hours,
                           QueueOptions options)
    : db_(db), gate_(gate), audit_(audit), outbox_(outbox), clock_(clock), hours_(hours), options_(options) {}

StatusOr<std::string> QueueService::Today(storage::Transaction& tx, int64_t office) {
  ASSIGN_OR_RETURN(core::Date d, hours_.Today(tx, office));
  return d.ToString();
}

Status QueueService::MayWork(storage::Transaction& tx, const authz::Principal& who, int64_t office, bool manage) {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT agency_id FROM offices WHERE id = ?", {office}));
  if (rows.empty()) return Status::NotFound(fmt::format("no office has id {}", office));
  if (rows.at(0).Int(0) != who.agency.value) {
    return Status::PermissionDenied("only the staff of the office's agency work its queue");
  }
  if (manage && !who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin})) {
    return Status::PermissionDenied("only a manager or an administrator sets up queues and counters");
  }
  if (!manage && !authz::HasClientRole(who)) {
    return Status::PermissionDenied("only staff who work with clients work the queue");
  }
  if (!who.HasScope("queues:write")) return Status::PermissionDenied("the token needs the queues:write scope");
  return Status::Ok();
}

Status QueueService::Event(storage::Transaction& tx, const Ticket& t, const std::string& action,
                           std::optional<int64_t> counter, const std::string& actor) {
  const int64_t now = clock_.Now().micros;
  RETURN_IF_ERROR(tx.Execute("INSERT INTO ticket_events (office_id, ticket_id, action, counter_id, actor, at) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             {t.office, t.id, action, Opt(counter), actor, now})
                      .status());
  return outbox_.Append(tx, "ticket." + action, "ticket", std::to_string(t.id),
                        fmt::format(R"({{"ticket_id":{},"office_id":{},"queue_id":{},"label":"{}"}})", t.id, t.office,
                                    t.queue, t.label));
}

StatusOr<Queue> QueueService::CreateQueue(const authz::Principal& who, int64_t office,
                                          const std::string& typed_code, const std::string& name,
                                          const std::string& directory_service_id) {
  // A letter typed in lower case is the same letter.
  std::string code = typed_code;
  if (code.size() == 1 && std::islower(static_cast<unsigned char>(code[0])))
    code[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(code[0])));
  std::vector<core::FieldError> errors;
  if (code.size() != 1 || !std::isupper(static_cast<unsigned char>(code[0]))) {
    errors.push_back({"code", "one capital letter, A to Z, that starts its tickets' numbers"});
  }
  if (name.empty() || core::Utf8Length(name) > 100)
    errors.push_back({"name", "1 to 100 characters"});
  Queue out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(MayWork(tx, who, office, true));
    if (!directory_service_id.empty()) {
      ASSIGN_OR_RETURN(storage::Rows s, tx.Query("SELECT id FROM directory_records WHERE tbl = 'service' AND id = ?",
                                                 {directory_service_id}));
      if (s.empty()) errors.push_back({"directory_service_id", "not a service of the directory"});
    }
    ASSIGN_OR_RETURN(storage::Rows dup, tx.Query("SELECT id FROM queues WHERE office_id = ? AND code = ?", {office, code}));
    if (!dup.empty()) errors.push_back({"code", fmt::format("the office has a queue {} already", code)});
    if (!errors.empty()) return Status::InvalidArgument("the queue has invalid fields", errors);
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("INSERT INTO queues (office_id, code, name, directory_service_id, created_at) "
                              "VALUES (?, ?, ?, ?, ?) RETURNING id",
                              {office, code, name,
                               directory_service_id.empty() ? storage::Value(storage::Null{}) : storage::Value(directory_service_id),
                               clock_.Now().micros}));
    out = Queue{rows.at(0).Int(0), office, code, name, directory_service_id};
    return audit_.Append(tx, who, {"queue.create", "queue", std::to_string(out.id), std::nullopt, true, name});
  }));
  return out;
}

StatusOr<Counter> QueueService::CreateCounter(const authz::Principal& who, int64_t office, const std::string& name,
                                              const std::vector<int64_t>& queues) {
  Counter out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(MayWork(tx, who, office, true));
    std::vector<core::FieldError> errors;
    if (name.empty() || core::Utf8Length(name) > 100)
      errors.push_back({"name", "1 to 100 characters"});
    if (queues.empty()) errors.push_back({"queues", "a counter takes at least one queue"});
    for (int64_t q : queues) {
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id FROM queues WHERE id = ? AND office_id = ?", {q, office}));
      if (rows.empty()) errors.push_back({"queues", fmt::format("{} is not a queue of this office", q)});
    }
    ASSIGN_OR_RETURN(storage::Rows dup, tx.Query("SELECT id FROM counters WHERE office_id = ? AND name = ?", {office, name}));
    if (!dup.empty()) errors.push_back({"name", "the office has a counter of that name already"});
    if (!errors.empty()) return Status::InvalidArgument("the counter has invalid fields", errors);
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("INSERT INTO counters (office_id, name, queues, staff, created_at) "
                                                  "VALUES (?, ?, ?, '', ?) RETURNING id",
                                                  {office, name, JoinList(queues), clock_.Now().micros}));
    out = Counter{rows.at(0).Int(0), office, name, queues, "", std::nullopt};
    return audit_.Append(tx, who, {"counter.create", "counter", std::to_string(out.id), std::nullopt, true, name});
  }));
  return out;
}

StatusOr<std::vector<Queue>> QueueService::QueuesForService(const std::string& directory_service_id) {
  std::vector<Queue> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id, office_id, code, name FROM queues "
                                                  "WHERE directory_service_id = ? ORDER BY office_id, code",
                                                  {directory_service_id}));
    for (const auto& r : rows) {
      Queue q;
      q.id = r.Int(0);
      q.office = r.Int(1);
      q.code = r.Text(2);
      q.name = r.Text(3);
      q.directory_service_id = directory_service_id;
      out.push_back(std::move(q));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Queue>> QueueService::Queues(int64_t office) {
  std::vector<Queue> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows o, tx.Query("SELECT id FROM offices WHERE id = ?", {office}));
    if (o.empty()) return Status::NotFound(fmt::format("no office has id {}", office));
    ASSIGN_OR_RETURN(std::string today, Today(tx, office));
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT q.id, q.code, q.name, q.directory_service_id, "
                              "(SELECT COUNT(*) FROM tickets t WHERE t.queue_id = q.id AND t.day = ? AND t.state = 'waiting') "
                              "FROM queues q WHERE q.office_id = ? ORDER BY q.code",
                              {today, office}));
    for (const auto& r : rows) {
      Queue q{r.Int(0), office, r.Text(1), r.Text(2), r.IsNull(3) ? "" : r.Text(3), r.Int(4)};
      ASSIGN_OR_RETURN(double minutes, AverageMinutes(tx, q.id, options_.default_minutes));
      ASSIGN_OR_RETURN(q.open_counters, OpenCounters(tx, office, q.id));
      q.estimated_minutes = static_cast<int64_t>(std::ceil(static_cast<double>(q.waiting) * minutes /
                                                           static_cast<double>(std::max<int64_t>(1, q.open_counters))));
      out.push_back(std::move(q));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Counter>> QueueService::Counters(int64_t office) {
  std::vector<Counter> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT c.id, c.name, c.queues, c.staff, "
                              "(SELECT MAX(t.id) FROM tickets t WHERE t.counter_id = c.id AND t.state IN ('called', 'serving')) "
                              "FROM counters c WHERE c.office_id = ? ORDER BY c.name",
                              {office}));
    for (const auto& r : rows) {
      Counter c{r.Int(0), office, r.Text(1), ParseList(r.Text(2)), r.Text(3), std::nullopt};
      if (!r.IsNull(4)) c.current_ticket = r.Int(4);
      out.push_back(std::move(c));
    }
    return Status::Ok();
  }));
  return out;
}

namespace {

StatusOr<Counter> LoadCounter(storage::Transaction& tx, int64_t id, int64_t* staff_user) {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT id, office_id, name, queues, staff, staff_user_id FROM counters WHERE id = ?", {id}));
  if (rows.empty()) return Status::NotFound(fmt::format("no counter has id {}", id));
  const auto& r = rows.at(0);
  if (staff_user) *staff_user = r.IsNull(5) ? 0 : r.Int(5);
  return Counter{r.Int(0), r.Int(1), r.Text(2), ParseList(r.Text(3)), r.Text(4), std::nullopt};
}

}  // namespace

StatusOr<Counter> QueueService::SignIn(const authz::Principal& who, int64_t counter) {
  Counter out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    int64_t staff = 0;
    ASSIGN_OR_RETURN(out, LoadCounter(tx, counter, &staff));
    RETURN_IF_ERROR(MayWork(tx, who, out.office, false));
    if (!who.user.valid()) return Status::PermissionDenied("a member of staff signs in at a counter, not a token");
    if (staff != 0 && staff != who.user.value) {
      return Status::FailedPrecondition(
          fmt::format("{} is taken: {} is signed in there", out.name, out.staff));
    }
    // One counter at a time: leave any other.
    RETURN_IF_ERROR(tx.Execute("UPDATE counters SET staff_user_id = NULL, staff = '', signed_in_at = NULL "
                               "WHERE staff_user_id = ? AND id <> ?",
                               {who.user.value, counter})
                        .status());
    RETURN_IF_ERROR(tx.Execute("UPDATE counters SET staff_user_id = ?, staff = ?, signed_in_at = ? WHERE id = ?",
                               {who.user.value, who.name, clock_.Now().micros, counter})
                        .status());
    out.staff = who.name;
    return audit_.Append(tx, who, {"counter.sign_in", "counter", std::to_string(counter), std::nullopt, true, out.name});
  }));
  return out;
}

StatusOr<Counter> QueueService::SignOut(const authz::Principal& who, int64_t counter) {
  Counter out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    int64_t staff = 0;
    ASSIGN_OR_RETURN(out, LoadCounter(tx, counter, &staff));
    RETURN_IF_ERROR(MayWork(tx, who, out.office, false));
    if (staff != who.user.value && !who.HasRole(authz::Role::kManager)) {
      return Status::FailedPrecondition("you are not signed in at this counter");
    }
    // Whoever leaves their own counter settles its visitor first, who would otherwise stay called
    // there with no one to serve them; a manager freeing the counter of someone gone may.
    if (staff == who.user.value) {
      ASSIGN_OR_RETURN(auto current, VisitorAt(tx, counter));
      if (current) {
        const bool called = current->second == "called";
        return Status::FailedPrecondition(
            fmt::format("{} is still {} {}: finish it, transfer it{} first", current->first,
                        called ? "called to" : "being served at", out.name,
                        called ? " or mark it not here" : ""));
      }
    }
    RETURN_IF_ERROR(tx.Execute("UPDATE counters SET staff_user_id = NULL, staff = '', signed_in_at = NULL WHERE id = ?",
                               {counter})
                        .status());
    out.staff.clear();
    return audit_.Append(tx, who, {"counter.sign_out", "counter", std::to_string(counter), std::nullopt, true, out.name});
  }));
  return out;
}

StatusOr<Ticket> QueueService::Issue(storage::Transaction& tx, const std::string& actor, int64_t queue,
                                     Priority priority, std::optional<core::PersonId> person) {
  ASSIGN_OR_RETURN(storage::Rows q, tx.Query("SELECT office_id, code FROM queues WHERE id = ?", {queue}));
  if (q.empty()) return Status::NotFound(fmt::format("no queue has id {}", queue));
  const int64_t office = q.at(0).Int(0);
  ASSIGN_OR_RETURN(std::string today, Today(tx, office));
  // Numbered by the queue's letter through the day; a ticket keeps its number when transferred.
  const std::string code = q.at(0).Text(1);
  ASSIGN_OR_RETURN(storage::Rows n, tx.Query("SELECT COALESCE(MAX(number), 0) + 1 FROM tickets WHERE office_id = ? "
                                             "AND day = ? AND code = ?",
                                             {office, today, code}));
  const int64_t number = n.at(0).Int(0);
  const std::string label = fmt::format("{}{:03}", code, number);
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("INSERT INTO tickets (office_id, queue_id, day, code, number, label, priority, person_id, "
                            "state, recalls, arrived_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'waiting', 0, ?) RETURNING id",
                            {office, queue, today, code, number, label, static_cast<int64_t>(priority),
                             person ? storage::Value(person->value) : storage::Value(storage::Null{}),
                             clock_.Now().micros}));
  ASSIGN_OR_RETURN(storage::Rows found, tx.Query(std::string(kTicketColumns) + "WHERE t.id = ?", {rows.at(0).Int(0)}));
  Ticket t = Tickets(found).at(0);
  RETURN_IF_ERROR(Event(tx, t, "issued", std::nullopt, actor));
  RETURN_IF_ERROR(Place(tx, t, options_.default_minutes));
  return t;
}

StatusOr<Ticket> QueueService::CheckIn(const authz::Principal& who, int64_t queue, Priority priority,
                                       std::optional<core::PersonId> person) {
  if (person) {
    const authz::Decision d = gate_.DecidePerson(who, authz::Operation::kRead, *person);
    if (!d.allowed) {
      RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
        return audit_.Append(tx, who, {"ticket.create", "person", std::to_string(person->value), person, false, d.reason});
      }));
      return Status::PermissionDenied(d.reason);
    }
  }
  Ticket out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows q, tx.Query("SELECT office_id FROM queues WHERE id = ?", {queue}));
    if (q.empty()) return Status::NotFound(fmt::format("no queue has id {}", queue));
    RETURN_IF_ERROR(MayWork(tx, who, q.at(0).Int(0), false));
    if (person) {
      ASSIGN_OR_RETURN(storage::Rows p, tx.Query("SELECT id FROM persons WHERE id = ?", {person->value}));
      if (p.empty()) return Status::NotFound(fmt::format("no person has id {}", person->value));
    }
    ASSIGN_OR_RETURN(out, Issue(tx, who.name, queue, priority, person));
    if (person) {
      RETURN_IF_ERROR(audit_.Append(tx, who, {"ticket.create", "ticket", std::to_string(out.id), person, true,
                                              fmt::format("ticket {} in {}", out.label, out.queue_name)}));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<Ticket> QueueService::KioskCheckIn(int64_t queue, Priority priority) {
  if (priority != Priority::kNormal && priority != Priority::kAccessibility) {
    return Status::InvalidArgument("at the kiosk, a ticket is normal or for accessibility needs",
                                   {{"priority", "must be normal or accessibility"}});
  }
  Ticket out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    // The kiosk gives tickets only while the office is open; staff at a desk may still check a
    // visitor in after closing.
    ASSIGN_OR_RETURN(storage::Rows q, tx.Query("SELECT office_id FROM queues WHERE id = ?", {queue}));
    if (q.empty()) return Status::NotFound(fmt::format("no queue has id {}", queue));
    ASSIGN_OR_RETURN(OfficeHours hours, hours_.Get(tx, q.at(0).Int(0)));
    const core::Timestamp now = clock_.Now();
    ASSIGN_OR_RETURN(bool open, hours.OpenAt(now));
    if (!open) {
      ASSIGN_OR_RETURN(std::optional<core::Timestamp> next, hours.NextOpening(now));
      return Status::FailedPrecondition(next ? "the office is closed; it opens " + hours.When(*next, now)
                                             : std::string("the office is closed"));
    }
    ASSIGN_OR_RETURN(out, Issue(tx, "kiosk", queue, priority, std::nullopt));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::optional<Ticket>> QueueService::CallNext(const authz::Principal& who, int64_t counter) {
  std::optional<Ticket> out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    int64_t staff = 0;
    ASSIGN_OR_RETURN(Counter c, LoadCounter(tx, counter, &staff));
    ASSIGN_OR_RETURN(std::string today, Today(tx, c.office));
    RETURN_IF_ERROR(MayWork(tx, who, c.office, false));
    if (staff == 0 || staff != who.user.value) {
      return Status::FailedPrecondition(fmt::format("sign in at {} before calling", c.name));
    }
    // One visitor at a time: a page left open (or the browser's back button) must not call the
    // next while the last is still at the counter, which would leave them there out of sight.
    ASSIGN_OR_RETURN(auto current, VisitorAt(tx, counter));
    if (current && current->second == "called") {
      return Status::FailedPrecondition(fmt::format(
          "{} is still called to {}: serve it or mark it a no-show first", current->first, c.name));
    }
    if (current) {
      return Status::FailedPrecondition(fmt::format(
          "{} is still being served at {}: finish or transfer it first", current->first, c.name));
    }
    std::string in;
    storage::Params params;
    for (int64_t q : c.queues) {
      in += in.empty() ? "?" : ", ?";
      params.push_back(q);
    }
    params.push_back(today);
    // The row is locked (PostgreSQL skips rows another counter holds); the update checks again.
    const std::string lock = tx.dialect() == storage::Dialect::kPostgres ? " FOR UPDATE SKIP LOCKED" : "";
    ASSIGN_OR_RETURN(storage::Rows next,
                     tx.Query("SELECT id FROM tickets WHERE queue_id IN (" + in + ") AND day = ? AND state = 'waiting' "
                              "ORDER BY priority DESC, arrived_at, id LIMIT 1" + lock,
                              params));
    if (next.empty()) return Status::Ok();
    const int64_t id = next.at(0).Int(0);
    ASSIGN_OR_RETURN(int64_t changed, tx.Execute("UPDATE tickets SET state = 'called', counter_id = ?, called_at = ? "
                                                 "WHERE id = ? AND state = 'waiting'",
                                                 {counter, clock_.Now().micros, id}));
    if (changed != 1) return Status::Aborted("another counter called that ticket; call again");
    ASSIGN_OR_RETURN(storage::Rows found, tx.Query(std::string(kTicketColumns) + "WHERE t.id = ?", {id}));
    out = Tickets(found).at(0);
    RETURN_IF_ERROR(Event(tx, *out, "called", counter, who.name));
    if (out->person) {
      RETURN_IF_ERROR(audit_.Append(tx, who, {"ticket.call", "ticket", std::to_string(id), out->person, true,
                                              fmt::format("{} called to {}", out->label, c.name)}));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<Ticket> QueueService::Act(const authz::Principal& who, int64_t ticket, const std::string& action,
                                   std::optional<int64_t> to_queue) {
  Ticket out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows found, tx.Query(std::string(kTicketColumns) + "WHERE t.id = ?", {ticket}));
    if (found.empty()) return Status::NotFound(fmt::format("no ticket has id {}", ticket));
    Ticket t = Tickets(found).at(0);
    RETURN_IF_ERROR(MayWork(tx, who, t.office, false));
    if (t.counter) {
      ASSIGN_OR_RETURN(storage::Rows c, tx.Query("SELECT staff_user_id FROM counters WHERE id = ?", {*t.counter}));
      const bool at_counter = !c.empty() && !c.at(0).IsNull(0) && c.at(0).Int(0) == who.user.value;
      if (!at_counter && !who.HasRole(authz::Role::kManager)) {
        return Status::FailedPrecondition(fmt::format("{} is at {}: only who is signed in there acts on it", t.label,
                                                      t.counter_name));
      }
    }
    const int64_t now = clock_.Now().micros;
    auto need = [&](std::initializer_list<const char*> states) -> Status {
      for (const char* s : states) {
        if (t.state == s) return Status::Ok();
      }
      // In words, not codes: "A012 is being served: it cannot be called again".
      static const std::map<std::string, std::string> kStates = {{"waiting", "waiting"},
                                                                 {"called", "called"},
                                                                 {"serving", "being served"},
                                                                 {"done", "finished"},
                                                                 {"no_show", "marked as not come"},
                                                                 {"transferred", "transferred"},
                                                                 {"cancelled", "cancelled"}};
      static const std::map<std::string, std::string> kActions = {{"recall", "called again"},
                                                                  {"no_show", "marked as not come"},
                                                                  {"serve", "served"},
                                                                  {"finish", "finished"},
                                                                  {"transfer", "transferred"}};
      const auto state = kStates.find(t.state);
      const auto done = kActions.find(action);
      return Status::FailedPrecondition(fmt::format(
          "{} is {}: it cannot be {}", t.label, state != kStates.end() ? state->second : t.state,
          done != kActions.end() ? done->second : action));
    };
    std::string event = action;
    if (action == "recall") {
      RETURN_IF_ERROR(need({"called"}));
      RETURN_IF_ERROR(tx.Execute("UPDATE tickets SET recalls = recalls + 1, called_at = ? WHERE id = ?", {now, ticket}).status());
      event = "recalled";
    } else if (action == "no_show") {
      RETURN_IF_ERROR(need({"called", "waiting"}));
      RETURN_IF_ERROR(tx.Execute("UPDATE tickets SET state = 'no_show', finished_at = ? WHERE id = ?", {now, ticket}).status());
    } else if (action == "serve") {
      RETURN_IF_ERROR(need({"called"}));
      RETURN_IF_ERROR(tx.Execute("UPDATE tickets SET state = 'serving', served_at = ? WHERE id = ?", {now, ticket}).status());
      event = "serving";
    } else if (action == "finish") {
      RETURN_IF_ERROR(need({"called", "serving"}));
      RETURN_IF_ERROR(tx.Execute("UPDATE tickets SET state = 'done', served_at = COALESCE(served_at, ?), finished_at = ? "
                                 "WHERE id = ?",
                                 {now, now, ticket})
                          .status());
      event = "done";
    } else if (action == "transfer") {
      RETURN_IF_ERROR(need({"called", "serving", "waiting"}));
      if (!to_queue) return Status::InvalidArgument("say which queue", {{"queue_id", "give the queue to transfer to"}});
      ASSIGN_OR_RETURN(storage::Rows q, tx.Query("SELECT id FROM queues WHERE id = ? AND office_id = ?", {*to_queue, t.office}));
      if (q.empty() || *to_queue == t.queue) {
        return Status::InvalidArgument("not another queue of this office", {{"queue_id", "must be another queue of this office"}});
      }
      // The visitor keeps their place by the time they arrived.
      RETURN_IF_ERROR(tx.Execute("UPDATE tickets SET state = 'waiting', queue_id = ?, counter_id = NULL, called_at = NULL, "
                                 "served_at = NULL WHERE id = ?",
                                 {*to_queue, ticket})
                          .status());
      event = "transferred";
    } else {
      return Status::InvalidArgument("action must be recall, no_show, serve, finish or transfer",
                                     {{"action", "must be recall, no_show, serve, finish or transfer"}});
    }
    ASSIGN_OR_RETURN(found, tx.Query(std::string(kTicketColumns) + "WHERE t.id = ?", {ticket}));
    out = Tickets(found).at(0);
    RETURN_IF_ERROR(Event(tx, out, event, t.counter, who.name));
    RETURN_IF_ERROR(Place(tx, out, options_.default_minutes));
    if (out.person) {
      RETURN_IF_ERROR(audit_.Append(tx, who, {"ticket." + action, "ticket", std::to_string(ticket), out.person, true,
                                              out.label}));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<Ticket> QueueService::Get(int64_t ticket) {
  Ticket out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows found, tx.Query(std::string(kTicketColumns) + "WHERE t.id = ?", {ticket}));
    if (found.empty()) return Status::NotFound(fmt::format("no ticket has id {}", ticket));
    out = Tickets(found).at(0);
    return Place(tx, out, options_.default_minutes);
  }));
  return out;
}

StatusOr<Ticket> QueueService::ByLabel(int64_t office, const std::string& label) {
  std::string wanted;
  for (char c : label) {
    if (c != ' ') wanted += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  Ticket out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows found,
                     tx.Query(std::string(kTicketColumns) +
                                  "WHERE t.office_id = ? AND t.day = (SELECT MAX(day) FROM tickets "
                                  "WHERE office_id = ?) AND t.label = ? ORDER BY t.id DESC LIMIT 1",
                              {office, office, wanted}));
    if (found.empty()) {
      return Status::NotFound(
          wanted.empty() ? "give the ticket's number, like A019"
                         : fmt::format("there is no ticket {} at this office today", wanted));
    }
    out = Tickets(found).at(0);
    return Place(tx, out, options_.default_minutes);
  }));
  return out;
}

StatusOr<std::vector<QueueEvent>> QueueService::EventsSince(int64_t office, int64_t after_id, int limit) {
  std::vector<QueueEvent> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT e.id, e.ticket_id, t.label, e.action, c.name, e.at FROM ticket_events e "
                              "JOIN tickets t ON t.id = e.ticket_id LEFT JOIN counters c ON c.id = e.counter_id "
                              "WHERE e.office_id = ? AND e.id > ? ORDER BY e.id LIMIT ?",
                              {office, after_id, static_cast<int64_t>(limit)}));
    for (const auto& r : rows) {
      out.push_back({r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.IsNull(4) ? "" : r.Text(4), core::Timestamp{r.Int(5)}});
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<int64_t> QueueService::LastEventId(int64_t office) {
  int64_t out = 0;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT COALESCE(MAX(id), 0) FROM ticket_events WHERE office_id = ?", {office}));
    out = rows.at(0).Int(0);
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::string> QueueService::OfficeName(int64_t office) {
  std::string out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT name FROM offices WHERE id = ?", {office}));
    if (rows.empty()) return Status::NotFound(fmt::format("no office has id {}", office));
    out = rows.at(0).Text(0);
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Ticket>> QueueService::RecentlyCalled(int64_t office, int limit) {
  std::vector<Ticket> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::string today, Today(tx, office));
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(std::string(kTicketColumns) +
                                                      "WHERE t.office_id = ? AND t.day = ? AND t.called_at IS NOT NULL "
                                                      "AND t.state IN ('called', 'serving') ORDER BY t.called_at DESC LIMIT ?",
                                                  {office, today, static_cast<int64_t>(limit)}));
    out = Tickets(rows);
    return Status::Ok();
  }));
  return out;
}

}  // namespace frontoffice
