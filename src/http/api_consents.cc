#include "http/api_consents.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "http/json_body.h"
#include "http/problem.h"

namespace http {
namespace {

using nlohmann::json;

json EventsJson(const sharing::Consent& c) {
  json events = json::array();
  for (const auto& e : c.events) {
    events.push_back({{"event", e.event},
                      {"user_id", e.user == 0 ? json(nullptr) : json(e.user)},
                      {"actor", e.actor},
                      {"agency_id", e.agency.value},
                      {"at", e.at.ToRfc3339()},
                      {"evidence", e.evidence},
                      {"document_ref", e.document_ref},
                      {"reason", e.reason_withheld ? json(nullptr) : json(e.reason)},
                      {"reason_withheld", e.reason_withheld}});
  }
  return events;
}

json ReceivingJson(const sharing::Consent& c) {
  if (!c.receiving_agency) return {{"kind", c.agency_kind}};
  return {{"id", c.receiving_agency->value},
          {"code", c.receiving_agency_code},
          {"name", c.receiving_agency_name}};
}

json ConsentJson(const sharing::Consent& c, core::Date today) {
  return {{"id", c.id},
          {"person_id", c.person.value},
          {"receiving_agency", c.receiving_agency ? ReceivingJson(c) : json(nullptr)},
          {"agency_kind", c.receiving_agency ? json(nullptr) : json(c.agency_kind)},
          {"scope", std::string(sharing::ConsentScopeName(c.scope))},
          {"categories", c.categories},
          {"purpose", std::string(authz::PurposeName(c.purpose))},
          {"legal_basis", c.legal_basis},
          {"valid_from", c.valid_from.ToString()},
          {"valid_to", c.valid_to ? json(c.valid_to->ToString()) : json(nullptr)},
          {"how_to_withdraw", c.how_to_withdraw},
          {"evidence", c.evidence},
          {"document_ref", c.document_ref},
          {"recorded_by", c.recorded_by == 0 ? json(nullptr) : json(c.recorded_by)},
          {"recorded_by_name", c.recorded_by_name},
          {"agency_id", c.agency.value},
          {"recorded_at", c.recorded_at.ToRfc3339()},
          {"state", c.StateOn(today)},
          {"in_force", c.InForceOn(today)},
          {"events", EventsJson(c)}};
}

}  // namespace

// A consent receipt in the spirit of ISO/IEC TS 27560 and the Kantara Consent Receipt.
json ConsentReceiptJson(const sharing::Consent& c, const authz::DataCategories& categories,
                 core::Date today, core::Timestamp now) {
  json cats = json::array();
  if (c.scope == sharing::ConsentScope::kFull) {
    for (const auto& d : categories.categories()) {
      if (d.sharing_class == authz::SharingClass::kBlack) continue;
      cats.push_back({{"id", d.id}, {"label", d.label}});
    }
  }
  for (const auto& id : c.categories) {
    const authz::DataCategory* d = categories.Find(id);
    if (c.scope == sharing::ConsentScope::kFull && d != nullptr &&
        d->sharing_class != authz::SharingClass::kBlack)
      continue;  // listed already
    cats.push_back({{"id", id}, {"label", d != nullptr ? d->label : id}});
  }
  return {{"receipt_id", fmt::format("consent-{}-v{}", c.id, c.version)},
          {"version", "onedoor-consent-receipt-1"},
          {"issued_at", now.ToRfc3339()},
          {"consent_id", c.id},
          {"consent_timestamp", c.recorded_at.ToRfc3339()},
          {"subject", {{"person_id", c.person.value}}},
          {"controller", ReceivingJson(c)},
          {"scope", std::string(sharing::ConsentScopeName(c.scope))},
          {"data_categories", std::move(cats)},
          {"purpose", std::string(authz::PurposeName(c.purpose))},
          {"purpose_label", std::string(authz::PurposeLabel(c.purpose))},
          {"legal_basis", c.legal_basis},
          {"valid_from", c.valid_from.ToString()},
          {"valid_to", c.valid_to ? json(c.valid_to->ToString()) : json(nullptr)},
          {"how_to_withdraw", c.how_to_withdraw},
          {"evidence", {{"type", c.evidence}, {"document_ref", c.document_ref}}},
          {"recorded_by", c.recorded_by_name},
          {"state", c.StateOn(today)},
          {"events", EventsJson(c)}};
}

namespace {

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

// A state the consent does not allow the event in is a conflict with that state.
Response ConsentProblem(const core::Status& s, const Request& request) {
  return s.code() == core::StatusCode::kFailedPrecondition ? Problem(s, request.request_id, 409)
                                                           : Problem(s, request.request_id);
}

}  // namespace

void AddConsentRoutes(Router& router, sharing::ConsentService& consents) {
  router.Add({"POST", "/api/v1/persons/{id}/consents", Auth::kApi, "giveConsent",
              [&consents](Context& ctx) {
                auto person = ParseId(ctx.Param("id"), "id");
                if (!person.ok()) return Problem(person.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"receiving_agency_id", "agency_kind", "scope", "categories",
                                 "purpose", "legal_basis", "valid_from", "valid_to",
                                 "how_to_withdraw", "evidence", "document_ref"});
                sharing::ConsentGrant g;
                if (auto agency = r.OptInt("receiving_agency_id"))
                  g.receiving_agency = core::AgencyId{*agency};
                g.agency_kind = r.OptString("agency_kind", 20).value_or("");
                const std::string scope = r.String("scope", true, 20);
                if (!scope.empty()) {
                  auto parsed = sharing::ParseConsentScope(scope);
                  if (parsed.ok())
                    g.scope = *parsed;
                  else
                    r.Error("scope", "must be full or partial");
                }
                if (const json* cats = r.Array("categories", 50)) {
                  for (const auto& c : *cats) {
                    if (!c.is_string()) {
                      r.Error("categories", "must be a list of data category ids");
                      break;
                    }
                    g.categories.push_back(c.get<std::string>());
                  }
                }
                const std::string purpose = r.String("purpose", true, 40);
                if (!purpose.empty()) {
                  auto parsed = authz::ParsePurpose(purpose);
                  if (parsed.ok())
                    g.purpose = *parsed;
                  else
                    r.Error("purpose",
                            "must be service_delivery, case_work, eligibility or front_desk");
                }
                g.legal_basis = r.String("legal_basis", true, 500);
                g.valid_from = DateField(r, "valid_from").value_or(consents.Today());
                g.valid_to = DateField(r, "valid_to");
                g.how_to_withdraw = r.String("how_to_withdraw", true, 500);
                g.evidence = r.OptString("evidence", 40).value_or("");
                g.document_ref = r.OptString("document_ref", 200).value_or("");
                // What could not be read is named with every other mistake, by the service.
                auto done = consents.Give(ctx.Who(), core::PersonId{*person}, g, r.errors());
                if (!done.ok()) return Problem(done.status(), ctx.request.request_id);
                Response resp = JsonResponse(201, ConsentJson(*done, consents.Today()));
                resp.Header("Location", fmt::format("/api/v1/consents/{}", done->id));
                return resp;
              }});

