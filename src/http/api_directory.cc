#include "http/api_directory.h"

#include <fmt/format.h>

#include <charconv>
#include <set>
#include <nlohmann/json.hpp>

#include "http/json_body.h"
#include "http/problem.h"

namespace http {
namespace {

using nlohmann::json;

core::StatusOr<int> IntParam(const Request& request, const char* name, int fallback) {
  const std::string v = request.Query(name);
  if (v.empty()) return fallback;
  int n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) {
    return core::Status::InvalidArgument(fmt::format("{} must be a whole number", name),
                                         {{name, "must be a whole number"}});
  }
  return n;
}

core::StatusOr<bool> BoolParam(const Request& request, const char* name) {
  const std::string v = request.Query(name);
  if (v.empty() || v == "false" || v == "0") return false;
  if (v == "true" || v == "1") return true;
  return core::Status::InvalidArgument(fmt::format("{} must be true or false", name), {{name, "must be true or false"}});
}

// The HSDS page envelope around `contents`.
json Envelope(int64_t total, int page, int per_page, json contents) {
  const int64_t pages = total == 0 ? 0 : (total + per_page - 1) / per_page;
  const auto size = static_cast<int64_t>(contents.size());
  return {{"total_items", total},   {"total_pages", pages},         {"page_number", page},
          {"size", size},           {"first_page", page == 1},      {"last_page", page >= pages},
          {"empty", size == 0},     {"contents", std::move(contents)}};
}

Response Ndjson(const std::vector<json>& rows) {
  std::string body;
  for (const auto& r : rows) body += r.dump() + "\n";
  return Response::Text(200, std::move(body), "application/x-ndjson");
}

core::Status CheckFormat(const Request& request) {
  const std::string f = request.Query("format");
  if (f.empty() || f == "json" || f == "ndjson") return core::Status::Ok();
  return core::Status::InvalidArgument("format must be json or ndjson", {{"format", "must be json or ndjson"}});
}

// A list of one table's rows: the HSDS page, or with format=ndjson every row, one per line.
Response TableList(directory::DirectoryService& directory, Context& ctx, const std::string& table,
                   std::map<std::string, std::string> filter) {
  const Request& rq = ctx.request;
  if (auto s = CheckFormat(rq); !s.ok()) return Problem(s, rq.request_id);
  auto page = IntParam(rq, "page", 1);
  auto per_page = IntParam(rq, "per_page", 50);
  auto full = BoolParam(rq, "full");
  for (const core::Status* s : {&page.status(), &per_page.status(), &full.status()}) {
    if (!s->ok()) return Problem(*s, rq.request_id);
  }
  if (!rq.Query("search").empty()) filter["search"] = rq.Query("search");
  if (rq.Query("format") == "ndjson") {
    std::vector<json> all;
    for (int p = 1;; ++p) {
      auto rows = directory.List(table, filter, p, 100, *full);
      if (!rows.ok()) return Problem(rows.status(), rq.request_id);
      for (auto& r : rows->rows) all.push_back(std::move(r));
      if (static_cast<int64_t>(p) * 100 >= rows->total) break;
    }
    return Ndjson(all);
  }
  auto rows = directory.List(table, filter, *page, *per_page, *full);
  if (!rows.ok()) return Problem(rows.status(), rq.request_id);
  return JsonResponse(200, Envelope(rows->total, *page, *per_page, json(rows->rows)));
}

Response One(directory::DirectoryService& directory, Context& ctx, const std::string& table) {
  auto doc = directory.Get(table, ctx.Param("id"), true);
  if (!doc.ok()) return Problem(doc.status(), ctx.request.request_id);
  return JsonResponse(200, *doc);
}

}  // namespace

core::StatusOr<directory::SearchQuery> SearchQueryFrom(const Request& request, int default_per_page) {
  directory::SearchQuery q;
  ASSIGN_OR_RETURN(q.page, IntParam(request, "page", 1));
  ASSIGN_OR_RETURN(q.per_page, IntParam(request, "per_page", default_per_page));
  q.text = request.Query("search");
  q.taxonomy_term_id = request.Query("taxonomy_term_id");
  q.taxonomy_id = request.Query("taxonomy_id");
  q.organization_id = request.Query("organization_id");
  q.language = request.Query("language");
  q.postcode = request.Query("postcode");
  q.city = request.Query("city");
  q.location_id = request.Query("location_id");
  q.program = request.Query("program");
  q.agency = request.Query("agency");
  q.modified_after = request.Query("modified_after");
  const std::string status = request.Query("status");
  if (status == "active") {
    q.active_only = true;
  } else if (!status.empty()) {
    return core::Status::InvalidArgument("status can only be active", {{"status", "can only be active"}});
  }
  for (const char* unsupported : {"proximity"}) {
    if (!request.Query(unsupported).empty()) {
      return core::Status::InvalidArgument(fmt::format("{} is not supported: filter by postcode or city", unsupported),
                                           {{unsupported, "is not supported; use postcode or city"}});
    }
  }
  return q;
}

