#include "cases/work_queue.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <set>

#include "access/access_gate.h"
#include "core/utf8.h"
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

// A joint team's agreement, in force on the day given twice as parameters.
constexpr char kAgreementInForce[] =
    "JOIN sharing_agreements sa ON sa.id = ta.agreement_id AND sa.state = 'approved' AND sa.valid_from <= ? AND "
    "(sa.valid_to IS NULL OR sa.valid_to >= ?) ";

StatusOr<std::vector<Team>> LoadTeams(storage::Transaction& tx, const std::string& where, const storage::Params& p) {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT teams.id, teams.agency_id, teams.name, teams.tier, teams.skills, ag.name FROM teams "
                            "JOIN agencies ag ON ag.id = teams.agency_id " +
                                where,
                            p));
  std::vector<Team> out;
  for (const auto& r : rows) {
    Team t{r.Int(0), core::AgencyId{r.Int(1)}, r.Text(2), r.Text(3), Split(r.Text(4)), {}, r.Text(5), {}};
    ASSIGN_OR_RETURN(storage::Rows m, tx.Query("SELECT user_id, username FROM team_members WHERE team_id = ? ORDER BY "
                                               "username",
                                               {t.id}));
    for (const auto& row : m) t.members.emplace_back(row.Int(0), row.Text(1));
    ASSIGN_OR_RETURN(storage::Rows j, tx.Query("SELECT ta.agency_id, a.name, ta.agreement_id FROM team_agencies ta JOIN "
                                               "agencies a ON a.id = ta.agency_id WHERE ta.team_id = ? ORDER BY a.name",
                                               {t.id}));
    for (const auto& row : j) t.joint.push_back({core::AgencyId{row.Int(0)}, row.Text(1), row.Int(2)});
    out.push_back(std::move(t));
  }
  return out;
}

