// The printable consent receipt: what the person agreed to, with whom, for what, on what legal
// basis, for how long, how to withdraw it, and every event since. The same content as
// GET /api/v1/consents/{id}/receipt, read through the same gate and audited as consent.receipt.

#include <fmt/format.h>

#include <set>

#include "http/api_consents.h"
#include "http/json_body.h"
#include "http/page_support.h"
#include "http/request.h"

namespace http {

using json = nlohmann::json;

namespace page_support {

core::StatusOr<json> ReceivingAgencyChoices(const PageDeps& deps, const Context& ctx, const std::string& chosen,
                                            std::optional<core::AgencyId> except) {
  json agencies = json::array();
  ASSIGN_OR_RETURN(std::vector<accounts::Agency> all, deps.accounts.ListAgencies());
  for (const auto& a : all) {
    if (except && a.id == *except) continue;
    const std::string value = fmt::format("agency:{}", a.id.value);
    agencies.push_back({{"value", value}, {"name", a.name}, {"selected", chosen == value}});
  }
  for (auto [kind, label] : {std::pair{"government", "Any government agency of the consortium"},
                             std::pair{"nonprofit", "Any non-profit organisation of the consortium"}}) {
    const std::string value = std::string("kind:") + kind;
    agencies.push_back({{"value", value}, {"name", T(deps, ctx, label)}, {"selected", chosen == value}});
  }
  return agencies;
}

bool ReadReceivingAgency(const std::multimap<std::string, std::string>& form, sharing::ConsentGrant& grant) {
  const std::string to = FormValue(form, "receiving_agency_id");
  if (to.rfind("agency:", 0) == 0) {
    if (auto agency = ParseId(to.substr(7), "receiving_agency_id"); agency.ok()) {
      grant.receiving_agency = core::AgencyId{*agency};
    }
  } else if (to.rfind("kind:", 0) == 0) {
    grant.agency_kind = to.substr(5);
  }
  return grant.receiving_agency.has_value() || !grant.agency_kind.empty();
}

}  // namespace page_support

namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::ReadReceivingAgency;
using page_support::ReceivingAgencyChoices;
using page_support::Render;
using page_support::T;
using page_support::Trim;

constexpr const char* kDefaultBasis = "Consent of the person (GDPR art. 6(1)(a))";
constexpr const char* kDefaultWithdraw = "Tell any caseworker of the consortium's agencies, by phone or at a desk.";

bool MayRecordConsent(const authz::Principal& who) {
  return who.kind == authz::PrincipalKind::kStaff && authz::HasCaseworkRole(who);
}

// The refusal of the consent forms to a role that does not record consent (docs/staff.md).
core::Status ConsentRoleRefusal() {
  return core::Status::PermissionDenied("only caseworkers, specialists, coordinators and managers record consent");
}

// The form to record a consent of `person`, with what was typed and its errors.
core::StatusOr<json> ConsentFormData(const PageDeps& deps, const Context& ctx, core::PersonId person,
                                     const std::multimap<std::string, std::string>& form, bool fresh,
                                     const std::vector<core::FieldError>& errors) {
  ASSIGN_OR_RETURN(registry::PersonView view, deps.persons.Get(ctx.Who(), person));
  json d = Common(deps, ctx, "Record a consent", "clients");
  d["person_name"] = view.person.DisplayName();
  d["back_href"] = fmt::format("/clients/{}", person.value);
  d["form_action"] = fmt::format("/clients/{}/consents/new", person.value);
  ASSIGN_OR_RETURN(d["agencies"],
                   ReceivingAgencyChoices(deps, ctx, FormValue(form, "receiving_agency_id"), ctx.Who().agency));
  std::set<std::string> picked;
  for (auto [it, end] = form.equal_range("categories"); it != end; ++it) picked.insert(it->second);
  json categories = json::array();
  for (const auto& c : deps.consents->categories().categories()) {
    if (c.sharing_class == authz::SharingClass::kBlack) continue;
    categories.push_back({{"id", c.id}, {"label", c.label}, {"checked", picked.count(c.id) > 0}});
  }
  d["categories"] = std::move(categories);
  const std::string purpose = fresh ? "service_delivery" : FormValue(form, "purpose");
  json purposes = json::array();
  for (auto p : {authz::Purpose::kServiceDelivery, authz::Purpose::kCaseWork, authz::Purpose::kEligibility,
                 authz::Purpose::kFrontDesk}) {
    const std::string name(authz::PurposeName(p));
    purposes.push_back({{"value", name},
                        {"label", T(deps, ctx, std::string(authz::PurposeLabel(p)))},
                        {"checked", purpose == name}});
  }
  d["purposes"] = std::move(purposes);
  d["f_valid_to"] = FormValue(form, "valid_to");
  d["f_legal_basis"] = fresh ? T(deps, ctx, kDefaultBasis) : FormValue(form, "legal_basis");
  d["f_how_to_withdraw"] = fresh ? T(deps, ctx, kDefaultWithdraw) : FormValue(form, "how_to_withdraw");
  d["f_document_ref"] = FormValue(form, "document_ref");
  json list = json::array();
  for (const auto& e : errors) {
    std::string field = e.field == "agency_kind" ? "receiving_agency_id" : e.field;
    std::string message = e.message;
    if (!message.empty()) message[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(message[0])));
    message = T(deps, ctx, message);
    if (!d.contains("e_" + field)) d["e_" + field] = message;
    std::string href = "#" + field;
    // A group of boxes is reached through its first box, which takes the focus.
    if (field == "categories" && d.contains("categories") && !d["categories"].empty()) {
      href = "#category-" + d["categories"][0]["id"].get<std::string>();
    }
    if (field == "purpose") href = "#purpose-service_delivery";
    list.push_back({{"message", message}, {"href", href}});
  }
  d["has_errors"] = !errors.empty();
  d["errors"] = std::move(list);
  return d;
}

