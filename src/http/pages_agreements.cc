// The sharing agreement pages: the public register of agreements in force, the proposal form
// for managers and governance users, and the governance queue where proposals are approved or
// refused and approved agreements revoked. All of them call sharing::AgreementService.

#include <fmt/format.h>

#include <algorithm>

#include "http/json_body.h"
#include "http/page_support.h"
#include "i18n/messages.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;
using page_support::T;
using page_support::Trim;

std::string DateText(const Context& ctx, core::Date d) { return page_support::DateText(ctx, d); }

std::string DayOf(const Context& ctx, core::Timestamp t) {
  auto d = core::Date::Parse(t.ToRfc3339().substr(0, 10));
  return d.ok() ? DateText(ctx, *d) : "";
}

std::string Period(const PageDeps& deps, const Context& ctx, const sharing::Agreement& a) {
  if (!a.valid_to) return T(deps, ctx, "From {start}", {{"start", DateText(ctx, a.valid_from)}});
  return T(deps, ctx, "{start} to {end}",
           {{"start", DateText(ctx, a.valid_from)}, {"end", DateText(ctx, *a.valid_to)}});
}

std::string ClassTag(authz::SharingClass c) {
  switch (c) {
    case authz::SharingClass::kWhite:
      return "govuk-tag--green";
    case authz::SharingClass::kGrey:
      return "govuk-tag--yellow";
    case authz::SharingClass::kBlack:
      return "govuk-tag--red";
  }
  return "govuk-tag--grey";
}

// "White", "Grey" or "Black", in the request's language.
std::string ClassText(const PageDeps& deps, const Context& ctx, authz::SharingClass c) {
  return T(deps, ctx, page_support::Capitalised(std::string(authz::SharingClassName(c))));
}

// `message` (English, maybe from a service and carrying a value) in the request's language when
// the catalogue has it; never read as a pattern.
std::string Known(const PageDeps& deps, const Context& ctx, const std::string& message) {
  return deps.templates.messages().Has(page_support::LanguageOf(ctx), message) ? T(deps, ctx, message) : message;
}

std::string PurposeText(const PageDeps& deps, const Context& ctx, authz::Purpose p) {
  return T(deps, ctx, std::string(authz::PurposeLabel(p)));
}

// What every view of an agreement shows. Nothing here is personal data except `approvals`
// and `proposed_by` (staff usernames), which only the governance page uses.
json AgreementView(const PageDeps& deps, const Context& ctx, const sharing::Agreement& a,
                   const authz::DataCategories& categories) {
  const authz::DataCategory* c = categories.Find(a.category);
  json approvals = json::array();
  for (const auto& e : a.events) {
    if (e.action == "approved") approvals.push_back({{"actor", e.actor}, {"when", DayOf(ctx, e.at)}});
  }
  std::string proposed_by;
  for (const auto& e : a.events) {
    if (e.action == "proposed") proposed_by = e.actor;
  }
  return {{"id", std::to_string(a.id)},
          {"agency", a.receiving_agency_name},
          {"category", c != nullptr ? c->label : a.category},
          {"category_description", c != nullptr ? c->description : ""},
          {"class_text", ClassText(deps, ctx, a.sharing_class)},
          {"class_tag", ClassTag(a.sharing_class)},
          {"purpose", PurposeText(deps, ctx, a.purpose)},
          {"legal_basis", a.consent_required ? T(deps, ctx, "The person's consent") : a.legal_basis},
          {"consent_required", a.consent_required},
          {"period", Period(deps, ctx, a)},
          // Mustache shows a section for any string, the empty one too.
          {"description", a.description.empty() ? json(false) : json(a.description)},
          {"approved_on", a.decided_at ? DayOf(ctx, *a.decided_at) : ""},
          {"proposed_on", DayOf(ctx, a.proposed_at)},
          {"proposed_by", proposed_by},
          {"approvals", std::move(approvals)},
          {"approvals_needed", std::to_string(a.approvals_needed)},
          {"approvals_count", std::to_string(a.approvals())},
          {"state", std::string(sharing::AgreementStateName(a.state))},
          {"reason", a.reason}};
}

json CategoriesView(const PageDeps& deps, const Context& ctx, const authz::DataCategories& categories) {
  json out = json::array();
  for (const auto& c : categories.categories()) {
    out.push_back({{"id", c.id},
                   {"label", c.label},
                   {"description", c.description},
                   {"class_text", ClassText(deps, ctx, c.sharing_class)},
                   {"class_tag", ClassTag(c.sharing_class)}});
  }
  return out;
}

