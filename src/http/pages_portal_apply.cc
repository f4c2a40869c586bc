// The citizen portal's "check what you could get and apply": /portal/check (a questionnaire
// that asks only what the rules still need, step by step, about the person's own household),
// /portal/screenings/{id} (the results, each program's reason, and one application to several
// programs), /portal/applications (every application and where each part stands) and
// /portal/applications/{id} (each agency's decision, and the answer to a request for more
// information).

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "eligibility/evaluator.h"
#include "http/json_body.h"
#include "http/multipart.h"
#include "http/page_support.h"
#include "http/typed_number.h"
#include "portal/portal_service.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::LanguageOf;
using page_support::Render;
using page_support::T;
using page_support::Trim;

using Form = std::multimap<std::string, std::string>;

// The signed-in person's record, or the response that sends them where they must go first.
struct Me {
  core::PersonId person;
  std::optional<Response> away;
};

Me LinkedPerson(const PageDeps& deps, Context& ctx, bool to_apply = true) {
  if (ctx.Who().kind != authz::PrincipalKind::kCitizen) return {{}, Response::Redirect("/")};
  auto acting = page_support::ActingPerson(deps, ctx, to_apply ? "apply" : "");
  if (!acting.ok()) return {{}, ErrorFor(deps, ctx, acting.status())};
  if (!*acting) return {{}, Response::Redirect("/portal")};
  return {**acting, std::nullopt};
}

// An answer's mistake in the page's language: the engine's bounds ("must be at least 0") say
// their number in a sentence the catalogues know.
std::string AnswerError(const PageDeps& deps, const Context& ctx, const std::string& message) {
  for (auto [prefix, sentence] : {std::pair{"must be at least ", "Must be at least {n}"},
                                  std::pair{"must be at most ", "Must be at most {n}"}}) {
    const std::string_view p(prefix);
    if (message.rfind(p, 0) == 0 && message.find(' ', p.size()) == std::string::npos) {
      return T(deps, ctx, sentence, {{"n", message.substr(p.size())}});
    }
  }
  return T(deps, ctx, page_support::Capitalised(message));
}

// The engine's checks of the answers that could be read (their bounds and choices), named
// beside those that could not, so that every mistake shows at once. Nothing is read or kept.
void AddEngineErrors(const eligibility::RuleSet& rules, const eligibility::HouseholdInput& input,
                     std::vector<core::FieldError>& errors) {
  eligibility::Batch check(rules);
  const core::Status checked = check.Add(input);
  errors = core::MergeFieldErrors(std::move(errors), checked.fields());
}

// The form's answers as the engine takes them: "in.NAME" for the household, "mI.NAME" for its
// I-th current member. Money may be written "$1,200" or, in Spanish, "1.200,50". An answer that
// is not clearly a number is left out, with its error in `errors` when given.
eligibility::HouseholdInput Answers(const eligibility::RuleSet& rules, const Form& form,
                                    size_t members, std::string_view language,
                                    std::vector<core::FieldError>* errors) {
  eligibility::HouseholdInput input;
  for (const auto& s : rules.symbols()) {
    if (!s.is_input || s.entity != eligibility::Entity::kHousehold) continue;
    auto v = page_support::AnswerValue(s, FormValue(form, "in." + s.name), language);
    if (!v) {
      if (errors != nullptr) errors->push_back({s.name, page_support::UnclearNumber(s)});
    } else if (!v->empty()) {
      input.values.emplace_back(s.name, *v);
    }
  }
  for (size_t i = 0; i < members; ++i) {
    eligibility::HouseholdInput::Values m;
    for (const auto& s : rules.symbols()) {
      if (!s.is_input || s.entity != eligibility::Entity::kPerson) continue;
      const std::string key = fmt::format("m{}.{}", i, s.name);
      auto v = page_support::AnswerValue(s, FormValue(form, key), language);
      if (!v) {
        if (errors != nullptr)
          errors->push_back(
              {fmt::format("members/{}/{}", i, s.name), page_support::UnclearNumber(s)});
      } else if (s.type == eligibility::Type::kBool && s.default_value) {
        // A box of "tick what applies": not ticked says no.
        m.emplace_back(s.name, *v == "true" ? "true" : "false");
      } else if (!v->empty()) {
        m.emplace_back(s.name, *v);
      }
    }
    input.members.push_back(std::move(m));
  }
  return input;
}