  router.Add({"GET", "/api/v1/persons/{id}/consents", Auth::kApi, "listConsents",
              [&consents](Context& ctx) {
                auto person = ParseId(ctx.Param("id"), "id");
                if (!person.ok()) return Problem(person.status(), ctx.request.request_id);
                auto list = consents.ForPerson(ctx.Who(), core::PersonId{*person});
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                const core::Date today = consents.Today();
                json items = json::array();
                for (const auto& c : *list) items.push_back(ConsentJson(c, today));
                return JsonResponse(200, {{"items", std::move(items)}});
              }});

  router.Add({"GET", "/api/v1/consents/{id}", Auth::kApi, "getConsent", [&consents](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto c = consents.Get(ctx.Who(), *id);
                if (!c.ok()) return Problem(c.status(), ctx.request.request_id);
                return JsonResponse(200, ConsentJson(*c, consents.Today()));
              }});

  router.Add({"POST", "/api/v1/consents/{id}/events", Auth::kApi, "recordConsentEvent",
              [&consents](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"event", "reason", "document_ref"});
                const std::string event = r.String("event", true, 20);
                const std::string reason = r.String("reason", false, 500);
                const std::string document_ref = r.String("document_ref", false, 200);
                auto action = sharing::ParseConsentAction(event);
                if (r.errors().empty() && !action.ok())
                  r.Error("event", "must be pause, resume or withdraw");
                if (auto s = r.Finish("the consent event has invalid fields"); !s.ok())
                  return Problem(s, ctx.request.request_id);
                auto done = consents.Record(ctx.Who(), *id, *action, reason, document_ref);
                if (!done.ok()) return ConsentProblem(done.status(), ctx.request);
                return JsonResponse(200, ConsentJson(*done, consents.Today()));
              }});

  router.Add({"GET", "/api/v1/consents/{id}/receipt", Auth::kApi, "getConsentReceipt",
              [&consents](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto c = consents.Get(ctx.Who(), *id, "consent.receipt");
                if (!c.ok()) return Problem(c.status(), ctx.request.request_id);
                return JsonResponse(
                    200, ConsentReceiptJson(*c, consents.categories(), consents.Today(), consents.Now()));
              }});
}

