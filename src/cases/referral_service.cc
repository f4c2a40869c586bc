#include "cases/referral_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "cases/consent_check.h"
#include "cases/work_queue.h"
#include "core/utf8.h"

namespace cases {

using core::Status;
using core::StatusOr;

namespace {

constexpr size_t kMaxText = 2000;
constexpr size_t kMaxService = 200;

constexpr std::array<std::string_view, 8> kStateNames = {"sent",   "received",  "accepted", "declined",
                                                         "in_progress", "completed", "closed", "withdrawn"};
constexpr std::array<std::string_view, 3> kUrgencyNames = {"routine", "soon", "urgent"};
constexpr std::array<std::string_view, 7> kActionNames = {"receive", "accept", "decline", "start",
                                                          "complete", "close", "withdraw"};
// What each action is called once done: the event and the outbox type.
constexpr std::array<std::string_view, 7> kDoneNames = {"received", "accepted", "declined", "started",
                                                        "completed", "closed", "withdrawn"};

constexpr std::string_view kSelect =
    "SELECT r.id, r.person_id, r.person_name, r.from_agency_id, fa.name, r.from_user_id, r.from_actor, "
    "r.to_agency_id, ta.name, r.service, r.urgency, r.message, r.consent_id, r.state, r.reason, r.outcome, "
    "r.respond_by, r.answered_at, r.created_at, r.updated_at, r.version FROM referrals r "
    "JOIN agencies fa ON fa.id = r.from_agency_id JOIN agencies ta ON ta.id = r.to_agency_id ";

constexpr std::string_view kInsertEvent =
    "INSERT INTO referral_events (referral_id, action, from_state, to_state, user_id, actor, agency_id, at, note) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

std::string Name(ReferralState s) { return std::string(ReferralStateName(s)); }

// The casework staff of the two agencies, and the person themself.
bool IsParty(const authz::Principal& who, const Referral& r) {
  if (who.kind == authz::PrincipalKind::kCitizen) return who.person && *who.person == r.person;
  return authz::HasCaseworkRole(who) && (who.agency == r.from_agency || who.agency == r.to_agency);
}

// Why `who` (staff or an API token) may not work with referrals with `scope`, or "".
std::string Refusal(const authz::Principal& who, std::string_view scope) {
  if (who.kind == authz::PrincipalKind::kSystem && (who.scopes.empty() || !who.HasScope(scope))) {
    return fmt::format("the API token lacks the scope {}", scope);
  }
  if (!authz::HasCaseworkRole(who)) {
    return fmt::format("no role of {} works with referrals: caseworkers, specialists, coordinators and managers do",
                       who.RoleList().empty() ? "(none)" : who.RoleList());
  }
  if (!authz::IsClientPurpose(who.purpose)) {
    return fmt::format("the purpose {} does not allow working with referrals", authz::PurposeName(who.purpose));
  }
  return "";
}

std::string ActionList(const std::vector<ReferralAction>& actions) {
  std::string out;
  for (size_t i = 0; i < actions.size(); ++i) {
    if (i > 0) out += i + 1 == actions.size() ? " or " : ", ";
    out += ReferralActionName(actions[i]);
  }
  return out;
}

// Ids and fixed words only: nothing needs escaping.
std::string EventPayload(const Referral& r) {
  return fmt::format(
      R"({{"referral_id":{},"person_id":{},"from_agency_id":{},"to_agency_id":{},"state":"{}","urgency":"{}","version":{}}})",
      r.id, r.person.value, r.from_agency.value, r.to_agency.value, ReferralStateName(r.state),
      UrgencyName(r.urgency), r.version);
}

}  // namespace

std::string_view ReferralStateName(ReferralState s) { return kStateNames[static_cast<size_t>(s)]; }

StatusOr<ReferralState> ParseReferralState(std::string_view name) {
  for (size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<ReferralState>(i);
  }
  return Status::InvalidArgument(
      "unknown state; use sent, received, accepted, declined, in_progress, completed, closed or withdrawn");
}

bool IsFinal(ReferralState s) {
  return s == ReferralState::kDeclined || s == ReferralState::kCompleted || s == ReferralState::kClosed ||
         s == ReferralState::kWithdrawn;
}

std::string_view UrgencyName(Urgency u) { return kUrgencyNames[static_cast<size_t>(u)]; }

StatusOr<Urgency> ParseUrgency(std::string_view name) {
  for (size_t i = 0; i < kUrgencyNames.size(); ++i) {
    if (kUrgencyNames[i] == name) return static_cast<Urgency>(i);
  }
  return Status::InvalidArgument("unknown urgency; use routine, soon or urgent");
}

std::string_view ReferralActionName(ReferralAction a) { return kActionNames[static_cast<size_t>(a)]; }

StatusOr<ReferralAction> ParseReferralAction(std::string_view name) {
  for (size_t i = 0; i < kActionNames.size(); ++i) {
    if (kActionNames[i] == name) return static_cast<ReferralAction>(i);
  }
  return Status::InvalidArgument("unknown action; use receive, accept, decline, start, complete, close or withdraw");
}

std::vector<ReferralAction> AllowedActions(ReferralState s) {
  using A = ReferralAction;
  switch (s) {
    case ReferralState::kSent:
      return {A::kReceive, A::kAccept, A::kDecline, A::kWithdraw};
    case ReferralState::kReceived:
      return {A::kAccept, A::kDecline, A::kWithdraw};
    case ReferralState::kAccepted:
      return {A::kStart, A::kClose, A::kWithdraw};
    case ReferralState::kInProgress:
      return {A::kComplete, A::kClose, A::kWithdraw};
    default:
      return {};
  }
}

bool BySender(ReferralAction a) { return a == ReferralAction::kWithdraw; }

bool Referral::OverdueAt(core::Timestamp now) const {
  return (state == ReferralState::kSent || state == ReferralState::kReceived) && now.micros > respond_by.micros;
}

core::Timestamp AddWorkingDays(core::Timestamp from, int days) {
  constexpr int64_t kDay = 86400LL * 1'000'000;
  int64_t day = from.micros >= 0 ? from.micros / kDay : -((-from.micros + kDay - 1) / kDay);
  int64_t time_of_day = from.micros - day * kDay;
  // 1970-01-01 was a Thursday: 0 is Monday.
  auto weekday = [](int64_t d) { return ((d + 3) % 7 + 7) % 7; };
  if (weekday(day) >= 5) {
    while (weekday(day) >= 5) ++day;
    time_of_day = 0;
  }
  for (int i = 0; i < days; ++i) {
    ++day;
    while (weekday(day) >= 5) ++day;
  }
  return core::Timestamp{day * kDay + time_of_day};
}

ReferralService::ReferralService(storage::Database& db, const authz::DataCategories& categories,
                                 const authz::AccessGate& gate, audit::AuditLog& audit, exchange::Outbox& outbox,
                                 const core::Clock& clock, ReferralOptions options)
    : db_(db), categories_(categories), gate_(gate), audit_(audit), outbox_(outbox), clock_(clock), options_(options) {}

StatusOr<std::vector<Referral>> ReferralService::Load(storage::Transaction& tx, const std::string& where,
                                                      const storage::Params& params, bool events) {
  std::vector<Referral> out;
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(std::string(kSelect) + where, params));
  for (const auto& row : rows) {
    Referral r;
    r.id = row.Int(0);
    r.person = core::PersonId{row.Int(1)};
    r.person_name = row.Text(2);
    r.from_agency = core::AgencyId{row.Int(3)};
    r.from_agency_name = row.Text(4);
    r.from_user = row.Int(5);
    r.from_actor = row.Text(6);
    r.to_agency = core::AgencyId{row.Int(7)};
    r.to_agency_name = row.Text(8);
    r.service = row.Text(9);
    auto urgency = ParseUrgency(row.Text(10));
    auto state = ParseReferralState(row.Text(13));
    if (!urgency.ok() || !state.ok()) {
      return Status::Internal(fmt::format("referral {} is stored with an unreadable value", r.id));
    }
    r.urgency = *urgency;
    r.message = row.Text(11);
    r.consent_id = row.Int(12);
    r.state = *state;
    r.reason = row.Text(14);
    r.outcome = row.Text(15);
    r.respond_by = core::Timestamp{row.Int(16)};
    if (auto answered = row.OptInt(17)) r.answered_at = core::Timestamp{*answered};
    r.created_at = core::Timestamp{row.Int(18)};
    r.updated_at = core::Timestamp{row.Int(19)};
    r.version = row.Int(20);
    out.push_back(std::move(r));
  }
  if (!events) return out;
  for (auto& r : out) {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT action, from_state, to_state, user_id, actor, agency_id, "
                                                  "at, note FROM referral_events WHERE referral_id = ? ORDER BY id",
                                                  {r.id}));
    for (const auto& row : rows) {
      r.events.push_back({row.Text(0), row.Text(1), row.Text(2), row.Int(3), row.Text(4),
                          core::AgencyId{row.Int(5)}, core::Timestamp{row.Int(6)}, row.Text(7)});
    }
  }
  return out;
}

