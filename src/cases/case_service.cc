#include "cases/case_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "cases/consent_check.h"
#include "cases/work_queue.h"
#include "core/utf8.h"

namespace cases {

using core::Status;
using core::StatusOr;

namespace {

constexpr int64_t kDay = 86400LL * 1'000'000;

constexpr std::string_view kSelect =
    "SELECT c.id, c.person_id, p.display_name, c.household_id, c.title, c.criteria, c.coordinator_user_id, "
    "c.coordinator, c.coordinating_agency_id, ca.name, c.lead_agency_id, la.name, c.state, c.review_every_days, "
    "c.next_review_at, c.outcome, c.close_reason, c.opened_at, c.closed_at, c.version FROM cases c "
    "JOIN persons p ON p.id = c.person_id JOIN agencies ca ON ca.id = c.coordinating_agency_id "
    "LEFT JOIN agencies la ON la.id = c.lead_agency_id ";

std::string When(core::Timestamp t) {
  std::string s = t.ToRfc3339().substr(0, 16);
  s[10] = ' ';
  return s + " UTC";
}

// Why `who` (staff or an API token) may not work with cases with `scope`, or "".
std::string Refusal(const authz::Principal& who, std::string_view scope) {
  if (who.kind == authz::PrincipalKind::kSystem && (who.scopes.empty() || !who.HasScope(scope))) {
    return fmt::format("the API token lacks the scope {}", scope);
  }
  if (!authz::HasCaseworkRole(who)) {
    return fmt::format("no role of {} works with cases: caseworkers, specialists, coordinators and managers do",
                       who.RoleList().empty() ? "(none)" : who.RoleList());
  }
  if (!authz::IsClientPurpose(who.purpose)) {
    return fmt::format("the purpose {} does not allow working with cases", authz::PurposeName(who.purpose));
  }
  return "";
}

bool Participates(const Case& c, core::AgencyId agency) {
  return std::any_of(c.participants.begin(), c.participants.end(),
                     [&](const CaseParticipant& p) { return p.agency == agency; });
}

// Who may know of the case at all: the person, and the casework roles of the participants.
bool Knows(const authz::Principal& who, const Case& c) {
  if (who.kind == authz::PrincipalKind::kCitizen) return who.person && *who.person == c.person;
  return authz::HasCaseworkRole(who) && Participates(c, who.agency);
}

bool Coordinates(const authz::Principal& who, const Case& c) {
  return who.agency == c.coordinating_agency && who.HasAnyRole({authz::Role::kCoordinator, authz::Role::kManager});
}

void CheckText(std::vector<core::FieldError>& errors, const std::string& field, const std::string& text, size_t max,
               const std::string& what) {
  if (text.empty() || core::Utf8Length(text) > max)
    errors.push_back({field, fmt::format("{}, 1 to {} characters", what, max)});
}

Status Invalid(std::vector<core::FieldError> errors) {
  return Status::InvalidArgument("the case change has invalid fields", std::move(errors));
}

// Ids and fixed words only: nothing needs escaping.
std::string EventPayload(const Case& c) {
  return fmt::format(
      R"({{"case_id":{},"person_id":{},"coordinating_agency_id":{},"lead_agency_id":{},"state":"{}","version":{}}})",
      c.id, c.person.value, c.coordinating_agency.value, c.lead_agency ? std::to_string(c.lead_agency->value) : "null",
      c.state, c.version);
}

}  // namespace

struct CaseService::Change {
  std::string kind;  // the timeline's and the event's name: "participant_added"
  std::string text;  // the timeline's line
  std::optional<std::string> refusal;
};

CaseService::CaseService(storage::Database& db, const authz::DataCategories& categories,
                         const authz::AccessGate& gate, audit::AuditLog& audit, exchange::Outbox& outbox,
                         const core::Clock& clock)
    : db_(db), categories_(categories), gate_(gate), audit_(audit), outbox_(outbox), clock_(clock) {}

StatusOr<std::vector<Case>> CaseService::Load(storage::Transaction& tx, const std::string& where,
                                              const storage::Params& params, bool details) {
  std::vector<Case> out;
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(std::string(kSelect) + where, params));
  for (const auto& row : rows) {
    Case c;
    c.id = row.Int(0);
    c.person = core::PersonId{row.Int(1)};
    c.person_name = row.Text(2);
    if (auto h = row.OptInt(3)) c.household = core::HouseholdId{*h};
    c.title = row.Text(4);
    c.criteria = row.Text(5);
    c.coordinator_user = row.Int(6);
    c.coordinator = row.Text(7);
    c.coordinating_agency = core::AgencyId{row.Int(8)};
    c.coordinating_agency_name = row.Text(9);
    if (auto lead = row.OptInt(10)) {
      c.lead_agency = core::AgencyId{*lead};
      c.lead_agency_name = row.Text(11);
    }
    c.state = row.Text(12);
    c.review_every_days = static_cast<int>(row.Int(13));
    c.next_review_at = core::Timestamp{row.Int(14)};
    c.outcome = row.Text(15);
    c.close_reason = row.Text(16);
    c.opened_at = core::Timestamp{row.Int(17)};
    if (auto closed = row.OptInt(18)) c.closed_at = core::Timestamp{*closed};
    c.version = row.Int(19);
    out.push_back(std::move(c));
  }
  if (!details) return out;
  for (auto& c : out) {
    ASSIGN_OR_RETURN(storage::Rows parts,
                     tx.Query("SELECT p.agency_id, a.name, p.consent_id, p.joined_at, p.joined_by FROM "
                              "case_participants p JOIN agencies a ON a.id = p.agency_id WHERE p.case_id = ? "
                              "ORDER BY p.joined_at, p.agency_id",
                              {c.id}));
    for (const auto& r : parts) {
      c.participants.push_back({core::AgencyId{r.Int(0)}, r.Text(1), r.OptInt(2).value_or(0),
                                core::Timestamp{r.Int(3)}, r.Text(4)});
    }
    ASSIGN_OR_RETURN(storage::Rows confs,
                     tx.Query("SELECT id, scheduled_at, place, attendees, state, minutes, decisions, recorded_at, "
                              "recorded_by FROM case_conferences WHERE case_id = ? ORDER BY scheduled_at, id",
                              {c.id}));
    for (const auto& r : confs) {
      Conference f{r.Int(0), core::Timestamp{r.Int(1)}, r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Text(6),
                   std::nullopt, r.Text(8)};
      if (auto at = r.OptInt(7)) f.recorded_at = core::Timestamp{*at};
      c.conferences.push_back(std::move(f));
    }
    ASSIGN_OR_RETURN(storage::Rows items,
                     tx.Query("SELECT i.id, i.kind, i.goal_id, i.text, i.agency_id, a.name, i.assignee, i.due_date, "
                              "i.state, i.note, i.updated_at FROM case_items i LEFT JOIN agencies a ON a.id = "
                              "i.agency_id WHERE i.case_id = ? ORDER BY i.id",
                              {c.id}));
    for (const auto& r : items) {
      PlanItem it;
      it.id = r.Int(0);
      it.kind = r.Text(1);
      it.goal_id = r.OptInt(2).value_or(0);
      it.text = r.Text(3);
      if (auto a = r.OptInt(4)) {
        it.agency = core::AgencyId{*a};
        it.agency_name = r.Text(5);
      }
      it.assignee = r.Text(6);
      if (auto due = r.OptText(7)) {
        auto d = core::Date::Parse(*due);
        if (!d.ok()) return Status::Internal(fmt::format("case item {} has an unreadable due date", it.id));
        it.due = *d;
      }
      it.state = r.Text(8);
      it.note = r.Text(9);
      it.updated_at = core::Timestamp{r.Int(10)};
      c.plan.push_back(std::move(it));
    }
    ASSIGN_OR_RETURN(storage::Rows events, tx.Query("SELECT at, actor, agency_id, kind, text FROM case_events WHERE "
                                                    "case_id = ? ORDER BY id",
                                                    {c.id}));
    for (const auto& r : events) {
      c.timeline.push_back({core::Timestamp{r.Int(0)}, r.Text(1), core::AgencyId{r.Int(2)}, r.Text(3), r.Text(4)});
    }
  }
  return out;
}

