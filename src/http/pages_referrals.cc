// Referrals for staff: the agency's inbox and sent list (/referrals), a new referral from a
// client's page (/referrals/new?person=ID), and one referral with its history and the actions
// the caller's side may take (/referrals/{id}). The same service, gate and audit as the API.

#include <fmt/format.h>

#include <algorithm>

#include "directory/directory_service.h"
#include "http/json_body.h"
#include "http/page_support.h"
#include "http/request.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;
using page_support::T;
using page_support::Trim;

std::string When(core::Timestamp t) {
  std::string s = t.ToRfc3339().substr(0, 16);
  s[10] = ' ';
  return s;
}

std::string StateTag(cases::ReferralState s) {
  switch (s) {
    case cases::ReferralState::kSent:
      return "govuk-tag--blue";
    case cases::ReferralState::kReceived:
      return "govuk-tag--light-blue";
    case cases::ReferralState::kAccepted:
      return "govuk-tag--turquoise";
    case cases::ReferralState::kInProgress:
      return "govuk-tag--purple";
    case cases::ReferralState::kCompleted:
      return "govuk-tag--green";
    case cases::ReferralState::kDeclined:
      return "govuk-tag--red";
    default:
      return "govuk-tag--grey";
  }
}

// The state as a tag: "In progress", in the request's language.
std::string StateLabel(const PageDeps& deps, const Context& ctx, cases::ReferralState s) {
  switch (s) {
    case cases::ReferralState::kSent:
      return T(deps, ctx, "Sent");
    case cases::ReferralState::kReceived:
      return T(deps, ctx, "Received");
    case cases::ReferralState::kAccepted:
      return T(deps, ctx, "Accepted");
    case cases::ReferralState::kDeclined:
      return T(deps, ctx, "Declined");
    case cases::ReferralState::kInProgress:
      return T(deps, ctx, "In progress");
    case cases::ReferralState::kCompleted:
      return T(deps, ctx, "Completed");
    case cases::ReferralState::kClosed:
      return T(deps, ctx, "Closed");
    case cases::ReferralState::kWithdrawn:
      return T(deps, ctx, "Withdrawn");
  }
  std::string name(cases::ReferralStateName(s));
  std::replace(name.begin(), name.end(), '_', ' ');
  if (!name.empty()) name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  return name;
}

// The flash after an action: "Referral accepted", one whole message a state.
std::string SavedFlash(const PageDeps& deps, const Context& ctx, cases::ReferralState s) {
  switch (s) {
    case cases::ReferralState::kSent:
      return T(deps, ctx, "Referral sent");
    case cases::ReferralState::kReceived:
      return T(deps, ctx, "Referral received");
    case cases::ReferralState::kAccepted:
      return T(deps, ctx, "Referral accepted");
    case cases::ReferralState::kDeclined:
      return T(deps, ctx, "Referral declined");
    case cases::ReferralState::kInProgress:
      return T(deps, ctx, "Referral in progress");
    case cases::ReferralState::kCompleted:
      return T(deps, ctx, "Referral completed");
    case cases::ReferralState::kClosed:
      return T(deps, ctx, "Referral closed");
    case cases::ReferralState::kWithdrawn:
      return T(deps, ctx, "Referral withdrawn");
  }
  std::string name(cases::ReferralStateName(s));
  std::replace(name.begin(), name.end(), '_', ' ');
  return "Referral " + name;
}

// An event of the history ("accepted"), in the request's language; a word it does not know as it is.
std::string EventAction(const PageDeps& deps, const Context& ctx, const std::string& action) {
  if (action == "sent") return T(deps, ctx, "sent");
  if (action == "received") return T(deps, ctx, "received");
  if (action == "accepted") return T(deps, ctx, "accepted");
  if (action == "declined") return T(deps, ctx, "declined");
  if (action == "started") return T(deps, ctx, "started");
  if (action == "completed") return T(deps, ctx, "completed");
  if (action == "closed") return T(deps, ctx, "closed");
  if (action == "withdrawn") return T(deps, ctx, "withdrawn");
  return action;
}