// The team for `agency`'s work of `tier`: the joint teams the agency gave its work to (under an
// agreement in force on `today`) before its own teams, the first with every skill asked for; else
// the first joint team of the tier, else its own first; 0 when there is none.
StatusOr<int64_t> PickTeam(storage::Transaction& tx, core::AgencyId agency, const std::string& tier,
                           const std::vector<std::string>& skills, core::Date today) {
  ASSIGN_OR_RETURN(std::vector<Team> own,
                   LoadTeams(tx, "WHERE teams.agency_id = ? AND teams.tier = ? ORDER BY teams.id", {agency.value, tier}));
  ASSIGN_OR_RETURN(std::vector<Team> joint,
                   LoadTeams(tx,
                             std::string("WHERE teams.tier = ? AND teams.id IN (SELECT ta.team_id FROM team_agencies ta ") +
                                 kAgreementInForce + "WHERE ta.agency_id = ?) ORDER BY teams.id",
                             {tier, today.ToString(), today.ToString(), agency.value}));
  for (const auto* list : {&joint, &own}) {
    for (const auto& t : *list) {
      if (std::all_of(skills.begin(), skills.end(), [&](const std::string& s) {
            return std::find(t.skills.begin(), t.skills.end(), s) != t.skills.end();
          })) {
        return t.id;
      }
    }
  }
  if (!joint.empty()) return joint.front().id;
  return own.empty() ? int64_t{0} : own.front().id;
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
  ASSIGN_OR_RETURN(int64_t team, PickTeam(tx, in.agency, d.tier, d.skills, now.UtcDate()));
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
  if (name.empty() || core::Utf8Length(name) > 100)
    errors.push_back({"name", "give the team a name, 1 to 100 characters"});
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
    ASSIGN_OR_RETURN(std::vector<Team> teams, LoadTeams(tx, "WHERE teams.id = ?", {id}));
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
    ASSIGN_OR_RETURN(std::vector<Team> teams, LoadTeams(tx, "WHERE teams.id = ? AND teams.agency_id = ?", {team, who.agency.value}));
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
    ASSIGN_OR_RETURN(teams, LoadTeams(tx, "WHERE teams.id = ?", {team}));
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
    ASSIGN_OR_RETURN(out, LoadTeams(tx,
                                    "WHERE teams.agency_id = ? OR teams.id IN (SELECT team_id FROM team_agencies WHERE "
                                    "agency_id = ?) ORDER BY CASE WHEN teams.agency_id = ? THEN 0 ELSE 1 END, "
                                    "teams.tier, teams.name",
                                    {who.agency.value, who.agency.value, who.agency.value}));
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
    // Members: the work of their teams, joint teams' work of other agencies included. Managers:
    // their agency's work, and whatever is at its teams.
    std::string where = "WHERE w.state <> 'done'";
    storage::Params params;
    if (who.HasRole(authz::Role::kManager)) {
      where += " AND (w.agency_id = ? OR w.team_id IN (SELECT id FROM teams WHERE agency_id = ?))";
      params = {who.agency.value, who.agency.value};
    } else {
      where += " AND w.team_id IN (SELECT tm.team_id FROM team_members tm JOIN teams t ON t.id = tm.team_id "
               "WHERE tm.user_id = ? AND t.agency_id = ?)";
      params = {who.user.value, who.agency.value};
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
    bool ours = !found.empty() && who.kind != authz::PrincipalKind::kCitizen && found[0].agency == who.agency;
    if (!found.empty() && !ours && who.kind != authz::PrincipalKind::kCitizen && found[0].team != 0) {
      // Work of another agency at one of ours: a joint team's.
      ASSIGN_OR_RETURN(storage::Rows t, tx.Query("SELECT agency_id FROM teams WHERE id = ?", {found[0].team}));
      ours = !t.empty() && t.at(0).Int(0) == who.agency.value;
    }
    if (!ours) return Status::NotFound(fmt::format("your agency has no work item {}", id));
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
    // Claimed work is the claimer's: another member may not give it back or send it on.
    if (action == WorkAction::kRelease && !assignee && !manager) {
      why = "only the one who has the work, or a manager, releases it";
    }
    if (action == WorkAction::kEscalate && !manager &&
        (w.state == "claimed" ? !assignee : !in_team)) {
      why = w.state == "claimed" ? "only the one who has the work, or a manager, escalates it"
                                 : "only the team's members and managers escalate its work";
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
        ASSIGN_OR_RETURN(int64_t specialists, PickTeam(tx, w.agency, "specialist", {}, now.UtcDate()));
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

StatusOr<Team> WorkQueueService::RemoveMember(const authz::Principal& who, int64_t team, int64_t user) {
  if (!Manages(who)) return Status::PermissionDenied("team members are removed by the agency's managers and administrators");
  Team out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<Team> teams,
                     LoadTeams(tx, "WHERE teams.id = ? AND teams.agency_id = ?", {team, who.agency.value}));
    if (teams.empty()) return Status::NotFound(fmt::format("your agency has no team {}", team));
    ASSIGN_OR_RETURN(storage::Rows in, tx.Query("SELECT username FROM team_members WHERE team_id = ? AND user_id = ?",
                                                {team, user}));
    if (in.empty()) {
      return Status::InvalidArgument("the member is not valid", {{"user_id", "not a member of the team"}});
    }
    const std::string username = in.at(0).Text(0);
    const core::Timestamp now = clock_.Now();
    // Their claimed work at the team goes back to it, open, for another member.
    ASSIGN_OR_RETURN(std::vector<WorkItem> held,
                     LoadItems(tx, "WHERE w.team_id = ? AND w.assignee_user_id = ? AND w.state = 'claimed'", {team, user}));
    for (const auto& w : held) {
      RETURN_IF_ERROR(tx.Execute("UPDATE work_items SET state = 'open', assignee_user_id = NULL, assignee = '', "
                                 "updated_at = ?, version = version + 1 WHERE id = ?",
                                 {now.micros, w.id})
                          .status());
      RETURN_IF_ERROR(tx.Execute("INSERT INTO work_events (item_id, at, actor, action, note) VALUES (?, ?, ?, 'release', ?)",
                                 {w.id, now.micros, who.name, fmt::format("{} left the team", username)})
                          .status());
      RETURN_IF_ERROR(audit_.Append(tx, who, {"work.release", "work_item", std::to_string(w.id), w.person, true,
                                              fmt::format("from claimed to open: {} left the team", username)}));
      ASSIGN_OR_RETURN(std::vector<WorkItem> updated, LoadItems(tx, "WHERE w.id = ?", {w.id}));
      RETURN_IF_ERROR(outbox_.Append(tx, "work.released", "work_item", std::to_string(w.id), Payload(updated.at(0))));
    }
    RETURN_IF_ERROR(tx.Execute("DELETE FROM team_members WHERE team_id = ? AND user_id = ?", {team, user}).status());
    RETURN_IF_ERROR(audit_.Append(tx, who, {"team.remove_member", "team", std::to_string(team), std::nullopt, true,
                                            fmt::format("{}; {} claimed items back to the team", username, held.size())}));
    ASSIGN_OR_RETURN(teams, LoadTeams(tx, "WHERE teams.id = ?", {team}));
    out = std::move(teams.at(0));
    return Status::Ok();
  }));
  return out;
}