Status CaseService::DenyAudited(const authz::Principal& who, const std::string& action, const std::string& id,
                                std::optional<core::PersonId> person, const std::string& message) {
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(tx, who, {action, "case", id, person, false, message});
  }));
  return Status::PermissionDenied(message);
}

StatusOr<Case> CaseService::Open(const authz::Principal& who, const NewCase& n) {
  if (who.kind == authz::PrincipalKind::kCitizen) {
    return DenyAudited(who, "case.open", "", n.person, "a coordinator opens a case with the person");
  }
  std::string why = Refusal(who, "cases:write");
  if (why.empty() && !who.HasAnyRole({authz::Role::kCoordinator, authz::Role::kManager})) {
    why = "opening a case is for coordinators and managers";
  }
  if (!why.empty()) return DenyAudited(who, "case.open", "", n.person, why);
  bool exists = false;
  bool member = true;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id FROM persons WHERE id = ?", {n.person.value}));
    exists = !rows.empty();
    if (n.household) {
      ASSIGN_OR_RETURN(storage::Rows m, tx.Query("SELECT 1 FROM household_members WHERE household_id = ? AND "
                                                 "person_id = ? AND end_date IS NULL",
                                                 {n.household->value, n.person.value}));
      member = !m.empty();
    }
    return Status::Ok();
  }));
  if (!exists) return Status::NotFound(fmt::format("no person has id {}", n.person.value));
  authz::Decision d = gate_.DecidePerson(who, authz::Operation::kRead, n.person);
  d.Require(authz::Field::kNames, categories_);
  if (!d.allowed) return DenyAudited(who, "case.open", "", n.person, d.reason);
  std::vector<core::FieldError> errors;
  CheckText(errors, "title", n.title, 200, "give the case a short title");
  CheckText(errors, "criteria", n.criteria, 2000, "say which referral criteria the person meets");
  if (n.review_every_days < 7 || n.review_every_days > 365) {
    errors.push_back({"review_every_days", "review every 7 to 365 days"});
  }
  if (!member) errors.push_back({"household_id", "the person is not a member of this household"});
  if (!errors.empty()) return Invalid(std::move(errors));

  const core::Timestamp now = clock_.Now();
  Case out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    // The same case twice (a form sent twice, two coordinators at once) is one case: the second
    // is told where the first is.
    ASSIGN_OR_RETURN(
        storage::Rows same,
        tx.Query(
            "SELECT id FROM cases WHERE person_id = ? AND coordinating_agency_id = ? AND state = "
            "'open' AND lower(title) = lower(?) ORDER BY id LIMIT 1",
            {n.person.value, who.agency.value, n.title}));
    if (!same.empty()) {
      return Invalid(
          {{"title",
            fmt::format("case {} of this client has this title and is open: continue it there, "
                        "or give this case a title of its own",
                        same.at(0).Int(0))}});
    }
    ASSIGN_OR_RETURN(
        storage::Rows rows,
        tx.Query("INSERT INTO cases (person_id, household_id, title, criteria, coordinator_user_id, coordinator, "
                 "coordinating_agency_id, state, review_every_days, next_review_at, outcome, close_reason, opened_at, "
                 "version) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, '', '', ?, 1) RETURNING id",
                 {n.person.value,
                  n.household ? storage::Value(n.household->value) : storage::Value(storage::Null{}), n.title,
                  n.criteria, who.user.value, who.name, who.agency.value, int64_t{n.review_every_days},
                  now.micros + n.review_every_days * kDay, now.micros}));
    const int64_t id = rows.at(0).Int(0);
    RETURN_IF_ERROR(tx.Execute("INSERT INTO case_participants (case_id, agency_id, consent_id, joined_at, joined_by) "
                               "VALUES (?, ?, NULL, ?, ?)",
                               {id, who.agency.value, now.micros, who.name})
                        .status());
    RETURN_IF_ERROR(tx.Execute("INSERT INTO case_events (case_id, at, user_id, actor, agency_id, kind, text) VALUES "
                               "(?, ?, ?, ?, ?, 'opened', ?)",
                               {id, now.micros, who.user.value, who.name, who.agency.value,
                                fmt::format("Case opened: {}", n.title)})
                        .status());
    RETURN_IF_ERROR(audit_.Append(tx, who, {"case.open", "case", std::to_string(id), n.person, true, d.reason}));
    ASSIGN_OR_RETURN(std::vector<Case> found, Load(tx, "WHERE c.id = ?", {id}, true));
    out = std::move(found.at(0));
    return outbox_.Append(tx, "case.opened", "case", std::to_string(id), EventPayload(out));
  }));
  return out;
}