std::string UrgencyLabel(const PageDeps& deps, const Context& ctx, cases::Urgency u) {
  return u == cases::Urgency::kUrgent ? T(deps, ctx, "Urgent")
         : u == cases::Urgency::kSoon ? T(deps, ctx, "Soon")
                                      : T(deps, ctx, "Routine");
}

std::string UrgencyTag(cases::Urgency u) {
  return u == cases::Urgency::kUrgent ? "govuk-tag--red" : u == cases::Urgency::kSoon ? "govuk-tag--orange"
                                                                                       : "govuk-tag--grey";
}

struct ActionText {
  const char* label;
  const char* hint;
};

ActionText TextOf(cases::ReferralAction a) {
  switch (a) {
    case cases::ReferralAction::kReceive:
      return {"Mark as received", "Your agency has it and will answer by the date above"};
    case cases::ReferralAction::kAccept:
      return {"Accept", "Your agency will help the client"};
    case cases::ReferralAction::kDecline:
      return {"Decline", "Give the reason: the agency that referred is told"};
    case cases::ReferralAction::kStart:
      return {"Start work", "Someone is working with the client"};
    case cases::ReferralAction::kComplete:
      return {"Complete", "Done: give the outcome"};
    case cases::ReferralAction::kClose:
      return {"Close", "Ended without completing: give the outcome"};
    case cases::ReferralAction::kWithdraw:
      return {"Withdraw", "The client no longer needs it: give the reason"};
  }
  return {"", ""};
}

json ViewData(const PageDeps& deps, const Context& ctx, const cases::Referral& r) {
  json d = Common(deps, ctx, T(deps, ctx, "Referral {id, number, ::group-off}", {{"id", std::to_string(r.id)}}),
                  "referrals");
  const auto& who = ctx.Who();
  d["id"] = r.id;
  d["version"] = r.version;
  d["person_name"] = r.person_name;
  d["person_href"] = fmt::format("/clients/{}", r.person.value);
  d["from_agency"] = r.from_agency_name;
  d["from_actor"] = r.from_actor;
  d["to_agency"] = r.to_agency_name;
  d["service"] = r.service;
  d["has_service"] = !r.service.empty();
  d["urgency"] = UrgencyLabel(deps, ctx, r.urgency);
  d["message"] = r.message;
  d["consent_id"] = r.consent_id;
  d["reason"] = r.reason;
  d["has_reason"] = !r.reason.empty();
  d["outcome"] = r.outcome;
  d["has_outcome"] = !r.outcome.empty();
  d["respond_by"] = When(r.respond_by) + " UTC";
  if (r.answered_at) d["answered_at"] = When(*r.answered_at) + " UTC";
  d["overdue"] = r.OverdueAt(deps.referrals->Now());
  d["state"] = StateLabel(deps, ctx, r.state);
  d["state_class"] = StateTag(r.state);
  d["back_href"] = who.agency == r.from_agency ? "/referrals?box=sent" : "/referrals";
  json actions = json::array();
  const bool sender = who.agency == r.from_agency;
  // The receiving side's steps: its own staff's, or a joint team's member acting for it.
  bool receiver = who.agency == r.to_agency;
  if (!receiver && deps.work != nullptr) {
    auto acts = deps.work->ActsFor(who, r.to_agency);
    receiver = acts.ok() && *acts;
  }
  for (auto a : cases::AllowedActions(r.state)) {
    if (cases::BySender(a) ? !sender : !receiver) continue;
    const ActionText t = TextOf(a);
    actions.push_back({{"value", std::string(cases::ReferralActionName(a))},
                       {"label", T(deps, ctx, t.label)},
                       {"hint", T(deps, ctx, t.hint)},
                       {"checked", false}});
  }
  d["has_actions"] = !actions.empty();
  d["actions"] = std::move(actions);
  json events = json::array();
  for (const auto& e : r.events) {
    events.push_back({{"at", When(e.at)},
                      {"action", EventAction(deps, ctx, e.action)},
                      {"actor", e.actor},
                      {"note", e.note},
                      {"has_note", !e.note.empty()}});
  }
  d["events"] = std::move(events);
  return d;
}

