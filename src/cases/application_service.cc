#include "cases/application_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "cases/work_queue.h"
#include "core/utf8.h"
#include "frontoffice/office_hours.h"

namespace cases {

using core::Status;
using core::StatusOr;
using nlohmann::json;

namespace {

constexpr size_t kMaxNote = 2000;

std::string Refusal(const authz::Principal& who, std::string_view scope) {
  if (who.kind == authz::PrincipalKind::kSystem && (who.scopes.empty() || !who.HasScope(scope))) {
    return fmt::format("the API token lacks the scope {}", scope);
  }
  if (!authz::HasClientRole(who)) {
    return fmt::format("no role of {} works with applications", who.RoleList().empty() ? "(none)" : who.RoleList());
  }
  if (!authz::IsClientPurpose(who.purpose)) {
    return fmt::format("the purpose {} does not allow working with applications", authz::PurposeName(who.purpose));
  }
  return "";
}

bool Knows(const authz::Principal& who, const Application& a, bool owns_a_part) {
  if (who.kind == authz::PrincipalKind::kCitizen) return who.person && *who.person == a.applicant;
  return authz::HasClientRole(who) && (who.agency == a.agency || owns_a_part);
}

std::string EventPayload(const Application& a, const ApplicationPart* part) {
  if (part == nullptr) {
    return fmt::format(R"({{"application_id":{},"person_id":{},"agency_id":{},"parts":{}}})", a.id, a.applicant.value,
                       a.agency.value, a.parts.size());
  }
  return fmt::format(
      R"({{"application_id":{},"person_id":{},"part_id":{},"program":"{}","agency_id":{},"state":"{}","due":"{}"}})",
      a.id, a.applicant.value, part->id, part->program, part->agency.value, part->state, part->due.ToString());
}

}  // namespace

StatusOr<PartDecision> ParsePartDecision(std::string_view name) {
  if (name == "approve") return PartDecision::kApprove;
  if (name == "deny") return PartDecision::kDeny;
  if (name == "request_information") return PartDecision::kRequestInformation;
  if (name == "information_received") return PartDecision::kInformationReceived;
  return Status::InvalidArgument("unknown decision; use approve, deny, request_information or information_received");
}

StatusOr<core::Date> LocalDate(core::Timestamp t, const std::string& time_zone) {
  ASSIGN_OR_RETURN(frontoffice::LocalTime local, frontoffice::ToLocal(t, time_zone));
  return local.date;
}

ApplicationService::ApplicationService(storage::Database& db, const authz::AccessGate& gate,
                                       const eligibility::RuleSet* rules, audit::AuditLog& audit,
                                       exchange::Outbox& outbox, const core::Clock& clock, ApplicationOptions options)
    : db_(db), gate_(gate), rules_(rules), audit_(audit), outbox_(outbox), clock_(clock), options_(std::move(options)) {}

core::Date ApplicationService::Today() const { return LocalDay(clock_.Now()); }

core::Date ApplicationService::LocalDay(core::Timestamp t) const {
  auto d = LocalDate(t, options_.time_zone);
  return d.ok() ? *d : t.UtcDate();
}

StatusOr<std::vector<Application>> ApplicationService::Load(storage::Transaction& tx, const std::string& where,
                                                            const storage::Params& params,
                                                            const authz::Principal& who) const {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT a.id, a.person_id, p.display_name, a.household_id, a.screening_id, "
                            "COALESCE(a.agency_id, 0), COALESCE(g.name, ''), a.made_by, a.answers, a.created_at FROM "
                            "applications a JOIN persons p ON p.id = a.person_id LEFT JOIN agencies g ON g.id = "
                            "a.agency_id " +
                                where,
                            params));
  std::vector<Application> out;
  for (const auto& r : rows) {
    Application a;
    a.id = r.Int(0);
    a.applicant = core::PersonId{r.Int(1)};
    a.applicant_name = r.Text(2);
    a.household = core::HouseholdId{r.Int(3)};
    a.screening_id = r.Int(4);
    a.agency = core::AgencyId{r.Int(5)};
    a.agency_name = r.Text(6);
    a.made_by = r.Text(7);
    a.answers = r.Text(8);
    a.created_at = core::Timestamp{r.Int(9)};
    ASSIGN_OR_RETURN(storage::Rows parts,
                     tx.Query("SELECT t.id, t.program, t.program_name, t.agency_id, g.name, t.screened, t.state, "
                              "t.expedited, t.received, t.due, t.clock, t.reason, t.request, t.decided_at, "
                              "t.decided_by, t.version, t.answer, t.answered_at FROM application_parts t JOIN "
                              "agencies g ON g.id = t.agency_id "
                              "WHERE t.application_id = ? ORDER BY t.id",
                              {a.id}));
    bool owns = false;
    std::vector<ApplicationPart> all;
    for (const auto& p : parts) {
      ApplicationPart part;
      part.id = p.Int(0);
      part.program = p.Text(1);
      part.program_name = p.Text(2);
      part.agency = core::AgencyId{p.Int(3)};
      part.agency_name = p.Text(4);
      part.screened = p.Text(5);
      part.state = p.Text(6);
      part.expedited = p.Int(7) != 0;
      auto received = core::Date::Parse(p.Text(8));
      auto due = core::Date::Parse(p.Text(9));
      if (!received.ok() || !due.ok()) return Status::Internal(fmt::format("application part {} has unreadable dates", part.id));
      part.received = *received;
      part.due = *due;
      part.clock = p.Text(10);
      part.reason = p.Text(11);
      part.request = p.Text(12);
      if (auto at = p.OptInt(13)) part.decided_at = core::Timestamp{*at};
      part.decided_by = p.Text(14);
      part.version = p.Int(15);
      part.answer = p.Text(16);
      if (auto at = p.OptInt(17)) part.answered_at = core::Timestamp{*at};
      owns = owns || (who.kind != authz::PrincipalKind::kCitizen && part.agency == who.agency);
      all.push_back(std::move(part));
    }
    if (!Knows(who, a, owns)) continue;
    for (auto& part : all) {
      // The agency where it was made and the person see every part; an owning agency its own.
      if (who.kind == authz::PrincipalKind::kCitizen || who.agency == a.agency || part.agency == who.agency) {
        a.parts.push_back(std::move(part));
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

Status ApplicationService::DenyAudited(const authz::Principal& who, const std::string& action, const std::string& id,
                                       std::optional<core::PersonId> person, const std::string& message) {
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(tx, who, {action, "application", id, person, false, message});
  }));
  return Status::PermissionDenied(message);
}

