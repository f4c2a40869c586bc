#include "http/pages.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cases/timeline.h"
#include "core/crypto.h"
#include "core/utf8.h"
#include "eligibility/evaluator.h"
#include "frontoffice/office_hours.h"
#include "http/address_throttle.h"
#include "http/api_timeline.h"
#include "http/multipart.h"
#include "http/page_support.h"
#include "http/typed_number.h"
#include "i18n/messages.h"
#include "metrics/service_metrics.h"
#include "portal/portal_service.h"
#include "sharing/reference_directory.h"

namespace http {
namespace {

using nlohmann::json;

constexpr char kLoginCsrfCookie[] = "onedoor_login_csrf";
constexpr char kClearSiteData[] = "\"cache\", \"storage\"";
// The language chosen with the switcher.
constexpr char kLanguageCookie[] = "onedoor_lang";

std::string FormValue(const std::multimap<std::string, std::string>& form, const std::string& key) {
  auto it = form.find(key);
  return it == form.end() ? std::string() : it->second;
}

std::string Trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

json Common(const PageDeps& deps, const Context& ctx, const std::string& title, const std::string& current) {
  const std::string lang = page_support::LanguageOf(ctx);
  const i18n::Messages& messages = deps.templates.messages();
  const i18n::Language* language = i18n::FindLanguage(lang);
  json d = {{"title", messages.Format(lang, title)}, {"service_name", "onedoor"}, {"signed_in", false},
            {"csrf_token", ctx.csrf_token}, {"errors", json::array()}, {"has_errors", false},
            {"lang", lang}, {"dir", language != nullptr && language->rtl ? "rtl" : "ltr"}};
  // The language switcher: a link per language, back to this page. A page that answers a form
  // (an error, a code shown once) cannot be opened again by its address: back to the page the
  // form was on, when it is this site's, else to the start.
  std::string back = ctx.request.path;
  for (const auto& [k, v] : ctx.request.query) {
    if (k == "lang") continue;
    back += (back.find('?') == std::string::npos ? "?" : "&") + UrlEncode(k) + "=" + UrlEncode(v);
  }
  if (ctx.request.method != "GET" && ctx.request.method != "HEAD") {
    const std::string home =
        ctx.principal && ctx.principal->kind == authz::PrincipalKind::kCitizen ? "/portal" : "/";
    back = home;
    if (auto referer = ctx.request.Header("referer")) {
      // Only its path and query: the switcher goes back on this site alone.
      std::string_view r = *referer;
      if (const size_t scheme = r.find("://"); scheme != std::string_view::npos) {
        const size_t path = r.find('/', scheme + 3);
        r = path == std::string_view::npos ? std::string_view("/") : r.substr(path);
      }
      back = page_support::LocalPath(std::string(r), home);
    }
  }
  json languages = json::array();
  for (const auto& l : i18n::Languages()) {
    languages.push_back({{"tag", l.tag},
                         {"language_name", l.name},
                         {"is_current", l.tag == lang},
                         {"switch_href", fmt::format("/language?to={}&back={}", l.tag, UrlEncode(back))}});
  }
  d["ui_languages"] = std::move(languages);
  if (ctx.principal) {
    const auto& who = *ctx.principal;
    d["signed_in"] = true;
    d["user_name"] = who.name;
    std::string agency_name;
    if (who.agency.valid()) {
      auto agency = deps.accounts.GetAgency(who.agency);
      if (agency.ok()) agency_name = agency->name;
    }
    d["has_agency_name"] = !agency_name.empty();
    d["agency_name"] = agency_name;
    std::string roles = who.RoleList();
    std::replace(roles.begin(), roles.end(), ',', ' ');
    d["role_list"] = roles;
    d["purpose_label"] = messages.Format(lang, std::string(authz::PurposeLabel(who.purpose)));
    json nav = json::array();
    // A person with a portal account sees their own pages only.
    if (who.kind == authz::PrincipalKind::kCitizen) {
      // The person's own name, not the account's opaque username.
      if (deps.portal != nullptr) {
        if (auto me = deps.portal->Me(who); me.ok()) d["user_name"] = me->display_name;
      }
      d["purpose_label"] = messages.Format(lang, "your own record");
      nav.push_back({{"href", "/portal"}, {"label", messages.Format(lang, "Your account")}, {"current", current == "portal"}});
      if (deps.services != nullptr) {
        nav.push_back({{"href", "/directory"}, {"label", messages.Format(lang, "Find a service")}, {"current", current == "directory"}});
      }
      d["nav"] = std::move(nav);
      return d;
    }
    nav.push_back({{"href", "/"}, {"label", messages.Format(lang, "Home")}, {"current", current == "home"}});
    // Administrators, auditors and governance staff do not open client records.
    if (authz::HasClientRole(who)) {
      nav.push_back({{"href", "/clients"}, {"label", messages.Format(lang, "Clients")}, {"current", current == "clients"}});
      nav.push_back({{"href", "/clients/new"}, {"label", messages.Format(lang, "Register a client")}, {"current", current == "new"}});
    }
    nav.push_back({{"href", "/screening"}, {"label", messages.Format(lang, "Screening")}, {"current", current == "screening"}});
    if (deps.services != nullptr) {
      nav.push_back({{"href", "/directory"}, {"label", messages.Format(lang, "Services")}, {"current", current == "directory"}});
    }
    if (deps.interactions != nullptr && authz::HasClientRole(who)) {
      nav.push_back({{"href", "/contacts"}, {"label", messages.Format(lang, "Contacts")}, {"current", current == "contacts"}});
    }
    if (deps.queues != nullptr && authz::HasClientRole(who)) {
      nav.push_back({{"href", "/desk"}, {"label", messages.Format(lang, "Desk")}, {"current", current == "desk"}});
    }
    if (deps.office_hours != nullptr && (authz::HasClientRole(who) || who.HasRole(authz::Role::kAdmin))) {
      nav.push_back({{"href", "/offices"}, {"label", messages.Format(lang, "Offices")}, {"current", current == "offices"}});
    }
    if (deps.work != nullptr && authz::HasClientRole(who)) {
      nav.push_back({{"href", "/work"}, {"label", messages.Format(lang, "Work queue")}, {"current", current == "work"}});
    }
    if (deps.work != nullptr && who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin})) {
      nav.push_back({{"href", "/teams"}, {"label", messages.Format(lang, "Teams")}, {"current", current == "teams"}});
    }
    if (who.HasAnyRole({authz::Role::kCaseworker, authz::Role::kSpecialist, authz::Role::kCoordinator,
                        authz::Role::kManager})) {
      nav.push_back({{"href", "/reviews"}, {"label", messages.Format(lang, "Possible duplicates")}, {"current", current == "reviews"}});
      if (deps.referrals != nullptr) {
        nav.push_back({{"href", "/referrals"}, {"label", messages.Format(lang, "Referrals")}, {"current", current == "referrals"}});
      }
      if (deps.cases != nullptr) {
        nav.push_back({{"href", "/cases"}, {"label", messages.Format(lang, "Cases")}, {"current", current == "cases"}});
      }
      if (deps.applications != nullptr) {
        nav.push_back({{"href", "/applications"}, {"label", messages.Format(lang, "Applications")}, {"current", current == "applications"}});
      }
    }
    if (deps.agreements != nullptr && who.HasRole(authz::Role::kGovernance)) {
      nav.push_back({{"href", "/governance/agreements"}, {"label", messages.Format(lang, "Sharing agreements")}, {"current", current == "agreements"}});
    } else if (deps.agreements != nullptr && who.HasRole(authz::Role::kManager)) {
      nav.push_back({{"href", "/agreements/new"}, {"label", messages.Format(lang, "Propose an agreement")}, {"current", current == "agreements"}});
    }
    if (who.HasRole(authz::Role::kAdmin) && who.agency.valid()) {
      nav.push_back({{"href", "/staff"}, {"label", messages.Format(lang, "Staff accounts")}, {"current", current == "staff"}});
      nav.push_back({{"href", "/tokens"}, {"label", messages.Format(lang, "API tokens")}, {"current", current == "tokens"}});
    }
    if (deps.metrics != nullptr && who.HasAnyRole({authz::Role::kManager, authz::Role::kAdmin, authz::Role::kAuditor,
                                                   authz::Role::kGovernance})) {
      nav.push_back({{"href", "/performance"}, {"label", messages.Format(lang, "Performance")}, {"current", current == "performance"}});
    }
    if (deps.glass != nullptr &&
        who.HasAnyRole({authz::Role::kManager, authz::Role::kAuditor, authz::Role::kGovernance})) {
      nav.push_back({{"href", "/break-glass"}, {"label", messages.Format(lang, "Emergency accesses")}, {"current", current == "break-glass"}});
    }
    if (deps.audit_search != nullptr && who.HasRole(authz::Role::kAuditor)) {
      nav.push_back({{"href", "/audit"},
                     {"label", messages.Format(lang, "Audit log")},
                     {"current", current == "audit"}});
    }
    d["nav"] = std::move(nav);
  }
  return d;
}

Response Page(const PageDeps& deps, int status, const std::string& name, const json& data) {
  return Response::Html(status, deps.templates.RenderPage(name, data));
}

// The error page for `s`, in the request's language: the heading and the fixed sentences are
// translated; a service's own message is translated where the catalogue has it.
Response ErrorFor(const PageDeps& deps, const Context& ctx, const core::Status& s) {
  using page_support::T;
  auto said = [&](const std::string& m) { return T(deps, ctx, page_support::Capitalised(m)); };
  int status = 500;
  std::string heading = "Sorry, there is a problem with the service";
  std::string message = T(deps, ctx, "Try again later. If it keeps happening, quote the reference {reference}.",
                          {{"reference", ctx.request.request_id}});
  switch (s.code()) {
    case core::StatusCode::kNotFound:
      status = 404;
      heading = "Not found";
      message = T(deps, ctx, s.message());
      break;
    case core::StatusCode::kPermissionDenied:
      status = 403;
      // A form sent is something done, not something looked at.
      heading = ctx.request.method == "POST" ? "You cannot do this" : "You cannot see this";
      message = T(deps, ctx, "Access was refused and recorded: {why}.", {{"why", T(deps, ctx, s.message())}});
      break;
    case core::StatusCode::kInvalidArgument:
      status = 400;
      heading = ctx.request.method == "POST" ? "There is a problem with what was sent"
                                             : "There is a problem with the page address";
      message = s.message().empty() ? T(deps, ctx, "Check the address and try again.") : said(s.message());
      break;
    case core::StatusCode::kFailedPrecondition:
    case core::StatusCode::kAborted:
      // The thing is not in a state that allows it, or changed since the page was loaded.
      status = 409;
      heading = "This cannot be done now";
      message = said(s.message()) + ".";
      break;
    case core::StatusCode::kAlreadyExists:
      // A form sent twice, or something someone else did first.
      status = 409;
      heading = "This is done already";
      message = said(s.message()) + ".";
      break;
    case core::StatusCode::kUnavailable:
      status = 503;
      heading = "The service is busy";
      message = T(deps, ctx, "Nothing was saved. Try again in a moment.");
      break;
    default: break;
  }
  json d = Common(deps, ctx, heading, "");
  d["heading"] = T(deps, ctx, heading);
  d["message"] = message;
  return Page(deps, status, "error", d);
}

