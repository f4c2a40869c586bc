#include "frontoffice/interaction_service.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/crypto.h"
#include "core/utf8.h"

namespace frontoffice {

using core::Status;
using core::StatusOr;

namespace {

bool Sees(const authz::Decision& d, const std::string& category) {
  return d.allowed && std::none_of(d.withheld.begin(), d.withheld.end(),
                                   [&](const authz::Withheld& w) { return w.category == category; });
}

std::string WithheldReason(const authz::Decision& d, const std::string& category) {
  if (!d.allowed) return d.reason;
  for (const auto& w : d.withheld) {
    if (w.category == category) return w.reason;
  }
  return {};
}

constexpr int64_t kFeedbackDays = 30;
constexpr int64_t kDayMicros = 86'400'000'000;

std::string Json(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

const std::vector<std::string>& Channels() {
  static const std::vector<std::string> channels = {"desk", "phone", "web", "email", "outreach"};
  return channels;
}

const std::vector<std::string>& Outcomes() {
  static const std::vector<std::string> outcomes = {"resolved", "referred", "booked", "follow_up"};
  return outcomes;
}

std::string ChannelLabel(const std::string& c) {
  if (c == "desk") return "At the desk";
  if (c == "phone") return "By phone";
  if (c == "web") return "Online";
  if (c == "email") return "By e-mail";
  if (c == "outreach") return "Outreach visit";
  return c;
}

std::string OutcomeLabel(const std::string& o) {
  if (o == "resolved") return "Resolved at the first contact";
  if (o == "referred") return "Referred";
  if (o == "booked") return "Appointment booked";
  if (o == "follow_up") return "Needs follow-up";
  return o;
}

InteractionService::InteractionService(storage::Database& db, const authz::DataCategories& categories,
                                       const authz::AccessGate& gate, audit::AuditLog& audit, exchange::Outbox& outbox,
                                       const core::Clock& clock)
    : db_(db), categories_(categories), gate_(gate), audit_(audit), outbox_(outbox), clock_(clock) {}

std::string InteractionService::ContactsCategory() const {
  const authz::DataCategory* c = categories_.CategoryOf("records", kContactsRecord);
  return c == nullptr ? std::string() : c->id;
}

Status InteractionService::DenyAudited(const authz::Principal& who, const std::string& action,
                                       std::optional<core::PersonId> person, const std::string& message) {
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(tx, who, {action, "person", person ? std::to_string(person->value) : "", person, false, message});
  }));
  return Status::PermissionDenied(message);
}

StatusOr<std::vector<Interaction>> InteractionService::Load(storage::Transaction& tx, const std::string& where,
                                                            const storage::Params& params, core::AgencyId viewer) {
  ASSIGN_OR_RETURN(storage::Rows rows,
                   tx.Query("SELECT i.id, i.person_id, i.agency_id, a.name, i.office_id, o.name, i.channel, i.topic, "
                            "i.service_id, i.outcome, i.duration_seconds, i.recorded_by, i.at, i.satisfaction, i.note, "
                            "i.satisfaction_comment FROM interactions i JOIN agencies a ON a.id = i.agency_id "
                            "LEFT JOIN offices o ON o.id = i.office_id " +
                                where,
                            params));
  std::vector<Interaction> out;
  for (const auto& r : rows) {
    Interaction i;
    i.id = r.Int(0);
    if (!r.IsNull(1)) i.person = core::PersonId{r.Int(1)};
    i.agency = core::AgencyId{r.Int(2)};
    i.agency_name = r.Text(3);
    if (!r.IsNull(4)) i.office = r.Int(4);
    i.office_name = r.IsNull(5) ? "" : r.Text(5);
    i.channel = r.Text(6);
    i.topic = r.Text(7);
    i.service_id = r.IsNull(8) ? "" : r.Text(8);
    i.outcome = r.Text(9);
    if (!r.IsNull(10)) i.duration_seconds = r.Int(10);
    i.at = core::Timestamp{r.Int(12)};
    if (!r.IsNull(13)) i.satisfaction = static_cast<int>(r.Int(13));
    // The notes, the person's own words and who of its staff recorded the contact stay with the
    // agency that recorded it.
    i.own = viewer.valid() && viewer == i.agency;
    if (i.own) {
      i.recorded_by = r.Text(11);
      i.note = r.Text(14);
      i.satisfaction_comment = r.Text(15);
    }
    out.push_back(std::move(i));
  }
  return out;
}

