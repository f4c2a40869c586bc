// Applications for staff: the parts the agency decides (/applications), applying once from a
// saved screening (POST /applications/new, the form on the screening's page), and one
// application with the decision form of each part the agency decides (/applications/{id}).

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "eligibility/decimal.h"
#include "eligibility/screening.h"
#include "http/json_body.h"
#include "http/page_support.h"
#include "http/request.h"
#include "http/typed_number.h"
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

// A part's state in words, in the request's language.
std::string StateLabel(const PageDeps& deps, const Context& ctx, const std::string& state) {
  if (state == "pending") return T(deps, ctx, "Pending");
  if (state == "approved") return T(deps, ctx, "Approved");
  if (state == "denied") return T(deps, ctx, "Denied");
  if (state == "more_information") return T(deps, ctx, "More information needed");
  return page_support::Capitalised(state);
}

std::string StateTag(const std::string& state) {
  if (state == "approved") return "govuk-tag--green";
  if (state == "denied") return "govuk-tag--red";
  if (state == "more_information") return "govuk-tag--yellow";
  return "govuk-tag--blue";
}

// What the screening said of a part's program, in words.
std::string ScreenedText(const PageDeps& deps, const Context& ctx, const std::string& screened) {
  if (screened == "eligible") return T(deps, ctx, "likely eligible");
  if (screened == "not_eligible") return T(deps, ctx, "not eligible");
  return T(deps, ctx, "not known");
}

// A service's message as a sentence on the page, in the request's language when the catalogue
// has it; never read as a pattern (it may carry a value with braces or quotes).
std::string Said(const PageDeps& deps, const Context& ctx, const std::string& message) {
  return page_support::Said(deps, ctx, page_support::Capitalised(message));
}

// One answer kept with an application, in words: yes or no, an amount as the results show it
// ("$1,234.50"), a number with the page's decimal mark, a choice as the form offers it.
std::string AnswerText(const PageDeps& deps, const Context& ctx, const eligibility::Symbol& s,
                       std::string value, std::string_view currency) {
  if (s.type == eligibility::Type::kBool) {
    return value == "true" ? T(deps, ctx, "Yes") : value == "false" ? T(deps, ctx, "No") : value;
  }
  if (s.type == eligibility::Type::kMoney) {
    // As the results show amounts: "$1,234.50".
    if (auto v = eligibility::decimal::Parse(value)) {
      return eligibility::FormatValue(deps.screenings->rules(), s.type, -1, *v, currency);
    }
    return std::string(currency) + value;
  }
  if (s.type == eligibility::Type::kNumber) {
    if (const char mark = DecimalMarkOf(page_support::LanguageOf(ctx)); mark != '.') {
      std::replace(value.begin(), value.end(), '.', mark);
    }
    return value;
  }
  if (s.type == eligibility::Type::kEnum) {
    std::replace(value.begin(), value.end(), '_', ' ');
    return T(deps, ctx, value);
  }
  return value;
}

// The screening's answers kept with the application (values and each member's), labelled as
// the screening form asks them, for the staff who decide its parts: no agency asks them again.
// Answers the rules no longer know are shown by their name.
void AddAnswers(const PageDeps& deps, const Context& ctx, json& d, const std::string& answers) {
  if (answers.empty() || deps.screenings == nullptr) return;
  const json in = json::parse(answers, nullptr, false);
  if (!in.is_object()) return;
  const eligibility::RuleSet& rules = deps.screenings->rules();
  const std::string_view currency = page_support::CurrencySymbolOf(rules);
  auto rows = [&](const json& values) {
    json out = json::array();
    if (!values.is_object()) return out;
    for (const auto& s : rules.symbols()) {
      auto it = values.find(s.name);
      if (it == values.end() || !it->is_string()) continue;
      out.push_back({{"label", T(deps, ctx, s.label)},
                     {"value", AnswerText(deps, ctx, s, it->get<std::string>(), currency)}});
    }
    for (const auto& [name, v] : values.items()) {
      if (rules.FindSymbol(name) < 0 && v.is_string())
        out.push_back({{"label", name}, {"value", v.get<std::string>()}});
    }
    return out;
  };
  json members = json::array();
  if (in.contains("members") && in["members"].is_array()) {
    int n = 0;
    for (const auto& m : in["members"]) {
      json r = rows(m);
      ++n;
      if (r.empty()) continue;
      members.push_back({{"legend", T(deps, ctx, "Person {n}", {{"n", std::to_string(n)}})},
                         {"rows", std::move(r)}});
    }
  }
  json household = rows(in.value("values", json::object()));
  d["has_answers"] = !household.empty() || !members.empty();
  d["has_household_answers"] = !household.empty();
  d["answers_household"] = std::move(household);
  d["answers_members"] = std::move(members);
}

