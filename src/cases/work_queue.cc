#include "cases/work_queue.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <set>

#include "access/access_gate.h"
#include "registry/change_notices.h"

namespace cases {

using core::Status;
using core::StatusOr;

namespace {

constexpr std::string_view kSelectItem =
    "SELECT w.id, w.agency_id, w.source, w.source_id, w.person_id, w.title, w.complexity, w.tier, w.rule, w.team_id, "
    "t.name, w.state, w.assignee_user_id, w.assignee, w.escalated, w.due, w.created_at, w.version, CASE WHEN "
    "w.source = 'application_part' THEN (SELECT p.application_id FROM application_parts p WHERE p.id = w.source_id) "
    "WHEN w.source = 'case_action' THEN (SELECT i.case_id FROM case_items i WHERE i.id = w.source_id) END "
    "FROM work_items w "
    "LEFT JOIN teams t ON t.id = w.team_id ";

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool Manages(const authz::Principal& who) {
  return who.kind == authz::PrincipalKind::kStaff && who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin});
}

StatusOr<std::vector<WorkItem>> LoadItems(storage::Transaction& tx, const std::string& where,
                                          const storage::Params& params) {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(std::string(kSelectItem) + where, params));
  std::vector<WorkItem> out;
  for (const auto& r : rows) {
    WorkItem w;
    w.id = r.Int(0);
    w.agency = core::AgencyId{r.Int(1)};
    w.source = r.Text(2);
    w.source_id = r.Int(3);
    w.person = core::PersonId{r.Int(4)};
    w.title = r.Text(5);
    w.complexity = r.Text(6);
    w.tier = r.Text(7);
    w.rule = r.Text(8);
    w.team = r.OptInt(9).value_or(0);
    w.team_name = r.OptText(10).value_or("");
    w.state = r.Text(11);
    w.assignee_user = r.OptInt(12).value_or(0);
    w.assignee = r.Text(13);
    w.escalated = r.Int(14) != 0;
    if (auto due = r.OptText(15)) {
      auto d = core::Date::Parse(*due);
      if (d.ok()) w.due = *d;
    }
    w.created_at = core::Timestamp{r.Int(16)};
    w.version = r.Int(17);
    w.parent = r.OptInt(18).value_or(0);
    out.push_back(std::move(w));
  }
  return out;
}

StatusOr<std::vector<Team>> LoadTeams(storage::Transaction& tx, const std::string& where, const storage::Params& p) {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id, agency_id, name, tier, skills FROM teams " + where, p));
  std::vector<Team> out;
  for (const auto& r : rows) {
    Team t{r.Int(0), core::AgencyId{r.Int(1)}, r.Text(2), r.Text(3), Split(r.Text(4)), {}};
    ASSIGN_OR_RETURN(storage::Rows m, tx.Query("SELECT user_id, username FROM team_members WHERE team_id = ? ORDER BY "
                                               "username",
                                               {t.id}));
    for (const auto& row : m) t.members.emplace_back(row.Int(0), row.Text(1));
    out.push_back(std::move(t));
  }
  return out;
}

// The team of `agency` for `tier` that has every skill asked for, or any team of the tier.
StatusOr<int64_t> PickTeam(storage::Transaction& tx, core::AgencyId agency, const std::string& tier,
                           const std::vector<std::string>& skills) {
  ASSIGN_OR_RETURN(std::vector<Team> teams,
                   LoadTeams(tx, "WHERE agency_id = ? AND tier = ? ORDER BY id", {agency.value, tier}));
  for (const auto& t : teams) {
    if (std::all_of(skills.begin(), skills.end(), [&](const std::string& s) {
          return std::find(t.skills.begin(), t.skills.end(), s) != t.skills.end();
        })) {
      return t.id;
    }
  }
  return teams.empty() ? int64_t{0} : teams.front().id;
}