std::string DateText(const PageDeps& deps, const Context& ctx, const json& iso) {
  if (!iso.is_string()) return T(deps, ctx, "No end date");
  auto d = core::Date::Parse(iso.get<std::string>());
  if (!d.ok()) return iso.get<std::string>();
  return page_support::DateText(ctx, *d);  // "2 December 2026", "2 de diciembre de 2026"
}

// A word of the receipt's state ("active") or of its history ("given"), in the request's
// language; a word it does not know as it is.
std::string ConsentWord(const PageDeps& deps, const Context& ctx, const json& word) {
  if (!word.is_string()) return "";
  const std::string w = word.get<std::string>();
  if (w == "active") return T(deps, ctx, "active");
  if (w == "paused") return T(deps, ctx, "paused");
  if (w == "withdrawn") return T(deps, ctx, "withdrawn");
  if (w == "expired") return T(deps, ctx, "expired");
  if (w == "pending") return T(deps, ctx, "pending");
  if (w == "given") return T(deps, ctx, "given");
  if (w == "resumed") return T(deps, ctx, "resumed");
  return w;
}

}  // namespace

namespace {

// The receipt page; with `reason_error`, the withdrawal form says what is wrong with the reason
// and keeps what was typed.
Response ReceiptPage(const PageDeps& deps, Context& ctx, int64_t id, int status,
                     const std::string& reason_error = "", const std::string& typed_reason = "") {
  auto c = deps.consents->Get(ctx.Who(), id, "consent.receipt");
  if (!c.ok()) return ErrorFor(deps, ctx, c.status());
  const json r = ConsentReceiptJson(*c, deps.consents->categories(), deps.consents->Today(),
                                    deps.consents->Now());
  json d = Common(deps, ctx,
                  T(deps, ctx, "Consent receipt {receipt_id}",
                    {{"receipt_id", r["receipt_id"].get<std::string>()}}),
                  "clients");
  d["receipt_id"] = r["receipt_id"];
  d["issued_at"] = r["issued_at"].get<std::string>().substr(0, 16);
  d["person_href"] = fmt::format("/clients/{}", c->person.value);
  d["person_id"] = c->person.value;
  const json& controller = r["controller"];
  d["receiver"] = controller.contains("name")
                      ? controller["name"].get<std::string>()
                      : T(deps, ctx, "Any {kind} agency of the consortium",
                          {{"kind", controller["kind"].get<std::string>()}});
  json cats = json::array();
  for (const auto& x : r["data_categories"]) cats.push_back({{"label", x["label"]}});
  d["categories"] = std::move(cats);
  d["scope"] = r["scope"] == "full" ? T(deps, ctx, "Full: every category that may be shared")
                                    : T(deps, ctx, "Partial: the categories listed");
  d["purpose"] = T(deps, ctx, r["purpose_label"].get<std::string>());
  d["legal_basis"] = r["legal_basis"];
  d["valid_from"] = DateText(deps, ctx, r["valid_from"]);
  d["valid_to"] = DateText(deps, ctx, r["valid_to"]);
  d["how_to_withdraw"] = r["how_to_withdraw"];
  d["evidence"] =
      r["evidence"]["type"] == "signed_form"
          ? T(deps, ctx, "Signed form") + " " + r["evidence"]["document_ref"].get<std::string>()
          : T(deps, ctx, "Given by the person themself");
  d["recorded_by"] = r["recorded_by"];
  d["state"] = ConsentWord(deps, ctx, r["state"]);
  json events = json::array();
  for (const auto& e : r["events"]) {
    events.push_back({{"event", ConsentWord(deps, ctx, e["event"])},
                      {"at", e["at"].get<std::string>().substr(0, 16)},
                      {"actor", e["actor"]},
                      {"reason", e.value("reason_withheld", false)
                                     ? T(deps, ctx, "Kept by the agency that recorded it")
                                     : e["reason"].get<std::string>()}});
  }
  d["events"] = std::move(events);
  d["json_href"] = fmt::format("/api/v1/consents/{}/receipt", id);
  if (MayRecordConsent(ctx.Who()) && c->state != sharing::ConsentState::kWithdrawn) {
    d["withdraw_action"] = fmt::format("/consents/{}/withdraw", id);
  }
  if (ctx.request.Query("recorded") == "1") d["flash"] = T(deps, ctx, "Consent recorded");
  if (ctx.request.Query("withdrawn") == "1") d["flash"] = T(deps, ctx, "Consent withdrawn");
  if (!reason_error.empty()) {
    d["e_reason"] = reason_error;
    d["f_reason"] = typed_reason;
    d["has_errors"] = true;
    d["errors"] = json::array({{{"message", reason_error}, {"href", "#reason"}}});
  }
  return Render(deps, status, "consent_receipt", d);
}

}  // namespace