Status ReferralService::DenyAudited(const authz::Principal& who, const std::string& action, const std::string& id,
                                    std::optional<core::PersonId> person, const std::string& message) {
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(tx, who, {action, "referral", id, person, false, message});
  }));
  return Status::PermissionDenied(message);
}

StatusOr<Referral> ReferralService::Send(const authz::Principal& who, const NewReferral& in,
                                         std::vector<core::FieldError> read_errors) {
  if (who.kind == authz::PrincipalKind::kCitizen) {
    return DenyAudited(who, "referral.send", "", in.person, "a person asks an agency to refer them");
  }
  if (std::string why = Refusal(who, "referrals:write"); !why.empty()) {
    return DenyAudited(who, "referral.send", "", in.person, why);
  }
  std::string person_name;
  std::string to_name;
  std::string to_kind;
  const auto named = [&](std::string_view field) {
    return std::any_of(read_errors.begin(), read_errors.end(),
                       [&](const core::FieldError& e) { return e.field == field; });
  };
  const bool person_read = !named("person_id");
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    if (person_read) {
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT display_name FROM persons WHERE id = ?",
                                                    {in.person.value}));
      if (!rows.empty()) person_name = rows[0].Text(0);
    }
    if (in.to_agency) {
      ASSIGN_OR_RETURN(storage::Rows agencies,
                       tx.Query("SELECT name, kind FROM agencies WHERE id = ?", {in.to_agency->value}));
      if (!agencies.empty()) {
        to_name = agencies[0].Text(0);
        to_kind = agencies[0].Text(1);
      }
    }
    return Status::Ok();
  }));
  authz::Decision d;  // a referral is sent only with a person read, so only after this is decided
  if (person_read) {
    if (person_name.empty())
      return Status::NotFound(fmt::format("no person has id {}", in.person.value));
    d = gate_.DecidePerson(who, authz::Operation::kRead, in.person);
    d.Require(authz::Field::kNames, categories_);
    if (!d.allowed) return DenyAudited(who, "referral.send", "", in.person, d.reason);
  }

  std::vector<core::FieldError> errors;
  if (!in.to_agency) {
    errors.push_back({"to_agency_id", "choose the agency to refer the person to"});
  } else if (to_name.empty()) {
    errors.push_back({"to_agency_id", "no agency has this id"});
  } else if (*in.to_agency == who.agency) {
    errors.push_back({"to_agency_id", "refer to another agency; your own agency's work goes to its queues"});
  }
  if (!in.urgency) errors.push_back({"urgency", "choose routine, soon or urgent"});
  if (in.message.empty() || core::Utf8Length(in.message) > kMaxText) {
    errors.push_back({"message", "say what the person needs and why, 1 to 2000 characters"});
  }
  if (core::Utf8Length(in.service) > kMaxService)
    errors.push_back({"service", "must be at most 200 characters"});
  if (!to_name.empty() && person_read) {
    RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) {
      return CheckConsent(tx, categories_, clock_.Now().UtcDate(), in.person, in.consent_id,
                          {*in.to_agency, to_kind, to_name}, "consent_id", errors);
    }));
  } else if (in.consent_id <= 0) {
    errors.push_back({"consent_id", "the person's consent is needed to share their details with the receiving agency"});
  }
  // What could not be read comes first; a field it names is not named again.
  for (auto& e : errors) {
    if (!named(e.field)) read_errors.push_back(std::move(e));
  }
  if (!read_errors.empty())
    return Status::InvalidArgument("the referral has invalid fields", std::move(read_errors));

  const core::Timestamp now = clock_.Now();
  const int days = *in.urgency == Urgency::kUrgent ? options_.urgent_days
                   : *in.urgency == Urgency::kSoon ? options_.soon_days
                                                   : options_.routine_days;
  Referral r;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    // The same referral sent again at once (a double click, the browser's Back) is one referral:
    // the receiving agency would otherwise answer it twice.
    ASSIGN_OR_RETURN(storage::Rows same,
                     tx.Query("SELECT id FROM referrals WHERE person_id = ? AND from_user_id = ? "
                              "AND to_agency_id = ? "
                              "AND service = ? AND urgency = ? AND message = ? AND state = 'sent' "
                              "AND created_at >= ? "
                              "LIMIT 1",
                              {in.person.value, who.user.value, in.to_agency->value, in.service,
                               std::string(UrgencyName(*in.urgency)), in.message,
                               now.micros - int64_t{120} * 1'000'000}));
    if (!same.empty()) {
      return Status::AlreadyExists(fmt::format(
          "this referral was sent a moment ago (referral {}); it is sent once", same.at(0).Int(0)));
    }
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("INSERT INTO referrals (person_id, person_name, from_agency_id, from_user_id, "
                              "from_actor, to_agency_id, service, urgency, message, consent_id, state, reason, "
                              "outcome, respond_by, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, "
                              "?, ?, ?, 'sent', '', '', ?, ?, ?, 1) RETURNING id",
                              {in.person.value, person_name, who.agency.value, who.user.value, who.name,
                               in.to_agency->value, in.service, std::string(UrgencyName(*in.urgency)), in.message,
                               in.consent_id, AddWorkingDays(now, days).micros, now.micros, now.micros}));
    const int64_t id = rows.at(0).Int(0);
    RETURN_IF_ERROR(tx.Execute(kInsertEvent, {id, std::string("sent"), std::string(), std::string("sent"),
                                              who.user.value, who.name, who.agency.value, now.micros, std::string()})
                        .status());
    RETURN_IF_ERROR(audit_.Append(tx, who,
                                  {"referral.send", "referral", std::to_string(id), in.person, true,
                                   fmt::format("{}; referred to agency {} on consent {}", d.reason,
                                               in.to_agency->value, in.consent_id)}));
    ASSIGN_OR_RETURN(std::vector<Referral> found, Load(tx, "WHERE r.id = ?", {id}, true));
    r = std::move(found.at(0));
    if (intake_ != nullptr) {
      WorkIn work{r.to_agency, "referral", id, r.person,
                  fmt::format("Referral from {}{}", r.from_agency_name, r.service.empty() ? "" : ": " + r.service),
                  {{"kind", std::string("referral")}, {"urgency", std::string(UrgencyName(r.urgency))}},
                  r.respond_by.UtcDate()};
      RETURN_IF_ERROR(WorkQueueService::Enqueue(tx, *intake_, outbox_, now, std::move(work)));
    }
    return outbox_.Append(tx, "referral.sent", "referral", std::to_string(id), EventPayload(r));
  }));
  return r;
}

