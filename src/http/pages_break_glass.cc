// The review queue of emergency accesses (break-glass) for managers, auditors and governance
// users: each access waiting with who used it, when, on whose record and why, and a form to
// record the review. Calls sharing::BreakGlassService.

#include <fmt/format.h>

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

// `error` is about `field` ("outcome" or "note") of the review form of `error_id`, which comes
// back with the `outcome` and `note` that were sent.
Response QueuePage(const PageDeps& deps, Context& ctx, int status, const std::string& flash,
                   std::optional<int64_t> error_id, const std::string& error, const std::string& field = "outcome",
                   const std::string& outcome = "", const std::string& note = "") {
  auto pending = deps.glass->List(ctx.Who(), {.state = sharing::GlassState::kPending, .limit = 200});
  if (!pending.ok()) return ErrorFor(deps, ctx, pending.status());
  json d = Common(deps, ctx, "Emergency accesses", "break-glass");
  json items = json::array();
  for (const auto& g : *pending) {
    json item = {{"id", g.id},
                 {"at", g.at.ToRfc3339().substr(0, 16)},
                 {"actor", g.actor},
                 {"agency", g.agency_name},
                 {"person_href", fmt::format("/clients/{}", g.person.value)},
                 {"person_id", g.person.value},
                 {"action", g.action},
                 {"justification", g.justification},
                 {"review_href", fmt::format("/break-glass/{}/review", g.id)},
                 // Nobody reviews their own: the form is not offered for it.
                 {"own", g.user != 0 && g.user == ctx.Who().user.value}};
    if (error_id && *error_id == g.id) {
      item[field == "note" ? "e_note" : "error"] = error;
      item["justified_checked"] = outcome == "justified";
      item["not_justified_checked"] = outcome == "not_justified";
      item["f_note"] = note;
    }
    items.push_back(std::move(item));
  }
  d["has_items"] = !items.empty();
  d["items"] = std::move(items);
  if (!flash.empty()) d["flash"] = flash;
  if (error_id) {
    d["has_errors"] = true;
    const std::string href = (field == "note" ? "#note-" : "#outcome-") + std::to_string(*error_id);
    d["errors"] = json::array({{{"message", error}, {"href", href}}});
  }
  return Render(deps, status, "break_glass", d);
}

}  // namespace

void AddBreakGlassPages(Router& router, const PageDeps& deps) {
  if (deps.glass == nullptr) return;
  router.Add({"GET", "/break-glass", Auth::kPage, "", [&deps](Context& ctx) {
                const std::string done = ctx.request.Query("reviewed");
                return QueuePage(deps, ctx, 200, done.empty() ? "" : T(deps, ctx, "Review recorded"), std::nullopt, "");
              }});

  router.Add({"POST", "/break-glass/{id}/review", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                const auto form = ParseForm(ctx.request.body);
                const std::string outcome = FormValue(form, "outcome");
                const std::string note = Trim(FormValue(form, "note"));
                auto state = sharing::ParseGlassState(outcome);
                if (!state.ok() || *state == sharing::GlassState::kPending) {
                  return QueuePage(deps, ctx, 400, "", *id, T(deps, ctx, "Choose whether the access was justified"),
                                   "outcome", outcome, FormValue(form, "note"));
                }
                auto done = deps.glass->Review(ctx.Who(), *id, *state, note);
                if (done.status().code() == core::StatusCode::kInvalidArgument) {
                  const auto& f = done.status().fields();
                  // A whole English sentence ("Say why the access was not justified", "The note must
                  // be at most 1000 characters"), translated when the catalogue has it; never read
                  // as a pattern.
                  std::string message = f.empty() ? done.status().message() : f.front().message;
                  message = message.rfind("must be", 0) == 0 ? "The note " + message : page_support::Capitalised(message);
                  return QueuePage(deps, ctx, 400, "", *id, page_support::Said(deps, ctx, message),
                                   f.empty() || f.front().field != "note" ? "outcome" : "note", outcome,
                                   FormValue(form, "note"));
                }
                if (!done.ok()) return ErrorFor(deps, ctx, done.status());
                return Response::Redirect("/break-glass?reviewed=1");
              }});
}

}  // namespace http