struct FormState {
  std::multimap<std::string, std::string> form;
  std::vector<core::FieldError> errors;
};

// The form to refer `person`, with what was typed and the errors when it comes back.
core::StatusOr<json> FormData(const PageDeps& deps, const Context& ctx, core::PersonId person,
                              const FormState& in) {
  ASSIGN_OR_RETURN(registry::PersonView view, deps.persons.Get(ctx.Who(), person));
  json d = Common(deps, ctx, "Refer a client", "referrals");
  d["person_id"] = person.value;
  d["person_name"] = view.person.DisplayName();
  d["back_href"] = fmt::format("/clients/{}", person.value);
  ASSIGN_OR_RETURN(std::vector<accounts::Agency> agencies, deps.accounts.ListAgencies());
  json list = json::array();
  for (const auto& a : agencies) {
    if (a.id == ctx.Who().agency) continue;
    list.push_back({{"id", a.id.value},
                    {"name", a.name},
                    {"selected", FormValue(in.form, "to_agency_id") == std::to_string(a.id.value)}});
  }
  d["agencies"] = std::move(list);
  json urgencies = json::array();
  const std::string urgency = FormValue(in.form, "urgency");
  for (auto [value, label] : {std::pair{"routine", "Routine: within 10 working days"},
                              std::pair{"soon", "Soon: within 3 working days"},
                              std::pair{"urgent", "Urgent: by the next working day"}}) {
    urgencies.push_back({{"value", value}, {"label", T(deps, ctx, label)}, {"checked", urgency == value}});
  }
  d["urgencies"] = std::move(urgencies);
  d["f_service"] = FormValue(in.form, "service");
  d["f_message"] = FormValue(in.form, "message");
  json consents = json::array();
  std::string first_consent;
  if (deps.consents != nullptr) {
    ASSIGN_OR_RETURN(std::vector<sharing::Consent> all, deps.consents->ForPerson(ctx.Who(), person));
    const core::Date today = deps.consents->Today();
    for (const auto& c : all) {
      if (!c.InForceOn(today) ||
          (c.purpose != authz::Purpose::kServiceDelivery && c.purpose != authz::Purpose::kCaseWork))
        continue;
      std::string cats;
      for (const auto& id : c.categories) {
        const authz::DataCategory* cat = deps.consents->categories().Find(id);
        cats += (cats.empty() ? "" : ", ") + (cat != nullptr ? cat->label : id);
      }
      if (c.scope == sharing::ConsentScope::kFull) cats = T(deps, ctx, "Every category that may be shared");
      if (first_consent.empty()) first_consent = std::to_string(c.id);
      consents.push_back({{"id", c.id},
                          {"receiver", c.receiving_agency
                                           ? c.receiving_agency_name
                                           : T(deps, ctx, "any {kind} agency", {{"kind", c.agency_kind}})},
                          {"purpose", T(deps, ctx, std::string(authz::PurposeLabel(c.purpose)))},
                          {"categories", cats},
                          {"checked", FormValue(in.form, "consent_id") == std::to_string(c.id)}});
    }
  }
  d["has_consents"] = !consents.empty();
  d["consents"] = std::move(consents);
  json errors = json::array();
  for (const auto& e : in.errors) {
    const std::string message = T(deps, ctx, e.message);
    if (!d.contains("e_" + e.field)) d["e_" + e.field] = message;
    std::string href = "#" + e.field;
    if (e.field == "urgency") href = "#urgency-routine";
    if (e.field == "consent_id") href = first_consent.empty() ? "#consent_id-hint" : "#consent_id-" + first_consent;
    errors.push_back({{"message", message}, {"href", href}});
  }
  d["has_errors"] = !in.errors.empty();
  d["errors"] = std::move(errors);
  return d;
}

std::string Capitalised(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

// Referring and answering referrals is casework (docs/staff.md); other roles are refused before
// the form is read.
std::optional<Response> RefusedReferralWork(const PageDeps& deps, const Context& ctx) {
  if (authz::HasCaseworkRole(ctx.Who())) return std::nullopt;
  return ErrorFor(deps, ctx,
                  core::Status::PermissionDenied("referrals are for caseworkers, specialists, coordinators and managers"));
}

}  // namespace