StatusOr<Referral> ReferralService::Act(const authz::Principal& who, int64_t id, ReferralAction action,
                                        int64_t expected_version, const std::string& note) {
  // A joint team's member acts for the receiving agency on its referrals.
  ASSIGN_OR_RETURN(std::optional<authz::Principal> joint, ForReceiver(who, id, !BySender(action)));
  if (joint) return Act(*joint, id, action, expected_version, note);
  const bool needs_note = action == ReferralAction::kDecline || action == ReferralAction::kWithdraw ||
                          action == ReferralAction::kComplete || action == ReferralAction::kClose;
  if (needs_note && note.empty()) {
    const char* what = action == ReferralAction::kComplete || action == ReferralAction::kClose
                           ? "say what came of the referral (its outcome)"
                           : "give the reason";
    return Status::InvalidArgument("the referral action has invalid fields", {{"note", what}});
  }
  if (core::Utf8Length(note) > kMaxText) {
    return Status::InvalidArgument("the referral action has invalid fields", {{"note", "must be at most 2000 characters"}});
  }
  const std::string action_name(ReferralActionName(action));
  const std::string done(kDoneNames[static_cast<size_t>(action)]);
  std::optional<std::string> refusal;
  std::optional<core::PersonId> person;
  Referral out;
  Status s = db_.Write([&](storage::Transaction& tx) -> Status {
    std::string sql = "WHERE r.id = ?";
    if (tx.dialect() == storage::Dialect::kPostgres) sql += " FOR UPDATE OF r";
    ASSIGN_OR_RETURN(std::vector<Referral> found, Load(tx, sql, {id}, false));
    if (found.empty() || !IsParty(who, found[0])) return Status::NotFound(fmt::format("no referral has id {}", id));
    Referral r = std::move(found[0]);
    person = r.person;
    if (who.kind == authz::PrincipalKind::kCitizen) {
      refusal = "the person follows their referrals; the agencies act on them";
      return Status::Ok();
    }
    if (std::string why = Refusal(who, "referrals:write"); !why.empty()) {
      refusal = why;
      return Status::Ok();
    }
    const bool sender = who.agency == r.from_agency;
    if (BySender(action) != sender) {
      refusal = BySender(action) ? fmt::format("only {}, which sent the referral, may {} it", r.from_agency_name,
                                               action_name)
                                 : fmt::format("only {}, which received the referral, may {} it",
                                               r.to_agency_name, action_name);
      return Status::Ok();
    }
    if (r.version != expected_version) {
      return Status::Aborted(fmt::format("the referral changed since you loaded it (you had version {}, it is now "
                                         "version {}); reload it and try again",
                                         expected_version, r.version));
    }
    const std::vector<ReferralAction> allowed = AllowedActions(r.state);
    if (std::find(allowed.begin(), allowed.end(), action) == allowed.end()) {
      if (allowed.empty()) {
        return Status::FailedPrecondition(
            fmt::format("the referral is {}, which is final: it cannot be {}", Name(r.state), done));
      }
      return Status::FailedPrecondition(fmt::format("the referral is {}; from {} it may only be {}", Name(r.state),
                                                    Name(r.state), ActionList(allowed)));
    }
    const core::Timestamp now = clock_.Now();
    const ReferralState before = r.state;
    ReferralState after = before;
    switch (action) {
      case ReferralAction::kReceive:
        after = ReferralState::kReceived;
        break;
      case ReferralAction::kAccept:
        after = ReferralState::kAccepted;
        break;
      case ReferralAction::kDecline:
        after = ReferralState::kDeclined;
        break;
      case ReferralAction::kStart:
        after = ReferralState::kInProgress;
        break;
      case ReferralAction::kComplete:
        after = ReferralState::kCompleted;
        break;
      case ReferralAction::kClose:
        after = ReferralState::kClosed;
        break;
      case ReferralAction::kWithdraw:
        after = ReferralState::kWithdrawn;
        break;
    }
    const auto event = [&](const std::string& name, ReferralState from, ReferralState to, const std::string& text) {
      return tx.Execute(kInsertEvent, {id, name, Name(from), Name(to), who.user.value, who.name, who.agency.value,
                                       now.micros, text})
          .status();
    };
    ReferralState from = before;
    if (before == ReferralState::kSent &&
        (action == ReferralAction::kAccept || action == ReferralAction::kDecline)) {
      RETURN_IF_ERROR(event("received", before, ReferralState::kReceived, ""));
      from = ReferralState::kReceived;
    }
    RETURN_IF_ERROR(event(done, from, after, note));
    const bool answers = action == ReferralAction::kAccept || action == ReferralAction::kDecline;
    std::string reason = r.reason;
    std::string outcome = r.outcome;
    if (action == ReferralAction::kDecline || action == ReferralAction::kWithdraw) reason = note;
    if (action == ReferralAction::kComplete || action == ReferralAction::kClose) outcome = note;
    ASSIGN_OR_RETURN(int64_t changed,
                     tx.Execute("UPDATE referrals SET state = ?, reason = ?, outcome = ?, answered_at = "
                                "COALESCE(answered_at, ?), updated_at = ?, version = version + 1 WHERE id = ? AND "
                                "version = ?",
                                {Name(after), reason, outcome,
                                 answers ? storage::Value(now.micros) : storage::Value(storage::Null{}), now.micros,
                                 id, r.version}));
    if (changed != 1) return Status::Aborted("the referral changed during the update; try again");
    if (answers || action == ReferralAction::kWithdraw) {
      RETURN_IF_ERROR(WorkQueueService::Settle(tx, "referral", id, now, who.name));
    }
    RETURN_IF_ERROR(audit_.Append(tx, who,
                                  {"referral." + action_name, "referral", std::to_string(id), r.person, true,
                                   fmt::format("the referral went from {} to {}", Name(before), Name(after))}));
    ASSIGN_OR_RETURN(std::vector<Referral> updated, Load(tx, "WHERE r.id = ?", {id}, true));
    out = std::move(updated.at(0));
    return outbox_.Append(tx, "referral." + done, "referral", std::to_string(id), EventPayload(out));
  });
  RETURN_IF_ERROR(s);
  if (refusal) return DenyAudited(who, "referral." + action_name, std::to_string(id), person, *refusal);
  return out;
}

