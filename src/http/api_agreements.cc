#include "http/api_agreements.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "http/json_body.h"
#include "http/problem.h"

namespace http {
namespace {

using nlohmann::json;

json AgreementJson(const sharing::Agreement& a, const authz::DataCategories& categories,
                   core::Date today) {
  const authz::DataCategory* category = categories.Find(a.category);
  json events = json::array();
  for (const auto& e : a.events) {
    events.push_back({{"action", e.action},
                      {"user_id", e.user == 0 ? json(nullptr) : json(e.user)},
                      {"actor", e.actor},
                      {"agency_id", e.agency.value},
                      {"at", e.at.ToRfc3339()},
                      {"reason", e.reason}});
  }
  return {{"id", a.id},
          {"state", std::string(sharing::AgreementStateName(a.state))},
          {"in_force", a.InForceOn(today) && category != nullptr &&
                           category->sharing_class != authz::SharingClass::kBlack},
          {"receiving_agency",
           {{"id", a.receiving_agency.value},
            {"code", a.receiving_agency_code},
            {"name", a.receiving_agency_name}}},
          {"holding", "any"},
          {"category", a.category},
          {"category_label", category != nullptr ? category->label : a.category},
          {"sharing_class", std::string(authz::SharingClassName(a.sharing_class))},
          {"purpose", std::string(authz::PurposeName(a.purpose))},
          {"legal_basis", a.legal_basis},
          {"consent_required", a.consent_required},
          {"valid_from", a.valid_from.ToString()},
          {"valid_to", a.valid_to ? json(a.valid_to->ToString()) : json(nullptr)},
          {"description", a.description},
          {"approvals_needed", a.approvals_needed},
          {"approvals", a.approvals()},
          {"proposed_at", a.proposed_at.ToRfc3339()},
          {"decided_at", a.decided_at ? json(a.decided_at->ToRfc3339()) : json(nullptr)},
          {"reason", a.reason},
          {"events", std::move(events)}};
}

std::optional<core::Date> DateField(JsonReader& r, std::string_view key) {
  auto text = r.OptString(key, 10);
  if (!text) return std::nullopt;
  auto d = core::Date::Parse(*text);
  if (!d.ok()) {
    r.Error(std::string(key), "must be a date like 2026-04-01");
    return std::nullopt;
  }
  return *d;
}

}  // namespace

void AddAgreementRoutes(Router& router, sharing::AgreementService& agreements) {
  router.Add(
      {"GET", "/api/v1/data-categories", Auth::kApi, "listDataCategories", [&agreements](Context&) {
         const authz::DataCategories& categories = agreements.categories();
         json items = json::array();
         for (const auto& c : categories.categories()) {
           json fields = json::array();
           for (const auto& f : categories.fields()) {
             if (f.category == c.id) fields.push_back(fmt::format("{}.{}", f.kind, f.field));
           }
           items.push_back(
               {{"id", c.id},
                {"label", c.label},
                {"description", c.description},
                {"sharing_class", std::string(authz::SharingClassName(c.sharing_class))},
                {"fields", std::move(fields)}});
         }
         json person = json::object();
         json records = json::object();
         for (const auto& f : categories.fields())
           (f.kind == "person" ? person : records)[f.field] = f.category;
         return JsonResponse(
             200, {{"items", std::move(items)},
                   {"fields", {{"person", std::move(person)}, {"records", std::move(records)}}}});
       }});

  router.Add({"GET", "/api/v1/sharing-agreements", Auth::kApi, "listSharingAgreements",
              [&agreements](Context& ctx) {
                sharing::AgreementQuery q;
                std::vector<core::FieldError> errors;
                const std::string state = ctx.request.Query("state");
                if (state == "in_force") {
                  q.in_force_on = agreements.Today();
                } else if (!state.empty()) {
                  auto s = sharing::ParseAgreementState(state);
                  if (s.ok())
                    q.state = *s;
                  else
                    errors.push_back(
                        {"state", "must be proposed, approved, refused, revoked or in_force"});
                }
                for (const char* name : {"receiving_agency_id", "limit", "after"}) {
                  const std::string text = ctx.request.Query(name);
                  if (text.empty()) continue;
                  auto v = ParseId(text, name);
                  if (!v.ok()) {
                    errors.push_back({name, "must be a positive whole number"});
                  } else if (std::string_view(name) == "receiving_agency_id") {
                    q.receiving_agency = core::AgencyId{*v};
                  } else if (std::string_view(name) == "limit") {
                    q.limit = static_cast<int>(std::min<int64_t>(*v, 1000));
                  } else {
                    q.after = *v;
                  }
                }
                if (!errors.empty()) {
                  return Problem(core::Status::InvalidArgument("the query has invalid parameters",
                                                               std::move(errors)),
                                 ctx.request.request_id);
                }
                auto list = agreements.List(q);
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                const core::Date today = agreements.Today();
                json items = json::array();
                for (const auto& a : *list)
                  items.push_back(AgreementJson(a, agreements.categories(), today));
                json body = {{"items", std::move(items)}};
                body["next"] = static_cast<int>(list->size()) == q.limit ? json(list->back().id)
                                                                         : json(nullptr);
                return JsonResponse(200, body);
              }});

  router.Add(
      {"POST", "/api/v1/sharing-agreements", Auth::kApi, "proposeSharingAgreement",
       [&agreements](Context& ctx) {
         auto body = ParseJsonObject(ctx.request);
         if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
         JsonReader r(*body);
         r.RejectUnknown({"receiving_agency_id", "category", "purpose", "legal_basis", "valid_from",
                          "valid_to", "description"});
         sharing::Proposal p;
         auto agency = r.OptInt("receiving_agency_id");
         if (!agency && body->find("receiving_agency_id") == body->end()) {
           r.Error("receiving_agency_id", "is required");
         }
         if (agency) p.receiving_agency = core::AgencyId{*agency};
         p.category = r.String("category", true, 40);
         const std::string purpose = r.String("purpose", true, 40);
         if (!purpose.empty()) {
           auto parsed = authz::ParsePurpose(purpose);
           if (parsed.ok())
             p.purpose = *parsed;
           else
             r.Error("purpose", "must be service_delivery, case_work, eligibility or front_desk");
         }
         p.legal_basis = r.String("legal_basis", true, 500);
         p.valid_from = DateField(r, "valid_from").value_or(agreements.Today());
         p.valid_to = DateField(r, "valid_to");
         p.description = r.OptString("description", 1000).value_or("");
         if (auto s = r.Finish("the proposed agreement has invalid fields"); !s.ok()) {
           return Problem(s, ctx.request.request_id);
         }
         auto done = agreements.Propose(ctx.Who(), p);
         if (!done.ok()) return Problem(done.status(), ctx.request.request_id);
         Response resp =
             JsonResponse(201, AgreementJson(*done, agreements.categories(), agreements.Today()));
         resp.Header("Location", fmt::format("/api/v1/sharing-agreements/{}", done->id));
         return resp;
       }});

  router.Add({"GET", "/api/v1/sharing-agreements/{id}", Auth::kApi, "getSharingAgreement",
              [&agreements](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto a = agreements.Get(*id);
                if (!a.ok()) return Problem(a.status(), ctx.request.request_id);
                return JsonResponse(200,
                                    AgreementJson(*a, agreements.categories(), agreements.Today()));
              }});

  router.Add({"POST", "/api/v1/sharing-agreements/{id}/decision", Auth::kApi,
              "decideSharingAgreement", [&agreements](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"decision", "reason"});
                const std::string decision_text = r.String("decision", true, 20);
                const std::string reason = r.String("reason", false, 500);
                auto decision = sharing::ParseAgreementDecision(decision_text);
                if (r.errors().empty() && !decision.ok())
                  r.Error("decision", "must be approve, refuse or revoke");
                if (auto s = r.Finish("the decision has invalid fields"); !s.ok())
                  return Problem(s, ctx.request.request_id);
                auto done = agreements.Decide(ctx.Who(), *id, *decision, reason);
                if (!done.ok()) {
                  // A decision the agreement's state does not allow is a conflict with that state.
                  const bool conflict =
                      done.status().code() == core::StatusCode::kFailedPrecondition;
                  return conflict ? Problem(done.status(), ctx.request.request_id, 409)
                                  : Problem(done.status(), ctx.request.request_id);
                }
                return JsonResponse(
                    200, AgreementJson(*done, agreements.categories(), agreements.Today()));
              }});
}

}  // namespace http