StatusOr<Recorded> InteractionService::Record(const authz::Principal& who, const NewInteraction& in,
                                              std::vector<core::FieldError> read_errors) {
  if (!authz::HasClientRole(who) || !who.agency.valid()) {
    return Status::PermissionDenied("only the staff of an agency who work with clients record contacts");
  }
  if (!who.HasScope("interactions:write")) return Status::PermissionDenied("the token needs the interactions:write scope");
  const std::string category = ContactsCategory();
  std::optional<authz::Decision> decision;
  if (in.person) {
    bool exists = false;
    RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id FROM persons WHERE id = ?", {in.person->value}));
      exists = !rows.empty();
      return Status::Ok();
    }));
    if (!exists) return Status::NotFound(fmt::format("no person has id {}", in.person->value));
    decision = gate_.DecidePerson(who, authz::Operation::kRead, *in.person);
    if (!Sees(*decision, category)) {
      return DenyAudited(who, "interaction.create", in.person,
                         "the person's contacts are withheld from you: " + WithheldReason(*decision, category));
    }
  }
  std::vector<core::FieldError> errors;
  const auto& channels = Channels();
  if (std::find(channels.begin(), channels.end(), in.channel) == channels.end()) {
    errors.push_back({"channel", "must be desk, phone, web, email or outreach"});
  }
  const auto& outcomes = Outcomes();
  if (std::find(outcomes.begin(), outcomes.end(), in.outcome) == outcomes.end()) {
    errors.push_back({"outcome", "must be resolved, referred, booked or follow_up"});
  }
  if (in.topic.empty() || core::Utf8Length(in.topic) > 200)
    errors.push_back({"topic", "say what it was about, in 1 to 200 characters"});
  if (core::Utf8Length(in.note) > 2000)
    errors.push_back({"note", "the note is longer than 2,000 characters"});
  if (in.duration_minutes && (*in.duration_minutes < 0 || *in.duration_minutes > 600)) {
    errors.push_back({"duration_minutes", "must be from 0 to 600"});
  }
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    if (in.office) {
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id FROM offices WHERE id = ? AND agency_id = ?",
                                                    {*in.office, who.agency.value}));
      if (rows.empty()) errors.push_back({"office_id", "not an office of your agency"});
    }
    if (!in.service_id.empty()) {
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id FROM directory_records WHERE tbl = 'service' AND id = ?",
                                                    {in.service_id}));
      if (rows.empty()) errors.push_back({"service_id", "not a service of the directory"});
    }
    return Status::Ok();
  }));
  errors = core::MergeFieldErrors(std::move(read_errors), errors);
  if (!errors.empty()) return Status::InvalidArgument("the contact has invalid fields", std::move(errors));

  const core::Timestamp now = clock_.Now();
  Recorded out;
  out.feedback_token = core::RandomToken(16);
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    if (in.person) {
      // The same contact sent again at once (a double click, a reload) is one contact, or the
      // day's counts and the repeat-contact figures would count it twice.
      ASSIGN_OR_RETURN(
          storage::Rows same,
          tx.Query("SELECT 1 FROM interactions WHERE person_id = ? AND agency_id = ? AND "
                   "recorded_by = ? "
                   "AND channel = ? AND topic = ? AND outcome = ? AND note = ? AND "
                   "COALESCE(duration_seconds, -1) = ? AND at >= ? LIMIT 1",
                   {in.person->value, who.agency.value, who.name, in.channel, in.topic, in.outcome,
                    in.note, in.duration_minutes ? *in.duration_minutes * 60 : int64_t{-1},
                    now.micros - int64_t{120} * 1'000'000}));
      if (!same.empty()) {
        return Status::AlreadyExists("this contact was recorded a moment ago; it is kept once");
      }
    }
    // A repeat: the same person came to this agency about the same topic in the 30 days before
    // (kept with the contact, for the service metrics).
    int64_t repeat = 0;
    if (in.person) {
      ASSIGN_OR_RETURN(storage::Rows before,
                       tx.Query("SELECT 1 FROM interactions WHERE person_id = ? AND agency_id = ? AND topic = ? AND "
                                "at >= ? AND at <= ? LIMIT 1",
                                {in.person->value, who.agency.value, in.topic,
                                 now.micros - int64_t{30} * 24 * 3600 * 1'000'000, now.micros}));
      repeat = before.empty() ? 0 : 1;
    }
    ASSIGN_OR_RETURN(
        storage::Rows rows,
        tx.Query("INSERT INTO interactions (person_id, agency_id, office_id, user_id, recorded_by, channel, topic, "
                 "service_id, outcome, duration_seconds, note, feedback_hash, at, repeat_contact) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                 {in.person ? storage::Value(in.person->value) : storage::Value(storage::Null{}), who.agency.value,
                  in.office ? storage::Value(*in.office) : storage::Value(storage::Null{}),
                  who.user.valid() ? storage::Value(who.user.value) : storage::Value(storage::Null{}), who.name,
                  in.channel, in.topic, in.service_id.empty() ? storage::Value(storage::Null{}) : storage::Value(in.service_id),
                  in.outcome,
                  in.duration_minutes ? storage::Value(*in.duration_minutes * 60) : storage::Value(storage::Null{}),
                  in.note, core::Sha256Hex(out.feedback_token), now.micros, repeat}));
    const int64_t id = rows.at(0).Int(0);
    RETURN_IF_ERROR(audit_.Append(tx, who, {"interaction.create", "interaction", std::to_string(id), in.person, true,
                                            fmt::format("{} contact, {}{}", in.channel, in.outcome,
                                                        decision ? "; " + decision->reason : std::string())}));
    ASSIGN_OR_RETURN(std::vector<Interaction> found, Load(tx, "WHERE i.id = ?", {id}, who.agency));
    out.interaction = std::move(found.at(0));
    return outbox_.Append(tx, "interaction.recorded", "interaction", std::to_string(id),
                          fmt::format(R"({{"interaction_id":{},"agency_id":{},"person_id":{},"channel":"{}","outcome":"{}"}})",
                                      id, who.agency.value, in.person ? std::to_string(in.person->value) : "null",
                                      in.channel, in.outcome));
  }));
  return out;
}

