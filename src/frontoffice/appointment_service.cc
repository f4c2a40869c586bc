#include "frontoffice/appointment_service.h"

#include <fmt/format.h>
#include <sodium.h>

#include <map>
#include <set>

namespace frontoffice {

using core::Status;
using core::StatusOr;

namespace {

constexpr int64_t kMinuteMicros = 60'000'000;
constexpr int64_t kDayMicros = 86'400'000'000;
constexpr int64_t kMaxOwnBookings = 3;

// Eight letters and digits a person can read out and type: no 0/O, 1/I/L.
std::string NewReference() {
  static constexpr char kAlphabet[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == 4) out += '-';
    out += kAlphabet[randombytes_uniform(sizeof kAlphabet - 1)];
  }
  return out;
}

std::string Normalise(std::string reference) {
  std::string out;
  for (char c : reference) {
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (out.size() == 8) out.insert(4, "-");
  return out;
}

constexpr char kSlotColumns[] =
    "SELECT s.id, s.office_id, s.queue_id, q.name, s.starts_at, s.ends_at, s.capacity, s.booked "
    "FROM appointment_slots s JOIN queues q ON q.id = s.queue_id ";

std::vector<Slot> Slots(const storage::Rows& rows) {
  std::vector<Slot> out;
  for (const auto& r : rows) {
    out.push_back({r.Int(0), r.Int(1), r.Int(2), r.Text(3), core::Timestamp{r.Int(4)}, core::Timestamp{r.Int(5)},
                   r.Int(6), r.Int(7)});
  }
  return out;
}

StatusOr<Appointment> Load(storage::Transaction& tx, const std::string& reference) {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT a.id, a.reference, a.slot_id, a.person_id, a.state, a.ticket_id, t.label "
                            "FROM appointments a LEFT JOIN tickets t ON t.id = a.ticket_id WHERE a.reference = ?",
                            {reference}));
  if (rows.empty()) return Status::NotFound("there is no appointment with that reference");
  const auto& r = rows.at(0);
  Appointment a;
  a.id = r.Int(0);
  a.reference = r.Text(1);
  if (!r.IsNull(3)) a.person = core::PersonId{r.Int(3)};
  a.state = r.Text(4);
  if (!r.IsNull(5)) a.ticket = r.Int(5);
  a.ticket_label = r.IsNull(6) ? "" : r.Text(6);
  ASSIGN_OR_RETURN(storage::Rows slot, tx.Query(std::string(kSlotColumns) + "WHERE s.id = ?", {r.Int(2)}));
  a.slot = Slots(slot).at(0);
  return a;
}

bool LooksLikeContact(const std::string& c) {
  if (c.size() < 5 || c.size() > 200) return false;
  if (c.find('@') != std::string::npos) return c.find('.', c.find('@')) != std::string::npos && c.find(' ') == std::string::npos;
  int digits = 0;
  for (char ch : c) {
    if (std::isdigit(static_cast<unsigned char>(ch))) ++digits;
    else if (ch != ' ' && ch != '+' && ch != '-' && ch != '(' && ch != ')') return false;
  }
  return digits >= 6;
}

}  // namespace

AppointmentService::AppointmentService(storage::Database& db, const authz::AccessGate& gate, audit::AuditLog& audit,
                                       exchange::Outbox& outbox, const core::Clock& clock, QueueService& queues)
    : db_(db), gate_(gate), audit_(audit), outbox_(outbox), clock_(clock), queues_(queues) {}