// --- The governance page ----------------------------------------------------------------

struct DecisionError {
  int64_t id = 0;
  std::string message;       // in the request's language
  std::string reason;        // as typed, shown again
  bool about_reason = true;  // false: about the agreement's state; the summary links to its card
};

Response GovernancePage(const PageDeps& deps, Context& ctx,
                        const std::optional<DecisionError>& error, int status) {
  sharing::AgreementService& service = *deps.agreements;
  json d = Common(deps, ctx, "Sharing agreements", "agreements");
  auto list = [&](sharing::AgreementState state) {
    sharing::AgreementQuery q;
    q.state = state;
    q.limit = 200;
    return service.List(q);
  };
  auto proposed = list(sharing::AgreementState::kProposed);
  auto approved = list(sharing::AgreementState::kApproved);
  auto refused = list(sharing::AgreementState::kRefused);
  auto revoked = list(sharing::AgreementState::kRevoked);
  for (const auto* r : {&proposed, &approved, &refused, &revoked}) {
    if (!r->ok()) return ErrorFor(deps, ctx, r->status());
  }
  const core::Date today = service.Today();
  auto with_error = [&](json v, int64_t id) {
    if (error && error->id == id) {
      v[error->about_reason ? "e_reason" : "e_state"] = error->message;
      v["reason_value"] = error->reason;
    }
    return v;
  };
  json pending = json::array();
  for (const auto& a : *proposed) {
    json v = with_error(AgreementView(deps, ctx, a, service.categories()), a.id);
    bool mine = false;
    for (const auto& e : a.events)
      mine = mine || (e.action == "approved" && e.user == ctx.Who().user.value);
    v["approved_by_me"] = mine;
    // Nobody approves what they proposed, nor their own agency's receiving (the service refuses
    // it too): the page says so instead of offering the button.
    const bool proposed_by_me = a.proposed_by == ctx.Who().user.value;
    const bool for_my_agency = a.receiving_agency == ctx.Who().agency;
    v["proposed_by_me"] = proposed_by_me;
    v["for_my_agency"] = for_my_agency && !proposed_by_me;
    v["can_approve"] = !mine && !proposed_by_me && !for_my_agency;
    pending.push_back(std::move(v));
  }
  json in_force = json::array();
  for (const auto& a : *approved) {
    json v = with_error(AgreementView(deps, ctx, a, service.categories()), a.id);
    v["in_force"] = a.InForceOn(today);
    const char* status = a.InForceOn(today) ? "in_force" : a.valid_from > today ? "not_started" : "ended";
    v["status_text"] = T(deps, ctx, "{status, select, in_force {In force} not_started {Not started} other {Ended}}",
                         {{"status", status}});
    in_force.push_back(std::move(v));
  }
  json closed = json::array();
  std::vector<sharing::Agreement> ended = *refused;
  ended.insert(ended.end(), revoked->begin(), revoked->end());
  std::sort(ended.begin(), ended.end(), [](const auto& x, const auto& y) { return x.id > y.id; });
  for (const auto& a : ended) {
    json v = AgreementView(deps, ctx, a, service.categories());
    v["state_text"] = T(deps, ctx, a.state == sharing::AgreementState::kRefused ? "Refused" : "Revoked");
    closed.push_back(std::move(v));
  }
  d["pending"] = std::move(pending);
  d["pending_count"] = std::to_string(proposed->size());
  d["has_pending"] = !proposed->empty();
  d["approved"] = std::move(in_force);
  d["approved_count"] = std::to_string(approved->size());
  d["has_approved"] = !approved->empty();
  d["closed"] = std::move(closed);
  d["has_closed"] = !ended.empty();
  if (error) {
    const std::string href =
        fmt::format("#{}-{}", error->about_reason ? "reason" : "agreement", error->id);
    d["errors"] = json::array({{{"href", href}, {"message", error->message}}});
    d["has_errors"] = true;
  }
  const std::string done = ctx.request.Query("done");
  // The banner only says what is so: the agreement exists and is in the state it announces.
  auto matches = [&](int64_t id) {
    auto a = service.Get(id);
    if (!a.ok()) return false;
    using S = sharing::AgreementState;
    return (done == "approved" && a->state == S::kApproved) ||
           (done == "approval" && a->state == S::kProposed && a->approvals() > 0) ||
           (done == "refused" && a->state == S::kRefused) ||
           (done == "revoked" && a->state == S::kRevoked) ||
           (done == "proposed" && a->state == S::kProposed);
  };
  if (auto id = ParseId(ctx.request.Query("id"), "id"); id.ok() && !done.empty() && matches(*id)) {
    const std::map<std::string, std::string> args = {{"id", std::to_string(*id)}};
    if (done == "approved")
      d["flash"] = T(deps, ctx, "Agreement {id, number, ::group-off} approved: it is on the public register", args);
    if (done == "approval")
      d["flash"] = T(deps, ctx,
                     "Your approval of agreement {id, number, ::group-off} is recorded: a second governance user "
                     "must approve it",
                     args);
    if (done == "refused") d["flash"] = T(deps, ctx, "Agreement {id, number, ::group-off} refused", args);
    if (done == "revoked")
      d["flash"] = T(deps, ctx, "Agreement {id, number, ::group-off} revoked: it is no longer in force", args);
    if (done == "proposed") d["flash"] = T(deps, ctx, "Agreement {id, number, ::group-off} proposed", args);
  }
  return Render(deps, status, "agreements_governance", d);
}

