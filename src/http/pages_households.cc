// The household pages: /households/{id} (who lives there, their screenings, and the forms to
// add a member and to record that one left), /clients/{id}/household/new (start a household with
// the client) and /households/{id}/members/{person}/end. The same service as the API: each
// change is gated, audited and told to the agencies that know the person.

#include <fmt/format.h>

#include <algorithm>
#include <array>

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
using page_support::T;
using page_support::Trim;

using Form = std::multimap<std::string, std::string>;

// A relationship in words, in the request's language: "other_relative" → "other relative".
std::string RelationshipText(const PageDeps& deps, const Context& ctx, std::string relationship) {
  std::replace(relationship.begin(), relationship.end(), '_', ' ');
  return T(deps, ctx, relationship);
}

json RelationshipChoices(const PageDeps& deps, const Context& ctx, const std::string& chosen) {
  json out = json::array();
  for (const char* r : registry::kRelationships) {
    out.push_back(
        {{"value", r}, {"label", RelationshipText(deps, ctx, r)}, {"selected", chosen == r}});
  }
  return out;
}

// A member as the reader may name them: "Maria Silva (client 301)", or "Client 301" when their
// names are withheld from the reader.
std::string MemberName(const PageDeps& deps, const Context& ctx, const registry::Membership& m) {
  if (!m.name_withheld) {
    return T(deps, ctx, "{name} (client {id, number, ::group-off})",
             {{"name", m.name}, {"id", std::to_string(m.person.value)}});
  }
  return T(deps, ctx, "Client {id, number, ::group-off}", {{"id", std::to_string(m.person.value)}});
}

// Member `person` of `h` so.
std::string MemberName(const PageDeps& deps, const Context& ctx, const registry::Household& h,
                       core::PersonId person) {
  for (const auto& m : h.members) {
    if (m.person == person && !m.name_withheld) return MemberName(deps, ctx, m);
  }
  registry::Membership withheld;
  withheld.person = person;
  withheld.name_withheld = true;
  return MemberName(deps, ctx, withheld);
}

// The page's words for a date the service refused; its own words where no page words are known.
std::string DateProblem(const PageDeps& deps, const Context& ctx, bool joined,
                        const std::string& message) {
  if (message == "must not be after today") {
    return joined ? T(deps, ctx, "The date they joined must be today or in the past")
                  : T(deps, ctx, "The date they left must be today or in the past");
  }
  if (message == "must not be before the client's date of birth") {
    return T(deps, ctx, "The date they joined must not be before their date of birth");
  }
  if (message == "must not be before the start of the client's current household") {
    return T(deps, ctx,
             "The date they joined must not be before they joined the household they live in now");
  }
  if (message == "must not be after the client's date of death") {
    return T(deps, ctx, "The date they joined must not be after their date of death");
  }
  if (message == "must not be before the start") {
    return T(deps, ctx, "The date they left must not be before they joined");
  }
  return page_support::Said(deps, ctx, page_support::Capitalised(message));
}

// The page's errors: each in the summary, linked to its field, and beside the field ("e_<field>").
void AddErrors(json& d, const std::string& form_id, const std::vector<core::FieldError>& errors) {
  if (errors.empty()) return;
  d["has_errors"] = true;
  json list = json::array();
  for (const auto& e : errors) {
    // A change someone else made meanwhile is about the household, not a field.
    list.push_back({{"message", e.message},
                    {"href", e.field == "household" ? "#members" : "#" + form_id + "-" + e.field}});
    d["e_" + e.field] = e.message;
  }
  d["errors"] = std::move(list);
}

// A date typed in a form (the browser's date field sends YYYY-MM-DD); `missing` when empty.
std::optional<core::Date> FormDate(const Form& form, const std::string& field,
                                   const std::string& missing, const std::string& unclear,
                                   std::vector<core::FieldError>& errors) {
  const std::string text = Trim(FormValue(form, field));
  if (text.empty()) {
    errors.push_back({field, missing});
    return std::nullopt;
  }
  auto date = core::Date::Parse(text);
  if (!date.ok()) {
    errors.push_back({field, unclear});
    return std::nullopt;
  }
  return *date;
}