StatusOr<Case> CaseService::Mutate(const authz::Principal& who, int64_t id, int64_t version, const std::string& action,
                                   bool coordinator_only,
                                   const std::function<Status(storage::Transaction&, Case&, Change&)>& apply) {
  std::optional<std::string> refusal;
  std::optional<core::PersonId> person;
  Case out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    std::string where = "WHERE c.id = ?";
    if (tx.dialect() == storage::Dialect::kPostgres) where += " FOR UPDATE OF c";
    ASSIGN_OR_RETURN(std::vector<Case> found, Load(tx, where, {id}, true));
    if (found.empty() || !Knows(who, found[0])) return Status::NotFound(fmt::format("no case has id {}", id));
    Case c = std::move(found[0]);
    person = c.person;
    if (who.kind == authz::PrincipalKind::kCitizen) {
      refusal = "the person follows their case; the agencies work on it";
      return Status::Ok();
    }
    if (std::string why = Refusal(who, "cases:write"); !why.empty()) {
      refusal = why;
      return Status::Ok();
    }
    if (coordinator_only && !Coordinates(who, c)) {
      refusal = fmt::format("only the coordinators and managers of {}, which coordinates the case, may do this",
                            c.coordinating_agency_name);
      return Status::Ok();
    }
    if (c.version != version) {
      return Status::Aborted(fmt::format("the case changed since you loaded it (you had version {}, it is now version "
                                         "{}); reload it and try again",
                                         version, c.version));
    }
    if (c.state == "closed") {
      return Status::FailedPrecondition("the case is closed; nothing more can be changed");
    }
    Change change;
    RETURN_IF_ERROR(apply(tx, c, change));
    if (change.refusal) {
      refusal = change.refusal;
      return Status::Ok();
    }
    const core::Timestamp now = clock_.Now();
    ASSIGN_OR_RETURN(int64_t changed, tx.Execute("UPDATE cases SET version = version + 1 WHERE id = ? AND version = ?",
                                                 {id, c.version}));
    if (changed != 1) return Status::Aborted("the case changed during the update; try again");
    RETURN_IF_ERROR(tx.Execute("INSERT INTO case_events (case_id, at, user_id, actor, agency_id, kind, text) VALUES "
                               "(?, ?, ?, ?, ?, ?, ?)",
                               {id, now.micros, who.user.value, who.name, who.agency.value, change.kind, change.text})
                        .status());
    RETURN_IF_ERROR(audit_.Append(tx, who, {"case." + action, "case", std::to_string(id), c.person, true,
                                            fmt::format("case {}: {}", id, change.kind)}));
    ASSIGN_OR_RETURN(std::vector<Case> updated, Load(tx, "WHERE c.id = ?", {id}, true));
    out = std::move(updated.at(0));
    return outbox_.Append(tx, "case." + change.kind, "case", std::to_string(id), EventPayload(out));
  }));
  if (refusal) return DenyAudited(who, "case." + action, std::to_string(id), person, *refusal);
  return out;
}