core::StatusOr<json> LifeEventJson(directory::DirectoryService& directory, const directory::LifeEvents& events,
                                   const directory::LifeEvent& e) {
  json questions = json::array();
  for (const auto& q : e.questions) {
    auto it = events.rules().questions.find(q);
    questions.push_back({{"name", q}, {"question", it == events.rules().questions.end() ? q : it->second}});
  }
  json programs = json::array();
  for (const auto& p : e.programs) {
    auto it = events.rules().programs.find(p);
    programs.push_back({{"id", p}, {"name", it == events.rules().programs.end() ? p : it->second}});
  }
  json steps = json::array();
  std::set<std::string> shown;  // a service is shown at its first step only
  for (const auto& st : e.steps) {
    ASSIGN_OR_RETURN(std::vector<json> services, directory.StepServices(st, 6));
    json list = json::array();
    for (const auto& sv : services) {
      if (!shown.insert(sv.value("id", "")).second || list.size() >= 3) continue;
      list.push_back({{"id", sv.value("id", "")},
                      {"name", sv.value("name", "")},
                      {"organization", sv.contains("organization") ? sv["organization"].value("name", "") : ""}});
    }
    steps.push_back({{"title", st.title},
                     {"text", st.text},
                     {"action", std::string(directory::StepActionName(st.action))},
                     {"services", std::move(list)}});
  }
  return json{{"id", e.id},
              {"title", e.title},
              {"summary", e.summary},
              {"questions", std::move(questions)},
              {"programs", std::move(programs)},
              {"steps", std::move(steps)}};
}

