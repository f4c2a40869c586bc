#pragma once

// The page frame shared by the page files beside pages.cc (pages_agreements.cc...): the data
// every page needs, rendering and error pages. Includes nlohmann/json: page files only.

#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cases/timeline.h"
#include "http/pages.h"

namespace http::page_support {

// Title, service name, CSRF token, an empty error list and, when signed in, the user, agency,
// roles, purpose and the navigation with `current` marked.
nlohmann::json Common(const PageDeps& deps, const Context& ctx, const std::string& title,
                      const std::string& current);
// `name` in the layout.
Response Render(const PageDeps& deps, int status, const std::string& name,
                const nlohmann::json& data);
// The error page for `s` (404, 403 with "refused and recorded", 503, or 500 with a reference).
Response ErrorFor(const PageDeps& deps, const Context& ctx, const core::Status& s);
// The first value of `key` in a form, or "".
std::string FormValue(const std::multimap<std::string, std::string>& form, const std::string& key);
// `s` without leading and trailing white space.
std::string Trim(std::string s);
// `path` when it is a path on this site to send a browser back to ("/clients/7?tab=a"), else
// `otherwise`. Refused: anything not starting with one "/", a backslash, and control characters
// (browsers drop tabs and line breaks, so "/\t/evil.example" would become "//evil.example").
std::string LocalPath(const std::string& path, const std::string& otherwise);
// `s` with its first letter in upper case: a service's message as a sentence on a page.
std::string Capitalised(std::string s);
// A role as people say it ("Front desk", "Administrator"), in the request's language.
std::string RoleLabel(const PageDeps& deps, const Context& ctx, authz::Role role);
// The language of the request: the one chosen with the language switcher (a cookie), else the
// first of the browser's that onedoor speaks, else English.
std::string LanguageOf(const Context& ctx);
// `message`, a whole English sentence that is not a pattern (a service's message), in the
// request's language where the catalogue has it, else as it is.
std::string Said(const PageDeps& deps, const Context& ctx, const std::string& message);
// `message` (English, an ICU pattern) in the request's language, with `args` filled in.
std::string T(const PageDeps& deps, const Context& ctx, const std::string& message,
              const std::map<std::string, std::string>& args = {});
// A date in the request's language: "2 de diciembre de 2026".
std::string DateText(const Context& ctx, core::Date date);
// A moment on the region's clock (the offices' default time zone, else UTC): "2026-12-05 14:05".
std::string RegionTime(const PageDeps& deps, core::Timestamp t);
// The measures a service target or an outcome indicator can be set on, as <select> choices
// with `selected` chosen. In pages_metrics.cc.
nlohmann::json TargetMetricChoices(const std::string& selected);
// Reads a target form's number (field `value_field`) and minutes (optional) into `value` and
// `minutes`; the mistakes, named by field. In pages_metrics.cc.
std::vector<core::FieldError> ReadTargetNumbers(const std::multimap<std::string, std::string>& form,
                                                const std::string& value_field, double* value, int* minutes);

// Consent forms, shared by the staff form and the portal's. In pages_consents.cc.
// Who may receive the information, as <select> choices: every agency of the consortium but
// `except` ("agency:N"), then any government agency and any non-profit ("kind:K"), `chosen`
// selected.
core::StatusOr<nlohmann::json> ReceivingAgencyChoices(const PageDeps& deps, const Context& ctx,
                                                      const std::string& chosen,
                                                      std::optional<core::AgencyId> except);
// Reads the form's receiving_agency_id ("agency:N" or "kind:K") into the grant; false when it
// names neither.
bool ReadReceivingAgency(const std::multimap<std::string, std::string>& form, sharing::ConsentGrant& grant);

// Screening forms and results, shared by the staff screening page and the portal's
// questionnaire. In pages.cc.
// The page id of an engine field: "earned_income" → "in-earned_income", "members/2/age" → "m2-age".
std::string FieldId(const std::string& engine_field);
// "$", "£" or "€" for the loaded programs' currency.
std::string_view CurrencySymbolOf(const eligibility::RuleSet& rules);
// The form field of one input (its question as label, in the page's language), with the value
// given and its error.
nlohmann::json InputField(const PageDeps& deps, const Context& ctx, const eligibility::Symbol& s,
                          const std::string& id, const std::string& name,
                          const std::string& value, const std::map<std::string, std::string>& errors,
                          std::string_view currency);
// A typed answer as the engine takes it: trimmed; money and numbers as NumberFromTyped reads
// them in the page's language ("1.200,50" → "1200.50"); nullopt when a number is unclear, for
// the field's error UnclearNumber (English, the catalogue's key).
std::optional<std::string> AnswerValue(const eligibility::Symbol& s, std::string v,
                                       std::string_view language);
std::string UnclearNumber(const eligibility::Symbol& s);
// A result's tag class and words ("Likely eligible"; English, the catalogue's key).
std::string TagClass(const std::string& result);
std::string ResultText(const std::string& result);
// The agency's name for a rule pack's agency code; the code when no agency has it.
std::string AgencyName(accounts::AccountService& accounts, const std::string& code);

// The record a signed-in portal account works on: the person's own once linked (nullopt until
// then), or the one it represents. `scope` is what the action needs of a representative's grant
// ("contact", "apply"; "" to see): kPermissionDenied when the grant does not allow it. In
// pages_portal.cc.
core::StatusOr<std::optional<core::PersonId>> ActingPerson(const PageDeps& deps, const Context& ctx,
                                                           const std::string& scope);
}  // namespace http::page_support