StatusOr<std::optional<authz::Principal>> ReferralService::ForReceiver(const authz::Principal& who, int64_t id,
                                                                      bool receiving_action) {
  std::optional<authz::Principal> out;
  if (who.kind != authz::PrincipalKind::kStaff) return out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT to_agency_id, from_agency_id FROM referrals WHERE id = ?", {id}));
    // The sending agency's staff see it as the sender, and act as the sender but on the
    // receiving side's steps.
    if (rows.empty() || rows.at(0).Int(0) == who.agency.value ||
        (rows.at(0).Int(1) == who.agency.value && !receiving_action)) {
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(out, ActingFor(tx, who, core::AgencyId{rows.at(0).Int(0)}, clock_.Now().UtcDate()));
    return Status::Ok();
  }));
  return out;
}

StatusOr<Referral> ReferralService::Get(const authz::Principal& who, int64_t id) {
  ASSIGN_OR_RETURN(std::optional<authz::Principal> joint, ForReceiver(who, id, false));
  if (joint) return Get(*joint, id);
  Referral out;
  std::optional<std::string> refusal;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<Referral> found, Load(tx, "WHERE r.id = ?", {id}, true));
    if (found.empty() || !IsParty(who, found[0])) return Status::NotFound(fmt::format("no referral has id {}", id));
    out = std::move(found[0]);
    if (who.kind != authz::PrincipalKind::kCitizen) {
      if (std::string why = Refusal(who, "referrals:read"); !why.empty()) {
        refusal = why;
        return Status::Ok();
      }
    }
    return audit_.Append(tx, who,
                         {"referral.read", "referral", std::to_string(id), out.person, true,
                          who.kind == authz::PrincipalKind::kCitizen ? "the person reads their own referral"
                          : who.agency == out.from_agency           ? "the agency sent the referral"
                                                                    : "the agency received the referral"});
  }));
  if (refusal) return DenyAudited(who, "referral.read", std::to_string(id), out.person, *refusal);
  return out;
}

