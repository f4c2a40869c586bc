// The work queue page: the open work of the caller's teams (a manager sees all of the
// agency's), with claim, release, escalate and done; the same service as the API.

#include <fmt/format.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <sstream>

#include "http/json_body.h"
#include "http/page_support.h"
#include "i18n/messages.h"
#include "http/request.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;
using page_support::T;
using page_support::Trim;

// A tier in words, in the request's language: "front line" or "specialist"; `capital` for a tag.
std::string TierText(const PageDeps& deps, const Context& ctx, const std::string& tier, bool capital) {
  if (tier == "specialist") return T(deps, ctx, capital ? "Specialist" : "specialist");
  return T(deps, ctx, capital ? "Front line" : "front line");
}

// How complex the intake rules found a piece of work, in words.
std::string ComplexityText(const PageDeps& deps, const Context& ctx, const std::string& complexity) {
  if (complexity == "simple") return T(deps, ctx, "simple");
  if (complexity == "complex") return T(deps, ctx, "complex");
  return complexity;
}

// A service's message as a sentence on the page, in the request's language when the catalogue
// has it; never read as a pattern (it may carry a value with braces or quotes).
std::string Said(const PageDeps& deps, const Context& ctx, const std::string& message) {
  return page_support::Said(deps, ctx, page_support::Capitalised(message));
}

Response QueuePage(const PageDeps& deps, const Context& ctx, int status, const std::string& error) {
  auto queue = deps.work->Queue(ctx.Who());
  if (!queue.ok()) return ErrorFor(deps, ctx, queue.status());
  json d = Common(deps, ctx, "Work queue", "work");
  const auto& who = ctx.Who();
  const bool manager = who.HasRole(authz::Role::kManager);
  d["is_manager"] = manager;
  std::string teams;
  if (auto list = deps.work->Teams(who); list.ok()) {
    for (const auto& t : *list) {
      for (const auto& [id, name] : t.members) {
        if (id == who.user.value) teams += (teams.empty() ? "" : ", ") + t.name;
      }
    }
  }
  d["team_names"] = teams.empty() ? T(deps, ctx, "none yet; ask a manager to add you to a team") : teams;
  const core::Date today = deps.referrals != nullptr ? deps.referrals->Now().UtcDate() : core::Date{};
  json items = json::array();
  for (const auto& w : *queue) {
    const bool mine = w.assignee_user == who.user.value;
    items.push_back({{"id", w.id},
                     {"version", w.version},
                     {"title", w.title},
                     {"link", w.Link()},
                     {"state", T(deps, ctx, w.state == "open" ? "Waiting" : "Claimed")},
                     {"state_class", w.state == "open" ? "govuk-tag--blue" : "govuk-tag--purple"},
                     {"team", w.team == 0 ? T(deps, ctx, "No team of this tier yet") : w.team_name},
                     {"tier", TierText(deps, ctx, w.tier, false)},
                     {"complexity", ComplexityText(deps, ctx, w.complexity)},
                     {"rule", w.rule},
                     {"escalated", w.escalated},
                     {"has_due", w.due.has_value()},
                     {"due", w.due ? w.due->ToString() : ""},
                     {"overdue", w.due && *w.due < today},
                     {"has_assignee", !w.assignee.empty()},
                     {"assignee", w.assignee},
                     {"can_claim", w.state == "open"},
                     {"can_done", w.state == "claimed" && mine},
                     {"can_release", w.state == "claimed" && (mine || manager)},
                     {"can_escalate", w.tier != "specialist"}});
  }
  d["has_items"] = !items.empty();
  d["items"] = std::move(items);
  if (!error.empty()) {
    d["has_errors"] = true;
    d["errors"] = json::array({{{"message", error}, {"href", "#main-content"}}});
  }
  return Render(deps, status, "work", d);
}

