#include "http/api_persons.h"

#include <fmt/format.h>

#include <set>

#include "http/json_body.h"
#include "http/problem.h"

namespace http {
namespace {

using nlohmann::json;

Response Fail(const core::Status& s, const Context& ctx) { return Problem(s, ctx.request.request_id); }

std::string ETag(int64_t version) { return fmt::format("\"{}\"", version); }

json HouseholdBody(const registry::Household& h) {
  json members = json::array();
  for (const auto& m : h.members) {
    // A name withheld is absent, as withheld fields of a person are.
    json o = {{"person_id", m.person.value}, {"relationship", m.relationship}, {"since", m.since}};
    if (!m.name_withheld) o["name"] = m.name;
    o["until"] = m.until.empty() ? json(nullptr) : json(m.until);
    members.push_back(std::move(o));
  }
  json body = {{"id", h.id.value}, {"version", h.version}, {"members", std::move(members)}};
  if (!h.name_withheld) body["name"] = h.name;
  return body;
}

core::StatusOr<core::Date> ReadDate(JsonReader& r, std::string_view key) {
  std::string text = r.String(key, true);
  if (text.empty()) return core::Status::InvalidArgument("missing date");
  auto d = core::Date::Parse(text);
  if (!d.ok()) {
    r.Error(r.Path(key), d.status().message());
    return d.status();
  }
  return d;
}

// A request about one member of a household: the household and member of its address, and its
// body; a problem naming what cannot be read otherwise.
struct MemberRequest {
  core::HouseholdId id;
  core::PersonId person;
  json body;
};
core::StatusOr<MemberRequest> ReadMemberRequest(const Context& ctx) {
  auto id = ParseId(ctx.Param("id"), "id");
  if (!id.ok()) return id.status();
  auto person = ParseId(ctx.Param("person_id"), "person_id");
  if (!person.ok()) return person.status();
  auto body = ParseJsonObject(ctx.request);
  if (!body.ok()) return body.status();
  return MemberRequest{core::HouseholdId{*id}, core::PersonId{*person}, std::move(body).value()};
}

}  // namespace

void AddPersonRoutes(Router& router, registry::PersonService& persons, registry::HouseholdService& households) {
  router.Add({"GET", "/api/v1/persons", Auth::kApi, "listPersons", [&persons](Context& ctx) {
                registry::SearchQuery q;
                q.name = ctx.request.Query("q");
                q.birth_date = ctx.request.Query("birth_date");
                q.identifier = ctx.request.Query("identifier");
                if (auto after = ctx.request.Query("after"); !after.empty()) {
                  auto id = ParseId(after, "after");
                  if (!id.ok()) return Fail(id.status(), ctx);
                  q.after = *id;
                }
                if (auto limit = ctx.request.Query("limit"); !limit.empty()) {
                  auto n = ParseId(limit, "limit");
                  if (!n.ok() || *n > 100) {
                    return Fail(core::Status::InvalidArgument("the page size is out of range", {{"limit", "must be from 1 to 100"}}), ctx);
                  }
                  q.limit = static_cast<int>(*n);
                }
                auto page = persons.Search(ctx.Who(), q);
                if (!page.ok()) return Fail(page.status(), ctx);
                json items = json::array();
                for (const auto& s : page->items) {
                  json ids = json::array();
                  for (const auto& i : s.identifiers) ids.push_back({{"kind", i.kind}, {"value", i.value}});
                  items.push_back({{"id", s.id.value},
                                   {"name", s.name},
                                   {"birth_date", s.birth_date.empty() ? json(nullptr) : json(s.birth_date)},
                                   {"identifiers", std::move(ids)},
                                   {"address", s.address}});
                }
                json body = {{"items", std::move(items)}, {"next", nullptr}};
                if (page->next_after) {
                  std::string next = fmt::format("/api/v1/persons?after={}&limit={}", *page->next_after, q.limit);
                  if (!q.name.empty()) next += "&q=" + UrlEncode(q.name);
                  if (!q.birth_date.empty()) next += "&birth_date=" + UrlEncode(q.birth_date);
                  if (!q.identifier.empty()) next += "&identifier=" + UrlEncode(q.identifier);
                  body["next"] = next;
                }
                return JsonResponse(200, body);
              }});

  router.Add({"POST", "/api/v1/persons", Auth::kApi, "createPerson", [&persons](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Fail(body.status(), ctx);
                if (body->contains("id") || body->contains("version")) {
                  return Fail(core::Status::InvalidArgument("the client record has invalid fields",
                                                            {{"id", "is assigned by onedoor; leave out id and version"}}),
                              ctx);
                }
                auto person = registry::FromJson(*body);
                if (!person.ok()) return Fail(person.status(), ctx);
                auto created = persons.Create(ctx.Who(), std::move(person).value());
                if (!created.ok()) return Fail(created.status(), ctx);
                authz::Decision all = authz::SeeEverything("");
                Response r = JsonResponse(201, registry::ToJson(*created, all));
                r.Header("Location", fmt::format("/api/v1/persons/{}", created->id.value));
                r.Header("ETag", ETag(created->version));
                return r;
              }});

  router.Add({"GET", "/api/v1/persons/{id}", Auth::kApi, "getPerson", [&persons](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Fail(id.status(), ctx);
                auto view = persons.GetStored(ctx.Who(), core::PersonId{*id});
                if (!view.ok()) return Fail(view.status(), ctx);
                auto body = registry::ReadAnswerText(*view);
                if (!body.ok()) return Fail(body.status(), ctx);
                Response r = Response::Json(200, std::move(body).value());
                r.Header("ETag", ETag(view->person.version));
                return r;
              },
              /*defers_writes=*/true});

  router.Add({"PUT", "/api/v1/persons/{id}", Auth::kApi, "updatePerson", [&persons](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Fail(id.status(), ctx);
                auto if_match = ctx.request.Header("if-match");
                if (!if_match) {
                  return Problem(core::Status::FailedPrecondition(
                                     "send the If-Match header with the ETag you read, so that no change is lost"),
                                 ctx.request.request_id, 428);
                }
                std::string tag = *if_match;
                tag.erase(0, tag.find_first_not_of(" \t"));
                tag.erase(tag.find_last_not_of(" \t") + 1);
                if (tag == "*" || tag.find(',') != std::string::npos) {
                  return Fail(
                      core::Status::InvalidArgument(
                          "the If-Match header is not valid",
                          {{"If-Match",
                            "send the one ETag you read, like \"3\": a change is made only to "
                            "the version it was made from"}}),
                      ctx);
                }
                if (tag.rfind("W/", 0) == 0) {
                  // A weak tag never matches for a change (RFC 9110, 13.1.1: strong comparison).
                  return Problem(
                      core::Status::FailedPrecondition("a weak ETag (W/...) does not name one "
                                                       "version: send the ETag as it was read"),
                      ctx.request.request_id, 412);
                }
                // An entity tag is quoted (RFC 9110, 8.8.3), and this one is a version as written
                // in the ETag: "2", never 2 or "02".
                const bool quoted = tag.size() >= 3 && tag.front() == '"' && tag.back() == '"';
                if (quoted) tag = tag.substr(1, tag.size() - 2);
                auto version = ParseId(tag, "If-Match");
                if (!quoted || !version.ok() || std::to_string(*version) != tag) {
                  return Fail(
                      core::Status::InvalidArgument(
                          "the If-Match header is not valid",
                          {{"If-Match",
                            "send the ETag you read as it was sent, quotes included, like \"3\""}}),
                      ctx);
                }
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Fail(body.status(), ctx);
                auto person = registry::FromJson(*body);
                if (!person.ok()) return Fail(person.status(), ctx);
                authz::Decision decision;
                auto updated =
                    persons.Update(ctx.Who(), core::PersonId{*id}, *version, std::move(person).value(), &decision);
                if (!updated.ok()) return Fail(updated.status(), ctx);
                Response r = JsonResponse(200, registry::ToJson(*updated, decision));
                r.Header("ETag", ETag(updated->version));
                return r;
              }});

  router.Add({"GET", "/api/v1/persons/{id}/history", Auth::kApi, "getPersonHistory", [&persons](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Fail(id.status(), ctx);
                auto history = persons.History(ctx.Who(), core::PersonId{*id});
                if (!history.ok()) return Fail(history.status(), ctx);
                json items = json::array();
                for (const auto& e : *history) {
                  json changes = json::array();
                  for (const auto& c : e.changes) {
                    changes.push_back({{"field", c.field}, {"before", c.before}, {"after", c.after}});
                  }
                  items.push_back({{"version", e.version},
                                   {"at", e.at.ToRfc3339()},
                                   {"actor", e.actor},
                                   {"agency_id", e.agency_id},
                                   {"action", e.action},
                                   {"changes", std::move(changes)}});
                }
                return JsonResponse(200, {{"items", std::move(items)}});
              }});

  router.Add({"GET", "/api/v1/persons/{id}/access-log", Auth::kApi, "getPersonAccessLog", [&persons](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Fail(id.status(), ctx);
                int limit = 50;
                int64_t before = 0;
                std::vector<core::FieldError> errors;
                if (auto v = ctx.request.Query("limit"); !v.empty()) {
                  auto parsed = ParseId(v, "limit");
                  if (parsed.ok() && *parsed <= 200) limit = static_cast<int>(*parsed);
                  else errors.push_back({"limit", "must be a whole number from 1 to 200"});
                }
                if (auto v = ctx.request.Query("before"); !v.empty()) {
                  auto parsed = ParseId(v, "before");
                  if (parsed.ok()) before = *parsed;
                  else errors.push_back({"before", "must be the seq of the last entry of the previous page"});
                }
                if (!errors.empty()) return Fail(core::Status::InvalidArgument("the query is not valid", std::move(errors)), ctx);
                auto log = persons.AccessLog(ctx.Who(), core::PersonId{*id}, limit, before);
                if (!log.ok()) return Fail(log.status(), ctx);
                json items = json::array();
                for (const auto& e : log->items) {
                  const auto& r = e.record;
                  json item = {
                      {"seq", r.seq},
                      {"at", r.at.ToRfc3339()},
                      {"agency_id", r.agency_id},
                      {"agency", e.agency_name},
                      {"roles", r.roles},
                      {"purpose", r.purpose},
                      {"action", r.entry.action},
                      {"allowed", r.entry.allowed},
                      // Opened by emergency access (break-glass), which its agency reviews.
                      {"emergency", e.emergency}};
                  // The person sees agencies, roles and purposes; usernames, reasons and the addresses
                  // of others' requests are for auditors.
                  if (!r.actor.empty()) item["actor"] = r.actor;
                  if (!r.entry.reason.empty()) item["reason"] = r.entry.reason;
                  if (!r.client_address.empty()) item["client_address"] = r.client_address;
                  items.push_back(std::move(item));
                }
                json next = nullptr;
                if (log->next_before) {
                  next = fmt::format("/api/v1/persons/{}/access-log?before={}&limit={}", *id, *log->next_before, limit);
                }
                return JsonResponse(200, {{"items", std::move(items)}, {"next", next}});
              }});

  router.Add({"POST", "/api/v1/households", Auth::kApi, "createHousehold", [&households](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Fail(body.status(), ctx);
                JsonReader r(*body);
                r.RejectUnknown({"name"});
                std::string name = r.String("name", true, 200);
                if (auto s = r.Finish("the household has invalid fields"); !s.ok()) return Fail(s, ctx);
                auto h = households.Create(ctx.Who(), name);
                if (!h.ok()) return Fail(h.status(), ctx);
                Response resp = JsonResponse(201, HouseholdBody(*h));
                resp.Header("Location", fmt::format("/api/v1/households/{}", h->id.value));
                return resp;
              }});

  router.Add({"GET", "/api/v1/households/{id}", Auth::kApi, "getHousehold", [&households](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Fail(id.status(), ctx);
                auto h = households.Get(ctx.Who(), core::HouseholdId{*id});
                if (!h.ok()) return Fail(h.status(), ctx);
                return JsonResponse(200, HouseholdBody(*h));
              }});

  router.Add({"POST", "/api/v1/households/{id}/members", Auth::kApi, "addHouseholdMember",
              [&households](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return Fail(id.status(), ctx);
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Fail(body.status(), ctx);
                JsonReader r(*body);
                r.RejectUnknown({"person_id", "relationship", "since"});
                auto person = r.OptInt("person_id");
                if (!person && r.errors().empty()) r.Error("person_id", "is required");
                std::string relationship = r.String("relationship", true, 40);
                if (!relationship.empty() && !registry::IsRelationship(relationship))
                  r.Error("relationship", registry::kRelationshipMessage);
                auto since = ReadDate(r, "since");
                if (auto s = r.Finish("the membership has invalid fields"); !s.ok()) return Fail(s, ctx);
                auto h = households.AddMember(ctx.Who(), core::HouseholdId{*id}, core::PersonId{*person}, relationship,
                                              *since);
                if (!h.ok()) return Fail(h.status(), ctx);
                return JsonResponse(200, HouseholdBody(*h));
              }});

  router.Add({"POST", "/api/v1/households/{id}/members/{person_id}/end", Auth::kApi,
              "endHouseholdMembership", [&households](Context& ctx) {
                auto at = ReadMemberRequest(ctx);
                if (!at.ok()) return Fail(at.status(), ctx);
                const auto& [id, person, body] = *at;
                JsonReader r(body);
                r.RejectUnknown({"until"});
                auto until = ReadDate(r, "until");
                if (auto s = r.Finish("the membership has invalid fields"); !s.ok())
                  return Fail(s, ctx);
                auto h = households.EndMembership(ctx.Who(), id, person, *until);
                if (!h.ok()) return Fail(h.status(), ctx);
                return JsonResponse(200, HouseholdBody(*h));
              }});

  router.Add({"POST", "/api/v1/households/{id}/members/{person_id}/remove", Auth::kApi,
              "removeHouseholdMember", [&households](Context& ctx) {
                auto at = ReadMemberRequest(ctx);
                if (!at.ok()) return Fail(at.status(), ctx);
                const auto& [id, person, body] = *at;
                JsonReader r(body);
                r.RejectUnknown({"reason"});
                std::string reason = r.String("reason", true, 500);
                if (auto s = r.Finish("the removal has invalid fields"); !s.ok())
                  return Fail(s, ctx);
                auto removed = households.RemoveMistake(ctx.Who(), id, person, reason);
                if (!removed.ok()) return Fail(removed.status(), ctx);
                json out = HouseholdBody(removed->household);
                out["restored_household_id"] =
                    removed->restored ? json(removed->restored->value) : json(nullptr);
                return JsonResponse(200, out);
              }});

  router.Add({"POST", "/api/v1/source-records/batch", Auth::kApi, "putSourceRecordBatch", [&persons](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Fail(body.status(), ctx);
                JsonReader r(*body);
                r.RejectUnknown({"records"});
                const json* records = r.Array("records", 1000);
                if (records != nullptr && records->empty()) r.Error("records", "must hold at least one record");
                if (records == nullptr && r.errors().empty()) r.Error("records", "is required");
                std::vector<registry::SourceRecordInput> inputs;
                std::vector<core::FieldError> errors(r.errors().begin(), r.errors().end());
                std::set<std::string> seen;  // local ids
                if (records != nullptr) {
                  for (size_t i = 0; i < records->size(); ++i) {
                    const std::string at = fmt::format("records/{}", i);
                    const json& item = (*records)[i];
                    if (!item.is_object()) {
                      errors.push_back({at, "must be an object with local_id and person"});
                      continue;
                    }
                    JsonReader rec(item, at);
                    rec.RejectUnknown({"local_id", "person"});
                    std::string local_id = rec.String("local_id", true, 64);
                    if (!local_id.empty() && !seen.insert(local_id).second)
                      rec.Error(rec.Path("local_id"), "appears twice in the batch");
                    const json* person = rec.Object("person");
                    if (!item.contains("person") || item["person"].is_null())
                      rec.Error(rec.Path("person"), "is required");
                    errors.insert(errors.end(), rec.errors().begin(), rec.errors().end());
                    if (person == nullptr) continue;
                    auto parsed = registry::FromJson(*person);
                    if (!parsed.ok()) {
                      for (const auto& fe : parsed.status().fields()) {
                        errors.push_back({at + "/person/" + fe.field, fe.message});
                      }
                      continue;
                    }
                    if (core::Status v = persons.Check(*parsed); !v.ok()) {
                      for (const auto& fe : v.fields()) errors.push_back({at + "/person/" + fe.field, fe.message});
                      continue;
                    }
                    inputs.push_back({std::move(local_id), std::move(parsed).value()});
                  }
                }
                if (!errors.empty()) {
                  return Fail(core::Status::InvalidArgument("some source records have invalid fields", std::move(errors)),
                              ctx);
                }
                auto outcomes = persons.PutSourceRecords(ctx.Who(), inputs, "API batch " + ctx.request.request_id);
                if (!outcomes.ok()) return Fail(outcomes.status(), ctx);
                json results = json::array();
                int created = 0, updated = 0, unchanged = 0;
                for (size_t i = 0; i < inputs.size(); ++i) {
                  const registry::PutOutcome o = (*outcomes)[i];
                  created += o == registry::PutOutcome::kCreated;
                  updated += o == registry::PutOutcome::kUpdated;
                  unchanged += o == registry::PutOutcome::kUnchanged;
                  results.push_back({{"local_id", inputs[i].local_id},
                                     {"outcome", o == registry::PutOutcome::kCreated   ? "created"
                                                 : o == registry::PutOutcome::kUpdated ? "updated"
                                                                                       : "unchanged"}});
                }
                return JsonResponse(200, {{"created", created}, {"updated", updated}, {"unchanged", unchanged},
                                          {"results", std::move(results)}});
              }});

  router.Add({"PUT", "/api/v1/source-records/{local_id}", Auth::kApi, "putSourceRecord", [&persons](Context& ctx) {
                auto body = ParseJsonObject(ctx.request);
                if (!body.ok()) return Fail(body.status(), ctx);
                JsonReader r(*body);
                r.RejectUnknown({"person_id", "data"});
                auto person = r.OptInt("person_id");
                const json* data = r.Object("data");
                if (data == nullptr && r.errors().empty()) r.Error("data", "is required");
                if (auto s = r.Finish("the source record has invalid fields"); !s.ok()) return Fail(s, ctx);
                auto rec = persons.PutSourceRecord(ctx.Who(), ctx.Param("local_id"),
                                                   person ? std::optional(core::PersonId{*person}) : std::nullopt,
                                                   data->dump());
                if (!rec.ok()) return Fail(rec.status(), ctx);
                return JsonResponse(200, {{"id", rec->id.value},
                                          {"agency_id", rec->agency.value},
                                          {"local_id", rec->local_id},
                                          {"person_id", rec->person ? json(rec->person->value) : json(nullptr)},
                                          {"data", json::parse(rec->data)},
                                          {"updated_at", rec->updated_at.ToRfc3339()}});
              }});
}

}  // namespace http
