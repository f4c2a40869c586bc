#include "http/api_screenings.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "eligibility/decimal.h"
#include "eligibility/evaluator.h"
#include "http/json_body.h"
#include "http/problem.h"

namespace http {
namespace {

using nlohmann::json;

json RecordJson(const eligibility::ScreeningRecord& r) {
  json body = json::parse(r.result_json, nullptr, false);
  if (body.is_discarded()) body = json::object();
  body["id"] = r.id == 0 ? json(nullptr) : json(r.id);
  body["household_id"] = r.household ? json(r.household->value) : json(nullptr);
  body["created_at"] = r.created_at.ToRfc3339();
  return body;
}

std::string TypeName(const eligibility::Symbol& s) {
  switch (s.type) {
    case eligibility::Type::kBool: return "boolean";
    case eligibility::Type::kNumber: return s.integer ? "integer" : "number";
    case eligibility::Type::kMoney: return "money";
    case eligibility::Type::kDate: return "date";
    case eligibility::Type::kText: return "text";
    case eligibility::Type::kEnum: return "enum";
  }
  return "text";
}

}  // namespace

eligibility::HouseholdInput::Values AnswersFromJson(const json& object, const std::string& prefix,
                                                    std::vector<core::FieldError>& errors) {
  eligibility::HouseholdInput::Values out;
  for (const auto& [key, value] : object.items()) {
    if (value.is_null()) continue;
    if (value.is_boolean()) {
      out.emplace_back(key, value.get<bool>() ? "true" : "false");
    } else if (value.is_number_integer()) {
      out.emplace_back(key, value.dump());
    } else if (value.is_number_float()) {
      // Amounts are exact: a binary float is accepted only when its shortest form is a decimal
      // of at most six places ("1200.5"); send strings for anything else.
      std::string text = value.dump();
      if (!eligibility::decimal::Parse(text)) {
        errors.push_back({prefix + key, "send this amount as a string, like \"1234.56\""});
        continue;
      }
      out.emplace_back(key, text);
    } else if (value.is_string()) {
      out.emplace_back(key, value.get<std::string>());
    } else {
      errors.push_back({prefix + key, "must be a number, a string, true or false"});
    }
  }
  return out;
}

void AddScreeningRoutes(Router& router, eligibility::ScreeningService& screenings) {
  router.Add({"POST", "/api/v1/screenings", Auth::kApi, "createScreening", [&screenings](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"household_id", "as_of", "inputs", "members"});
                auto household = r.OptInt("household_id");
                auto as_of_text = r.OptString("as_of", 10);
                const json* inputs = r.Object("inputs");
                const json* members = r.Array("members", 50);
                eligibility::ScreeningRequest req;
                if (household) {
                  if (*household <= 0) r.Error("household_id", "must be a positive id");
                  req.household = core::HouseholdId{*household};
                }
                if (as_of_text) {
                  auto d = core::Date::Parse(*as_of_text);
                  if (!d.ok()) r.Error("as_of", "must be a date like 2025-10-01");
                  else req.as_of = *d;
                }
                std::vector<core::FieldError> unread;
                if (inputs != nullptr)
                  req.input.values = AnswersFromJson(*inputs, "inputs/", unread);
                if (members != nullptr) {
                  for (size_t i = 0; i < members->size(); ++i) {
                    const json& m = (*members)[i];
                    if (!m.is_object()) {
                      r.Error(fmt::format("members/{}", i), "must be an object of answers");
                      req.input.members.emplace_back();  // keeps the next members' numbers
                      continue;
                    }
                    req.input.members.push_back(
                        AnswersFromJson(m, fmt::format("members/{}/", i), unread));
                  }
                }
                for (auto& fe : unread) r.Error(std::move(fe.field), std::move(fe.message));
                if (!r.errors().empty()) {
                  // The answers that could be read are checked against the programs' questions
                  // too (names, types, bounds; nothing is read or kept), so that every mistake is
                  // named at once.
                  eligibility::Batch check(screenings.rules());
                  const core::Status checked = check.Add(req.input);
                  for (const auto& fe : checked.fields()) {
                    std::string field =
                        fe.field.rfind("members/", 0) == 0 ? fe.field : "inputs/" + fe.field;
                    if (std::none_of(r.errors().begin(), r.errors().end(),
                                     [&](const core::FieldError& e) { return e.field == field; }))
                      r.Error(std::move(field), fe.message);
                  }
                  return Problem(r.Finish("the screening request has invalid fields"),
                                 ctx.request.request_id);
                }
                auto done = screenings.Screen(ctx.Who(), req);
                if (!done.ok()) {
                  // The engine names fields as "earned_income" and "members/0/age"; the service
                  // names the request's own members and as_of as they are.
                  std::vector<core::FieldError> errors;
                  for (const auto& fe : done.status().fields()) {
                    const bool own = fe.field == "members" || fe.field == "as_of" ||
                                     fe.field.rfind("members/", 0) == 0;
                    errors.push_back({own ? fe.field : "inputs/" + fe.field, fe.message});
                  }
                  if (!errors.empty()) {
                    // The service's own words (which date, how many members) when it gave them.
                    const std::string& said = done.status().message();
                    return Problem(core::Status::InvalidArgument(
                                       said.rfind("the household", 0) == 0
                                           ? said
                                           : "the screening request has invalid fields",
                                       errors),
                                   ctx.request.request_id);
                  }
                  return Problem(done.status(), ctx.request.request_id);
                }
                Response resp = JsonResponse(done->id ? 201 : 200, RecordJson(*done));
                if (done->id) resp.Header("Location", fmt::format("/api/v1/screenings/{}", done->id));
                return resp;
              }});
  router.Add({"GET", "/api/v1/screenings/{id}", Auth::kApi, "getScreening", [&screenings](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto r = screenings.Get(ctx.Who(), *id);
                if (!r.ok()) return Problem(r.status(), ctx.request.request_id);
                return JsonResponse(200, RecordJson(*r));
              }});
  router.Add({"GET", "/api/v1/households/{id}/screenings", Auth::kApi, "listHouseholdScreenings",
              [&screenings](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto list = screenings.ForHousehold(ctx.Who(), core::HouseholdId{*id}, 20);
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& r : *list) items.push_back(RecordJson(r));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});
  router.Add({"GET", "/api/v1/programs", Auth::kApi, "listPrograms", [&screenings](Context& ctx) {
                const eligibility::RuleSet& rules = screenings.rules();
                json programs = json::array();
                for (const auto& p : rules.programs()) {
                  json inputs = json::array();
                  for (int s : p.symbols) {
                    if (rules.symbols()[s].is_input) inputs.push_back(rules.symbols()[s].name);
                  }
                  programs.push_back({{"id", p.id},
                                      {"name", p.name},
                                      {"agency", p.agency},
                                      {"jurisdiction", p.jurisdiction},
                                      {"legal_basis", p.legal_basis},
                                      {"version", p.version},
                                      {"inputs", std::move(inputs)}});
                }
                json inputs = json::array();
                for (const auto& s : rules.symbols()) {
                  if (!s.is_input) continue;
                  json o = {{"name", s.name},
                            {"type", TypeName(s)},
                            {"entity", s.entity == eligibility::Entity::kPerson ? "person" : "household"},
                            {"label", s.label},
                            {"question", s.question},
                            {"required", !s.default_value.has_value()}};
                  if (s.period != eligibility::Period::kNone) o["period"] = s.period == eligibility::Period::kMonth ? "month" : "year";
                  if (!s.enum_values.empty()) o["values"] = s.enum_values;
                  inputs.push_back(std::move(o));
                }
                (void)ctx;
                return JsonResponse(200, {{"rules_hash", rules.content_hash()},
                                          {"programs", std::move(programs)},
                                          {"inputs", std::move(inputs)}});
              }});
}

}  // namespace http