Response TeamsPage(const PageDeps& deps, const Context& ctx, int status, const std::vector<core::FieldError>& errors) {
  const auto& who = ctx.Who();
  auto teams = deps.work->Teams(who);
  if (!teams.ok()) return ErrorFor(deps, ctx, teams.status());
  json d = Common(deps, ctx, "Teams", "teams");
  const bool manager = who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin});
  d["manager"] = manager;
  json staff = json::array();
  if (manager) {
    auto users = deps.accounts.ListUsers(who, who.agency);
    if (users.ok()) {
      for (const auto& u : *users) {
        if (u.kind == accounts::AccountKind::kStaff && u.active) {
          staff.push_back({{"id", u.id.value}, {"label", u.display_name + " (" + u.username + ")"}});
        }
      }
    }
  }
  json list = json::array();
  json others = json::array();  // other agencies' teams that do this agency's work
  for (const auto& t : *teams) {
    std::string skills;
    for (const auto& s : t.skills) skills += (skills.empty() ? "" : ", ") + s;
    json members = json::array();
    for (const auto& [id, name] : t.members) members.push_back({{"user_id", id}, {"username", name}, {"team_id", t.id}});
    std::string joint;
    for (const auto& j : t.joint) joint += (joint.empty() ? "" : ", ") + j.name;
    json row = {{"id", t.id},
                {"name", t.name},
                {"tier", TierText(deps, ctx, t.tier, true)},
                {"has_skills", !skills.empty()},
                {"skills", skills},
                {"has_members", !members.empty()},
                {"member_list", std::move(members)},
                {"has_joint", !joint.empty()},
                {"joint", joint},
                {"team_agency", t.agency_name},
                {"staff", staff}};
    (t.agency == who.agency ? list : others).push_back(std::move(row));
  }
  d["teams"] = std::move(list);
  d["has_joint_teams"] = !others.empty();
  d["joint_teams"] = std::move(others);
  if (manager && who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin})) {
    auto candidates = deps.work->JointCandidates(who);
    if (candidates.ok()) {
      json choices = json::array();
      for (const auto& c : *candidates) {
        const bool already = std::any_of(c.team.joint.begin(), c.team.joint.end(),
                                         [&](const cases::JointAgency& j) { return j.agency == who.agency; });
        if (already) continue;
        const std::string label =
            T(deps, ctx, "{team}, {agency} ({tier}), under agreement {agreement, number, ::group-off}",
              {{"team", c.team.name},
               {"agency", c.team.agency_name},
               {"tier", TierText(deps, ctx, c.team.tier, false)},
               {"agreement", std::to_string(c.agreement)}});
        choices.push_back({{"value", fmt::format("{}:{}", c.team.id, c.agreement)}, {"label", label}});
      }
      d["has_candidates"] = !choices.empty();
      d["candidates"] = std::move(choices);
    }
  }
  json summary = json::array();
  for (const auto& e : errors) {
    const std::string message = Said(deps, ctx, e.message);
    d["e_" + e.field] = message;
    summary.push_back({{"message", message}, {"href", "#" + e.field}});
  }
  d["has_errors"] = !errors.empty();
  d["errors"] = std::move(summary);
  return Render(deps, status, "teams", d);
}

}  // namespace

