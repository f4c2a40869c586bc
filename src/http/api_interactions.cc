#include "http/api_interactions.h"

#include <nlohmann/json.hpp>

#include "http/json_body.h"
#include "http/problem.h"

namespace http {

using nlohmann::json;

json InteractionJson(const frontoffice::Interaction& i) {
  json out = {
      {"id", i.id},
      {"person_id", i.person ? json(i.person->value) : json(nullptr)},
      {"agency", {{"id", i.agency.value}, {"name", i.agency_name}}},
      {"office", i.office ? json{{"id", *i.office}, {"name", i.office_name}} : json(nullptr)},
      {"channel", i.channel},
      {"topic", i.topic},
      {"service_id", i.service_id.empty() ? json(nullptr) : json(i.service_id)},
      {"outcome", i.outcome},
      {"duration_minutes", i.duration_seconds ? json(*i.duration_seconds / 60) : json(nullptr)},
      {"at", i.at.ToRfc3339()},
      {"satisfaction", i.satisfaction ? json(*i.satisfaction) : json(nullptr)}};
  if (i.own) {
    out["recorded_by"] = i.recorded_by;
    out["note"] = i.note;
    out["satisfaction_comment"] = i.satisfaction_comment;
  }
  return out;
}

std::vector<cases::TimelineEntry> ContactEntries(const std::vector<frontoffice::Interaction>& contacts,
                                                 int64_t person_id) {
  std::vector<cases::TimelineEntry> out;
  for (const auto& i : contacts) {
    std::string channel = frontoffice::ChannelLabel(i.channel);
    channel[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(channel[0])));
    std::string outcome = frontoffice::OutcomeLabel(i.outcome);
    outcome[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(outcome[0])));
    out.push_back({i.at, "contact",
                   "Contact " + channel + " with " + i.agency_name + ": " + i.topic + " (" + outcome + ")",
                   "/clients/" + std::to_string(person_id) + "/timeline?kind=contact"});
  }
  return out;
}

void AddInteractionRoutes(Router& router, frontoffice::InteractionService& interactions) {
  router.Add({"POST", "/api/v1/interactions", Auth::kApi, "recordInteraction", [&interactions](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"person_id", "office_id", "channel", "topic", "service_id", "outcome",
                                 "duration_minutes", "note"});
                frontoffice::NewInteraction in;
                if (auto p = r.OptInt("person_id")) in.person = core::PersonId{*p};
                in.office = r.OptInt("office_id");
                in.channel = r.String("channel", false, 20);
                in.topic = r.String("topic", false, 1000);
                in.service_id = r.String("service_id", false, 100);
                in.outcome = r.String("outcome", false, 20);
                in.duration_minutes = r.OptInt("duration_minutes");
                in.note = r.String("note", false, 100000);
                if (auto s = r.Finish("the contact has invalid fields"); !s.ok()) {
                  return Problem(s, ctx.request.request_id);
                }
                auto rec = interactions.Record(ctx.Who(), in);
                if (!rec.ok()) return Problem(rec.status(), ctx.request.request_id);
                json out = InteractionJson(rec->interaction);
                out["feedback_url"] = "/feedback/" + rec->feedback_token;
                return JsonResponse(201, out);
              }});
  router.Add({"GET", "/api/v1/interactions", Auth::kApi, "listAgencyInteractions", [&interactions](Context& ctx) {
                const std::string date = ctx.request.Query("date");
                core::Date day = interactions.Today();
                if (!date.empty()) {
                  auto parsed = core::Date::Parse(date);
                  if (!parsed.ok()) {
                    return Problem(core::Status::InvalidArgument("date must be a date, like 2026-12-02",
                                                                 {{"date", parsed.status().message()}}),
                                   ctx.request.request_id);
                  }
                  day = *parsed;
                }
                auto items = interactions.AgencyDay(ctx.Who(), day);
                if (!items.ok()) return Problem(items.status(), ctx.request.request_id);
                json list = json::array();
                for (const auto& i : *items) list.push_back(InteractionJson(i));
                return JsonResponse(200, {{"items", std::move(list)}});
              }});
  router.Add({"POST", "/api/v1/interactions/{id}/rating", Auth::kApi, "rateInteraction", [&interactions](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"score", "comment"});
                const auto score = r.OptInt("score");
                if (!score) r.Error("score", "give a score from 1 to 5");
                const std::string comment = r.String("comment", false, 1000);
                if (auto s = r.Finish("the rating has invalid fields"); !s.ok()) return Problem(s, ctx.request.request_id);
                auto rated = interactions.Rate(ctx.Who(), *id, static_cast<int>(*score), comment);
                if (!rated.ok()) return Problem(rated.status(), ctx.request.request_id);
                return JsonResponse(200, InteractionJson(*rated));
              }});
  router.Add({"GET", "/api/v1/persons/{id}/interactions", Auth::kApi, "listPersonInteractions",
              [&interactions](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto contacts = interactions.ForPerson(ctx.Who(), core::PersonId{*id});
                if (!contacts.ok()) return Problem(contacts.status(), ctx.request.request_id);
                json list = json::array();
                for (const auto& i : contacts->items) list.push_back(InteractionJson(i));
                return JsonResponse(200, {{"items", std::move(list)},
                                          {"withheld", contacts->withheld.empty() ? json(nullptr)
                                                                                  : json(contacts->withheld)}});
              }});
}

}  // namespace http