StatusOr<Case> CaseService::AddParticipant(const authz::Principal& who, int64_t id, int64_t version,
                                           core::AgencyId agency, int64_t consent_id) {
  return Mutate(who, id, version, "add_participant", true, [&](storage::Transaction& tx, Case& c, Change& ch) {
    std::vector<core::FieldError> errors;
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT name, kind FROM agencies WHERE id = ?", {agency.value}));
    if (rows.empty()) {
      errors.push_back({"agency_id", "no agency has this id"});
    } else if (Participates(c, agency)) {
      errors.push_back({"agency_id", fmt::format("{} already takes part in the case", rows[0].Text(0))});
    } else {
      RETURN_IF_ERROR(CheckConsent(tx, categories_, clock_.Now().UtcDate(), c.person, consent_id,
                                   {agency, rows[0].Text(1), rows[0].Text(0)}, "consent_id", errors));
    }
    if (!errors.empty()) return Invalid(std::move(errors));
    RETURN_IF_ERROR(tx.Execute("INSERT INTO case_participants (case_id, agency_id, consent_id, joined_at, joined_by) "
                               "VALUES (?, ?, ?, ?, ?)",
                               {c.id, agency.value, consent_id, clock_.Now().micros, who.name})
                        .status());
    ch.kind = "participant_added";
    ch.text = fmt::format("{} joined the case, on consent {}", rows[0].Text(0), consent_id);
    return Status::Ok();
  });
}

namespace {

// `agency` leaves case `c` within the caller's transaction: the row goes, a lead agency leaves the
// case without a lead. Returns the text of the change.
// The case's open work for `agency` (its actions in the work queue; all agencies' when `agency` is
// unset) is settled: an agency out of the case, or a closed case, leaves nothing in a queue that
// would link to a case its staff can no longer open, or count as overdue for ever.
Status SettleCaseWork(storage::Transaction& tx, int64_t case_id,
                      std::optional<core::AgencyId> agency, core::Timestamp now,
                      const std::string& by) {
  ASSIGN_OR_RETURN(storage::Rows actions,
                   tx.Query("SELECT id FROM case_items WHERE case_id = ? AND kind = 'action' AND "
                            "(? = 0 OR agency_id = ?)",
                            {case_id, agency ? agency->value : int64_t{0},
                             agency ? agency->value : int64_t{0}}));
  for (const auto& a : actions) {
    RETURN_IF_ERROR(WorkQueueService::Settle(tx, "case_action", a.Int(0), now, by));
  }
  return Status::Ok();
}

StatusOr<std::string> Leave(storage::Transaction& tx, const Case& c, const CaseParticipant& p,
                            const std::string& why, core::Timestamp now, const std::string& by) {
  RETURN_IF_ERROR(tx.Execute("DELETE FROM case_participants WHERE case_id = ? AND agency_id = ?", {c.id, p.agency.value})
                      .status());
  RETURN_IF_ERROR(SettleCaseWork(tx, c.id, p.agency, now, by));
  std::string text = fmt::format("{} left the case: {}", p.agency_name, why);
  if (c.lead_agency && *c.lead_agency == p.agency) {
    RETURN_IF_ERROR(tx.Execute("UPDATE cases SET lead_agency_id = NULL WHERE id = ?", {c.id}).status());
    text += ". The case has no lead agency now: appoint another";
  }
  return text;
}

}  // namespace

StatusOr<Case> CaseService::RemoveParticipant(const authz::Principal& who, int64_t id, int64_t version,
                                              core::AgencyId agency, const std::string& reason) {
  return Mutate(who, id, version, "remove_participant", true, [&](storage::Transaction& tx, Case& c, Change& ch) {
    std::vector<core::FieldError> errors;
    const auto it = std::find_if(c.participants.begin(), c.participants.end(),
                                 [&](const CaseParticipant& p) { return p.agency == agency; });
    if (it == c.participants.end()) {
      errors.push_back({"agency_id", "the agency does not take part in the case"});
    } else if (agency == c.coordinating_agency) {
      errors.push_back({"agency_id", fmt::format("{} coordinates the case and cannot leave it: close the case instead",
                                                 it->agency_name)});
    }
    CheckText(errors, "reason", reason, 500, "say why the agency leaves the case");
    if (!errors.empty()) return Invalid(std::move(errors));
    ASSIGN_OR_RETURN(ch.text, Leave(tx, c, *it, reason, clock_.Now(), who.name));
    ch.kind = "participant_removed";
    return Status::Ok();
  });
}