core::StatusOr<int64_t> IdParam(const Context& ctx, const std::string& name) {
  try {
    size_t used = 0;
    int64_t v = std::stoll(ctx.Param(name), &used);
    if (used == ctx.Param(name).size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  return core::Status::NotFound("There is no such record");
}

// --- The client form -------------------------------------------------------------------

const std::vector<std::pair<std::string, std::string>> kSexOptions = {
    {"female", "Female"}, {"male", "Male"}, {"other", "Other"}, {"unknown", "Not known"}};

// A change of a client record (registry::Diff's path, before and after) in words, in the page's
// language: "names/1/family" → "Name 2: family name", "needs/interpreter" "false" → "No".
json ChangeInWords(const PageDeps& deps, const Context& ctx, const registry::Change& c) {
  auto tr = [&](const std::string& m) { return page_support::T(deps, ctx, m); };
  static const std::map<std::string, std::string> kTop = {
      {"names", "Name"},
      {"identifiers", "Identifier"},
      {"addresses", "Address"},
      {"phones", "Phone"},
      {"emails", "Email"},
      {"birth_date", "Date of birth"},
      {"death_date", "Date of death"},
      {"sex", "Sex (as recorded)"},
      {"gender", "Gender"},
      {"preferred_language", "Preferred language"},
      {"needs/interpreter", "Interpreter needed"},
      {"needs/interpreter_language", "Interpreter language"},
      {"needs/accessibility", "Accessibility needs"},
      {"needs", "Needs"}};
  static const std::map<std::string, std::string> kPart = {
      {"use", "kind"},         {"given", "given name"},  {"family", "family name"},
      {"kind", "kind"},        {"value", "number"},      {"issuer", "issued by"},
      {"line1", "first line"}, {"line2", "second line"}, {"city", "town or city"},
      {"region", "region"},    {"postcode", "postcode"}};
  static const std::map<std::string, std::string> kValues = {
      {"official", "Official name"},
      {"alias", "Alias"},
      {"previous", "Previous name"},
      {"other_script", "Name in another script"},
      {"national_id", "National id"},
      {"passport", "Passport"},
      {"driver_licence", "Driver licence"},
      {"health_number", "Health number"},
      {"tax_number", "Tax number"},
      {"agency_number", "Agency number"},
      {"postal", "Postal address"},
      {"temporary", "Temporary address"},
      {"mobile", "Mobile"},
      {"true", "Yes"},
      {"false", "No"}};
  std::vector<std::string> parts;
  for (size_t start = 0; start <= c.field.size();) {
    const size_t slash = std::min(c.field.find('/', start), c.field.size());
    parts.push_back(c.field.substr(start, slash - start));
    start = slash + 1;
  }
  std::string label = c.field;
  std::string part;
  if (auto it = kTop.find(c.field); it != kTop.end()) {
    label = tr(it->second);
  } else if (parts.size() == 3 && kTop.count(parts[0]) && !parts[1].empty() &&
             std::all_of(parts[1].begin(), parts[1].end(),
                         [](char ch) { return ch >= '0' && ch <= '9'; })) {
    // A list's item: the first is "Name", the others "Name 2", "Name 3"...
    const int n = std::stoi(parts[1]) + 1;
    label = tr(kTop.at(parts[0])) + (n > 1 ? " " + std::to_string(n) : "");
    part = parts[2];
    if (auto p = kPart.find(part); p != kPart.end() && !(parts[0] == "emails" && part == "value")) {
      label += ": " + tr(p->second);
    }
  }
  auto value = [&](const std::string& v) -> std::string {
    if (v.empty()) return v;
    if (c.field == "sex") {
      for (const auto& [code, words] : kSexOptions)
        if (code == v) return tr(words);
    }
    if (part == "use" && v == "home")
      return tr(parts[0] == "phones" ? "Home phone" : "Home address");
    if (part == "use" && v == "work") return tr("Work phone");
    const bool coded = part == "use" || part == "kind" || c.field == "needs/interpreter";
    if (auto it = kValues.find(v); coded && it != kValues.end()) return tr(it->second);
    return v;
  };
  json out = {{"field", label},
              {"after", c.after.empty() ? tr("(removed)") : value(c.after)},
              {"now", c.before.empty() ? tr("(none)") : value(c.before)}};
  if (!c.before.empty()) out["before"] = value(c.before);
  return out;
}

// The form fields and the record paths whose errors they show.
std::string FormFieldFor(const std::string& path) {
  if (path.rfind("names/0/family", 0) == 0 || path == "names") return "family_name";
  if (path.rfind("names/0/given", 0) == 0) return "given_name";
  if (path.rfind("names/", 0) == 0) return "other_names";
  if (path.rfind("birth_date", 0) == 0) return "birth_date";
  if (path.rfind("death_date", 0) == 0) return "death_date";
  if (path.rfind("sex", 0) == 0) return "sex";
  if (path.rfind("identifiers", 0) == 0) return "national_id";
  if (path.rfind("addresses", 0) == 0) return path.find("postcode") != std::string::npos ? "address_postcode" : "address_line1";
  if (path.rfind("phones", 0) == 0) return "phone";
  if (path.rfind("emails", 0) == 0) return "email";
  if (path.rfind("preferred_language", 0) == 0) return "preferred_language";
  if (path.rfind("needs/accessibility", 0) == 0) return "accessibility_needs";
  return "family_name";
}

std::string HrefFor(const std::string& field) {
  if (field == "birth_date") return "#birth_day";
  if (field == "death_date") return "#death_day";
  if (field == "sex") return "#sex-female";
  return "#" + field;
}

// A date of birth in the page's language: the whole date as DateText writes it; a partial one
// ("March 1985", "1985") as stored.
std::string BirthText(const Context& ctx, const core::PartialDate& b) {
  return b.complete() ? page_support::DateText(ctx, core::Date{b.year, b.month, b.day}) : b.ToDisplay();
}

// The same from a stored date, full or partial; "Not known" (in the page's language) when there
// is none.
std::string BirthDisplay(const PageDeps& deps, const Context& ctx, const std::string& stored) {
  auto d = core::PartialDate::Parse(stored);
  return d.ok() ? BirthText(ctx, *d) : page_support::T(deps, ctx, "Not known");
}

struct FormInput {
  std::multimap<std::string, std::string> form;
  std::vector<core::FieldError> errors;  // by form field
};

// Applies the form to `p`, keeping what the form does not show (other identifiers, further
// addresses and contacts).
void ApplyForm(FormInput& in, registry::Person& p) {
  const auto& f = in.form;
  std::vector<registry::PersonName> names;
  names.push_back({"official", Trim(FormValue(f, "given_name")), Trim(FormValue(f, "family_name"))});
  std::istringstream others(FormValue(f, "other_names"));
  for (std::string line; std::getline(others, line);) {
    line = Trim(line);
    if (line.empty()) continue;
    auto space = line.rfind(' ');
    registry::PersonName alias{"alias", "", line};
    if (space != std::string::npos) alias = {"alias", Trim(line.substr(0, space)), Trim(line.substr(space + 1))};
    names.push_back(std::move(alias));
  }
  p.names = std::move(names);
  const std::string day = Trim(FormValue(f, "birth_day"));
  const std::string month = Trim(FormValue(f, "birth_month"));
  const std::string year = Trim(FormValue(f, "birth_year"));
  if (day.empty() && month.empty() && year.empty()) {
    p.birth_date.reset();
  } else {
    auto d = core::PartialDate::FromParts(day, month, year);
    if (d.ok()) {
      p.birth_date = *d;
    } else {
      in.errors.push_back({"birth_date", "Date of birth: " + d.status().message()});
    }
  }
  // Only the edit form asks for a date of death; registering keeps none.
  if (f.count("death_year")) {
    const std::string dday = Trim(FormValue(f, "death_day"));
    const std::string dmonth = Trim(FormValue(f, "death_month"));
    const std::string dyear = Trim(FormValue(f, "death_year"));
    if (dday.empty() && dmonth.empty() && dyear.empty()) {
      p.death_date.reset();
    } else if (auto d = core::PartialDate::FromParts(dday, dmonth, dyear); d.ok()) {
      p.death_date = *d;
    } else {
      in.errors.push_back({"death_date", "Date of death: " + d.status().message()});
    }
  }
  p.sex = FormValue(f, "sex");
  p.preferred_language = Trim(FormValue(f, "preferred_language"));
  const std::string national = Trim(FormValue(f, "national_id"));
  std::erase_if(p.identifiers, [](const registry::Identifier& i) { return i.kind == "national_id"; });
  if (!national.empty()) p.identifiers.insert(p.identifiers.begin(), {"national_id", national, ""});
  registry::Address a;
  if (!p.addresses.empty()) a = p.addresses.front();
  a.line1 = Trim(FormValue(f, "address_line1"));
  a.line2 = Trim(FormValue(f, "address_line2"));
  a.city = Trim(FormValue(f, "address_city"));
  a.postcode = Trim(FormValue(f, "address_postcode"));
  const bool has_address = !a.line1.empty() || !a.line2.empty() || !a.city.empty() || !a.postcode.empty();
  if (!p.addresses.empty()) p.addresses.erase(p.addresses.begin());
  if (has_address) p.addresses.insert(p.addresses.begin(), a);
  auto contact = [&](std::vector<registry::ContactPoint>& list, const std::string& key, const std::string& use) {
    const std::string v = Trim(FormValue(f, key));
    if (!list.empty()) {
      if (v.empty()) {
        list.erase(list.begin());
      } else {
        list.front().value = v;
      }
    } else if (!v.empty()) {
      list.push_back({use, v});
    }
  };
  contact(p.phones, "phone", "mobile");
  contact(p.emails, "email", "");
  p.needs.interpreter = !FormValue(f, "interpreter_needed").empty();
  p.needs.accessibility = Trim(FormValue(f, "accessibility_needs"));
}

// A client form's error in the page's language: a fixed sentence from the catalogue, and the
// sentences that lead a service's message ("Date of birth: the month must be between 1 and 12")
// with each part translated.
std::string FormErrorText(const PageDeps& deps, const Context& ctx, const std::string& message) {
  for (const char* lead :
       {"Date of birth: ", "Date of death: ", "Enter the national identity number: ",
        "The date of death ", "The family name ", "The given name "}) {
    const std::string l(lead);
    if (message.rfind(l, 0) == 0) {
      return page_support::T(deps, ctx, l + "{problem}",
                             {{"problem", page_support::T(deps, ctx, message.substr(l.size()))}});
    }
  }
  return page_support::T(deps, ctx, message);
}

json FormData(const PageDeps& deps, const Context& ctx, const std::multimap<std::string, std::string>& f,
              const std::vector<core::FieldError>& errors, bool editing) {
  json d = Common(deps, ctx, editing ? "Edit client" : "Register a client", editing ? "" : "new");
  for (const char* k : {"given_name", "family_name", "other_names", "birth_day", "birth_month", "birth_year",
                        "death_day", "death_month", "death_year",
                        "preferred_language", "national_id", "address_line1", "address_line2", "address_city",
                        "address_postcode", "phone", "email", "accessibility_needs"}) {
    d[std::string("f_") + k] = FormValue(f, k);
  }
  d["f_interpreter_needed"] = !FormValue(f, "interpreter_needed").empty();
  json options = json::array();
  for (const auto& [value, label] : kSexOptions) {
    options.push_back(
        {{"value", value}, {"label", page_support::T(deps, ctx, label)}, {"checked", FormValue(f, "sex") == value}});
  }
  d["sex_options"] = std::move(options);
  json list = json::array();
  for (const auto& e : errors) {
    const std::string message = FormErrorText(deps, ctx, e.message);
    if (!d.contains("e_" + e.field)) d["e_" + e.field] = message;
    list.push_back({{"field", e.field}, {"message", message}, {"href", HrefFor(e.field)}});
  }
  d["errors"] = std::move(list);
  d["has_errors"] = !errors.empty();
  d["heading"] = page_support::T(deps, ctx, editing ? "Edit client" : "Register a client");
  d["editing"] = editing;
  d["submit_label"] = page_support::T(deps, ctx, editing ? "Save changes" : "Register client");
  return d;
}

// Readable messages for the record's field errors, keyed by form field.
std::vector<core::FieldError> ToFormErrors(const core::Status& s) {
  std::vector<core::FieldError> out;
  for (const auto& e : s.fields()) {
    std::string field = FormFieldFor(e.field);
    std::string message = e.message;
    if (field == "family_name" && e.field.find("/family") != std::string::npos) {
      // A name too long or not one line is said as it is; a missing one asks for either name.
      message = e.message.rfind("must ", 0) == 0 ? "The family name " + e.message
                                                 : "Enter the family name or the given name";
    }
    if (field == "given_name" && e.message.rfind("must ", 0) == 0)
      message = "The given name " + e.message;
    if (field == "birth_date" && e.field == "birth_date" &&
        e.message.rfind("Date of birth", 0) != 0) {
      message = "Date of birth: " + e.message;
    }
    if (field == "phone") message = "Enter a phone number, like 0400 123 456 or +61 400 123 456";
    if (field == "email") message = "Enter an email address in the right format, like name@example.org";
    if (field == "sex") message = "Select the sex as recorded";
    if (field == "national_id") message = "Enter the national identity number: " + e.message;
    if (field == "death_date") message = "The date of death " + e.message;
    if (!message.empty()) message[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(message[0])));
    out.push_back({field, message});
  }
  return out;
}

std::multimap<std::string, std::string> FormFromPerson(const registry::Person& p) {
  std::multimap<std::string, std::string> f;
  std::string others;
  bool first = true;
  for (const auto& n : p.names) {
    if (first && n.use == "official") {
      f.emplace("given_name", n.given);
      f.emplace("family_name", n.family);
      first = false;
      continue;
    }
    others += Trim(n.given + " " + n.family) + "\n";
  }
  f.emplace("other_names", others);
  if (p.birth_date) {
    if (p.birth_date->day) f.emplace("birth_day", std::to_string(p.birth_date->day));
    if (p.birth_date->month) f.emplace("birth_month", std::to_string(p.birth_date->month));
    f.emplace("birth_year", std::to_string(p.birth_date->year));
  }
  if (p.death_date) {
    if (p.death_date->day) f.emplace("death_day", std::to_string(p.death_date->day));
    if (p.death_date->month) f.emplace("death_month", std::to_string(p.death_date->month));
    f.emplace("death_year", std::to_string(p.death_date->year));
  }
  f.emplace("sex", p.sex);
  f.emplace("preferred_language", p.preferred_language);
  for (const auto& i : p.identifiers) {
    if (i.kind == "national_id") {
      f.emplace("national_id", i.value);
      break;
    }
  }
  if (!p.addresses.empty()) {
    const auto& a = p.addresses.front();
    f.emplace("address_line1", a.line1);
    f.emplace("address_line2", a.line2);
    f.emplace("address_city", a.city);
    f.emplace("address_postcode", a.postcode);
  }
  if (!p.phones.empty()) f.emplace("phone", p.phones.front().value);
  if (!p.emails.empty()) f.emplace("email", p.emails.front().value);
  if (p.needs.interpreter) f.emplace("interpreter_needed", "yes");
  f.emplace("accessibility_needs", p.needs.accessibility);
  return f;
}

// --- Handlers ----------------------------------------------------------------------------

Response LoginPage(const PageDeps& deps, const Context& ctx, int status, const std::string& username,
                   const std::string& error, const std::string& purpose, const std::string& next,
                   const std::string& csrf) {
  json d = Common(deps, ctx, "Sign in", "");
  d["csrf_token"] = csrf;
  d["username"] = username;
  if (!error.empty()) d["login_error"] = page_support::T(deps, ctx, error);
  if (ctx.request.Query("changed") == "1") {
    d["flash"] = page_support::T(deps, ctx, "Your password is changed. Sign in with the new one.");
  }
  json purposes = json::array();
  for (authz::Purpose p : authz::StaffPurposes()) {
    std::string name(authz::PurposeName(p));
    purposes.push_back({{"value", name},
                        {"label", page_support::T(deps, ctx, std::string(authz::PurposeLabel(p)))},
                        {"selected", purpose.empty() ? p == authz::Purpose::kServiceDelivery : purpose == name}});
  }
  d["purposes"] = std::move(purposes);
  d["next"] = next;
  Response r = Page(deps, status, "login", d);
  r.Header("Set-Cookie", fmt::format("{}={}; Path=/login; HttpOnly; SameSite=Strict{}",
                                     PathCookieName(kLoginCsrfCookie, deps.secure_cookies), csrf,
                                     deps.secure_cookies ? "; Secure" : ""));
  return r;
}

}  // namespace

namespace page_support {
json Common(const PageDeps& deps, const Context& ctx, const std::string& title, const std::string& current) {
  return http::Common(deps, ctx, title, current);
}
Response Render(const PageDeps& deps, int status, const std::string& name, const json& data) {
  return Page(deps, status, name, data);
}
Response ErrorFor(const PageDeps& deps, const Context& ctx, const core::Status& s) { return http::ErrorFor(deps, ctx, s); }
std::string FormValue(const std::multimap<std::string, std::string>& form, const std::string& key) {
  return http::FormValue(form, key);
}
std::string Capitalised(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string Trim(std::string s) { return http::Trim(std::move(s)); }

std::string LocalPath(const std::string& path, const std::string& otherwise) {
  if (path.size() < 1 || path[0] != '/' || (path.size() > 1 && path[1] == '/')) return otherwise;
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '\\') return otherwise;
  }
  return path;
}
std::string Said(const PageDeps& deps, const Context& ctx, const std::string& message) {
  return deps.templates.messages().Has(LanguageOf(ctx), message) ? T(deps, ctx, message) : message;
}
std::string LanguageOf(const Context& ctx) {
  return i18n::Negotiate(ctx.request.Cookie(kLanguageCookie), ctx.request.Header("accept-language").value_or(""));
}
std::string T(const PageDeps& deps, const Context& ctx, const std::string& message,
              const std::map<std::string, std::string>& args) {
  return deps.templates.messages().Format(LanguageOf(ctx), message, args);
}
std::string DateText(const Context& ctx, core::Date date) { return i18n::FormatDate(LanguageOf(ctx), date); }
std::string RegionTime(const PageDeps& deps, core::Timestamp t) {
  const std::string zone = deps.office_hours != nullptr ? deps.office_hours->default_zone() : "UTC";
  auto local = frontoffice::ToLocal(t, zone);
  if (!local.ok()) return t.ToRfc3339().substr(0, 16).replace(10, 1, " ");
  return local->date.ToString() + " " + frontoffice::ClockText(local->minute);
}
}  // namespace page_support

