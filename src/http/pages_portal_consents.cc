// A person gives a consent from the portal: /portal/consents/new. Who may receive which of their
// information, for what, until when; recorded as the person's own action (evidence
// citizen_action), with the same checks, audit and events as a consent recorded at a desk.

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <set>

#include "http/dispatcher.h"
#include "http/json_body.h"
#include "http/page_support.h"
#include "http/typed_number.h"
#include "sharing/consent_service.h"

namespace http {
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

// What a person may let their information be used for (as on the staff's consent form).
constexpr authz::Purpose kPurposes[] = {authz::Purpose::kServiceDelivery, authz::Purpose::kCaseWork,
                                       authz::Purpose::kEligibility, authz::Purpose::kFrontDesk};

constexpr const char* kBasis = "Consent of the person (GDPR art. 6(1)(a))";
constexpr const char* kHowToWithdraw =
    "From your portal account at any time, or by telling any caseworker of the consortium's agencies.";

// "2027-03-31" from the three boxes; "" when all are empty; nullopt when they are not a date.
std::optional<std::string> UntilDate(const std::multimap<std::string, std::string>& form) {
  const std::string day = AsciiDigits(Trim(FormValue(form, "until_day")));
  const std::string month = AsciiDigits(Trim(FormValue(form, "until_month")));
  const std::string year = AsciiDigits(Trim(FormValue(form, "until_year")));
  if (day.empty() && month.empty() && year.empty()) return std::string();
  try {
    size_t a = 0, b = 0, c = 0;
    const int d = std::stoi(day, &a), m = std::stoi(month, &b), y = std::stoi(year, &c);
    if (a != day.size() || b != month.size() || c != year.size() || year.size() != 4 || !core::Date::IsValid(y, m, d)) {
      return std::nullopt;
    }
    return core::Date{y, m, d}.ToString();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Response FormPage(const PageDeps& deps, Context& ctx, int status, const std::multimap<std::string, std::string>& form,
                  const std::vector<core::FieldError>& errors) {
  json d = Common(deps, ctx, "Give a consent", "portal");
  auto agencies = ReceivingAgencyChoices(deps, ctx, FormValue(form, "receiving_agency_id"), std::nullopt);
  if (!agencies.ok()) return ErrorFor(deps, ctx, agencies.status());
  d["agencies"] = std::move(agencies).value();
  std::set<std::string> picked;
  for (auto [it, end] = form.equal_range("categories"); it != end; ++it) picked.insert(it->second);
  json categories = json::array();
  for (const auto& c : deps.consents->categories().categories()) {
    if (c.sharing_class == authz::SharingClass::kBlack) continue;
    categories.push_back({{"category_id", c.id}, {"label", T(deps, ctx, c.label)}, {"checked", picked.count(c.id) > 0}});
  }
  d["categories"] = std::move(categories);
  const std::string purpose = FormValue(form, "purpose");
  json purposes = json::array();
  for (auto p : kPurposes) {
    const std::string name(authz::PurposeName(p));
    purposes.push_back(
        {{"value", name}, {"label", T(deps, ctx, std::string(authz::PurposeLabel(p)))}, {"checked", purpose == name}});
  }
  d["purposes"] = std::move(purposes);
  for (const char* f : {"until_day", "until_month", "until_year"}) d[std::string("f_") + f] = FormValue(form, f);
  d["how_to_withdraw"] = T(deps, ctx, kHowToWithdraw);
  json list = json::array();
  for (const auto& e : errors) {
    const std::string field = e.field == "agency_kind" ? "receiving_agency_id" : e.field == "valid_to" ? "until" : e.field;
    const std::string message = T(deps, ctx, page_support::Capitalised(e.message));
    if (!d.contains("e_" + field)) d["e_" + field] = message;
    std::string href = "#" + field;
    if (field == "purpose") href = "#purpose-service_delivery";
    if (field == "until") href = "#until_day";
    // A group of boxes is reached through its first box, which takes the focus.
    if (field == "categories" && d.contains("categories") && !d["categories"].empty()) {
      href = "#category-" + d["categories"][0]["category_id"].get<std::string>();
    }
    list.push_back({{"message", message}, {"href", href}});
  }
  d["has_errors"] = !errors.empty();
  d["errors"] = std::move(list);
  return Render(deps, status, "portal_consent_form", d);
}

}  // namespace

void AddPortalConsentPages(Router& router, const PageDeps& deps) {
  if (deps.portal == nullptr || deps.consents == nullptr) return;
  // Only the person themself gives a consent, once their account is linked to their record.
  auto refusal = [&deps](Context& ctx) -> std::optional<Response> {
    if (ctx.Who().representation != 0) {
      return ErrorFor(deps, ctx,
                      core::Status::PermissionDenied("only the person themself may do this, not their representative"));
    }
    if (!ctx.Who().person) return Response::Redirect("/portal");
    return std::nullopt;
  };
  router.Add({"GET", "/portal/consents/new", Auth::kPage, "", [&deps, refusal](Context& ctx) {
                if (auto r = refusal(ctx)) return *r;
                return FormPage(deps, ctx, 200, {}, {});
              }});
  router.Add({"POST", "/portal/consents/new", Auth::kPage, "", [&deps, refusal](Context& ctx) {
                if (auto r = refusal(ctx)) return *r;
                const auto form = ParseForm(ctx.request.body);
                std::vector<core::FieldError> errors;
                sharing::ConsentGrant g;
                if (!ReadReceivingAgency(form, g)) {
                  errors.push_back({"receiving_agency_id", "choose who may receive your information"});
                }
                g.scope = sharing::ConsentScope::kPartial;
                for (auto [it, end] = form.equal_range("categories"); it != end; ++it) {
                  g.categories.push_back(it->second);
                  // Not offered: it never leaves the agency that holds it.
                  const auto* category = deps.consents->categories().Find(it->second);
                  if (category != nullptr &&
                      category->sharing_class == authz::SharingClass::kBlack) {
                    errors.push_back(
                        {"categories", "select only kinds of information the form offers"});
                  }
                }
                if (g.categories.empty()) errors.push_back({"categories", "select at least one kind of information"});
                auto purpose = authz::ParsePurpose(FormValue(form, "purpose"));
                if (purpose.ok() && std::find(std::begin(kPurposes), std::end(kPurposes), *purpose) != std::end(kPurposes)) {
                  g.purpose = *purpose;
                } else {
                  errors.push_back({"purpose", "choose what your information may be used for"});
                }
                g.legal_basis = kBasis;
                g.how_to_withdraw = kHowToWithdraw;
                g.valid_from = deps.consents->Today();
                const auto until = UntilDate(form);
                if (!until) {
                  errors.push_back(
                      {"valid_to", "enter the last day as a real date, like 31 3 2027"});
                } else if (!until->empty()) {
                  g.valid_to = *core::Date::Parse(*until);
                  if (*g.valid_to < g.valid_from)
                    errors.push_back({"valid_to", "the last day cannot be in the past"});
                }
                // What the form could not read is named with the service's own checks, at once
                // (the service writes nothing while there is any).
                auto given = deps.consents->Give(ctx.Who(), *ctx.Who().person, g, errors);
                if (given.ok()) return Response::Redirect("/portal?consented=1#consents");
                if (given.status().code() != core::StatusCode::kInvalidArgument)
                  return ErrorFor(deps, ctx, given.status());
                return FormPage(deps, ctx, 400, form, given.status().fields());
              }});
}

}  // namespace http
