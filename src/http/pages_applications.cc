// Applications for staff: the parts the agency decides (/applications), applying once from a
// saved screening (POST /applications/new, the form on the screening's page), and one
// application with the decision form of each part the agency decides (/applications/{id}).

#include <fmt/format.h>

#include <algorithm>

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
using page_support::Trim;

std::string StateLabel(const std::string& state) {
  if (state == "more_information") return "More information needed";
  std::string s = state;
  s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string StateTag(const std::string& state) {
  if (state == "approved") return "govuk-tag--green";
  if (state == "denied") return "govuk-tag--red";
  if (state == "more_information") return "govuk-tag--yellow";
  return "govuk-tag--blue";
}

std::string Capitalised(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

json ViewData(const PageDeps& deps, const Context& ctx, const cases::Application& a) {
  json d = Common(deps, ctx, fmt::format("Application {}", a.id), "applications");
  const core::Date today = deps.applications->Today();
  d["id"] = a.id;
  d["applicant"] = a.applicant_name;
  d["applicant_href"] = fmt::format("/clients/{}", a.applicant.value);
  d["agency"] = a.agency_name;
  d["from_portal"] = a.FromPortal();
  d["made_by"] = a.made_by;
  d["created_at"] = a.created_at.ToRfc3339().substr(0, 10);
  d["screening_id"] = a.screening_id;
  json parts = json::array();
  for (const auto& p : a.parts) {
    json decisions = json::array();
    if (p.state == "pending") {
      decisions.push_back({{"value", "approve"}, {"label", "Approve"}, {"part", p.id}});
      decisions.push_back({{"value", "deny"}, {"label", "Deny"}, {"part", p.id}});
      decisions.push_back({{"value", "request_information"}, {"label", "Ask for more information"}, {"part", p.id}});
    } else if (p.state == "more_information") {
      decisions.push_back({{"value", "information_received"}, {"label", "The information has come in"}, {"part", p.id}});
      decisions.push_back({{"value", "approve"}, {"label", "Approve"}, {"part", p.id}});
      decisions.push_back({{"value", "deny"}, {"label", "Deny"}, {"part", p.id}});
    }
    // The part's own agency decides, or a joint team's member acting for it.
    bool for_agency = ctx.Who().agency == p.agency;
    if (!for_agency && !decisions.empty() && deps.work != nullptr) {
      auto acts = deps.work->ActsFor(ctx.Who(), p.agency);
      for_agency = acts.ok() && *acts;
    }
    const bool decidable = !decisions.empty() && for_agency && authz::HasCaseworkRole(ctx.Who());
    parts.push_back({{"id", p.id},
                     {"application_id", a.id},
                     {"program", p.program_name + (p.expedited ? " (expedited)" : "")},
                     {"agency", p.agency_name},
                     {"screened", p.screened == "eligible" ? "likely eligible"
                                  : p.screened == "not_eligible" ? "not eligible" : "not known"},
                     {"state", StateLabel(p.state)},
                     {"state_class", StateTag(p.state)},
                     {"received", p.received.ToString()},
                     {"due", p.due.ToString()},
                     {"overdue", p.OverdueOn(today)},
                     {"clock", p.clock},
                     {"has_request", !p.request.empty() && p.state == "more_information"},
                     {"request", p.request},
                     {"has_answer", !p.answer.empty()},
                     {"answered", p.answer.empty() ? "" : "Asked: " + p.request},
                     {"answer", p.answer},
                     {"answered_at", p.answered_at ? p.answered_at->ToRfc3339().substr(0, 10) : ""},
                     {"has_reason", !p.reason.empty()},
                     {"reason", p.reason},
                     {"has_decided", p.decided_at.has_value()},
                     {"decided_at", p.decided_at ? p.decided_at->ToRfc3339().substr(0, 10) : ""},
                     {"decided_by", p.decided_by},
                     {"version", p.version},
                     {"decidable", decidable},
                     {"decisions", std::move(decisions)}});
  }
  d["parts"] = std::move(parts);
  return d;
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
                                     {"program", p.program_name},
                                     {"expedited", p.expedited},
                                     {"received", p.received.ToString()},
                                     {"due", p.due.ToString()},
                                     {"overdue", p.OverdueOn(today)},
                                     {"state", StateLabel(p.state)},
                                     {"state_class", StateTag(p.state)}});
                  }
                }
                d["has_items"] = !items.empty();
                d["items"] = std::move(items);
                return Render(deps, 200, "applications", d);
              }});

  router.Add({"POST", "/applications/new", Auth::kPage, "", [&deps](Context& ctx) {
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
                std::string messages;
                for (const auto& e : made.status().fields()) messages += (messages.empty() ? "" : "; ") + e.message;
                messages[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(messages[0])));
                return Response::Redirect(fmt::format("/screenings/{}?apply_error={}#apply", n.screening_id,
                                                      UrlEncode(messages)));
              }});

  router.Add({"GET", "/applications/{id}", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                auto a = deps.applications->Get(ctx.Who(), *id);
                if (!a.ok()) return ErrorFor(deps, ctx, a.status());
                json d = ViewData(deps, ctx, *a);
                if (ctx.request.Query("made") == "1") d["flash"] = "Application made";
                if (ctx.request.Query("decided") == "1") d["flash"] = "Decision saved";
                return Render(deps, 200, "application_view", d);
              }});

  router.Add({"POST", "/applications/{id}", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
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
                  auto done = deps.applications->Decide(ctx.Who(), *part, *decision, version, Trim(FormValue(form, "note")));
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
                if (failed.fields().empty()) errors.push_back({{"message", Capitalised(failed.message())}, {"href", anchor}});
                for (const auto& e : failed.fields()) {
                  errors.push_back({{"message", Capitalised(e.message)},
                                    {"href", e.field == "decision" ? fmt::format("#decision-{}-approve", *part) : anchor}});
                }
                d["has_errors"] = true;
                d["errors"] = std::move(errors);
                return Render(deps, code == core::StatusCode::kInvalidArgument ? 400 : 409, "application_view", d);
              }});
}

}  // namespace http