void AddDirectoryApiRoutes(Router& router, directory::DirectoryService& directory,
                           const directory::LifeEvents* life_events) {
  if (life_events != nullptr) {
    router.Add({"GET", "/api/v1/life-events", Auth::kPublic, "listLifeEvents", [life_events](Context&) {
                  json items = json::array();
                  for (const auto& e : life_events->events()) {
                    items.push_back({{"id", e.id}, {"title", e.title}, {"summary", e.summary}});
                  }
                  return JsonResponse(200, {{"items", std::move(items)}});
                }});
    router.Add({"GET", "/api/v1/life-events/{id}", Auth::kPublic, "getLifeEvent",
                [&directory, life_events](Context& ctx) {
                  const directory::LifeEvent* e = life_events->Find(ctx.Param("id"));
                  if (e == nullptr) {
                    return Problem(core::Status::NotFound("there is no life event " + ctx.Param("id")),
                                   ctx.request.request_id);
                  }
                  auto body = LifeEventJson(directory, *life_events, *e);
                  if (!body.ok()) return Problem(body.status(), ctx.request.request_id);
                  return JsonResponse(200, *body);
                }});
  }
  auto info = [](Context&) {
    return JsonResponse(200, {{"version", "3.0"},
                              {"profile", "https://docs.openreferral.org/en/v3.0/hsds/overview.html"},
                              {"openapi_url", "/api/openapi.json"}});
  };
  router.Add({"GET", "/hsds", Auth::kPublic, "getHsdsInfo", info});
  router.Add({"GET", "/hsds/", Auth::kPublic, "getHsdsInfoSlash", info});

  router.Add({"GET", "/hsds/services", Auth::kPublic, "listHsdsServices", [&directory](Context& ctx) {
                const Request& rq = ctx.request;
                if (auto s = CheckFormat(rq); !s.ok()) return Problem(s, rq.request_id);
                auto q = SearchQueryFrom(rq, 50);
                if (!q.ok()) return Problem(q.status(), rq.request_id);
                auto full = BoolParam(rq, "full");
                if (!full.ok()) return Problem(full.status(), rq.request_id);
                auto minimal = BoolParam(rq, "minimal");
                if (!minimal.ok()) return Problem(minimal.status(), rq.request_id);
                auto shape = [&](std::vector<json> docs) {
                  if (!*minimal) return docs;
                  for (auto& d : docs) {
                    json m = {{"id", d["id"]}};
                    if (d.contains("last_modified")) m["last_modified"] = d["last_modified"];
                    d = std::move(m);
                  }
                  return docs;
                };
                if (rq.Query("format") == "ndjson") {
                  std::vector<json> all;
                  for (q->page = 1, q->per_page = 100;; ++q->page) {
                    auto found = directory.Search(*q);
                    if (!found.ok()) return Problem(found.status(), rq.request_id);
                    auto docs = directory.GetMany("service", found->ids, *full);
                    if (!docs.ok()) return Problem(docs.status(), rq.request_id);
                    for (auto& d : shape(std::move(docs).value())) all.push_back(std::move(d));
                    if (static_cast<int64_t>(q->page) * q->per_page >= found->total) break;
                  }
                  return Ndjson(all);
                }
                auto found = directory.Search(*q);
                if (!found.ok()) return Problem(found.status(), rq.request_id);
                auto docs = directory.GetMany("service", found->ids, *full);
                if (!docs.ok()) return Problem(docs.status(), rq.request_id);
                return JsonResponse(200, Envelope(found->total, q->page, q->per_page, json(shape(std::move(docs).value()))));
              }});
  router.Add({"GET", "/hsds/services/{id}", Auth::kPublic, "getHsdsService",
              [&directory](Context& ctx) { return One(directory, ctx, "service"); }});
  router.Add({"GET", "/hsds/organizations", Auth::kPublic, "listHsdsOrganizations", [&directory](Context& ctx) {
                return TableList(directory, ctx, "organization", {});
              }});
  router.Add({"GET", "/hsds/organizations/{id}", Auth::kPublic, "getHsdsOrganization",
              [&directory](Context& ctx) { return One(directory, ctx, "organization"); }});
  router.Add({"GET", "/hsds/service_at_locations", Auth::kPublic, "listHsdsServiceAtLocations",
              [&directory](Context& ctx) {
                const Request& rq = ctx.request;
                if (auto s = CheckFormat(rq); !s.ok()) return Problem(s, rq.request_id);
                if (rq.Query("format") == "ndjson") {
                  return Problem(core::Status::InvalidArgument("format=ndjson is offered for services, organizations "
                                                               "and taxonomies",
                                                               {{"format", "use json here"}}),
                                 rq.request_id);
                }
                auto q = SearchQueryFrom(rq, 50);
                if (!q.ok()) return Problem(q.status(), rq.request_id);
                auto full = BoolParam(rq, "full");
                if (!full.ok()) return Problem(full.status(), rq.request_id);
                auto page = directory.ServiceAtLocations(*q, rq.Query("service_id"), rq.Query("location_id"), *full);
                if (!page.ok()) return Problem(page.status(), rq.request_id);
                return JsonResponse(200, Envelope(page->total, q->page, q->per_page, json(page->rows)));
              }});
  router.Add({"GET", "/hsds/service_at_locations/{id}", Auth::kPublic, "getHsdsServiceAtLocation",
              [&directory](Context& ctx) { return One(directory, ctx, "service_at_location"); }});
  router.Add({"GET", "/hsds/taxonomies", Auth::kPublic, "listHsdsTaxonomies", [&directory](Context& ctx) {
                return TableList(directory, ctx, "taxonomy", {});
              }});
  router.Add({"GET", "/hsds/taxonomies/{id}", Auth::kPublic, "getHsdsTaxonomy",
              [&directory](Context& ctx) { return One(directory, ctx, "taxonomy"); }});
  router.Add({"GET", "/hsds/taxonomy_terms", Auth::kPublic, "listHsdsTaxonomyTerms", [&directory](Context& ctx) {
                std::map<std::string, std::string> filter;
                for (const char* f : {"taxonomy_id", "parent_id"}) {
                  if (!ctx.request.Query(f).empty()) filter[f] = ctx.request.Query(f);
                }
                auto top = BoolParam(ctx.request, "top_only");
                if (!top.ok()) return Problem(top.status(), ctx.request.request_id);
                if (*top) filter["top_only"] = "true";
                return TableList(directory, ctx, "taxonomy_term", std::move(filter));
              }});
  router.Add({"GET", "/hsds/taxonomy_terms/{id}", Auth::kPublic, "getHsdsTaxonomyTerm",
              [&directory](Context& ctx) { return One(directory, ctx, "taxonomy_term"); }});

  router.Add({"GET", "/api/v1/directory/export", Auth::kPublic, "exportDirectory", [&directory](Context& ctx) {
                auto data = directory.Export();
                if (!data.ok()) return Problem(data.status(), ctx.request.request_id);
                return JsonResponse(200, directory::Bundle(*data))
                    .Header("Content-Disposition", "attachment; filename=\"directory.json\"");
              }});
  router.Add({"POST", "/api/v1/directory/imports", Auth::kApi, "importDirectory", [&directory](Context& ctx) {
                const Request& rq = ctx.request;
                auto replace = BoolParam(rq, "replace");
                if (!replace.ok()) return Problem(replace.status(), rq.request_id);
                json doc = json::parse(rq.body, nullptr, false);
                if (doc.is_discarded()) {
                  return Problem(core::Status::InvalidArgument("the body is not JSON: send an HSDS bundle, list or "
                                                               "object"),
                                 rq.request_id);
                }
                directory::Dataset data;
                const std::string type = rq.Query("type");
                if (!type.empty() && directory::FindTable(type) == nullptr) {
                  return Problem(core::Status::InvalidArgument(fmt::format("'{}' is not an HSDS table", type),
                                                               {{"type", "must be an HSDS table, like service"}}),
                                 rq.request_id);
                }
                if (auto s = directory::FlattenDocument(doc, type, "the body", data); !s.ok()) {
                  return Problem(s, rq.request_id);
                }
                auto report = directory.Import(ctx.Who(), data, *replace);
                if (!report.ok()) return Problem(report.status(), rq.request_id);
                return JsonResponse(200, {{"rows", report->rows},
                                          {"added", report->added},
                                          {"changed", report->changed},
                                          {"unchanged", report->unchanged},
                                          {"removed", report->removed},
                                          {"services", report->services},
                                          {"dangling_references", report->dangling},
                                          {"warnings", report->warnings}});
              }});
}

}  // namespace http
