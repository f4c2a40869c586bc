// The front office's record of contacts: "Contacts" on a client's page (every agency's contacts
// with the person as the gate allows, the notes of one's own agency, and the form to record one),
// /contacts (the agency's contacts of the day with the share resolved at the first contact, and
// an enquiry without a client), and /feedback/{token}, where the person says how it went.

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "access/access_gate.h"
#include "frontoffice/office_hours.h"
#include "http/api_interactions.h"
#include "http/json_body.h"
#include "http/page_support.h"

namespace http {
namespace {

using nlohmann::json;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;
using page_support::T;
using page_support::Trim;

json Choices(const std::vector<std::string>& values, std::string (*label)(const std::string&), const std::string& chosen) {
  json out = json::array();
  for (const auto& v : values) out.push_back({{"value", v}, {"label", label(v)}, {"checked", v == chosen}});
  return out;
}

// "2026-12-02 10:14" in the zone of the contact's office, or the deployment's for a contact
// without one; each office's zone read once a page.
class LocalClock {
 public:
  explicit LocalClock(const PageDeps& deps) : deps_(deps) {}
  std::string Text(core::Timestamp t, std::optional<int64_t> office) {
    std::string zone = deps_.office_hours != nullptr ? deps_.office_hours->default_zone() : "UTC";
    if (office && deps_.office_hours != nullptr) {
      auto found = zones_.find(*office);
      if (found == zones_.end()) {
        auto h = deps_.office_hours->Get(*office);
        found = zones_.emplace(*office, h.ok() ? h->time_zone : zone).first;
      }
      zone = found->second;
    }
    auto l = frontoffice::ToLocal(t, zone);
    if (!l.ok()) return t.ToRfc3339().substr(0, 16).replace(10, 1, " ");
    return l->date.ToString() + " " + frontoffice::ClockText(l->minute);
  }

 private:
  const PageDeps& deps_;
  std::map<int64_t, std::string> zones_;
};

json ContactRow(const PageDeps& deps, const Context& ctx, const frontoffice::Interaction& i, LocalClock& clock) {
  json row = {{"at", clock.Text(i.at, i.office)},
              {"agency", i.agency_name},
              {"office", i.office_name},
              {"has_office", !i.office_name.empty()},
              {"channel", T(deps, ctx, frontoffice::ChannelLabel(i.channel))},
              {"topic", i.topic},
              {"outcome", T(deps, ctx, frontoffice::OutcomeLabel(i.outcome))},
              {"minutes", i.duration_seconds ? T(deps, ctx, "{minutes} min",
                                                 {{"minutes", std::to_string(*i.duration_seconds / 60)}})
                                             : std::string()},
              {"by", i.recorded_by},
              {"has_note", !i.note.empty()},
              {"note", i.note},
              {"rated", i.satisfaction.has_value()},
              {"satisfaction", i.satisfaction ? std::to_string(*i.satisfaction) : ""},
              {"has_comment", !i.satisfaction_comment.empty()},
              {"comment", i.satisfaction_comment}};
  if (i.person) {
    row["has_person"] = true;
    row["person_href"] = fmt::format("/clients/{}#contacts", i.person->value);
  }
  return row;
}

// The form's fields, read and checked by the service.
frontoffice::NewInteraction FromForm(const std::multimap<std::string, std::string>& form, std::vector<core::FieldError>& errors) {
  frontoffice::NewInteraction in;
  in.channel = FormValue(form, "channel");
  in.topic = Trim(FormValue(form, "topic"));
  in.outcome = FormValue(form, "outcome");
  in.note = Trim(FormValue(form, "note"));
  const std::string minutes = Trim(FormValue(form, "minutes"));
  if (!minutes.empty()) {
    auto m = ParseId(minutes, "minutes");
    if (m.ok()) in.duration_minutes = *m;
    else if (minutes != "0") errors.push_back({"duration_minutes", "give the minutes as a whole number, like 10"});
    else in.duration_minutes = 0;
  }
  return in;
}

// The form with its errors, on the page it belongs to.
void FormInto(const PageDeps& deps, const Context& ctx, json& d, const std::multimap<std::string, std::string>& form,
              const std::vector<core::FieldError>& errors) {
  d["channels"] = Choices(frontoffice::Channels(), frontoffice::ChannelLabel, FormValue(form, "channel"));
  d["outcomes"] = Choices(frontoffice::Outcomes(), frontoffice::OutcomeLabel, FormValue(form, "outcome"));
  for (const char* list : {"channels", "outcomes"}) {
    for (auto& c : d[list]) c["label"] = T(deps, ctx, c["label"].get<std::string>());
  }
  d["f_topic"] = FormValue(form, "topic");
  d["f_minutes"] = FormValue(form, "minutes");
  d["f_note"] = FormValue(form, "note");
  json list = json::array();
  // In the order the fields are on the page.
  static const std::map<std::string, int> kPlace = {
      {"channel", 0}, {"topic", 1}, {"outcome", 2}, {"duration_minutes", 3}, {"note", 4}};
  std::vector<core::FieldError> ordered = errors;
  std::stable_sort(
      ordered.begin(), ordered.end(), [](const core::FieldError& a, const core::FieldError& b) {
        const auto pa = kPlace.find(a.field), pb = kPlace.find(b.field);
        return (pa == kPlace.end() ? 9 : pa->second) < (pb == kPlace.end() ? 9 : pb->second);
      });
  for (const auto& e : ordered) {
    std::string field = e.field == "duration_minutes" ? "minutes" : e.field;
    // The service's messages name its codes ("follow_up"); a person is asked in words.
    static const std::map<std::string, std::string> kAsked = {
        {"channel", "Choose how the contact was made"},
        {"outcome", "Choose the outcome"},
        {"minutes", "Enter the minutes it took, from 0 to 600"}};
    std::string message = e.message;
    if (!message.empty()) message[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(message[0])));
    if (auto asked = kAsked.find(field); asked != kAsked.end() && e.message.starts_with("must be "))
      message = asked->second;
    message = T(deps, ctx, message);
    if (!d.contains("e_" + field)) d["e_" + field] = message;
    std::string href = "#contact-" + field;
    if (field == "channel") href = "#contact-channel-desk";
    if (field == "outcome") href = "#contact-outcome-resolved";
    list.push_back({{"message", message}, {"href", href}});
  }
  d["has_errors"] = !errors.empty();
  d["errors"] = std::move(list);
}

Response Recorded(const PageDeps& deps, Context& ctx, const frontoffice::Recorded& rec, const std::string& back) {
  json d = Common(deps, ctx, "Contact recorded", "contacts");
  d["topic"] = rec.interaction.topic;
  d["outcome"] = T(deps, ctx, frontoffice::OutcomeLabel(rec.interaction.outcome));
  d["feedback_path"] = "/feedback/" + rec.feedback_token;
  d["back_href"] = back;
  return Render(deps, 201, "contact_recorded", d);
}

}  // namespace