// --- The proposal form ------------------------------------------------------------------

bool MayPropose(const authz::Principal& who) {
  return who.HasAnyRole({authz::Role::kGovernance, authz::Role::kManager});
}

// The page field a service field error belongs to, and the page's wording for it (English: the
// catalogue's key, translated where the form shows it).
std::pair<std::string, std::string> FormError(const core::FieldError& fe) {
  if (fe.field == "receiving_agency_id")
    return {"receiving_agency_id", "Select the agency that will receive the data"};
  if (fe.field == "purpose") return {"purpose", "Select the purpose"};
  if (fe.field == "legal_basis") return {"legal_basis", "Legal basis: " + fe.message};
  if (fe.field == "valid_to") {
    return {"valid_to", fe.message == "must not be before valid_from"
                            ? "The end date must be on or after the start date"
                            : "The end date " + fe.message};
  }
  if (fe.field == "description") return {"description", "What the data is for " + fe.message};
  return {fe.field, page_support::Capitalised(fe.message)};
}

Response ProposalForm(const PageDeps& deps, Context& ctx,
                      const std::multimap<std::string, std::string>& form,
                      const std::vector<std::pair<std::string, std::string>>& errors, int status) {
  sharing::AgreementService& service = *deps.agreements;
  const authz::Principal& who = ctx.Who();
  json d = Common(deps, ctx, "Propose a sharing agreement", "agreements");
  const std::string agency_value = FormValue(form, "receiving_agency_id");
  json agencies = json::array();
  auto all = deps.accounts.ListAgencies();
  if (!all.ok()) return ErrorFor(deps, ctx, all.status());
  for (const auto& a : *all) {
    // A manager proposes for their own agency to receive data; governance for any agency.
    if (!who.HasRole(authz::Role::kGovernance) && a.id != who.agency) continue;
    const std::string id = std::to_string(a.id.value);
    agencies.push_back({{"value", id}, {"label", a.name}, {"selected", agency_value == id}});
  }
  d["agencies"] = std::move(agencies);
  d["governance"] = who.HasRole(authz::Role::kGovernance);
  json categories = json::array();
  json never = json::array();
  const std::string category_value = FormValue(form, "category");
  bool first = true;
  for (const auto& c : service.categories().categories()) {
    if (c.sharing_class == authz::SharingClass::kBlack) {
      never.push_back(c.label);
      continue;
    }
    categories.push_back({{"value", c.id},
                          {"input_id", first ? std::string("category") : "category-" + c.id},
                          {"label", c.label},
                          {"hint", c.description},
                          {"class_text", ClassText(deps, ctx, c.sharing_class)},
                          {"approvals", T(deps, ctx, c.sharing_class == authz::SharingClass::kGrey
                                                         ? "two governance users approve"
                                                         : "one governance user approves")},
                          {"checked", category_value == c.id}});
    first = false;
  }
  std::string never_text;  // "A, B and C"
  for (size_t i = 0; i < never.size(); ++i) {
    const std::string label = never[i].get<std::string>();
    if (i == 0) {
      never_text = label;
    } else if (i + 1 < never.size()) {
      never_text += ", " + label;
    } else {
      never_text = T(deps, ctx, "{items} and {last}", {{"items", never_text}, {"last", label}});
    }
  }
  d["categories"] = std::move(categories);
  if (!never_text.empty()) d["never_shared"] = never_text;
  json purposes = json::array();
  const std::string purpose_value = FormValue(form, "purpose");
  first = true;
  for (authz::Purpose p : sharing::AgreementPurposes()) {
    const std::string name(authz::PurposeName(p));
    purposes.push_back({{"value", name},
                        {"input_id", first ? std::string("purpose") : "purpose-" + name},
                        {"label", PurposeText(deps, ctx, p)},
                        {"checked", purpose_value == name}});
    first = false;
  }
  d["purposes"] = std::move(purposes);
  d["legal_basis"] = FormValue(form, "legal_basis");
  d["valid_from"] =
      form.count("valid_from") ? FormValue(form, "valid_from") : service.Today().ToString();
  d["valid_to"] = FormValue(form, "valid_to");
  d["description"] = FormValue(form, "description");
  json list = json::array();
  for (const auto& [field, english] : errors) {
    const std::string message = Known(deps, ctx, english);
    if (!d.contains("e_" + field)) d["e_" + field] = message;
    list.push_back({{"href", "#" + field}, {"message", message}});
  }
  d["errors"] = std::move(list);
  d["has_errors"] = !errors.empty();
  if (auto proposed = ParseId(ctx.request.Query("proposed"), "proposed"); proposed.ok()) {
    d["flash"] = T(deps, ctx, "Agreement {id, number, ::group-off} proposed. Governance users will decide on it",
                   {{"id", std::to_string(*proposed)}});
  }
  return Render(deps, status, "agreement_form", d);
}

}  // namespace