ErrorPage MakeErrorPage(const PageDeps& deps) {
  return [&deps](int status, const std::string& heading, const std::string& message, const Context& ctx) {
    const std::string said_heading = page_support::Said(deps, ctx, heading);
    json d = Common(deps, ctx, said_heading, "");
    d["heading"] = said_heading;
    d["message"] = page_support::Said(deps, ctx, message);
    return Page(deps, status, "error", d);
  };
}

namespace {

std::string SideName(const identity::ReviewSide& s) {
  return s.data.names.empty() ? std::string("(no name)") : s.data.DisplayName();
}

// --- Screening --------------------------------------------------------------------------

constexpr int kInlineMembers = 6;

}  // namespace

namespace page_support {

std::string FieldId(const std::string& engine_field) {
  // "earned_income" → "in-earned_income"; "members/2/age" → "m2-age".
  if (engine_field.rfind("members/", 0) == 0) {
    size_t slash = engine_field.find('/', 8);
    if (slash != std::string::npos) {
      return "m" + engine_field.substr(8, slash - 8) + "-" + engine_field.substr(slash + 1);
    }
  }
  return "in-" + engine_field;
}

std::string_view CurrencySymbolOf(const eligibility::RuleSet& rules) {
  if (rules.programs().empty()) return "";
  const std::string& c = rules.programs().front().currency;
  return c == "GBP" ? "£" : c == "EUR" ? "€" : "$";
}

// The form field of one input, with the value the user gave.
json InputField(const PageDeps& deps, const Context& ctx, const eligibility::Symbol& s, const std::string& id,
                const std::string& name, const std::string& value, const std::map<std::string, std::string>& errors,
                std::string_view currency) {
  auto tr = [&](const std::string& m) { return m.empty() ? m : T(deps, ctx, m); };
  json f = {{"id", id},
            {"name", name},
            {"label", tr(s.question.empty() ? s.label : s.question)},
            {"hint", s.question.empty() ? "" : tr(s.label)},
            {"value", value},
            {"is_bool", s.type == eligibility::Type::kBool},
            {"is_money", s.type == eligibility::Type::kMoney},
            {"is_number", s.type == eligibility::Type::kNumber},
            {"is_enum", s.type == eligibility::Type::kEnum},
            {"is_date", s.type == eligibility::Type::kDate || s.type == eligibility::Type::kText},
            {"yes_checked", value == "true"},
            {"no_checked", value == "false"},
            {"currency", std::string(currency)},
            {"period", tr(s.period == eligibility::Period::kMonth  ? "a month"
                          : s.period == eligibility::Period::kYear ? "a year"
                                                                   : "")},
            {"optional", s.default_value.has_value()}};
  if (s.type == eligibility::Type::kEnum) {
    json options = json::array();
    for (const auto& v : s.enum_values) {
      std::string text = v;
      std::replace(text.begin(), text.end(), '_', ' ');
      options.push_back({{"value", v}, {"text", tr(text)}, {"selected", v == value}});
    }
    f["options"] = std::move(options);
  }
  if (auto it = errors.find(id); it != errors.end()) f["error"] = it->second;
  // Mustache shows a section for any string, even an empty one.
  for (const char* key : {"hint", "period", "currency"}) {
    if (f[key].get<std::string>().empty()) f.erase(key);
  }
  return f;
}

std::optional<std::string> AnswerValue(const eligibility::Symbol& s, std::string v,
                                       std::string_view language) {
  v = Trim(std::move(v));
  if (v.empty() || (s.type != eligibility::Type::kMoney && s.type != eligibility::Type::kNumber))
    return v;
  return NumberFromTyped(v, s.type == eligibility::Type::kMoney, DecimalMarkOf(language));
}

std::string UnclearNumber(const eligibility::Symbol& s) {
  return s.type == eligibility::Type::kMoney ? "write the amount in figures, like 3500 or 3500.50"
                                             : "write the number in figures, like 12 or 12.5";
}

std::string TagClass(const std::string& result) {
  if (result == "eligible" || result == "pass") return "govuk-tag--green";
  if (result == "not_eligible" || result == "fail") return "govuk-tag--red";
  if (result == "unknown") return "govuk-tag--yellow";
  if (result == "error") return "govuk-tag--orange";
  return "govuk-tag--grey";
}

std::string ResultText(const std::string& result) {
  if (result == "eligible") return "Likely eligible";
  if (result == "not_eligible") return "Not eligible";
  if (result == "unknown") return "More answers needed";
  if (result == "not_in_force") return "Not in force";
  if (result == "pass") return "Passes";
  if (result == "fail") return "Fails";
  if (result == "not_applicable") return "Does not apply";
  return "Cannot be worked out";
}

// The agency's name for a rule pack's agency code; the code when no agency has it.
std::string AgencyName(accounts::AccountService& accounts, const std::string& code) {
  auto agency = accounts.FindAgencyByCode(code);
  return agency.ok() ? agency->name : code;
}

}  // namespace page_support