StatusOr<ReferralPage> ReferralService::List(const authz::Principal& who, const ReferralQuery& q) {
  if (who.kind == authz::PrincipalKind::kCitizen) {
    return DenyAudited(who, "referral.list", "", std::nullopt, "a person reads their own referrals only");
  }
  if (std::string why = Refusal(who, "referrals:read"); !why.empty()) {
    return DenyAudited(who, "referral.list", "", std::nullopt, why);
  }
  std::vector<core::FieldError> errors;
  std::string state_sql;
  storage::Params params{who.agency.value};
  if (q.state == "open") {
    state_sql = " AND r.state IN ('sent', 'received', 'accepted', 'in_progress')";
  } else if (q.state != "all") {
    auto parsed = ParseReferralState(q.state);
    if (parsed.ok()) {
      state_sql = " AND r.state = ?";
      params.push_back(Name(*parsed));
    } else {
      errors.push_back({"state", "must be open, all or a state: sent, received, accepted, declined, in_progress, "
                                 "completed, closed or withdrawn"});
    }
  }
  if (q.limit < 1 || q.limit > 200) errors.push_back({"limit", "must be from 1 to 200"});
  if (q.after < 0) errors.push_back({"after", "must be a referral id"});
  if (!errors.empty()) return Status::InvalidArgument("the referral list has invalid parameters", std::move(errors));
  std::string where = q.box == Box::kReceived ? "WHERE r.to_agency_id = ?" : "WHERE r.from_agency_id = ?";
  where += state_sql;
  if (q.after > 0) {
    where += " AND r.id < ?";
    params.push_back(q.after);
  }
  where += " ORDER BY r.id DESC LIMIT ?";
  params.push_back(int64_t{q.limit} + 1);
  ReferralPage page;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(page.items, Load(tx, where, params, false));
    if (page.items.size() > static_cast<size_t>(q.limit)) {
      page.items.resize(static_cast<size_t>(q.limit));
      page.next = page.items.back().id;
    }
    // Each referral names a person: each is audited as a read of that person.
    for (const auto& r : page.items) {
      RETURN_IF_ERROR(audit_.Append(tx, who,
                                    {"referral.list", "referral", std::to_string(r.id), r.person, true,
                                     q.box == Box::kReceived ? "the agency's referrals received"
                                                             : "the agency's referrals sent"}));
    }
    return Status::Ok();
  }));
  return page;
}