StatusOr<Application> ApplicationService::Apply(const authz::Principal& who, const NewApplication& in) {
  const bool citizen = who.kind == authz::PrincipalKind::kCitizen;
  if (citizen && !(who.person && *who.person == in.applicant)) {
    return DenyAudited(who, "application.submit", "", in.applicant,
                       "a person applies for themself; someone else applies at a desk or through an agency's staff");
  }
  if (citizen && !who.HasScope("portal:apply")) {
    return DenyAudited(who, "application.submit", "", in.applicant,
                       "the person has not let their representative apply for them");
  }
  if (std::string why = citizen ? "" : Refusal(who, "applications:write"); !why.empty()) {
    return DenyAudited(who, "application.submit", "", in.applicant, why);
  }
  std::string input;
  json results;
  int64_t household = 0;
  bool member = false;
  std::map<std::string, std::pair<int64_t, std::string>> agencies;  // code -> id, name
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT household_id, input, result FROM screenings WHERE id = ?",
                                                  {in.screening_id}));
    if (rows.empty()) return Status::NotFound(fmt::format("no screening has id {}", in.screening_id));
    household = rows[0].Int(0);
    input = rows[0].Text(1);
    results = json::parse(rows[0].Text(2), nullptr, false);
    ASSIGN_OR_RETURN(storage::Rows m, tx.Query("SELECT 1 FROM household_members WHERE household_id = ? AND "
                                               "person_id = ? AND end_date IS NULL",
                                               {household, in.applicant.value}));
    member = !m.empty();
    ASSIGN_OR_RETURN(storage::Rows a, tx.Query("SELECT code, id, name FROM agencies"));
    for (const auto& r : a) agencies[r.Text(0)] = {r.Int(1), r.Text(2)};
    return Status::Ok();
  }));
  if (!results.is_object() || !results.contains("programs")) {
    return Status::Internal(fmt::format("screening {} is stored unreadably", in.screening_id));
  }
  std::vector<core::FieldError> errors;
  if (!member) errors.push_back({"applicant_id", "the applicant must be a current member of the screened household"});
  authz::Decision d;
  if (member) {
    d = gate_.DecidePerson(who, authz::Operation::kRead, in.applicant);
    // The application carries the screening's answers: the caller must be one who may see them.
    d.Require(authz::Field::kScreening, gate_.categories());
    if (!d.allowed) return DenyAudited(who, "application.submit", "", in.applicant, d.reason);
  }
  struct Part {
    std::string program, name, agency_code, screened, clock;
    bool expedited = false;
    int days = 0;
    bool household_wide = false;  // decided for the household (SNAP), not for one member of it
  };
  std::vector<Part> parts;
  std::set<std::string> seen;
  if (in.programs.empty()) errors.push_back({"programs", "choose at least one program to apply for"});
  for (const auto& id : in.programs) {
    if (!seen.insert(id).second) {
      errors.push_back({"programs", fmt::format("{} is listed twice", id)});
      continue;
    }
    const json* found = nullptr;
    for (const auto& p : results["programs"]) {
      if (p.value("program", "") == id) found = &p;
    }
    if (found == nullptr) {
      errors.push_back({"programs", fmt::format("the screening did not cover {}", id)});
      continue;
    }
    Part part{id, found->value("name", id), found->value("agency", ""), found->value("result", "unknown"), "", false, 0};
    if (!agencies.count(part.agency_code)) {
      errors.push_back({"programs", fmt::format("{} belongs to agency '{}', which this deployment does not have", id,
                                                part.agency_code)});
      continue;
    }
    const eligibility::Program* program = nullptr;
    if (rules_ != nullptr) {
      const int index = rules_->FindProgram(id);
      if (index >= 0) program = &rules_->programs()[static_cast<size_t>(index)];
    }
    if (program != nullptr && program->eligible_symbol >= 0) {
      part.household_wide =
          rules_->symbols()[static_cast<size_t>(program->eligible_symbol)].entity ==
          eligibility::Entity::kHousehold;
    }
    part.expedited = std::find(in.expedited.begin(), in.expedited.end(), id) != in.expedited.end();
    if (part.expedited && (program == nullptr || program->expedited_days == 0)) {
      errors.push_back({"expedited", fmt::format("{} has no expedited service", id)});
      continue;
    }
    if (program != nullptr && program->decision_days > 0) {
      part.days = part.expedited ? program->expedited_days : program->decision_days;
      part.clock = fmt::format("{} days{} ({})", part.days, part.expedited ? ", expedited" : "", program->clock_citation);
    } else {
      part.days = options_.default_days;
      part.clock = fmt::format("{} days (the consortium's default)", part.days);
    }
    parts.push_back(std::move(part));
  }
  for (const auto& e : in.expedited) {
    if (!seen.count(e)) errors.push_back({"expedited", fmt::format("{} is not among the programs applied for", e)});
  }
  if (!errors.empty()) return Status::InvalidArgument("the application has invalid fields", std::move(errors));

  const core::Timestamp now = clock_.Now();
  ASSIGN_OR_RETURN(core::Date received, LocalDate(now, options_.time_zone));
  int64_t id = 0;
  Application out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    // A person applying in the portal is named as the registry names them (their account's
    // username means nothing to staff).
    std::string made_by = who.name;
    if (citizen) {
      ASSIGN_OR_RETURN(storage::Rows p, tx.Query("SELECT display_name FROM persons WHERE id = ?", {in.applicant.value}));
      if (!p.empty()) made_by = p[0].Text(0);
      if (who.representation != 0) {
        ASSIGN_OR_RETURN(storage::Rows u, tx.Query("SELECT display_name FROM users WHERE id = ?", {who.user.value}));
        if (!u.empty()) made_by += fmt::format(", by their representative {}", u[0].Text(0));
      }
    }
    // The same application sent again at once (a double click, the browser's Back) is one
    // application: each agency would otherwise decide every part twice.
    {
      std::vector<std::string> programs;
      for (const auto& p : parts) programs.push_back(p.program);
      std::sort(programs.begin(), programs.end());
      ASSIGN_OR_RETURN(
          storage::Rows recent,
          tx.Query("SELECT a.id, t.program FROM applications a JOIN application_parts t ON "
                   "t.application_id = a.id WHERE a.screening_id = ? AND a.person_id = ? AND "
                   "a.made_by = ? "
                   "AND a.created_at >= ? ORDER BY a.id, t.program",
                   {in.screening_id, in.applicant.value, made_by,
                    now.micros - int64_t{120} * 1'000'000}));
      std::map<int64_t, std::vector<std::string>> made;
      for (const auto& row : recent) made[row.Int(0)].push_back(row.Text(1));
      for (const auto& [earlier, theirs] : made) {
        if (theirs == programs) {
          return Status::AlreadyExists(fmt::format(
              "this application was made a moment ago (application {}); it is made once", earlier));
        }
      }
    }
    // A program applied for and not decided yet is not applied for again: for the household when
    // the program decides for the household, for the applicant otherwise. The agency would
    // otherwise decide the same thing twice.
    {
      std::vector<core::FieldError> open;
      for (const auto& p : parts) {
        ASSIGN_OR_RETURN(
            storage::Rows earlier,
            tx.Query(std::string("SELECT a.id FROM applications a JOIN application_parts t ON "
                                 "t.application_id = a.id WHERE t.program = ? AND t.state IN "
                                 "('pending', 'more_information') AND ") +
                         (p.household_wide ? "a.household_id = ?" : "a.person_id = ?") +
                         " ORDER BY a.id LIMIT 1",
                     {p.program, p.household_wide ? household : in.applicant.value}));
        if (!earlier.empty()) {
          open.push_back(
              {"programs",
               fmt::format("{} is applied for already (application {}) and not decided yet", p.name,
                           earlier[0].Int(0))});
        }
      }
      if (!open.empty())
        return Status::InvalidArgument("the application has invalid fields", std::move(open));
    }
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("INSERT INTO applications (person_id, household_id, screening_id, agency_id, made_by, "
                              "answers, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                              {in.applicant.value, household, in.screening_id,
                               citizen ? storage::Value(storage::Null{}) : storage::Value(who.agency.value), made_by,
                               input, now.micros}));
    id = rows.at(0).Int(0);
    for (const auto& p : parts) {
      const core::Date due = core::Date::FromDays(received.ToDays() + p.days);
      ASSIGN_OR_RETURN(storage::Rows part,
                       tx.Query("INSERT INTO application_parts (application_id, program, program_name, agency_id, "
                                "screened, state, expedited, received, due, clock, reason, request, decided_by, "
                                "version) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, '', '', '', 1) RETURNING id",
                                {id, p.program, p.name, agencies[p.agency_code].first, p.screened,
                                 int64_t{p.expedited ? 1 : 0}, received.ToString(), due.ToString(), p.clock}));
      if (intake_ != nullptr) {
        WorkIn work{core::AgencyId{agencies[p.agency_code].first}, "application_part", part.at(0).Int(0), in.applicant,
                    fmt::format("Application for {}{}", p.name, p.expedited ? " (expedited)" : ""),
                    {{"kind", std::string("application")}, {"program", p.program}, {"expedited", p.expedited}},
                    due};
        RETURN_IF_ERROR(WorkQueueService::Enqueue(tx, *intake_, outbox_, now, std::move(work)));
      }
    }
    RETURN_IF_ERROR(audit_.Append(tx, who,
                                  {"application.submit", "application", std::to_string(id), in.applicant, true,
                                   fmt::format("{}; {} programs applied for once{}", d.reason, parts.size(),
                                               citizen ? " in the portal" : "")}));
    ASSIGN_OR_RETURN(std::vector<Application> found, Load(tx, "WHERE a.id = ?", {id}, who));
    out = std::move(found.at(0));
    return outbox_.Append(tx, "application.submitted", "application", std::to_string(id), EventPayload(out, nullptr));
  }));
  return out;
}

