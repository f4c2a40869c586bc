// Linking a portal account by matching, with review: /portal/find-my-record (the person gives
// their name, date of birth and address), /portal-links (staff: the requests waiting) and
// /portal-links/{id} (staff: the likely records, gated and audited, then link or decline).

#include <fmt/format.h>

#include <algorithm>

#include "http/dispatcher.h"
#include "http/json_body.h"
#include "http/page_support.h"
#include "http/typed_number.h"
#include "identity/match_service.h"
#include "portal/portal_service.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;
using page_support::T;
using page_support::Trim;

constexpr char kDefaultDecline[] =
    "The details you gave did not match one record closely enough.";

// The form's mistakes in the page's language; a date's mistake points at its day box.
void Errors(const PageDeps& deps, const Context& ctx, json& d, const std::vector<core::FieldError>& errors) {
  for (const auto& e : errors) {
    const std::string m = T(deps, ctx, page_support::Capitalised(e.message));
    d["e_" + e.field] = m;
    d["errors"].push_back({{"message", m}, {"href", e.field == "birth_date" ? "#dob_day" : "#" + e.field}});
    d["has_errors"] = true;
  }
}

// "1985-03-27" from the three boxes; the boxes as typed when they are not a date.
std::string BirthDate(const std::multimap<std::string, std::string>& form) {
  const std::string day = AsciiDigits(Trim(FormValue(form, "dob_day")));
  const std::string month = AsciiDigits(Trim(FormValue(form, "dob_month")));
  const std::string year = AsciiDigits(Trim(FormValue(form, "dob_year")));
  if (day.empty() && month.empty() && year.empty()) return "";
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() <= 4 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(day) || !digits(month) || !digits(year) || year.size() != 4) return day + "/" + month + "/" + year;
  return fmt::format("{}-{:02}-{:02}", year, std::stoi(month), std::stoi(day));
}

std::string ShownDate(const Context& ctx, const std::string& iso) {
  auto date = core::Date::Parse(iso);
  return date.ok() ? page_support::DateText(ctx, *date) : iso;
}

// The person the request describes, as the matcher takes it.
registry::Person Probe(const portal::LinkRequest& r) {
  registry::Person p;
  p.names = {{"official", r.said.given, r.said.family}};
  if (auto b = core::PartialDate::Parse(r.said.birth_date); b.ok()) p.birth_date = *b;
  if (!r.said.postcode.empty() || !r.said.address.empty()) {
    registry::Address a;
    a.line1 = r.said.address;
    a.postcode = r.said.postcode;
    p.addresses.push_back(a);
  }
  return p;
}

}  // namespace