Status CaseService::LeaveOnWithdrawnConsent(storage::Transaction& tx, audit::AuditLog& audit, exchange::Outbox& outbox,
                                            const authz::Principal& who, int64_t consent_id, core::Timestamp now) {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT p.case_id, p.agency_id FROM case_participants p JOIN cases c ON "
                                                "c.id = p.case_id WHERE p.consent_id = ? AND c.state <> 'closed' "
                                                "ORDER BY p.case_id",
                                                {consent_id}));
  for (const auto& row : rows) {
    ASSIGN_OR_RETURN(std::vector<Case> found, Load(tx, "WHERE c.id = ?", {row.Int(0)}, true));
    if (found.empty()) continue;
    const Case& c = found.front();
    const auto it = std::find_if(c.participants.begin(), c.participants.end(),
                                 [&](const CaseParticipant& p) { return p.agency.value == row.Int(1); });
    if (it == c.participants.end()) continue;
    ASSIGN_OR_RETURN(
        std::string text,
        Leave(tx, c, *it,
              fmt::format("the person withdrew consent {}, which it joined on", consent_id), now,
              who.name));
    RETURN_IF_ERROR(tx.Execute("UPDATE cases SET version = version + 1 WHERE id = ?", {c.id}).status());
    RETURN_IF_ERROR(tx.Execute("INSERT INTO case_events (case_id, at, user_id, actor, agency_id, kind, text) VALUES "
                               "(?, ?, ?, ?, ?, 'participant_removed', ?)",
                               {c.id, now.micros, who.user.value, who.name, who.agency.value, text})
                        .status());
    RETURN_IF_ERROR(audit.Append(tx, who, {"case.remove_participant", "case", std::to_string(c.id), c.person, true,
                                           fmt::format("case {}: participant_removed on consent {} withdrawn", c.id,
                                                       consent_id)}));
    ASSIGN_OR_RETURN(std::vector<Case> updated, Load(tx, "WHERE c.id = ?", {c.id}, true));
    RETURN_IF_ERROR(outbox.Append(tx, "case.participant_removed", "case", std::to_string(c.id),
                                  EventPayload(updated.at(0))));
  }
  return Status::Ok();
}

StatusOr<Case> CaseService::AppointLead(const authz::Principal& who, int64_t id, int64_t version,
                                        core::AgencyId agency) {
  return Mutate(who, id, version, "appoint_lead", true, [&](storage::Transaction& tx, Case& c, Change& ch) {
    const auto it = std::find_if(c.participants.begin(), c.participants.end(),
                                 [&](const CaseParticipant& p) { return p.agency == agency; });
    if (it == c.participants.end()) {
      return Invalid({{"agency_id", "the lead agency must take part in the case: add it first"}});
    }
    RETURN_IF_ERROR(tx.Execute("UPDATE cases SET lead_agency_id = ? WHERE id = ?", {agency.value, c.id}).status());
    ch.kind = "lead_appointed";
    ch.text = fmt::format("{} is the lead agency", it->agency_name);
    return Status::Ok();
  });
}

StatusOr<Case> CaseService::ScheduleConference(const authz::Principal& who, int64_t id,
                                               int64_t version, const NewConference& n,
                                               std::vector<core::FieldError> read_errors) {
  return Mutate(who, id, version, "schedule_conference", true, [&](storage::Transaction& tx, Case& c, Change& ch) {
    std::vector<core::FieldError> errors;
    if (!n.scheduled_at) {
      errors.push_back({"scheduled_at", "give the date and time, like 2026-03-02T10:00"});
    } else if (n.scheduled_at->UtcDate().ToDays() < c.opened_at.UtcDate().ToDays() - 366) {
      // One held before the case was opened here may be recorded, not one from years before.
      errors.push_back({"scheduled_at",
                        fmt::format("the case opened on {}: a conference of the case is at most a "
                                    "year before it",
                                    c.opened_at.UtcDate().ToString())});
    } else if (n.scheduled_at->micros > clock_.Now().micros + int64_t{2} * 365 * 86'400'000'000) {
      errors.push_back({"scheduled_at", "a conference is scheduled at most two years ahead"});
    }
    CheckText(errors, "place", n.place, 200, "say where it takes place (or how to join)");
    CheckText(errors, "attendees", n.attendees, 2000, "list who attends, the family included");
    errors = core::MergeFieldErrors(read_errors, errors);
    if (!errors.empty()) return Invalid(std::move(errors));
    RETURN_IF_ERROR(tx.Execute("INSERT INTO case_conferences (case_id, scheduled_at, place, attendees, state, minutes, "
                               "decisions, recorded_by) VALUES (?, ?, ?, ?, 'scheduled', '', '', '')",
                               {c.id, n.scheduled_at->micros, n.place, n.attendees})
                        .status());
    ch.kind = "conference_scheduled";
    ch.text = fmt::format("Case conference scheduled for {}, {}", When(*n.scheduled_at), n.place);
    return Status::Ok();
  });
}