void ClientContacts(const PageDeps& deps, const Context& ctx, core::PersonId person, json& d,
                    std::vector<cases::TimelineEntry>& timeline) {
  auto contacts = deps.interactions->ForPerson(ctx.Who(), person);
  d["show_interactions"] = true;
  d["interactions_action"] = fmt::format("/clients/{}/contacts", person.value);
  if (contacts.ok()) {
    // The newest contacts; the rest are on the person's timeline, one link away.
    constexpr size_t kShown = 10;
    json rows = json::array();
    LocalClock clock(deps);
    for (const auto& i : contacts->items) {
      if (rows.size() == kShown) break;
      rows.push_back(ContactRow(deps, ctx, i, clock));
    }
    if (contacts->items.size() > kShown) {
      d["interactions_all"] = T(deps, ctx, "See all {count} contacts", {{"count", std::to_string(contacts->items.size())}});
      d["interactions_all_href"] = fmt::format("/clients/{}/timeline?kind=contact", person.value);
    }
    d["has_interactions"] = !rows.empty();
    d["interactions"] = std::move(rows);
    if (!contacts->withheld.empty()) d["interactions_withheld"] = "The contacts are withheld from you: " + contacts->withheld;
    timeline = ContactEntries(contacts->items, person.value);
  }
  FormInto(deps, ctx, d, {}, {});
  d["has_errors"] = false;
  d["errors"] = json::array();
}

