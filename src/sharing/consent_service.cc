#include "sharing/consent_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/utf8.h"
#include "sharing/agreement_service.h"

namespace sharing {

using core::Status;
using core::StatusOr;

namespace {

constexpr size_t kMaxText = 500;
constexpr size_t kMaxDocumentRef = 200;

constexpr std::string_view kSelect =
    "SELECT c.id, c.person_id, c.receiving_agency_id, g.code, g.name, c.agency_kind, c.scope, "
    "c.categories, c.purpose, c.legal_basis, c.valid_from, c.valid_to, c.how_to_withdraw, "
    "c.evidence, c.document_ref, c.recorded_by, c.recorded_by_name, c.agency_id, c.recorded_at, "
    "c.state, c.version FROM consents c LEFT JOIN agencies g ON g.id = c.receiving_agency_id ";

constexpr std::string_view kInsertEvent =
    "INSERT INTO consent_events (consent_id, event, user_id, actor, agency_id, at, evidence, "
    "document_ref, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

bool IsRecordingRole(const authz::Principal& who) {
  return who.HasAnyRole({authz::Role::kCaseworker, authz::Role::kSpecialist,
                         authz::Role::kCoordinator, authz::Role::kManager});
}

// Ids and fixed words only: nothing needs escaping.
std::string EventPayload(const Consent& c, std::string_view state) {
  return fmt::format(R"({{"consent_id":{},"person_id":{},"purpose":"{}","state":"{}"}})", c.id,
                     c.person.value, authz::PurposeName(c.purpose), state);
}

std::string JoinCategories(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

std::vector<std::string> SplitCategories(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string_view ConsentStateName(ConsentState s) {
  switch (s) {
    case ConsentState::kActive:
      return "active";
    case ConsentState::kPaused:
      return "paused";
    case ConsentState::kWithdrawn:
      return "withdrawn";
  }
  return "active";
}

std::string_view ConsentScopeName(ConsentScope s) {
  return s == ConsentScope::kFull ? "full" : "partial";
}

StatusOr<ConsentScope> ParseConsentScope(std::string_view name) {
  if (name == "full") return ConsentScope::kFull;
  if (name == "partial") return ConsentScope::kPartial;
  return Status::InvalidArgument("unknown scope; use full or partial");
}

StatusOr<ConsentAction> ParseConsentAction(std::string_view name) {
  if (name == "pause") return ConsentAction::kPause;
  if (name == "resume") return ConsentAction::kResume;
  if (name == "withdraw") return ConsentAction::kWithdraw;
  return Status::InvalidArgument("unknown event; use pause, resume or withdraw");
}

std::string Consent::StateOn(core::Date date) const {
  if (state == ConsentState::kWithdrawn) return "withdrawn";
  if (valid_to && *valid_to < date) return "expired";
  if (date < valid_from) return "pending";
  return std::string(ConsentStateName(state));
}

bool Consent::InForceOn(core::Date date) const {
  return state == ConsentState::kActive && valid_from <= date && (!valid_to || date <= *valid_to);
}

bool Consent::Covers(const authz::DataCategories& declared, std::string_view category) const {
  if (scope == ConsentScope::kPartial) {
    return std::find(categories.begin(), categories.end(), category) != categories.end();
  }
  const authz::DataCategory* c = declared.Find(std::string(category));
  return c != nullptr && c->sharing_class != authz::SharingClass::kBlack;
}

ConsentService::ConsentService(storage::Database& db, const authz::DataCategories& categories,
                               const authz::AccessGate& gate, audit::AuditLog& audit,
                               exchange::Outbox& outbox, const core::Clock& clock)
    : db_(db),
      categories_(categories),
      gate_(gate),
      audit_(audit),
      outbox_(outbox),
      clock_(clock) {}

core::Date ConsentService::Today() const {
  return clock_.Now().UtcDate();
}

StatusOr<std::vector<Consent>> ConsentService::Load(storage::Transaction& tx,
                                                    const std::string& where,
                                                    const storage::Params& params) {
  std::vector<Consent> out;
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(std::string(kSelect) + where, params));
  std::map<int64_t, size_t> index;
  for (const auto& row : rows) {
    Consent c;
    c.id = row.Int(0);
    c.person = core::PersonId{row.Int(1)};
    if (auto agency = row.OptInt(2)) {
      c.receiving_agency = core::AgencyId{*agency};
      c.receiving_agency_code = row.Text(3);
      c.receiving_agency_name = row.Text(4);
    }
    c.agency_kind = row.OptText(5).value_or("");
    auto scope = ParseConsentScope(row.Text(6));
    auto purpose = authz::ParsePurpose(row.Text(8));
    auto from = core::Date::Parse(row.Text(10));
    const std::string state = row.Text(19);
    if (!scope.ok() || !purpose.ok() || !from.ok()) {
      return Status::Internal(fmt::format("consent {} is stored with an unreadable value", c.id));
    }
    c.scope = *scope;
    c.categories = SplitCategories(row.Text(7));
    c.purpose = *purpose;
    c.legal_basis = row.Text(9);
    c.valid_from = *from;
    if (auto to = row.OptText(11)) {
      auto parsed = core::Date::Parse(*to);
      if (!parsed.ok())
        return Status::Internal(fmt::format("consent {} has an unreadable end date", c.id));
      c.valid_to = *parsed;
    }
    c.how_to_withdraw = row.Text(12);
    c.evidence = row.Text(13);
    c.document_ref = row.Text(14);
    c.recorded_by = row.Int(15);
    c.recorded_by_name = row.Text(16);
    c.agency = core::AgencyId{row.Int(17)};
    c.recorded_at = {row.Int(18)};
    c.state = state == "paused"      ? ConsentState::kPaused
              : state == "withdrawn" ? ConsentState::kWithdrawn
                                     : ConsentState::kActive;
    c.version = row.Int(20);
    index[c.id] = out.size();
    out.push_back(std::move(c));
  }
  if (out.empty()) return out;
  ASSIGN_OR_RETURN(
      storage::Rows events,
      tx.Query("SELECT consent_id, event, user_id, actor, agency_id, at, evidence, document_ref, "
               "reason FROM consent_events WHERE consent_id BETWEEN ? AND ? ORDER BY id",
               {index.begin()->first, index.rbegin()->first}));
  for (const auto& row : events) {
    auto it = index.find(row.Int(0));
    if (it == index.end()) continue;
    out[it->second].events.push_back({row.Text(1), row.Int(2), row.Text(3),
                                      core::AgencyId{row.Int(4)}, core::Timestamp{row.Int(5)},
                                      row.Text(6), row.Text(7), row.Text(8)});
  }
  return out;
}

authz::Decision ConsentService::MayRecord(const authz::Principal& who, core::PersonId person,
                                          bool citizen_allowed) const {
  if (who.kind == authz::PrincipalKind::kCitizen) {
    if (citizen_allowed && who.person && *who.person == person) {
      return {true, "a person may give and withdraw their own consent", {}, {}};
    }
    return {false,
            citizen_allowed ? "a person may record consent for themself only"
                            : "a person may give or withdraw their consent; staff pause and resume",
            {},
            {}};
  }
  if (!IsRecordingRole(who)) {
    return {false,
            fmt::format("no role of {} records consent: caseworkers, specialists, coordinators "
                        "and managers do",
                        who.RoleList().empty() ? "(none)" : who.RoleList()),
            {},
            {}};
  }
  return gate_.DecidePerson(who, authz::Operation::kUpdate, person);
}

Status ConsentService::DenyAudited(const authz::Principal& who, const std::string& action,
                                   const std::string& record_id, core::PersonId person,
                                   const std::string& message) {
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(tx, who, {action, "consent", record_id, person, false, message});
  }));
  return Status::PermissionDenied(message);
}