json ViewData(const PageDeps& deps, const Context& ctx, const cases::Application& a) {
  json d = Common(deps, ctx, T(deps, ctx, "Application {id, number, ::group-off}", {{"id", std::to_string(a.id)}}),
                  "applications");
  const core::Date today = deps.applications->Today();
  d["id"] = a.id;
  d["applicant"] = a.applicant_name;
  d["applicant_href"] = fmt::format("/clients/{}", a.applicant.value);
  d["agency"] = a.agency_name;
  d["from_portal"] = a.FromPortal();
  d["made_by"] = a.made_by;
  d["created_at"] = deps.applications->LocalDay(a.created_at).ToString();
  d["screening_id"] = a.screening_id;
  // A link only where it opens: the agency deciding a part sees the answers here, not the
  // household's screening, which holds every member (and a refused read would be written into
  // each member's access log).
  if (deps.screenings != nullptr && deps.screenings->MayRead(ctx.Who(), a.screening_id)) {
    d["screening_href"] = fmt::format("/screenings/{}", a.screening_id);
  }
  AddAnswers(deps, ctx, d, a.answers);
  json parts = json::array();
  for (const auto& p : a.parts) {
    json decisions = json::array();
    auto decision = [&](const char* value, const char* label) {
      decisions.push_back({{"value", value}, {"label", T(deps, ctx, label)}, {"part", p.id}});
    };
    if (p.state == "pending") {
      decision("approve", "Approve");
      decision("deny", "Deny");
      decision("request_information", "Ask for more information");
    } else if (p.state == "more_information") {
      decision("information_received", "The information has come in");
      decision("approve", "Approve");
      decision("deny", "Deny");
    }
    // The part's own agency decides, or a joint team's member acting for it.
    bool for_agency = ctx.Who().agency == p.agency;
    if (!for_agency && !decisions.empty() && deps.work != nullptr) {
      auto acts = deps.work->ActsFor(ctx.Who(), p.agency);
      for_agency = acts.ok() && *acts;
    }
    const bool decidable = !decisions.empty() && for_agency && authz::HasCaseworkRole(ctx.Who());
    parts.push_back(
        {{"id", p.id},
         {"application_id", a.id},
         {"program", p.expedited
                         ? T(deps, ctx, "{program} (expedited)", {{"program", T(deps, ctx, p.program_name)}})
                         : T(deps, ctx, p.program_name)},
         {"agency", p.agency_name},
         {"screened", ScreenedText(deps, ctx, p.screened)},
         {"state", StateLabel(deps, ctx, p.state)},
         {"state_class", StateTag(p.state)},
         {"received", p.received.ToString()},
         {"due", p.due.ToString()},
         {"overdue", p.OverdueOn(today)},
         {"clock", p.clock},
         {"has_request", !p.request.empty() && p.state == "more_information"},
         {"request", p.request},
         {"has_answer", !p.answer.empty()},
         {"answered",
          p.answer.empty() ? "" : T(deps, ctx, "Asked: {request}", {{"request", p.request}})},
         {"answer", p.answer},
         {"answered_at",
          p.answered_at ? deps.applications->LocalDay(*p.answered_at).ToString() : ""},
         {"has_reason", !p.reason.empty()},
         {"reason", p.reason},
         {"has_decided", p.decided_at.has_value()},
         {"decided_at", p.decided_at ? deps.applications->LocalDay(*p.decided_at).ToString() : ""},
         {"decided_by", p.decided_by},
         {"version", p.version},
         {"decidable", decidable},
         {"decisions", std::move(decisions)}});
  }
  d["parts"] = std::move(parts);
  return d;
}

