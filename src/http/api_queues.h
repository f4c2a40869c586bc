#pragma once

#include <nlohmann/json_fwd.hpp>

#include "frontoffice/appointment_service.h"
#include "frontoffice/queue_service.h"
#include "http/router.h"

namespace http {

class AddressThrottle;

// The access centres' queues: /api/v1/offices/{id}/queues (public list with waits; create),
// /api/v1/offices/{id}/counters, /api/v1/counters/{id}/sign-in|sign-out|call-next,
// /api/v1/queues/{id}/tickets (check in), /api/v1/tickets/{id} (public) and its actions, and
// /api/v1/offices/{id}/queue-events (public, for display boards), and the office's opening
// hours, /api/v1/offices/{id}/hours (public; replaced with PUT by its managers).
void AddQueueRoutes(Router& router, frontoffice::QueueService& queues);

nlohmann::json TicketJson(const frontoffice::Ticket& t, bool with_person);
nlohmann::json OfficeHoursJson(const frontoffice::OfficeHours& h, core::Timestamp now);
// The body of PUT /api/v1/offices/{id}/hours; errors name each field ("hours/2/opens").
core::StatusOr<frontoffice::HoursChange> ParseHoursChange(const nlohmann::json& body);

// Appointments: /api/v1/queues/{id}/slots (create; public list of free ones),
// /api/v1/appointments (book), and by reference /api/v1/appointments/{reference} (public),
// /cancel and /check-in (public: the reference is the proof, so finding and cancelling count
// the references that find nothing by client address in `guesses`, refused with 429 past its
// limit).
void AddAppointmentRoutes(Router& router, frontoffice::AppointmentService& appointments, AddressThrottle& guesses);

}  // namespace http