// The relationship and the date joined, as the add-a-member and start-a-household forms give
// them; their mistakes go to `errors`.
struct MembershipFields {
  std::string relationship;
  std::optional<core::Date> since;
};
MembershipFields ReadMembership(const PageDeps& deps, const Context& ctx, const Form& form,
                                std::vector<core::FieldError>& errors) {
  MembershipFields out;
  out.relationship = FormValue(form, "relationship");
  if (!registry::IsRelationship(out.relationship)) {
    errors.push_back(
        {"relationship", T(deps, ctx, "Select how they are related to the household")});
  }
  out.since =
      FormDate(form, "since", T(deps, ctx, "Enter the date they joined"),
               T(deps, ctx, "Enter the date they joined as a real date, like 2026-03-01"), errors);
  return out;
}

std::string Today(const PageDeps& deps) {
  return deps.applications != nullptr ? deps.applications->Today().ToString()
                                      : core::SystemClock().Now().UtcDate().ToString();
}

// The household's version a form was shown with (its hidden field), if it has one.
registry::MembershipCheck CheckOf(const Form& form) {
  registry::MembershipCheck check;
  // A version that is not one (edited, cut short) matches none: nothing is saved.
  if (const std::string v = FormValue(form, "version"); !v.empty()) {
    auto parsed = ParseId(v, "version");
    check.version = parsed.ok() ? *parsed : -1;
  }
  // The move confirmed is the one asked about: for the client number it named, not for another
  // typed after it.
  const std::string move = FormValue(form, "move");
  check.move_confirmed = !move.empty() && move == Trim(FormValue(form, "person_id"));
  return check;
}

// The household page, with the add-a-member form holding `form` and showing `errors`.
Response HouseholdPage(const PageDeps& deps, const Context& ctx, int64_t id, int status,
                       const Form& form, const std::vector<core::FieldError>& errors) {
  auto h = deps.households.Get(ctx.Who(), core::HouseholdId{id});
  if (!h.ok()) return ErrorFor(deps, ctx, h.status());
  // Names the reader may not see are not shown: the member by number, the household by its.
  const std::string title = h->name_withheld ? T(deps, ctx, "Household {id, number, ::group-off}",
                                                 {{"id", std::to_string(id)}})
                                             : h->name;
  json d = Common(deps, ctx, title, "clients");
  d["name"] = title;
  d["id"] = std::to_string(id);
  d["version"] = std::to_string(h->version);
  json members = json::array();
  for (const auto& m : h->members) {
    json o = {{"href", fmt::format("/clients/{}", m.person.value)},
              {"name", m.name_withheld ? T(deps, ctx, "Client {id, number, ::group-off}",
                                           {{"id", std::to_string(m.person.value)}})
                                       : m.name},
              {"relationship", RelationshipText(deps, ctx, m.relationship)},
              {"since", m.since}};
    if (m.until.empty()) {
      o["end_href"] = fmt::format("/households/{}/members/{}/end", id, m.person.value);
      o["remove_href"] = fmt::format("/households/{}/members/{}/remove", id, m.person.value);
    } else {
      o["until"] = m.until;
    }
    members.push_back(std::move(o));
  }
  d["members"] = std::move(members);
  d["back_href"] = "/clients";
  d["flash"] = SignedQueryValue(ctx, "done");
  if (d["flash"].get<std::string>().empty()) d.erase("flash");
  d["f_person_id"] = FormValue(form, "person_id");
  d["f_since"] = form.empty() ? Today(deps) : FormValue(form, "since");
  d["relationships"] = RelationshipChoices(deps, ctx, FormValue(form, "relationship"));
  // Someone who lives in another household: the form asks to confirm the move, keeping what
  // was typed.
  for (const auto& e : errors) {
    if (e.field == "move") {
      d["confirm_move"] = true;
      d["move_for"] = Trim(FormValue(form, "person_id"));
    }
  }
  AddErrors(d, "add", errors);
  if (deps.screenings != nullptr) {
    d["screen_href"] = fmt::format("/screening?household={}", id);
    auto list = deps.screenings->ForReadHousehold(ctx.Who(), *h, 10);
    json screenings = json::array();
    if (list.ok()) {
      for (const auto& r : *list) {
        json s = json::parse(r.result_json, nullptr, false);
        int eligible = 0, unknown = 0;
        if (!s.is_discarded()) {
          for (const auto& p : s["programs"]) {
            eligible += p.value("result", "") == "eligible";
            unknown += p.value("result", "") == "unknown";
          }
        }
        screenings.push_back(
            {{"href", fmt::format("/screenings/{}", r.id)},
             {"when", r.created_at.ToRfc3339().substr(0, 10)},
             {"as_of", r.as_of.ToString()},
             {"summary",
              T(deps, ctx, "{eligible} likely eligible, {unknown} need more answers",
                {{"eligible", std::to_string(eligible)}, {"unknown", std::to_string(unknown)}})}});
      }
    }
    d["screenings"] = std::move(screenings);
  }
  return Render(deps, status, "household_view", d);
}