StatusOr<Application> ApplicationService::Decide(const authz::Principal& who, int64_t part_id,
                                                 PartDecision decision, int64_t expected_version,
                                                 const std::string& note,
                                                 std::optional<int64_t> meant) {
  // A joint team's member decides the parts of the agency whose work the team does.
  if (who.kind == authz::PrincipalKind::kStaff) {
    std::optional<authz::Principal> joint;
    RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT agency_id FROM application_parts WHERE id = ?", {part_id}));
      if (rows.empty() || rows.at(0).Int(0) == who.agency.value) return Status::Ok();
      ASSIGN_OR_RETURN(joint, ActingFor(tx, who, core::AgencyId{rows.at(0).Int(0)}, clock_.Now().UtcDate()));
      return Status::Ok();
    }));
    if (joint) return Decide(*joint, part_id, decision, expected_version, note, meant);
  }
  const bool needs_note = decision == PartDecision::kDeny || decision == PartDecision::kRequestInformation;
  if ((needs_note && note.empty()) || note.size() > kMaxNote) {
    return Status::InvalidArgument(
        "the decision has invalid fields",
        {{"note", needs_note ? (decision == PartDecision::kDeny ? "give the reason for the denial, 1 to 2000 characters"
                                                                : "say what information is needed, 1 to 2000 characters")
                             : "at most 2000 characters"}});
  }
  std::optional<std::string> refusal;
  std::optional<core::PersonId> person;
  Application out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    std::string sql = "SELECT t.application_id, t.agency_id, t.state, t.version, a.person_id FROM application_parts t "
                      "JOIN applications a ON a.id = t.application_id WHERE t.id = ?";
    if (tx.dialect() == storage::Dialect::kPostgres) sql += " FOR UPDATE OF t";
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(sql, {part_id}));
    if (!rows.empty() && meant && rows[0].Int(0) != *meant) {
      return Status::NotFound(fmt::format("application {} has no part {}", *meant, part_id));
    }
    if (rows.empty() || who.kind == authz::PrincipalKind::kCitizen || rows[0].Int(1) != who.agency.value ||
        !authz::HasClientRole(who)) {
      return Status::NotFound(fmt::format("no application part of your agency has id {}", part_id));
    }
    const int64_t application = rows[0].Int(0);
    const std::string state = rows[0].Text(2);
    person = core::PersonId{rows[0].Int(4)};
    std::string why = Refusal(who, "applications:write");
    if (why.empty() && !authz::HasCaseworkRole(who)) {
      why = "deciding is for caseworkers, specialists, coordinators and managers";
    }
    if (!why.empty()) {
      refusal = why;
      return Status::Ok();
    }
    if (rows[0].Int(3) != expected_version) {
      return Status::Aborted(fmt::format("the part changed since you loaded it (you had version {}, it is now version "
                                         "{}); reload it and decide again",
                                         expected_version, rows[0].Int(3)));
    }
    std::string next;
    std::string allowed;
    if (state == "pending") {
      allowed = "approve, deny or request_information";
      if (decision == PartDecision::kApprove) next = "approved";
      if (decision == PartDecision::kDeny) next = "denied";
      if (decision == PartDecision::kRequestInformation) next = "more_information";
    } else if (state == "more_information") {
      allowed = "information_received, approve or deny";
      if (decision == PartDecision::kInformationReceived) next = "pending";
      if (decision == PartDecision::kApprove) next = "approved";
      if (decision == PartDecision::kDeny) next = "denied";
    }
    if (next.empty()) {
      if (allowed.empty()) {
        return Status::FailedPrecondition(fmt::format("the part is {}, which is final", state));
      }
      return Status::FailedPrecondition(fmt::format("the part is {}; it may only be given {}", state, allowed));
    }
    const core::Timestamp now = clock_.Now();
    const bool decided = next == "approved" || next == "denied";
    RETURN_IF_ERROR(
        tx.Execute("UPDATE application_parts SET state = ?, reason = CASE WHEN ? = 'denied' THEN ? ELSE reason END, "
                   "request = CASE WHEN ? = 'more_information' THEN ? ELSE request END, decided_at = ?, decided_by = "
                   "?, version = version + 1 WHERE id = ?",
                   {next, next, note, next, note,
                    decided ? storage::Value(now.micros) : storage::Value(storage::Null{}),
                    decided ? who.name : std::string(), part_id})
            .status());
    if (decided) RETURN_IF_ERROR(WorkQueueService::Settle(tx, "application_part", part_id, now, who.name));
    const std::string action = decision == PartDecision::kApprove            ? "approve"
                               : decision == PartDecision::kDeny             ? "deny"
                               : decision == PartDecision::kRequestInformation ? "request_information"
                                                                             : "information_received";
    RETURN_IF_ERROR(audit_.Append(tx, who,
                                  {"application." + action, "application", std::to_string(application), person, true,
                                   fmt::format("part {} went from {} to {}", part_id, state, next)}));
    ASSIGN_OR_RETURN(std::vector<Application> found, Load(tx, "WHERE a.id = ?", {application}, who));
    out = std::move(found.at(0));
    const ApplicationPart* part = nullptr;
    for (const auto& p : out.parts) {
      if (p.id == part_id) part = &p;
    }
    const std::string type = next == "approved"           ? "application.part_approved"
                             : next == "denied"           ? "application.part_denied"
                             : next == "more_information" ? "application.information_requested"
                                                          : "application.information_received";
    return outbox_.Append(tx, type, "application", std::to_string(application), EventPayload(out, part));
  }));
  if (refusal) return DenyAudited(who, "application.decide", std::to_string(part_id), person, *refusal);
  return out;
}