StatusOr<Consent> ConsentService::Give(const authz::Principal& who, core::PersonId person,
                                       const ConsentGrant& g,
                                       std::vector<core::FieldError> read_errors) {
  bool person_known = false;
  bool agency_known = false;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT id FROM persons WHERE id = ?", {person.value}));
    person_known = !rows.empty();
    if (g.receiving_agency) {
      ASSIGN_OR_RETURN(storage::Rows agencies, tx.Query("SELECT id FROM agencies WHERE id = ?",
                                                        {g.receiving_agency->value}));
      agency_known = !agencies.empty();
    }
    return Status::Ok();
  }));
  if (!person_known) return Status::NotFound(fmt::format("no person has id {}", person.value));
  const authz::Decision d = MayRecord(who, person, true);
  if (!d.allowed) return DenyAudited(who, "consent.give", "", person, d.reason);

  std::vector<core::FieldError> errors;
  if (g.receiving_agency.has_value() == !g.agency_kind.empty()) {
    errors.push_back(
        {"receiving_agency_id", "give either receiving_agency_id or agency_kind, not both"});
  } else if (g.receiving_agency && !agency_known) {
    errors.push_back({"receiving_agency_id", "no agency has this id"});
  } else if (!g.receiving_agency && g.agency_kind != "government" && g.agency_kind != "nonprofit") {
    errors.push_back({"agency_kind", "must be government or nonprofit"});
  }
  if (g.scope == ConsentScope::kPartial && g.categories.empty()) {
    errors.push_back({"categories", "a partial consent lists at least one data category"});
  }
  for (const auto& c : g.categories) {
    if (categories_.Find(c) == nullptr) {
      errors.push_back(
          {"categories", fmt::format("'{}' is not a data category of this deployment", c)});
      break;
    }
  }
  const auto& purposes = AgreementPurposes();
  if (std::find(purposes.begin(), purposes.end(), g.purpose) == purposes.end()) {
    errors.push_back({"purpose", "must be service_delivery, case_work, eligibility or front_desk"});
  }
  if (g.legal_basis.empty() || core::Utf8Length(g.legal_basis) > kMaxText)
    errors.push_back({"legal_basis", "give the legal basis, 1 to 500 characters"});
  if (g.valid_to && *g.valid_to < g.valid_from)
    errors.push_back({"valid_to", "must not be before valid_from"});
  if (g.how_to_withdraw.empty() || core::Utf8Length(g.how_to_withdraw) > kMaxText)
    errors.push_back({"how_to_withdraw", "say how the person withdraws, 1 to 500 characters"});
  const bool citizen = who.kind == authz::PrincipalKind::kCitizen;
  const std::string evidence =
      g.evidence.empty() ? std::string(citizen ? kCitizenAction : kSignedForm) : g.evidence;
  if (citizen && evidence != kCitizenAction) {
    errors.push_back(
        {"evidence", "a person giving consent themself is evidenced as citizen_action"});
  } else if (!citizen && evidence != kSignedForm) {
    errors.push_back({"evidence", "staff record consent on a signed_form"});
  } else if (!citizen && g.document_ref.empty()) {
    errors.push_back({"document_ref", "name the signed form (its document reference)"});
  }
  if (core::Utf8Length(g.document_ref) > kMaxDocumentRef)
    errors.push_back({"document_ref", "must be at most 200 characters"});
  // What could not be read comes first; a field it names is not named again.
  for (auto& e : errors) {
    if (std::none_of(read_errors.begin(), read_errors.end(),
                     [&](const core::FieldError& r) { return r.field == e.field; })) {
      read_errors.push_back(std::move(e));
    }
  }
  errors = std::move(read_errors);
  if (!errors.empty())
    return Status::InvalidArgument("the consent has invalid fields", std::move(errors));

  std::vector<std::string> ids = g.categories;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const core::Timestamp now = clock_.Now();
  int64_t id = 0;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    // The same consent recorded again (the browser's Back and send, a double click) is one
    // consent: a withdrawal of "the" consent would otherwise leave its twin in force. A signed
    // form is recorded once while its consent stands; without a form (the person's own), the
    // same grant by the same account within two minutes is the same.
    {
      ASSIGN_OR_RETURN(
          storage::Rows same,
          tx.Query(
              "SELECT id FROM consents WHERE person_id = ? AND state IN ('active', 'paused') AND "
              "COALESCE(receiving_agency_id, 0) = ? AND COALESCE(agency_kind, '') = ? AND scope = "
              "? AND "
              "categories = ? AND purpose = ? AND "
              "(document_ref = ? AND (? <> '' OR (recorded_by = ? AND recorded_at >= ?))) "
              "ORDER BY id LIMIT 1",
              {person.value, g.receiving_agency ? g.receiving_agency->value : int64_t{0},
               g.receiving_agency ? std::string() : g.agency_kind,
               std::string(ConsentScopeName(g.scope)), JoinCategories(ids),
               std::string(authz::PurposeName(g.purpose)), g.document_ref, g.document_ref,
               who.user.value, now.micros - int64_t{120} * 1'000'000}));
      if (!same.empty()) {
        return Status::AlreadyExists(fmt::format(
            "this consent is recorded already (consent {}); it is recorded once", same[0].Int(0)));
      }
    }
    ASSIGN_OR_RETURN(
        storage::Rows rows,
        tx.Query(
            "INSERT INTO consents (person_id, receiving_agency_id, agency_kind, scope, "
            "categories, purpose, legal_basis, valid_from, valid_to, how_to_withdraw, "
            "evidence, document_ref, recorded_by, recorded_by_name, agency_id, recorded_at, "
            "state, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "'active', 1) RETURNING id",
            {person.value,
             g.receiving_agency ? storage::Value(g.receiving_agency->value)
                                : storage::Value(storage::Null{}),
             g.receiving_agency ? storage::Value(storage::Null{}) : storage::Value(g.agency_kind),
             std::string(ConsentScopeName(g.scope)), JoinCategories(ids),
             std::string(authz::PurposeName(g.purpose)), g.legal_basis, g.valid_from.ToString(),
             g.valid_to ? storage::Value(g.valid_to->ToString()) : storage::Value(storage::Null{}),
             g.how_to_withdraw, evidence, g.document_ref, who.user.value, who.name,
             who.agency.value, now.micros}));
    id = rows.at(0).Int(0);
    RETURN_IF_ERROR(tx.Execute(kInsertEvent, {id, std::string("given"), who.user.value, who.name,
                                              who.agency.value, now.micros, evidence,
                                              g.document_ref, std::string()})
                        .status());
    RETURN_IF_ERROR(audit_.Append(
        tx, who,
        {"consent.give", "consent", std::to_string(id), person, true,
         fmt::format("{}; {} consent for {} to {}", d.reason, ConsentScopeName(g.scope),
                     authz::PurposeName(g.purpose),
                     g.receiving_agency ? fmt::format("agency {}", g.receiving_agency->value)
                                        : g.agency_kind + " agencies")}));
    Consent c;
    c.id = id;
    c.person = person;
    c.purpose = g.purpose;
    return outbox_.Append(tx, "consent.given", "consent", std::to_string(id),
                          EventPayload(c, "active"));
  }));
  std::vector<Consent> found;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(found, Load(tx, "WHERE c.id = ?", {id}));
    return Status::Ok();
  }));
  if (found.empty()) return Status::Internal("the consent just recorded is gone");
  return std::move(found.front());
}