// The form to start a household with a client, holding `form` and showing `errors`.
Response StartPage(const PageDeps& deps, const Context& ctx, int64_t person, int status,
                   const Form& form, const std::vector<core::FieldError>& errors) {
  auto view = deps.persons.Get(ctx.Who(), core::PersonId{person});
  if (!view.ok()) return ErrorFor(deps, ctx, view.status());
  json d = Common(deps, ctx, "Start a household", "clients");
  const registry::Person& p = view->person;
  const bool named = view->decision.Sees(authz::Field::kNames) && !p.names.empty();
  d["client"] =
      named ? T(deps, ctx, "{name} (client {id, number, ::group-off})",
                {{"name", Trim(p.names[0].given + " " + p.names[0].family)},
                 {"id", std::to_string(person)}})
            : T(deps, ctx, "Client {id, number, ::group-off}", {{"id", std::to_string(person)}});
  d["action"] = fmt::format("/clients/{}/household/new", person);
  d["back_href"] = fmt::format("/clients/{}", person);
  // Whether and where someone lives is household data: the form is for those who may see it.
  if (!view->decision.Sees(authz::Field::kHousehold)) {
    if (auto refused =
            deps.households.CheckChange(ctx.Who(), "household.create", {}, core::PersonId{person});
        !refused.ok()) {
      return ErrorFor(deps, ctx, refused);
    }
    return ErrorFor(deps, ctx,
                    core::Status::PermissionDenied("the household category is withheld from you"));
  }
  // Someone who lives in a household already is not offered a second one (the form sent again
  // would move them out of the first): the household's page is where people join it, linked when
  // the reader may see it whole.
  if (auto current = deps.households.CurrentOf(core::PersonId{person}); current.ok() && *current) {
    d["lives_in"] = true;
    if (deps.households.MaySee(ctx.Who(), **current)) {
      d["lives_in_href"] = fmt::format("/households/{}", (*current)->value);
    }
    return Render(deps, status == 200 ? 200 : 409, "household_start", d);
  }
  if (form.empty()) {
    d["f_name"] = named && !p.names[0].family.empty()
                      ? T(deps, ctx, "{family} household", {{"family", p.names[0].family}})
                      : std::string();
    d["f_since"] = Today(deps);
  } else {
    d["f_name"] = FormValue(form, "name");
    d["f_since"] = FormValue(form, "since");
  }
  d["relationships"] =
      RelationshipChoices(deps, ctx, form.empty() ? "head" : FormValue(form, "relationship"));
  AddErrors(d, "start", errors);
  return Render(deps, status, "household_start", d);
}

// The page of a form about one current member of household `id` (`title`, its action ending in
// `verb`): who they are, since when, and the household's version; the error page when the
// household may not be read or they are not a current member.
std::optional<Response> MemberFormData(const PageDeps& deps, const Context& ctx, int64_t id,
                                       int64_t person, const std::string& title,
                                       const std::string& verb, json& d) {
  auto h = deps.households.Get(ctx.Who(), core::HouseholdId{id});
  if (!h.ok()) return ErrorFor(deps, ctx, h.status());
  const auto current = std::find_if(
      h->members.begin(), h->members.end(),
      [&](const registry::Membership& m) { return m.person.value == person && m.until.empty(); });
  if (current == h->members.end()) {
    return ErrorFor(deps, ctx,
                    core::Status::NotFound("The person is not a member of this household"));
  }
  d = Common(deps, ctx, title, "clients");
  d["member"] = MemberName(deps, ctx, *h, current->person);
  d["since"] = current->since;
  d["household_href"] = fmt::format("/households/{}", id);
  d["action"] = fmt::format("/households/{}/members/{}/{}", id, person, verb);
  d["version"] = std::to_string(h->version);
  return std::nullopt;
}