StatusOr<std::vector<Referral>> ReferralService::ForPerson(const authz::Principal& who, core::PersonId person) {
  const bool citizen = who.kind == authz::PrincipalKind::kCitizen;
  if (citizen && !(who.person && *who.person == person)) {
    return DenyAudited(who, "referral.person", "", person, "a person sees their own referrals only");
  }
  if (!citizen) {
    if (std::string why = Refusal(who, "referrals:read"); !why.empty()) {
      return DenyAudited(who, "referral.person", "", person, why);
    }
  }
  std::vector<Referral> out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id FROM persons WHERE id = ?", {person.value}));
    if (rows.empty()) return Status::NotFound(fmt::format("no person has id {}", person.value));
    if (citizen) {
      ASSIGN_OR_RETURN(out, Load(tx, "WHERE r.person_id = ? ORDER BY r.id DESC", {person.value}, false));
    } else {
      ASSIGN_OR_RETURN(out, Load(tx,
                                 "WHERE r.person_id = ? AND (r.from_agency_id = ? OR r.to_agency_id = ?) "
                                 "ORDER BY r.id DESC",
                                 {person.value, who.agency.value, who.agency.value}, false));
    }
    return audit_.Append(tx, who,
                         {"referral.person", "person", std::to_string(person.value), person, true,
                          citizen ? "the person reads their own referrals"
                                  : "the referrals the agency sent or received"});
  }));
  return out;
}

