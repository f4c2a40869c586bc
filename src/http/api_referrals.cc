#include "http/api_referrals.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "http/json_body.h"
#include "http/problem.h"

namespace http {

using nlohmann::json;

json ReferralJson(const cases::Referral& r, core::Timestamp now) {
  json out = {{"id", r.id},
              {"person", {{"id", r.person.value}, {"name", r.person_name}}},
              {"from_agency", {{"id", r.from_agency.value}, {"name", r.from_agency_name}}},
              {"from_actor", r.from_actor},
              {"to_agency", {{"id", r.to_agency.value}, {"name", r.to_agency_name}}},
              {"service", r.service},
              {"urgency", std::string(cases::UrgencyName(r.urgency))},
              {"message", r.message},
              {"consent_id", r.consent_id},
              {"state", std::string(cases::ReferralStateName(r.state))},
              {"reason", r.reason},
              {"outcome", r.outcome},
              {"respond_by", r.respond_by.ToRfc3339()},
              {"answered_at", r.answered_at ? json(r.answered_at->ToRfc3339()) : json(nullptr)},
              {"overdue", r.OverdueAt(now)},
              {"created_at", r.created_at.ToRfc3339()},
              {"updated_at", r.updated_at.ToRfc3339()},
              {"version", r.version}};
  json actions = json::array();
  for (auto a : cases::AllowedActions(r.state)) actions.push_back(std::string(cases::ReferralActionName(a)));
  out["allowed_actions"] = std::move(actions);
  if (!r.events.empty()) {
    json events = json::array();
    for (const auto& e : r.events) {
      events.push_back({{"action", e.action},
                        {"from_state", e.from_state},
                        {"to_state", e.to_state},
                        {"actor", e.actor},
                        {"agency_id", e.agency.value},
                        {"at", e.at.ToRfc3339()},
                        {"note", e.note}});
    }
    out["events"] = std::move(events);
  }
  return out;
}

namespace {

// A transition the state does not allow is a conflict with that state.
Response ReferralProblem(const core::Status& s, const Request& request) {
  return s.code() == core::StatusCode::kFailedPrecondition ? Problem(s, request.request_id, 409)
                                                           : Problem(s, request.request_id);
}

}  // namespace

void AddReferralRoutes(Router& router, cases::ReferralService& referrals) {
  router.Add({"POST", "/api/v1/referrals", Auth::kApi, "sendReferral", [&referrals](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"person_id", "to_agency_id", "service", "urgency", "message", "consent_id"});
                cases::NewReferral in;
                const auto person = r.OptInt("person_id");
                if (!person || *person <= 0) r.Error("person_id", "give the id of the person referred");
                in.person = core::PersonId{person.value_or(0)};
                if (auto to = r.OptInt("to_agency_id")) in.to_agency = core::AgencyId{*to};
                in.service = r.String("service", false, 200);
                const std::string urgency = r.String("urgency", false, 20);
                if (!urgency.empty()) {
                  auto parsed = cases::ParseUrgency(urgency);
                  if (parsed.ok()) in.urgency = *parsed;
                  else r.Error("urgency", "must be routine, soon or urgent");
                }
                in.message = r.String("message", false, 2000);
                in.consent_id = r.OptInt("consent_id").value_or(0);
                // What could not be read is named with every other mistake, by the service.
                auto sent = referrals.Send(ctx.Who(), in, r.errors());
                if (!sent.ok()) return Problem(sent.status(), ctx.request.request_id);
                Response resp = JsonResponse(201, ReferralJson(*sent, referrals.Now()));
                resp.Header("Location", fmt::format("/api/v1/referrals/{}", sent->id));
                resp.Header("ETag", fmt::format("\"{}\"", sent->version));
                return resp;
              }});

  router.Add({"GET", "/api/v1/referrals", Auth::kApi, "listReferrals", [&referrals](Context& ctx) {
                std::vector<core::FieldError> errors;
                cases::ReferralQuery q;
                const std::string box = ctx.request.Query("box");
                if (box == "sent") q.box = cases::Box::kSent;
                else if (!box.empty() && box != "received") errors.push_back({"box", "must be received or sent"});
                if (auto v = ctx.request.Query("state"); !v.empty()) q.state = v;
                if (auto v = ctx.request.Query("after"); !v.empty() && v != "0") {
                  auto parsed = ParseId(v, "after");
                  if (parsed.ok()) q.after = *parsed;
                  else errors.push_back({"after", "must be the `next` of the page before"});
                }
                if (auto v = ctx.request.Query("limit"); !v.empty()) {
                  auto parsed = ParseId(v, "limit");
                  if (parsed.ok()) q.limit = static_cast<int>(std::min<int64_t>(*parsed, 100000));
                  else errors.push_back({"limit", "must be from 1 to 200"});
                }
                if (!errors.empty()) {
                  return Problem(core::Status::InvalidArgument("the query is not valid", std::move(errors)),
                                 ctx.request.request_id);
                }
                auto page = referrals.List(ctx.Who(), q);
                if (!page.ok()) return Problem(page.status(), ctx.request.request_id);
                const core::Timestamp now = referrals.Now();
                json items = json::array();
                for (const auto& r : page->items) items.push_back(ReferralJson(r, now));
                return JsonResponse(200, {{"items", std::move(items)},
                                          {"next", page->next ? json(*page->next) : json(nullptr)}});
              }});

  router.Add({"GET", "/api/v1/referrals/{id}", Auth::kApi, "getReferral", [&referrals](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto r = referrals.Get(ctx.Who(), *id);
                if (!r.ok()) return Problem(r.status(), ctx.request.request_id);
                Response resp = JsonResponse(200, ReferralJson(*r, referrals.Now()));
                resp.Header("ETag", fmt::format("\"{}\"", r->version));
                return resp;
              }});

  router.Add({"POST", "/api/v1/referrals/{id}/actions", Auth::kApi, "actOnReferral", [&referrals](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"action", "version", "note"});
                const std::string name = r.String("action", true, 20);
                auto action = cases::ParseReferralAction(name);
                if (!name.empty() && !action.ok()) {
                  r.Error("action", "must be receive, accept, decline, start, complete, close or withdraw");
                }
                const auto version = r.OptInt("version");
                if (!version) r.Error("version", "give the version of the referral you are acting on");
                const std::string note = r.String("note", false, 2000);
                if (auto s = r.Finish("the referral action has invalid fields"); !s.ok())
                  return Problem(s, ctx.request.request_id);
                auto done = referrals.Act(ctx.Who(), *id, *action, *version, note);
                if (!done.ok()) return ReferralProblem(done.status(), ctx.request);
                Response resp = JsonResponse(200, ReferralJson(*done, referrals.Now()));
                resp.Header("ETag", fmt::format("\"{}\"", done->version));
                return resp;
              }});

  router.Add({"GET", "/api/v1/persons/{id}/referrals", Auth::kApi, "listPersonReferrals",
              [&referrals](Context& ctx) {
                auto person = ParseId(ctx.Param("id"), "id");
                if (!person.ok()) return Problem(person.status(), ctx.request.request_id);
                auto list = referrals.ForPerson(ctx.Who(), core::PersonId{*person});
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                const core::Timestamp now = referrals.Now();
                json items = json::array();
                for (const auto& r : *list) items.push_back(ReferralJson(r, now));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
}

}  // namespace http