namespace {

using page_support::AgencyName;
using page_support::AnswerValue;
using page_support::CurrencySymbolOf;
using page_support::FieldId;
using page_support::InputField;
using page_support::ResultText;
using page_support::TagClass;

// The results part of the page, from a screening's stored JSON.
void AddResults(const PageDeps& deps, const Context& ctx, json& d, const std::string& result_json,
                const eligibility::RuleSet& rules, accounts::AccountService& accounts) {
  auto tr_ = [&](const std::string& m, const std::map<std::string, std::string>& args = {}) {
    return m.empty() ? m : page_support::T(deps, ctx, m, args);
  };
  json s = json::parse(result_json, nullptr, false);
  if (s.is_discarded()) return;
  json results = json::array();
  std::vector<std::string> missing;
  int eligible = 0;
  for (const auto& p : s["programs"]) {
    std::string result = p.value("result", "");
    if (result == "eligible") ++eligible;
    json tests = json::array();
    for (const auto& t : p["tests"]) {
      std::string tr = t.value("result", "");
      tests.push_back({{"label", tr_(t.value("label", ""))}, {"tag_class", TagClass(tr)}, {"tag_text", tr_(ResultText(tr))},
                       {"message", t.value("message", "")}, {"citation", t.value("citation", "")}});
    }
    json trace = json::array();
    for (const auto& t : p["trace"]) {
      std::string source = t.value("reference", t.value("formula", t.value("source", "")));
      if (t.contains("effective")) {
        source = tr_("from {effective}: {source}", {{"effective", t.value("effective", "")}, {"source", source}});
      }
      trace.push_back({{"label", tr_(t.value("label", ""))}, {"name", t.value("name", "")}, {"value", t.value("value", "")},
                       {"kind", t.value("kind", "")}, {"source", source}});
    }
    std::string stale;
    for (const auto& x : p["stale"]) stale += (stale.empty() ? "" : ", ") + x.get<std::string>();
    for (const auto& m : p["missing_inputs"]) missing.push_back(m.get<std::string>());
    json o = {{"program", p.value("program", "")},
              {"name", tr_(p.value("name", ""))},
              {"agency", AgencyName(accounts, p.value("agency", ""))},
              {"legal_basis", p.value("legal_basis", "")},
              {"version", p.value("version", "")},
              {"tag_class", TagClass(result)},
              {"tag_text", tr_(ResultText(result))},
              {"reason", p.value("reason", "")},
              {"tests", std::move(tests)},
              {"trace", std::move(trace)}};
    if (!stale.empty()) o["stale"] = stale;
    if (p.contains("amount")) {
      o["amount_text"] = p["amount"].value("text", "");
      if (!p["amount"].value("label", "").empty()) o["amount_label"] = tr_(p["amount"].value("label", ""));
    }
    results.push_back(std::move(o));
  }
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  json questions = json::array();
  for (const auto& m : missing) {
    int sym = rules.FindSymbol(m);
    if (sym < 0) continue;
    const auto& symbol = rules.symbols()[sym];
    questions.push_back({{"label", tr_(symbol.label)},
                         {"href", symbol.entity == eligibility::Entity::kPerson ? "#m0-" + m : "#in-" + m}});
  }
  d["results"] = std::move(results);
  d["has_results"] = true;
  d["as_of_shown"] = s.value("as_of", "");
  d["rules_hash_short"] = s.value("rules_hash", "").substr(0, 12);
  d["eligible_count"] = std::to_string(eligible);
  d["questions"] = std::move(questions);
  d["has_questions"] = !missing.empty();
}

void AddApplyForm(const PageDeps& deps, const Context& ctx, json& d, const eligibility::ScreeningRecord& r);

void AddScreeningPages(Router& router, const PageDeps& deps) {
  // The day whose members a registered household is screened with, for the date typed in the
  // form: that date when it is before today (those who lived there then), else "" (today's
  // members), as ScreeningService::Screen counts them.
  // A date that cannot be read, or is too far ahead, keeps the rows the form had (members_on): its
  // error is shown with them and their answers.
  auto members_day = [&deps](const std::multimap<std::string, std::string>& form) -> std::string {
    const std::string typed = Trim(FormValue(form, "as_of"));
    if (typed.empty()) return "";
    auto d = core::Date::Parse(typed);
    if (!d.ok() || deps.screenings->TooFarAhead(*d)) return FormValue(form, "members_on");
    return deps.screenings->MembersDay(*d);
  };
  auto members_on = [](const registry::Household& h, const std::string& day) {
    std::vector<const registry::Membership*> out;
    for (const auto& m : h.members) {
      if (m.LivedThereOn(day)) out.push_back(&m);
    }
    return out;
  };
  // The form (and, after a POST, the results under it). `household` links it to a registered
  // household, whose members and ages come from the registry.
  auto render = [&deps, members_day, members_on](
                    Context& ctx, const std::multimap<std::string, std::string>& form,
                    std::optional<core::HouseholdId> household,
                    const eligibility::ScreeningRecord* done,
                    const std::vector<core::FieldError>& field_errors) -> Response {
    const eligibility::RuleSet& rules = deps.screenings->rules();
    json d = Common(deps, ctx, "Screen for every program", "screening");
    std::map<std::string, std::string> errors;
    json list = json::array();
    for (const auto& e : field_errors) {
      if (e.field == "household") {  // the members' rows as a whole, said in the page's words
        list.push_back({{"href", "#members-hint"}, {"message", e.message}});
        continue;
      }
      std::string id = e.field == "as_of" ? "as_of" : FieldId(e.field);
      const std::string message = page_support::T(deps, ctx, e.message);
      errors[id] = message;
      int sym = rules.FindSymbol(e.field.substr(e.field.rfind('/') + 1));
      std::string label = sym >= 0 ? page_support::T(deps, ctx, rules.symbols()[sym].label) : e.field;
      // The date's message says which date it is already.
      list.push_back(
          {{"href", "#" + id}, {"message", e.field == "as_of" ? message : label + ": " + message}});
    }
    d["errors"] = std::move(list);
    d["has_errors"] = !field_errors.empty();
    std::string as_of = FormValue(form, "as_of");
    d["as_of"] = as_of.empty() ? deps.screenings->Today().ToString() : as_of;
    if (errors.count("as_of")) d["e_as_of"] = errors["as_of"];
    std::string_view currency = CurrencySymbolOf(rules);
    json fields = json::array();
    for (const auto& s : rules.symbols()) {
      if (!s.is_input || s.entity != eligibility::Entity::kHousehold) continue;
      if (household && s.name == "household_size") continue;  // from the registry
      fields.push_back(
          InputField(deps, ctx, s, "in-" + s.name, "in." + s.name, FormValue(form, "in." + s.name), errors, currency));
    }
    d["household_fields"] = std::move(fields);
    std::vector<std::string> member_names;
    if (household) {
      auto h = deps.households.Get(ctx.Who(), *household);
      if (!h.ok()) return ErrorFor(deps, ctx, h.status());
      d["household_id"] = std::to_string(household->value);
      // The rows below are its members, in order: answers sent for another set of members
      // (someone joined or left meanwhile) would go to the wrong person.
      d["household_version"] = std::to_string(h->version);
      d["household_name"] = h->name_withheld
                                ? page_support::T(deps, ctx, "Household {id, number, ::group-off}",
                                                  {{"id", std::to_string(household->value)}})
                                : h->name;
      d["household_href"] = fmt::format("/households/{}", household->value);
      // Its members on the date to screen on: one row each.
      const std::string day = members_day(form);
      if (!day.empty()) d["members_on"] = day;
      for (const registry::Membership* mp : members_on(*h, day)) {
        const registry::Membership& m = *mp;
        member_names.push_back(m.name_withheld
                                   ? page_support::T(deps, ctx, "Client {id, number, ::group-off}",
                                                     {{"id", std::to_string(m.person.value)}})
                                   : m.name);
      }
    } else {
      for (int i = 0; i < kInlineMembers; ++i) member_names.push_back("");
    }
    json members = json::array();
    for (size_t i = 0; i < member_names.size(); ++i) {
      json m_fields = json::array();
      json checks = json::array();
      for (const auto& s : rules.symbols()) {
        if (!s.is_input || s.entity != eligibility::Entity::kPerson) continue;
        std::string name = fmt::format("m{}.{}", i, s.name);
        std::string id = fmt::format("m{}-{}", i, s.name);
        if (s.type == eligibility::Type::kBool) {
          json c = {{"id", id},
                    {"name", name},
                    {"label", page_support::T(deps, ctx, s.label)},
                    {"checked", FormValue(form, name) == "true"}};
          checks.push_back(std::move(c));
        } else {
          // For a registered household too: a date of birth known only to the year or month gives
          // no age, and the worker answers it here.
          json f = InputField(deps, ctx, s, id, name, FormValue(form, name), errors, currency);
          f["label"] = page_support::T(deps, ctx, s.label);
          f["hint"] = household ? page_support::T(deps, ctx, "Leave empty to use the date of birth in the record") : "";
          m_fields.push_back(std::move(f));
        }
      }
      members.push_back({{"index", std::to_string(i)},
                         {"legend", member_names[i].empty()
                                        ? page_support::T(deps, ctx, "Person {n}", {{"n", std::to_string(i + 1)}})
                                        : member_names[i]},
                         {"fields", std::move(m_fields)},
                         {"checks", std::move(checks)},
                         {"has_checks", true}});
    }
    d["members"] = std::move(members);
    d["members_hint"] =
        d.contains("members_on")
            ? page_support::T(deps, ctx,
                              "The people who lived in the household on {date}. Ages on that date "
                              "come from each "
                              "member's date of birth.",
                              {{"date", d["members_on"].get<std::string>()}})
            : page_support::T(
                  deps, ctx,
                  household ? "Ages come from each member's date of birth."
                            : "Fill in one row for each person in the household, starting with the "
                              "applicant.");
    if (done != nullptr) {
      AddResults(deps, ctx, d, done->result_json, rules, deps.accounts);
      if (done->id) {
        d["saved_href"] = fmt::format("/screenings/{}", done->id);
        d["saved_id"] = std::to_string(done->id);
        d["saved_again"] = done->repeated;
      }
    }
    // The form's key (ScreeningRequest::form_token): new when the form is first shown, the same
    // after the results, so that the form sent again with the same answers (a reload, pressing
    // again) finds the screening it saved.
    if (household) {
      const std::string sent = FormValue(form, "form_token");
      const bool usable = sent.size() >= 16 && sent.size() <= 64 &&
                          std::all_of(sent.begin(), sent.end(), [](unsigned char c) {
                            return std::isalnum(c) || c == '-' || c == '_';
                          });
      d["form_token"] = usable ? sent : core::RandomToken(16);
    }
    return Page(deps, field_errors.empty() ? 200 : 400, "screening", d);
  };

  auto household_param = [](const Context& ctx) -> std::optional<core::HouseholdId> {
    const std::string h = ctx.request.Query("household");
    try {
      size_t used = 0;
      int64_t v = std::stoll(h, &used);
      if (used == h.size() && v > 0) return core::HouseholdId{v};
    } catch (const std::exception&) {
    }
    return std::nullopt;
  };

  router.Add({"GET", "/screening", Auth::kPage, "", [render, household_param](Context& ctx) {
                return render(ctx, {}, household_param(ctx), nullptr, {});
              }});
  router.Add({"POST", "/screening", Auth::kPage, "",
              [&deps, render, household_param, members_day, members_on](Context& ctx) {
                auto form = ParseForm(ctx.request.body);
                const eligibility::RuleSet& rules = deps.screenings->rules();
                eligibility::ScreeningRequest req;
                req.household = household_param(ctx);
                std::vector<core::FieldError> errors;
                const std::string as_of = Trim(FormValue(form, "as_of"));
                if (!as_of.empty()) {
                  auto d = core::Date::Parse(as_of);
                  if (!d.ok())
                    errors.push_back({"as_of", "Enter the date to screen on like 2025-10-01"});
                  else if (deps.screenings->TooFarAhead(*d))
                    errors.push_back({"as_of", "Enter a date no more than two years after today"});
                  else
                    req.as_of = *d;
                }
                for (const auto& s : rules.symbols()) {
                  if (!s.is_input || s.entity != eligibility::Entity::kHousehold) continue;
                  auto v = AnswerValue(s, FormValue(form, "in." + s.name),
                                       page_support::LanguageOf(ctx));
                  if (!v)
                    errors.push_back({s.name, page_support::UnclearNumber(s)});
                  else if (!v->empty())
                    req.input.values.emplace_back(s.name, *v);
                }
                int rows = req.household ? 0 : kInlineMembers;
                if (req.household) {
                  for (int i = 0; i < 50; ++i) {
                    bool any = false;
                    for (const auto& [k, v] : form)
                      any = any || k.rfind(fmt::format("m{}.", i), 0) == 0;
                    if (any) rows = i + 1;
                  }
                }
                for (int i = 0; i < rows; ++i) {
                  eligibility::HouseholdInput::Values m;
                  bool answered = false;
                  for (const auto& s : rules.symbols()) {
                    if (!s.is_input || s.entity != eligibility::Entity::kPerson) continue;
                    auto typed = AnswerValue(s, FormValue(form, fmt::format("m{}.{}", i, s.name)),
                                             page_support::LanguageOf(ctx));
                    if (!typed) {
                      errors.push_back({fmt::format("members/{}/{}", i, s.name),
                                        page_support::UnclearNumber(s)});
                      answered = true;
                      continue;
                    }
                    const std::string& v = *typed;
                    if (s.type == eligibility::Type::kBool) {
                      // A box not ticked says no, once the row is in use.
                      if (v == "true") answered = true;
                      m.emplace_back(s.name, v == "true" ? "true" : "false");
                    } else if (!v.empty()) {
                      answered = true;
                      m.emplace_back(s.name, v);
                    }
                  }
                  if (answered || req.household) req.input.members.push_back(std::move(m));
                }
                if (req.household) {
                  // One row per member on the day screened; the registry fills in what the form
                  // leaves out.
                  auto h = deps.households.Get(ctx.Who(), *req.household);
                  if (!h.ok()) return ErrorFor(deps, ctx, h.status());
                  // The rows were shown for the members on one day (members_on; today's when
                  // empty); the date typed since may be one with other members.
                  const std::string day = members_day(form);
                  const auto rows_for = members_on(*h, FormValue(form, "members_on"));
                  const auto screened = members_on(*h, day);
                  auto people = [](const std::vector<const registry::Membership*>& ms) {
                    std::vector<int64_t> out;
                    for (const auto* m : ms) out.push_back(m->person.value);
                    return out;
                  };
                  if (!day.empty() && screened.empty()) {
                    return render(
                        ctx, form, req.household, nullptr,
                        {{"as_of",
                          page_support::T(deps, ctx,
                                          "No one lived in the household on {date}: screen on a "
                                          "later date",
                                          {{"date", day}})}});
                  }
                  if (people(rows_for) != people(screened)) {
                    std::multimap<std::string, std::string> kept;
                    for (const auto& [k, v] : form) {
                      if (!(k.size() > 1 && k[0] == 'm' &&
                            std::isdigit(static_cast<unsigned char>(k[1]))))
                        kept.emplace(k, v);
                    }
                    return render(
                        ctx, kept, req.household, nullptr,
                        {{"household",
                          day.empty()
                              ? page_support::T(
                                    deps, ctx,
                                    "The household's members today are not the ones of the date "
                                    "the "
                                    "rows were for, so their answers were not used: the rows are "
                                    "today's members now. Answer for them and screen again")
                              : page_support::T(
                                    deps, ctx,
                                    "The household had other members on {date}, so the answers in "
                                    "the rows were not used: the rows are that day's members now. "
                                    "Answer for them and screen again",
                                    {{"date", day}})}});
                  }
                  req.input.members.resize(std::min(req.input.members.size(), screened.size()));
                  if (const std::string v = FormValue(form, "household_version");
                      !v.empty() && v != std::to_string(h->version)) {
                    return render(
                        ctx, form, req.household, nullptr,
                        {{"household",
                          page_support::T(
                              deps, ctx,
                              "The household changed since you opened the page, so its "
                              "members' answers were not used: check them and screen again")}});
                  }
                }
                if (!errors.empty()) {
                  // The answers that could be read are checked too (bounds, choices; nothing is
                  // read or kept), so that every mistake shows at once. A member's row is named by
                  // its place only where every row is kept (a registered household's).
                  eligibility::Batch check(rules);
                  const core::Status checked = check.Add(req.input);
                  std::vector<core::FieldError> more;
                  for (const auto& fe : checked.fields()) {
                    if (req.household || fe.field.rfind("members/", 0) != 0) more.push_back(fe);
                  }
                  errors = core::MergeFieldErrors(std::move(errors), more);
                  return render(ctx, form, req.household, nullptr, errors);
                }
                req.form_token = FormValue(form, "form_token");
                auto done = deps.screenings->Screen(ctx.Who(), req);
                if (!done.ok()) {
                  if (done.status().code() == core::StatusCode::kInvalidArgument && !done.status().fields().empty()) {
                    return render(ctx, form, req.household, nullptr, done.status().fields());
                  }
                  return ErrorFor(deps, ctx, done.status());
                }
                return render(ctx, form, req.household, &*done, {});
              }});
  router.Add({"GET", "/screenings/{id}", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = IdParam(ctx, "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                auto r = deps.screenings->Get(ctx.Who(), *id);
                if (!r.ok()) return ErrorFor(deps, ctx, r.status());
                json d = Common(deps, ctx, fmt::format("Screening {}", *id), "screening");
                d["saved_view"] = true;
                d["saved_id"] = std::to_string(*id);
                d["created_at"] = page_support::RegionTime(deps, r->created_at);
                d["household_href"] = fmt::format("/households/{}", r->household->value);
                AddResults(deps, ctx, d, r->result_json, deps.screenings->rules(), deps.accounts);
                if (deps.applications != nullptr && authz::HasClientRole(ctx.Who()) && r->household) {
                  AddApplyForm(deps, ctx, d, *r);
                  if (const std::string e = SignedQueryValue(ctx, "apply_error"); !e.empty() && d.contains("apply_action")) {
                    d["has_errors"] = true;
                    d["errors"] = json::array({{{"message", e}, {"href", "#apply"}}});
                  }
                }
                return Page(deps, 200, "screening", d);
              }});
}

// The form to apply once from a saved screening: the household's current members, the
// programs screened (those likely eligible ticked) and expedited service where a program has it.
void AddApplyForm(const PageDeps& deps, const Context& ctx, json& d, const eligibility::ScreeningRecord& r) {
  auto household = deps.households.Get(ctx.Who(), *r.household);
  if (!household.ok()) return;
  json members = json::array();
  // The head of the household applies unless someone else is chosen; else its partner, else the
  // first listed (a household's first member may be a child).
  std::optional<int64_t> chosen;
  for (const char* relationship : {"head", "partner"}) {
    for (const auto& m : household->members) {
      if (!chosen && m.until.empty() && m.relationship == relationship) chosen = m.person.value;
    }
  }
  // Back from a mistake, the form shows what was chosen (the query carries it).
  const bool again = ctx.request.Query("chosen") == "1";
  std::set<std::string> ticked, fast;
  if (again) {
    for (auto [it, end] = ctx.request.query.equal_range("programs"); it != end; ++it)
      ticked.insert(it->second);
    for (auto [it, end] = ctx.request.query.equal_range("expedited"); it != end; ++it)
      fast.insert(it->second);
    const std::string text = ctx.request.Query("applicant_id");
    int64_t applicant = 0;
    std::from_chars(text.data(), text.data() + text.size(), applicant);
    for (const auto& m : household->members) {
      if (m.until.empty() && applicant > 0 && m.person.value == applicant) chosen = applicant;
    }
  }
  for (const auto& m : household->members) {
    if (!m.until.empty()) continue;
    if (!chosen) chosen = m.person.value;
    const std::string name = m.name_withheld
                                 ? page_support::T(deps, ctx, "Client {id, number, ::group-off}",
                                                   {{"id", std::to_string(m.person.value)}})
                                 : m.name;
    members.push_back(
        {{"id", m.person.value}, {"name", name}, {"checked", m.person.value == *chosen}});
  }
  const json result = json::parse(r.result_json, nullptr, false);
  if (members.empty() || !result.is_object()) return;
  json programs = json::array();
  json expedited = json::array();
  const auto& rules = deps.screenings->rules();
  for (const auto& p : result.value("programs", json::array())) {
    const std::string id = p.value("program", "");
    const std::string outcome = p.value("result", "unknown");
    std::string agency = p.value("agency", "");
    if (auto a = deps.accounts.FindAgencyByCode(agency); a.ok()) agency = a->name;
    programs.push_back({{"id", id},
                        {"name", p.value("name", id)},
                        {"agency", agency},
                        {"result", page_support::T(deps, ctx,
                                                   outcome == "eligible"       ? "likely eligible"
                                                   : outcome == "not_eligible" ? "not eligible"
                                                                               : "not known yet")},
                        {"likely", again ? ticked.count(id) > 0 : outcome == "eligible"}});
    const int index = rules.FindProgram(id);
    if (index >= 0 && rules.programs()[static_cast<size_t>(index)].expedited_days > 0) {
      expedited.push_back({{"id", id},
                           {"name", p.value("name", id)},
                           {"days", rules.programs()[static_cast<size_t>(index)].expedited_days},
                           {"checked", fast.count(id) > 0}});
    }
  }
  d["apply_action"] = "/applications/new";
  d["apply_members"] = std::move(members);
  d["apply_programs"] = std::move(programs);
  d["has_expedited"] = !expedited.empty();
  d["expedited_programs"] = std::move(expedited);
}

void AddReviewPages(Router& router, const PageDeps& deps) {
  router.Add({"GET", "/reviews", Auth::kPage, "", [&deps](Context& ctx) {
                auto list = deps.reviews->List(ctx.Who(), "pending", 50);
                if (!list.ok()) return ErrorFor(deps, ctx, list.status());
                json d = Common(deps, ctx, "Possible duplicates", "reviews");
                json items = json::array();
                const std::string not_known = page_support::T(deps, ctx, "Not known");
                for (const auto& r : *list) {
                  items.push_back({{"id", std::to_string(r.id)},
                                   {"a_name", SideName(r.a)},
                                   {"a_birth", r.a.data.birth_date ? BirthText(ctx, *r.a.data.birth_date) : not_known},
                                   {"b_name", SideName(r.b)},
                                   {"b_birth", r.b.data.birth_date ? BirthText(ctx, *r.b.data.birth_date) : not_known},
                                   {"likelihood", fmt::format("{:.0f}%", r.probability * 100)}});
                }
                d["count"] = std::to_string(items.size());
                d["has_items"] = !items.empty();
                d["items"] = std::move(items);
                if (ctx.request.Query("decided") == "1") d["flash"] = page_support::T(deps, ctx, "Decision saved");
                return Page(deps, 200, "reviews", d);
              }});

  auto render = [&deps](Context& ctx, const identity::MatchReview& r,
                        const std::vector<core::FieldError>& errors, int status,
                        const std::string& chosen = "", const std::string& typed = "") {
    json d = Common(deps, ctx, "Are these the same person?", "reviews");
    // After a mistake, the decision chosen and the reason typed are kept.
    d["chose_same"] = chosen == "same";
    d["chose_not_same"] = chosen == "not_same";
    d["typed_reason"] = typed;
    d["id"] = std::to_string(r.id);
    d["likelihood"] = fmt::format("{:.0f}%", r.probability * 100);
    json rows = json::array();
    auto row = [&](const std::string& label, const std::string& a, const std::string& b) {
      rows.push_back({{"label", page_support::T(deps, ctx, label)}, {"a", a.empty() ? "—" : a}, {"b", b.empty() ? "—" : b}});
    };
    row("Name", SideName(r.a), SideName(r.b));
    row("Date of birth", r.a.data.birth_date ? BirthText(ctx, *r.a.data.birth_date) : "",
        r.b.data.birth_date ? BirthText(ctx, *r.b.data.birth_date) : "");
    row("Address", r.a.data.addresses.empty() ? "" : r.a.data.addresses.front().OneLine(),
        r.b.data.addresses.empty() ? "" : r.b.data.addresses.front().OneLine());
    auto ids = [](const registry::Person& p) {
      std::string out;
      for (const auto& i : p.identifiers) out += (out.empty() ? "" : ", ") + i.kind + " " + i.value;
      return out;
    };
    row("Identifiers", ids(r.a.data), ids(r.b.data));
    row("Agency's own id", r.a.local_id, r.b.local_id);
    const std::string unlinked = page_support::T(deps, ctx, "not linked yet");
    row("Linked client", r.a.person ? std::to_string(r.a.person->value) : unlinked,
        r.b.person ? std::to_string(r.b.person->value) : unlinked);
    d["rows"] = std::move(rows);
    json weights = json::array();
    json explanation = json::parse(r.explanation, nullptr, false);
    if (explanation.is_object() && explanation.contains("fields")) {
      for (const auto& f : explanation["fields"]) {
        std::string field = f.value("field", "");
        std::replace(field.begin(), field.end(), '_', ' ');
        weights.push_back({{"field", field}, {"level", f.value("level", "")},
                           {"weight", fmt::format("{:+.1f}", f.value("weight", 0.0))}});
      }
    }
    d["weights"] = std::move(weights);
    if (r.state != "pending") {
      d["decided"] = page_support::T(deps, ctx, r.state == "same" ? "the same person" : "different people");
    }
    if (!r.reason.empty()) d["reason"] = r.reason;
    json list = json::array();
    for (const auto& e : errors) {
      const std::string message = page_support::T(deps, ctx, e.message);
      d["e_" + e.field] = message;
      list.push_back({{"href", "#" + e.field}, {"message", message}});
    }
    d["errors"] = std::move(list);
    d["has_errors"] = !errors.empty();
    return Page(deps, status, "review", d);
  };

  router.Add({"GET", "/reviews/{id}", Auth::kPage, "", [&deps, render](Context& ctx) {
                auto id = IdParam(ctx, "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                auto r = deps.reviews->Get(ctx.Who(), *id);
                if (!r.ok()) return ErrorFor(deps, ctx, r.status());
                return render(ctx, *r, {}, 200);
              }});

  router.Add({"POST", "/reviews/{id}", Auth::kPage, "", [&deps, render](Context& ctx) {
                auto id = IdParam(ctx, "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                auto form = ParseForm(ctx.request.body);
                const std::string decision = FormValue(form, "decision");
                const std::string reason = Trim(FormValue(form, "reason"));
                std::vector<core::FieldError> errors;
                if (decision != "same" && decision != "not_same") {
                  errors.push_back({"decision", "Select whether these are the same person"});
                }
                if (errors.empty()) {
                  auto done = deps.reviews->Decide(ctx.Who(), *id,
                                                   decision == "same" ? identity::ReviewDecision::kSame
                                                                      : identity::ReviewDecision::kNotSame,
                                                   reason);
                  if (done.ok()) return Response::Redirect("/reviews?decided=1");
                  if (done.status().code() != core::StatusCode::kInvalidArgument) {
                    return ErrorFor(deps, ctx, done.status());
                  }
                  for (const auto& fe : done.status().fields()) {
                    std::string message = fe.message;
                    if (!message.empty()) message[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(message[0])));
                    errors.push_back({fe.field, message});
                  }
                }
                auto r = deps.reviews->Get(ctx.Who(), *id);
                if (!r.ok()) return ErrorFor(deps, ctx, r.status());
                return render(ctx, *r, errors, 400, decision, reason);
              }});
}

// Finding and registering clients is for the roles that work with client records; the refusal
// comes before the form is read, so that a role that may not use the page learns nothing from it.
std::optional<Response> RefusedClientWork(const PageDeps& deps, const Context& ctx) {
  if (authz::HasClientRole(ctx.Who())) return std::nullopt;
  return ErrorFor(deps, ctx, core::Status::PermissionDenied("only staff who work with clients find and register them"));
}

// Break-glass is for casework roles; the front desk only signposts.
bool MayBreakGlass(const authz::Principal& who) {
  return who.kind == authz::PrincipalKind::kStaff && authz::HasCaseworkRole(who);
}

// The refusal of a client's page, with the emergency access form for casework roles.
Response ClientRefused(const PageDeps& deps, Context& ctx, int64_t id, const core::Status& refusal,
                       const std::string& justification, const std::string& error) {
  if (refusal.code() != core::StatusCode::kPermissionDenied || !MayBreakGlass(ctx.Who())) {
    return ErrorFor(deps, ctx, refusal);
  }
  json d = Common(deps, ctx, "You cannot see this client", "clients");
  d["reason"] = page_support::T(deps, ctx, refusal.message());
  d["emergency_href"] = fmt::format("/clients/{}/emergency", id);
  d["justification"] = justification;
  if (!error.empty()) {
    d["error"] = error;
    d["errors"] = json::array({{{"message", error}, {"href", "#justification"}}});
    d["has_errors"] = true;
  }
  return Page(deps, error.empty() ? 403 : 400, "client_refused", d);
}

// A client's page from the gate's view of them: what is withheld and why, the agencies that
// know the person, and (for casework roles) the emergency access form where something is
// withheld that break-glass could open.
// The newest entries of the timeline shown on a person's page; the rest are a link away.
constexpr size_t kTimelineOnPersonView = 15;
// Entries on one page of /clients/{id}/timeline.
constexpr int64_t kTimelinePage = 50;

// Whether the client index's candidate is shown as someone a new registration may duplicate: a
// likely match, or a namesake (the same names, whatever the case and accents), or someone of the
// same family name born on the same full date (a typo in the given name). The index's probability
// alone leaves out a namesake when no date of birth is given.
bool WorthShowing(const identity::MatchCandidate& c, const registry::Person& p) {
  if (c.probability >= 0.5) return true;
  if (p.names.empty()) return false;
  const std::string candidate = " " + registry::NameKey(c.name) + " ";
  const std::string typed = registry::NameKey(p.names[0].given + " " + p.names[0].family);
  if (!typed.empty() && candidate == " " + typed + " ") return true;
  const std::string family = registry::NameKey(p.names[0].family);
  const bool full_birth = p.birth_date && p.birth_date->month > 0 && p.birth_date->day > 0;
  return full_birth && p.birth_date->ToString() == c.birth_date && !family.empty() &&
         candidate.find(" " + family + " ") != std::string::npos;
}

// The people registered already with an identity number the form gives: found through the gate
// like any search (each one shown is audited), and listed with the likely matches, as the same
// number is the surest sign of the same person. Ones the match listed already say so.
void SameIdentifier(const PageDeps& deps, const Context& ctx, const registry::Person& p,
                    json& duplicates, std::vector<core::PersonId>& ids) {
  for (const auto& identifier : p.identifiers) {
    if (registry::IdentifierKey(identifier.value).empty()) continue;
    registry::SearchQuery query;
    query.identifier = identifier.value;
    query.limit = 5;
    auto found = deps.persons.Search(ctx.Who(), query);
    if (!found.ok()) continue;
    for (const auto& s : found->items) {
      const std::string same = page_support::T(deps, ctx, "Same identity number");
      auto known = std::find(ids.begin(), ids.end(), s.id);
      if (known != ids.end()) {
        duplicates[known - ids.begin()]["likelihood"] = same;
        continue;
      }
      std::string dob = s.birth_date;
      if (auto parsed = core::PartialDate::Parse(dob); parsed.ok()) dob = BirthText(ctx, *parsed);
      ids.push_back(s.id);
      duplicates.push_back({{"id", std::to_string(s.id.value)},
                            {"name", s.name},
                            {"birth_date", dob},
                            {"likelihood", same}});
    }
  }
}

// The people a search by the typed name finds (it reads every name a person is known by: other
// names and aliases, in any script), which the index's score can miss when the typed name is one
// of those: "Maria Ivanova" for someone registered as Мария Иванова with her name in Latin letters
// among her other names. Through the gate like any search; a date of birth given on both sides
// must agree on the year. Ones listed already stay as they are.
void SameName(const PageDeps& deps, const Context& ctx, const registry::Person& p, json& duplicates,
              std::vector<core::PersonId>& ids) {
  if (p.names.empty() || p.names[0].given.empty() || p.names[0].family.empty()) return;
  registry::SearchQuery query;
  query.name = p.names[0].given + " " + p.names[0].family;
  query.limit = 5;
  auto found = deps.persons.Search(ctx.Who(), query);
  if (!found.ok()) return;
  int added = 0;
  for (const auto& s : found->items) {
    if (std::find(ids.begin(), ids.end(), s.id) != ids.end()) continue;
    if (p.birth_date && s.birth_date.size() >= 4 &&
        s.birth_date.substr(0, 4) != p.birth_date->ToString().substr(0, 4)) {
      continue;
    }
    if (added++ == 3) break;
    std::string dob = s.birth_date;
    if (auto parsed = core::PartialDate::Parse(dob); parsed.ok()) dob = BirthText(ctx, *parsed);
    ids.push_back(s.id);
    duplicates.push_back(
        {{"id", std::to_string(s.id.value)},
         {"name", s.name},
         {"birth_date", dob},
         {"likelihood", page_support::T(deps, ctx, "Same name, or one they are known by")}});
  }
}

// With `justification_error`, the emergency access form is open and says what is wrong with what
// was typed (`justification`), which it keeps.
Response ClientPage(const PageDeps& deps, Context& ctx, const registry::PersonView& view,
                    bool emergency, const std::string& justification_error = "",
                    const std::string& justification = "") {
  const auto& p = view.person;
  json d = Common(deps, ctx, p.DisplayName(), "clients");
  d["name"] = p.DisplayName();
  d["id"] = std::to_string(p.id.value);
  json rows = json::array();
  auto tr = [&](const std::string& m, const std::map<std::string, std::string>& args = {}) {
    return page_support::T(deps, ctx, m, args);
  };
  auto row = [&](const std::string& k, const std::string& v) {
    if (!v.empty()) rows.push_back({{"key", tr(k)}, {"value", v}});
  };
  if (view.decision.Sees(authz::Field::kNames)) {
    std::string others;
    for (size_t i = 1; i < p.names.size(); ++i) {
      others += (others.empty() ? "" : "; ") + Trim(p.names[i].given + " " + p.names[i].family);
    }
    row("Other names", others);
    row("Date of birth", p.birth_date ? BirthText(ctx, *p.birth_date) : tr("Not known"));
    std::string sex = p.sex;
    for (const auto& [value, label] : kSexOptions) if (value == p.sex) sex = label;
    row("Sex (as recorded)", sex.empty() ? sex : tr(sex));
    row("Gender", p.gender);
  }
  if (view.decision.Sees(authz::Field::kDeathDate) && p.death_date)
    row("Date of death", BirthText(ctx, *p.death_date));
  if (view.decision.Sees(authz::Field::kPreferredLanguage)) row("Preferred language", p.preferred_language);
  if (view.decision.Sees(authz::Field::kNeeds)) {
    row("Interpreter", p.needs.interpreter ? tr("Needed") + (p.needs.interpreter_language.empty() ? std::string() : " (" + p.needs.interpreter_language + ")") : tr("Not needed"));
    row("Accessibility needs", p.needs.accessibility);
  }
  row("Record version", std::to_string(p.version));
  d["rows"] = std::move(rows);
  json ids = json::array();
  for (const auto& i : p.identifiers) {
    std::string kind = i.kind;
    std::replace(kind.begin(), kind.end(), '_', ' ');
    kind[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(kind[0])));
    ids.push_back({{"kind", tr(kind) + (i.issuer.empty() ? "" : " (" + i.issuer + ")")}, {"value", i.value}});
  }
  d["identifiers"] = std::move(ids);
  json addresses = json::array();
  for (const auto& a : p.addresses) addresses.push_back({{"text", a.OneLine()}});
  d["addresses"] = std::move(addresses);
  json contacts = json::array();
  for (const auto& c : p.phones) contacts.push_back({{"kind", tr("Phone")}, {"value", c.value}});
  for (const auto& c : p.emails) contacts.push_back({{"kind", tr("Email")}, {"value", c.value}});
  d["contacts"] = std::move(contacts);
  if (view.household) {
    // A household one member of which the reader may not see is refused whole: no link to a
    // page that would refuse them (and record the attempt in every member's access log).
    if (deps.households.MaySee(ctx.Who(), view.household->id)) {
      d["household_href"] = fmt::format("/households/{}", view.household->id.value);
    } else {
      d["household_partly_withheld"] = true;
    }
    d["household_name"] = view.household->name.empty()
                              ? page_support::T(deps, ctx, "Household {id, number, ::group-off}",
                                                {{"id", std::to_string(view.household->id.value)}})
                              : view.household->name;
  }
  json sources = json::array();
  for (const auto& s : view.sources) sources.push_back({{"agency", s.agency_name}, {"local_id", s.local_id}});
  d["sources"] = std::move(sources);
  d["edit_href"] = fmt::format("/clients/{}/edit", p.id.value);
  // What is withheld is said so, not shown as missing; no link to a history the gate refuses.
  if (view.decision.Sees(authz::Field::kHistory)) d["history_href"] = fmt::format("/clients/{}/history", p.id.value);
  d["identifiers_withheld"] = !view.decision.Sees(authz::Field::kIdentifiers);
  d["addresses_withheld"] = !view.decision.Sees(authz::Field::kAddresses);
  d["contacts_withheld"] = !view.decision.Sees(authz::Field::kPhones) || !view.decision.Sees(authz::Field::kEmails);
  d["household_withheld"] = !view.decision.Sees(authz::Field::kHousehold);
  if (!view.household && view.decision.Sees(authz::Field::kHousehold)) {
    d["start_household_href"] = fmt::format("/clients/{}/household/new", p.id.value);
  }
  json withheld = json::array();
  for (const auto& w : view.decision.withheld) {
    withheld.push_back({{"category", w.label}, {"reason", w.reason}});
  }
  if (!withheld.empty()) d["has_withheld"] = true;
  d["withheld"] = std::move(withheld);
  if (ctx.request.Query("created") == "1") d["flash"] = tr("Client registered");
  if (ctx.request.Query("saved") == "1") d["flash"] = tr("Changes saved");
  if (deps.directory != nullptr && view.decision.Sees(authz::Field::kSourceRecord)) {
    auto entries = deps.directory->Entries(ctx.Who(), p.id);
    if (entries.ok()) {
      json known = json::array();
      for (const auto& e : *entries) {
        known.push_back({{"agency", e.agency_name},
                         {"capacity", tr(std::string(sharing::CapacityLabel(e.capacity)))},
                         {"since", e.since.UtcDate().ToString()}});
      }
      if (!known.empty()) d["has_known_by"] = true;
      d["known_by"] = std::move(known);
    }
  }
  if (deps.consents != nullptr && sharing::ConsentService::ReadsConsents(ctx.Who())) {
    auto consents = deps.consents->ForPerson(ctx.Who(), p.id);
    if (consents.ok() && !consents->empty()) {
      json list = json::array();
      const core::Date today = deps.consents->Today();
      for (const auto& c : *consents) {
        list.push_back({{"receiver", c.receiving_agency ? c.receiving_agency_name
                                                        : tr("any {kind} agency", {{"kind", c.agency_kind}})},
                        {"purpose", tr(std::string(authz::PurposeLabel(c.purpose)))},
                        {"state", tr(c.StateOn(today))},
                        {"receipt_href", fmt::format("/consents/{}/receipt", c.id)}});
      }
      d["has_consents"] = true;
      d["consents"] = std::move(list);
    }
  }
  if (deps.changes != nullptr) {
    auto changes = deps.changes->ForPerson(ctx.Who(), p.id);
    if (changes.ok() && !changes->empty()) {
      json list = json::array();
      for (const auto& n : *changes) {
        // The record's parts in words ("Phone", "Address"), as the history says them.
        std::string fields;
        for (const auto& f : n.fields) {
          const json words = ChangeInWords(deps, ctx, registry::Change{f, "", ""});
          fields += (fields.empty() ? "" : ", ") + words.value("field", f);
        }
        list.push_back({{"at", n.at.ToRfc3339().substr(0, 10)},
                        {"what", fields},
                        {"from", n.from_agency_name},
                        {"to", n.agency_name},
                        {"state", tr(n.applied ? "Updated" : n.overdue ? "Overdue" : "Pending")},
                        {"tag", n.applied ? "govuk-tag--green" : n.overdue ? "govuk-tag--red" : "govuk-tag--yellow"}});
      }
      d["has_changes"] = true;
      d["changes"] = std::move(list);
    }
  }
  if (deps.consents != nullptr && authz::HasCaseworkRole(ctx.Who())) {
    d["consent_href"] = fmt::format("/clients/{}/consents/new", p.id.value);
  }
  // What has happened, composed from the same reads as the sections below (each read once,
  // audited once).
  cases::TimelineSources timeline;
  std::vector<cases::Referral> referral_list;
  std::vector<cases::Case> case_list;
  std::vector<cases::Application> application_list;
  std::vector<cases::Document> document_list;
  if (deps.referrals != nullptr && authz::HasCaseworkRole(ctx.Who())) {
    d["refer_href"] = fmt::format("/referrals/new?person={}", p.id.value);
    if (deps.services != nullptr) d["find_service_href"] = fmt::format("/directory?person={}", p.id.value);
    auto referrals = deps.referrals->ForPerson(ctx.Who(), p.id);
    if (referrals.ok()) {
      referral_list = *referrals;
      timeline.referrals = &referral_list;
    }
    if (referrals.ok() && !referrals->empty()) {
      const core::Timestamp now = deps.referrals->Now();
      json list = json::array();
      for (const auto& r : *referrals) {
        std::string state(cases::ReferralStateName(r.state));
        std::replace(state.begin(), state.end(), '_', ' ');
        state = tr(state);
        list.push_back({{"href", fmt::format("/referrals/{}", r.id)},
                        {"at", r.created_at.ToRfc3339().substr(0, 10)},
                        {"from", r.from_agency_name},
                        {"to", r.to_agency_name},
                        {"service", r.service},
                        {"state", state},
                        {"overdue", r.OverdueAt(now)}});
      }
      d["has_referrals"] = true;
      d["referrals"] = std::move(list);
    }
  }
  if (deps.documents != nullptr && authz::HasClientRole(ctx.Who())) {
    d["documents_action"] = fmt::format("/clients/{}/documents", p.id.value);
    auto docs = deps.documents->ForPerson(ctx.Who(), p.id);
    if (docs.ok()) {
      document_list = docs->first;
      timeline.documents = &document_list;
    }
    if (docs.ok()) {
      json list = json::array();
      for (const auto& doc : docs->first) {
        std::string kind = doc.kind;
        std::replace(kind.begin(), kind.end(), '_', ' ');
        list.push_back({{"href", fmt::format("/api/v1/documents/{}/content", doc.id)},
                        {"file_name", doc.file_name},
                        {"kind", tr(kind)},
                        {"category", doc.category_label},
                        {"size", fmt::format("{} KB", (doc.size + 1023) / 1024)},
                        {"by", doc.agency_name},
                        {"at", doc.uploaded_at.ToRfc3339().substr(0, 10)}});
      }
      d["has_documents"] = !list.empty();
      d["documents"] = std::move(list);
      if (docs->second > 0) {
        d["documents_withheld"] =
            tr("{count, plural, one {# more document is} other {# more documents are}} in categories withheld from you.",
               {{"count", std::to_string(docs->second)}});
      }
    }
    json kinds = json::array();
    for (const auto& k : cases::DocumentKinds()) {
      std::string label = k;
      std::replace(label.begin(), label.end(), '_', ' ');
      label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
      // After a refused file, the choices made are kept (doc_kind, doc_category in the address).
      kinds.push_back(
          {{"value", k}, {"label", tr(label)}, {"selected", ctx.request.Query("doc_kind") == k}});
    }
    d["document_kinds"] = std::move(kinds);
    json categories = json::array();
    if (deps.consents != nullptr) {
      for (const auto& c : deps.consents->categories().categories()) {
        const bool withheld = std::any_of(view.decision.withheld.begin(), view.decision.withheld.end(),
                                          [&](const authz::Withheld& w) { return w.category == c.id; });
        if (!withheld) {
          categories.push_back({{"value", c.id},
                                {"label", c.label},
                                {"selected", ctx.request.Query("doc_category") == c.id}});
        }
      }
    }
    d["document_categories"] = std::move(categories);
    if (const std::string e = SignedQueryValue(ctx, "document_error"); !e.empty()) {
      d["has_errors"] = true;
      d["errors"] = json::array({{{"message", e}, {"href", "#document-file"}}});
      d["document_error"] = e;
    }
    if (ctx.request.Query("document") == "1") d["flash"] = tr("Document added");
  }
  if (deps.interactions != nullptr && authz::HasClientRole(ctx.Who())) {
    ClientContacts(deps, ctx, p.id, d, timeline.extra);
  }
  if (deps.cases != nullptr && authz::HasCaseworkRole(ctx.Who())) {
    d["show_cases"] = true;
    if (ctx.Who().HasAnyRole({authz::Role::kCoordinator, authz::Role::kManager})) {
      d["open_case_href"] = fmt::format("/cases/new?person={}", p.id.value);
    }
    auto cases = deps.cases->ForPerson(ctx.Who(), p.id);
    if (cases.ok()) {
      case_list = *cases;
      timeline.cases = &case_list;
    }
    if (cases.ok() && !cases->empty()) {
      const core::Timestamp now = deps.cases->Now();
      json list = json::array();
      for (const auto& c : *cases) {
        list.push_back({{"href", fmt::format("/cases/{}", c.id)},
                        {"title", c.title},
                        {"coordinator", c.coordinating_agency_name},
                        {"state", c.state},
                        {"review_overdue", c.ReviewOverdueAt(now)}});
      }
      d["has_cases"] = true;
      d["cases"] = std::move(list);
    }
  }
  if (deps.applications != nullptr && authz::HasClientRole(ctx.Who())) {
    auto applications = deps.applications->ForPerson(ctx.Who(), p.id);
    if (applications.ok()) {
      application_list = std::move(*applications);
      timeline.applications = &application_list;
    }
  }
  if (const auto entries = cases::TimelineOf(timeline); !entries.empty()) {
    json list = json::array();
    for (const auto& e : entries) {
      if (list.size() == kTimelineOnPersonView) break;
      list.push_back({{"at", e.at.ToRfc3339().substr(0, 10)}, {"text", e.text}, {"link", e.link}});
    }
    d["has_timeline"] = true;
    d["timeline"] = std::move(list);
    if (entries.size() > kTimelineOnPersonView) {
      d["timeline_all"] = fmt::format("See all {} entries", entries.size());
      d["timeline_href"] = fmt::format("/clients/{}/timeline", p.id.value);
    }
  }
  bool openable = false;
  for (const auto& w : view.decision.withheld) {
    openable = openable || w.reason.find("black-class") == std::string::npos;
  }
  if (openable && MayBreakGlass(ctx.Who()) && !view.decision.break_glass) {
    d["emergency_href"] = fmt::format("/clients/{}/emergency", p.id.value);
  }
  if (emergency) d["emergency"] = true;
  // Linking the person's portal account, once staff have checked who they are.
  if (deps.portal != nullptr && authz::HasClientRole(ctx.Who())) {
    d["portal_action"] = fmt::format("/clients/{}/portal-link", p.id.value);
    if (const std::string e = SignedQueryValue(ctx, "portal_error"); !e.empty()) {
      d["e_portal_code"] = tr(page_support::Capitalised(e));
      d["has_errors"] = true;
      d["errors"] = json::array({{{"message", d["e_portal_code"]}, {"href", "#portal-code"}}});
    }
    if (ctx.request.Query("portal_linked") == "1") d["flash"] = tr("Portal account linked");
  }
  if (!justification_error.empty() && d.contains("emergency_href")) {
    d["e_justification"] = justification_error;
    d["f_justification"] = justification;
    d["has_errors"] = true;
    d["errors"] = json::array({{{"message", justification_error}, {"href", "#justification"}}});
    return Page(deps, 400, "client_view", d);
  }
  return Page(deps, 200, "client_view", d);
}

// Who a page that needs signing in is for. The portal's pages (/portal and below) are for people
// with a portal account; every other such page is for the agencies' staff, except the home page
// (which sends a person to their account), one's own account (/account/...: the password, the
// sessions) and signing out.
enum class Audience { kAnyone, kStaff, kPortal };

Audience AudienceOf(const Route& route) {
  if (route.auth != Auth::kPage) return Audience::kAnyone;
  const std::string& p = route.pattern;
  if (p == "/" || p.starts_with("/account/") || p == "/logout") return Audience::kAnyone;
  if (p == "/portal" || p.starts_with("/portal/")) return Audience::kPortal;
  return Audience::kStaff;
}

// `route` with its handler behind the check of its audience: a person signed in to the portal
// is refused a staff page, even one about their own record (it shows staff names, notes and
// forms that are not theirs to use); staff are sent home from a portal page, and refused its
// forms. A refusal is a 403, which the dispatcher records in the audit log.
Route ForItsAudience(Route route, const PageDeps& deps) {
  const Audience audience = AudienceOf(route);
  if (audience == Audience::kAnyone) return route;
  route.handler = [&deps, audience, method = route.method, handler = std::move(route.handler)](Context& ctx) {
    const bool citizen = ctx.principal && ctx.Who().kind == authz::PrincipalKind::kCitizen;
    if (audience == Audience::kStaff && citizen) {
      return ErrorFor(deps, ctx,
                      core::Status::PermissionDenied("this page is for the agencies' staff; your own record is "
                                                     "under Your account"));
    }
    if (audience == Audience::kPortal && ctx.principal && !citizen) {
      if (method == "GET") return Response::Redirect("/");
      return ErrorFor(deps, ctx, core::Status::PermissionDenied("the portal is for people with a portal account"));
    }
    return handler(ctx);
  };
  return route;
}

void AddPages(Router& router, const PageDeps& deps);

}  // namespace