void AddAgreementPages(Router& router, const PageDeps& deps) {
  // The public register: anyone may read it, signed in or not. Agencies, categories, purposes
  // and legal bases only; no person and no member of staff is named.
  router.Add({"GET", "/agreements", Auth::kPublic, "", [&deps](Context& ctx) {
                sharing::AgreementService& service = *deps.agreements;
                const core::Date today = service.Today();
                sharing::AgreementQuery q;
                q.in_force_on = today;
                q.limit = 200;
                json d = Common(deps, ctx, "Register of sharing agreements", "register");
                std::vector<sharing::Agreement> in_force;
                for (;;) {
                  auto page = service.List(q);
                  if (!page.ok()) return ErrorFor(deps, ctx, page.status());
                  in_force.insert(in_force.end(), page->begin(), page->end());
                  if (static_cast<int>(page->size()) < q.limit) break;
                  q.after = page->back().id;
                }
                json items = json::array();
                for (const auto& a : in_force) {
                  json v = AgreementView(deps, ctx, a, service.categories());
                  v.erase("approvals");
                  v.erase("proposed_by");
                  items.push_back(std::move(v));
                }
                d["today"] = DateText(ctx, today);
                d["count"] = std::to_string(in_force.size());
                d["has_items"] = !in_force.empty();
                d["items"] = std::move(items);
                d["categories"] = CategoriesView(deps, ctx, service.categories());
                return Render(deps, 200, "agreements_register", d);
              }});

  router.Add({"GET", "/agreements/new", Auth::kPage, "", [&deps](Context& ctx) {
                if (!MayPropose(ctx.Who())) {
                  return ErrorFor(
                      deps, ctx,
                      core::Status::PermissionDenied(
                          "only managers and governance users propose sharing agreements"));
                }
                return ProposalForm(deps, ctx, {}, {}, 200);
              }});

  router.Add(
      {"POST", "/agreements/new", Auth::kPage, "", [&deps](Context& ctx) {
         // Who may propose is settled before the form is read.
         if (!MayPropose(ctx.Who())) {
           return ErrorFor(deps, ctx,
                           core::Status::PermissionDenied("only managers and governance users propose sharing agreements"));
         }
         auto form = ParseForm(ctx.request.body);
         std::vector<std::pair<std::string, std::string>> errors;
         sharing::Proposal p;
         try {
           size_t used = 0;
           const std::string text = FormValue(form, "receiving_agency_id");
           p.receiving_agency = core::AgencyId{std::stoll(text, &used)};
           if (used != text.size()) throw std::invalid_argument("trailing");
         } catch (const std::exception&) {
           errors.emplace_back("receiving_agency_id",
                               "Select the agency that will receive the data");
         }
         p.category = FormValue(form, "category");
         if (p.category.empty()) errors.emplace_back("category", "Select the data category");
         auto purpose = authz::ParsePurpose(FormValue(form, "purpose"));
         if (!purpose.ok())
           errors.emplace_back("purpose", "Select the purpose");
         else
           p.purpose = *purpose;
         p.legal_basis = Trim(FormValue(form, "legal_basis"));
         if (p.legal_basis.empty())
           errors.emplace_back("legal_basis", "Enter the legal basis, or consent");
         const std::string from = Trim(FormValue(form, "valid_from"));
         auto from_date = core::Date::Parse(from);
         if (!from_date.ok())
           errors.emplace_back("valid_from", "Enter the start date as a date like 2026-04-01");
         else
           p.valid_from = *from_date;
         const std::string to = Trim(FormValue(form, "valid_to"));
         if (!to.empty()) {
           auto to_date = core::Date::Parse(to);
           if (!to_date.ok())
             errors.emplace_back("valid_to",
                                 "Enter the end date as a date like 2027-03-31, or leave it empty");
           else
             p.valid_to = *to_date;
         }
         p.description = Trim(FormValue(form, "description"));
         if (errors.empty()) {
           auto done = deps.agreements->Propose(ctx.Who(), p);
           if (done.ok()) {
             if (ctx.Who().HasRole(authz::Role::kGovernance)) {
               return Response::Redirect(
                   fmt::format("/governance/agreements?done=proposed&id={}", done->id));
             }
             return Response::Redirect(fmt::format("/agreements/new?proposed={}", done->id));
           }
           if (done.status().code() != core::StatusCode::kInvalidArgument)
             return ErrorFor(deps, ctx, done.status());
           for (const auto& fe : done.status().fields()) errors.push_back(FormError(fe));
         }
         return ProposalForm(deps, ctx, form, errors, 400);
       }});

  router.Add({"GET", "/governance/agreements", Auth::kPage, "", [&deps](Context& ctx) {
                if (!ctx.Who().HasRole(authz::Role::kGovernance)) {
                  return ErrorFor(deps, ctx,
                                  core::Status::PermissionDenied(
                                      "only governance users decide sharing agreements"));
                }
                return GovernancePage(deps, ctx, std::nullopt, 200);
              }});

  router.Add(
      {"POST", "/governance/agreements/{id}", Auth::kPage, "", [&deps](Context& ctx) {
         int64_t id = 0;
         try {
           size_t used = 0;
           id = std::stoll(ctx.Param("id"), &used);
           if (used != ctx.Param("id").size() || id <= 0) id = 0;
         } catch (const std::exception&) {
         }
         if (id == 0)
           return ErrorFor(deps, ctx, core::Status::NotFound("There is no such agreement"));
         // Only governance users decide; the register is public, so the agreement is no secret and
         // everyone else is refused before the form is read.
         if (!ctx.Who().HasRole(authz::Role::kGovernance)) {
           return ErrorFor(deps, ctx, core::Status::PermissionDenied("only governance users decide sharing agreements"));
         }
         auto form = ParseForm(ctx.request.body);
         const std::string reason = Trim(FormValue(form, "reason"));
         auto decision = sharing::ParseAgreementDecision(FormValue(form, "decision"));
         if (!decision.ok())
           return ErrorFor(deps, ctx, core::Status::NotFound("There is no such decision"));
         auto done = deps.agreements->Decide(ctx.Who(), id, *decision, reason);
         if (done.ok()) {
           std::string what = *decision == sharing::AgreementDecision::kRefuse    ? "refused"
                              : *decision == sharing::AgreementDecision::kRevoke  ? "revoked"
                              : done->state == sharing::AgreementState::kApproved ? "approved"
                                                                                  : "approval";
           return Response::Redirect(fmt::format("/governance/agreements?done={}&id={}", what, id));
         }
         const core::StatusCode code = done.status().code();
         if (code == core::StatusCode::kInvalidArgument) {
           std::string message = done.status().fields().empty() ? done.status().message()
                                                                : done.status().fields()[0].message;
           const std::map<std::string, std::string> args = {{"id", std::to_string(id)}};
           if (*decision == sharing::AgreementDecision::kRefuse && reason.empty()) {
             message = T(deps, ctx, "Enter the reason for refusing agreement {id, number, ::group-off}", args);
           } else if (*decision == sharing::AgreementDecision::kRevoke && reason.empty()) {
             message = T(deps, ctx, "Enter the reason for revoking agreement {id, number, ::group-off}", args);
           } else {
             message = T(deps, ctx, "Agreement {id, number, ::group-off}: the reason {problem}",
                         {{"id", std::to_string(id)}, {"problem", Known(deps, ctx, message)}});
           }
           return GovernancePage(deps, ctx, DecisionError{id, message, reason}, 400);
         }
         if (code == core::StatusCode::kFailedPrecondition || code == core::StatusCode::kAborted) {
           return GovernancePage(
               deps, ctx,
               DecisionError{id, Known(deps, ctx, page_support::Capitalised(done.status().message())), reason, false},
               409);
         }
         return ErrorFor(deps, ctx, done.status());
       }});
}

}  // namespace http