// Applying is for the roles that work with clients, deciding a part for casework roles
// (docs/staff.md); other roles are refused before the form is read.
std::optional<Response> Refused(const PageDeps& deps, const Context& ctx, bool deciding) {
  const auto& who = ctx.Who();
  if (deciding ? authz::HasCaseworkRole(who) : authz::HasClientRole(who)) return std::nullopt;
  return ErrorFor(deps, ctx,
                  core::Status::PermissionDenied(deciding ? "deciding is for caseworkers, specialists, coordinators and managers"
                                                          : "applications are made by staff who work with clients"));
}

}  // namespace

void AddApplicationPages(Router& router, const PageDeps& deps) {
  if (deps.applications == nullptr) return;
  router.Add({"GET", "/applications", Auth::kPage, "", [&deps](Context& ctx) {
                const std::string state = ctx.request.Query("state") == "all" ? "all" : "open";
                auto list = deps.applications->ToDecide(ctx.Who(), state);
                if (!list.ok()) return ErrorFor(deps, ctx, list.status());
                const core::Date today = deps.applications->Today();
                json d = Common(deps, ctx, "Applications to decide", "applications");
                d["state_open"] = state == "open";
                json items = json::array();
                for (const auto& a : *list) {
                  for (const auto& p : a.parts) {
                    items.push_back({{"application_id", a.id},
                                     {"applicant", a.applicant_name},
                                     {"program", T(deps, ctx, p.program_name)},
                                     {"expedited", p.expedited},
                                     {"received", p.received.ToString()},
                                     {"due", p.due.ToString()},
                                     {"overdue", p.OverdueOn(today)},
                                     {"state", StateLabel(deps, ctx, p.state)},
                                     {"state_class", StateTag(p.state)}});
                  }
                }
                d["has_items"] = !items.empty();
                d["items"] = std::move(items);
                return Render(deps, 200, "applications", d);
              }});

  router.Add({"POST", "/applications/new", Auth::kPage, "", [&deps](Context& ctx) {
                if (auto refused = Refused(deps, ctx, false)) return std::move(*refused);
                const auto form = ParseForm(ctx.request.body);
                cases::NewApplication n;
                auto screening = ParseId(FormValue(form, "screening_id"), "screening_id");
                if (!screening.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("the form names no screening"));
                n.screening_id = *screening;
                if (auto applicant = ParseId(FormValue(form, "applicant_id"), "applicant_id"); applicant.ok()) {
                  n.applicant = core::PersonId{*applicant};
                }
                for (auto [it, end] = form.equal_range("programs"); it != end; ++it) n.programs.push_back(it->second);
                for (auto [it, end] = form.equal_range("expedited"); it != end; ++it) n.expedited.push_back(it->second);
                auto made = deps.applications->Apply(ctx.Who(), n);
                if (made.ok()) return Response::Redirect(fmt::format("/applications/{}?made=1", made->id));
                if (made.status().code() != core::StatusCode::kInvalidArgument) return ErrorFor(deps, ctx, made.status());
                // Back to the screening's page with what was wrong; nothing was saved.
                // Each in the person's language, as a sentence; after the first, with a small letter.
                std::string messages;
                for (const auto& e : made.status().fields()) {
                  std::string m = Said(deps, ctx, e.message);
                  if (!messages.empty()) {
                    if (m == page_support::Capitalised(e.message)) {
                      m = e.message;  // not translated: as the service wrote it
                    } else if (!m.empty() && std::isupper(static_cast<unsigned char>(m[0]))) {
                      m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
                    }
                  }
                  messages += (messages.empty() ? "" : "; ") + m;
                }
                if (messages.empty()) messages = Said(deps, ctx, made.status().message());
                // What was chosen comes back chosen: the programs ticked, expedited service, the
                // applicant.
                std::string chosen = "&chosen=1";
                for (const auto& p : n.programs) chosen += "&programs=" + UrlEncode(p);
                for (const auto& p : n.expedited) chosen += "&expedited=" + UrlEncode(p);
                if (n.applicant.valid())
                  chosen += fmt::format("&applicant_id={}", n.applicant.value);
                return Response::Redirect(fmt::format("/screenings/{}?{}{}#apply", n.screening_id,
                                                      SignedQuery(ctx, "apply_error", messages),
                                                      chosen));
              }});

  router.Add({"GET", "/applications/{id}", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                auto a = deps.applications->Get(ctx.Who(), *id);
                if (!a.ok()) return ErrorFor(deps, ctx, a.status());
                json d = ViewData(deps, ctx, *a);
                if (ctx.request.Query("made") == "1") d["flash"] = T(deps, ctx, "Application made");
                if (ctx.request.Query("decided") == "1") d["flash"] = T(deps, ctx, "Decision saved");
                return Render(deps, 200, "application_view", d);
              }});

  router.Add({"POST", "/applications/{id}", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                if (auto refused = Refused(deps, ctx, true)) return std::move(*refused);
                const auto form = ParseForm(ctx.request.body);
                auto part = ParseId(FormValue(form, "part"), "part");
                if (!part.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("the form names no part; reload the page"));
                int64_t version = 0;
                try {
                  version = std::stoll(FormValue(form, "version"));
                } catch (const std::exception&) {
                  return ErrorFor(deps, ctx, core::Status::NotFound("the form is missing the version; reload the page"));
                }
                auto decision = cases::ParsePartDecision(FormValue(form, "decision"));
                core::Status failed = core::Status::InvalidArgument("choose a decision", {{"decision", "choose a decision"}});
                if (decision.ok()) {
                  auto done = deps.applications->Decide(ctx.Who(), *part, *decision, version,
                                                        Trim(FormValue(form, "note")), *id);
                  if (done.ok()) return Response::Redirect(fmt::format("/applications/{}?decided=1", *id));
                  failed = done.status();
                }
                const auto code = failed.code();
                if (code != core::StatusCode::kInvalidArgument && code != core::StatusCode::kFailedPrecondition &&
                    code != core::StatusCode::kAborted) {
                  return ErrorFor(deps, ctx, failed);
                }
                auto a = deps.applications->Get(ctx.Who(), *id);
                if (!a.ok()) return ErrorFor(deps, ctx, a.status());
                json d = ViewData(deps, ctx, *a);
                json errors = json::array();
                const std::string anchor = fmt::format("#note-{}", *part);
                if (failed.fields().empty()) {
                  errors.push_back({{"message", Said(deps, ctx, failed.message())}, {"href", anchor}});
                }
                for (const auto& e : failed.fields()) {
                  errors.push_back({{"message", Said(deps, ctx, e.message)},
                                    {"href", e.field == "decision" ? fmt::format("#decision-{}-approve", *part) : anchor}});
                }
                // The form comes back as it was sent, each mistake beside its field.
                const std::string chosen = FormValue(form, "decision");
                for (auto& p : d["parts"]) {
                  if (p.value("id", int64_t{0}) != *part) continue;
                  p["f_note"] = FormValue(form, "note");
                  for (auto& option : p["decisions"]) option["checked"] = option.value("value", "") == chosen;
                  for (const auto& e : failed.fields()) {
                    p[e.field == "decision" ? "e_decision" : "e_note"] = Said(deps, ctx, e.message);
                  }
                }
                d["has_errors"] = true;
                d["errors"] = std::move(errors);
                return Render(deps, code == core::StatusCode::kInvalidArgument ? 400 : 409, "application_view", d);
              }});
}

}  // namespace http