StatusOr<Case> CaseService::RecordConference(const authz::Principal& who, int64_t id, int64_t version,
                                             int64_t conference, bool held, const std::string& minutes,
                                             const std::string& decisions) {
  return Mutate(who, id, version, held ? "record_conference" : "cancel_conference", true,
                [&](storage::Transaction& tx, Case& c, Change& ch) {
                  const auto it = std::find_if(c.conferences.begin(), c.conferences.end(),
                                               [&](const Conference& f) { return f.id == conference; });
                  if (it == c.conferences.end()) {
                    return Status::NotFound(fmt::format("case {} has no conference {}", c.id, conference));
                  }
                  if (it->state != "scheduled") {
                    return Status::FailedPrecondition(fmt::format(
                        "the conference is {}; only a scheduled conference is recorded or cancelled", it->state));
                  }
                  if (held && clock_.Now() < it->scheduled_at) {
                    return Status::FailedPrecondition(
                        fmt::format("the conference is on {}: record it as held once it has taken "
                                    "place, or cancel it",
                                    When(it->scheduled_at)));
                  }
                  std::vector<core::FieldError> errors;
                  if (held) {
                    CheckText(errors, "minutes", minutes, 10000, "write the minutes");
                    CheckText(errors, "decisions", decisions, 5000, "write what was decided");
                  } else {
                    CheckText(errors, "minutes", minutes, 2000, "give the reason it was cancelled");
                  }
                  if (!errors.empty()) return Invalid(std::move(errors));
                  RETURN_IF_ERROR(tx.Execute("UPDATE case_conferences SET state = ?, minutes = ?, decisions = ?, "
                                             "recorded_at = ?, recorded_by = ? WHERE id = ?",
                                             {std::string(held ? "held" : "cancelled"), minutes,
                                              held ? decisions : std::string(), clock_.Now().micros, who.name,
                                              conference})
                                      .status());
                  ch.kind = held ? "conference_held" : "conference_cancelled";
                  ch.text = held ? fmt::format("Case conference of {} held. Decided: {}", When(it->scheduled_at),
                                               decisions)
                                 : fmt::format("Case conference of {} cancelled: {}", When(it->scheduled_at), minutes);
                  return Status::Ok();
                });
}

StatusOr<Case> CaseService::AddGoal(const authz::Principal& who, int64_t id, int64_t version, const std::string& text) {
  return Mutate(who, id, version, "add_goal", true, [&](storage::Transaction& tx, Case& c, Change& ch) {
    std::vector<core::FieldError> errors;
    CheckText(errors, "text", text, 500, "say what the family wants to achieve");
    if (!errors.empty()) return Invalid(std::move(errors));
    RETURN_IF_ERROR(tx.Execute("INSERT INTO case_items (case_id, kind, goal_id, text, agency_id, assignee, due_date, "
                               "state, note, updated_at) VALUES (?, 'goal', NULL, ?, NULL, '', NULL, 'open', '', ?)",
                               {c.id, text, clock_.Now().micros})
                        .status());
    ch.kind = "goal_added";
    ch.text = "Goal: " + text;
    return Status::Ok();
  });
}

StatusOr<Case> CaseService::AddAction(const authz::Principal& who, int64_t id, int64_t version, const NewAction& a) {
  return Mutate(who, id, version, "add_action", true, [&](storage::Transaction& tx, Case& c, Change& ch) {
    std::vector<core::FieldError> errors;
    CheckText(errors, "text", a.text, 500, "say what is to be done");
    std::string agency_name;
    if (!a.agency) {
      errors.push_back({"agency_id", "choose the agency that does it"});
    } else {
      for (const auto& p : c.participants) {
        if (p.agency == *a.agency) agency_name = p.agency_name;
      }
      if (agency_name.empty()) errors.push_back({"agency_id", "the agency must take part in the case"});
    }
    if (a.goal_id != 0 && std::none_of(c.plan.begin(), c.plan.end(), [&](const PlanItem& i) {
          return i.id == a.goal_id && i.kind == "goal";
        })) {
      errors.push_back({"goal_id", "no goal of this case has this id"});
    }
    if (core::Utf8Length(a.assignee) > 100)
      errors.push_back({"assignee", "at most 100 characters"});
    if (!errors.empty()) return Invalid(std::move(errors));
    ASSIGN_OR_RETURN(storage::Rows made,
                     tx.Query("INSERT INTO case_items (case_id, kind, goal_id, text, agency_id, assignee, due_date, "
                              "state, note, updated_at) VALUES (?, 'action', ?, ?, ?, ?, ?, 'open', '', ?) RETURNING id",
                              {c.id, a.goal_id != 0 ? storage::Value(a.goal_id) : storage::Value(storage::Null{}),
                               a.text, a.agency->value, a.assignee,
                               a.due ? storage::Value(a.due->ToString()) : storage::Value(storage::Null{}),
                               clock_.Now().micros}));
    if (intake_ != nullptr) {
      WorkIn work{*a.agency, "case_action", made.at(0).Int(0), c.person, fmt::format("Case action: {}", a.text),
                  {{"kind", std::string("case_action")}}, a.due};
      RETURN_IF_ERROR(WorkQueueService::Enqueue(tx, *intake_, outbox_, clock_.Now(), std::move(work)));
    }
    ch.kind = "action_added";
    ch.text = fmt::format("Action for {}{}: {}", agency_name, a.due ? ", due " + a.due->ToString() : "", a.text);
    return Status::Ok();
  });
}