void AddDirectoryRoutes(Router& router, sharing::ReferenceDirectory& directory) {
  router.Add({"GET", "/api/v1/persons/{id}/agencies", Auth::kApi, "getPersonAgencies",
              [&directory](Context& ctx) {
                auto person = ParseId(ctx.Param("id"), "id");
                if (!person.ok()) return Problem(person.status(), ctx.request.request_id);
                auto entries = directory.Entries(ctx.Who(), core::PersonId{*person});
                if (!entries.ok()) return Problem(entries.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& e : *entries) {
                  items.push_back({{"agency", {{"id", e.agency.value}, {"code", e.agency_code}, {"name", e.agency_name}}},
                                   {"capacity", sharing::CapacityName(e.capacity)},
                                   {"label", sharing::CapacityLabel(e.capacity)},
                                   {"since", e.since.ToRfc3339()}});
                }
                return JsonResponse(200, {{"person_id", *person}, {"items", std::move(items)}});
              }});
}

json GlassAccessJson(const sharing::GlassAccess& g) {
  return {{"id", g.id},
          {"audit_seq", g.audit_seq},
          {"at", g.at.ToRfc3339()},
          {"user_id", g.user == 0 ? json(nullptr) : json(g.user)},
          {"actor", g.actor},
          {"agency", {{"id", g.agency.value}, {"name", g.agency_name}}},
          {"person_id", g.person.value},
          {"action", g.action},
          {"justification", g.justification},
          {"state", sharing::GlassStateName(g.state)},
          {"reviewer", g.reviewer.empty() ? json(nullptr) : json(g.reviewer)},
          {"reviewed_at", g.reviewed_at ? json(g.reviewed_at->ToRfc3339()) : json(nullptr)},
          {"review_note", g.review_note}};
}