StatusOr<PersonContacts> InteractionService::ForPerson(const authz::Principal& who, core::PersonId person) {
  if (!who.HasScope("interactions:read")) return Status::PermissionDenied("the token needs the interactions:read scope");
  PersonContacts out;
  std::optional<std::string> refusal;
  const std::string category = ContactsCategory();
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT id FROM persons WHERE id = ?", {person.value}));
    if (rows.empty()) return Status::NotFound(fmt::format("no person has id {}", person.value));
    const authz::Decision d = gate_.DecidePerson(who, authz::Operation::kRead, person, authz::Resource::kPerson, &tx);
    if (!d.allowed) {
      refusal = d.reason;
      return Status::Ok();
    }
    if (!Sees(d, category)) {
      out.withheld = WithheldReason(d, category);
      return audit_.Append(tx, who, {"interaction.list", "person", std::to_string(person.value), person, true,
                                     "contacts withheld: " + out.withheld});
    }
    ASSIGN_OR_RETURN(out.items, Load(tx, "WHERE i.person_id = ? ORDER BY i.at DESC, i.id DESC", {person.value},
                                     who.agency));
    return audit_.Append(tx, who, {"interaction.list", "person", std::to_string(person.value), person, true,
                                   fmt::format("{}; {} contacts", d.reason, out.items.size())});
  }));
  if (refusal) return DenyAudited(who, "interaction.list", person, *refusal);
  return out;
}

StatusOr<std::vector<Interaction>> InteractionService::AgencyDay(const authz::Principal& who, core::Date day) {
  if (!authz::HasClientRole(who) || !who.agency.valid()) {
    return Status::PermissionDenied("only the staff of an agency who work with clients see its contacts");
  }
  if (!who.HasScope("interactions:read")) return Status::PermissionDenied("the token needs the interactions:read scope");
  const int64_t from = day.ToDays() * kDayMicros;
  std::vector<Interaction> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, Load(tx, "WHERE i.agency_id = ? AND i.at >= ? AND i.at < ? ORDER BY i.at DESC, i.id DESC",
                               {who.agency.value, from, from + kDayMicros}, who.agency));
    return Status::Ok();
  }));
  // A list of the day's work, not of people: the notes stay on each person's page.
  for (auto& i : out) {
    i.note.clear();
    i.satisfaction_comment.clear();
  }
  return out;
}