void AddInteractionPages(Router& router, const PageDeps& deps) {
  if (deps.interactions == nullptr) return;

  router.Add({"POST", "/clients/{id}/contacts", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = ParseId(ctx.Param("id"), "id");
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                const auto form = ParseForm(ctx.request.body);
                std::vector<core::FieldError> errors;
                frontoffice::NewInteraction in = FromForm(form, errors);
                in.person = core::PersonId{*id};
                const std::string back = fmt::format("/clients/{}#contacts", *id);
                {
                  // What could not be read is named with the service's own checks, at once.
                  auto rec = deps.interactions->Record(ctx.Who(), in, errors);
                  if (rec.ok()) return Recorded(deps, ctx, *rec, back);
                  if (rec.status().code() != core::StatusCode::kInvalidArgument) return ErrorFor(deps, ctx, rec.status());
                  errors = rec.status().fields();
                }
                json d = Common(deps, ctx, "Record a contact", "contacts");
                d["action"] = fmt::format("/clients/{}/contacts", *id);
                d["back_href"] = back;
                d["with_client"] = true;
                FormInto(deps, ctx, d, form, errors);
                return Render(deps, 400, "contact_form", d);
              }});

  router.Add({"GET", "/contacts", Auth::kPage, "", [&deps](Context& ctx) {
                auto day = deps.interactions->AgencyDay(ctx.Who(), deps.interactions->Today());
                if (!day.ok()) return ErrorFor(deps, ctx, day.status());
                json d = Common(deps, ctx, "Contacts today", "contacts");
                json rows = json::array();
                int resolved = 0, rated = 0, satisfied = 0;
                LocalClock clock(deps);
                for (const auto& i : *day) {
                  rows.push_back(ContactRow(deps, ctx, i, clock));
                  resolved += i.outcome == "resolved";
                  if (i.satisfaction) {
                    ++rated;
                    satisfied += *i.satisfaction >= 4;
                  }
                }
                d["has_contacts"] = !rows.empty();
                d["contacts"] = std::move(rows);
                d["count"] = std::to_string(day->size());
                if (!day->empty()) {
                  d["resolved_text"] = T(
                      deps, ctx, "{resolved} of {count} resolved at the first contact ({percent}%)",
                      {{"resolved", std::to_string(resolved)},
                       {"count", std::to_string(day->size())},
                       // One decimal, as the performance pages write the same rate.
                       {"percent", fmt::format("{:.1f}", resolved * 100.0 /
                                                             static_cast<double>(day->size()))}});
                }
                if (rated > 0) {
                  d["satisfied_text"] = T(deps, ctx, "{satisfied} of {rated} ratings are 4 or 5",
                                          {{"satisfied", std::to_string(satisfied)}, {"rated", std::to_string(rated)}});
                }
                d["action"] = "/contacts";
                FormInto(deps, ctx, d, {}, {});
                d["has_errors"] = false;
                d["errors"] = json::array();
                return Render(deps, 200, "contacts", d);
              }});

  router.Add({"POST", "/contacts", Auth::kPage, "", [&deps](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                std::vector<core::FieldError> errors;
                frontoffice::NewInteraction in = FromForm(form, errors);
                {
                  auto rec = deps.interactions->Record(ctx.Who(), in, errors);
                  if (rec.ok()) return Recorded(deps, ctx, *rec, "/contacts");
                  if (rec.status().code() != core::StatusCode::kInvalidArgument) return ErrorFor(deps, ctx, rec.status());
                  errors = rec.status().fields();
                }
                json d = Common(deps, ctx, "Record an enquiry", "contacts");
                d["action"] = "/contacts";
                d["back_href"] = "/contacts";
                FormInto(deps, ctx, d, form, errors);
                return Render(deps, 400, "contact_form", d);
              }});

  auto feedback_page = [&deps](Context& ctx, int status, const std::multimap<std::string, std::string>& form,
                               const std::vector<core::FieldError>& errors) {
    auto about = deps.interactions->FeedbackFor(ctx.Param("token"));
    if (!about.ok()) return ErrorFor(deps, ctx, about.status());
    json d = Common(deps, ctx, "How did it go?", "");
    d["agency"] = about->agency_name;
    d["topic"] = about->topic;
    d["action"] = "/feedback/" + ctx.Param("token");
    json scores = json::array();
    const char* labels[] = {"", "1 — very dissatisfied", "2 — dissatisfied", "3 — neither", "4 — satisfied",
                            "5 — very satisfied"};
    for (int s = 5; s >= 1; --s) {
      scores.push_back({{"value", s}, {"label", T(deps, ctx, labels[s])},
                        {"checked", FormValue(form, "score") == std::to_string(s)}});
    }
    d["scores"] = std::move(scores);
    d["f_comment"] = FormValue(form, "comment");
    json list = json::array();
    for (const auto& e : errors) {
      const std::string message = T(deps, ctx, e.message);
      d["e_" + e.field] = message;
      list.push_back({{"message", message}, {"href", e.field == "score" ? "#score-5" : "#comment"}});
    }
    d["has_errors"] = !errors.empty();
    d["errors"] = std::move(list);
    return Render(deps, status, "feedback", d);
  };
  router.Add({"GET", "/feedback/{token}", Auth::kPublic, "", [feedback_page](Context& ctx) {
                return feedback_page(ctx, 200, {}, {});
              }});
  router.Add({"POST", "/feedback/{token}", Auth::kPublic, "", [&deps, feedback_page](Context& ctx) {
                const auto form = ParseForm(ctx.request.body);
                int score = 0;
                if (auto s = ParseId(FormValue(form, "score"), "score"); s.ok()) score = static_cast<int>(*s);
                core::Status done = deps.interactions->Feedback(ctx.Param("token"), score, Trim(FormValue(form, "comment")));
                if (done.ok()) {
                  json d = Common(deps, ctx, "Thank you", "");
                  return Render(deps, 200, "feedback_thanks", d);
                }
                if (done.code() != core::StatusCode::kInvalidArgument) return ErrorFor(deps, ctx, done);
                std::vector<core::FieldError> errors;
                for (auto e : done.fields()) {
                  e.message[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(e.message[0])));
                  errors.push_back(e);
                }
                return feedback_page(ctx, 400, form, errors);
              }});
}

}  // namespace http