StatusOr<Case> CaseService::SetItemState(const authz::Principal& who, int64_t id, int64_t version, int64_t item,
                                         const std::string& state, const std::string& note) {
  return Mutate(who, id, version, "update_plan", false, [&](storage::Transaction& tx, Case& c, Change& ch) {
    const auto it = std::find_if(c.plan.begin(), c.plan.end(), [&](const PlanItem& i) { return i.id == item; });
    if (it == c.plan.end()) return Status::NotFound(fmt::format("case {} has no goal or action {}", c.id, item));
    const bool goal = it->kind == "goal";
    if (!Coordinates(who, c) && (goal || it->agency != who.agency)) {
      ch.refusal = goal ? "goals are marked by the agency that coordinates the case"
                        : fmt::format("only {}, which the action is for, or the coordinators mark it",
                                      it->agency_name);
      return Status::Ok();
    }
    const std::vector<std::string> allowed =
        goal ? std::vector<std::string>{"achieved", "dropped"} : std::vector<std::string>{"done", "cancelled"};
    if (std::find(allowed.begin(), allowed.end(), state) == allowed.end()) {
      return Invalid({{"state", fmt::format("{} becomes {} or {}", goal ? "a goal" : "an action", allowed[0], allowed[1])}});
    }
    if (it->state != "open") {
      return Status::FailedPrecondition(
          fmt::format("the {} is {}; only an open {} can become {}", it->kind, it->state, it->kind, state));
    }
    const bool ends = state == "dropped" || state == "cancelled";
    if ((ends && note.empty()) || core::Utf8Length(note) > 2000) {
      return Invalid({{"note", ends ? "give the reason, 1 to 2000 characters" : "at most 2000 characters"}});
    }
    RETURN_IF_ERROR(tx.Execute("UPDATE case_items SET state = ?, note = ?, updated_at = ? WHERE id = ?",
                               {state, note, clock_.Now().micros, item})
                        .status());
    if (!goal) RETURN_IF_ERROR(WorkQueueService::Settle(tx, "case_action", item, clock_.Now(), who.name));
    ch.kind = it->kind + "_" + state;
    ch.text = fmt::format("{} {}: {}{}", goal ? "Goal" : "Action", state, it->text, note.empty() ? "" : " (" + note + ")");
    return Status::Ok();
  });
}

StatusOr<Case> CaseService::Review(const authz::Principal& who, int64_t id, int64_t version, const std::string& notes) {
  return Mutate(who, id, version, "review", true, [&](storage::Transaction& tx, Case& c, Change& ch) {
    std::vector<core::FieldError> errors;
    CheckText(errors, "notes", notes, 5000, "write what the review found");
    if (!errors.empty()) return Invalid(std::move(errors));
    const core::Timestamp next{clock_.Now().micros + c.review_every_days * kDay};
    // Kept for the service metrics: was the review done by the date it was due?
    RETURN_IF_ERROR(tx.Execute("INSERT INTO case_reviews (case_id, agency_id, due_at, reviewed_at) VALUES (?, ?, ?, ?)",
                               {c.id, c.coordinating_agency.value, c.next_review_at.micros, clock_.Now().micros})
                        .status());
    RETURN_IF_ERROR(tx.Execute("UPDATE cases SET next_review_at = ? WHERE id = ?", {next.micros, c.id}).status());
    ch.kind = "reviewed";
    // The notes as a sentence of their own, ended if they were not: "Going well. Next review by …".
    const bool ended =
        !notes.empty() && std::string_view(".!?").find(notes.back()) != std::string_view::npos;
    ch.text = notes.empty() ? fmt::format("Reviewed. Next review by {}.", When(next).substr(0, 10))
                            : fmt::format("Reviewed: {}{} Next review by {}.", notes,
                                          ended ? "" : ".", When(next).substr(0, 10));
    return Status::Ok();
  });
}

StatusOr<Case> CaseService::Close(const authz::Principal& who, int64_t id, int64_t version, const std::string& outcome,
                                  const std::string& reason) {
  return Mutate(who, id, version, "close", true, [&](storage::Transaction& tx, Case& c, Change& ch) {
    for (const auto& f : c.conferences) {
      if (f.state == "scheduled") {
        return Status::FailedPrecondition(fmt::format(
            "the conference of {} is still scheduled; record or cancel it before closing", When(f.scheduled_at)));
      }
    }
    std::vector<core::FieldError> errors;
    CheckText(errors, "outcome", outcome, 2000, "say what came of the case");
    CheckText(errors, "reason", reason, 500, "say why it closes");
    if (!errors.empty()) return Invalid(std::move(errors));
    const core::Timestamp now = clock_.Now();
    RETURN_IF_ERROR(tx.Execute("UPDATE cases SET state = 'closed', outcome = ?, close_reason = ?, closed_at = ? WHERE "
                               "id = ?",
                               {outcome, reason, now.micros, c.id})
                        .status());
    RETURN_IF_ERROR(SettleCaseWork(tx, c.id, std::nullopt, now, who.name));
    ch.kind = "closed";
    ch.text = fmt::format("Case closed ({}): {}", reason, outcome);
    return Status::Ok();
  });
}