namespace http {

// /account/sessions: where the signed-in account is signed in, with forms to sign out of one
// session or of all the others. In pages_account.cc.
void AddAccountPages(Router& router, const PageDeps& deps);

// /staff (the agency's staff accounts, for its administrators), /staff/new and /staff/{id} with
// its commands (roles, temporary password, sign out everywhere, switch off or on). In
// pages_staff.cc.
void AddStaffPages(Router& router, const PageDeps& deps);

// /tokens (the agency's API tokens, for its administrators), /tokens/new (issue one; the secret
// is shown once) and /tokens/{id}/revoke. In pages_tokens.cc.
void AddTokenPages(Router& router, const PageDeps& deps);

// /audit (the agency's audit log, searched by its auditors) and /audit/export.csv. In
// pages_audit.cc.
void AddAuditPages(Router& router, const PageDeps& deps);

// A browser and its operating system as a person would name them ("Firefox", "Windows"), from a
// User-Agent header; either is "" when not recognised.
struct BrowserDescription {
  std::string browser;
  std::string system;
};
BrowserDescription DescribeUserAgent(std::string_view agent);

// /agreements (the public register), /agreements/new (propose) and /governance/agreements
// (decide). In pages_agreements.cc.
void AddAgreementPages(Router& router, const PageDeps& deps);

// /break-glass (the review queue of emergency accesses) and /break-glass/{id}/review. In
// pages_break_glass.cc.
void AddBreakGlassPages(Router& router, const PageDeps& deps);

// /consents/{id}/receipt, the printable consent receipt. In pages_consents.cc.
void AddConsentPages(Router& router, const PageDeps& deps);

// /referrals (received and sent), /referrals/new and /referrals/{id}. In pages_referrals.cc.
void AddReferralPages(Router& router, const PageDeps& deps);

// /cases (the agency's cases), /cases/new and /cases/{id} with its commands. In pages_cases.cc.
void AddCasePages(Router& router, const PageDeps& deps);

// /applications (the parts the agency decides), /applications/new (from a screening) and
// /applications/{id} with the decision forms. In pages_applications.cc.
void AddApplicationPages(Router& router, const PageDeps& deps);

// /households/{id} (members, screenings, and the forms to add a member and record that one
// left), /households/{id}/members/{person}/end and /clients/{id}/household/new (start a household
// with the client). In pages_households.cc.
void AddHouseholdPages(Router& router, const PageDeps& deps);

// /work, the work queue of the caller's teams. In pages_work.cc.
void AddWorkPages(Router& router, const PageDeps& deps);

// /contacts (the agency's contacts today, and an enquiry without a client), POST
// /clients/{id}/contacts (record a client's contact) and /feedback/{token} (the person rates
// a contact). In pages_interactions.cc. ClientContacts fills "Contacts" on a client's page.
void AddInteractionPages(Router& router, const PageDeps& deps);
void ClientContacts(const PageDeps& deps, const Context& ctx, core::PersonId person, nlohmann::json& d,
                    std::vector<cases::TimelineEntry>& timeline);

// /desk (a counter: sign in, check in, call, serve), /offices/{id}/kiosk (take a ticket) and
// /offices/{id}/display (the waiting room's board, live). In pages_queues.cc.
void AddQueuePages(Router& router, const PageDeps& deps);

// /offices (the agency's offices), /offices/{id} (hours, queues, counters, slots and the forms to
// set them up), /offices/{id}/appointments (a day's, to cancel) and /appointments/book. In
// pages_offices.cc.
void AddOfficePages(Router& router, const PageDeps& deps);

// /performance: an agency's service metrics, with the CSV. In pages_metrics.cc.
void AddMetricsPages(Router& router, const PageDeps& deps);

// /performance/outcomes (the outcomes framework and where an agency's work counts) and
// /performance/diagnostics (the integration diagnostic). In pages_outcomes.cc.
void AddOutcomePages(Router& router, const PageDeps& deps);
void AddDiagnosticPages(Router& router, const PageDeps& deps);

// /portal (a person's own account: sign up, confirm the address, sign in, the code to link the
// account at a desk, their details and who looked at them) and POST /clients/{id}/portal-link
// (staff link an account). In pages_portal.cc.
void AddPortalPages(Router& router, const PageDeps& deps);
// /portal/check (the questionnaire that asks only what is still needed), /portal/screenings/{id}
// (the results, and one application to several programs), /portal/applications and
// /portal/applications/{id} (each decision, and answering a request). In pages_portal_apply.cc.
void AddPortalApplyPages(Router& router, const PageDeps& deps);
// /portal/appointments: the person's appointments; book, move and cancel. In
// pages_portal_appointments.cc.
void AddPortalAppointmentPages(Router& router, const PageDeps& deps);
// Linking a portal account by matching, with review: /portal/find-my-record, /portal-links and
// /portal-links/{id}. In pages_portal_links.cc.
void AddPortalLinkPages(Router& router, const PageDeps& deps);
// A person gives a consent from the portal: /portal/consents/new. In pages_portal_consents.cc.
void AddPortalConsentPages(Router& router, const PageDeps& deps);
// Signing in to the portal with OpenID Connect: /portal/sign-in-with/{id} and /portal/oidc/callback.
void AddPortalOidcPages(Router& router, const PageDeps& deps);

// /directory (find a service) and /directory/services/{id}, public. In pages_directory.cc.
void AddDirectoryPages(Router& router, const PageDeps& deps);

// A message carried to the next page through a redirect's query: "NAME=<message>&NAME_sig=<mac>",
// the mac keyed by the browser's session (else by this process), so that a link made elsewhere
// cannot put words of its own in a page's banner or error. In pages.cc.
std::string SignedQuery(const Context& ctx, std::string_view name, std::string_view message);
// The message NAME of the request's query when its mac holds; "" otherwise.
std::string SignedQueryValue(const Context& ctx, std::string_view name);

}  // namespace http