// The form to record that a member left, holding `form` and showing `errors`.
Response EndPage(const PageDeps& deps, const Context& ctx, int64_t id, int64_t person, int status,
                 const Form& form, const std::vector<core::FieldError>& errors) {
  json d;
  if (auto error = MemberFormData(deps, ctx, id, person, "Record that a member left", "end", d)) {
    return *std::move(error);
  }
  d["f_until"] = form.empty() ? Today(deps) : FormValue(form, "until");
  AddErrors(d, "end", errors);
  return Render(deps, status, "household_end", d);
}

// The form to take back a membership added by mistake, holding `form` and showing `errors`.
Response RemovePage(const PageDeps& deps, const Context& ctx, int64_t id, int64_t person,
                    int status, const Form& form, const std::vector<core::FieldError>& errors) {
  json d;
  if (auto error =
          MemberFormData(deps, ctx, id, person, "Remove a member added by mistake", "remove", d)) {
    return *std::move(error);
  }
  d["end_href"] = fmt::format("/households/{}/members/{}/end", id, person);
  d["f_reason"] = FormValue(form, "reason");
  AddErrors(d, "remove", errors);
  return Render(deps, status, "household_remove", d);
}

// The page's error when the household changed after the form was shown.
std::vector<core::FieldError> Stale(const PageDeps& deps, const Context& ctx) {
  return {{"household",
           T(deps, ctx,
             "The household changed since you opened the page (this form may have been sent "
             "already), so this one saved nothing: check who lives here now")}};
}

// The service's refusal of a form's values as the page's errors; nullopt for what is not about
// the values (refused, not found, unavailable), which gets its error page.
std::optional<std::vector<core::FieldError>> FormErrors(const PageDeps& deps, const Context& ctx,
                                                        const core::Status& s, bool joined) {
  if (s.code() == core::StatusCode::kAlreadyExists) {
    return std::vector<core::FieldError>{
        {"person_id", T(deps, ctx, "They are already a member of this household")}};
  }
  if (s.code() == core::StatusCode::kAborted) return Stale(deps, ctx);
  if (s.code() != core::StatusCode::kInvalidArgument || s.fields().empty()) return std::nullopt;
  std::vector<core::FieldError> out;
  for (const auto& f : s.fields()) {
    std::string message;
    if (f.field == "since" || f.field == "until") {
      message = DateProblem(deps, ctx, joined, f.message);
    } else if (f.field == "person_id") {
      message = T(deps, ctx, "There is no client with that number");
    } else if (f.field == "name") {
      message = T(deps, ctx, "Enter a name for the household, of up to 200 characters");
    } else if (f.field == "relationship") {
      message = T(deps, ctx, "Select how they are related to the household");
    } else {
      message = page_support::Said(deps, ctx, page_support::Capitalised(f.message));
    }
    out.push_back({f.field, message});
  }
  return out;
}

// The household and member numbers in the address of a member's form; with `action`, the change
// checked as one the caller may make. The error page to answer instead when the numbers cannot
// be read or the change is refused.
std::optional<Response> MemberOfForm(const PageDeps& deps, const Context& ctx, const char* action,
                                     int64_t& id, int64_t& person) {
  auto h = ParseId(ctx.Param("id"), "id");
  auto p = ParseId(ctx.Param("person"), "person");
  if (!h.ok() || !p.ok())
    return ErrorFor(deps, ctx, core::Status::NotFound("There is no such record"));
  id = *h;
  person = *p;
  if (action != nullptr) {
    if (auto may = deps.households.CheckChange(ctx.Who(), action, core::HouseholdId{id},
                                               core::PersonId{person});
        !may.ok()) {
      return ErrorFor(deps, ctx, may);
    }
  }
  return std::nullopt;
}

}  // namespace