void AddPageRoutes(Router& router, const PageDeps& deps) {
  Router pages;
  AddPages(pages, deps);
  for (const Route& route : pages.routes()) router.Add(ForItsAudience(route, deps));
}

namespace {

void AddPages(Router& router, const PageDeps& deps) {
  // The language switcher: remembers the language for a year and goes back to the page. A
  // link, so that it works without JavaScript; only a path on this site is gone back to.
  router.Add({"GET", "/language", Auth::kPublic, "", [&deps](Context& ctx) {
                const std::string to = ctx.request.Query("to");
                if (i18n::FindLanguage(to) == nullptr) {
                  return ErrorFor(deps, ctx, core::Status::InvalidArgument("to must be en, es or ar"));
                }
                Response r = Response::Redirect(page_support::LocalPath(ctx.request.Query("back"), "/"));
                r.Header("Set-Cookie", fmt::format("{}={}; Path=/; Max-Age=31536000; SameSite=Lax{}", kLanguageCookie, to,
                                                   deps.secure_cookies ? "; Secure" : ""));
                return r;
              }});

  router.Add({"GET", "/login", Auth::kPublic, "", [&deps](Context& ctx) {
                if (ctx.principal) return Response::Redirect("/");
                return LoginPage(deps, ctx, 200, "", "", "", ctx.request.Query("next"), core::RandomToken(24));
              }});

  router.Add({"POST", "/login", Auth::kPublic, "", [&deps](Context& ctx) {
                auto form = ParseForm(ctx.request.body);
                const std::string username = Trim(FormValue(form, "username"));
                const std::string purpose_text = FormValue(form, "purpose");
                const std::string next = FormValue(form, "next");
                const std::string cookie_csrf = ctx.request.Cookie(PathCookieName(kLoginCsrfCookie, deps.secure_cookies));
                const std::string fresh = core::RandomToken(24);
                if (cookie_csrf.empty() || !core::ConstantTimeEquals(cookie_csrf, FormValue(form, "csrf_token"))) {
                  return LoginPage(deps, ctx, 403, username,
                                   "The sign-in form expired. Enter your username and password again", purpose_text,
                                   next, fresh);
                }
                if (username.empty() || FormValue(form, "password").empty()) {
                  return LoginPage(deps, ctx, 400, username, "Enter your username and password", purpose_text, next,
                                   fresh);
                }
                auto purpose = authz::ParsePurpose(purpose_text);
                if (!purpose.ok()) {
                  return LoginPage(deps, ctx, 400, username, "Select why you are signing in", purpose_text, next, fresh);
                }
                auto session = deps.accounts.Login(username, FormValue(form, "password"), *purpose,
                                                   ctx.request.request_id,
                                                   AddressThrottle::Key(ctx.request.client_address));
                if (!session.ok()) {
                  // The database failing (a full disk, say) is said as such, not as a wrong
                  // password.
                  switch (session.status().code()) {
                    case core::StatusCode::kUnavailable:
                    case core::StatusCode::kInternal:
                    case core::StatusCode::kAborted:
                    case core::StatusCode::kDeadlineExceeded:
                      return ErrorFor(deps, ctx, session.status());
                    default:
                      break;
                  }
                  const bool throttled = session.status().code() == core::StatusCode::kResourceExhausted;
                  // Told only to whoever typed the right password: it has expired.
                  const bool expired = session.status().code() == core::StatusCode::kFailedPrecondition;
                  std::string message = throttled || expired ? session.status().message()
                                                             : "The username or password is not right";
                  message[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(message[0])));
                  return LoginPage(deps, ctx, throttled ? 429 : 401, username, message, purpose_text, next, fresh);
                }
                // The session this browser held before, if any, ends: one sign-in, one session.
                (void)deps.accounts.Logout(ctx.session_id);
                Response r = Response::Redirect(page_support::LocalPath(next, "/"));
                r.Header("Set-Cookie", SessionCookie(session->session_id, deps.secure_cookies,
                                                     deps.session_max_hours * 3600));
                return r;
              }});