void AddReferralPages(Router& router, const PageDeps& deps) {
  if (deps.referrals == nullptr) return;
  router.Add({"GET", "/referrals", Auth::kPage, "", [&deps](Context& ctx) {
                cases::ReferralQuery q;
                const std::string box = ctx.request.Query("box");
                q.box = box == "sent" ? cases::Box::kSent : cases::Box::kReceived;
                q.state = ctx.request.Query("state") == "all" ? "all" : "open";
                if (auto v = ctx.request.Query("after"); !v.empty()) {
                  auto parsed = ParseId(v, "after");
                  if (!parsed.ok()) return ErrorFor(deps, ctx, parsed.status());
                  q.after = *parsed;
                }
                auto page = deps.referrals->List(ctx.Who(), q);
                if (!page.ok()) return ErrorFor(deps, ctx, page.status());
                json d = Common(deps, ctx, "Referrals", "referrals");
                const bool sent = q.box == cases::Box::kSent;
                d["box"] = sent ? "sent" : "received";
                d["box_sent"] = sent;
                d["box_received"] = !sent;
                d["state"] = q.state;
                d["state_open"] = q.state == "open";
                const core::Timestamp now = deps.referrals->Now();
                json items = json::array();
                for (const auto& r : page->items) {
                  items.push_back({{"id", r.id},
                                   {"person_name", r.person_name},
                                   {"other_agency", sent ? r.to_agency_name : r.from_agency_name},
                                   {"service", r.service},
                                   {"urgency", UrgencyLabel(deps, ctx, r.urgency)},
                                   {"urgency_class", UrgencyTag(r.urgency)},
                                   {"state", StateLabel(deps, ctx, r.state)},
                                   {"state_class", StateTag(r.state)},
                                   {"respond_by", When(r.respond_by)},
                                   {"overdue", r.OverdueAt(now)}});
                }
                d["has_items"] = !items.empty();
                d["items"] = std::move(items);
                if (page->next) {
                  d["next_href"] = fmt::format("/referrals?box={}&state={}&after={}", sent ? "sent" : "received",
                                               q.state, *page->next);
                }
                return Render(deps, 200, "referrals", d);
              }});

  router.Add({"GET", "/referrals/new", Auth::kPage, "", [&deps](Context& ctx) {
                if (auto refused = RefusedReferralWork(deps, ctx)) return std::move(*refused);
                auto person = ParseId(ctx.request.Query("person"), "person");
                if (!person.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("choose the client to refer first"));
                // From a service of the directory: its agency and its name, filled in.
                FormState in;
                if (const std::string sid = ctx.request.Query("directory_service"); !sid.empty() && deps.services) {
                  auto service = deps.services->Service(sid);
                  if (!service.ok()) return ErrorFor(deps, ctx, service.status());
                  if (auto agency = deps.accounts.FindAgencyByCode(service->agency); agency.ok()) {
                    in.form.insert({"to_agency_id", std::to_string(agency->id.value)});
                  }
                  std::string name = service->doc.value("name", "");
                  if (service->doc.contains("organization")) {
                    name += " (" + service->doc["organization"].value("name", "") + ")";
                  }
                  in.form.insert({"service", name});
                }
                auto d = FormData(deps, ctx, core::PersonId{*person}, in);
                if (!d.ok()) return ErrorFor(deps, ctx, d.status());
                return Render(deps, 200, "referral_form", *d);
              }});

  router.Add({"POST", "/referrals/new", Auth::kPage, "", [&deps](Context& ctx) {
                if (auto refused = RefusedReferralWork(deps, ctx)) return std::move(*refused);
                FormState in{ParseForm(ctx.request.body), {}};
                auto person = ParseId(FormValue(in.form, "person_id"), "person_id");
                if (!person.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("the form names no client"));
                cases::NewReferral r;
                r.person = core::PersonId{*person};
                if (auto to = ParseId(FormValue(in.form, "to_agency_id"), "to_agency_id"); to.ok())
                  r.to_agency = core::AgencyId{*to};
                r.service = Trim(FormValue(in.form, "service"));
                if (auto u = cases::ParseUrgency(FormValue(in.form, "urgency")); u.ok()) r.urgency = *u;
                r.message = Trim(FormValue(in.form, "message"));
                if (auto c = ParseId(FormValue(in.form, "consent_id"), "consent_id"); c.ok()) r.consent_id = *c;
                auto sent = deps.referrals->Send(ctx.Who(), r);
                if (sent.ok()) return Response::Redirect(fmt::format("/referrals/{}?sent=1", sent->id));
                if (sent.status().code() != core::StatusCode::kInvalidArgument)
                  return ErrorFor(deps, ctx, sent.status());
                for (const auto& e : sent.status().fields()) in.errors.push_back({e.field, Capitalised(e.message)});
                auto d = FormData(deps, ctx, r.person, in);
                if (!d.ok()) return ErrorFor(deps, ctx, d.status());
                return Render(deps, 400, "referral_form", *d);
              }});

  router.Add({"GET", "/referrals/{id}", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                auto r = deps.referrals->Get(ctx.Who(), *id);
                if (!r.ok()) return ErrorFor(deps, ctx, r.status());
                json d = ViewData(deps, ctx, *r);
                if (ctx.request.Query("sent") == "1") d["flash"] = T(deps, ctx, "Referral sent");
                if (ctx.request.Query("saved") == "1") d["flash"] = SavedFlash(deps, ctx, r->state);
                return Render(deps, 200, "referral_view", d);
              }});

  router.Add({"POST", "/referrals/{id}", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                if (auto refused = RefusedReferralWork(deps, ctx)) return std::move(*refused);
                const auto form = ParseForm(ctx.request.body);
                const std::string note = Trim(FormValue(form, "note"));
                int64_t version = 0;
                try {
                  version = std::stoll(FormValue(form, "version"));
                } catch (const std::exception&) {
                  return ErrorFor(deps, ctx, core::Status::NotFound("The form is missing the referral version; reload the page"));
                }
                auto action = cases::ParseReferralAction(FormValue(form, "action"));
                core::Status failed;
                if (action.ok()) {
                  auto done = deps.referrals->Act(ctx.Who(), *id, *action, version, note);
                  if (done.ok()) return Response::Redirect(fmt::format("/referrals/{}?saved=1", *id));
                  failed = done.status();
                  if (failed.code() == core::StatusCode::kNotFound ||
                      failed.code() == core::StatusCode::kPermissionDenied ||
                      failed.code() == core::StatusCode::kInternal ||
                      failed.code() == core::StatusCode::kUnavailable)
                    return ErrorFor(deps, ctx, failed);
                } else {
                  failed = core::Status::InvalidArgument("choose an action", {{"action", "Choose what to do"}});
                }
                auto r = deps.referrals->Get(ctx.Who(), *id);
                if (!r.ok()) return ErrorFor(deps, ctx, r.status());
                json d = ViewData(deps, ctx, *r);
                d["f_note"] = note;
                json errors = json::array();
                if (failed.fields().empty()) {
                  // A conflict with the state or with someone else's change: the page as it is now.
                  const std::string message = T(deps, ctx, Capitalised(failed.message()));
                  d["e_action"] = message;
                  errors.push_back({{"message", message}, {"href", "#action"}});
                }
                for (const auto& e : failed.fields()) {
                  const std::string message = T(deps, ctx, Capitalised(e.message));
                  d["e_" + e.field] = message;
                  errors.push_back({{"message", message}, {"href", "#" + e.field}});
                }
                if (action.ok()) {
                  for (auto& a : d["actions"]) a["checked"] = a["value"] == std::string(cases::ReferralActionName(*action));
                }
                d["has_errors"] = true;
                d["errors"] = std::move(errors);
                const bool conflict = failed.code() == core::StatusCode::kFailedPrecondition ||
                                      failed.code() == core::StatusCode::kAborted;
                return Render(deps, conflict ? 409 : 400, "referral_view", d);
              }});
}

}  // namespace http