StatusOr<std::vector<Slot>> AppointmentService::CreateSlots(const authz::Principal& who, int64_t queue,
                                                            const NewSlots& in) {
  std::vector<core::FieldError> errors;
  if (in.count < 1 || in.count > 200) errors.push_back({"count", "from 1 to 200 slots at a time"});
  if (in.minutes < 5 || in.minutes > 240) errors.push_back({"minutes", "from 5 to 240 minutes"});
  if (in.capacity < 1 || in.capacity > 50) errors.push_back({"capacity", "from 1 to 50 people"});
  if (in.first < clock_.Now()) errors.push_back({"first", "must be in the future"});
  if (!errors.empty()) return Status::InvalidArgument("the slots have invalid fields", std::move(errors));
  std::vector<Slot> out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows q, tx.Query("SELECT office_id FROM queues WHERE id = ?", {queue}));
    if (q.empty()) return Status::NotFound(fmt::format("no queue has id {}", queue));
    const int64_t office = q.at(0).Int(0);
    RETURN_IF_ERROR(queues_.MayWork(tx, who, office, true));
    // Every slot lies within the office's opening hours, on a day it is open.
    ASSIGN_OR_RETURN(OfficeHours hours, queues_.hours().Get(tx, office));
    for (int i = 0; i < in.count; ++i) {
      const int64_t start = in.first.micros + static_cast<int64_t>(i) * in.minutes * kMinuteMicros;
      ASSIGN_OR_RETURN(bool covered, hours.Covers(core::Timestamp{start}, core::Timestamp{start + in.minutes * kMinuteMicros}));
      if (!covered) {
        return Status::InvalidArgument(
            "the slots fall outside the office's opening hours",
            {{i == 0 ? "first" : "count",
              fmt::format("the office is not open for the whole of the slot at {}", hours.DateTime(core::Timestamp{start}))}});
      }
      ASSIGN_OR_RETURN(storage::Rows dup, tx.Query("SELECT id FROM appointment_slots WHERE queue_id = ? AND starts_at = ?",
                                                   {queue, start}));
      if (!dup.empty()) {
        return Status::InvalidArgument("a slot of the queue starts at the same time",
                                       {{"first", fmt::format("the queue has a slot at {} already",
                                                              hours.DateTime(core::Timestamp{start}))}});
      }
      // Nor one that overlaps a slot of the queue: several people at one time are a slot's
      // capacity.
      const int64_t end = start + in.minutes * kMinuteMicros;
      ASSIGN_OR_RETURN(
          storage::Rows overlap,
          tx.Query(
              "SELECT starts_at FROM appointment_slots WHERE queue_id = ? AND starts_at < ? AND "
              "ends_at > ? ORDER BY starts_at LIMIT 1",
              {queue, end, start}));
      if (!overlap.empty()) {
        return Status::InvalidArgument(
            "a slot would overlap one of the queue's",
            {{i == 0 ? "first" : "count",
              fmt::format("the slot at {} would overlap the queue's slot at {}",
                          hours.DateTime(core::Timestamp{start}),
                          hours.DateTime(core::Timestamp{overlap.at(0).Int(0)}))}});
      }
      RETURN_IF_ERROR(tx.Execute("INSERT INTO appointment_slots (office_id, queue_id, starts_at, ends_at, capacity, "
                                 "booked, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)",
                                 {office, queue, start, start + in.minutes * kMinuteMicros,
                                  static_cast<int64_t>(in.capacity), clock_.Now().micros})
                          .status());
    }
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query(std::string(kSlotColumns) + "WHERE s.queue_id = ? AND s.starts_at >= ? AND s.starts_at < ? "
                                                          "ORDER BY s.starts_at",
                              {queue, in.first.micros,
                               in.first.micros + static_cast<int64_t>(in.count) * in.minutes * kMinuteMicros}));
    out = Slots(rows);
    return audit_.Append(tx, who, {"slots.create", "queue", std::to_string(queue), std::nullopt, true,
                                   fmt::format("{} slots from {}", in.count, in.first.ToRfc3339())});
  }));
  return out;
}

Status AppointmentService::MaySee(storage::Transaction& tx, const authz::Principal& who, int64_t office) {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT agency_id FROM offices WHERE id = ?", {office}));
  if (rows.empty()) return Status::NotFound(fmt::format("no office has id {}", office));
  if (who.kind == authz::PrincipalKind::kCitizen || rows.at(0).Int(0) != who.agency.value) {
    return Status::PermissionDenied("only the staff of the office's agency see its appointments");
  }
  if (!authz::HasClientRole(who) && !who.HasRole(authz::Role::kAdmin)) {
    return Status::PermissionDenied("only staff who work with clients see the office's appointments");
  }
  return Status::Ok();
}

