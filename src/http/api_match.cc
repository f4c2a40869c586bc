#include "http/api_match.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>

#include "http/json_body.h"
#include "http/problem.h"
#include "identity/matcher.h"

namespace http {

namespace {

using nlohmann::json;

json MatchCandidateJson(const identity::MatchCandidate& c) {
  json fields = json::array();
  for (const auto& f : c.explanation.fields) {
    fields.push_back({{"field", identity::FeatureName(f.feature)}, {"level", f.level}, {"weight", f.weight}});
  }
  return {{"person_id", c.person.value},
          {"name", c.name},
          {"birth_date", c.birth_date.empty() ? json(nullptr) : json(c.birth_date)},
          {"probability", c.probability},
          {"weight", c.weight},
          {"explanation", {{"prior_weight", c.explanation.prior_weight}, {"fields", std::move(fields)}}}};
}

json SideJson(const identity::ReviewSide& s) {
  authz::Decision all = authz::SeeEverything("");
  json person = registry::ToJson(s.data, all);
  person.erase("id");
  person.erase("version");
  return {{"source_record_id", s.record.value},
          {"agency_id", s.agency.value},
          {"local_id", s.local_id},
          {"person_id", s.person ? json(s.person->value) : json(nullptr)},
          {"data", std::move(person)}};
}

json ReviewJson(const identity::MatchReview& r) {
  json explanation = json::parse(r.explanation, nullptr, false);
  return {{"id", r.id},
          {"state", r.state},
          {"weight", r.weight},
          {"probability", r.probability},
          {"explanation", explanation.is_discarded() ? json::object() : explanation},
          {"a", SideJson(r.a)},
          {"b", SideJson(r.b)},
          {"created_at", r.created_at.ToRfc3339()},
          {"decided_by", r.decided_by ? json(*r.decided_by) : json(nullptr)},
          {"decided_at", r.decided_at ? json(r.decided_at->ToRfc3339()) : json(nullptr)},
          {"reason", r.reason}};
}

}  // namespace

void AddReviewRoutes(Router& router, identity::ReviewService& reviews) {
  router.Add({"GET", "/api/v1/match-reviews", Auth::kApi, "listMatchReviews", [&reviews](Context& ctx) {
                const std::string state = ctx.request.Query("state").empty() ? "pending" : ctx.request.Query("state");
                int limit = 20;
                int64_t after = 0;
                if (!ctx.request.Query("limit").empty()) {
                  auto l = ParseId(ctx.request.Query("limit"), "limit");
                  if (!l.ok()) return Problem(l.status(), ctx.request.request_id);
                  limit = static_cast<int>(std::min<int64_t>(*l, 1000));
                }
                if (!ctx.request.Query("after").empty()) {
                  auto a = ParseId(ctx.request.Query("after"), "after");
                  if (!a.ok()) return Problem(a.status(), ctx.request.request_id);
                  after = *a;
                }
                auto list = reviews.List(ctx.Who(), state, limit, after);
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& r : *list) items.push_back(ReviewJson(r));
                json body = {{"items", std::move(items)}};
                body["next"] = static_cast<int>(list->size()) == limit ? json(list->back().id) : json(nullptr);
                return JsonResponse(200, body);
              }});
  router.Add({"GET", "/api/v1/match-reviews/{id}", Auth::kApi, "getMatchReview", [&reviews](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto r = reviews.Get(ctx.Who(), *id);
                if (!r.ok()) return Problem(r.status(), ctx.request.request_id);
                return JsonResponse(200, ReviewJson(*r));
              }});
  router.Add({"POST", "/api/v1/match-reviews/{id}/decision", Auth::kApi, "decideMatchReview",
              [&reviews](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"decision", "reason"});
                const std::string decision = r.String("decision", true, 20);
                const std::string reason = r.String("reason", false, 500);
                if (r.errors().empty() && decision != "same" && decision != "not_same") {
                  r.Error("decision", "must be same or not_same");
                }
                if (auto s = r.Finish("the decision has invalid fields"); !s.ok()) return Problem(s, ctx.request.request_id);
                auto done = reviews.Decide(ctx.Who(), *id,
                                           decision == "same" ? identity::ReviewDecision::kSame
                                                              : identity::ReviewDecision::kNotSame,
                                           reason);
                if (!done.ok()) return Problem(done.status(), ctx.request.request_id);
                return JsonResponse(200, ReviewJson(*done));
              }});
}

void AddMatchRoutes(Router& router, identity::MatchService& match) {
  router.Add({"POST", "/api/v1/match", Auth::kApi, "matchPerson", [&match](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"person", "limit"});
                auto limit = r.OptInt("limit");
                const json* person = r.Object("person");
                if (person == nullptr && r.errors().empty()) r.Error("person", "is required");
                if (auto s = r.Finish("the match request has invalid fields"); !s.ok()) {
                  return Problem(s, ctx.request.request_id);
                }
                auto probe = registry::FromJson(*person);
                if (!probe.ok()) {
                  std::vector<core::FieldError> errors;
                  for (const auto& fe : probe.status().fields()) errors.push_back({"person/" + fe.field, fe.message});
                  return Problem(core::Status::InvalidArgument("the person has invalid fields", std::move(errors)),
                                 ctx.request.request_id);
                }
                auto found = match.Match(ctx.Who(), *probe, static_cast<int>(limit.value_or(5)));
                if (!found.ok()) return Problem(found.status(), ctx.request.request_id);
                json candidates = json::array();
                for (const auto& c : *found) candidates.push_back(MatchCandidateJson(c));
                return JsonResponse(200, {{"candidates", std::move(candidates)}});
              }});
}

}  // namespace http