void AddConsentPages(Router& router, const PageDeps& deps) {
  if (deps.consents == nullptr) return;
  router.Add({"GET", "/consents/{id}/receipt", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                return ReceiptPage(deps, ctx, *id, 200);
              }});

  router.Add({"POST", "/consents/{id}/withdraw", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                if (!MayRecordConsent(ctx.Who())) return ErrorFor(deps, ctx, ConsentRoleRefusal());
                const auto form = ParseForm(ctx.request.body);
                const std::string reason = Trim(FormValue(form, "reason"));
                // The receipt again, with the mistake beside the reason, if the consent is the
                // caller's to see.
                if (reason.empty())
                  return ReceiptPage(deps, ctx, *id, 400,
                                     T(deps, ctx, "Give the reason the client gave"));
                auto done = deps.consents->Record(ctx.Who(), *id, sharing::ConsentAction::kWithdraw, reason);
                if (!done.ok() && done.status().code() == core::StatusCode::kInvalidArgument) {
                  std::string message = done.status().message();
                  for (const auto& e : done.status().fields()) {
                    if (e.field == "reason") message = "the reason " + e.message;
                  }
                  return ReceiptPage(deps, ctx, *id, 400,
                                     T(deps, ctx, page_support::Capitalised(message)), reason);
                }
                if (!done.ok()) return ErrorFor(deps, ctx, done.status());
                return Response::Redirect(fmt::format("/consents/{}/receipt?withdrawn=1", *id));
              }});

  router.Add({"GET", "/clients/{id}/consents/new", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                if (!MayRecordConsent(ctx.Who())) return ErrorFor(deps, ctx, ConsentRoleRefusal());
                auto d = ConsentFormData(deps, ctx, core::PersonId{*id}, {}, true, {});
                if (!d.ok()) return ErrorFor(deps, ctx, d.status());
                return Render(deps, 200, "consent_form", *d);
              }});

  router.Add({"POST", "/clients/{id}/consents/new", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                if (!MayRecordConsent(ctx.Who())) return ErrorFor(deps, ctx, ConsentRoleRefusal());
                const auto form = ParseForm(ctx.request.body);
                std::vector<core::FieldError> errors;
                sharing::ConsentGrant g;
                if (!ReadReceivingAgency(form, g)) {
                  errors.push_back({"receiving_agency_id", "Choose who may receive the information"});
                } else if (g.receiving_agency && *g.receiving_agency == ctx.Who().agency) {
                  // Not offered: the consent is for another agency to receive what this one holds.
                  errors.push_back({"receiving_agency_id", "Choose another agency than your own"});
                }
                g.scope = sharing::ConsentScope::kPartial;
                for (auto [it, end] = form.equal_range("categories"); it != end; ++it) {
                  g.categories.push_back(it->second);
                  const auto* category = deps.consents->categories().Find(it->second);
                  if (category != nullptr && category->sharing_class == authz::SharingClass::kBlack) {
                    // Not offered either: it never leaves the agency that holds it.
                    errors.push_back({"categories", "Select only kinds of information the form offers"});
                  }
                }
                if (g.categories.empty()) errors.push_back({"categories", "Select at least one kind of information"});
                auto purpose = authz::ParsePurpose(FormValue(form, "purpose"));
                if (purpose.ok()) g.purpose = *purpose;
                else errors.push_back({"purpose", "Choose what the information is for"});
                g.legal_basis = Trim(FormValue(form, "legal_basis"));
                g.valid_from = deps.consents->Today();
                if (const std::string to_text = Trim(FormValue(form, "valid_to")); !to_text.empty()) {
                  auto date = core::Date::Parse(to_text);
                  if (date.ok()) g.valid_to = *date;
                  else errors.push_back({"valid_to", "Enter the last day like 2027-03-31"});
                }
                g.how_to_withdraw = Trim(FormValue(form, "how_to_withdraw"));
                g.evidence = std::string(sharing::kSignedForm);
                g.document_ref = Trim(FormValue(form, "document_ref"));
                // What the form could not read is named with the service's own checks, at once
                // (the service writes nothing while there is any).
                auto given = deps.consents->Give(ctx.Who(), core::PersonId{*id}, g, errors);
                if (given.ok()) return Response::Redirect(fmt::format("/consents/{}/receipt?recorded=1", given->id));
                if (given.status().code() != core::StatusCode::kInvalidArgument) {
                  return ErrorFor(deps, ctx, given.status());
                }
                errors = given.status().fields();
                // The service names its fields; the form's words are "the last day" (the consent
                // starts today).
                for (auto& e : errors) {
                  if (e.field == "valid_to" && e.message == "must not be before valid_from") {
                    e.message = "The last day must be today or later";
                  }
                }
                auto d = ConsentFormData(deps, ctx, core::PersonId{*id}, form, false, errors);
                if (!d.ok()) return ErrorFor(deps, ctx, d.status());
                return Render(deps, 400, "consent_form", *d);
              }});
}

}  // namespace http
