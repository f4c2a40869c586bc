#include "http/api_timeline.h"

#include <nlohmann/json.hpp>

#include "http/json_body.h"
#include "http/problem.h"

namespace http {

void AddTimelineRoutes(Router& router, cases::ReferralService* referrals, cases::CaseService* cases,
                       cases::ApplicationService* applications, cases::DocumentService* documents) {
  router.Add({"GET", "/api/v1/persons/{id}/timeline", Auth::kApi, "getPersonTimeline",
              [=](Context& ctx) {
                auto person = ParseId(ctx.Param("id"), "id");
                if (!person.ok()) return Problem(person.status(), ctx.request.request_id);
                auto entries = cases::PersonTimeline(ctx.Who(), core::PersonId{*person}, referrals, cases,
                                                     applications, documents);
                if (!entries.ok()) return Problem(entries.status(), ctx.request.request_id);
                nlohmann::json items = nlohmann::json::array();
                for (const auto& e : *entries) {
                  items.push_back({{"at", e.at.ToRfc3339()}, {"kind", e.kind}, {"text", e.text}, {"link", e.link}});
                }
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
}

}  // namespace http