void AddBreakGlassRoutes(Router& router, sharing::BreakGlassService& glass) {
  router.Add({"GET", "/api/v1/break-glass", Auth::kApi, "listBreakGlass", [&glass](Context& ctx) {
                sharing::GlassQuery q;
                std::vector<core::FieldError> errors;
                if (auto state = ctx.request.Query("state"); !state.empty()) {
                  auto parsed = sharing::ParseGlassState(state);
                  if (parsed.ok()) q.state = *parsed;
                  else errors.push_back({"state", parsed.status().message()});
                }
                if (auto limit = ctx.request.Query("limit"); !limit.empty()) {
                  auto parsed = ParseId(limit, "limit");
                  if (parsed.ok()) q.limit = static_cast<int>(std::min<int64_t>(*parsed, 1000));
                  else errors.push_back({"limit", "must be a whole number from 1 to 200"});
                }
                if (auto after = ctx.request.Query("after"); !after.empty()) {
                  auto parsed = ParseId(after, "after");
                  if (parsed.ok()) q.after = *parsed;
                  else errors.push_back({"after", "must be the id of the last access of the previous page"});
                }
                if (!errors.empty()) {
                  return Problem(core::Status::InvalidArgument("the query is not valid", std::move(errors)),
                                 ctx.request.request_id);
                }
                auto list = glass.List(ctx.Who(), q);
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& g : *list) items.push_back(GlassAccessJson(g));
                json next = nullptr;
                if (static_cast<int>(list->size()) == q.limit && !list->empty()) {
                  next = fmt::format("/api/v1/break-glass?after={}&limit={}{}", list->back().id, q.limit,
                                     q.state ? "&state=" + std::string(sharing::GlassStateName(*q.state)) : "");
                }
                return JsonResponse(200, {{"items", std::move(items)}, {"next", next}});
              }});

  router.Add({"POST", "/api/v1/break-glass/{id}/review", Auth::kApi, "reviewBreakGlass", [&glass](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"outcome", "note"});
                const std::string outcome = r.String("outcome", true, 20);
                const std::string note = r.OptString("note", 1000).value_or("");
                sharing::GlassState state = sharing::GlassState::kPending;
                if (!outcome.empty()) {
                  auto parsed = sharing::ParseGlassState(outcome);
                  if (!parsed.ok() || *parsed == sharing::GlassState::kPending) {
                    r.Error("outcome", "must be justified or not_justified");
                  } else {
                    state = *parsed;
                  }
                }
                if (auto s = r.Finish("the review has invalid fields"); !s.ok()) {
                  return Problem(s, ctx.request.request_id);
                }
                auto done = glass.Review(ctx.Who(), *id, state, note);
                if (!done.ok()) {
                  // An access already reviewed is a conflict with the current state.
                  if (done.status().code() == core::StatusCode::kFailedPrecondition) {
                    return Problem(done.status(), ctx.request.request_id, 409);
                  }
                  return Problem(done.status(), ctx.request.request_id);
                }
                return JsonResponse(200, GlassAccessJson(*done));
              }});
}

namespace {

json NoticeJson(const sharing::ChangeNotice& n) {
  return {{"id", n.id},
          {"person_id", n.person.value},
          {"agency", {{"id", n.agency.value}, {"name", n.agency_name}}},
          {"from_agency", {{"id", n.from_agency.value}, {"name", n.from_agency_name}}},
          {"type", n.type},
          {"fields", n.fields},
          {"version", n.version},
          {"at", n.at.ToRfc3339()},
          {"state", n.applied ? "applied" : "pending"},
          {"overdue", n.overdue},
          {"applied_at", n.applied_at ? json(n.applied_at->ToRfc3339()) : json(nullptr)},
          {"applied_by", n.applied_by.empty() ? json(nullptr) : json(n.applied_by)},
          {"note", n.note},
          {"delivery", {{"state", n.delivery}, {"attempts", n.attempts}, {"last_error", n.last_error}}}};
}

}  // namespace

