// The audit log for an agency's auditors (/audit): what the agency's staff and systems did,
// searched by who, what, about whom, when, and refused only; a page at a time, or downloaded as
// CSV. Calls audit::AuditSearch, which records each search in the log.

#include <fmt/format.h>

#include "audit/audit_search.h"
#include "core/utf8.h"
#include "frontoffice/office_hours.h"
#include "http/json_body.h"
#include "http/page_support.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::Render;
using page_support::T;
using page_support::Trim;

// The filters as the page sends them, read into a query; the mistakes by field.
struct Filters {
  audit::Query query;
  std::map<std::string, std::string> typed;  // as typed, to show again
  std::vector<core::FieldError> errors;
};

Filters ReadFilters(const PageDeps& deps, const Context& ctx) {
  Filters f;
  for (const char* key : {"actor", "action", "person", "from", "to", "refused"}) {
    f.typed[key] = Trim(ctx.request.Query(key));
  }
  f.query.actor = f.typed["actor"];
  if (core::Utf8Length(f.query.actor) > 200)
    f.errors.push_back({"actor", "Enter at most 200 characters"});
  const std::string& action = f.typed["action"];
  if (action.empty()) {
  } else if (action.size() > 100 ||
             action.find_first_not_of("abcdefghijklmnopqrstuvwxyz_.") != std::string::npos ||
             action.front() == '.' || action.back() == '.') {
    f.errors.push_back(
        {"action",
         "Enter an action in lower case, like person.read, or its first word, like person"});
  } else {
    f.query.action = action;
  }
  if (!f.typed["person"].empty()) {
    auto id = ParseId(f.typed["person"], "person");
    if (id.ok()) {
      f.query.person = core::PersonId{*id};
    } else {
      f.errors.push_back({"person", "Enter the client's record number, like 1042"});
    }
  }
  f.query.refused_only = f.typed["refused"] == "1";
  const std::string zone = deps.office_hours != nullptr ? deps.office_hours->default_zone() : "UTC";
  for (const char* key : {"from", "to"}) {
    const std::string& text = f.typed[key];
    if (text.empty()) continue;
    auto date = core::Date::Parse(text);
    auto at = date.ok() ? frontoffice::FromLocal(*date, 0, zone)
                        : core::StatusOr<core::Timestamp>(date.status());
    if (!at.ok()) {
      f.errors.push_back({key, "Enter a date like 2026-11-01"});
    } else if (std::string_view(key) == "from") {
      f.query.from = *at;
    } else {
      // Up to the end of that day.
      auto next = frontoffice::FromLocal(core::Date::FromDays(date->ToDays() + 1), 0, zone);
      if (next.ok()) f.query.to = *next;
    }
  }
  if (f.query.from && f.query.to && f.query.to->micros <= f.query.from->micros) {
    f.errors.push_back({"to", "The end date must not be before the start date"});
  }
  if (const std::string before = ctx.request.Query("before"); !before.empty()) {
    auto seq = ParseId(before, "before");
    if (seq.ok()) f.query.before_seq = *seq;
  }
  return f;
}

// The filters in a query string, for the next page and the download.
std::string FilterQuery(const Filters& f) {
  std::string out;
  for (const auto& [key, value] : f.typed) {
    if (!value.empty())
      out += fmt::format("{}{}={}", out.empty() ? "" : "&", key, UrlEncode(value));
  }
  return out;
}