StatusOr<Application> ApplicationService::Answer(const authz::Principal& who, int64_t part_id, int64_t expected_version,
                                                 const std::string& answer) {
  const bool citizen = who.kind == authz::PrincipalKind::kCitizen && who.person && who.HasScope("portal:apply");
  if (answer.find_first_not_of(" \t\r\n") == std::string::npos ||
      core::Utf8Length(answer) > kMaxNote) {
    return Status::InvalidArgument("the answer has invalid fields",
                                   {{"answer", "write your answer, 1 to 2000 characters"}});
  }
  Application out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    std::string sql = "SELECT t.application_id, t.state, t.version, a.person_id, t.request FROM application_parts t "
                      "JOIN applications a ON a.id = t.application_id WHERE t.id = ?";
    if (tx.dialect() == storage::Dialect::kPostgres) sql += " FOR UPDATE OF t";
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(sql, {part_id}));
    if (rows.empty() || !citizen || rows[0].Int(3) != who.person->value) {
      return Status::NotFound(fmt::format("no part of your applications has id {}", part_id));
    }
    const int64_t application = rows[0].Int(0);
    if (rows[0].Text(1) != "more_information") {
      return Status::FailedPrecondition(
          fmt::format("the part is {}: no information is asked for", rows[0].Text(1) == "pending" ? "being decided"
                                                                                                 : rows[0].Text(1)));
    }
    if (rows[0].Int(2) != expected_version) {
      return Status::Aborted("the part changed since you loaded it; reload the page and answer again");
    }
    const core::Timestamp now = clock_.Now();
    RETURN_IF_ERROR(tx.Execute("UPDATE application_parts SET state = 'pending', answer = ?, answered_at = ?, version = "
                               "version + 1 WHERE id = ?",
                               {answer, now.micros, part_id})
                        .status());
    RETURN_IF_ERROR(audit_.Append(tx, who,
                                  {"application.answer", "application", std::to_string(application), *who.person, true,
                                   fmt::format("the person answered the request for part {} in the portal", part_id)}));
    ASSIGN_OR_RETURN(std::vector<Application> found, Load(tx, "WHERE a.id = ?", {application}, who));
    out = std::move(found.at(0));
    const ApplicationPart* part = nullptr;
    for (const auto& p : out.parts) {
      if (p.id == part_id) part = &p;
    }
    return outbox_.Append(tx, "application.information_received", "application", std::to_string(application),
                          EventPayload(out, part));
  }));
  return out;
}

