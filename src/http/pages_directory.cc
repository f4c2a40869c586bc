// The service directory's pages, open to everyone: /directory finds services by words (with
// synonyms), topic, language and postcode; /directory/services/{id} shows one service with its
// places, hours, documents to bring and how to apply. Staff who came from a client's page carry
// the client along (?person=ID) and can refer them to the service's agency from there.

#include <fmt/format.h>

#include "access/access_gate.h"
#include "directory/directory_service.h"
#include "frontoffice/appointment_service.h"
#include "frontoffice/office_hours.h"
#include "http/api_directory.h"
#include "http/json_body.h"
#include "http/page_support.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::Render;
using page_support::T;

std::string Text(const json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string Shorten(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = s.rfind(' ', max);
  if (cut == std::string::npos || cut < max / 2) cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return s.substr(0, cut) + "…";
}

// The day of an iCalendar BYDAY code ("MO"), in the request's language; "" for another code.
std::string DayName(const PageDeps& deps, const Context& ctx, const std::string& code) {
  static const std::set<std::string> kCodes = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"};
  if (!kCodes.count(code)) return "";
  return T(deps, ctx,
           "{day, select, MO {Monday} TU {Tuesday} WE {Wednesday} TH {Thursday} FR {Friday} SA {Saturday} "
           "SU {Sunday} other {}}",
           {{"day", code}});
}

// "Monday, Wednesday: 09:00 to 17:00", or the schedule's own description.
std::string ScheduleText(const PageDeps& deps, const Context& ctx, const json& s) {
  std::string days;
  std::string byday = Text(s, "byday");
  size_t start = 0;
  while (start < byday.size()) {
    size_t comma = byday.find(',', start);
    if (comma == std::string::npos) comma = byday.size();
    std::string code = byday.substr(start, comma - start);
    code.erase(0, code.find_first_not_of(' '));
    if (const std::string name = DayName(deps, ctx, code.size() > 2 ? code.substr(code.size() - 2) : code);
        !name.empty()) {
      days += (days.empty() ? "" : ", ") + name;
    }
    start = comma + 1;
  }
  const std::string opens = Text(s, "opens_at").substr(0, 5), closes = Text(s, "closes_at").substr(0, 5);
  std::string hours = !opens.empty() && !closes.empty()
                          ? T(deps, ctx, "{opens} to {closes}", {{"opens", opens}, {"closes", closes}})
                          : "";
  std::string out = days;
  if (!hours.empty()) out += (out.empty() ? "" : ": ") + hours;
  out = page_support::Capitalised(out);  // "Lunes, martes: …", "De 09:00 a 17:00"
  const std::string description = Text(s, "description");
  if (out.empty()) return description;
  return description.empty() ? out : out + " (" + description + ")";
}

std::string AddressText(const json& a) {
  std::string out;
  for (const char* f : {"address_1", "address_2", "city", "state_province", "postal_code"}) {
    const std::string v = Text(a, f);
    if (!v.empty()) out += (out.empty() ? "" : ", ") + v;
  }
  return out;
}

json Topics(const json& service) {
  json out = json::array();
  for (const auto& a : service.value("attributes", json::array())) {
    if (!a.contains("taxonomy_term")) continue;
    const json& t = a["taxonomy_term"];
    const json detail = t.value("taxonomy_detail", json::object());
    if (Text(detail, "name") == directory::kProgramTaxonomy) continue;
    out.push_back({{"name", Text(t, "name")}, {"href", "/directory?topic=" + UrlEncode(Text(t, "id"))}});
  }
  return out;
}

std::string Languages(const json& service) {
  std::set<std::string> names;
  auto add = [&](const json& list) {
    for (const auto& l : list) {
      const std::string n = Text(l, "name").empty() ? Text(l, "code") : Text(l, "name");
      if (!n.empty()) names.insert(n);
    }
  };
  add(service.value("languages", json::array()));
  for (const auto& sal : service.value("service_at_locations", json::array())) {
    if (sal.contains("location")) add(sal["location"].value("languages", json::array()));
  }
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string Places(const json& service) {
  std::set<std::string> places;
  for (const auto& sal : service.value("service_at_locations", json::array())) {
    if (!sal.contains("location")) continue;
    const json& loc = sal["location"];
    std::string city;
    for (const auto& a : loc.value("addresses", json::array())) {
      if (!Text(a, "city").empty()) city = Text(a, "city");
    }
    places.insert(Text(loc, "name") + (city.empty() ? "" : ", " + city));
  }
  std::string out;
  for (const auto& p : places) out += (out.empty() ? "" : "; ") + p;
  return out;
}

std::string Href(const std::map<std::string, std::string>& params) {
  std::string out = "/directory";
  char sep = '?';
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    out += sep + k + "=" + UrlEncode(v);
    sep = '&';
  }
  return out;
}

// Removes the empty texts of `j`, so that the templates' {{#field}} sections skip them.
void Prune(json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end();) {
      if (it->is_string() && it->get_ref<const std::string&>().empty()) {
        it = j.erase(it);
      } else {
        Prune(*it);
        ++it;
      }
    }
  } else if (j.is_array()) {
    for (auto& e : j) Prune(e);
  }
}

