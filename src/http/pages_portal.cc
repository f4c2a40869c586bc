// The citizen portal: /portal/sign-up, /portal/verify, /portal/sign-in (public, each form
// protected by its own CSRF cookie), /portal (the signed-in person's account: the code to link it
// at a desk, then their details and who looked at their record) and POST /clients/{id}/portal-link
// (staff link an account to the record after checking who the person is).

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <set>
#include <sstream>

#include "core/crypto.h"
#include "core/utf8.h"
#include "http/address_throttle.h"
#include "http/dispatcher.h"
#include "http/json_body.h"
#include "http/page_support.h"
#include "http/typed_number.h"
#include "portal/oidc.h"
#include "portal/portal_service.h"
#include "portal/representative_service.h"
#include "sharing/change_notice_service.h"
#include "sharing/consent_service.h"

namespace http {
namespace {

// Where a citizen goes once signed in: the portal page they were sent away from, else the portal.
std::string PortalNext(const std::string& next) {
  const bool portal = next == "/portal" || next.rfind("/portal/", 0) == 0;
  if (!portal || next.find("//") != std::string::npos || next.rfind("/portal/sign-", 0) == 0 ||
      page_support::LocalPath(next, "").empty()) {
    return "/portal";
  }
  return next;
}

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;

constexpr char kPortalCsrfCookie[] = "onedoor_portal_csrf";

// A public form's page, with a fresh CSRF token in its cookie and field.
Response FormPage(const PageDeps& deps, Context& ctx, int status, const std::string& name, json d) {
  const std::string csrf = core::RandomToken(24);
  d["csrf_token"] = csrf;
  Response r = Render(deps, status, name, d);
  r.Header("Set-Cookie", fmt::format("{}={}; Path=/portal; HttpOnly; SameSite=Strict{}",
                                     PathCookieName(kPortalCsrfCookie, deps.secure_cookies), csrf,
                                     deps.secure_cookies ? "; Secure" : ""));
  (void)ctx;
  return r;
}

bool CsrfOk(const PageDeps& deps, const Context& ctx, const std::multimap<std::string, std::string>& form) {
  const std::string cookie = ctx.request.Cookie(PathCookieName(kPortalCsrfCookie, deps.secure_cookies));
  return !cookie.empty() && core::ConstantTimeEquals(cookie, FormValue(form, "csrf_token"));
}

// The form's mistakes, each in the person's language (the English message is its key).
void Errors(const PageDeps& deps, const Context& ctx, json& d, const std::vector<core::FieldError>& errors) {
  for (const auto& e : errors) {
    const std::string m = page_support::T(deps, ctx, page_support::Capitalised(e.message));
    d["e_" + e.field] = m;
    d["errors"].push_back({{"message", m}, {"href", "#" + e.field}});
    d["has_errors"] = true;
  }
}

// What was done, in words; the action's name otherwise.
std::string What(const std::string& action) {
  static const std::map<std::string, std::string> kWords = {
      {"person.read", "Looked at your record"},
      {"person.update", "Changed your record"},
      {"person.create", "Registered you"},
      {"person.history", "Looked at your record's history"},
      {"person.access_log", "Looked at this list"},
      {"person.search_result", "Found you in a search"},
      {"portal.link", "Linked your portal account"},
      {"consent.create", "Recorded your consent"},
      {"interaction.create", "Recorded a contact with you"},
      {"portal.unlink", "Unlinked your portal account"},
      {"application.submit", "Made your application"},
      {"application.read", "Looked at your application"},
      {"application.person", "Looked at your applications"},
      {"application.answer", "Answered a request about your application"},
      {"application.approve", "Decided a part of your application"},
      {"application.deny", "Decided a part of your application"},
      {"application.request_information", "Decided a part of your application"},
      {"screening.create", "Screened your household for every program"},
      {"screening.read", "Looked at a screening of your household"},
      {"household.read", "Looked at your household"},
      {"document.upload", "Uploaded a document"},
      {"document.list", "Looked at your documents"},
      {"document.download", "Opened a document"},
      {"appointment.list", "Looked at your appointments"},
      {"appointment.book", "Booked an appointment"},
      {"appointment.cancel", "Cancelled an appointment"},
      {"consent.list", "Looked at your consents"},
      {"person.changes", "Looked at where your changes went"},
      {"representative.grant", "Let someone act for you"},
      {"representative.end", "Ended a representative's right to act for you"},
      {"representative.act", "Started acting for you as your representative"},
      {"consent.give", "Recorded your consent"},
      {"consent.withdraw", "Recorded that a consent of yours is withdrawn"},
      {"interaction.list", "Looked at your contacts with the agencies"},
      {"person.directory", "Looked at which agencies know you"},
      {"case.person", "Looked at your cases"},
      {"referral.person", "Looked at your referrals"},
      {"source_record.put", "Updated its own record of you"},
      {"source_record.link", "Linked its own record of you to your record"},
      {"household.add_member", "Changed who is in your household"},
      {"household.end_member", "Changed who is in your household"},
      {"household.create", "Started a household with you in it"},
      {"audit.search", "Checked who looked at your record"},
      {"audit.export", "Checked who looked at your record"},
      {"change.push", "Was told of a change to your record"},
      {"change.feed", "Was told of a change to your record"},
      {"change.redeliver", "Was told of a change to your record again"},
      {"change.applied", "Updated its own records after a change to yours"},
      {"ticket.create", "Gave you a ticket at an office"},
      {"ticket.call", "Called you to a counter"},
      {"appointment.check_in", "Checked you in for an appointment"},
      {"work.list", "Looked at work about you"},
      {"person.match_candidate", "Found you when checking for a duplicate"},
      {"request.refused", "Asked to do something with your record and was refused"},
  };
  auto it = kWords.find(action);
  // An action without words of its own is still said plainly, not as the program's code.
  return it == kWords.end() ? "Used your record" : it->second;
}

// The purpose in words ("Case work"), as the person reads it.
std::string PurposeWords(const std::string& name) {
  if (name == "own_record") return "Your own record";
  auto p = authz::ParsePurpose(name);
  return p.ok() ? std::string(authz::PurposeLabel(*p)) : name;
}

// A moment as the person reads it: the date in their language and the time (UTC).
std::string When(const Context& ctx, core::Timestamp t) {
  const std::string s = t.ToRfc3339();
  auto date = core::Date::Parse(s.substr(0, 10));
  return (date.ok() ? page_support::DateText(ctx, *date) : s.substr(0, 10)) + " " + s.substr(11, 5);
}

// A one-time link (to confirm an address, or to choose a password) that does not work: 410 when
// it has expired, 404 when it is not known or was used.
int LinkStatus(const core::Status& s) { return s.code() == core::StatusCode::kFailedPrecondition ? 410 : 404; }

// Why a one-time link does not work, as a sentence in the person's language.
std::string LinkProblem(const PageDeps& deps, const Context& ctx, const core::Status& s) {
  return s.ok() ? "" : page_support::T(deps, ctx, page_support::Capitalised(s.message())) + ".";
}

// For what only the person may do (a desk code, consents, unlinking): why a representative may
// not, or "" for the person themself.
std::string RepresentativeRefusal(const authz::Principal& who) {
  return who.representation == 0 ? "" : "only the person themself may do this, not their representative";
}

// The providers a person may sign in with, for the sign-in and sign-up pages.
void AddProviders(const PageDeps& deps, json& d) {
  if (deps.oidc == nullptr) return;
  for (const auto& p : deps.oidc->providers()) {
    d["oidc"].push_back({{"oidc_href", "/portal/sign-in-with/" + p.id}, {"provider", p.name}});
    d["has_oidc"] = true;
  }
}

}  // namespace

namespace page_support {

core::StatusOr<std::optional<core::PersonId>> ActingPerson(const PageDeps& deps, const Context& ctx,
                                                           const std::string& scope) {
  const auto& who = ctx.Who();
  if (who.representation != 0) {
    if (!scope.empty() && !who.HasScope("portal:" + scope)) {
      return core::Status::PermissionDenied("the person has not let their representative do this");
    }
    return who.person;
  }
  ASSIGN_OR_RETURN(portal::Account me, deps.portal->Me(who));
  return me.person;
}

}  // namespace page_support

void AddPortalPages(Router& router, const PageDeps& deps) {
  if (deps.portal == nullptr) return;

  auto sign_up_page = [&deps](Context& ctx, int status, const std::string& name, const std::string& email,
                              const std::vector<core::FieldError>& errors) {
    json d = Common(deps, ctx, "Create your account", "portal");
    d["f_name"] = name;
    d["f_email"] = email;
    AddProviders(deps, d);
    Errors(deps, ctx, d, errors);
    return FormPage(deps, ctx, status, "portal_sign_up", d);
  };
  router.Add({"GET", "/portal/sign-up", Auth::kPublic, "", [sign_up_page](Context& ctx) {
                return sign_up_page(ctx, 200, "", "", {});
              }});
  router.Add({"POST", "/portal/sign-up", Auth::kPublic, "", [&deps, sign_up_page](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                const std::string name = FormValue(form, "name");
                const std::string email = FormValue(form, "email");
                if (!CsrfOk(deps, ctx, form)) {
                  return sign_up_page(ctx, 403, name, email, {{"name", "the form expired: fill it in again"}});
                }
                // One address asks for a limited number of accounts an hour: the form sends e-mail
                // to whatever address it is given.
                if (const int64_t wait = deps.sign_ups->RetryAfterSeconds(ctx.request.client_address); wait > 0) {
                  Response r = sign_up_page(ctx, 429, name, email,
                                            {{"email", "too many accounts were asked for from your address: try again later"}});
                  r.Header("Retry-After", std::to_string(wait));
                  return r;
                }
                core::Status s =
                    deps.portal->SignUp(name, email, FormValue(form, "password"), page_support::LanguageOf(ctx));
                if (s.code() == core::StatusCode::kInvalidArgument) return sign_up_page(ctx, 400, name, email, s.fields());
                if (!s.ok()) return ErrorFor(deps, ctx, s);
                deps.sign_ups->Count(ctx.request.client_address);
                json d = Common(deps, ctx, "Check your e-mail", "portal");
                d["f_email"] = email;
                return Render(deps, 200, "portal_check_email", d);
              }});
  router.Add({"GET", "/portal/verify", Auth::kPublic, "", [&deps](Context& ctx) {
                core::Status s = deps.portal->Verify(ctx.request.Query("token"));
                json d = Common(deps, ctx, s.ok() ? "Your e-mail address is confirmed" : "This link does not work",
                                "portal");
                d["verified"] = s.ok();
                d["problem"] = LinkProblem(deps, ctx, s);
                const int status = s.ok() ? 200 : LinkStatus(s);
                if (!s.ok() && s.code() != core::StatusCode::kNotFound &&
                    s.code() != core::StatusCode::kFailedPrecondition) {
                  return ErrorFor(deps, ctx, s);
                }
                return Render(deps, status, "portal_verified", d);
              }});

  auto sign_in_page = [&deps](Context& ctx, int status, const std::string& email, const std::string& problem) {
    json d = Common(deps, ctx, "Sign in to your account", "portal");
    d["f_email"] = email;
    d["next"] =
        PortalNext(ctx.request.method == "GET" ? ctx.request.Query("next")
                                               : FormValue(ParseForm(ctx.request.body), "next"));
    if (ctx.request.Query("changed") == "1") {
      d["flash"] =
          page_support::T(deps, ctx, "Your password is changed. Sign in with the new one.");
    }
    AddProviders(deps, d);
    if (!problem.empty()) {
      const std::string said = page_support::T(deps, ctx, problem);
      d["e_email"] = said;
      d["errors"].push_back({{"message", said}, {"href", "#email"}});
      d["has_errors"] = true;
    }
    return FormPage(deps, ctx, status, "portal_sign_in", d);
  };
  router.Add({"GET", "/portal/sign-in", Auth::kPublic, "", [sign_in_page](Context& ctx) {
                if (ctx.principal) return Response::Redirect("/portal");
                return sign_in_page(ctx, 200, "", "");
              }});
  router.Add({"POST", "/portal/sign-in", Auth::kPublic, "", [&deps, sign_in_page](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                const std::string email = page_support::Trim(FormValue(form, "email"));
                if (!CsrfOk(deps, ctx, form)) {
                  return sign_in_page(ctx, 403, email, "The sign-in form expired. Enter your e-mail address and "
                                                       "password again");
                }
                if (email.empty() || FormValue(form, "password").empty()) {
                  return sign_in_page(ctx, 400, email, "Enter your e-mail address and password");
                }
                auto session = deps.portal->SignIn(email, FormValue(form, "password"), ctx.request.request_id,
                                                    AddressThrottle::Key(ctx.request.client_address));
                if (!session.ok()) {
                  switch (session.status().code()) {
                    case core::StatusCode::kFailedPrecondition:
                      return sign_in_page(ctx, 403, email, page_support::Capitalised(session.status().message()));
                    case core::StatusCode::kResourceExhausted:
                      return sign_in_page(ctx, 429, email, page_support::Capitalised(session.status().message()));
                    case core::StatusCode::kUnauthenticated:
                      return sign_in_page(ctx, 401, email, "The e-mail address or password is not right");
                    default:
                      return ErrorFor(deps, ctx, session.status());
                  }
                }
                // The session this browser held before, if any, ends: one sign-in, one session.
                (void)deps.accounts.Logout(ctx.session_id);
                Response r = Response::Redirect(PortalNext(FormValue(form, "next")));
                r.Header("Set-Cookie", SessionCookie(session->session_id, deps.secure_cookies,
                                                     deps.session_max_hours * 3600));
                return r;
              }});

  // A forgotten password: the address, then a one-time link by e-mail, then a new password.
  auto forgotten_page = [&deps](Context& ctx, int status, const std::string& email,
                                const std::vector<core::FieldError>& errors) {
    json d = Common(deps, ctx, "Forgotten your password?", "portal");
    d["f_email"] = email;
    Errors(deps, ctx, d, errors);
    return FormPage(deps, ctx, status, "portal_forgotten", d);
  };
  router.Add({"GET", "/portal/forgotten-password", Auth::kPublic, "", [forgotten_page](Context& ctx) {
                return forgotten_page(ctx, 200, "", {});
              }});
  router.Add({"POST", "/portal/forgotten-password", Auth::kPublic, "", [&deps, forgotten_page](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                const std::string email = page_support::Trim(FormValue(form, "email"));
                if (!CsrfOk(deps, ctx, form)) return forgotten_page(ctx, 403, email, {{"email", "the form expired: fill it in again"}});
                core::Status s = deps.portal->RequestPasswordReset(email, page_support::LanguageOf(ctx));
                if (s.code() == core::StatusCode::kInvalidArgument) return forgotten_page(ctx, 400, email, s.fields());
                if (!s.ok()) return ErrorFor(deps, ctx, s);
                json d = Common(deps, ctx, "Check your e-mail", "portal");
                d["sent"] = true;
                d["f_email"] = email;
                return Render(deps, 200, "portal_forgotten", d);
              }});
  auto reset_page = [&deps](Context& ctx, int status, const std::string& token, const core::Status& problem,
                            const std::vector<core::FieldError>& errors) {
    json d = Common(deps, ctx, problem.ok() ? "Choose a new password" : "This link does not work", "portal");
    d["reset_token"] = token;
    d["show_form"] = problem.ok();
    d["has_problem"] = !problem.ok();
    d["problem"] = LinkProblem(deps, ctx, problem);
    Errors(deps, ctx, d, errors);
    return FormPage(deps, ctx, status, "portal_reset", d);
  };
  router.Add({"GET", "/portal/reset", Auth::kPublic, "", [&deps, reset_page](Context& ctx) {
                const std::string token = ctx.request.Query("token");
                core::Status s = deps.portal->CheckPasswordReset(token);
                if (!s.ok() && s.code() != core::StatusCode::kNotFound && s.code() != core::StatusCode::kFailedPrecondition) {
                  return ErrorFor(deps, ctx, s);
                }
                return reset_page(ctx, s.ok() ? 200 : LinkStatus(s), token, s, {});
              }});
  router.Add({"POST", "/portal/reset", Auth::kPublic, "", [&deps, reset_page](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                const std::string token = FormValue(form, "token");
                if (!CsrfOk(deps, ctx, form)) {
                  return reset_page(ctx, 403, token, core::Status::Ok(), {{"password", "the form expired: fill it in again"}});
                }
                core::Status s = deps.portal->ResetPassword(token, FormValue(form, "password"));
                if (s.code() == core::StatusCode::kInvalidArgument) return reset_page(ctx, 400, token, core::Status::Ok(), s.fields());
                if (s.code() == core::StatusCode::kNotFound || s.code() == core::StatusCode::kFailedPrecondition) {
                  return reset_page(ctx, LinkStatus(s), token, s, {});
                }
                if (!s.ok()) return ErrorFor(deps, ctx, s);
                json d = Common(deps, ctx, "Your password is changed", "portal");
                d["done"] = true;
                Response r = Render(deps, 200, "portal_reset", d);
                // Whoever is signed in on this browser is signed out too.
                r.Header("Set-Cookie", SessionCookie("", deps.secure_cookies, 0));
                return r;
              }});

  // The account: the code to link it, or the person's details and who looked at them.
  auto account_page = [&deps](Context& ctx, std::optional<portal::LinkCode> code, const json& form,
                              const std::vector<core::FieldError>& errors, int status) {
    const auto& who = ctx.Who();
    auto me = deps.portal->Me(who);
    if (!me.ok()) return ErrorFor(deps, ctx, me.status());
    // A representative acting for someone sees that person's record, within the grant.
    const bool representing = who.representation != 0;
    if (representing) me->person = who.person;
    json d = Common(deps, ctx, "Your account", "portal");
    d["account_name"] = me->display_name;
    d["account_email"] = me->email;
    d["linked"] = me->person.has_value();
    d["representing"] = representing;
    d["is_self"] = !representing;
    d["may_contact"] = who.HasScope("portal:contact");
    d["may_apply"] = who.HasScope("portal:apply");
    if (deps.representatives != nullptr) {
      if (representing) {
        if (auto grant = deps.representatives->Find(who.representation); grant.ok() && *grant) {
          d["represented_name"] = (*grant)->person_name;
          d["represented_relationship"] = (*grant)->relationship;
        }
      } else {
        // The people this account acts for, and (for the person) who acts for them.
        if (auto acting = deps.representatives->ActingFor(who); acting.ok()) {
          json rows = json::array();
          for (const auto& r : *acting) {
            rows.push_back({{"id", r.id}, {"person_name", r.person_name}, {"relationship", r.relationship}});
          }
          d["has_acting_for"] = !rows.empty();
          d["acting_for"] = std::move(rows);
        }
        if (me->person) {
          if (auto mine = deps.representatives->ForPerson(who); mine.ok()) {
            const core::Date today = deps.representatives->Today();
            json rows = json::array();
            for (const auto& r : *mine) {
              std::string may = page_support::T(deps, ctx, "See your record and applications");
              if (r.Allows("contact")) may += "; " + page_support::T(deps, ctx, "tell us once of a change of contact details");
              if (r.Allows("apply")) may += "; " + page_support::T(deps, ctx, "check what you could get and apply");
              rows.push_back({{"id", r.id},
                              {"rep_name", r.name},
                              {"rep_email", r.email},
                              {"relationship", r.relationship},
                              {"may", may},
                              {"until", r.until ? page_support::DateText(ctx, *r.until) : ""},
                              {"has_until", r.until.has_value()},
                              {"active", r.ActiveOn(today)},
                              {"end_action", fmt::format("/portal/representatives/{}/end", r.id)}});
            }
            d["has_representatives"] = !rows.empty();
            d["representatives"] = std::move(rows);
          }
        }
      }
    }
    if (ctx.request.Query("unlinked") == "1") {
      d["flash"] = page_support::T(deps, ctx, "Your account is no longer linked to your record");
    }
    if (code) {
      d["link_code"] = code->code;
      d["link_expires"] = code->expires.ToRfc3339().substr(11, 5) + " UTC";
    }
    if (!me->person) {
      // Asked to be found by matching: what became of it.
      if (auto asked = deps.portal->MyLinkRequest(who); asked.ok() && *asked) {
        const auto& r = **asked;
        d["link_waiting"] = r.state == "waiting";
        d["link_declined"] = r.state == "declined";
        d["link_asked_on"] = When(ctx, r.created_at);
        d["link_reason"] = r.reason;
      }
      if (ctx.request.Query("asked") == "1") d["flash"] = page_support::T(deps, ctx, "We have your details");
      return Render(deps, status, "portal_home", d);
    }
    // Their own record, read through the gate like anyone's (and so in their access log).
    auto view = deps.persons.Get(who, *me->person);
    if (!view.ok()) return ErrorFor(deps, ctx, view.status());
    const auto& p = view->person;
    d["person_name"] = p.DisplayName();
    if (p.birth_date) {
      const auto& b = *p.birth_date;
      d["birth_date"] = b.complete() ? page_support::DateText(ctx, core::Date{b.year, b.month, b.day}) : b.ToDisplay();
    } else {
      d["birth_date"] = "";
    }
    json addresses = json::array();
    for (const auto& a : p.addresses) addresses.push_back({{"text", a.OneLine()}});
    d["addresses"] = std::move(addresses);
    d["version"] = p.version;
    // The home address, to change it (tell us once).
    const registry::Address* home = nullptr;
    for (const auto& a : p.addresses) {
      if (a.use == "home" && home == nullptr) home = &a;
    }
    d["f_line1"] = home ? home->line1 : "";
    d["f_line2"] = home ? home->line2 : "";
    d["f_city"] = home ? home->city : "";
    d["f_postcode"] = home ? home->postcode : "";
    json phones = json::array();
    for (const auto& ph : p.phones) phones.push_back({{"value", ph.value}});
    d["phones"] = std::move(phones);
    d["f_phone"] = p.phones.empty() ? "" : p.phones.front().value;
    json emails = json::array();
    for (const auto& e : p.emails) emails.push_back({{"value", e.value}});
    d["contact_emails"] = std::move(emails);
    d["f_contact_email"] = p.emails.empty() ? "" : p.emails.front().value;
    d["preferred_language"] = p.preferred_language;
    d["f_preferred_language"] = p.preferred_language;
    for (const auto& [k, v] : form.items()) d[k] = v;
    // Where each change went, and whether each agency has applied it.
    if (deps.changes != nullptr) {
      auto notices = deps.changes->ForPerson(who, *me->person);
      if (notices.ok()) {
        json rows = json::array();
        for (const auto& n : *notices) {
          std::string what;
          for (const auto& f : n.fields) what += (what.empty() ? "" : ", ") + page_support::T(deps, ctx, f);
          rows.push_back({{"agency", n.agency_name},
                          {"when", When(ctx, n.at)},
                          {"what", what.empty() ? n.type : what},
                          {"applied", n.applied},
                          {"applied_at", n.applied_at ? When(ctx, *n.applied_at) : ""}});
        }
        d["has_change_rows"] = !rows.empty();
        d["change_rows"] = std::move(rows);
      }
    }
    // Their consents: what each lets which agency do, and the button to withdraw it.
    if (deps.consents != nullptr) {
      auto consents = deps.consents->ForPerson(who, *me->person);
      if (consents.ok()) {
        const core::Date today = deps.consents->Today();
        json rows = json::array();
        for (const auto& c : *consents) {
          std::string categories;
          for (const auto& id : c.categories) {
            const auto* cat = deps.consents->categories().Find(id);
            // The deployment's label, in the page's language where the catalogue has it.
            categories += (categories.empty() ? "" : ", ") + (cat != nullptr ? page_support::T(deps, ctx, cat->label) : id);
          }
          const std::string state = c.StateOn(today);
          rows.push_back({{"id", c.id},
                          {"with", c.receiving_agency
                                       ? c.receiving_agency_name
                                       : page_support::T(deps, ctx, "any {kind} agency", {{"kind", c.agency_kind}})},
                          {"what", c.scope == sharing::ConsentScope::kFull
                                       ? page_support::T(deps, ctx, "Everything it may share")
                                       : categories},
                          {"why", page_support::T(deps, ctx, std::string(authz::PurposeLabel(c.purpose)))},
                          {"state", page_support::T(deps, ctx, page_support::Capitalised(state))},
                          {"may_withdraw", !representing && (state == "active" || state == "paused" || state == "pending")},
                          {"withdraw_action", fmt::format("/portal/consents/{}/withdraw", c.id)}});
        }
        d["has_consent_rows"] = !rows.empty();
        d["consent_rows"] = std::move(rows);
      }
    }
    // Others' entries only unless asked (`all=1`), 50 a page, older ones by `before`.
    const bool all_entries = ctx.request.Query("all") == "1";
    int64_t before = 0;
    if (auto b = ParseId(ctx.request.Query("before"), "before"); b.ok()) before = *b;
    auto log = deps.persons.AccessLog(who, *me->person, 50, before, !all_entries);
    if (!log.ok()) return ErrorFor(deps, ctx, log.status());
    d["access_all"] = all_entries;
    if (log->next_before) {
      d["older_href"] = fmt::format("/portal?{}before={}#access-log", all_entries ? "all=1&" : "", *log->next_before);
    }
    json rows = json::array();
    for (const auto& e : log->items) {
      const auto& r = e.record;
      // A representative's entries say so (the audit log marks what they did as such, at the
      // time: not what their account did before or after the grant).
      const bool by_representative = e.representative;
      // The person's own doings: "You" to them; their name to a representative reading their log.
      const bool self = e.by_person || (r.user_id == who.user.value && r.agency_id == 0 &&
                                        !representing && !by_representative);
      const bool citizen = r.agency_id == 0 && r.user_id != 0 && r.roles.empty();
      // Another person's portal account is let into this record only as a member of the
      // household (screening it, applying from it); refused, it may be anyone's.
      const bool housemate = !self && !by_representative && citizen && r.entry.allowed;
      const bool someone_else = !self && !by_representative && citizen && !r.entry.allowed;
      std::string by;
      if (by_representative)
        by = page_support::T(deps, ctx, "Your representative");
      else if (self && representing)
        by = d.contains("represented_name") ? d["represented_name"].get<std::string>()
                                            : page_support::T(deps, ctx, "The person themself");
      else if (self)
        by = page_support::T(deps, ctx, "You");
      else if (housemate)
        by = page_support::T(deps, ctx, "Someone in your household");
      else if (someone_else)
        by = page_support::T(deps, ctx, "Someone else with an account");
      else if (e.by_reference) {
        by = page_support::T(deps, ctx, "Someone with the appointment's reference");
      } else {
        by = e.agency_name.empty() ? std::string("onedoor") : e.agency_name;
      }
      // The job in words, in the person's language ("Front desk"), not the program's codes.
      std::string roles;
      {
        std::stringstream list(r.roles);
        for (std::string code; std::getline(list, code, ',');) {
          auto role = authz::ParseRole(code);
          roles += (roles.empty() ? "" : ", ") +
                   (role.ok() ? page_support::RoleLabel(deps, ctx, *role) : code);
        }
      }
      rows.push_back(
          {{"when", When(ctx, r.at)},
           {"who", by},
           {"roles", roles},
           {"purpose", by_representative ? page_support::T(deps, ctx, "Acting for you")
                                         : page_support::T(deps, ctx, PurposeWords(r.purpose))},
           {"what", page_support::T(deps, ctx, What(r.entry.action))},
           {"refused", !r.entry.allowed},
           // Opened by someone's emergency access, which their agency reviews.
           {"emergency", e.emergency}});
    }
    d["access_rows"] = std::move(rows);
    d["has_access_rows"] = !log->items.empty();
    if (ctx.request.Query("changed") == "1") d["flash"] = page_support::T(deps, ctx, "Your address is changed: the agencies that know you are told");
    if (ctx.request.Query("withdrawn") == "1") d["flash"] = page_support::T(deps, ctx, "Your consent is withdrawn");
    if (ctx.request.Query("consented") == "1") d["flash"] = page_support::T(deps, ctx, "Your consent is recorded");
    if (ctx.request.Query("representative") == "1") {
      d["flash"] = page_support::T(deps, ctx, "Your representative may now act for you");
    }
    if (ctx.request.Query("representative_ended") == "1") {
      d["flash"] = page_support::T(deps, ctx, "Your representative no longer acts for you");
    }
    if (ctx.request.Query("email_changed") == "1") {
      d["flash"] = page_support::T(deps, ctx, "Your e-mail address is changed: the agencies that know you are told");
    }
    if (ctx.request.Query("language_changed") == "1") {
      d["flash"] = page_support::T(deps, ctx, "Your language is changed: the agencies that know you are told");
    }
    if (ctx.request.Query("unchanged") == "1") {
      d["flash"] = page_support::T(
          deps, ctx, "Nothing was changed: your record already says that, so no agency is told");
    }
    if (ctx.request.Query("phone_changed") == "1") {
      d["flash"] = page_support::T(deps, ctx, "Your phone number is changed: the agencies that know you are told");
    }
    Errors(deps, ctx, d, errors);
    return Render(deps, status, "portal_home", d);
  };
  router.Add({"GET", "/portal", Auth::kPage, "", [&deps, account_page](Context& ctx) {
                if (ctx.Who().kind != authz::PrincipalKind::kCitizen) return Response::Redirect("/");
                (void)deps;
                return account_page(ctx, std::nullopt, json::object(), {}, 200);
              }});
  router.Add({"POST", "/portal/link-code", Auth::kPage, "", [&deps, account_page](Context& ctx) {
                if (auto why = RepresentativeRefusal(ctx.Who()); !why.empty()) {
                  return ErrorFor(deps, ctx, core::Status::PermissionDenied(why));
                }
                auto code = deps.portal->NewLinkCode(ctx.Who());
                if (!code.ok()) return ErrorFor(deps, ctx, code.status());
                return account_page(ctx, *code, json::object(), {}, 200);
              }});
  // The person withdraws a consent of their own.
  router.Add({"POST", "/portal/consents/{id}/withdraw", Auth::kPage, "", [&deps](Context& ctx) {
                if (deps.consents == nullptr) return ErrorFor(deps, ctx, core::Status::NotFound("no consents here"));
                if (auto why = RepresentativeRefusal(ctx.Who()); !why.empty()) {
                  return ErrorFor(deps, ctx, core::Status::PermissionDenied(why));
                }
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such consent"));
                auto done = deps.consents->Record(ctx.Who(), *id, sharing::ConsentAction::kWithdraw, "");
                if (!done.ok()) return ErrorFor(deps, ctx, done.status());
                return Response::Redirect("/portal?withdrawn=1#consents");
              }});
  // Tell us once: the person changes their home address; every agency that knows them is told.
  router.Add({"POST", "/portal/address", Auth::kPage, "", [&deps, account_page](Context& ctx) {
                const auto& who = ctx.Who();
                auto acting = page_support::ActingPerson(deps, ctx, "contact");
                if (!acting.ok()) return ErrorFor(deps, ctx, acting.status());
                if (!*acting) return ErrorFor(deps, ctx, core::Status::FailedPrecondition("link your account at a desk first"));
                const core::PersonId person = **acting;
                const auto form = ParseForm(ctx.request.body);
                registry::Address a;
                a.use = "home";
                a.line1 = page_support::Trim(FormValue(form, "line1"));
                a.line2 = page_support::Trim(FormValue(form, "line2"));
                a.city = page_support::Trim(FormValue(form, "city"));
                // Typed in Arabic-Indic digits, kept in ASCII ones as the agencies read it.
                a.postcode = AsciiDigits(page_support::Trim(FormValue(form, "postcode")));
                const json typed = {{"f_line1", a.line1}, {"f_line2", a.line2}, {"f_city", a.city},
                                    {"f_postcode", a.postcode}};
                std::vector<core::FieldError> errors;
                if (a.line1.empty()) errors.push_back({"line1", "enter the first line of your address"});
                if (a.city.empty()) errors.push_back({"city", "enter the town or city"});
                if (!errors.empty()) return account_page(ctx, std::nullopt, typed, errors, 400);
                auto view = deps.persons.Get(who, person);
                if (!view.ok()) return ErrorFor(deps, ctx, view.status());
                registry::Person p = view->person;
                auto home = std::find_if(p.addresses.begin(), p.addresses.end(),
                                         [](const registry::Address& x) { return x.use == "home"; });
                if (home != p.addresses.end()) {
                  a.country = home->country;
                  a.region = home->region;
                  // The address as it is, sent on the version it was shown with: nothing to tell.
                  if (*home == a && FormValue(form, "version") == std::to_string(p.version)) {
                    return Response::Redirect("/portal?unchanged=1#changes");
                  }
                  *home = a;
                } else {
                  p.addresses.insert(p.addresses.begin(), a);
                }
                const int64_t version = FormValue(form, "version").empty() ? p.version : std::atoll(FormValue(form, "version").c_str());
                auto saved = deps.persons.Update(who, person, version, p);
                if (saved.ok()) return Response::Redirect("/portal?changed=1#changes");
                if (saved.status().code() == core::StatusCode::kInvalidArgument) {
                  std::vector<core::FieldError> named;
                  for (const auto& f : saved.status().fields()) {
                    const std::string field = f.field.substr(f.field.rfind('/') + 1);
                    named.push_back({field == "line1" || field == "city" || field == "postcode" || field == "line2"
                                         ? field
                                         : "line1",
                                     f.message});
                  }
                  return account_page(ctx, std::nullopt, typed, named, 400);
                }
                if (saved.status().code() == core::StatusCode::kFailedPrecondition) {
                  return account_page(ctx, std::nullopt, typed,
                                      {{"line1", "your record was changed at an office meanwhile: check it and send "
                                                 "your change again"}},
                                      409);
                }
                return ErrorFor(deps, ctx, saved.status());
              }});

  // Tell us once: the person's phone number; the first number is replaced (or one is added).
  // Tell us once for a phone number or an e-mail address: the first of `list` is replaced (or
  // one is added, of `use`), and every agency that knows the person is told. `check` gives the
  // mistake in the value, or "".
  auto change_contact = [&deps, account_page](Context& ctx, const std::string& field,
                                               std::vector<registry::ContactPoint> registry::Person::*list,
                                               const std::string& use,
                                               const std::function<std::string(const std::string&)>& check,
                                               const std::string& done) {
    const auto& who = ctx.Who();
    auto acting = page_support::ActingPerson(deps, ctx, "contact");
    if (!acting.ok()) return ErrorFor(deps, ctx, acting.status());
    if (!*acting) return ErrorFor(deps, ctx, core::Status::FailedPrecondition("link your account at a desk first"));
    const core::PersonId person = **acting;
    const auto form = ParseForm(ctx.request.body);
    // A phone number typed in Arabic-Indic digits is kept in ASCII ones, as the agencies read it.
    const std::string trimmed = page_support::Trim(FormValue(form, field));
    const std::string value = field == "phone" ? AsciiDigits(trimmed) : trimmed;
    const json typed = {{"f_" + field, value}};
    if (const std::string mistake = check(value); !mistake.empty()) {
      return account_page(ctx, std::nullopt, typed, {{field, mistake}}, 400);
    }
    auto view = deps.persons.Get(who, person);
    if (!view.ok()) return ErrorFor(deps, ctx, view.status());
    registry::Person p = view->person;
    auto& points = p.*list;
    // The record holds it already: sent on the version it was shown with, nothing changed (and
    // no one is told); on an older one, the form was sent twice and the first one changed it.
    if (!points.empty() && points.front().value == value) {
      return Response::Redirect(FormValue(form, "version") == std::to_string(p.version)
                                    ? "/portal?unchanged=1#changes"
                                    : "/portal?" + done + "=1#changes");
    }
    if (points.empty()) {
      points.push_back({use, value});
    } else {
      points.front().value = value;
    }
    const int64_t version =
        FormValue(form, "version").empty() ? p.version : std::atoll(FormValue(form, "version").c_str());
    auto saved = deps.persons.Update(who, person, version, p);
    if (saved.ok()) return Response::Redirect("/portal?" + done + "=1#changes");
    if (saved.status().code() == core::StatusCode::kInvalidArgument) {
      std::vector<core::FieldError> named;
      for (const auto& f : saved.status().fields()) named.push_back({field, f.message});
      return account_page(ctx, std::nullopt, typed, named, 400);
    }
    if (saved.status().code() == core::StatusCode::kFailedPrecondition) {
      return account_page(ctx, std::nullopt, typed,
                          {{field, "your record was changed at an office meanwhile: check it and send your change again"}},
                          409);
    }
    return ErrorFor(deps, ctx, saved.status());
  };
  // Tell us once: the language the person would like the agencies to use with them.
  router.Add({"POST", "/portal/preferred-language", Auth::kPage, "", [&deps, account_page](Context& ctx) {
                const auto& who = ctx.Who();
                auto acting = page_support::ActingPerson(deps, ctx, "contact");
                if (!acting.ok()) return ErrorFor(deps, ctx, acting.status());
                if (!*acting) return ErrorFor(deps, ctx, core::Status::FailedPrecondition("link your account at a desk first"));
                const core::PersonId person = **acting;
                const auto form = ParseForm(ctx.request.body);
                const std::string language = page_support::Trim(FormValue(form, "preferred_language"));
                const json typed = {{"f_preferred_language", language}};
                if (language.empty() || core::Utf8Length(language) > 60) {
                  return account_page(ctx, std::nullopt, typed,
                                      {{"preferred_language", "enter a language, in 1 to 60 characters"}}, 400);
                }
                auto view = deps.persons.Get(who, person);
                if (!view.ok()) return ErrorFor(deps, ctx, view.status());
                registry::Person p = view->person;
                if (p.preferred_language == language &&
                    FormValue(form, "version") == std::to_string(p.version)) {
                  return Response::Redirect("/portal?unchanged=1#changes");
                }
                p.preferred_language = language;
                const int64_t version =
                    FormValue(form, "version").empty() ? p.version : std::atoll(FormValue(form, "version").c_str());
                auto saved = deps.persons.Update(who, person, version, p);
                if (saved.ok()) return Response::Redirect("/portal?language_changed=1#changes");
                if (saved.status().code() == core::StatusCode::kFailedPrecondition) {
                  return account_page(ctx, std::nullopt, typed,
                                      {{"preferred_language",
                                        "your record was changed at an office meanwhile: check it and send your change again"}},
                                      409);
                }
                if (saved.status().code() == core::StatusCode::kInvalidArgument) {
                  std::vector<core::FieldError> named;
                  for (const auto& f : saved.status().fields()) named.push_back({"preferred_language", f.message});
                  return account_page(ctx, std::nullopt, typed, named, 400);
                }
                return ErrorFor(deps, ctx, saved.status());
              }});
  router.Add({"POST", "/portal/phone", Auth::kPage, "", [change_contact](Context& ctx) {
                return change_contact(ctx, "phone", &registry::Person::phones, "mobile", [](const std::string& phone) {
                  if (phone.empty()) return std::string("enter your phone number");
                  const auto digits = std::count_if(phone.begin(), phone.end(),
                                                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
                  const bool allowed = std::all_of(phone.begin(), phone.end(), [](char c) {
                    return std::isdigit(static_cast<unsigned char>(c)) || c == ' ' || c == '+' || c == '(' || c == ')' ||
                           c == '-';
                  });
                  if (phone.size() > 30 || digits < 6 || !allowed) {
                    return std::string("enter a phone number of 6 to 30 digits, spaces and + ( ) -");
                  }
                  return std::string();
                }, "phone_changed");
              }});
  router.Add({"POST", "/portal/email", Auth::kPage, "", [change_contact](Context& ctx) {
                return change_contact(ctx, "contact_email", &registry::Person::emails, "home", [](const std::string& e) {
                  if (e.empty()) return std::string("enter your e-mail address");
                  const auto at = e.find('@');
                  const bool fine = e.size() <= 254 && at != std::string::npos && at > 0 &&
                                    e.find('@', at + 1) == std::string::npos &&
                                    e.find('.', at + 2) != std::string::npos && e.back() != '.' &&
                                    e.find_first_of(" \t<>,;") == std::string::npos;
                  return fine ? std::string() : std::string("enter an e-mail address like name@example.org");
                }, "email_changed");
              }});

  // The person unlinks their account from their record.
  // Representatives: the person lets someone act for them, or ends it; an account switches to
  // acting for someone it represents, and back.
  if (deps.representatives != nullptr) {
    router.Add({"POST", "/portal/representatives", Auth::kPage, "", [&deps, account_page](Context& ctx) {
                  const auto form = ParseForm(ctx.request.body);
                  portal::NewRepresentative r;
                  r.email = page_support::Trim(FormValue(form, "rep_email"));
                  r.relationship = page_support::Trim(FormValue(form, "relationship"));
                  for (auto [it, end] = form.equal_range("scopes"); it != end; ++it) r.scopes.push_back(it->second);
                  std::vector<core::FieldError> errors;
                  const std::string until =
                      AsciiDigits(page_support::Trim(FormValue(form, "until")));
                  if (!until.empty()) {
                    auto d = core::Date::Parse(until);
                    if (d.ok()) r.until = *d;
                    else errors.push_back({"until", "enter the last day like 2027-06-30"});
                  }
                  json kept = {{"f_rep_email", r.email}, {"f_relationship", r.relationship}, {"f_until", until}};
                  for (const auto& sc : r.scopes) kept["f_scope_" + sc] = true;
                  auto made = deps.representatives->Grant(ctx.Who(), r, std::move(errors));
                  if (!made.ok()) {
                    if (made.status().code() == core::StatusCode::kInvalidArgument) {
                      std::vector<core::FieldError> fields = made.status().fields();
                      for (auto& f : fields) {
                        if (f.field == "email") f.field = "rep_email";
                      }
                      // In the order of the form's fields, as the error summary lists them.
                      const auto place = [](const std::string& field) {
                        static const std::vector<std::string> kOrder = {"rep_email", "relationship",
                                                                        "scopes", "until"};
                        return std::find(kOrder.begin(), kOrder.end(), field) - kOrder.begin();
                      };
                      std::stable_sort(fields.begin(), fields.end(),
                                       [&](const auto& a, const auto& b) {
                                         return place(a.field) < place(b.field);
                                       });
                      return account_page(ctx, std::nullopt, kept, fields, 400);
                    }
                    if (made.status().code() == core::StatusCode::kAlreadyExists) {
                      return account_page(ctx, std::nullopt, kept, {{"rep_email", made.status().message()}}, 409);
                    }
                    return ErrorFor(deps, ctx, made.status());
                  }
                  return Response::Redirect("/portal?representative=1#representatives");
                }});
    router.Add({"POST", "/portal/representatives/{id}/end", Auth::kPage, "", [&deps](Context& ctx) {
                  auto id = ParseId(ctx.Param("id"), "id");
                  if (!id.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such representative"));
                  core::Status s = deps.representatives->End(ctx.Who(), *id);
                  if (!s.ok()) return ErrorFor(deps, ctx, s);
                  return Response::Redirect("/portal?representative_ended=1#representatives");
                }});
    router.Add({"POST", "/portal/act-for", Auth::kPage, "", [&deps](Context& ctx) {
                  const auto form = ParseForm(ctx.request.body);
                  int64_t id = 0;
                  if (const std::string v = FormValue(form, "representation"); v != "0") {
                    auto parsed = ParseId(v, "representation");
                    if (!parsed.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such representative"));
                    id = *parsed;
                  }
                  core::Status s = deps.representatives->Switch(
                      ctx.Who(), core::Sha256Hex(ctx.session_id), id);
                  if (!s.ok()) return ErrorFor(deps, ctx, s);
                  return Response::Redirect("/portal");
                }});
  }

  router.Add({"POST", "/portal/unlink", Auth::kPage, "", [&deps](Context& ctx) {
                if (auto why = RepresentativeRefusal(ctx.Who()); !why.empty()) {
                  return ErrorFor(deps, ctx, core::Status::PermissionDenied(why));
                }
                core::Status s = deps.portal->Unlink(ctx.Who());
                if (!s.ok()) return ErrorFor(deps, ctx, s);
                return Response::Redirect("/portal?unlinked=1");
              }});

  // Staff link an account, on the client's page.
  router.Add({"POST", "/clients/{id}/portal-link", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such client"));
                const auto form = ParseForm(ctx.request.body);
                core::Status s = deps.portal->Link(ctx.Who(), core::PersonId{*id}, FormValue(form, "code"));
                if (s.ok()) return Response::Redirect(fmt::format("/clients/{}?portal_linked=1#portal", *id));
                if (s.code() == core::StatusCode::kInvalidArgument || s.code() == core::StatusCode::kFailedPrecondition) {
                  // The mistake goes back to the client's page, for someone who may see it: a code
                  // that is not even well formed is answered before the service reads the record.
                  if (auto view = deps.persons.Get(ctx.Who(), core::PersonId{*id}); !view.ok()) {
                    return ErrorFor(deps, ctx, view.status());
                  }
                  const std::string why = s.fields().empty() ? s.message() : s.fields().front().message;
                  return Response::Redirect(
                      fmt::format("/clients/{}?{}#portal", *id, SignedQuery(ctx, "portal_error", why)));
                }
                return ErrorFor(deps, ctx, s);
              }});
}

}  // namespace http