StatusOr<Application> ApplicationService::Get(const authz::Principal& who, int64_t id) {
  // A joint team's member sees the application as the agency whose part the team decides.
  if (who.kind == authz::PrincipalKind::kStaff) {
    std::optional<authz::Principal> joint;
    RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT DISTINCT t.agency_id FROM application_parts t JOIN applications "
                                                    "a ON a.id = t.application_id WHERE t.application_id = ? AND "
                                                    "COALESCE(a.agency_id, 0) <> ? ORDER BY t.agency_id",
                                                    {id, who.agency.value}));
      for (const auto& r : rows) {
        if (r.Int(0) == who.agency.value) return Status::Ok();  // a part of its own: as itself
      }
      for (const auto& r : rows) {
        ASSIGN_OR_RETURN(joint, ActingFor(tx, who, core::AgencyId{r.Int(0)}, clock_.Now().UtcDate()));
        if (joint) break;
      }
      return Status::Ok();
    }));
    if (joint) return Get(*joint, id);
  }
  Application out;
  std::optional<std::string> refusal;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<Application> found, Load(tx, "WHERE a.id = ?", {id}, who));
    if (found.empty()) return Status::NotFound(fmt::format("no application has id {}", id));
    out = std::move(found[0]);
    if (who.kind != authz::PrincipalKind::kCitizen) {
      if (std::string why = Refusal(who, "applications:read"); !why.empty()) {
        refusal = why;
        return Status::Ok();
      }
    }
    return audit_.Append(tx, who, {"application.read", "application", std::to_string(id), out.applicant, true,
                                   who.kind == authz::PrincipalKind::kCitizen ? "the person reads their application"
                                   : who.agency == out.agency ? "the agency where the application was made"
                                                              : "the agency decides a part of the application"});
  }));
  if (refusal) return DenyAudited(who, "application.read", std::to_string(id), out.applicant, *refusal);
  return out;
}