namespace {

// The agreement that lets `team_agency` receive `agency`'s data for case work or service
// delivery, approved and in force on `today`: kInvalidArgument (agreement_id) otherwise.
Status CheckJointAgreement(storage::Transaction& tx, int64_t agreement, core::AgencyId agency,
                           core::AgencyId team_agency, const std::string& team_agency_name, core::Date today) {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT receiving_agency_id, holding_agency_id, purpose, state, valid_from, valid_to "
                            "FROM sharing_agreements WHERE id = ?",
                            {agreement}));
  auto invalid = [](const std::string& m) {
    return Status::InvalidArgument("the joint team has invalid fields", {{"agreement_id", m}});
  };
  if (rows.empty()) return invalid(fmt::format("no sharing agreement has id {}", agreement));
  const auto& r = rows.at(0);
  if (r.Int(0) != team_agency.value) {
    return invalid(fmt::format("the agreement does not let {} receive your agency's data", team_agency_name));
  }
  if (r.OptInt(1) && *r.OptInt(1) != agency.value) return invalid("the agreement is about another agency's data");
  if (r.Text(2) != "case_work" && r.Text(2) != "service_delivery") {
    return invalid("the agreement is not for case work or service delivery");
  }
  const std::string day = today.ToString();
  if (r.Text(3) != "approved" || r.Text(4) > day || (r.OptText(5) && *r.OptText(5) < day)) {
    return invalid("the agreement is not approved and in force today");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Team> WorkQueueService::JoinTeam(const authz::Principal& who, int64_t team, int64_t agreement) {
  if (!Manages(who)) {
    return Status::PermissionDenied("an agency's managers and administrators decide who does its work");
  }
  Team out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<Team> teams, LoadTeams(tx, "WHERE teams.id = ?", {team}));
    if (teams.empty()) return Status::NotFound(fmt::format("no team has id {}", team));
    const Team& t = teams.front();
    if (t.agency == who.agency) {
      return Status::InvalidArgument("the joint team has invalid fields",
                                     {{"team_id", "the team is your own agency's: it does your work already"}});
    }
    RETURN_IF_ERROR(CheckJointAgreement(tx, agreement, who.agency, t.agency, t.agency_name, clock_.Now().UtcDate()));
    ASSIGN_OR_RETURN(storage::Rows in, tx.Query("SELECT 1 FROM team_agencies WHERE team_id = ? AND agency_id = ?",
                                                {team, who.agency.value}));
    if (in.empty()) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO team_agencies (team_id, agency_id, agreement_id, added_at, added_by) "
                                 "VALUES (?, ?, ?, ?, ?)",
                                 {team, who.agency.value, agreement, clock_.Now().micros, who.name})
                          .status());
      RETURN_IF_ERROR(audit_.Append(tx, who, {"team.join", "team", std::to_string(team), std::nullopt, true,
                                              fmt::format("{} does the agency's work under agreement {}", t.name,
                                                          agreement)}));
    }
    ASSIGN_OR_RETURN(teams, LoadTeams(tx, "WHERE teams.id = ?", {team}));
    out = std::move(teams.at(0));
    return Status::Ok();
  }));
  return out;
}