StatusOr<std::vector<Slot>> AppointmentService::OfficeSlots(const authz::Principal& who, int64_t office,
                                                            core::Timestamp from, core::Timestamp to) {
  std::vector<Slot> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(MaySee(tx, who, office));
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query(std::string(kSlotColumns) + "WHERE s.office_id = ? AND s.starts_at >= ? AND s.starts_at < ? "
                                                          "ORDER BY s.starts_at, q.code LIMIT 1000",
                              {office, from.micros, to.micros}));
    out = Slots(rows);
    // Slots the hours, changed since they were opened, no longer cover stay listed for staff
    // (some may be booked) and are marked.
    ASSIGN_OR_RETURN(OfficeHours hours, queues_.hours().Get(tx, office));
    for (auto& s : out) {
      ASSIGN_OR_RETURN(bool covered, hours.Covers(s.starts_at, s.ends_at));
      s.outside_hours = !covered;
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Appointment>> AppointmentService::OfficeAppointments(const authz::Principal& who, int64_t office,
                                                                          core::Timestamp from, core::Timestamp to) {
  std::vector<Appointment> out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    out.clear();
    RETURN_IF_ERROR(MaySee(tx, who, office));
    // A partner system sees who has an appointment, and the references that cancel them, only
    // with the scope of the systems that work the office's queues.
    if (!who.HasScope("queues:write"))
      return Status::PermissionDenied("the token needs the queues:write scope");
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT a.reference FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id "
                              "WHERE a.office_id = ? AND s.starts_at >= ? AND s.starts_at < ? "
                              "ORDER BY s.starts_at, a.id LIMIT 1000",
                              {office, from.micros, to.micros}));
    std::set<int64_t> people;
    for (const auto& r : rows) {
      ASSIGN_OR_RETURN(Appointment a, Load(tx, r.Text(0)));
      if (a.person) people.insert(a.person->value);
      out.push_back(std::move(a));
    }
    // That someone has an appointment, where and when, is theirs to know was seen.
    for (int64_t person : people) {
      RETURN_IF_ERROR(audit_.Append(tx, who,
                                    {"appointment.list", "office", std::to_string(office),
                                     core::PersonId{person}, true, "the office's appointments"}));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Appointment>> AppointmentService::BookedOutsideHours(
    const authz::Principal& who, int64_t office) {
  std::vector<Appointment> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    out.clear();
    RETURN_IF_ERROR(MaySee(tx, who, office));
    ASSIGN_OR_RETURN(OfficeHours hours, queues_.hours().Get(tx, office));
    ASSIGN_OR_RETURN(
        storage::Rows rows,
        tx.Query(
            "SELECT a.reference FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id "
            "WHERE a.office_id = ? AND a.state = 'booked' AND s.starts_at > ? "
            "ORDER BY s.starts_at, a.id LIMIT 1000",
            {office, clock_.Now().micros}));
    for (const auto& r : rows) {
      ASSIGN_OR_RETURN(Appointment a, Load(tx, r.Text(0)));
      ASSIGN_OR_RETURN(bool covered, hours.Covers(a.slot.starts_at, a.slot.ends_at));
      if (!covered) out.push_back(std::move(a));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<Slot> AppointmentService::GetSlot(int64_t slot) {
  Slot out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(std::string(kSlotColumns) + "WHERE s.id = ?", {slot}));
    if (rows.empty()) return Status::NotFound(fmt::format("no slot has id {}", slot));
    out = Slots(rows).at(0);
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Slot>> AppointmentService::FreeSlots(int64_t queue, core::Timestamp from, core::Timestamp to) {
  std::vector<Slot> out;
  const core::Timestamp start = std::max(from, clock_.Now());
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows q, tx.Query("SELECT id FROM queues WHERE id = ?", {queue}));
    if (q.empty()) return Status::NotFound(fmt::format("no queue has id {}", queue));
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query(std::string(kSlotColumns) + "WHERE s.queue_id = ? AND s.starts_at >= ? AND s.starts_at < ? "
                                                          "AND s.booked < s.capacity ORDER BY s.starts_at LIMIT 200",
                              {queue, start.micros, to.micros}));
    ASSIGN_OR_RETURN(out, WhileOpen(tx, Slots(rows)));
    return Status::Ok();
  }));
  return out;
}

// The slots that still lie within their office's opening hours: hours changed after slots were
// opened (a day closed, a time zone set) leave those slots unbookable, not offered.
StatusOr<std::vector<Slot>> AppointmentService::WhileOpen(storage::Transaction& tx,
                                                          std::vector<Slot> slots) {
  std::map<int64_t, OfficeHours> hours;
  std::vector<Slot> open;
  for (Slot& s : slots) {
    auto it = hours.find(s.office);
    if (it == hours.end()) {
      ASSIGN_OR_RETURN(OfficeHours h, queues_.hours().Get(tx, s.office));
      it = hours.emplace(s.office, std::move(h)).first;
    }
    ASSIGN_OR_RETURN(bool covered, it->second.Covers(s.starts_at, s.ends_at));
    if (covered) open.push_back(std::move(s));
  }
  return open;
}