StatusOr<Consent> ConsentService::Record(const authz::Principal& who, int64_t id,
                                         ConsentAction action, const std::string& reason,
                                         const std::string& document_ref) {
  const std::string audit_action = action == ConsentAction::kPause    ? "consent.pause"
                                   : action == ConsentAction::kResume ? "consent.resume"
                                                                      : "consent.withdraw";
  std::vector<Consent> found;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(found, Load(tx, "WHERE c.id = ?", {id}));
    return Status::Ok();
  }));
  if (found.empty()) return Status::NotFound(fmt::format("no consent has id {}", id));
  const core::PersonId person = found.front().person;
  const authz::Decision d = MayRecord(who, person, action == ConsentAction::kWithdraw);
  if (!d.allowed) return DenyAudited(who, audit_action, std::to_string(id), person, d.reason);
  const bool citizen = who.kind == authz::PrincipalKind::kCitizen;
  if (core::Utf8Length(reason) > kMaxText) {
    return Status::InvalidArgument("the reason is too long",
                                   {{"reason", "must be at most 500 characters"}});
  }
  if (core::Utf8Length(document_ref) > kMaxDocumentRef) {
    return Status::InvalidArgument("the document reference is too long",
                                   {{"document_ref", "must be at most 200 characters"}});
  }
  if (!citizen && action != ConsentAction::kResume && reason.empty()) {
    return Status::InvalidArgument(
        "say why",
        {{"reason", "say why the consent is " +
                        std::string(action == ConsentAction::kPause ? "paused" : "withdrawn")}});
  }
  const std::string evidence(citizen                ? kCitizenAction
                             : document_ref.empty() ? kStaffRecord
                                                    : kSignedForm);
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<Consent> current, Load(tx, "WHERE c.id = ?", {id}));
    if (current.empty()) return Status::NotFound(fmt::format("no consent has id {}", id));
    const Consent& c = current.front();
    if (c.state == ConsentState::kWithdrawn) {
      return Status::FailedPrecondition(fmt::format(
          "consent {} was withdrawn: a withdrawal cannot be undone; the consent must be given "
          "anew",
          id));
    }
    ConsentState next = c.state;
    std::string event;
    switch (action) {
      case ConsentAction::kPause:
        if (c.state != ConsentState::kActive) {
          return Status::FailedPrecondition(
              fmt::format("consent {} is {}: only an active consent can be paused", id,
                          ConsentStateName(c.state)));
        }
        next = ConsentState::kPaused;
        event = "paused";
        break;
      case ConsentAction::kResume:
        if (c.state != ConsentState::kPaused) {
          return Status::FailedPrecondition(
              fmt::format("consent {} is {}: only a paused consent can be resumed", id,
                          ConsentStateName(c.state)));
        }
        next = ConsentState::kActive;
        event = "resumed";
        break;
      case ConsentAction::kWithdraw:
        next = ConsentState::kWithdrawn;
        event = "withdrawn";
        break;
    }
    const core::Timestamp now = clock_.Now();
    ASSIGN_OR_RETURN(int64_t changed,
                     tx.Execute("UPDATE consents SET state = ?, version = version + 1 WHERE id = "
                                "? AND version = ?",
                                {std::string(ConsentStateName(next)), id, c.version}));
    if (changed != 1) {
      return Status::Aborted(
          fmt::format("consent {} was changed by someone else meanwhile; look at it again", id));
    }
    RETURN_IF_ERROR(tx.Execute(kInsertEvent, {id, event, who.user.value, who.name, who.agency.value,
                                              now.micros, evidence, document_ref, reason})
                        .status());
    if (next == ConsentState::kWithdrawn && on_withdrawal_) RETURN_IF_ERROR(on_withdrawal_(tx, id, who, now));
    RETURN_IF_ERROR(
        audit_.Append(tx, who,
                      {audit_action, "consent", std::to_string(id), person, true,
                       reason.empty() ? fmt::format("{}; {}", d.reason, event)
                                      : fmt::format("{}; {}: {}", d.reason, event, reason)}));
    return outbox_.Append(tx, "consent." + event, "consent", std::to_string(id),
                          EventPayload(c, ConsentStateName(next)));
  }));
  std::vector<Consent> after;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(after, Load(tx, "WHERE c.id = ?", {id}));
    return Status::Ok();
  }));
  if (after.empty()) return Status::NotFound(fmt::format("no consent has id {}", id));
  ForReader(who, after.front());
  return std::move(after.front());
}