// Whether a form field is an answer: "in.NAME" or "mI.NAME".
bool IsAnswer(const std::string& key) {
  if (key.rfind("in.", 0) == 0) return key.size() > 3;
  if (key.size() < 4 || key[0] != 'm') return false;
  const size_t dot = key.find('.');
  return dot != std::string::npos && dot > 1 && dot + 1 < key.size() &&
         std::all_of(key.begin() + 1, key.begin() + static_cast<std::ptrdiff_t>(dot), [](char c) { return c >= '0' && c <= '9'; });
}

// The questions still needed: the inputs the programs' results name as missing.
std::set<std::string> Missing(const eligibility::Screening& s) {
  std::set<std::string> out;
  for (const auto& p : s.programs) {
    for (const auto& m : p.missing_inputs) out.insert(std::string(m));
  }
  return out;
}

// A result as the person reads it.
std::string Outcome(const PageDeps& deps, const Context& ctx, const std::string& result) {
  return T(deps, ctx, page_support::ResultText(result));
}

std::string StateText(const std::string& state) {
  if (state == "pending") return "Being decided";
  if (state == "approved") return "Approved";
  if (state == "denied") return "Not approved";
  if (state == "more_information") return "Information needed from you";
  return state;
}

// A kind of document, in words (English: the catalogue's key).
std::string KindText(const std::string& kind) {
  static const std::map<std::string, std::string> kWords = {
      {"payslip", "Payslip"},          {"bank_statement", "Bank statement"}, {"tenancy", "Tenancy agreement"},
      {"identity", "Proof of identity"}, {"medical", "Medical document"},  {"letter", "Letter"},
      {"other", "Other"}};
  auto it = kWords.find(kind);
  return it == kWords.end() ? kind : it->second;
}

std::string StateClass(const std::string& state) {
  if (state == "approved") return "govuk-tag--green";
  if (state == "denied") return "govuk-tag--red";
  if (state == "more_information") return "govuk-tag--yellow";
  return "govuk-tag--blue";
}

}  // namespace

