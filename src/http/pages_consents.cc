// The printable consent receipt: what the person agreed to, with whom, for what, on what legal
// basis, for how long, how to withdraw it, and every event since. The same content as
// GET /api/v1/consents/{id}/receipt, read through the same gate and audited as consent.receipt.

#include <fmt/format.h>

#include "http/api_consents.h"
#include "http/json_body.h"
#include "http/page_support.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::Render;

std::string DateText(const json& iso) {
  if (!iso.is_string()) return "No end date";
  auto d = core::Date::Parse(iso.get<std::string>());
  if (!d.ok()) return iso.get<std::string>();
  return core::PartialDate{d->year, d->month, d->day}.ToDisplay();
}

}  // namespace

void AddConsentPages(Router& router, const PageDeps& deps) {
  if (deps.consents == nullptr) return;
  router.Add({"GET", "/consents/{id}/receipt", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                auto c = deps.consents->Get(ctx.Who(), *id, "consent.receipt");
                if (!c.ok()) return ErrorFor(deps, ctx, c.status());
                const json r = ConsentReceiptJson(*c, deps.consents->categories(), deps.consents->Today(),
                                                  deps.consents->Now());
                json d = Common(deps, ctx, fmt::format("Consent receipt {}", r["receipt_id"].get<std::string>()),
                                "clients");
                d["receipt_id"] = r["receipt_id"];
                d["issued_at"] = r["issued_at"].get<std::string>().substr(0, 16);
                d["person_href"] = fmt::format("/clients/{}", c->person.value);
                d["person_id"] = c->person.value;
                const json& controller = r["controller"];
                d["receiver"] = controller.contains("name") ? controller["name"].get<std::string>()
                                                             : "Any " + controller["kind"].get<std::string>() +
                                                                   " agency of the consortium";
                json cats = json::array();
                for (const auto& x : r["data_categories"]) cats.push_back({{"label", x["label"]}});
                d["categories"] = std::move(cats);
                d["scope"] = r["scope"] == "full" ? "Full: every category that may be shared" : "Partial: the categories listed";
                d["purpose"] = r["purpose_label"];
                d["legal_basis"] = r["legal_basis"];
                d["valid_from"] = DateText(r["valid_from"]);
                d["valid_to"] = DateText(r["valid_to"]);
                d["how_to_withdraw"] = r["how_to_withdraw"];
                d["evidence"] = r["evidence"]["type"] == "signed_form"
                                    ? "Signed form " + r["evidence"]["document_ref"].get<std::string>()
                                    : std::string("Given by the person themself");
                d["recorded_by"] = r["recorded_by"];
                d["state"] = r["state"];
                json events = json::array();
                for (const auto& e : r["events"]) {
                  events.push_back({{"event", e["event"]},
                                    {"at", e["at"].get<std::string>().substr(0, 16)},
                                    {"actor", e["actor"]},
                                    {"reason", e["reason"]}});
                }
                d["events"] = std::move(events);
                d["json_href"] = fmt::format("/api/v1/consents/{}/receipt", *id);
                return Render(deps, 200, "consent_receipt", d);
              }});
}

}  // namespace http