  // Changing one's own password: the current one, then the new one twice.
  auto password_page = [&deps](Context& ctx, int status, const std::vector<core::FieldError>& errors) {
    json d = Common(deps, ctx, "Change your password", "");
    d["required"] = ctx.request.Query("required") == "1";
    json list = json::array();
    for (const auto& e : errors) {
      const std::string message = page_support::T(deps, ctx, page_support::Capitalised(e.message));
      if (!d.contains("e_" + e.field)) d["e_" + e.field] = message;
      list.push_back({{"message", message}, {"href", "#" + e.field}});
    }
    d["errors"] = std::move(list);
    d["has_errors"] = !errors.empty();
    return Page(deps, status, "account_password", d);
  };
  router.Add({"GET", "/account/password", Auth::kPage, "", [password_page](Context& ctx) {
                return password_page(ctx, 200, {});
              }});
  router.Add({"POST", "/account/password", Auth::kPage, "", [&deps, password_page](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                const std::string password = FormValue(form, "password");
                if (ctx.Who().representation != 0) {
                  return ErrorFor(deps, ctx, core::Status::PermissionDenied("only the account's owner changes its password"));
                }
                std::vector<core::FieldError> read_errors;
                if (password != FormValue(form, "confirm")) {
                  read_errors.push_back({"confirm", "the two new passwords are not the same"});
                }
                core::Status s = deps.accounts.ChangeOwnPassword(
                    ctx.Who(), FormValue(form, "current"), password, read_errors);
                if (s.code() == core::StatusCode::kInvalidArgument) return password_page(ctx, 400, s.fields());
                if (s.code() == core::StatusCode::kResourceExhausted) {
                  return password_page(ctx, 429, {{"current", s.message()}});
                }
                if (!s.ok()) return ErrorFor(deps, ctx, s);
                const bool citizen = ctx.Who().kind == authz::PrincipalKind::kCitizen;
                Response r = Response::Redirect(citizen ? "/portal/sign-in?changed=1" : "/login?changed=1");
                r.Header("Set-Cookie", SessionCookie("", deps.secure_cookies, 0));
                r.Header("Clear-Site-Data", kClearSiteData);
                return r;
              }});