StatusOr<Team> WorkQueueService::LeaveTeam(const authz::Principal& who, int64_t team) {
  if (!Manages(who)) {
    return Status::PermissionDenied("an agency's managers and administrators decide who does its work");
  }
  Team out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows in, tx.Query("SELECT 1 FROM team_agencies WHERE team_id = ? AND agency_id = ?",
                                                {team, who.agency.value}));
    if (in.empty()) return Status::NotFound(fmt::format("team {} does not do your agency's work", team));
    RETURN_IF_ERROR(
        tx.Execute("DELETE FROM team_agencies WHERE team_id = ? AND agency_id = ?", {team, who.agency.value}).status());
    // The agency's unfinished work there is routed again, open, among what does its work now.
    const core::Timestamp now = clock_.Now();
    ASSIGN_OR_RETURN(std::vector<WorkItem> left,
                     LoadItems(tx, "WHERE w.team_id = ? AND w.agency_id = ? AND w.state <> 'done'", {team, who.agency.value}));
    for (const auto& w : left) {
      ASSIGN_OR_RETURN(storage::Rows skills, tx.Query("SELECT skills FROM work_items WHERE id = ?", {w.id}));
      ASSIGN_OR_RETURN(int64_t next, PickTeam(tx, w.agency, w.tier, Split(skills.at(0).Text(0)), now.UtcDate()));
      RETURN_IF_ERROR(tx.Execute("UPDATE work_items SET team_id = ?, state = 'open', assignee_user_id = NULL, "
                                 "assignee = '', updated_at = ?, version = version + 1 WHERE id = ?",
                                 {next != 0 ? storage::Value(next) : storage::Value(storage::Null{}), now.micros, w.id})
                          .status());
      RETURN_IF_ERROR(tx.Execute("INSERT INTO work_events (item_id, at, actor, action, note) VALUES (?, ?, ?, 'release', ?)",
                                 {w.id, now.micros, who.name, std::string("the agency took its work back from the joint team")})
                          .status());
      RETURN_IF_ERROR(audit_.Append(tx, who, {"work.release", "work_item", std::to_string(w.id), w.person, true,
                                              "the agency took its work back from the joint team"}));
      ASSIGN_OR_RETURN(std::vector<WorkItem> updated, LoadItems(tx, "WHERE w.id = ?", {w.id}));
      RETURN_IF_ERROR(outbox_.Append(tx, "work.released", "work_item", std::to_string(w.id), Payload(updated.at(0))));
    }
    RETURN_IF_ERROR(audit_.Append(tx, who, {"team.leave", "team", std::to_string(team), std::nullopt, true,
                                            fmt::format("{} work items routed again", left.size())}));
    ASSIGN_OR_RETURN(std::vector<Team> teams, LoadTeams(tx, "WHERE teams.id = ?", {team}));
    if (!teams.empty()) out = std::move(teams.front());
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<JointCandidate>> WorkQueueService::JointCandidates(const authz::Principal& who) {
  if (!Manages(who)) return Status::PermissionDenied("an agency's managers and administrators decide who does its work");
  std::vector<JointCandidate> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    const std::string day = clock_.Now().UtcDate().ToString();
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT receiving_agency_id, MIN(id) FROM sharing_agreements WHERE state = 'approved' AND "
                              "valid_from <= ? AND (valid_to IS NULL OR valid_to >= ?) AND receiving_agency_id <> ? AND "
                              "(holding_agency_id IS NULL OR holding_agency_id = ?) AND purpose IN ('case_work', "
                              "'service_delivery') GROUP BY receiving_agency_id ORDER BY receiving_agency_id",
                              {day, day, who.agency.value, who.agency.value}));
    for (const auto& r : rows) {
      ASSIGN_OR_RETURN(std::vector<Team> teams, LoadTeams(tx, "WHERE teams.agency_id = ? ORDER BY teams.tier, teams.name",
                                                          {r.Int(0)}));
      for (auto& t : teams) out.push_back({std::move(t), r.Int(1)});
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::optional<authz::Principal>> ActingFor(storage::Transaction& tx, const authz::Principal& who,
                                                    core::AgencyId agency, core::Date today) {
  if (who.kind != authz::PrincipalKind::kStaff || who.agency == agency || !who.user.valid()) {
    return std::optional<authz::Principal>();
  }
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query(std::string("SELECT a.name FROM team_agencies ta JOIN team_members tm ON tm.team_id = "
                                        "ta.team_id JOIN teams t ON t.id = ta.team_id JOIN agencies a ON a.id = "
                                        "ta.agency_id ") +
                                kAgreementInForce + "WHERE ta.agency_id = ? AND tm.user_id = ? AND t.agency_id = ? LIMIT 1",
                            {today.ToString(), today.ToString(), agency.value, who.user.value, who.agency.value}));
  if (rows.empty()) return std::optional<authz::Principal>();
  authz::Principal as = who;
  as.agency = agency;
  as.name = fmt::format("{} for {}", who.name, rows.at(0).Text(0));
  return std::optional<authz::Principal>(std::move(as));
}

StatusOr<bool> WorkQueueService::ActsFor(const authz::Principal& who, core::AgencyId agency) {
  bool out = false;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::optional<authz::Principal> as, ActingFor(tx, who, agency, clock_.Now().UtcDate()));
    out = as.has_value();
    return Status::Ok();
  }));
  return out;
}

}  // namespace cases