void AddWorkPages(Router& router, const PageDeps& deps) {
  if (deps.work == nullptr) return;
  router.Add({"GET", "/work", Auth::kPage, "", [&deps](Context& ctx) {
                Response r = QueuePage(deps, ctx, 200, "");
                return r;
              }});
  router.Add({"GET", "/teams", Auth::kPage, "", [&deps](Context& ctx) { return TeamsPage(deps, ctx, 200, {}); }});
  router.Add({"POST", "/teams", Auth::kPage, "", [&deps](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                std::vector<std::string> skills;
                std::istringstream words(FormValue(form, "skills"));
                for (std::string w; words >> w;) skills.push_back(w);
                auto team = deps.work->CreateTeam(ctx.Who(), Trim(FormValue(form, "name")), FormValue(form, "tier"), skills);
                if (team.ok()) return Response::Redirect("/teams");
                if (team.status().code() == core::StatusCode::kInvalidArgument) {
                  return TeamsPage(deps, ctx, 400, team.status().fields());
                }
                return ErrorFor(deps, ctx, team.status());
              }});
  router.Add({"POST", "/teams/{id}/members", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                if (!ctx.Who().HasAnyRole({authz::Role::kManager, authz::Role::kAdmin})) {
                  return ErrorFor(deps, ctx, core::Status::PermissionDenied(
                                                 "team members are added by the agency's managers and administrators"));
                }
                const auto form = ParseForm(ctx.request.body);
                auto user = ParseId(FormValue(form, "user_id"), "user_id");
                if (!user.ok()) return TeamsPage(deps, ctx, 400, {{"user_id", "choose a staff member"}});
                auto team = deps.work->AddMember(ctx.Who(), *id, *user);
                if (team.ok()) return Response::Redirect("/teams");
                if (team.status().code() == core::StatusCode::kInvalidArgument) {
                  return TeamsPage(deps, ctx, 400, team.status().fields());
                }
                return ErrorFor(deps, ctx, team.status());
              }});
  router.Add({"POST", "/teams/{id}/members/{user_id}/remove", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                auto user = ParseId(ctx.Param("user_id"), "user_id");
                if (!id.ok() || !user.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such member"));
                auto team = deps.work->RemoveMember(ctx.Who(), *id, *user);
                if (team.ok()) return Response::Redirect("/teams");
                if (team.status().code() == core::StatusCode::kInvalidArgument) {
                  return TeamsPage(deps, ctx, 400, team.status().fields());
                }
                return ErrorFor(deps, ctx, team.status());
              }});
  router.Add({"POST", "/teams/joint", Auth::kPage, "", [&deps](Context& ctx) {
                if (!ctx.Who().HasAnyRole({authz::Role::kManager, authz::Role::kAdmin})) {
                  return ErrorFor(deps, ctx, core::Status::PermissionDenied(
                                                 "an agency's managers and administrators decide who does its work"));
                }
                const auto form = ParseForm(ctx.request.body);
                const std::string choice = FormValue(form, "choice");
                int64_t team = 0;
                int64_t agreement = 0;
                if (std::sscanf(choice.c_str(), "%" SCNd64 ":%" SCNd64, &team, &agreement) != 2) {
                  return TeamsPage(deps, ctx, 400, {{"choice", "choose the team that is to do your work"}});
                }
                auto joined = deps.work->JoinTeam(ctx.Who(), team, agreement);
                if (joined.ok()) return Response::Redirect("/teams");
                if (joined.status().code() == core::StatusCode::kInvalidArgument) {
                  std::vector<core::FieldError> errors;
                  for (const auto& f : joined.status().fields()) errors.push_back({"choice", f.message});
                  return TeamsPage(deps, ctx, 400, errors);
                }
                return ErrorFor(deps, ctx, joined.status());
              }});
  router.Add({"POST", "/teams/{id}/leave", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                auto left = deps.work->LeaveTeam(ctx.Who(), *id);
                if (left.ok()) return Response::Redirect("/teams");
                return ErrorFor(deps, ctx, left.status());
              }});
  router.Add({"POST", "/work/{id}", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                if (!authz::HasClientRole(ctx.Who())) {
                  return ErrorFor(deps, ctx,
                                  core::Status::PermissionDenied("work queues are for staff who work with clients"));
                }
                const auto form = ParseForm(ctx.request.body);
                auto action = cases::ParseWorkAction(FormValue(form, "action"));
                int64_t version = 0;
                try {
                  version = std::stoll(FormValue(form, "version"));
                } catch (const std::exception&) {
                  return ErrorFor(deps, ctx, core::Status::NotFound("the form is missing the version; reload the page"));
                }
                if (!action.ok()) return QueuePage(deps, ctx, 400, T(deps, ctx, "Choose what to do"));
                auto done = deps.work->Act(ctx.Who(), *id, *action, version, Trim(FormValue(form, "note")));
                if (done.ok()) return Response::Redirect("/work");
                const auto code = done.status().code();
                if (code == core::StatusCode::kInvalidArgument || code == core::StatusCode::kFailedPrecondition ||
                    code == core::StatusCode::kAborted) {
                  const std::string message = Said(deps, ctx, done.status().fields().empty()
                                                                  ? done.status().message()
                                                                  : done.status().fields().front().message);
                  return QueuePage(deps, ctx, code == core::StatusCode::kInvalidArgument ? 400 : 409, message);
                }
                return ErrorFor(deps, ctx, done.status());
              }});
}

}  // namespace http