StatusOr<std::vector<Application>> ApplicationService::ToDecide(const authz::Principal& who, const std::string& state) {
  if (who.kind == authz::PrincipalKind::kCitizen) {
    return DenyAudited(who, "application.list", "", std::nullopt, "a person reads their own applications only");
  }
  if (std::string why = Refusal(who, "applications:read"); !why.empty()) {
    return DenyAudited(who, "application.list", "", std::nullopt, why);
  }
  std::string filter;
  if (state == "open") filter = " AND t.state IN ('pending', 'more_information')";
  else if (state == "decided") filter = " AND t.state IN ('approved', 'denied')";
  else if (state != "all") {
    return Status::InvalidArgument("the list has invalid parameters", {{"state", "must be open, decided or all"}});
  }
  std::vector<Application> out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, Load(tx,
                               "WHERE EXISTS (SELECT 1 FROM application_parts t WHERE t.application_id = a.id AND "
                               "t.agency_id = ?" + filter + ") ORDER BY (SELECT MIN(t.due) FROM application_parts t "
                               "WHERE t.application_id = a.id AND t.agency_id = ?" + filter + "), a.id LIMIT 500",
                               {who.agency.value, who.agency.value}, who));
    for (auto& a : out) {
      // Only the parts this agency decides, in the state asked for.
      std::erase_if(a.parts, [&](const ApplicationPart& p) {
        return p.agency != who.agency || (state == "open" && !p.Open()) || (state == "decided" && p.Open());
      });
      a.answers.clear();
      RETURN_IF_ERROR(audit_.Append(tx, who, {"application.list", "application", std::to_string(a.id), a.applicant,
                                              true, "the application parts the agency decides"}));
    }
    for (auto& a : out) {
      std::sort(a.parts.begin(), a.parts.end(),
                [](const ApplicationPart& x, const ApplicationPart& y) { return x.due < y.due; });
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Application>> ApplicationService::ForPerson(const authz::Principal& who, core::PersonId person) {
  const bool citizen = who.kind == authz::PrincipalKind::kCitizen;
  if (citizen && !(who.person && *who.person == person)) {
    return DenyAudited(who, "application.person", "", person, "a person sees their own applications only");
  }
  if (!citizen) {
    if (std::string why = Refusal(who, "applications:read"); !why.empty()) {
      return DenyAudited(who, "application.person", "", person, why);
    }
  }
  std::vector<Application> out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id FROM persons WHERE id = ?", {person.value}));
    if (rows.empty()) return Status::NotFound(fmt::format("no person has id {}", person.value));
    ASSIGN_OR_RETURN(out, Load(tx, "WHERE a.person_id = ? ORDER BY a.id DESC", {person.value}, who));
    for (auto& a : out) a.answers.clear();
    return audit_.Append(tx, who, {"application.person", "person", std::to_string(person.value), person, true,
                                   citizen ? "the person reads their applications"
                                           : "the applications the agency made or decides"});
  }));
  return out;
}

}  // namespace cases