bool ConsentService::ReadsConsents(const authz::Principal& who) {
  return who.kind == authz::PrincipalKind::kCitizen || IsRecordingRole(who);
}

namespace {
authz::Decision ReaderRefusal(const authz::Principal& who) {
  return {false,
          fmt::format("no role of {} reads consents: caseworkers, specialists, coordinators and "
                      "managers do",
                      who.RoleList().empty() ? "(none)" : who.RoleList()),
          {},
          {}};
}
}  // namespace

void ConsentService::ForReader(const authz::Principal& who, Consent& c) {
  if (who.kind == authz::PrincipalKind::kCitizen) return;
  for (auto& e : c.events) {
    if (e.agency != who.agency && !e.reason.empty()) {
      e.reason.clear();
      e.reason_withheld = true;
    }
  }
}

StatusOr<Consent> ConsentService::Get(const authz::Principal& who, int64_t id,
                                      const std::string& action) {
  // Whether the role may read consents at all comes first, so that an unknown id tells nothing
  // to someone who could not read a consent anyway.
  if (who.kind != authz::PrincipalKind::kCitizen) {
    const authz::Decision pre =
        ReadsConsents(who) ? gate_.DecidePerson(who, authz::Operation::kRead, core::PersonId{})
                           : ReaderRefusal(who);
    if (!pre.allowed) {
      // The refusal is the same whether the consent exists or not; its entry names the person
      // when it does, so that it is in their access log.
      RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
        ASSIGN_OR_RETURN(storage::Rows rows,
                         tx.Query("SELECT person_id FROM consents WHERE id = ?", {id}));
        std::optional<core::PersonId> about;
        if (!rows.empty()) about = core::PersonId{rows.at(0).Int(0)};
        return audit_.Append(tx, who,
                             {action, "consent", std::to_string(id), about, false, pre.reason});
      }));
      return Status::PermissionDenied(pre.reason);
    }
  }
  std::vector<Consent> found;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(found, Load(tx, "WHERE c.id = ?", {id}));
    return Status::Ok();
  }));
  if (found.empty()) return Status::NotFound(fmt::format("no consent has id {}", id));
  const authz::Decision d = gate_.DecidePerson(who, authz::Operation::kRead, found.front().person);
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(
        tx, who,
        {action, "consent", std::to_string(id), found.front().person, d.allowed, d.reason});
  }));
  if (!d.allowed) return Status::PermissionDenied(d.reason);
  ForReader(who, found.front());
  return std::move(found.front());
}