std::string CsvField(const std::string& v) {
  // Quoted; a leading =, +, - or @ is made text, so that a spreadsheet does not run it.
  std::string out = "\"";
  if (!v.empty() && std::string_view("=+-@").find(v.front()) != std::string_view::npos) out += '\'';
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

void AddAuditPages(Router& router, const PageDeps& deps) {
  if (deps.audit_search == nullptr) return;

  router.Add(
      {"GET", "/audit", Auth::kPage, "", [&deps](Context& ctx) {
         Filters f = ReadFilters(deps, ctx);
         json d = Common(deps, ctx, T(deps, ctx, "Audit log"), "audit");
         for (const auto& [key, value] : f.typed) d["f_" + key] = value;
         d["refused_checked"] = f.query.refused_only;
         auto agency = deps.accounts.GetAgency(ctx.Who().agency);
         d["agency"] = agency.ok() ? agency->name : std::string();
         if (!f.errors.empty()) {
           json errors = json::array();
           for (const auto& e : f.errors) {
             const std::string m = page_support::Said(deps, ctx, e.message);
             d["e_" + e.field] = m;
             errors.push_back({{"message", m}, {"href", "#" + e.field}});
           }
           d["has_errors"] = true;
           d["errors"] = std::move(errors);
           // Refused before anything is read: the form comes back with its mistakes.
           if (!ctx.Who().HasRole(authz::Role::kAuditor)) {
             return ErrorFor(deps, ctx,
                             core::Status::PermissionDenied("only auditors search the audit log"));
           }
           return Render(deps, 400, "audit_log", d);
         }
         constexpr int kPage = 50;
         f.query.limit = kPage + 1;  // one more tells whether there is an older page
         auto found = deps.audit_search->Search(ctx.Who(), f.query);
         if (!found.ok()) return ErrorFor(deps, ctx, found.status());
         const bool more = static_cast<int>(found->size()) > kPage;
         if (more) found->pop_back();
         json rows = json::array();
         for (const audit::Record& r : *found) {
           std::string record = r.entry.record_type;
           if (!r.entry.record_id.empty()) record += " " + r.entry.record_id;
           rows.push_back({{"at", page_support::RegionTime(deps, r.at)},
                           {"actor", r.actor},
                           {"roles", r.roles},
                           // Why they worked, as they stated it when they signed in.
                           {"purpose",
                            [&] {
                              auto purpose = authz::ParsePurpose(r.purpose);
                              return purpose.ok() ? page_support::T(
                                                        deps, ctx,
                                                        std::string(authz::PurposeLabel(*purpose)))
                                                  : r.purpose;
                            }()},
                           {"action", r.entry.action},
                           {"record", record},
                           {"person", r.entry.person ? std::to_string(r.entry.person->value) : ""},
                           {"allowed", r.entry.allowed},
                           {"reason", r.entry.reason},
                           {"address", r.client_address},
                           {"request_id", r.request_id}});
         }
         d["has_rows"] = !rows.empty();
         d["rows"] = std::move(rows);
         std::string query = FilterQuery(f);
         if (more) {
           d["older_href"] = fmt::format("/audit?{}{}before={}", query, query.empty() ? "" : "&",
                                         found->back().seq);
         }
         d["export_href"] = "/audit/export.csv" + (query.empty() ? "" : "?" + query);
         return Render(deps, 200, "audit_log", d);
       }});

  router.Add(
      {"GET", "/audit/export.csv", Auth::kPage, "", [&deps](Context& ctx) {
         Filters f = ReadFilters(deps, ctx);
         if (!f.errors.empty()) {
           return ErrorFor(deps, ctx,
                           core::Status::InvalidArgument(
                               "The search is not valid: go back to the audit log and correct it"));
         }
         f.query.limit = audit::AuditSearch::kMaxExport;
         auto found = deps.audit_search->Search(ctx.Who(), f.query, "audit.export");
         if (!found.ok()) return ErrorFor(deps, ctx, found.status());
         std::string csv =
             "seq,at,actor,roles,purpose,action,record_type,record_id,person_id,allowed,reason,"
             "client_address,request_id\r\n";
         for (const audit::Record& r : *found) {
           csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n", r.seq, r.at.ToRfc3339(),
                              CsvField(r.actor), CsvField(r.roles), CsvField(r.purpose),
                              CsvField(r.entry.action), CsvField(r.entry.record_type),
                              CsvField(r.entry.record_id),
                              r.entry.person ? std::to_string(r.entry.person->value) : "",
                              r.entry.allowed ? "yes" : "no", CsvField(r.entry.reason),
                              CsvField(r.client_address), CsvField(r.request_id));
         }
         Response out = Response::Text(200, std::move(csv), "text/csv; charset=utf-8");
         out.Header("Content-Disposition", "attachment; filename=\"audit-log.csv\"");
         return out;
       }});
}

}  // namespace http