  router.Add({"POST", "/logout", Auth::kPage, "", [&deps](Context& ctx) {
                (void)deps.accounts.Logout(ctx.session_id);
                const bool citizen = ctx.Who().kind == authz::PrincipalKind::kCitizen;
                Response r = Response::Redirect(citizen ? "/portal/sign-in" : "/login");
                r.Header("Set-Cookie", SessionCookie("", deps.secure_cookies, 0));
                // The browser forgets the pages it kept of the session (and any storage); the
                // language chosen, a cookie, stays.
                r.Header("Clear-Site-Data", kClearSiteData);
                return r;
              }});

  router.Add({"GET", "/", Auth::kPage, "", [&deps](Context& ctx) {
                if (ctx.Who().kind == authz::PrincipalKind::kCitizen) return Response::Redirect("/portal");
                json d = Common(deps, ctx, "Home", "home");
                auto tr = [&](const std::string& m) { return page_support::T(deps, ctx, m); };
                json links = json::array();
                if (authz::HasClientRole(ctx.Who())) {
                  links.push_back({{"href", "/clients"}, {"label", tr("Find a client")},
                                   {"description", tr("Search by name, date of birth or identity number.")}});
                  links.push_back({{"href", "/clients/new"}, {"label", tr("Register a client")},
                                   {"description", tr("Record someone new to every agency of the consortium.")}});
                }
                if (ctx.Who().HasAnyRole({authz::Role::kFrontdesk, authz::Role::kCaseworker, authz::Role::kCoordinator,
                                          authz::Role::kManager}) &&
                    deps.portal != nullptr) {
                  links.push_back({{"href", "/portal-links"}, {"label", tr("Portal accounts to link")},
                                   {"description", tr("People who asked, from the portal, to be found in the registry.")}});
                }
                links.push_back({{"href", "/account/password"}, {"label", tr("Change your password")},
                                 {"description", tr("Choose a new password, giving the one you have.")}});
                links.push_back({{"href", "/account/sessions"}, {"label", tr("Where you are signed in")},
                                 {"description", tr("See the browsers signed in to your account, and sign them out.")}});
                d["links"] = std::move(links);
                // The work waiting, by role: counts only, with where to act on them.
                if (deps.metrics != nullptr) {
                  const auto& who = ctx.Who();
                  auto g = deps.metrics->AtAGlanceFor(who);
                  if (g.ok()) {
                    json cards = json::array();
                    auto card = [&](const std::string& heading, const std::string& href, const std::string& link,
                                    json rows) {
                      cards.push_back(
                          {{"heading", tr(heading)}, {"href", href}, {"link", tr(link)}, {"rows", std::move(rows)}});
                    };
                    auto row = [&tr](const std::string& key, int64_t n, bool warn = false) {
                      return json{{"key", tr(key)}, {"value", n}, {"warn", warn && n > 0}};
                    };
                    if (who.HasRole(authz::Role::kFrontdesk) || who.HasRole(authz::Role::kManager)) {
                      card("At the desk", "/desk", "Go to the desk",
                           {row("Visitors waiting now", g->waiting),
                            row("Longest wait, in minutes", g->oldest_wait_minutes, g->oldest_wait_minutes >= 30),
                            row("Contacts recorded today", g->contacts_today)});
                    }
                    if (who.HasAnyRole({authz::Role::kCaseworker, authz::Role::kSpecialist})) {
                      card("Your work", "/work", "Open the work queue",
                           {row("Claimed by you", g->my_work), row("Waiting in your teams", g->team_open),
                            row("Past their due date", g->work_overdue, true)});
                      card("Referrals and decisions", "/referrals", "See the referrals",
                           {row("Referrals waiting for an answer", g->referrals_waiting),
                            row("Of those, past their respond-by time", g->referrals_overdue, true),
                            row("Applications to decide", g->decisions_pending),
                            row("Of those, past their due date", g->decisions_overdue, true)});
                    }
                    if (who.HasAnyRole({authz::Role::kCoordinator, authz::Role::kManager})) {
                      card("Cases", "/cases", "See the cases",
                           {row("Open cases the agency coordinates", g->cases_open),
                            row("Reviews overdue", g->reviews_overdue, true)});
                    }
                    if (who.HasRole(authz::Role::kManager)) {
                      card("Overdue across the agency", "/performance", "See the performance",
                           {row("Referrals past their respond-by time", g->referrals_overdue, true),
                            row("Applications past their due date", g->decisions_overdue, true),
                            row("Case reviews overdue", g->reviews_overdue, true),
                            row("Changes told once, not applied yet", g->changes_pending)});
                      json teams = json::array();
                      for (const auto& t : g->teams) {
                        teams.push_back({{"team", t.team}, {"members", t.members}, {"open", t.open},
                                         {"claimed", t.claimed}, {"overdue", t.overdue}});
                      }
                      d["team_rows"] = std::move(teams);
                      d["has_team_rows"] = !g->teams.empty();
                    }
                    d["has_cards"] = !cards.empty();
                    d["cards"] = std::move(cards);
                  }
                }
                return Page(deps, 200, "home", d);
              }});

  router.Add({"GET", "/clients", Auth::kPage, "", [&deps](Context& ctx) {
                if (auto refused = RefusedClientWork(deps, ctx)) return std::move(*refused);
                json d = Common(deps, ctx, "Find a client", "clients");
                const auto& req = ctx.request;
                const std::string q = Trim(req.Query("q"));
                const std::string day = Trim(req.Query("dob_day"));
                const std::string month = Trim(req.Query("dob_month"));
                const std::string year = Trim(req.Query("dob_year"));
                // A number typed where the name goes is looked for as an identity number: staff
                // type what they have in front of them.
                std::string identifier = Trim(req.Query("identifier"));
                std::string name = q;
                if (identifier.empty() &&
                    std::any_of(q.begin(), q.end(), [](char c) { return c >= '0' && c <= '9'; })) {
                  identifier = q;
                  name.clear();
                }
                d["identifier"] = Trim(req.Query("identifier"));
                d["q"] = q;
                d["dob_day"] = day;
                d["dob_month"] = month;
                d["dob_year"] = year;
                // A day or month without a year is a search too: it is told the year is missing.
                const bool searched = !q.empty() || !year.empty() || !month.empty() ||
                                      !day.empty() || !identifier.empty();
                d["searched"] = searched;
                if (!searched) return Page(deps, 200, "clients_search", d);
                registry::SearchQuery query;
                query.name = name;
                query.identifier = identifier;
                if (!year.empty() || !month.empty() || !day.empty()) {
                  auto dob = core::PartialDate::FromParts(day, month, year);
                  if (!dob.ok()) {
                    d["e_dob"] = "Date of birth: " + dob.status().message();
                    d["errors"] = json::array({{{"field", "dob"}, {"message", d["e_dob"]}, {"href", "#dob_day"}}});
                    d["has_errors"] = true;
                    d["searched"] = false;
                    return Page(deps, 400, "clients_search", d);
                  }
                  query.birth_date = dob->ToString();
                }
                if (auto after = req.Query("after"); !after.empty()) {
                  try {
                    query.after = std::stoll(after);
                  } catch (const std::exception&) {
                  }
                }
                auto page = deps.persons.Search(ctx.Who(), query);
                if (!page.ok()) {
                  if (page.status().code() == core::StatusCode::kInvalidArgument) {
                    d["e_q"] = page.status().fields().empty() ? page.status().message() : page.status().fields()[0].message;
                    d["errors"] = json::array({{{"field", "q"}, {"message", d["e_q"]}, {"href", "#q"}}});
                    d["has_errors"] = true;
                    d["searched"] = false;
                    return Page(deps, 400, "clients_search", d);
                  }
                  return ErrorFor(deps, ctx, page.status());
                }
                json results = json::array();
                for (const auto& s : page->items) {
                  std::string ids;
                  for (const auto& i : s.identifiers) ids += (ids.empty() ? "" : ", ") + i.value;
                  std::string dob = s.birth_date;
                  if (auto parsed = core::PartialDate::Parse(dob); parsed.ok())
                    dob = BirthText(ctx, *parsed);
                  results.push_back({{"id", s.id.value},
                                     {"href", fmt::format("/clients/{}", s.id.value)},
                                     {"name", s.name},
                                     {"birth_date", dob},
                                     {"identifiers", ids},
                                     {"address", s.address}});
                }
                d["result_count"] = std::to_string(results.size()) + (page->next_after ? " or more" : "");
                d["one_result"] = results.size() == 1 && !page->next_after;
                d["results"] = std::move(results);
                if (page->next_after) {
                  d["next_href"] = fmt::format(
                      "/clients?q={}&dob_day={}&dob_month={}&dob_year={}&identifier={}&after={}",
                      UrlEncode(q), UrlEncode(day), UrlEncode(month), UrlEncode(year),
                      UrlEncode(Trim(req.Query("identifier"))), *page->next_after);
                }
                return Page(deps, 200, "clients_search", d);
              }});

  // The form. With `check=1` and the form's fields in the query (the page's script sends them as
  // the name and date of birth are typed), the likely matches are shown above it: the same match
  // as on registering, gated and audited, so that staff see a duplicate before filling in the rest.
  router.Add({"GET", "/clients/new", Auth::kPage, "", [&deps](Context& ctx) {
                if (auto refused = RefusedClientWork(deps, ctx)) return std::move(*refused);
                std::multimap<std::string, std::string> typed;
                if (ctx.request.Query("check") == "1") {
                  for (const auto& [k, v] : ctx.request.query) {
                    if (k != "check") typed.emplace(k, v);
                  }
                }
                FormInput in{typed, {}};
                json d = FormData(deps, ctx, typed, {}, false);
                d["form_action"] = "/clients";
                if (!typed.empty() && deps.match != nullptr) {
                  registry::Person p;
                  ApplyForm(in, p);
                  json duplicates = json::array();
                  std::vector<core::PersonId> ids;
                  const bool enough = !p.names.empty() && !Trim(p.names[0].family).empty() &&
                                      (!Trim(p.names[0].given).empty() || p.birth_date.has_value());
                  if (enough) {
                    auto found = deps.match->Match(
                        ctx.Who(), p, 5, 0.0,
                        [&p](const identity::MatchCandidate& c) { return WorthShowing(c, p); });
                    if (found.ok()) {
                      for (const auto& c : *found) {
                        ids.push_back(c.person);
                        duplicates.push_back(
                            {{"id", std::to_string(c.person.value)},
                             {"name", c.name},
                             {"birth_date", BirthDisplay(deps, ctx, c.birth_date)},
                             {"likelihood", fmt::format("{:.0f}%", c.probability * 100)}});
                      }
                    }
                  }
                  SameIdentifier(deps, ctx, p, duplicates, ids);
                  if (enough) SameName(deps, ctx, p, duplicates, ids);
                  d["has_duplicates"] = !duplicates.empty();
                  d["duplicates"] = std::move(duplicates);
                }
                return Page(deps, 200, "client_form", d);
              }});

  router.Add({"POST", "/clients", Auth::kPage, "", [&deps](Context& ctx) {
                if (auto refused = RefusedClientWork(deps, ctx)) return std::move(*refused);
                FormInput in{ParseForm(ctx.request.body), {}};
                registry::Person p;
                ApplyForm(in, p);
                // Before registering, the people this may already be; registering anyway needs a reason.
                json duplicates = json::array();
                std::vector<core::PersonId> candidate_ids;
                const bool confirmed_new = FormValue(in.form, "duplicate_decision") == "new";
                const std::string duplicate_reason = Trim(FormValue(in.form, "duplicate_reason"));
                // What the record could not hold (a date of birth in the future) is said before the
                // people it may be: the check for them compares what is right.
                if (in.errors.empty()) {
                  if (core::Status v = registry::CheckRecord(p, core::SystemClock().Now());
                      v.code() == core::StatusCode::kInvalidArgument) {
                    in.errors = ToFormErrors(v);
                  }
                }
                if (in.errors.empty() && deps.match != nullptr) {
                  auto found = deps.match->Match(ctx.Who(), p, 5, 0.0,
                                                 [&p](const identity::MatchCandidate& c) { return WorthShowing(c, p); });
                  if (found.ok()) {
                    for (const auto& c : *found) {
                      candidate_ids.push_back(c.person);
                      duplicates.push_back(
                          {{"id", std::to_string(c.person.value)},
                           {"name", c.name},
                           {"birth_date", BirthDisplay(deps, ctx, c.birth_date)},
                           {"likelihood", fmt::format("{:.0f}%", c.probability * 100)}});
                    }
                  }
                  SameIdentifier(deps, ctx, p, duplicates, candidate_ids);
                  SameName(deps, ctx, p, duplicates, candidate_ids);
                  if (!candidate_ids.empty() && confirmed_new && duplicate_reason.empty()) {
                    in.errors.push_back({"duplicate_reason", "Say why this is not one of the people listed"});
                  }
                }
                if (in.errors.empty() && (candidate_ids.empty() || confirmed_new)) {
                  auto created = deps.persons.Create(ctx.Who(), p);
                  if (created.ok() && !candidate_ids.empty()) {
                    auto noted = deps.match->RecordRegisteredDespiteMatches(ctx.Who(), created->id, candidate_ids,
                                                                           duplicate_reason);
                    if (!noted.ok()) return ErrorFor(deps, ctx, noted);
                  }
                  if (created.ok()) return Response::Redirect(fmt::format("/clients/{}?created=1", created->id.value));
                  if (created.status().code() != core::StatusCode::kInvalidArgument) {
                    return ErrorFor(deps, ctx, created.status());
                  }
                  in.errors = ToFormErrors(created.status());
                }
                json d = FormData(deps, ctx, in.form, in.errors, false);
                d["form_action"] = "/clients";
                if (!candidate_ids.empty()) {
                  d["duplicates"] = std::move(duplicates);
                  d["has_duplicates"] = true;
                  d["f_duplicate_new"] = confirmed_new;
                  d["f_duplicate_reason"] = duplicate_reason;
                }
                return Page(deps, candidate_ids.empty() || !in.errors.empty() ? 400 : 200, "client_form", d);
              }});