// The client the member of staff is finding a service for, when they came from the client's page.
std::string PersonParam(const Context& ctx) {
  if (!ctx.principal) return {};
  const std::string p = ctx.request.Query("person");
  return ParseId(p, "person").ok() ? p : std::string();
}

}  // namespace

void AddLifeEventPages(Router& router, const PageDeps& deps);

void AddDirectoryPages(Router& router, const PageDeps& deps) {
  if (deps.services == nullptr) return;
  AddLifeEventPages(router, deps);
  router.Add({"GET", "/directory", Auth::kPublic, "", [&deps](Context& ctx) {
                directory::DirectoryService& dir = *deps.services;
                const Request& rq = ctx.request;
                json d = Common(deps, ctx, "Find a service", "directory");
                const std::string person = PersonParam(ctx);
                std::map<std::string, std::string> params = {{"search", rq.Query("search")},
                                                             {"topic", rq.Query("topic")},
                                                             {"language", rq.Query("language")},
                                                             {"postcode", rq.Query("postcode")},
                                                             {"person", person}};
                auto q = SearchQueryFrom(rq, 10);
                if (!q.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("there is no such page of results"));
                q->taxonomy_term_id = rq.Query("topic");
                q->active_only = true;
                q->per_page = 10;
                auto found = dir.Search(*q);
                if (!found.ok()) {
                  if (found.status().code() == core::StatusCode::kInvalidArgument) {
                    return ErrorFor(deps, ctx, core::Status::NotFound("there is no such page of results"));
                  }
                  return ErrorFor(deps, ctx, found.status());
                }
                auto docs = dir.GetMany("service", found->ids, true);
                if (!docs.ok()) return ErrorFor(deps, ctx, docs.status());
                json items = json::array();
                for (const auto& s : *docs) {
                  std::string href = "/directory/services/" + UrlEncode(Text(s, "id"));
                  if (!person.empty()) href += "?person=" + person;
                  items.push_back({{"name", Text(s, "name")},
                                   {"href", href},
                                   {"organization", s.contains("organization") ? Text(s["organization"], "name") : ""},
                                   {"description", Shorten(Text(s, "description"), 240)},
                                   {"places", Places(s)},
                                   {"languages", Languages(s)},
                                   {"topics", Topics(s)}});
                }
                d["items"] = std::move(items);
                d["has_items"] = !found->ids.empty();
                d["total"] = found->total;
                d["total_text"] = T(deps, ctx,
                                    "{count, plural, one {{count, number, ::group-off} service} "
                                    "other {{count, number, ::group-off} services}}",
                                    {{"count", std::to_string(found->total)}});
                d["any_word"] = found->any_word;
                d["searched"] = !rq.Query("search").empty() || !rq.Query("topic").empty() ||
                                !rq.Query("language").empty() || !rq.Query("postcode").empty();
                d["f_search"] = rq.Query("search");
                d["f_postcode"] = rq.Query("postcode");
                d["person"] = person;
                d["has_person"] = !person.empty();
                if (!person.empty()) d["back_href"] = "/clients/" + person;
                auto terms = dir.TermsInUse();
                if (!terms.ok()) return ErrorFor(deps, ctx, terms.status());
                json topics = json::array();
                for (const auto& t : *terms) {
                  topics.push_back({{"id", t.id}, {"name", t.name}, {"selected", t.id == rq.Query("topic")}});
                }
                d["topics"] = std::move(topics);
                auto langs = dir.LanguagesInUse();
                if (!langs.ok()) return ErrorFor(deps, ctx, langs.status());
                json languages = json::array();
                for (const auto& [code, name] : *langs) {
                  languages.push_back({{"code", code}, {"name", name}, {"selected", code == rq.Query("language")}});
                }
                d["languages"] = std::move(languages);
                if (deps.life_events != nullptr && !d["searched"].get<bool>() && q->page == 1) {
                  json events = json::array();
                  for (const auto& e : deps.life_events->events()) {
                    events.push_back({{"title", e.title},
                                      {"href", "/life-events/" + e.id + (person.empty() ? "" : "?person=" + person)}});
                  }
                  d["life_events"] = std::move(events);
                  d["has_life_events"] = !d["life_events"].empty();
                }
                // Pages: previous, next, and "page N of M".
                const int64_t pages = (found->total + q->per_page - 1) / q->per_page;
                if (q->page > 1 && q->page > pages) {
                  return ErrorFor(deps, ctx,
                                  core::Status::NotFound(fmt::format(
                                      "there is no page {} of this list: it has {} page{}", q->page,
                                      std::max<int64_t>(pages, 1), pages > 1 ? "s" : "")));
                }
                if (pages > 1) {
                  d["has_pages"] = true;
                  d["page_text"] = T(deps, ctx, "Page {page, number, ::group-off} of {pages, number, ::group-off}",
                                     {{"page", std::to_string(q->page)}, {"pages", std::to_string(pages)}});
                  if (q->page > 1) {
                    auto p = params;
                    p["page"] = std::to_string(q->page - 1);
                    d["prev_href"] = Href(p);
                  }
                  if (q->page < pages) {
                    auto p = params;
                    p["page"] = std::to_string(q->page + 1);
                    d["next_href"] = Href(p);
                  }
                }
                Prune(d);
                return Render(deps, 200, "directory", d);
              }});

  router.Add({"GET", "/directory/services/{id}", Auth::kPublic, "", [&deps](Context& ctx) {
                auto view = deps.services->Service(ctx.Param("id"));
                if (!view.ok()) return ErrorFor(deps, ctx, view.status());
                const json& s = view->doc;
                json d = Common(deps, ctx, Text(s, "name"), "directory");
                const std::string person = PersonParam(ctx);
                d["name"] = Text(s, "name");
                d["organization"] = s.contains("organization") ? Text(s["organization"], "name") : "";
                d["inactive"] = Text(s, "status") != "active";
                d["status"] = T(deps, ctx, "{status, select, inactive {inactive} defunct {defunct} other {{status}}}",
                                {{"status", Text(s, "status")}});
                d["alert"] = Text(s, "alert");
                d["description"] = Text(s, "description");
                json facts = json::array();
                auto fact = [&](const char* key, std::string value, bool link = false) {
                  if (!value.empty()) facts.push_back({{"key", T(deps, ctx, key)}, {"value", value}, {"link", link}});
                };
                std::string ages;
                const std::string min_age = s.contains("minimum_age") ? s["minimum_age"].dump() : "";
                const std::string max_age = s.contains("maximum_age") ? s["maximum_age"].dump() : "";
                if (!min_age.empty() && !max_age.empty()) {
                  ages = T(deps, ctx, "Ages {min} to {max}", {{"min", min_age}, {"max", max_age}});
                } else if (!min_age.empty()) {
                  ages = T(deps, ctx, "Aged {min} or over", {{"min", min_age}});
                } else if (!max_age.empty()) {
                  ages = T(deps, ctx, "Aged up to {max}", {{"max", max_age}});
                }
                std::string who = Text(s, "eligibility_description");
                if (!ages.empty()) who += (who.empty() ? "" : " ") + ages + ".";
                fact("Who it is for", who);
                fact("How to apply", Text(s, "application_process"));
                fact("Cost", Text(s, "fees_description"));
                fact("Waiting time", Text(s, "wait_time"));
                fact("Languages", Languages(s));
                fact("Interpreters", Text(s, "interpretation_services"));
                fact("Email", Text(s, "email"));
                std::string phones;
                for (const auto& p : s.value("phones", json::array())) {
                  phones += (phones.empty() ? "" : ", ") + Text(p, "number");
                }
                fact("Phone", phones);
                // Only a web address becomes a link: an imported javascript:, data: or other
                // scheme is shown as text, never followed.
                const std::string url = Text(s, "url");
                const bool web = url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0;
                if (!web) fact("Website", url);
                d["facts"] = std::move(facts);
                if (web) d["url"] = url;
                json documents = json::array();
                for (const auto& r : s.value("required_documents", json::array())) {
                  if (!Text(r, "document").empty()) documents.push_back({{"text", Text(r, "document")}});
                }
                d["has_documents"] = !documents.empty();
                d["documents"] = std::move(documents);
                json places = json::array();
                for (const auto& sal : s.value("service_at_locations", json::array())) {
                  if (!sal.contains("location")) continue;
                  const json& loc = sal["location"];
                  json hours = json::array();
                  for (const json* list : {&sal, &loc}) {
                    for (const auto& sch : list->value("schedules", json::array())) {
                      const std::string t = ScheduleText(deps, ctx, sch);
                      if (!t.empty()) hours.push_back({{"text", t}});
                    }
                  }
                  std::string address;
                  for (const auto& a : loc.value("addresses", json::array())) {
                    if (Text(a, "address_type") != "postal" || address.empty()) address = AddressText(a);
                  }
                  std::string access;
                  for (const auto& a : loc.value("accessibility", json::array())) {
                    access += (access.empty() ? "" : " ") + Text(a, "description");
                  }
                  places.push_back({{"name", Text(loc, "name")},
                                    {"address", address},
                                    {"transport", Text(loc, "transportation")},
                                    {"accessibility", access},
                                    {"has_hours", !hours.empty()},
                                    {"hours", std::move(hours)}});
                }
                if (places.empty()) {
                  json hours = json::array();
                  for (const auto& sch : s.value("schedules", json::array())) {
                    const std::string t = ScheduleText(deps, ctx, sch);
                    if (!t.empty()) hours.push_back({{"text", t}});
                  }
                  d["has_service_hours"] = !hours.empty();
                  d["service_hours"] = std::move(hours);
                }
                d["has_places"] = !places.empty();
                d["places"] = std::move(places);
                d["topics"] = Topics(s);
                d["has_topics"] = !d["topics"].empty();
                json programs = json::array();
                for (const auto& [code, name] : view->programs) programs.push_back({{"id", code}, {"name", name}});
                d["has_programs"] = !programs.empty();
                d["programs"] = std::move(programs);
                d["signed_in_staff"] = ctx.principal && ctx.principal->kind == authz::PrincipalKind::kStaff;
                // Where it can be booked: the offices whose queues serve it and have free slots.
                if (deps.queues != nullptr && deps.appointments != nullptr && deps.office_hours != nullptr) {
                  json bookable = json::array();
                  auto queues = deps.queues->QueuesForService(ctx.Param("id"));
                  const core::Timestamp now = deps.office_hours->Now();
                  for (const auto& q : queues.ok() ? *queues : std::vector<frontoffice::Queue>{}) {
                    auto free = deps.appointments->FreeSlots(q.id, now, core::Timestamp{now.micros + 28 * 86'400'000'000LL});
                    auto office = deps.office_hours->Get(q.office);
                    if (!free.ok() || free->empty() || !office.ok()) continue;
                    bookable.push_back({{"office", office->name},
                                        {"href", fmt::format("/offices/{}/book?queue={}", q.office, q.id)}});
                  }
                  d["has_bookable"] = !bookable.empty();
                  d["bookable"] = std::move(bookable);
                }
                d["back_href"] = person.empty() ? "/directory" : "/directory?person=" + person;
                std::string own_agency;
                if (ctx.principal && ctx.principal->agency.valid()) {
                  if (auto a = deps.accounts.GetAgency(ctx.principal->agency); a.ok()) own_agency = a->code;
                }
                d["own_agency"] = !view->agency.empty() && view->agency == own_agency;
                if (!person.empty() && !view->agency.empty() && view->agency != own_agency && deps.referrals != nullptr &&
                    authz::HasCaseworkRole(ctx.Who())) {
                  d["refer_href"] = fmt::format("/referrals/new?person={}&directory_service={}", person,
                                                UrlEncode(Text(s, "id")));
                }
                d["has_agency"] = !view->agency.empty();
                Prune(d);
                return Render(deps, 200, "directory_service", d);
              }});
}

void AddLifeEventPages(Router& router, const PageDeps& deps) {
  if (deps.life_events == nullptr) return;
  router.Add({"GET", "/life-events", Auth::kPublic, "", [&deps](Context& ctx) {
                json d = Common(deps, ctx, "What has happened?", "directory");
                const std::string person = PersonParam(ctx);
                json items = json::array();
                for (const auto& e : deps.life_events->events()) {
                  items.push_back({{"title", e.title},
                                   {"summary", e.summary},
                                   {"href", "/life-events/" + e.id + (person.empty() ? "" : "?person=" + person)}});
                }
                d["items"] = std::move(items);
                d["directory_href"] = person.empty() ? "/directory" : "/directory?person=" + person;
                Prune(d);
                return Render(deps, 200, "life_events", d);
              }});
  router.Add({"GET", "/life-events/{id}", Auth::kPublic, "", [&deps](Context& ctx) {
                const directory::LifeEvent* e = deps.life_events->Find(ctx.Param("id"));
                if (e == nullptr) return ErrorFor(deps, ctx, core::Status::NotFound("no such life event"));
                auto body = LifeEventJson(*deps.services, *deps.life_events, *e);
                if (!body.ok()) return ErrorFor(deps, ctx, body.status());
                json d = Common(deps, ctx, e->title, "directory");
                const std::string person = PersonParam(ctx);
                const bool staff = ctx.principal && ctx.principal->kind == authz::PrincipalKind::kStaff;
                const bool may_refer = !person.empty() && deps.referrals != nullptr && authz::HasCaseworkRole(ctx.Who());
                d["title"] = e->title;
                d["summary"] = e->summary;
                json steps = json::array();
                int number = 0;
                for (auto& st : (*body)["steps"]) {
                  json services = json::array();
                  for (auto& sv : st["services"]) {
                    const std::string id = sv.value("id", "");
                    json v = {{"name", sv["name"]},
                              {"organization", sv["organization"]},
                              {"href", "/directory/services/" + UrlEncode(id) + (person.empty() ? "" : "?person=" + person)}};
                    if (may_refer && st["action"] == "referral") {
                      v["refer_href"] = fmt::format("/referrals/new?person={}&directory_service={}", person, UrlEncode(id));
                    }
                    services.push_back(std::move(v));
                  }
                  json step = {{"number", ++number},
                               {"title", st["title"]},
                               {"text", st["text"]},
                               {"has_services", !services.empty()},
                               {"services", std::move(services)},
                               {"screening", st["action"] == "screening"},
                               {"appointment", st["action"] == "appointment"},
                               {"staff", staff}};
                  steps.push_back(std::move(step));
                }
                d["steps"] = std::move(steps);
                d["questions"] = (*body)["questions"];
                d["has_questions"] = !(*body)["questions"].empty();
                d["programs"] = (*body)["programs"];
                d["has_programs"] = !(*body)["programs"].empty();
                d["back_href"] = person.empty() ? "/life-events" : "/life-events?person=" + person;
                Prune(d);
                return Render(deps, 200, "life_event", d);
              }});
}

}  // namespace http