void AddPortalLinkPages(Router& router, const PageDeps& deps) {
  if (deps.portal == nullptr) return;

  auto find_page = [&deps](Context& ctx, int status, const std::multimap<std::string, std::string>& form,
                           const std::vector<core::FieldError>& errors) {
    json d = Common(deps, ctx, "Ask us to find your record", "portal");
    for (const char* f : {"given", "family", "dob_day", "dob_month", "dob_year", "postcode", "address"}) {
      d[std::string("f_") + f] = FormValue(form, f);
    }
    Errors(deps, ctx, d, errors);
    return Render(deps, status, "portal_find_record", d);
  };
  router.Add({"GET", "/portal/find-my-record", Auth::kPage, "", [&deps, find_page](Context& ctx) {
                auto me = deps.portal->Me(ctx.Who());
                if (!me.ok()) return ErrorFor(deps, ctx, me.status());
                if (me->person || ctx.Who().representation != 0) return Response::Redirect("/portal");
                return find_page(ctx, 200, {}, {});
              }});
  router.Add({"POST", "/portal/find-my-record", Auth::kPage, "", [&deps, find_page](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                if (ctx.Who().representation != 0) {
                  return ErrorFor(deps, ctx,
                                  core::Status::PermissionDenied(
                                      "only the person themself may do this, not their representative"));
                }
                portal::LinkRequestInput in{FormValue(form, "given"), FormValue(form, "family"), BirthDate(form),
                                            FormValue(form, "postcode"), FormValue(form, "address")};
                auto made = deps.portal->RequestLink(ctx.Who(), in, page_support::LanguageOf(ctx));
                if (made.status().code() == core::StatusCode::kInvalidArgument) {
                  return find_page(ctx, 400, form, made.status().fields());
                }
                if (made.status().code() == core::StatusCode::kFailedPrecondition) {
                  return find_page(ctx, 409, form, {{"given", made.status().message()}});
                }
                if (!made.ok()) return ErrorFor(deps, ctx, made.status());
                return Response::Redirect("/portal?asked=1");
              }});

  router.Add({"GET", "/portal-links", Auth::kPage, "", [&deps](Context& ctx) {
                auto waiting = deps.portal->WaitingLinkRequests(ctx.Who());
                if (!waiting.ok()) return ErrorFor(deps, ctx, waiting.status());
                json d = Common(deps, ctx, "Portal accounts to link", "clients");
                json rows = json::array();
                for (const auto& r : *waiting) {
                  rows.push_back({{"review_href", fmt::format("/portal-links/{}", r.id)},
                                  {"said_name", r.said.given + " " + r.said.family},
                                  {"said_birth", ShownDate(ctx, r.said.birth_date)},
                                  {"asked_on", page_support::DateText(ctx, core::Date::FromDays(
                                                                               r.created_at.micros / 86'400'000'000LL))}});
                }
                d["has_requests"] = !rows.empty();
                d["requests"] = std::move(rows);
                if (ctx.request.Query("linked") == "1") d["flash"] = T(deps, ctx, "The account is linked");
                if (ctx.request.Query("declined") == "1") d["flash"] = T(deps, ctx, "The person is told why");
                return Render(deps, 200, "portal_links", d);
              }});

  // The review: what the person said, and the likely records (each shown is a read of that
  // record, gated and audited as on registering).
  auto review_page = [&deps](Context& ctx, int status, const portal::LinkRequest& r, const std::string& choice,
                             const std::string& reason, const std::vector<core::FieldError>& errors) {
    json d = Common(deps, ctx, "Link a portal account", "clients");
    d["request_id"] = std::to_string(r.id);
    d["decide_action"] = fmt::format("/portal-links/{}", r.id);
    d["said_given"] = r.said.given;
    d["said_family"] = r.said.family;
    d["said_birth"] = ShownDate(ctx, r.said.birth_date);
    d["said_postcode"] = r.said.postcode;
    d["said_address"] = r.said.address;
    d["has_said_address"] = !r.said.postcode.empty() || !r.said.address.empty();
    d["account_name"] = r.account_name;
    d["account_email"] = r.account_email;
    d["waiting"] = r.state == "waiting";
    // The reason reaches the person, in the language they asked in: the sentence offered is in
    // theirs, and the page says which it is.
    d["f_reason"] =
        reason.empty() ? deps.templates.messages().Format(r.lang, kDefaultDecline, {}) : reason;
    const char* language = r.lang == "es" ? "Spanish" : r.lang == "ar" ? "Arabic" : "English";
    d["person_language"] = T(deps, ctx, language);
    d["none_checked"] = choice == "none";
    json candidates = json::array();
    if (r.state == "waiting" && deps.match != nullptr) {
      auto found = deps.match->Match(ctx.Who(), Probe(r), 5);
      if (!found.ok() && found.status().code() != core::StatusCode::kPermissionDenied) {
        return ErrorFor(deps, ctx, found.status());
      }
      if (found.ok()) {
        for (const auto& c : *found) {
          const std::string id = std::to_string(c.person.value);
          std::string birth = c.birth_date;
          if (auto b = core::PartialDate::Parse(c.birth_date); b.ok()) {
            birth = b->complete() ? page_support::DateText(ctx, core::Date{b->year, b->month, b->day}) : b->ToDisplay();
          }
          candidates.push_back({{"candidate_id", id},
                                {"candidate_name", c.name},
                                {"candidate_birth", birth},
                                {"candidate_href", "/clients/" + id},
                                {"likelihood", fmt::format("{:.0f}%", c.probability * 100)},
                                {"checked", choice == id}});
        }
      }
    }
    d["has_candidates"] = !candidates.empty();
    d["candidates"] = std::move(candidates);
    if (!r.decided_by.empty()) d["decided_by"] = r.decided_by;
    d["is_linked"] = r.state == "linked";
    d["is_declined"] = r.state == "declined";
    d["decided_reason"] = r.reason;
    Errors(deps, ctx, d, errors);
    return Render(deps, status, "portal_link_review", d);
  };
  router.Add({"GET", "/portal-links/{id}", Auth::kPage, "", [&deps, review_page](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such request"));
                auto r = deps.portal->GetLinkRequest(ctx.Who(), *id);
                if (!r.ok()) return ErrorFor(deps, ctx, r.status());
                return review_page(ctx, 200, *r, "", "", {});
              }});
  router.Add({"POST", "/portal-links/{id}", Auth::kPage, "", [&deps, review_page](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such request"));
                auto r = deps.portal->GetLinkRequest(ctx.Who(), *id);
                if (!r.ok()) return ErrorFor(deps, ctx, r.status());
                const auto form = ParseForm(ctx.request.body);
                const std::string choice = FormValue(form, "choice");
                const std::string reason = FormValue(form, "reason");
                if (choice.empty()) {
                  return review_page(ctx, 400, *r, choice, reason,
                                     {{"choice", "choose the person's record, or none of these"}});
                }
                std::optional<core::PersonId> person;
                if (choice != "none") {
                  // Only a record the match offers for these details: a typed id links nothing.
                  auto found = deps.match != nullptr ? deps.match->Match(ctx.Who(), Probe(*r), 5)
                                                     : core::StatusOr<std::vector<identity::MatchCandidate>>(
                                                           std::vector<identity::MatchCandidate>{});
                  if (!found.ok()) return ErrorFor(deps, ctx, found.status());
                  for (const auto& c : *found) {
                    if (std::to_string(c.person.value) == choice) person = c.person;
                  }
                  if (!person) {
                    return review_page(ctx, 400, *r, "", reason,
                                       {{"choice", "that record is not among those that match the person's details"}});
                  }
                }
                core::Status s = deps.portal->DecideLinkRequest(ctx.Who(), *id, person, reason);
                if (s.code() == core::StatusCode::kInvalidArgument) return review_page(ctx, 400, *r, choice, reason, s.fields());
                if (s.code() == core::StatusCode::kFailedPrecondition) {
                  return review_page(ctx, 409, *r, choice, reason, {{"choice", s.message()}});
                }
                if (!s.ok()) return ErrorFor(deps, ctx, s);
                return Response::Redirect(person ? "/portal-links?linked=1" : "/portal-links?declined=1");
              }});
}

}  // namespace http