// API tokens need the scope: cases:read to read the queue, cases:write to act on it.
std::string TokenRefusal(const authz::Principal& who, std::string_view scope) {
  if (who.kind == authz::PrincipalKind::kSystem && (who.scopes.empty() || !who.HasScope(scope))) {
    return fmt::format("the API token lacks the scope {}", scope);
  }
  return "";
}

std::string Payload(const WorkItem& w) {
  return fmt::format(R"({{"work_id":{},"agency_id":{},"source":"{}","source_id":{},"person_id":{},"state":"{}","tier":"{}"}})",
                     w.id, w.agency.value, w.source, w.source_id, w.person.value, w.state, w.tier);
}

}  // namespace

std::string WorkItem::Link() const {
  if (source == "referral") return fmt::format("/referrals/{}", source_id);
  if (source == "case_action") return parent != 0 ? fmt::format("/cases/{}", parent) : "/cases";
  return parent != 0 ? fmt::format("/applications/{}", parent) : "/applications";
}

StatusOr<WorkAction> ParseWorkAction(std::string_view name) {
  if (name == "claim") return WorkAction::kClaim;
  if (name == "release") return WorkAction::kRelease;
  if (name == "assign") return WorkAction::kAssign;
  if (name == "escalate") return WorkAction::kEscalate;
  if (name == "done") return WorkAction::kDone;
  return Status::InvalidArgument("unknown action; use claim, release, assign, escalate or done");
}

WorkQueueService::WorkQueueService(storage::Database& db, const IntakeRules& intake, audit::AuditLog& audit,
                                   exchange::Outbox& outbox, const core::Clock& clock)
    : db_(db), intake_(intake), audit_(audit), outbox_(outbox), clock_(clock) {}

Status WorkQueueService::Enqueue(storage::Transaction& tx, const IntakeRules& intake, exchange::Outbox& outbox,
                                 core::Timestamp now, WorkIn in) {
  ASSIGN_OR_RETURN(std::vector<registry::KnownBy> known, registry::AgenciesThatKnow(tx, in.person));
  std::set<int64_t> agencies;
  for (const auto& k : known) agencies.insert(k.agency.value);
  in.facts["agencies"] = static_cast<double>(agencies.size());
  for (const char* text : {"kind", "urgency", "program"}) {
    if (!in.facts.count(text)) in.facts[text] = std::string();
  }
  if (!in.facts.count("expedited")) in.facts["expedited"] = false;
  ASSIGN_OR_RETURN(IntakeDecision d, intake.Route(in.facts));
  ASSIGN_OR_RETURN(int64_t team, PickTeam(tx, in.agency, d.tier, d.skills));
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("INSERT INTO work_items (agency_id, source, source_id, person_id, title, complexity, tier, "
                            "skills, rule, team_id, state, assignee, escalated, due, created_at, updated_at, version) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', '', 0, ?, ?, ?, 1) RETURNING id",
                            {in.agency.value, in.source, in.source_id, in.person.value, in.title, d.complexity, d.tier,
                             Join(d.skills), d.rule, team != 0 ? storage::Value(team) : storage::Value(storage::Null{}),
                             in.due ? storage::Value(in.due->ToString()) : storage::Value(storage::Null{}), now.micros,
                             now.micros}));
  WorkItem w;
  w.id = rows.at(0).Int(0);
  w.agency = in.agency;
  w.source = in.source;
  w.source_id = in.source_id;
  w.person = in.person;
  w.state = "open";
  w.tier = d.tier;
  return outbox.Append(tx, "work.queued", "work_item", std::to_string(w.id), Payload(w));
}

Status WorkQueueService::Settle(storage::Transaction& tx, const std::string& source, int64_t source_id,
                                core::Timestamp now, const std::string& by) {
  return tx
      .Execute("UPDATE work_items SET state = 'done', assignee = CASE WHEN assignee = '' THEN ? ELSE assignee END, "
               "updated_at = ?, version = version + 1 WHERE source = ? AND source_id = ? AND state <> 'done'",
               {by, now.micros, source, source_id})
      .status();
}