Status ReferralService::CloseOnWithdrawnConsent(storage::Transaction& tx, audit::AuditLog& audit,
                                               exchange::Outbox& outbox, const authz::Principal& who,
                                               int64_t consent_id, core::Timestamp now) {
  ASSIGN_OR_RETURN(std::vector<Referral> open,
                   Load(tx, "WHERE r.consent_id = ? AND r.state IN ('sent', 'received', 'accepted', 'in_progress') "
                            "ORDER BY r.id",
                        {consent_id}, false));
  const std::string outcome = fmt::format("closed: the person withdrew consent {}, which the referral relied on",
                                          consent_id);
  for (const Referral& r : open) {
    RETURN_IF_ERROR(tx.Execute(kInsertEvent, {r.id, std::string("closed"), Name(r.state), Name(ReferralState::kClosed),
                                              who.user.value, who.name, who.agency.value, now.micros, outcome})
                        .status());
    RETURN_IF_ERROR(tx.Execute("UPDATE referrals SET state = 'closed', outcome = ?, updated_at = ?, version = version + 1 "
                               "WHERE id = ?",
                               {outcome, now.micros, r.id})
                        .status());
    RETURN_IF_ERROR(WorkQueueService::Settle(tx, "referral", r.id, now, who.name));
    RETURN_IF_ERROR(audit.Append(tx, who, {"referral.close", "referral", std::to_string(r.id), r.person, true,
                                           fmt::format("the referral went from {} to closed: consent {} withdrawn",
                                                       Name(r.state), consent_id)}));
    ASSIGN_OR_RETURN(std::vector<Referral> updated, Load(tx, "WHERE r.id = ?", {r.id}, false));
    RETURN_IF_ERROR(outbox.Append(tx, "referral.closed", "referral", std::to_string(r.id), EventPayload(updated.at(0))));
  }
  return Status::Ok();
}

}  // namespace cases