  router.Add({"GET", "/clients/{id}", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = IdParam(ctx, "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                auto view = deps.persons.Get(ctx.Who(), core::PersonId{*id});
                if (!view.ok()) return ClientRefused(deps, ctx, *id, view.status(), "", "");
                return ClientPage(deps, ctx, *view, false);
              }});

  // A document added to the client's record: a multipart form with the file.
  router.Add({"POST", "/clients/{id}/documents", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = IdParam(ctx, "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                if (deps.documents == nullptr) return ErrorFor(deps, ctx, core::Status::NotFound("no documents here"));
                auto parts = ParseMultipartForm(ctx.request);
                const std::string back = fmt::format("/clients/{}", *id);
                auto value = [&](const char* name) {
                  if (!parts) return std::string();
                  auto it = parts->find(name);
                  return it == parts->end() ? std::string() : it->second.value;
                };
                auto fail = [&](const std::string& message) {
                  return Response::Redirect(back + "?" +
                                            SignedQuery(ctx, "document_error", message) +
                                            "&doc_kind=" + UrlEncode(value("kind")) +
                                            "&doc_category=" + UrlEncode(value("category")));
                };
                // Without a file the service still decides first whether the caller may add to this
                // person's record (a refusal is a refusal, whatever the form holds); it then names
                // what is missing, and nothing is kept.
                cases::NewDocument doc;
                doc.person = core::PersonId{*id};
                doc.kind = value("kind");
                doc.category = value("category");
                bool has_file = false;
                if (parts) {
                  auto file = parts->find("file");
                  if (file != parts->end() && !file->second.file_name.empty()) {
                    has_file = true;
                    doc.file_name = file->second.file_name;
                    doc.media_type = file->second.content_type;
                    doc.content = std::move(file->second.value);
                  }
                }
                auto done = deps.documents->Upload(ctx.Who(), doc);
                if (done.ok() && has_file) return Response::Redirect(back + "?document=1#documents");
                if (!done.ok() && done.status().code() != core::StatusCode::kInvalidArgument) {
                  return ErrorFor(deps, ctx, done.status());
                }
                if (!has_file) return fail("Choose a file to add");
                std::string message;
                for (const auto& e : done.status().fields()) message += (message.empty() ? "" : "; ") + e.message;
                message[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(message[0])));
                return fail(message);
              }});

  // Emergency access (break-glass): the justification opens what agreements and consent do not,
  // for this one view; the gate flags it and the release is queued for review.
  router.Add({"POST", "/clients/{id}/emergency", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = IdParam(ctx, "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                const auto form = ParseForm(ctx.request.body);
                const std::string justification = Trim(FormValue(form, "justification"));
                if (!MayBreakGlass(ctx.Who())) {
                  deps.accounts.AuditRefusedRequest(
                      ctx.Who(), "POST", "/clients/{id}/emergency",
                      "emergency access asked for without a casework role: " + justification,
                      core::PersonId{*id});
                  return ErrorFor(deps, ctx, core::Status::PermissionDenied(
                                                 "only caseworkers, specialists, coordinators and managers may use "
                                                 "emergency access"));
                }
                if (core::Utf8Length(justification) < 10 || core::Utf8Length(justification) > 500) {
                  const std::string error = page_support::T(
                      deps, ctx, "Say why you need this now, in 10 to 500 characters");
                  auto view = deps.persons.Get(ctx.Who(), core::PersonId{*id});
                  // Part of the record is open to them: it stays on the page, the mistake beside
                  // the reason.
                  if (view.ok()) return ClientPage(deps, ctx, *view, false, error, justification);
                  return ClientRefused(deps, ctx, *id,
                                       view.ok() ? core::Status::PermissionDenied("some of this record is withheld")
                                                 : view.status(),
                                       justification,
                                       page_support::T(deps, ctx, "Say why you need this now, in 10 to 500 characters"));
                }
                ctx.principal->break_glass = justification;
                auto view = deps.persons.Get(ctx.Who(), core::PersonId{*id});
                if (!view.ok()) return ErrorFor(deps, ctx, view.status());
                return ClientPage(deps, ctx, *view, true);
              }});

  router.Add({"GET", "/clients/{id}/edit", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = IdParam(ctx, "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                auto view = deps.persons.Get(ctx.Who(), core::PersonId{*id});
                if (!view.ok()) return ErrorFor(deps, ctx, view.status());
                json d = FormData(deps, ctx, FormFromPerson(view->person), {}, true);
                d["form_action"] = fmt::format("/clients/{}/edit", *id);
                d["record_name"] = view->person.DisplayName();  // as saved, not as typed
                d["back_href"] = fmt::format("/clients/{}", *id);
                d["version"] = std::to_string(view->person.version);
                return Page(deps, 200, "client_form", d);
              }});

  router.Add({"POST", "/clients/{id}/edit", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = IdParam(ctx, "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                // The record first, through the gate: whoever may not see it is refused before the form
                // is read.
                auto view = deps.persons.Get(ctx.Who(), core::PersonId{*id});
                if (!view.ok()) return ErrorFor(deps, ctx, view.status());
                FormInput in{ParseForm(ctx.request.body), {}};
                int64_t version = 0;
                try {
                  version = std::stoll(FormValue(in.form, "version"));
                } catch (const std::exception&) {
                  return ErrorFor(deps, ctx, core::Status::NotFound("The form is missing the record version; reload the page"));
                }
                registry::Person p = view->person;
                ApplyForm(in, p);
                json d;
                if (in.errors.empty()) {
                  auto updated = deps.persons.Update(ctx.Who(), core::PersonId{*id}, version, p);
                  if (updated.ok()) return Response::Redirect(fmt::format("/clients/{}?saved=1", *id));
                  if (updated.status().code() == core::StatusCode::kFailedPrecondition) {
                    d = FormData(deps, ctx, in.form, {}, true);
                    d["conflict"] = page_support::T(deps, ctx,
                                                    "Someone else changed this record while you were editing it. Your "
                                                    "changes are below; check them against the current record and "
                                                    "save again.");
                    // What saving again would change in the record as it is now, field by field,
                    // so that nobody's change is overwritten unseen.
                    json differences = json::array();
                    for (const auto& c : registry::Diff(view->person, p)) {
                      differences.push_back(ChangeInWords(deps, ctx, c));
                    }
                    d["differences"] = std::move(differences);
                    d["has_differences"] = !d["differences"].empty();
                    d["version"] = std::to_string(view->person.version);
                    d["form_action"] = fmt::format("/clients/{}/edit", *id);
                    d["record_name"] = view->person.DisplayName();  // as saved, not as typed
                    d["back_href"] = fmt::format("/clients/{}", *id);
                    return Page(deps, 409, "client_form", d);
                  }
                  if (updated.status().code() != core::StatusCode::kInvalidArgument) {
                    return ErrorFor(deps, ctx, updated.status());
                  }
                  in.errors = ToFormErrors(updated.status());
                }
                d = FormData(deps, ctx, in.form, in.errors, true);
                d["version"] = std::to_string(version);
                d["form_action"] = fmt::format("/clients/{}/edit", *id);
                d["record_name"] = view->person.DisplayName();  // as saved, not as typed
                d["back_href"] = fmt::format("/clients/{}", *id);
                return Page(deps, 400, "client_form", d);
              }});

  router.Add({"GET", "/clients/{id}/history", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = IdParam(ctx, "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                // The history first: a role that may not read it is refused before the record is read.
                auto history = deps.persons.History(ctx.Who(), core::PersonId{*id});
                if (!history.ok()) return ErrorFor(deps, ctx, history.status());
                auto view = deps.persons.Get(ctx.Who(), core::PersonId{*id});
                if (!view.ok()) return ErrorFor(deps, ctx, view.status());
                json d = Common(deps, ctx,
                                page_support::T(deps, ctx, "History of {name}", {{"name", view->person.DisplayName()}}),
                                "clients");
                d["name"] = view->person.DisplayName();
                d["back_href"] = fmt::format("/clients/{}", *id);
                json entries = json::array();
                for (const auto& e : *history) {
                  json changes = json::array();
                  for (const auto& c : e.changes) changes.push_back(ChangeInWords(deps, ctx, c));
                  std::string agency;
                  if (auto a = deps.accounts.GetAgency(core::AgencyId{e.agency_id}); a.ok()) agency = a->name;
                  entries.push_back({{"at", e.at.ToRfc3339().substr(0, 16).replace(10, 1, " ")},
                                     {"who", e.actor},
                                     {"agency", agency},
                                     {"action", page_support::T(deps, ctx, e.action == "created" ? "Registered" : "Changed")},
                                     {"changes", std::move(changes)}});
                }
                d["entries"] = std::move(entries);
                return Page(deps, 200, "client_history", d);
              }});

  // The whole of what has happened, a page at a time, all kinds or one.
  router.Add({"GET", "/clients/{id}/timeline", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = IdParam(ctx, "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                auto view = deps.persons.Get(ctx.Who(), core::PersonId{*id});
                if (!view.ok()) return ClientRefused(deps, ctx, *id, view.status(), "", "");
                const std::string kind = ctx.request.Query("kind");
                static const std::vector<std::pair<std::string, std::string>> kKinds = {
                    {"", "Everything"},      {"contact", "Contacts"}, {"referral", "Referrals"},
                    {"case", "Cases"},       {"application", "Applications"}, {"document", "Documents"}};
                if (std::none_of(kKinds.begin(), kKinds.end(), [&](const auto& k) { return k.first == kind; })) {
                  return ErrorFor(deps, ctx,
                                  core::Status::InvalidArgument(
                                      "kind must be contact, referral, case, application or document"));
                }
                int64_t page = 1;
                if (const std::string p = ctx.request.Query("page"); !p.empty()) {
                  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), page);
                  if (ec != std::errc() || end != p.data() + p.size() || page < 1) {
                    return ErrorFor(deps, ctx, core::Status::InvalidArgument("page must be a whole number from 1"));
                  }
                }
                auto entries = FullPersonTimeline(ctx.Who(), core::PersonId{*id}, deps.referrals, deps.cases,
                                                  deps.applications, deps.documents, deps.interactions);
                if (!entries.ok()) return ErrorFor(deps, ctx, entries.status());
                std::vector<const cases::TimelineEntry*> chosen;
                for (const auto& e : *entries) {
                  if (kind.empty() || e.kind == kind) chosen.push_back(&e);
                }
                const int64_t pages = std::max<int64_t>(1, (static_cast<int64_t>(chosen.size()) + kTimelinePage - 1) / kTimelinePage);
                if (page > pages) {
                  return ErrorFor(deps, ctx,
                                  core::Status::NotFound(
                                      pages == 1 ? std::string("there is only 1 page")
                                                 : fmt::format("there are {} pages", pages)));
                }
                const std::string name = view->person.DisplayName();
                json d = Common(deps, ctx, page_support::T(deps, ctx, "What has happened: {name}", {{"name", name}}),
                                "clients");
                d["name"] = name;
                d["back_href"] = fmt::format("/clients/{}", *id);
                const std::string base = fmt::format("/clients/{}/timeline", *id);
                json kinds = json::array();
                for (const auto& [value, label] : kKinds) {
                  kinds.push_back({{"label", page_support::T(deps, ctx, label)},
                                   {"href", value.empty() ? base : base + "?kind=" + value},
                                   {"selected", value == kind}});
                }
                d["kinds"] = std::move(kinds);
                json list = json::array();
                const size_t first = static_cast<size_t>((page - 1) * kTimelinePage);
                for (size_t i = first; i < chosen.size() && i < first + kTimelinePage; ++i) {
                  const auto& e = *chosen[i];
                  list.push_back({{"at", e.at.ToRfc3339().substr(0, 16).replace(10, 1, " ")},
                                  {"kind", page_support::T(deps, ctx, page_support::Capitalised(e.kind))},
                                  {"text", e.text},
                                  {"link", e.link}});
                }
                d["has_entries"] = !list.empty();
                d["entries"] = std::move(list);
                d["shown"] = chosen.empty()
                                 ? page_support::T(deps, ctx, "Nothing you may see has happened yet.")
                                 : page_support::T(deps, ctx, "{first} to {last} of {total}",
                                                   {{"first", std::to_string(first + 1)},
                                                    {"last", std::to_string(std::min(chosen.size(), first + kTimelinePage))},
                                                    {"total", std::to_string(chosen.size())}});
                const std::string kind_query = kind.empty() ? "" : "kind=" + kind + "&";
                if (page > 1) d["previous_href"] = fmt::format("{}?{}page={}", base, kind_query, page - 1);
                if (page < pages) d["next_href"] = fmt::format("{}?{}page={}", base, kind_query, page + 1);
                d["has_pages"] = pages > 1;
                d["page_of"] = page_support::T(deps, ctx, "Page {page} of {pages}",
                                               {{"page", std::to_string(page)}, {"pages", std::to_string(pages)}});
                return Page(deps, 200, "client_timeline", d);
              }});

  AddHouseholdPages(router, deps);
  if (deps.reviews != nullptr) AddReviewPages(router, deps);
  if (deps.screenings != nullptr) AddScreeningPages(router, deps);
  if (deps.agreements != nullptr) AddAgreementPages(router, deps);
  AddBreakGlassPages(router, deps);
  AddAccountPages(router, deps);
  AddStaffPages(router, deps);
  AddTokenPages(router, deps);
  AddAuditPages(router, deps);
  AddConsentPages(router, deps);
  AddReferralPages(router, deps);
  AddCasePages(router, deps);
  AddApplicationPages(router, deps);
  AddWorkPages(router, deps);
  AddDirectoryPages(router, deps);
  AddInteractionPages(router, deps);
  AddQueuePages(router, deps);
  AddOfficePages(router, deps);
  AddMetricsPages(router, deps);
  AddOutcomePages(router, deps);
  AddDiagnosticPages(router, deps);
  AddPortalPages(router, deps);
  AddPortalApplyPages(router, deps);
  AddPortalAppointmentPages(router, deps);
  AddPortalOidcPages(router, deps);
  AddPortalLinkPages(router, deps);
  AddPortalConsentPages(router, deps);
}

}  // namespace

namespace {

std::string QueryMac(const Context& ctx, std::string_view name, std::string_view message) {
  static const std::string process_key = core::RandomToken(32);
  const std::string key = ctx.session_id.empty() ? process_key : "session:" + ctx.session_id;
  return core::HmacSha256Hex(key, std::string(name) + "\n" + std::string(message));
}

}  // namespace

std::string SignedQuery(const Context& ctx, std::string_view name, std::string_view message) {
  return fmt::format("{}={}&{}_sig={}", name, UrlEncode(std::string(message)), name, QueryMac(ctx, name, message));
}

std::string SignedQueryValue(const Context& ctx, std::string_view name) {
  const std::string message = ctx.request.Query(std::string(name));
  if (message.empty()) return "";
  const std::string mac = ctx.request.Query(std::string(name) + "_sig");
  return core::ConstantTimeEquals(mac, QueryMac(ctx, name, message)) ? message : "";
}

}  // namespace http