StatusOr<Team> WorkQueueService::CreateTeam(const authz::Principal& who, const std::string& name,
                                            const std::string& tier, const std::vector<std::string>& skills) {
  if (!Manages(who)) return Status::PermissionDenied("teams are set up by the agency's managers and administrators");
  std::vector<core::FieldError> errors;
  if (name.empty() || name.size() > 100) errors.push_back({"name", "give the team a name, 1 to 100 characters"});
  if (tier != "front_line" && tier != "specialist") errors.push_back({"tier", "must be front_line or specialist"});
  static const std::regex kSkill("^[a-z][a-z0-9_]{0,39}$");
  for (const auto& s : skills) {
    if (!std::regex_match(s, kSkill)) {
      errors.push_back({"skills", fmt::format("'{}' is not a skill name: lower case letters, digits and _", s)});
      break;
    }
  }
  if (!errors.empty()) return Status::InvalidArgument("the team has invalid fields", std::move(errors));
  Team out;
  Status s = db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows same, tx.Query("SELECT 1 FROM teams WHERE agency_id = ? AND name = ?",
                                                  {who.agency.value, name}));
    if (!same.empty()) {
      return Status::InvalidArgument("the team has invalid fields", {{"name", "your agency has a team of that name"}});
    }
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("INSERT INTO teams (agency_id, name, tier, skills, created_at) VALUES "
                                                  "(?, ?, ?, ?, ?) RETURNING id",
                                                  {who.agency.value, name, tier, Join(skills), clock_.Now().micros}));
    const int64_t id = rows.at(0).Int(0);
    RETURN_IF_ERROR(audit_.Append(tx, who, {"team.create", "team", std::to_string(id), std::nullopt, true, tier}));
    ASSIGN_OR_RETURN(std::vector<Team> teams, LoadTeams(tx, "WHERE id = ?", {id}));
    out = std::move(teams.at(0));
    return Status::Ok();
  });
  RETURN_IF_ERROR(s);
  return out;
}