StatusOr<Appointment> AppointmentService::Book(const authz::Principal& who, int64_t slot,
                                               std::optional<core::PersonId> person, const std::string& contact,
                                               const std::string& replacing) {
  // Who may book is decided before the request is judged, so that a refused caller learns
  // nothing from the answer.
  if (person) {
    const authz::Decision d = gate_.DecidePerson(who, authz::Operation::kRead, *person);
    if (!d.allowed) {
      RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
        return audit_.Append(tx, who, {"appointment.book", "person", std::to_string(person->value), person, false, d.reason});
      }));
      return Status::PermissionDenied(d.reason);
    }
  }
  Appointment out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows found, tx.Query(std::string(kSlotColumns) + "WHERE s.id = ?", {slot}));
    if (found.empty()) return Status::NotFound(fmt::format("no slot has id {}", slot));
    const Slot s = Slots(found).at(0);
    // Staff and agency systems book for their own agency's offices only; a citizen books for themselves.
    if (who.kind != authz::PrincipalKind::kCitizen) RETURN_IF_ERROR(queues_.MayWork(tx, who, s.office, false));
    if (who.kind == authz::PrincipalKind::kCitizen && person && (!who.person || *who.person != *person)) {
      return Status::PermissionDenied("a person books for themselves");
    }
    if (!LooksLikeContact(contact)) {
      return Status::InvalidArgument("give a phone number or an e-mail address for the reminder",
                                     {{"contact", "give a phone number or an e-mail address for the reminder"}});
    }
    if (person) {
      ASSIGN_OR_RETURN(storage::Rows p, tx.Query("SELECT id FROM persons WHERE id = ?", {person->value}));
      if (p.empty()) return Status::NotFound(fmt::format("no person has id {}", person->value));
    }
    const int64_t now = clock_.Now().micros;
    if (s.starts_at.micros <= now)
      return Status::FailedPrecondition("the slot has begun; choose a later one");
    ASSIGN_OR_RETURN(OfficeHours hours, queues_.hours().Get(tx, s.office));
    ASSIGN_OR_RETURN(bool open, hours.Covers(s.starts_at, s.ends_at));
    if (!open)
      return Status::FailedPrecondition(
          "the office is no longer open at that time; choose another");
    // The same time booked again for the same person or contact (a form sent twice, a page
    // reloaded) is the booking they have.
    ASSIGN_OR_RETURN(
        storage::Rows same,
        tx.Query(
            "SELECT reference FROM appointments WHERE slot_id = ? AND state = 'booked' AND "
            "reference <> ? AND (person_id = ? OR (? = 0 AND person_id IS NULL AND contact = ?))",
            {slot, replacing, person ? person->value : int64_t{-1}, int64_t{person ? 1 : 0},
             contact}));
    if (!same.empty()) {
      // Its reference is not said: whoever typed someone else's contact would learn what cancels
      // it.
      return Status::AlreadyExists(
          "this time is booked already for this person or contact: the reference was given "
          "with the booking");
    }
    // Someone booking for themselves (online, without staff) holds at most three coming
    // appointments at an office for one contact, so that no one takes a day's places.
    if (who.kind == authz::PrincipalKind::kCitizen) {
      ASSIGN_OR_RETURN(storage::Rows held,
                       tx.Query("SELECT COUNT(*) FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id "
                                "WHERE a.office_id = ? AND a.contact = ? AND a.state = 'booked' AND s.starts_at > ? "
                                "AND a.reference <> ?",
                                {s.office, contact, now, replacing}));
      if (held.at(0).Int(0) >= kMaxOwnBookings) {
        return Status::FailedPrecondition(fmt::format(
            "that contact has {} appointments booked at the office already; cancel one to book another", kMaxOwnBookings));
      }
    }
    // The place is taken only if there is one: two bookings of the last place cannot both succeed.
    ASSIGN_OR_RETURN(int64_t taken, tx.Execute("UPDATE appointment_slots SET booked = booked + 1 "
                                               "WHERE id = ? AND booked < capacity",
                                               {slot}));
    if (taken != 1) return Status::FailedPrecondition("the slot is full; choose another");
    std::string reference;
    for (int attempt = 0; attempt < 5 && reference.empty(); ++attempt) {
      reference = NewReference();
      ASSIGN_OR_RETURN(storage::Rows dup, tx.Query("SELECT id FROM appointments WHERE reference = ?", {reference}));
      if (!dup.empty()) reference.clear();
    }
    if (reference.empty()) return Status::Unavailable("no free reference; try again");
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("INSERT INTO appointments (slot_id, office_id, person_id, reference, contact, state, "
                              "booked_by, booked_at) VALUES (?, ?, ?, ?, ?, 'booked', ?, ?) RETURNING id",
                              {slot, s.office, person ? storage::Value(person->value) : storage::Value(storage::Null{}),
                               reference, contact, who.name.empty() ? std::string("online") : who.name, now}));
    const int64_t id = rows.at(0).Int(0);
    // The reminder, a day before (at once when the slot is sooner), waits in the message queue.
    const int64_t remind = std::max(now, s.starts_at.micros - kDayMicros);
    RETURN_IF_ERROR(tx.Execute("INSERT INTO outgoing_messages (appointment_id, channel, address, body, send_after, "
                               "state, created_at) VALUES (?, ?, ?, ?, ?, 'queued', ?)",
                               {id, contact.find('@') != std::string::npos ? "email" : "sms", contact,
                                fmt::format("Reminder: your appointment for {} at {} is on {}. Reference {}; to cancel, "
                                            "use the reference.",
                                            s.queue_name, hours.name, hours.DateTime(s.starts_at), reference),
                                remind, now})
                        .status());
    RETURN_IF_ERROR(audit_.Append(tx, who, {"appointment.book", "appointment", std::to_string(id), person, true,
                                            fmt::format("{} at {}", s.queue_name, s.starts_at.ToRfc3339())}));
    RETURN_IF_ERROR(outbox_.Append(tx, "appointment.booked", "appointment", std::to_string(id),
                                   fmt::format(R"({{"appointment_id":{},"office_id":{},"slot_id":{}}})", id, s.office, slot)));
    ASSIGN_OR_RETURN(out, Load(tx, reference));
    return Status::Ok();
  }));
  return out;
}