void AddPortalApplyPages(Router& router, const PageDeps& deps) {
  if (deps.portal == nullptr || deps.screenings == nullptr || deps.applications == nullptr) return;

  // One step of the questionnaire: what is known, the questions still needed, and the answers
  // given so far carried along. `errors` are the engine's (field "earned_income", "members/0/age");
  // `screened`, the unsaved screening of these answers when the caller has it already.
  auto step = [&deps](Context& ctx, core::PersonId person, const Form& form,
                      const std::vector<core::FieldError>& errors,
                      const eligibility::ScreeningRecord* screened = nullptr) -> Response {
    const auto& rules = deps.screenings->rules();
    json d = Common(deps, ctx, "Check what you could get", "portal");
    auto household_id = deps.households.CurrentOf(person);
    if (!household_id.ok()) return ErrorFor(deps, ctx, household_id.status());
    if (!*household_id) {
      d["no_household"] = true;
      return Render(deps, 200, "portal_check", d);
    }
    auto household = deps.households.Get(ctx.Who(), **household_id);
    if (!household.ok()) return ErrorFor(deps, ctx, household.status());
    std::vector<std::string> names;  // current members, in the engine's order
    json people = json::array();
    for (const auto& m : household->members) {
      if (!m.until.empty()) continue;
      const bool self = m.person == person;
      names.push_back(self ? T(deps, ctx, "You") : m.name);
      std::string relationship = m.relationship;
      std::replace(relationship.begin(), relationship.end(), '_', ' ');
      json row = {{"name", names.back()}, {"relationship", T(deps, ctx, page_support::Capitalised(relationship))}};
      // The person first.
      if (self) people.insert(people.begin(), std::move(row));
      else people.push_back(std::move(row));
    }
    d["people"] = std::move(people);
    // Screen with what is known so far; nothing is saved until no question is left.
    eligibility::ScreeningRequest req;
    req.household = *household_id;
    std::vector<core::FieldError> unclear;
    req.input = Answers(rules, form, names.size(), LanguageOf(ctx), &unclear);
    req.save = false;
    std::set<std::string> missing;
    std::vector<std::set<std::string>> known(names.size());  // each member's answers, registry's included
    std::vector<core::FieldError> field_errors = errors.empty() ? unclear : errors;
    std::optional<eligibility::ScreeningRecord> fresh;
    if (field_errors.empty() && screened == nullptr) {
      auto done = deps.screenings->Screen(ctx.Who(), req);
      if (!done.ok()) {
        if (done.status().code() != core::StatusCode::kInvalidArgument || done.status().fields().empty()) {
          return ErrorFor(deps, ctx, done.status());
        }
        field_errors = done.status().fields();
      } else {
        fresh = std::move(done).value();
        screened = &*fresh;
      }
    }
    if (field_errors.empty() && screened != nullptr) {
      missing = Missing(screened->result);
      for (size_t i = 0; i < known.size() && i < screened->input.members.size(); ++i) {
        for (const auto& [k, v] : screened->input.members[i]) known[i].insert(k);
      }
    }
    std::map<std::string, std::string> by_id;
    json error_list = json::array();
    std::set<std::string> asked;  // form names on the page
    for (const auto& e : field_errors) {
      const std::string id = page_support::FieldId(e.field);
      by_id[id] = AnswerError(deps, ctx, e.message);
      error_list.push_back({{"href", "#" + id}, {"message", by_id[id]}});
      // An answer with a mistake is asked again.
      const std::string name = e.field.rfind("members/", 0) == 0
                                   ? "m" + e.field.substr(8, e.field.find('/', 8) - 8) + "." +
                                         e.field.substr(e.field.rfind('/') + 1)
                                   : "in." + e.field;
      asked.insert(name);
      missing.insert(e.field.substr(e.field.rfind('/') + 1));
    }
    d["errors"] = std::move(error_list);
    d["has_errors"] = !field_errors.empty();
    const std::string_view currency = page_support::CurrencySymbolOf(rules);
    json questions = json::array();
    for (const auto& s : rules.symbols()) {
      if (!s.is_input || s.entity != eligibility::Entity::kHousehold || !missing.count(s.name)) continue;
      if (s.name == "household_size") continue;  // from the registry
      const std::string name = "in." + s.name;
      asked.insert(name);
      questions.push_back(page_support::InputField(deps, ctx, s, "in-" + s.name, name, FormValue(form, name), by_id, currency));
    }
    json member_questions = json::array();
    json ticks = json::array();
    for (size_t i = 0; i < names.size(); ++i) {
      json fields = json::array();
      json boxes = json::array();
      for (const auto& s : rules.symbols()) {
        if (!s.is_input || s.entity != eligibility::Entity::kPerson) continue;
        const std::string name = fmt::format("m{}.{}", i, s.name);
        const std::string id = fmt::format("m{}-{}", i, s.name);
        if (s.type == eligibility::Type::kBool && s.default_value) {
          asked.insert(name);
          boxes.push_back({{"id", id}, {"name", name}, {"label", T(deps, ctx, s.label)}, {"checked", FormValue(form, name) == "true"}});
        } else if (missing.count(s.name) && !known[i].count(s.name)) {
          asked.insert(name);
          fields.push_back(page_support::InputField(deps, ctx, s, id, name, FormValue(form, name), by_id, currency));
        } else if (by_id.count(id)) {
          fields.push_back(page_support::InputField(deps, ctx, s, id, name, FormValue(form, name), by_id, currency));
        }
      }
      if (!fields.empty()) member_questions.push_back({{"legend", names[i]}, {"fields", std::move(fields)}});
      ticks.push_back({{"legend", names[i]}, {"boxes", std::move(boxes)}, {"index", i}});
    }
    // Answers from earlier steps ride along unseen.
    json carried = json::array();
    for (const auto& [k, v] : form) {
      if (!asked.count(k) && !v.empty() && IsAnswer(k)) carried.push_back({{"name", k}, {"value", v}});
    }
    d["carried"] = std::move(carried);
    d["questions"] = std::move(questions);
    d["member_questions"] = std::move(member_questions);
    d["has_member_questions"] = !d["member_questions"].empty();
    d["ticks"] = std::move(ticks);
    d["has_ticks"] = !d["ticks"].empty() && !d["ticks"][0]["boxes"].empty();
    d["first_step"] = form.empty();
    d["has_questions"] = !d["questions"].empty() || !d["member_questions"].empty();
    return Render(deps, field_errors.empty() ? 200 : 400, "portal_check", d);
  };

  router.Add({"GET", "/portal/check", Auth::kPage, "", [&deps, step](Context& ctx) {
                Me me = LinkedPerson(deps, ctx);
                if (me.away) return std::move(*me.away);
                return step(ctx, me.person, {}, {});
              }});
  router.Add({"POST", "/portal/check", Auth::kPage, "", [&deps, step](Context& ctx) {
                Me me = LinkedPerson(deps, ctx);
                if (me.away) return std::move(*me.away);
                Form form = ParseForm(ctx.request.body);
                const bool finish = FormValue(form, "finish") == "1";
                form.erase("csrf_token");
                form.erase("finish");
                const auto& rules = deps.screenings->rules();
                auto household_id = deps.households.CurrentOf(me.person);
                if (!household_id.ok()) return ErrorFor(deps, ctx, household_id.status());
                if (!*household_id) return step(ctx, me.person, form, {});
                auto household = deps.households.Get(ctx.Who(), **household_id);
                if (!household.ok()) return ErrorFor(deps, ctx, household.status());
                size_t current = 0;
                for (const auto& m : household->members) current += m.until.empty() ? 1 : 0;
                eligibility::ScreeningRequest req;
                req.household = *household_id;
                std::vector<core::FieldError> unclear;
                req.input = Answers(rules, form, current, LanguageOf(ctx), &unclear);
                if (!unclear.empty()) {
                  AddEngineErrors(rules, req.input, unclear);
                  return step(ctx, me.person, form, unclear);
                }
                req.save = false;
                auto trial = deps.screenings->Screen(ctx.Who(), req);
                if (!trial.ok()) {
                  if (trial.status().code() == core::StatusCode::kInvalidArgument && !trial.status().fields().empty()) {
                    return step(ctx, me.person, form, trial.status().fields());
                  }
                  return ErrorFor(deps, ctx, trial.status());
                }
                // More to ask, unless the person stops here.
                if (!finish && !Missing(trial->result).empty()) return step(ctx, me.person, form, {}, &*trial);
                req.save = true;
                auto saved = deps.screenings->Screen(ctx.Who(), req);
                if (!saved.ok()) return ErrorFor(deps, ctx, saved.status());
                return Response::Redirect(fmt::format("/portal/screenings/{}", saved->id));
              }});

  // The results, and one application to the programs the person chooses.
  auto results_page = [&deps](Context& ctx, int64_t id, const std::vector<core::FieldError>& errors) -> Response {
    auto r = deps.screenings->Get(ctx.Who(), id);
    if (!r.ok()) return ErrorFor(deps, ctx, r.status());
    const json s = json::parse(r->result_json, nullptr, false);
    if (!s.is_object()) return ErrorFor(deps, ctx, core::Status::Internal("the screening is stored unreadably"));
    json d = Common(deps, ctx, "What you could get", "portal");
    d["screening_id"] = std::to_string(id);
    d["screened_on"] = page_support::DateText(ctx, deps.applications->LocalDay(r->created_at));
    const auto& rules = deps.screenings->rules();
    json programs = json::array();
    int likely = 0;
    for (const auto& p : s.value("programs", json::array())) {
      const std::string program = p.value("program", "");
      const std::string result = p.value("result", "unknown");
      likely += result == "eligible" ? 1 : 0;
      json o = {{"program", program},
                {"name", T(deps, ctx, p.value("name", program))},
                {"agency", page_support::AgencyName(deps.accounts, p.value("agency", ""))},
                {"tag_class", page_support::TagClass(result)},
                {"tag_text", Outcome(deps, ctx, result)},
                {"reason", p.value("reason", "")},
                {"likely", result == "eligible"}};
      if (p.contains("amount") && !p["amount"].value("text", "").empty()) o["amount_text"] = p["amount"].value("text", "");
      // Worked out with amounts no longer in force (the rule pack awaits its new values): said
      // as staff are told, in the person's words.
      if (p.contains("stale") && p["stale"].is_array() && !p["stale"].empty()) {
        o["stale"] = true;
        d["has_stale"] = true;
      }
      const int index = rules.FindProgram(program);
      if (index >= 0 && rules.programs()[static_cast<size_t>(index)].expedited_days > 0) {
        o["expedited_days"] = std::to_string(rules.programs()[static_cast<size_t>(index)].expedited_days);
      }
      programs.push_back(std::move(o));
    }
    d["programs"] = std::move(programs);
    d["likely_count"] = std::to_string(likely);
    json list = json::array();
    for (const auto& e : errors) {
      const std::string m = T(deps, ctx, page_support::Capitalised(e.message));
      d["e_" + e.field] = m;
      // A group of boxes is reached through its first box, which takes the focus.
      std::string href = "#" + e.field;
      if (e.field == "programs" && !d["programs"].empty()) {
        href = "#program-" + d["programs"][0].value("program", "");
      } else if (e.field == "expedited") {
        for (const auto& p : d["programs"]) {
          if (p.contains("expedited_days")) {
            href = "#expedited-" + p.value("program", "");
            break;
          }
        }
      }
      list.push_back({{"href", href}, {"message", m}});
    }
    d["errors"] = std::move(list);
    d["has_errors"] = !errors.empty();
    return Render(deps, errors.empty() ? 200 : 400, "portal_results", d);
  };
  router.Add({"GET", "/portal/screenings/{id}", Auth::kPage, "", [&deps, results_page](Context& ctx) {
                Me me = LinkedPerson(deps, ctx);
                if (me.away) return std::move(*me.away);
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such screening"));
                return results_page(ctx, *id, {});
              }});
  router.Add({"POST", "/portal/screenings/{id}/apply", Auth::kPage, "", [&deps, results_page](Context& ctx) {
                Me me = LinkedPerson(deps, ctx);
                if (me.away) return std::move(*me.away);
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such screening"));
                const Form form = ParseForm(ctx.request.body);
                cases::NewApplication a;
                a.screening_id = *id;
                a.applicant = me.person;
                for (auto [it, end] = form.equal_range("programs"); it != end; ++it) a.programs.push_back(it->second);
                for (auto [it, end] = form.equal_range("expedited"); it != end; ++it) a.expedited.push_back(it->second);
                auto made = deps.applications->Apply(ctx.Who(), a);
                if (!made.ok()) {
                  if (made.status().code() == core::StatusCode::kInvalidArgument && !made.status().fields().empty()) {
                    return results_page(ctx, *id, made.status().fields());
                  }
                  return ErrorFor(deps, ctx, made.status());
                }
                return Response::Redirect(fmt::format("/portal/applications/{}?made=1", made->id));
              }});

  // Every application, newest first, with where each part stands.
  router.Add({"GET", "/portal/applications", Auth::kPage, "", [&deps](Context& ctx) {
                Me me = LinkedPerson(deps, ctx, false);
                if (me.away) return std::move(*me.away);
                auto list = deps.applications->ForPerson(ctx.Who(), me.person);
                if (!list.ok()) return ErrorFor(deps, ctx, list.status());
                json d = Common(deps, ctx, "Your applications", "portal");
                json rows = json::array();
                for (const auto& a : *list) {
                  json parts = json::array();
                  for (const auto& p : a.parts) {
                    parts.push_back({{"name", T(deps, ctx, p.program_name)}, {"agency", p.agency_name},
                                     {"tag_class", StateClass(p.state)}, {"tag_text", T(deps, ctx, StateText(p.state))}});
                  }
                  rows.push_back({{"href", fmt::format("/portal/applications/{}", a.id)},
                                  {"number", std::to_string(a.id)},
                                  {"made", page_support::DateText(
                                               ctx, deps.applications->LocalDay(a.created_at))},
                                  {"parts", std::move(parts)}});
                }
                d["has_applications"] = !rows.empty();
                d["applications"] = std::move(rows);
                return Render(deps, 200, "portal_applications", d);
              }});

  auto application_page = [&deps](Context& ctx, int64_t id, int64_t error_part, const std::vector<core::FieldError>& errors,
                                   const std::string& answer) -> Response {
    auto a = deps.applications->Get(ctx.Who(), id);
    if (!a.ok()) return ErrorFor(deps, ctx, a.status());
    json d = Common(deps, ctx, "Your application", "portal");
    d["number"] = std::to_string(a->id);
    d["made"] = page_support::DateText(ctx, deps.applications->LocalDay(a->created_at));
    d["made_at_desk"] = !a->FromPortal();
    d["made_where"] = a->agency_name;
    d["may_act"] = ctx.Who().HasScope("portal:apply");
    json parts = json::array();
    json list = json::array();
    for (const auto& p : a->parts) {
      json o = {{"id", std::to_string(p.id)},
                {"name", T(deps, ctx, p.program_name)},
                {"agency", p.agency_name},
                {"tag_class", StateClass(p.state)},
                {"tag_text", T(deps, ctx, StateText(p.state))},
                {"due", page_support::DateText(ctx, p.due)},
                {"open", p.Open()},
                {"denied", p.state == "denied"},
                {"reason", p.reason},
                {"asks", p.state == "more_information"},
                {"request", p.request},
                {"has_answer", !p.answer.empty()},
                {"answer_given", p.answer},
                {"version", std::to_string(p.version)},
                {"answer_action", fmt::format("/portal/applications/{}/parts/{}/answer", a->id, p.id)}};
      if (p.decided_at)
        o["decided_on"] = page_support::DateText(ctx, deps.applications->LocalDay(*p.decided_at));
      if (p.id == error_part) {
        o["f_answer"] = answer;
        for (const auto& e : errors) {
          const std::string m = T(deps, ctx, page_support::Capitalised(e.message));
          o["e_answer"] = m;
          list.push_back({{"href", fmt::format("#answer-{}", p.id)}, {"message", m}});
        }
      }
      parts.push_back(std::move(o));
    }
    d["parts"] = std::move(parts);
    // The documents sent for it, and the form to send another.
    if (deps.documents != nullptr) {
      d["may_upload"] = ctx.Who().HasScope("portal:apply") &&
                        a->parts.end() != std::find_if(a->parts.begin(), a->parts.end(),
                                                       [](const cases::ApplicationPart& p) { return p.Open(); });
      d["upload_action"] = fmt::format("/portal/applications/{}/documents", a->id);
      std::string max_mb = fmt::format("{:.1f}", static_cast<double>(deps.documents->max_bytes()) / (1 << 20));
      if (max_mb.size() > 2 && max_mb.compare(max_mb.size() - 2, 2, ".0") == 0) max_mb.resize(max_mb.size() - 2);
      // With the decimal mark of the page's language: "0,9" in Spanish.
      std::replace(max_mb.begin(), max_mb.end(), '.', DecimalMarkOf(page_support::LanguageOf(ctx)));
      d["max_mb"] = max_mb;
      auto docs = deps.documents->ForPerson(ctx.Who(), a->applicant);
      json rows = json::array();
      if (docs.ok()) {
        for (const auto& doc : docs->first) {
          if (doc.application != a->id) continue;
          rows.push_back(
              {{"file", doc.file_name},
               {"kind", T(deps, ctx, KindText(doc.kind))},
               {"sent", page_support::DateText(ctx, deps.applications->LocalDay(doc.uploaded_at))},
               {"by", doc.agency.valid() ? doc.agency_name : T(deps, ctx, "You")}});
        }
      }
      d["has_documents"] = !rows.empty();
      d["documents"] = std::move(rows);
      json kinds = json::array();
      const std::string chosen_kind = ctx.request.Query("kind");
      for (const auto& k : cases::DocumentKinds()) {
        kinds.push_back(
            {{"value", k}, {"text", T(deps, ctx, KindText(k))}, {"selected", k == chosen_kind}});
      }
      d["kinds"] = std::move(kinds);
      if (const std::string e = SignedQueryValue(ctx, "document_error"); !e.empty()) {
        d["e_file"] = T(deps, ctx, e);
        list.push_back({{"href", "#file"}, {"message", d["e_file"]}});
      }
    }
    d["errors"] = std::move(list);
    d["has_errors"] = !d["errors"].empty();
    if (ctx.request.Query("document") == "1") d["flash"] = T(deps, ctx, "Your document is sent");
    if (ctx.request.Query("made") == "1") d["flash"] = T(deps, ctx, "Your application is sent to each agency");
    if (ctx.request.Query("answered") == "1") d["flash"] = T(deps, ctx, "Your answer is sent to the agency");
    return Render(deps, errors.empty() ? 200 : 400, "portal_application", d);
  };
  // A document for the application: a multipart form with the file. A mistake comes back as a
  // sentence on the application's page; nothing is kept.
  router.Add({"POST", "/portal/applications/{id}/documents", Auth::kPage, "", [&deps](Context& ctx) {
                Me me = LinkedPerson(deps, ctx);
                if (me.away) return std::move(*me.away);
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok() || deps.documents == nullptr) {
                  return ErrorFor(deps, ctx, core::Status::NotFound("no such application"));
                }
                const std::string back = fmt::format("/portal/applications/{}", *id);
                auto parts = ParseMultipartForm(ctx.request);
                // The kind chosen stays chosen when the file is refused: a smaller file sent next
                // is not labelled as the form's first kind.
                std::string chosen_kind;
                if (parts) {
                  if (auto k = parts->find("kind"); k != parts->end())
                    chosen_kind = k->second.value;
                }
                auto fail = [&](const std::string& message) {
                  std::string query = "?" + SignedQuery(ctx, "document_error", message);
                  const auto& kinds = cases::DocumentKinds();
                  if (std::find(kinds.begin(), kinds.end(), chosen_kind) != kinds.end())
                    query += "&kind=" + chosen_kind;
                  // No fragment: the page opens at its error summary, which takes the focus and
                  // links to the file field (a fragment would scroll past it, unannounced).
                  return Response::Redirect(back + query);
                };
                if (!parts) return fail("Choose a file to send");
                auto file = parts->find("file");
                if (file == parts->end() || file->second.file_name.empty()) return fail("Choose a file to send");
                auto kind = parts->find("kind");
                cases::NewDocument doc;
                doc.person = me.person;
                doc.application = *id;
                doc.kind = kind == parts->end() ? "" : kind->second.value;
                doc.file_name = file->second.file_name;
                doc.media_type = file->second.content_type;
                doc.content = std::move(file->second.value);
                auto done = deps.documents->Upload(ctx.Who(), doc);
                if (done.ok()) return Response::Redirect(back + "?document=1#documents");
                if (done.status().code() != core::StatusCode::kInvalidArgument) return ErrorFor(deps, ctx, done.status());
                const auto& fields = done.status().fields();
                if (std::any_of(fields.begin(), fields.end(), [](const core::FieldError& e) { return e.field == "application_id"; })) {
                  return ErrorFor(deps, ctx, core::Status::NotFound("no such application"));
                }
                // The first mistake, as a sentence the catalogues know where they can.
                const std::string field = fields.empty() ? "" : fields.front().field;
                if (field == "media_type") return fail("Send a PDF, JPEG or PNG file");
                if (field == "kind") return fail("Choose what the document is");
                // The size in the hint's words, not in bytes.
                if (field == "content" &&
                    fields.front().message.find("the limit is") != std::string::npos) {
                  return fail("The file is too big: send one smaller than the limit");
                }
                if (field == "content" &&
                    fields.front().message.find("is not a") != std::string::npos) {
                  return fail(
                      "The file is not the kind its name says: send a PDF, JPEG or PNG file");
                }
                return fail(page_support::Capitalised(fields.empty() ? done.status().message() : fields.front().message));
              }});
  router.Add({"GET", "/portal/applications/{id}", Auth::kPage, "", [&deps, application_page](Context& ctx) {
                Me me = LinkedPerson(deps, ctx, false);
                if (me.away) return std::move(*me.away);
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such application"));
                return application_page(ctx, *id, 0, {}, "");
              }});
  router.Add({"POST", "/portal/applications/{id}/parts/{part}/answer", Auth::kPage, "",
              [&deps, application_page](Context& ctx) {
                Me me = LinkedPerson(deps, ctx);
                if (me.away) return std::move(*me.away);
                auto id = ParseId(ctx.Param("id"), "id");
                auto part = ParseId(ctx.Param("part"), "part");
                if (!id.ok() || !part.ok()) return ErrorFor(deps, ctx, core::Status::NotFound("no such application"));
                const Form form = ParseForm(ctx.request.body);
                const std::string answer = Trim(FormValue(form, "answer"));
                int64_t version = 0;
                try {
                  version = std::stoll(FormValue(form, "version"));
                } catch (const std::exception&) {
                }
                auto done = deps.applications->Answer(ctx.Who(), *part, version, answer);
                if (!done.ok()) {
                  if (done.status().code() == core::StatusCode::kInvalidArgument) {
                    return application_page(ctx, *id, *part, done.status().fields(), answer);
                  }
                  return ErrorFor(deps, ctx, done.status());
                }
                return Response::Redirect(fmt::format("/portal/applications/{}?answered=1", done->id));
              }});
}

}  // namespace http
