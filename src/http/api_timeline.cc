#include "http/api_timeline.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "http/api_interactions.h"
#include "http/json_body.h"
#include "http/problem.h"

namespace http {

void AddTimelineRoutes(Router& router, cases::ReferralService* referrals, cases::CaseService* cases,
                       cases::ApplicationService* applications, cases::DocumentService* documents,
                       frontoffice::InteractionService* interactions) {
  router.Add({"GET", "/api/v1/persons/{id}/timeline", Auth::kApi, "getPersonTimeline",
              [=](Context& ctx) {
                auto person = ParseId(ctx.Param("id"), "id");
                if (!person.ok()) return Problem(person.status(), ctx.request.request_id);
                auto entries = cases::PersonTimeline(ctx.Who(), core::PersonId{*person}, referrals, cases,
                                                     applications, documents);
                if (!entries.ok()) return Problem(entries.status(), ctx.request.request_id);
                // The contacts, where the caller's roles work with clients and the gate shows them.
                if (interactions != nullptr && authz::HasClientRole(ctx.Who())) {
                  auto contacts = interactions->ForPerson(ctx.Who(), core::PersonId{*person});
                  if (contacts.ok()) {
                    for (auto& e : ContactEntries(contacts->items, *person)) entries->push_back(std::move(e));
                    std::stable_sort(entries->begin(), entries->end(),
                                     [](const cases::TimelineEntry& a, const cases::TimelineEntry& b) { return a.at > b.at; });
                  } else if (contacts.status().code() != core::StatusCode::kPermissionDenied) {
                    return Problem(contacts.status(), ctx.request.request_id);
                  }
                }
                nlohmann::json items = nlohmann::json::array();
                for (const auto& e : *entries) {
                  items.push_back({{"at", e.at.ToRfc3339()}, {"kind", e.kind}, {"text", e.text}, {"link", e.link}});
                }
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
}

}  // namespace http
