#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access/access_gate.h"
#include "access/principal.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "exchange/outbox.h"
#include "frontoffice/queue_service.h"
#include "storage/database.h"

// Appointments at an access centre: slots in a queue of an office (a start, a length and how
// many people each takes), booked for a person by staff or by anyone with a contact for the
// reminder, each with a reference to cancel it or to check in with; a reminder is queued as a
// message a day before; checking in turns the appointment into a ticket that is called before
// everyone who has none. Booking the last place of a slot twice at the same moment is impossible:
// the slot's count is taken in one conditional update.
namespace frontoffice {

inline constexpr std::string_view kByReference = audit::kAppointmentReferenceActor;

struct Slot {
  int64_t id = 0;
  int64_t office = 0;
  int64_t queue = 0;
  std::string queue_name;
  core::Timestamp starts_at, ends_at;
  int64_t capacity = 0;
  int64_t booked = 0;
  bool outside_hours =
      false;  // the office no longer opens then (OfficeSlots): not offered, not bookable
};

struct Appointment {
  int64_t id = 0;
  std::string reference;  // "K7Q2-9XWM": to cancel or check in with
  Slot slot;
  std::optional<core::PersonId> person;
  std::string state;  // booked, cancelled, checked_in
  std::optional<int64_t> ticket;
  std::string ticket_label;
};

struct NewSlots {
  core::Timestamp first;  // the first slot's start (UTC)
  int count = 1;          // slots one after another
  int minutes = 15;       // each slot's length
  int capacity = 1;       // people per slot
};

// Thread-safe.
class AppointmentService {
 public:
  AppointmentService(storage::Database& db, const authz::AccessGate& gate, audit::AuditLog& audit,
                     exchange::Outbox& outbox, const core::Clock& clock, QueueService& queues);

  // Managers and administrators of the office's agency.
  core::StatusOr<std::vector<Slot>> CreateSlots(const authz::Principal& who, int64_t queue, const NewSlots& in);
  // All the office's slots starting between `from` and `to` (full ones too), in order; and its
  // appointments in them (booked, cancelled or checked in). Staff of the office's agency who
  // work with clients, and its administrators.
  core::StatusOr<std::vector<Slot>> OfficeSlots(const authz::Principal& who, int64_t office, core::Timestamp from,
                                                core::Timestamp to);
  // A token also needs the queues:write scope; each person with an appointment listed is audited
  // (appointment.list), as it is theirs to see who looked.
  core::StatusOr<std::vector<Appointment>> OfficeAppointments(const authz::Principal& who, int64_t office,
                                                              core::Timestamp from, core::Timestamp to);
  // The office's coming appointments, still booked, that its opening hours no longer cover (the
  // hours or time zone changed after they were booked), soonest first: someone should tell the
  // clients. As OfficeSlots may see them.
  core::StatusOr<std::vector<Appointment>> BookedOutsideHours(const authz::Principal& who,
                                                              int64_t office);
  // One slot, full or not. Public, as the free ones are.
  core::StatusOr<Slot> GetSlot(int64_t slot);
  // The queue's slots with a free place between `from` and `to`, in order. Public.
  core::StatusOr<std::vector<Slot>> FreeSlots(int64_t queue, core::Timestamp from, core::Timestamp to);

  // Staff of the office's agency book for a client (checked by the gate, audited on them) or
  // anyone; a citizen (signed in, or online by reference: a citizen principal without a person)
  // books for themselves, at most three coming appointments an office for one contact.
  // `contact` (a phone number or an e-mail address) receives the reminder.
  // kFailedPrecondition when the slot is full or has begun, or the contact holds three.
  // `replacing`: the reference of an appointment this one moves (cancelled once it is booked),
  // which does not count towards the three.
  core::StatusOr<Appointment> Book(const authz::Principal& who, int64_t slot, std::optional<core::PersonId> person,
                                   const std::string& contact, const std::string& replacing = "");
  core::StatusOr<Appointment> Find(const std::string& reference);
  // A person's own appointments (signed in to the portal, or their representative), coming
  // first, soonest first, then the past ones, newest first; at most 100. Audited as
  // appointment.list on the person. kPermissionDenied for anyone else.
  core::StatusOr<std::vector<Appointment>> ForPerson(const authz::Principal& who, core::PersonId person);
  // Every office's slots with a free place between `from` and `to`, soonest first, at most
  // `limit`. Public, as the free ones are.
  core::StatusOr<std::vector<Slot>> FreeSlotsAt(std::optional<int64_t> office, core::Timestamp from, core::Timestamp to,
                                                int limit);
  // By its reference: frees the place, cancels the reminder. Audited as `who` when given (the
  // person in the portal, the office's staff), else as someone holding the reference.
  core::StatusOr<Appointment> Cancel(const std::string& reference,
                                     const authz::Principal* who = nullptr);
  // By its reference, from an hour before its slot until the slot ends: a ticket with the
  // appointment priority. At a desk (`who`: the office's staff) or a kiosk (`office`), only the
  // office's own appointments; audited on the client, when there is one.
  core::StatusOr<Appointment> CheckIn(const std::string& reference, const authz::Principal* who = nullptr,
                                      std::optional<int64_t> office = std::nullopt);

  core::Timestamp Now() const { return clock_.Now(); }

 private:
  // The slots still within their office's opening hours (they may have changed since).
  core::StatusOr<std::vector<Slot>> WhileOpen(storage::Transaction& tx, std::vector<Slot> slots);
  core::Status MaySee(storage::Transaction& tx, const authz::Principal& who, int64_t office);

  storage::Database& db_;
  const authz::AccessGate& gate_;
  audit::AuditLog& audit_;
  exchange::Outbox& outbox_;
  const core::Clock& clock_;
  QueueService& queues_;
};

}  // namespace frontoffice