StatusOr<Team> WorkQueueService::AddMember(const authz::Principal& who, int64_t team, int64_t user) {
  if (!Manages(who)) return Status::PermissionDenied("team members are added by the agency's managers and administrators");
  Team out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<Team> teams, LoadTeams(tx, "WHERE id = ? AND agency_id = ?", {team, who.agency.value}));
    if (teams.empty()) return Status::NotFound(fmt::format("your agency has no team {}", team));
    ASSIGN_OR_RETURN(storage::Rows users, tx.Query("SELECT username FROM users WHERE id = ? AND agency_id = ?",
                                                   {user, who.agency.value}));
    if (users.empty()) {
      return Status::InvalidArgument("the member is not valid", {{"user_id", "not a staff member of your agency"}});
    }
    ASSIGN_OR_RETURN(storage::Rows in, tx.Query("SELECT 1 FROM team_members WHERE team_id = ? AND user_id = ?",
                                                {team, user}));
    if (in.empty()) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO team_members (team_id, user_id, username) VALUES (?, ?, ?)",
                                 {team, user, users[0].Text(0)})
                          .status());
      RETURN_IF_ERROR(audit_.Append(tx, who, {"team.add_member", "team", std::to_string(team), std::nullopt, true,
                                              users[0].Text(0)}));
    }
    ASSIGN_OR_RETURN(teams, LoadTeams(tx, "WHERE id = ?", {team}));
    out = std::move(teams.at(0));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Team>> WorkQueueService::Teams(const authz::Principal& who) {
  if (who.kind == authz::PrincipalKind::kCitizen || !who.agency.valid()) {
    return Status::PermissionDenied("teams are an agency's staff's");
  }
  std::vector<Team> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, LoadTeams(tx, "WHERE agency_id = ? ORDER BY tier, name", {who.agency.value}));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<WorkItem>> WorkQueueService::Queue(const authz::Principal& who) {
  if (who.kind == authz::PrincipalKind::kCitizen || !authz::HasClientRole(who)) {
    return Status::PermissionDenied("work queues are for staff who work with clients");
  }
  if (std::string why = TokenRefusal(who, "cases:read"); !why.empty()) return Status::PermissionDenied(why);
  std::vector<WorkItem> out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    std::string where = "WHERE w.agency_id = ? AND w.state <> 'done'";
    storage::Params params{who.agency.value};
    if (!who.HasRole(authz::Role::kManager)) {
      where += " AND w.team_id IN (SELECT team_id FROM team_members WHERE user_id = ?)";
      params.push_back(who.user.value);
    }
    where += " ORDER BY CASE WHEN w.team_id IS NULL THEN 0 ELSE 1 END, CASE WHEN w.due IS NULL THEN 1 ELSE 0 END, "
             "w.due, w.id LIMIT 500";
    ASSIGN_OR_RETURN(out, LoadItems(tx, where, params));
    for (const auto& w : out) {
      RETURN_IF_ERROR(audit_.Append(tx, who, {"work.list", "work_item", std::to_string(w.id), w.person, true,
                                              "the agency's work queue"}));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<WorkItem> WorkQueueService::Act(const authz::Principal& who, int64_t id, WorkAction action, int64_t version,
                                         const std::string& note, int64_t user) {
  static const char* kNames[] = {"claim", "release", "assign", "escalate", "done"};
  const std::string name = kNames[static_cast<int>(action)];
  if (action == WorkAction::kEscalate && (note.empty() || note.size() > 2000)) {
    return Status::InvalidArgument("the action has invalid fields", {{"note", "say why it needs a specialist"}});
  }
  std::optional<std::string> refusal;
  std::optional<core::PersonId> person;
  WorkItem out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    std::string where = "WHERE w.id = ?";
    if (tx.dialect() == storage::Dialect::kPostgres) where += " FOR UPDATE OF w";
    ASSIGN_OR_RETURN(std::vector<WorkItem> found, LoadItems(tx, where, {id}));
    if (found.empty() || who.kind == authz::PrincipalKind::kCitizen || found[0].agency != who.agency) {
      return Status::NotFound(fmt::format("your agency has no work item {}", id));
    }
    WorkItem w = std::move(found[0]);
    person = w.person;
    ASSIGN_OR_RETURN(storage::Rows member, tx.Query("SELECT 1 FROM team_members WHERE team_id = ? AND user_id = ?",
                                                    {w.team, who.user.value}));
    const bool manager = who.HasRole(authz::Role::kManager);
    const bool in_team = !member.empty();
    const bool assignee = w.assignee_user != 0 && w.assignee_user == who.user.value;
    std::string why = TokenRefusal(who, "cases:write");
    if (action == WorkAction::kClaim && !in_team && !manager) why = "only the team's members claim its work";
    if (action == WorkAction::kAssign && !manager) why = "managers assign work";
    if ((action == WorkAction::kRelease || action == WorkAction::kEscalate) && !assignee && !manager && !in_team) {
      why = "only the team's members and managers release or escalate its work";
    }
    if (action == WorkAction::kDone && !assignee) why = "only the one who has the work marks it done";
    if (!why.empty()) {
      refusal = why;
      return Status::Ok();
    }
    if (w.version != version) {
      return Status::Aborted(fmt::format("the work item changed since you loaded it (you had version {}, it is now "
                                         "version {}); reload and try again",
                                         version, w.version));
    }
    const char* allowed = w.state == "open" ? "claim, assign or escalate" : w.state == "claimed" ? "release, assign, escalate or done" : "";
    const bool ok = (w.state == "open" && (action == WorkAction::kClaim || action == WorkAction::kAssign ||
                                           action == WorkAction::kEscalate)) ||
                    (w.state == "claimed" && action != WorkAction::kClaim);
    if (!ok) {
      if (w.state == "done") return Status::FailedPrecondition("the work item is done, which is final");
      return Status::FailedPrecondition(
          fmt::format("the work item is {}; it may only be given {}", w.state, allowed));
    }
    const core::Timestamp now = clock_.Now();
    std::string state = w.state;
    int64_t assignee_user = w.assignee_user;
    std::string assignee_name = w.assignee;
    int64_t team = w.team;
    std::string tier = w.tier;
    bool escalated = w.escalated;
    switch (action) {
      case WorkAction::kClaim:
        state = "claimed";
        assignee_user = who.user.value;
        assignee_name = who.name;
        break;
      case WorkAction::kRelease:
        state = "open";
        assignee_user = 0;
        assignee_name.clear();
        break;
      case WorkAction::kAssign: {
        ASSIGN_OR_RETURN(storage::Rows u, tx.Query("SELECT username FROM team_members WHERE team_id = ? AND user_id = ?",
                                                   {w.team, user}));
        if (u.empty()) {
          return Status::InvalidArgument("the action has invalid fields",
                                         {{"user_id", "assign the work to a member of its team"}});
        }
        state = "claimed";
        assignee_user = user;
        assignee_name = u[0].Text(0);
        break;
      }
      case WorkAction::kEscalate: {
        if (w.tier == "specialist") {
          return Status::FailedPrecondition("the work is with the specialists already");
        }
        ASSIGN_OR_RETURN(int64_t specialists, PickTeam(tx, w.agency, "specialist", {}));
        if (specialists == 0) {
          return Status::FailedPrecondition("your agency has no specialist team to escalate to");
        }
        state = "open";
        assignee_user = 0;
        assignee_name.clear();
        team = specialists;
        tier = "specialist";
        escalated = true;
        break;
      }
      case WorkAction::kDone:
        state = "done";
        break;
    }
    ASSIGN_OR_RETURN(int64_t changed,
                     tx.Execute("UPDATE work_items SET state = ?, assignee_user_id = ?, assignee = ?, team_id = ?, "
                                "tier = ?, escalated = ?, updated_at = ?, version = version + 1 WHERE id = ? AND "
                                "version = ?",
                                {state, assignee_user != 0 ? storage::Value(assignee_user) : storage::Value(storage::Null{}),
                                 assignee_name, team != 0 ? storage::Value(team) : storage::Value(storage::Null{}), tier,
                                 int64_t{escalated ? 1 : 0}, now.micros, id, w.version}));
    if (changed != 1) return Status::Aborted("the work item changed during the update; try again");
    RETURN_IF_ERROR(tx.Execute("INSERT INTO work_events (item_id, at, actor, action, note) VALUES (?, ?, ?, ?, ?)",
                               {id, now.micros, who.name, name, note})
                        .status());
    RETURN_IF_ERROR(audit_.Append(tx, who, {"work." + name, "work_item", std::to_string(id), w.person, true,
                                            fmt::format("from {} to {}", w.state, state)}));
    ASSIGN_OR_RETURN(std::vector<WorkItem> updated, LoadItems(tx, "WHERE w.id = ?", {id}));
    out = std::move(updated.at(0));
    const std::string type = action == WorkAction::kClaim     ? "work.claimed"
                             : action == WorkAction::kRelease  ? "work.released"
                             : action == WorkAction::kAssign   ? "work.assigned"
                             : action == WorkAction::kEscalate ? "work.escalated"
                                                               : "work.done";
    return outbox_.Append(tx, type, "work_item", std::to_string(id), Payload(out));
  }));
  if (refusal) {
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
      return audit_.Append(tx, who, {"work." + name, "work_item", std::to_string(id), person, false, *refusal});
    }));
    return Status::PermissionDenied(*refusal);
  }
  return out;
}

}  // namespace cases
