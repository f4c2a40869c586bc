#include "http/api_match.h"

#include <nlohmann/json.hpp>

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

}  // namespace

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