void AddHouseholdPages(Router& router, const PageDeps& deps) {
  router.Add({"GET", "/households/{id}", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok())
                  return ErrorFor(deps, ctx, core::Status::NotFound("There is no such record"));
                return HouseholdPage(deps, ctx, *id, 200, {}, {});
              }});

  router.Add(
      {"POST", "/households/{id}/members", Auth::kPage, "", [&deps](Context& ctx) {
         auto id = ParseId(ctx.Param("id"), "id");
         if (!id.ok())
           return ErrorFor(deps, ctx, core::Status::NotFound("There is no such record"));
         // A caller whose role may not change households is refused before the form is read.
         if (auto may = deps.households.CheckChange(ctx.Who(), "household.add_member",
                                                    core::HouseholdId{*id}, std::nullopt);
             !may.ok()) {
           return ErrorFor(deps, ctx, may);
         }
         const Form form = ParseForm(ctx.request.body);
         std::vector<core::FieldError> errors;
         const std::string number = Trim(FormValue(form, "person_id"));
         std::optional<int64_t> person;
         if (number.empty()) {
           errors.push_back(
               {"person_id", T(deps, ctx, "Enter the client number of the person joining")});
         } else if (auto n = ParseId(number, "person_id"); n.ok()) {
           person = *n;
         } else {
           errors.push_back(
               {"person_id", T(deps, ctx, "Enter the client number in figures, like 301")});
         }
         const auto [relationship, since] = ReadMembership(deps, ctx, form, errors);
         if (!errors.empty()) return HouseholdPage(deps, ctx, *id, 400, form, errors);
         auto done =
             deps.households.AddMember(ctx.Who(), core::HouseholdId{*id}, core::PersonId{*person},
                                       relationship, *since, CheckOf(form));
         if (!done.ok()) {
           auto shown = FormErrors(deps, ctx, done.status(), true);
           if (!shown) return ErrorFor(deps, ctx, done.status());
           for (auto& e : *shown) {
             // A move is made only once it is confirmed: a mistyped number would otherwise take a
             // stranger out of their household.
             if (e.field == "move") {
               e.message = T(
                   deps, ctx,
                   "Client {id, number, ::group-off} lives in another household now. If they have "
                   "moved here, confirm it: they leave that household on {date}",
                   {{"id", std::to_string(*person)}, {"date", since->ToString()}});
             }
           }
           return HouseholdPage(deps, ctx, *id,
                                done.status().code() == core::StatusCode::kAborted ? 409 : 400,
                                form, *shown);
         }
         const std::string said =
             T(deps, ctx, "{member} joined the household on {date}",
               {{"member", MemberName(deps, ctx, *done, core::PersonId{*person})},
                {"date", since->ToString()}});
         return Response::Redirect(
             fmt::format("/households/{}?{}", *id, SignedQuery(ctx, "done", said)));
       }});

  router.Add(
      {"GET", "/households/{id}/members/{person}/end", Auth::kPage, "", [&deps](Context& ctx) {
         int64_t id = 0, person = 0;
         if (auto error = MemberOfForm(deps, ctx, nullptr, id, person)) return *std::move(error);
         return EndPage(deps, ctx, id, person, 200, {}, {});
       }});

  router.Add(
      {"POST", "/households/{id}/members/{person}/end", Auth::kPage, "", [&deps](Context& ctx) {
         int64_t id = 0, person = 0;
         if (auto error = MemberOfForm(deps, ctx, "household.end_member", id, person))
           return *std::move(error);
         const Form form = ParseForm(ctx.request.body);
         std::vector<core::FieldError> errors;
         auto until = FormDate(
             form, "until", T(deps, ctx, "Enter the date they left"),
             T(deps, ctx, "Enter the date they left as a real date, like 2026-03-01"), errors);
         if (!errors.empty()) return EndPage(deps, ctx, id, person, 400, form, errors);
         auto done = deps.households.EndMembership(ctx.Who(), core::HouseholdId{id},
                                                   core::PersonId{person}, *until, CheckOf(form));
         // Changed meanwhile (a second tab recorded it, or someone else did): the household as it
         // is now, with nothing saved.
         if (done.status().code() == core::StatusCode::kAborted ||
             done.status().code() == core::StatusCode::kNotFound) {
           return HouseholdPage(deps, ctx, id, 409, {}, Stale(deps, ctx));
         }
         if (!done.ok()) {
           auto shown = FormErrors(deps, ctx, done.status(), false);
           if (!shown) return ErrorFor(deps, ctx, done.status());
           return EndPage(deps, ctx, id, person, 400, form, *shown);
         }
         const std::string said =
             T(deps, ctx, "{member} left the household on {date}",
               {{"member", MemberName(deps, ctx, *done, core::PersonId{person})},
                {"date", until->ToString()}});
         return Response::Redirect(
             fmt::format("/households/{}?{}", id, SignedQuery(ctx, "done", said)));
       }});

  router.Add(
      {"GET", "/households/{id}/members/{person}/remove", Auth::kPage, "", [&deps](Context& ctx) {
         int64_t id = 0, person = 0;
         if (auto error = MemberOfForm(deps, ctx, nullptr, id, person)) return *std::move(error);
         return RemovePage(deps, ctx, id, person, 200, {}, {});
       }});

  router.Add(
      {"POST", "/households/{id}/members/{person}/remove", Auth::kPage, "", [&deps](Context& ctx) {
         int64_t id = 0, person = 0;
         if (auto error = MemberOfForm(deps, ctx, "household.remove_member", id, person))
           return *std::move(error);
         const Form form = ParseForm(ctx.request.body);
         const std::string reason = Trim(FormValue(form, "reason"));
         if (reason.empty()) {
           return RemovePage(
               deps, ctx, id, person, 400, form,
               {{"reason", T(deps, ctx, "Say what the mistake was, so that others can see why")}});
         }
         auto done = deps.households.RemoveMistake(ctx.Who(), core::HouseholdId{id},
                                                   core::PersonId{person}, reason, CheckOf(form));
         if (done.status().code() == core::StatusCode::kAborted ||
             done.status().code() == core::StatusCode::kNotFound) {
           return HouseholdPage(deps, ctx, id, 409, {}, Stale(deps, ctx));
         }
         if (done.status().code() == core::StatusCode::kInvalidArgument) {
           return RemovePage(
               deps, ctx, id, person, 400, form,
               {{"reason",
                 T(deps, ctx, "Say what the mistake was in one line of up to 500 characters")}});
         }
         if (!done.ok()) return ErrorFor(deps, ctx, done.status());
         const std::string name = MemberName(deps, ctx, done->removed);
         const std::string said =
             done->restored
                 ? T(deps, ctx,
                     "{member} was removed from the household, as added by mistake, and lives in "
                     "household "
                     "{household, number, ::group-off} again",
                     {{"member", name}, {"household", std::to_string(done->restored->value)}})
                 : T(deps, ctx, "{member} was removed from the household, as added by mistake",
                     {{"member", name}});
         return Response::Redirect(
             fmt::format("/households/{}?{}", id, SignedQuery(ctx, "done", said)));
       }});

  router.Add({"GET", "/clients/{id}/household/new", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok())
                  return ErrorFor(deps, ctx, core::Status::NotFound("There is no such record"));
                return StartPage(deps, ctx, *id, 200, {}, {});
              }});

  router.Add(
      {"POST", "/clients/{id}/household/new", Auth::kPage, "", [&deps](Context& ctx) {
         auto id = ParseId(ctx.Param("id"), "id");
         if (!id.ok())
           return ErrorFor(deps, ctx, core::Status::NotFound("There is no such record"));
         if (auto may = deps.households.CheckChange(ctx.Who(), "household.create", {},
                                                    core::PersonId{*id});
             !may.ok()) {
           return ErrorFor(deps, ctx, may);
         }
         const Form form = ParseForm(ctx.request.body);
         std::vector<core::FieldError> errors;
         const std::string name = Trim(FormValue(form, "name"));
         if (name.empty())
           errors.push_back({"name", T(deps, ctx, "Enter a name for the household")});
         const auto [relationship, since] = ReadMembership(deps, ctx, form, errors);
         if (!errors.empty()) return StartPage(deps, ctx, *id, 400, form, errors);
         auto done =
             deps.households.Start(ctx.Who(), name, core::PersonId{*id}, relationship, *since);
         if (done.status().code() == core::StatusCode::kAlreadyExists) {
           return StartPage(deps, ctx, *id, 409, form, {});
         }
         if (!done.ok()) {
           auto shown = FormErrors(deps, ctx, done.status(), true);
           if (!shown) return ErrorFor(deps, ctx, done.status());
           return StartPage(deps, ctx, *id, 400, form, *shown);
         }
         const std::string said = T(deps, ctx, "Household started: {member} lives here from {date}",
                                    {{"member", MemberName(deps, ctx, *done, core::PersonId{*id})},
                                     {"date", since->ToString()}});
         return Response::Redirect(
             fmt::format("/households/{}?{}", done->id.value, SignedQuery(ctx, "done", said)));
       }});
}

}  // namespace http