void AddChangeRoutes(Router& router, sharing::ChangeNoticeService& changes) {
  router.Add({"GET", "/api/v1/changes", Auth::kApi, "listChangeNotices", [&changes](Context& ctx) {
                std::vector<core::FieldError> errors;
                int64_t after = 0;
                int limit = 100;
                bool pending_only = false;
                if (auto v = ctx.request.Query("after"); !v.empty() && v != "0") {
                  auto parsed = ParseId(v, "after");
                  if (parsed.ok()) after = *parsed;
                  else errors.push_back({"after", "must be the id of the last notice you read, or 0"});
                }
                if (auto v = ctx.request.Query("limit"); !v.empty()) {
                  auto parsed = ParseId(v, "limit");
                  if (parsed.ok()) limit = static_cast<int>(std::min<int64_t>(*parsed, 100000));
                  else errors.push_back({"limit", "must be a whole number from 1 to 500"});
                }
                bool dead_only = false;
                if (auto v = ctx.request.Query("state"); !v.empty()) {
                  if (v == "pending") pending_only = true;
                  else if (v == "dead") dead_only = true;
                  else if (v != "all") errors.push_back({"state", "must be pending, dead or all"});
                }
                if (!errors.empty()) {
                  return Problem(core::Status::InvalidArgument("the query is not valid", std::move(errors)),
                                 ctx.request.request_id);
                }
                auto feed = changes.Feed(ctx.Who(), after, limit, pending_only, dead_only);
                if (!feed.ok()) return Problem(feed.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& n : *feed) items.push_back(NoticeJson(n));
                // The cursor moves past what was read, so a reader that keeps it misses nothing.
                const int64_t cursor = feed->empty() ? after : feed->back().id;
                return JsonResponse(200, {{"items", std::move(items)},
                                          {"cursor", cursor},
                                          {"next", fmt::format("/api/v1/changes?after={}&limit={}{}", cursor, limit,
                                                               pending_only ? "&state=pending"
                                                               : dead_only  ? "&state=dead"
                                                                            : "")}});
              }});

  router.Add({"POST", "/api/v1/changes/{id}/applied", Auth::kApi, "markChangeApplied", [&changes](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                std::string note;
                if (!ctx.request.body.empty()) {
                  auto body = ParseJsonObject(ctx.request);
                  if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                  JsonReader r(*body);
                  r.RejectUnknown({"note"});
                  note = r.OptString("note", 500).value_or("");
                  if (auto s = r.Finish("the acknowledgement has invalid fields"); !s.ok()) {
                    return Problem(s, ctx.request.request_id);
                  }
                }
                auto done = changes.MarkApplied(ctx.Who(), *id, note);
                if (!done.ok()) {
                  if (done.status().code() == core::StatusCode::kFailedPrecondition) {
                    return Problem(done.status(), ctx.request.request_id, 409);
                  }
                  return Problem(done.status(), ctx.request.request_id);
                }
                return JsonResponse(200, NoticeJson(*done));
              }});

  auto hook_json = [](const sharing::AgencyWebhook& w) {
    return json{{"url", w.url},
                {"state", w.active ? "active" : "disabled"},
                {"disabled_reason", w.disabled_reason},
                {"updated_at", w.updated_at.ToRfc3339()}};
  };
  router.Add({"GET", "/api/v1/agency-webhook", Auth::kApi, "getAgencyWebhook", [&changes, hook_json](Context& ctx) {
                auto w = changes.GetWebhook(ctx.Who());
                if (!w.ok()) return Problem(w.status(), ctx.request.request_id);
                return JsonResponse(200, hook_json(*w));
              }});
  router.Add({"PUT", "/api/v1/agency-webhook", Auth::kApi, "setAgencyWebhook", [&changes, hook_json](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                JsonReader r(*body);
                r.RejectUnknown({"url", "secret"});
                const std::string url = r.String("url", true, 500);
                const std::string secret = r.String("secret", true, 300);
                if (auto s = r.Finish("the webhook has invalid fields"); !s.ok()) {
                  return Problem(s, ctx.request.request_id);
                }
                auto w = changes.SetWebhook(ctx.Who(), url, secret);
                if (!w.ok()) return Problem(w.status(), ctx.request.request_id);
                return JsonResponse(200, hook_json(*w));
              }});
  router.Add({"DELETE", "/api/v1/agency-webhook", Auth::kApi, "removeAgencyWebhook", [&changes](Context& ctx) {
                auto s = changes.RemoveWebhook(ctx.Who());
                if (!s.ok()) return Problem(s, ctx.request.request_id);
                Response r;
                r.status = 204;
                return r;
              }});

  router.Add({"POST", "/api/v1/changes/{id}/redeliver", Auth::kApi, "redeliverChangeNotice",
              [&changes](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Problem(id.status(), ctx.request.request_id);
                auto done = changes.Redeliver(ctx.Who(), *id);
                if (!done.ok()) {
                  if (done.status().code() == core::StatusCode::kFailedPrecondition) {
                    return Problem(done.status(), ctx.request.request_id, 409);
                  }
                  return Problem(done.status(), ctx.request.request_id);
                }
                return JsonResponse(200, NoticeJson(*done));
              }});

  router.Add({"GET", "/api/v1/persons/{id}/changes", Auth::kApi, "listPersonChanges", [&changes](Context& ctx) {
                auto person = ParseId(ctx.Param("id"), "id");
                if (!person.ok()) return Problem(person.status(), ctx.request.request_id);
                auto list = changes.ForPerson(ctx.Who(), core::PersonId{*person});
                if (!list.ok()) return Problem(list.status(), ctx.request.request_id);
                json items = json::array();
                for (const auto& n : *list) items.push_back(NoticeJson(n));
                return JsonResponse(200, {{"person_id", *person}, {"items", std::move(items)}});
              }});
}

}  // namespace http
