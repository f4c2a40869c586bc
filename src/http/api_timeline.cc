#include "http/api_timeline.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "http/api_interactions.h"
#include "http/json_body.h"
#include "http/problem.h"

namespace http {

core::StatusOr<std::vector<cases::TimelineEntry>> FullPersonTimeline(
    const authz::Principal& who, core::PersonId person, cases::ReferralService* referrals, cases::CaseService* cases,
    cases::ApplicationService* applications, cases::DocumentService* documents,
    frontoffice::InteractionService* interactions) {
  auto entries = cases::PersonTimeline(who, person, referrals, cases, applications, documents);
  if (!entries.ok()) return entries.status();
  if (interactions != nullptr && authz::HasClientRole(who)) {
    auto contacts = interactions->ForPerson(who, person);
    if (contacts.ok()) {
      for (auto& e : ContactEntries(contacts->items, person.value)) entries->push_back(std::move(e));
      std::stable_sort(entries->begin(), entries->end(),
                       [](const cases::TimelineEntry& a, const cases::TimelineEntry& b) { return a.at > b.at; });
    } else if (contacts.status().code() != core::StatusCode::kPermissionDenied) {
      return contacts.status();
    }
  }
  return entries;
}

void AddTimelineRoutes(Router& router, cases::ReferralService* referrals, cases::CaseService* cases,
                       cases::ApplicationService* applications, cases::DocumentService* documents,
                       frontoffice::InteractionService* interactions) {
  router.Add({"GET", "/api/v1/persons/{id}/timeline", Auth::kApi, "getPersonTimeline",
              [=](Context& ctx) {
                auto person = ParseId(ctx.Param("id"), "id");
                if (!person.ok()) return Problem(person.status(), ctx.request.request_id);
                auto entries = FullPersonTimeline(ctx.Who(), core::PersonId{*person}, referrals, cases, applications,
                                                  documents, interactions);
                if (!entries.ok()) return Problem(entries.status(), ctx.request.request_id);
                nlohmann::json items = nlohmann::json::array();
                for (const auto& e : *entries) {
                  items.push_back({{"at", e.at.ToRfc3339()}, {"kind", e.kind}, {"text", e.text}, {"link", e.link}});
                }
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
}

}  // namespace http