StatusOr<Case> CaseService::Get(const authz::Principal& who, int64_t id) {
  Case out;
  std::optional<std::string> refusal;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<Case> found, Load(tx, "WHERE c.id = ?", {id}, true));
    if (found.empty() || !Knows(who, found[0])) return Status::NotFound(fmt::format("no case has id {}", id));
    out = std::move(found[0]);
    const bool citizen = who.kind == authz::PrincipalKind::kCitizen;
    if (!citizen) {
      if (std::string why = Refusal(who, "cases:read"); !why.empty()) {
        refusal = why;
        return Status::Ok();
      }
    }
    return audit_.Append(tx, who, {"case.read", "case", std::to_string(id), out.person, true,
                                   citizen ? "the person reads their own case" : "the agency takes part in the case"});
  }));
  if (refusal) return DenyAudited(who, "case.read", std::to_string(id), out.person, *refusal);
  return out;
}

StatusOr<std::vector<Case>> CaseService::List(const authz::Principal& who, const std::string& state) {
  if (who.kind == authz::PrincipalKind::kCitizen) {
    return DenyAudited(who, "case.list", "", std::nullopt, "a person reads their own cases only");
  }
  if (std::string why = Refusal(who, "cases:read"); !why.empty()) {
    return DenyAudited(who, "case.list", "", std::nullopt, why);
  }
  if (state != "open" && state != "closed" && state != "all") {
    return Status::InvalidArgument("the case list has invalid parameters", {{"state", "must be open, closed or all"}});
  }
  std::string where = "WHERE EXISTS (SELECT 1 FROM case_participants x WHERE x.case_id = c.id AND x.agency_id = ?)";
  storage::Params params{who.agency.value};
  if (state != "all") {
    where += " AND c.state = ?";
    params.push_back(state);
  }
  where += " ORDER BY c.id DESC LIMIT 500";
  std::vector<Case> out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, Load(tx, where, params, false));
    for (const auto& c : out) {
      RETURN_IF_ERROR(audit_.Append(tx, who, {"case.list", "case", std::to_string(c.id), c.person, true,
                                              "the cases the agency takes part in"}));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Case>> CaseService::ForPerson(const authz::Principal& who, core::PersonId person) {
  const bool citizen = who.kind == authz::PrincipalKind::kCitizen;
  if (citizen && !(who.person && *who.person == person)) {
    return DenyAudited(who, "case.person", "", person, "a person sees their own cases only");
  }
  if (!citizen) {
    if (std::string why = Refusal(who, "cases:read"); !why.empty()) {
      return DenyAudited(who, "case.person", "", person, why);
    }
  }
  std::vector<Case> out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id FROM persons WHERE id = ?", {person.value}));
    if (rows.empty()) return Status::NotFound(fmt::format("no person has id {}", person.value));
    if (citizen) {
      ASSIGN_OR_RETURN(out, Load(tx, "WHERE c.person_id = ? ORDER BY c.id DESC", {person.value}, false));
    } else {
      ASSIGN_OR_RETURN(out, Load(tx,
                                 "WHERE c.person_id = ? AND EXISTS (SELECT 1 FROM case_participants x WHERE "
                                 "x.case_id = c.id AND x.agency_id = ?) ORDER BY c.id DESC",
                                 {person.value, who.agency.value}, false));
    }
    return audit_.Append(tx, who, {"case.person", "person", std::to_string(person.value), person, true,
                                   citizen ? "the person reads their own cases" : "the cases the agency takes part in"});
  }));
  return out;
}

StatusOr<core::Timestamp> ParseDateTime(std::string_view text) {
  // "2026-03-02T10:00", with optional ":ss", ".fff" and "Z"; UTC.
  if (text.size() < 16 || text[10] != 'T' || text[13] != ':') {
    return Status::InvalidArgument("give a date and time like 2026-03-02T10:00 (UTC)");
  }
  auto date = core::Date::Parse(text.substr(0, 10));
  if (!date.ok()) return date.status();
  auto num = [&](size_t at) { return (text[at] - '0') * 10 + (text[at + 1] - '0'); };
  for (size_t at : {11u, 14u}) {
    if (!isdigit(static_cast<unsigned char>(text[at])) || !isdigit(static_cast<unsigned char>(text[at + 1]))) {
      return Status::InvalidArgument("give a date and time like 2026-03-02T10:00 (UTC)");
    }
  }
  int seconds = 0;
  std::string_view rest = text.substr(16);
  if (rest.size() >= 3 && rest[0] == ':' && isdigit(static_cast<unsigned char>(rest[1])) &&
      isdigit(static_cast<unsigned char>(rest[2]))) {
    seconds = (rest[1] - '0') * 10 + (rest[2] - '0');
    rest.remove_prefix(3);
    if (!rest.empty() && rest[0] == '.') {
      rest.remove_prefix(1);
      while (!rest.empty() && isdigit(static_cast<unsigned char>(rest[0]))) rest.remove_prefix(1);
    }
  }
  if (rest == "Z") rest = "";
  const int hours = num(11);
  const int minutes = num(14);
  if (!rest.empty() || hours > 23 || minutes > 59 || seconds > 59) {
    return Status::InvalidArgument("give a date and time like 2026-03-02T10:00 (UTC)");
  }
  return core::Timestamp{date->ToDays() * kDay + (hours * 3600LL + minutes * 60 + seconds) * 1'000'000};
}

}  // namespace cases
