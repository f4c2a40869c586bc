#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "access/access_gate.h"
#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/ids.h"
#include "core/status.h"
#include "exchange/outbox.h"
#include "frontoffice/office_hours.h"
#include "storage/database.h"

// The access centre's queue: each office offers queues (one per service at its counters, each
// with a letter: A, B…), its counters take one or more queues, and staff sign in at a counter.
// A visitor checks in and gets a ticket (A012) in a queue; the counter calls the next ticket
// (appointments first, then urgent, then accessibility needs, then everyone else, each in order
// of arrival), may call it again or mark it a no-show, serves it, transfers it to another queue of
// the same visit (keeping its place by arrival) and finishes it. Two counters calling at the same
// moment never get the same ticket; tickets live in the database, so a restart loses none. Times
// are stored in UTC; the day that numbers tickets is the office's, in its time zone.
namespace frontoffice {

enum class Priority { kNormal = 0, kAccessibility = 1, kUrgent = 2, kAppointment = 3 };
std::string_view PriorityName(Priority p);  // "accessibility"
core::StatusOr<Priority> ParsePriority(std::string_view name);

struct Queue {
  int64_t id = 0;
  int64_t office = 0;
  std::string code;  // the ticket letter: "A"
  std::string name;  // "Benefits and money"
  std::string directory_service_id;
  int64_t waiting = 0;
  int64_t estimated_minutes = 0;  // for someone checking in now
  int64_t open_counters = 0;      // counters with someone signed in that take this queue
};

struct Counter {
  int64_t id = 0;
  int64_t office = 0;
  std::string name;
  std::vector<int64_t> queues;
  std::string staff;  // who is signed in; empty when closed
  std::optional<int64_t> current_ticket;
};

struct Ticket {
  int64_t id = 0;
  int64_t office = 0;
  int64_t queue = 0;
  std::string queue_name;
  std::string label;  // "A012"
  std::string day;    // the office's date it was issued on
  Priority priority = Priority::kNormal;
  std::optional<core::PersonId> person;
  std::string state;  // waiting, called, serving, done, no_show
  std::optional<int64_t> counter;
  std::string counter_name;
  int64_t recalls = 0;
  core::Timestamp arrived_at;
  std::optional<core::Timestamp> called_at, served_at, finished_at;
  int64_t position = 0;            // while waiting: how many are before it, plus one
  int64_t estimated_minutes = 0;   // while waiting
};

// A change the display boards show (called, recalled…), in order of id.
struct QueueEvent {
  int64_t id = 0;
  int64_t ticket = 0;
  std::string label;
  std::string action;  // issued, called, recalled, no_show, serving, transferred, done
  std::string counter_name;
  core::Timestamp at;
};

struct QueueOptions {
  int64_t default_minutes = 5;  // a visit's length when there is no history yet
};

// Thread-safe. Staff of the office's agency with a client role work the queue; managers and
// administrators set up queues and counters. Every change is an event (ticket_events) and is
// audited when a person is linked.
class QueueService {
 public:
  QueueService(storage::Database& db, const authz::AccessGate& gate, audit::AuditLog& audit, exchange::Outbox& outbox,
               const core::Clock& clock, OfficeHoursService& hours, QueueOptions options = {});

  core::StatusOr<Queue> CreateQueue(const authz::Principal& who, int64_t office, const std::string& code,
                                    const std::string& name, const std::string& directory_service_id);
  core::StatusOr<Counter> CreateCounter(const authz::Principal& who, int64_t office, const std::string& name,
                                        const std::vector<int64_t>& queues);
  // Public: queues with how many wait and the estimated wait; counters and who is at them.
  core::StatusOr<std::vector<Queue>> Queues(int64_t office);
  core::StatusOr<std::vector<Counter>> Counters(int64_t office);
  // The queues that serve a service of the directory, at every office (id, office, code, name).
  core::StatusOr<std::vector<Queue>> QueuesForService(const std::string& directory_service_id);

  core::StatusOr<Counter> SignIn(const authz::Principal& who, int64_t counter);
  core::StatusOr<Counter> SignOut(const authz::Principal& who, int64_t counter);

  // A new ticket at the end of its priority in the queue. `person` is checked by the gate.
  core::StatusOr<Ticket> CheckIn(const authz::Principal& who, int64_t queue, Priority priority,
                                 std::optional<core::PersonId> person);
  // The kiosk: no one signed in, normal or accessibility priority, no person; only while the
  // office is open (kFailedPrecondition saying when it opens).
  core::StatusOr<Ticket> KioskCheckIn(int64_t queue, Priority priority);
  // The next ticket of the counter's queues, now called to it; none when no one waits. The
  // caller must be signed in at the counter.
  core::StatusOr<std::optional<Ticket>> CallNext(const authz::Principal& who, int64_t counter);
  // recall (call again), no_show, serve, finish, transfer (to `to_queue`, same office). A
  // waiting ticket may be marked no_show (the visitor left before being called) or transferred
  // (checked in to the wrong queue), keeping its arrival.
  core::StatusOr<Ticket> Act(const authz::Principal& who, int64_t ticket, const std::string& action,
                             std::optional<int64_t> to_queue);
  core::StatusOr<Ticket> Get(int64_t ticket);
  // The office's latest ticket with `label` ("A019", as typed: case and spaces do not matter), for
  // the desk. kNotFound naming the label.
  core::StatusOr<Ticket> ByLabel(int64_t office, const std::string& label);

  // The office's events after `after_id`, oldest first (at most `limit`); for the display.
  core::StatusOr<std::vector<QueueEvent>> EventsSince(int64_t office, int64_t after_id, int limit);
  // The id of the office's newest event (0 when none): where a display's live feed starts.
  core::StatusOr<int64_t> LastEventId(int64_t office);
  // The office's name; kNotFound when there is no such office.
  core::StatusOr<std::string> OfficeName(int64_t office);
  // The tickets called most recently today (for the display's list).
  core::StatusOr<std::vector<Ticket>> RecentlyCalled(int64_t office, int limit);

  // A ticket within the caller's transaction (an appointment's check-in).
  core::StatusOr<Ticket> Issue(storage::Transaction& tx, const std::string& actor, int64_t queue, Priority priority,
                               std::optional<core::PersonId> person);
  // Whether `who` may work (or, with `manage`, set up) the office's queue.
  core::Status MayWork(storage::Transaction& tx, const authz::Principal& who, int64_t office, bool manage);
  // The office's date now, as "YYYY-MM-DD": the day its tickets are numbered by.
  core::StatusOr<std::string> Today(storage::Transaction& tx, int64_t office);
  OfficeHoursService& hours() { return hours_; }

 private:
  core::Status Event(storage::Transaction& tx, const Ticket& t, const std::string& action,
                     std::optional<int64_t> counter, const std::string& actor);

  storage::Database& db_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
  OfficeHoursService& hours_;
  QueueOptions options_;
};

}  // namespace frontoffice