StatusOr<Appointment> AppointmentService::Find(const std::string& reference) {
  Appointment out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, Load(tx, Normalise(reference)));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Appointment>> AppointmentService::ForPerson(const authz::Principal& who, core::PersonId person) {
  if (who.kind != authz::PrincipalKind::kCitizen || !who.person || *who.person != person) {
    return Status::PermissionDenied("a person sees their own appointments");
  }
  std::vector<Appointment> out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT a.reference FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id WHERE "
                              "a.person_id = ? ORDER BY (s.starts_at < ?), CASE WHEN s.starts_at >= ? THEN s.starts_at "
                              "ELSE -s.starts_at END LIMIT 100",
                              {person.value, clock_.Now().micros, clock_.Now().micros}));
    for (const auto& r : rows) {
      ASSIGN_OR_RETURN(Appointment a, Load(tx, r.Text(0)));
      out.push_back(std::move(a));
    }
    return audit_.Append(tx, who, {"appointment.list", "person", std::to_string(person.value), person, true,
                                   "the person reads their own appointments"});
  }));
  return out;
}

StatusOr<std::vector<Slot>> AppointmentService::FreeSlotsAt(std::optional<int64_t> office, core::Timestamp from,
                                                            core::Timestamp to, int limit) {
  std::vector<Slot> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query(std::string(kSlotColumns) + "WHERE s.booked < s.capacity AND s.starts_at >= ? AND "
                                                          "s.starts_at < ? AND (? = 0 OR s.office_id = ?) ORDER BY "
                                                          "s.starts_at, s.id LIMIT ?",
                              {from.micros, to.micros, office.value_or(0), office.value_or(0), int64_t{limit}}));
    ASSIGN_OR_RETURN(out, WhileOpen(tx, Slots(rows)));
    return Status::Ok();
  }));
  return out;
}