StatusOr<std::vector<Consent>> ConsentService::ForPerson(const authz::Principal& who,
                                                         core::PersonId person) {
  bool person_known = false;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT id FROM persons WHERE id = ?", {person.value}));
    person_known = !rows.empty();
    return Status::Ok();
  }));
  if (!person_known) return Status::NotFound(fmt::format("no person has id {}", person.value));
  const authz::Decision d = ReadsConsents(who)
                                ? gate_.DecidePerson(who, authz::Operation::kRead, person)
                                : ReaderRefusal(who);
  std::vector<Consent> out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(audit_.Append(
        tx, who,
        {"consent.list", "person", std::to_string(person.value), person, d.allowed, d.reason}));
    if (!d.allowed) return Status::Ok();
    ASSIGN_OR_RETURN(out, Load(tx, "WHERE c.person_id = ? ORDER BY c.id DESC", {person.value}));
    return Status::Ok();
  }));
  if (!d.allowed) return Status::PermissionDenied(d.reason);
  for (auto& c : out) ForReader(who, c);
  return out;
}

StatusOr<std::vector<Consent>> ConsentService::ActiveFor(storage::Transaction& tx, core::PersonId person,
                                                         core::AgencyId agency, authz::Purpose purpose) {
  return Load(tx,
              "WHERE c.person_id = ? AND c.state = 'active' AND c.purpose = ? AND (c.receiving_agency_id = ? OR "
              "c.agency_kind = (SELECT kind FROM agencies WHERE id = ?)) ORDER BY c.id DESC",
              {person.value, std::string(authz::PurposeName(purpose)), agency.value, agency.value});
}

StatusOr<std::optional<Consent>> ConsentService::Active(core::PersonId person,
                                                        core::AgencyId agency,
                                                        std::string_view agency_kind,
                                                        std::string_view category,
                                                        authz::Purpose purpose, core::Date date) {
  std::vector<Consent> found;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(found,
                     Load(tx,
                          "WHERE c.person_id = ? AND c.state = 'active' AND c.purpose = ? AND "
                          "(c.receiving_agency_id = ? OR c.agency_kind = ?) ORDER BY c.id DESC",
                          {person.value, std::string(authz::PurposeName(purpose)), agency.value,
                           std::string(agency_kind)}));
    return Status::Ok();
  }));
  for (auto& c : found) {
    if (c.InForceOn(date) && c.Covers(categories_, category)) return std::optional<Consent>(c);
  }
  return std::optional<Consent>();
}

}  // namespace sharing