StatusOr<Interaction> InteractionService::Rate(const authz::Principal& who, int64_t id, int score,
                                               const std::string& comment) {
  if (!authz::HasClientRole(who)) return Status::PermissionDenied("only staff who work with clients record ratings");
  if (!who.HasScope("interactions:write")) return Status::PermissionDenied("the token needs the interactions:write scope");
  std::vector<core::FieldError> errors;
  if (score < 1 || score > 5) errors.push_back({"score", "must be from 1 to 5"});
  if (core::Utf8Length(comment) > 1000)
    errors.push_back({"comment", "the comment is longer than 1,000 characters"});
  if (!errors.empty()) return Status::InvalidArgument("the rating has invalid fields", std::move(errors));
  Interaction out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<Interaction> found, Load(tx, "WHERE i.id = ?", {id}, who.agency));
    if (found.empty() || found[0].agency != who.agency) {
      return Status::NotFound(fmt::format("your agency has no contact with id {}", id));
    }
    if (found[0].satisfaction) return Status::FailedPrecondition("the contact is already rated");
    RETURN_IF_ERROR(tx.Execute("UPDATE interactions SET satisfaction = ?, satisfaction_comment = ?, rated_at = ?, "
                               "feedback_hash = NULL WHERE id = ?",
                               {static_cast<int64_t>(score), comment, clock_.Now().micros, id})
                        .status());
    RETURN_IF_ERROR(audit_.Append(tx, who, {"interaction.rate", "interaction", std::to_string(id), found[0].person, true,
                                            fmt::format("rated {} of 5", score)}));
    RETURN_IF_ERROR(outbox_.Append(tx, "interaction.rated", "interaction", std::to_string(id),
                                   fmt::format(R"({{"interaction_id":{},"score":{}}})", id, score)));
    ASSIGN_OR_RETURN(found, Load(tx, "WHERE i.id = ?", {id}, who.agency));
    out = std::move(found.at(0));
    return Status::Ok();
  }));
  return out;
}

StatusOr<Interaction> InteractionService::FeedbackFor(const std::string& token) {
  Interaction out;
  const int64_t oldest = clock_.Now().micros - kFeedbackDays * kDayMicros;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<Interaction> found,
                     Load(tx, "WHERE i.feedback_hash = ? AND i.satisfaction IS NULL AND i.at >= ?",
                          {core::Sha256Hex(token), oldest}, core::AgencyId{}));
    if (found.empty()) return Status::NotFound("this link has been used, has expired or is not one of ours");
    out = std::move(found[0]);
    return Status::Ok();
  }));
  return out;
}

Status InteractionService::Feedback(const std::string& token, int score, const std::string& comment) {
  std::vector<core::FieldError> errors;
  if (score < 1 || score > 5) errors.push_back({"score", "choose how satisfied you are, from 1 to 5"});
  if (core::Utf8Length(comment) > 1000)
    errors.push_back({"comment", "the comment is longer than 1,000 characters"});
  const int64_t oldest = clock_.Now().micros - kFeedbackDays * kDayMicros;
  return db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT id, person_id, agency_id FROM interactions WHERE feedback_hash = ? "
                              "AND satisfaction IS NULL AND at >= ?",
                              {core::Sha256Hex(token), oldest}));
    if (rows.empty()) return Status::NotFound("this link has been used, has expired or is not one of ours");
    if (!errors.empty()) return Status::InvalidArgument("the rating has invalid fields", errors);
    const int64_t id = rows.at(0).Int(0);
    RETURN_IF_ERROR(tx.Execute("UPDATE interactions SET satisfaction = ?, satisfaction_comment = ?, rated_at = ?, "
                               "feedback_hash = NULL WHERE id = ?",
                               {static_cast<int64_t>(score), comment, clock_.Now().micros, id})
                        .status());
    authz::Principal person;
    person.kind = authz::PrincipalKind::kCitizen;
    person.name = "feedback link";
    person.agency = core::AgencyId{rows.at(0).Int(2)};
    std::optional<core::PersonId> about;
    if (!rows.at(0).IsNull(1)) about = core::PersonId{rows.at(0).Int(1)};
    RETURN_IF_ERROR(audit_.Append(tx, person, {"interaction.rate", "interaction", std::to_string(id), about, true,
                                               fmt::format("rated {} of 5 by the feedback link", score)}));
    return outbox_.Append(tx, "interaction.rated", "interaction", std::to_string(id),
                          fmt::format(R"({{"interaction_id":{},"score":{},"by":{}}})", id, score, Json("feedback link")));
  });
}

}  // namespace frontoffice