StatusOr<Appointment> AppointmentService::Cancel(const std::string& reference,
                                                 const authz::Principal* who) {
  Appointment out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Appointment a, Load(tx, Normalise(reference)));
    if (a.state != "booked") return Status::FailedPrecondition(fmt::format("the appointment is {} already", a.state == "cancelled" ? "cancelled" : "checked in"));
    const int64_t now = clock_.Now().micros;
    RETURN_IF_ERROR(tx.Execute("UPDATE appointments SET state = 'cancelled', cancelled_at = ? WHERE id = ?", {now, a.id}).status());
    RETURN_IF_ERROR(tx.Execute("UPDATE appointment_slots SET booked = booked - 1 WHERE id = ?", {a.slot.id}).status());
    RETURN_IF_ERROR(tx.Execute("UPDATE outgoing_messages SET state = 'cancelled' WHERE appointment_id = ? AND state = 'queued'",
                               {a.id})
                        .status());
    authz::Principal by;
    by.kind = authz::PrincipalKind::kCitizen;
    by.name = std::string(kByReference);
    RETURN_IF_ERROR(audit_.Append(
        tx, who != nullptr ? *who : by,
        {"appointment.cancel", "appointment", std::to_string(a.id), a.person, true, ""}));
    RETURN_IF_ERROR(outbox_.Append(tx, "appointment.cancelled", "appointment", std::to_string(a.id),
                                   fmt::format(R"({{"appointment_id":{},"slot_id":{}}})", a.id, a.slot.id)));
    ASSIGN_OR_RETURN(out, Load(tx, a.reference));
    return Status::Ok();
  }));
  return out;
}

StatusOr<Appointment> AppointmentService::CheckIn(const std::string& reference, const authz::Principal* who,
                                                  std::optional<int64_t> office) {
  Appointment out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Appointment a, Load(tx, Normalise(reference)));
    // At a desk or a kiosk, only the appointments of its office. Another agency's office is
    // named, so that the desk can send the visitor on, and nothing is done.
    if (who != nullptr) {
      ASSIGN_OR_RETURN(storage::Rows o, tx.Query("SELECT name, agency_id FROM offices WHERE id = ?",
                                                 {a.slot.office}));
      if (!o.empty() && o[0].Int(1) != who->agency.value && authz::HasClientRole(*who)) {
        return Status::FailedPrecondition(fmt::format(
            "the appointment is at {}, another agency's office: the visitor checks in there",
            o[0].Text(0)));
      }
      RETURN_IF_ERROR(queues_.MayWork(tx, *who, a.slot.office, false));
    }
    if (office && *office != a.slot.office) return Status::NotFound("there is no appointment with that reference here");
    if (a.state != "booked") return Status::FailedPrecondition(fmt::format("the appointment is {}", a.state == "cancelled" ? "cancelled" : "checked in already"));
    const int64_t now = clock_.Now().micros;
    // From an hour before until the slot ends.
    ASSIGN_OR_RETURN(OfficeHours hours, queues_.hours().Get(tx, a.slot.office));
    if (now > a.slot.ends_at.micros) {
      return Status::FailedPrecondition(fmt::format("the appointment was on {} and is over: take a ticket",
                                                    hours.DateTime(a.slot.starts_at)));
    }
    if (now < a.slot.starts_at.micros - 60 * kMinuteMicros) {
      return Status::FailedPrecondition(fmt::format("the appointment is on {}: check in from an hour before",
                                                    hours.DateTime(a.slot.starts_at)));
    }
    ASSIGN_OR_RETURN(Ticket t, queues_.Issue(tx, who ? who->name : "appointment", a.slot.queue,
                                             Priority::kAppointment, a.person));
    if (a.person) {
      authz::Principal kiosk;
      kiosk.kind = authz::PrincipalKind::kCitizen;
      kiosk.name = std::string(kByReference);
      RETURN_IF_ERROR(audit_.Append(tx, who ? *who : kiosk, {"appointment.check_in", "appointment", std::to_string(a.id),
                                                             a.person, true, t.label}));
    }
    RETURN_IF_ERROR(tx.Execute("UPDATE appointments SET state = 'checked_in', ticket_id = ? WHERE id = ?", {t.id, a.id}).status());
    RETURN_IF_ERROR(tx.Execute("UPDATE outgoing_messages SET state = 'cancelled' WHERE appointment_id = ? AND state = 'queued'",
                               {a.id})
                        .status());
    ASSIGN_OR_RETURN(out, Load(tx, a.reference));
    return Status::Ok();
  }));
  return out;
}

}  // namespace frontoffice
