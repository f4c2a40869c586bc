#include "http/api_work.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "http/json_body.h"
#include "http/problem.h"

namespace http {

using nlohmann::json;

json WorkItemJson(const cases::WorkItem& w) {
  return {{"id", w.id},
          {"agency_id", w.agency.value},
          {"source", {{"kind", w.source}, {"id", w.source_id}, {"page", w.Link()}}},
          {"person_id", w.person.value},
          {"title", w.title},
          {"complexity", w.complexity},
          {"tier", w.tier},
          {"rule", w.rule},
          {"team", w.team == 0 ? json(nullptr) : json{{"id", w.team}, {"name", w.team_name}}},
          {"state", w.state},
          {"assignee", w.assignee},
          {"escalated", w.escalated},
          {"due", w.due ? json(w.due->ToString()) : json(nullptr)},
          {"created_at", w.created_at.ToRfc3339()},
          {"version", w.version}};
}

json TeamJson(const cases::Team& t) {
  json members = json::array();
  for (const auto& [id, name] : t.members) members.push_back({{"user_id", id}, {"username", name}});
  json joint = json::array();
  for (const auto& j : t.joint) {
    joint.push_back({{"agency_id", j.agency.value}, {"name", j.name}, {"agreement_id", j.agreement}});
  }
  return {{"id", t.id},          {"agency_id", t.agency.value}, {"agency_name", t.agency_name},
          {"name", t.name},      {"tier", t.tier},              {"skills", t.skills},
          {"members", std::move(members)}, {"joint_for", std::move(joint)}};
}

void AddWorkRoutes(Router& router, cases::WorkQueueService& work) {
  router.Add({"GET", "/api/v1/teams", Auth::kApi, "listTeams", [&work](Context& ctx) {
                auto teams = work.Teams(ctx.Who());
                if (!teams.ok()) return Problem(teams.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& t : *teams) items.push_back(TeamJson(t));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
  router.Add({"POST", "/api/v1/teams", Auth::kApi, "createTeam", [&work](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"name", "tier", "skills"});
                const std::string name = r.String("name", true, 100);
                const std::string tier = r.String("tier", true, 20);
                std::vector<std::string> skills;
                if (const json* list = r.Array("skills", 20)) {
                  for (const auto& s : *list) {
                    if (s.is_string()) skills.push_back(s.get<std::string>());
                    else r.Error("skills", "must be a list of skill names");
                  }
                }
                if (auto s = r.Finish("the team has invalid fields"); !s.ok()) return Problem(s, ctx.request.request_id);
                auto team = work.CreateTeam(ctx.Who(), name, tier, skills);
                if (!team.ok()) return Problem(team.status(), ctx.request.request_id);
                return JsonResponse(201, TeamJson(*team));
              }});
  router.Add({"POST", "/api/v1/teams/{id}/members", Auth::kApi, "addTeamMember", [&work](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"user_id"});
                const auto user = r.OptInt("user_id");
                if (!user) r.Error("user_id", "give the staff member's user id");
                if (auto s = r.Finish("the member is not valid"); !s.ok()) return Problem(s, ctx.request.request_id);
                auto team = work.AddMember(ctx.Who(), *id, *user);
                if (!team.ok()) return Problem(team.status(), ctx.request.request_id);
                return JsonResponse(200, TeamJson(*team));
              }});
  router.Add({"DELETE", "/api/v1/teams/{id}/members/{user_id}", Auth::kApi, "removeTeamMember", [&work](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto user = ParseId(ctx.Param("user_id"), "user_id");
                if (!user.ok()) return Problem(user.status(), ctx.request.request_id);
                auto team = work.RemoveMember(ctx.Who(), *id, *user);
                if (!team.ok()) return Problem(team.status(), ctx.request.request_id);
                return JsonResponse(200, TeamJson(*team));
              }});
  router.Add({"POST", "/api/v1/teams/{id}/joint", Auth::kApi, "joinTeam", [&work](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"agreement_id"});
                const auto agreement = r.OptInt("agreement_id");
                if (!agreement) r.Error("agreement_id", "give the sharing agreement that allows it");
                if (auto s = r.Finish("the joint team has invalid fields"); !s.ok()) {
                  return Problem(s, ctx.request.request_id);
                }
                auto team = work.JoinTeam(ctx.Who(), *id, *agreement);
                if (!team.ok()) return Problem(team.status(), ctx.request.request_id);
                return JsonResponse(200, TeamJson(*team));
              }});
  router.Add({"DELETE", "/api/v1/teams/{id}/joint", Auth::kApi, "leaveTeam", [&work](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto team = work.LeaveTeam(ctx.Who(), *id);
                if (!team.ok()) return Problem(team.status(), ctx.request.request_id);
                return JsonResponse(200, TeamJson(*team));
              }});
  router.Add({"GET", "/api/v1/work", Auth::kApi, "listWork", [&work](Context& ctx) {
                auto queue = work.Queue(ctx.Who());
                if (!queue.ok()) return Problem(queue.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& w : *queue) items.push_back(WorkItemJson(w));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
  router.Add({"POST", "/api/v1/work/{id}/actions", Auth::kApi, "actOnWork", [&work](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"action", "version", "note", "user_id"});
                const std::string name = r.String("action", true, 20);
                auto action = cases::ParseWorkAction(name);
                if (!name.empty() && !action.ok()) r.Error("action", "must be claim, release, assign, escalate or done");
                const auto version = r.OptInt("version");
                if (!version) r.Error("version", "give the version of the work item");
                const std::string note = r.String("note", false, 2000);
                const int64_t user = r.OptInt("user_id").value_or(0);
                if (auto s = r.Finish("the action has invalid fields"); !s.ok()) return Problem(s, ctx.request.request_id);
                auto done = work.Act(ctx.Who(), *id, *action, *version, note, user);
                if (!done.ok()) {
                  return done.status().code() == core::StatusCode::kFailedPrecondition
                             ? Problem(done.status(), ctx.request.request_id, 409)
                             : Problem(done.status(), ctx.request.request_id);
                }
                return JsonResponse(200, WorkItemJson(*done));
              }});
}

}  // namespace http
