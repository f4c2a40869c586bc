#include "sharing/agreement_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "core/utf8.h"

namespace sharing {

using core::Status;
using core::StatusOr;

namespace {

constexpr size_t kMaxReason = 500;
constexpr size_t kMaxLegalBasis = 500;
constexpr size_t kMaxDescription = 1000;
constexpr int kMaxLimit = 200;

constexpr std::string_view kSelect =
    "SELECT a.id, a.receiving_agency_id, g.code, g.name, a.category, a.sharing_class, a.purpose, "
    "a.legal_basis, "
    "a.consent_required, a.valid_from, a.valid_to, a.description, a.state, a.approvals_needed, "
    "a.proposed_by, "
    "a.proposed_at, a.decided_at, a.reason, a.version FROM sharing_agreements a JOIN agencies g ON "
    "g.id = a.receiving_agency_id ";

constexpr std::string_view kUpdateState =
    "UPDATE sharing_agreements SET state = ?, approvals_needed = ?, decided_at = ?, reason = ?, "
    "version = version + 1 WHERE id = ? AND version = ?";

constexpr std::string_view kInsertEvent =
    "INSERT INTO sharing_agreement_events (agreement_id, action, user_id, actor, agency_id, at, "
    "reason) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";

int ApprovalsNeeded(authz::SharingClass c) { return c == authz::SharingClass::kGrey ? 2 : 1; }

// The outbox payload: ids and names only. Category ids are [a-z0-9_] (data_categories.h) and
// purposes and states are fixed words, so nothing needs escaping.
std::string EventPayload(const Agreement& a, AgreementState state) {
  return fmt::format(
      R"({{"agreement_id":{},"receiving_agency_id":{},"category":"{}","purpose":"{}","state":"{}"}})",
      a.id, a.receiving_agency.value, a.category, authz::PurposeName(a.purpose),
      AgreementStateName(state));
}

std::string WithReason(const std::string& what, const std::string& reason) {
  return reason.empty() ? what : fmt::format("{}: {}", what, reason);
}

}  // namespace

std::string_view AgreementStateName(AgreementState s) {
  switch (s) {
    case AgreementState::kProposed:
      return "proposed";
    case AgreementState::kApproved:
      return "approved";
    case AgreementState::kRefused:
      return "refused";
    case AgreementState::kRevoked:
      return "revoked";
  }
  return "proposed";
}

StatusOr<AgreementState> ParseAgreementState(std::string_view name) {
  for (AgreementState s : {AgreementState::kProposed, AgreementState::kApproved,
                           AgreementState::kRefused, AgreementState::kRevoked}) {
    if (AgreementStateName(s) == name) return s;
  }
  return Status::InvalidArgument("unknown state; use proposed, approved, refused or revoked");
}

StatusOr<AgreementDecision> ParseAgreementDecision(std::string_view name) {
  if (name == "approve") return AgreementDecision::kApprove;
  if (name == "refuse") return AgreementDecision::kRefuse;
  if (name == "revoke") return AgreementDecision::kRevoke;
  return Status::InvalidArgument("unknown decision; use approve, refuse or revoke");
}

const std::vector<authz::Purpose>& AgreementPurposes() {
  static const auto* purposes =
      new std::vector<authz::Purpose>{authz::Purpose::kServiceDelivery, authz::Purpose::kCaseWork,
                                      authz::Purpose::kEligibility, authz::Purpose::kFrontDesk};
  return *purposes;
}

int Agreement::approvals() const {
  return static_cast<int>(std::count_if(events.begin(), events.end(), [](const AgreementEvent& e) {
    return e.action == "approved";
  }));
}

bool Agreement::InForceOn(core::Date date) const {
  return state == AgreementState::kApproved && valid_from <= date &&
         (!valid_to || date <= *valid_to);
}

// The approved agreements whose category may still be shared, by receiving agency, category
// and purpose, and the newest agreement event they were read at.
struct AgreementService::Snapshot {
  int64_t newest_event = -1;
  std::map<std::tuple<int64_t, std::string, authz::Purpose>, std::vector<Agreement>, std::less<>>
      approved;

  // The agreement in force for `agency`, `category` and `purpose` on `date`: the one that started
  // last (then the newest); null when none.
  const Agreement* Best(core::AgencyId agency, std::string_view category, authz::Purpose purpose,
                        core::Date date) const {
    auto it = approved.find(std::make_tuple(agency.value, std::string(category), purpose));
    if (it == approved.end()) return nullptr;
    const Agreement* best = nullptr;
    for (const Agreement& a : it->second) {
      if (!a.InForceOn(date)) continue;
      // In id order, so a later one with the same start wins.
      if (best == nullptr || best->valid_from <= a.valid_from) best = &a;
    }
    return best;
  }
};

AgreementService::AgreementService(storage::Database& db, const authz::DataCategories& categories,
                                   audit::AuditLog& audit, exchange::Outbox& outbox,
                                   const core::Clock& clock, AgreementServiceOptions options)
    : db_(db),
      categories_(categories),
      audit_(audit),
      outbox_(outbox),
      clock_(clock),
      options_(options) {}

core::Date AgreementService::Today() const {
  return clock_.Now().UtcDate();
}

StatusOr<std::vector<Agreement>> AgreementService::Load(storage::Transaction& tx,
                                                        const std::string& where,
                                                        const storage::Params& params) {
  std::vector<Agreement> out;
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(std::string(kSelect) + where, params));
  std::map<int64_t, size_t> index;
  for (const auto& row : rows) {
    Agreement a;
    a.id = row.Int(0);
    a.receiving_agency = core::AgencyId{row.Int(1)};
    a.receiving_agency_code = row.Text(2);
    a.receiving_agency_name = row.Text(3);
    a.category = row.Text(4);
    auto cls = authz::ParseSharingClass(row.Text(5));
    auto purpose = authz::ParsePurpose(row.Text(6));
    auto from = core::Date::Parse(row.Text(9));
    auto state = ParseAgreementState(row.Text(12));
    if (!cls.ok() || !purpose.ok() || !from.ok() || !state.ok()) {
      return Status::Internal(
          fmt::format("sharing agreement {} is stored with an unreadable value", a.id));
    }
    a.sharing_class = *cls;
    a.purpose = *purpose;
    a.legal_basis = row.Text(7);
    a.consent_required = row.Int(8) != 0;
    a.valid_from = *from;
    if (auto to = row.OptText(10)) {
      auto parsed = core::Date::Parse(*to);
      if (!parsed.ok())
        return Status::Internal(
            fmt::format("sharing agreement {} has an unreadable end date", a.id));
      a.valid_to = *parsed;
    }
    a.description = row.Text(11);
    a.state = *state;
    a.approvals_needed = static_cast<int>(row.Int(13));
    a.proposed_by = row.Int(14);
    a.proposed_at = {row.Int(15)};
    if (auto at = row.OptInt(16)) a.decided_at = core::Timestamp{*at};
    a.reason = row.Text(17);
    a.version = row.Int(18);
    index[a.id] = out.size();
    out.push_back(std::move(a));
  }
  if (out.empty()) return out;
  ASSIGN_OR_RETURN(
      storage::Rows events,
      tx.Query("SELECT agreement_id, action, user_id, actor, agency_id, at, reason FROM "
               "sharing_agreement_events WHERE agreement_id BETWEEN ? AND ? ORDER BY id",
               {index.begin()->first, index.rbegin()->first}));
  for (const auto& row : events) {
    auto it = index.find(row.Int(0));
    if (it == index.end()) continue;
    out[it->second].events.push_back({row.Text(1),
                                      row.Int(2),
                                      row.Text(3),
                                      core::AgencyId{row.Int(4)},
                                      {row.Int(5)},
                                      row.Text(6)});
  }
  return out;
}

Status AgreementService::DenyAudited(const authz::Principal& who, const std::string& action,
                                     const std::string& record_id, const std::string& message) {
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
    return audit_.Append(tx, who,
                         {action, "sharing_agreement", record_id, std::nullopt, false, message});
  }));
  return Status::PermissionDenied(message);
}

StatusOr<Agreement> AgreementService::Propose(const authz::Principal& who, const Proposal& p) {
  if (!who.HasAnyRole({authz::Role::kGovernance, authz::Role::kManager})) {
    return DenyAudited(who, "agreement.propose", "",
                       "only managers and governance users propose sharing agreements");
  }
  if (!who.HasRole(authz::Role::kGovernance) && who.agency != p.receiving_agency) {
    return DenyAudited(
        who, "agreement.propose", "",
        "a manager proposes sharing agreements for their own agency to receive data only");
  }
  std::vector<core::FieldError> errors;
  bool agency_known = false;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT id FROM agencies WHERE id = ?", {p.receiving_agency.value}));
    agency_known = !rows.empty();
    return Status::Ok();
  }));
  if (!agency_known) errors.push_back({"receiving_agency_id", "no agency has this id"});
  const authz::DataCategory* category = categories_.Find(p.category);
  if (category == nullptr) {
    errors.push_back(
        {"category", fmt::format("'{}' is not a data category of this deployment", p.category)});
  } else if (category->sharing_class == authz::SharingClass::kBlack) {
    errors.push_back(
        {"category",
         fmt::format("{} is a black-class category: it never leaves the agency that holds "
                     "it, so no sharing agreement can name it",
                     category->label)});
  }
  const auto& purposes = AgreementPurposes();
  if (std::find(purposes.begin(), purposes.end(), p.purpose) == purposes.end()) {
    errors.push_back({"purpose", "must be service_delivery, case_work, eligibility or front_desk"});
  }
  if (p.legal_basis.empty()) {
    errors.push_back({"legal_basis", "give the legal basis (the law and section), or consent"});
  } else if (core::Utf8Length(p.legal_basis) > kMaxLegalBasis) {
    errors.push_back({"legal_basis", "must be at most 500 characters"});
  }
  if (p.valid_to && *p.valid_to < p.valid_from) {
    errors.push_back({"valid_to", "must not be before valid_from"});
  } else if (p.valid_to && *p.valid_to < Today()) {
    errors.push_back({"valid_to", "must not be in the past"});
  }
  if (core::Utf8Length(p.description) > kMaxDescription)
    errors.push_back({"description", "must be at most 1000 characters"});
  if (!errors.empty())
    return Status::InvalidArgument("the proposed agreement has invalid fields", std::move(errors));

  Agreement a;
  a.receiving_agency = p.receiving_agency;
  a.category = p.category;
  a.sharing_class = category->sharing_class;
  a.purpose = p.purpose;
  a.legal_basis = p.legal_basis;
  a.consent_required = p.legal_basis == kConsentBasis;
  a.valid_from = p.valid_from;
  a.valid_to = p.valid_to;
  a.description = p.description;
  a.approvals_needed = ApprovalsNeeded(category->sharing_class);
  a.proposed_by = who.user.value;
  a.proposed_at = clock_.Now();
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(
        storage::Rows rows,
        tx.Query(
            "INSERT INTO sharing_agreements (receiving_agency_id, holding_agency_id, category, "
            "sharing_class, "
            "purpose, legal_basis, consent_required, valid_from, valid_to, description, state, "
            "approvals_needed, "
            "proposed_by, proposed_at, decided_at, reason, version) VALUES (?, NULL, ?, ?, ?, ?, "
            "?, ?, ?, ?, "
            "'proposed', ?, ?, ?, NULL, '', 1) RETURNING id",
            {a.receiving_agency.value, a.category,
             std::string(authz::SharingClassName(a.sharing_class)),
             std::string(authz::PurposeName(a.purpose)), a.legal_basis, int64_t{a.consent_required},
             a.valid_from.ToString(),
             a.valid_to ? storage::Value(a.valid_to->ToString()) : storage::Value(storage::Null{}),
             a.description, int64_t{a.approvals_needed}, a.proposed_by, a.proposed_at.micros}));
    a.id = rows.at(0).Int(0);
    RETURN_IF_ERROR(
        tx.Execute(kInsertEvent, {a.id, std::string("proposed"), who.user.value, who.name,
                                  who.agency.value, a.proposed_at.micros, std::string()})
            .status());
    RETURN_IF_ERROR(audit_.Append(
        tx, who,
        {"agreement.propose", "sharing_agreement", std::to_string(a.id), std::nullopt, true,
         fmt::format("{} ({}) for agency {} for {}", a.category,
                     authz::SharingClassName(a.sharing_class), a.receiving_agency.value,
                     authz::PurposeName(a.purpose))}));
    return outbox_.Append(tx, "agreement.proposed", "sharing_agreement", std::to_string(a.id),
                          EventPayload(a, AgreementState::kProposed));
  }));
  return Get(a.id);
}

StatusOr<Agreement> AgreementService::Decide(const authz::Principal& who, int64_t id,
                                             AgreementDecision decision,
                                             const std::string& reason) {
  const std::string action = decision == AgreementDecision::kApprove  ? "agreement.approve"
                             : decision == AgreementDecision::kRefuse ? "agreement.refuse"
                                                                      : "agreement.revoke";
  if (!who.HasRole(authz::Role::kGovernance) || who.kind != authz::PrincipalKind::kStaff ||
      !who.user.valid()) {
    return DenyAudited(who, action, std::to_string(id),
                       "only governance users, signed in, decide sharing agreements");
  }
  if (core::Utf8Length(reason) > kMaxReason) {
    return Status::InvalidArgument("the reason is too long",
                                   {{"reason", "must be at most 500 characters"}});
  }
  if (decision != AgreementDecision::kApprove && reason.empty()) {
    return Status::InvalidArgument(
        decision == AgreementDecision::kRefuse ? "a refusal needs a reason"
                                               : "a revocation needs a reason",
        {{"reason", decision == AgreementDecision::kRefuse ? "say why the agreement is refused"
                                                           : "say why the agreement is revoked"}});
  }
  // Why this user may not approve this agreement (a conflict of interest), once it is read.
  std::string conflict;
  const Status written = db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<Agreement> found, Load(tx, "WHERE a.id = ?", {id}));
    if (found.empty()) return Status::NotFound(fmt::format("no sharing agreement has id {}", id));
    const Agreement& a = found.front();
    const std::string state_name(AgreementStateName(a.state));
    const core::Timestamp now = clock_.Now();
    AgreementState next = a.state;
    int needed = a.approvals_needed;
    std::string event_action;
    std::string event_type;
    std::string audit_reason;
    switch (decision) {
      case AgreementDecision::kApprove: {
        if (a.state != AgreementState::kProposed) {
          return Status::FailedPrecondition(fmt::format(
              "agreement {} is {}: only a proposed agreement can be approved", id, state_name));
        }
        const authz::DataCategory* category = categories_.Find(a.category);
        if (category == nullptr || category->sharing_class == authz::SharingClass::kBlack) {
          return Status::FailedPrecondition(
              fmt::format("the category {} is {} now: it cannot be shared; refuse the proposal",
                          a.category, category == nullptr ? "no longer declared" : "black-class"));
        }
        // Nobody approves what they asked for: not the user who proposed it, not the agency
        // that would receive the data (it may refuse, or withdraw by refusing).
        if (a.proposed_by == who.user.value) {
          conflict = fmt::format(
              "you proposed agreement {}: a governance user who did not propose it decides on it",
              id);
        } else if (a.receiving_agency == who.agency) {
          conflict = fmt::format(
              "agreement {} is for your own agency to receive data: a governance user of another "
              "agency approves it",
              id);
        }
        if (!conflict.empty()) return Status::PermissionDenied(conflict);
        for (const auto& e : a.events) {
          if (e.action == "approved" && e.user == who.user.value) {
            return Status::FailedPrecondition(
                fmt::format("you approved agreement {} already: a grey-class agreement needs the "
                            "approval of a second, "
                            "different governance user",
                            id));
          }
        }
        // The category's class today decides, should the deployment have reclassified it.
        needed = ApprovalsNeeded(category->sharing_class);
        const int approvals = a.approvals() + 1;
        event_action = "approved";
        if (approvals >= needed) {
          next = AgreementState::kApproved;
          event_type = "agreement.approved";
          audit_reason =
              WithReason(fmt::format("approval {} of {}: approved", approvals, needed), reason);
        } else {
          event_type = "agreement.approval_recorded";
          audit_reason = WithReason(fmt::format("approval {} of {}", approvals, needed), reason);
        }
        break;
      }
      case AgreementDecision::kRefuse:
        if (a.state != AgreementState::kProposed) {
          return Status::FailedPrecondition(fmt::format(
              "agreement {} is {}: only a proposed agreement can be refused", id, state_name));
        }
        next = AgreementState::kRefused;
        event_action = "refused";
        event_type = "agreement.refused";
        audit_reason = WithReason("refused", reason);
        break;
      case AgreementDecision::kRevoke:
        if (a.state != AgreementState::kApproved) {
          return Status::FailedPrecondition(fmt::format(
              "agreement {} is {}: only an approved agreement can be revoked", id, state_name));
        }
        next = AgreementState::kRevoked;
        event_action = "revoked";
        event_type = "agreement.revoked";
        audit_reason = WithReason("revoked", reason);
        break;
    }
    const bool settled = next != a.state;
    // The version check makes concurrent decisions on one agreement take turns: on PostgreSQL
    // the second waits for the first's row lock, then finds the version moved.
    ASSIGN_OR_RETURN(
        int64_t changed,
        tx.Execute(kUpdateState,
                   {std::string(AgreementStateName(next)), int64_t{needed},
                    settled ? storage::Value(now.micros)
                            : (a.decided_at ? storage::Value(a.decided_at->micros)
                                            : storage::Value(storage::Null{})),
                    decision == AgreementDecision::kApprove ? a.reason : reason, id, a.version}));
    if (changed != 1) {
      return Status::Aborted(
          fmt::format("agreement {} was decided by someone else meanwhile; look at it again", id));
    }
    auto inserted = tx.Execute(kInsertEvent, {id, event_action, who.user.value, who.name,
                                              who.agency.value, now.micros, reason});
    if (!inserted.ok() && inserted.status().code() == core::StatusCode::kAlreadyExists) {
      return Status::FailedPrecondition(fmt::format("you approved agreement {} already", id));
    }
    RETURN_IF_ERROR(inserted.status());
    RETURN_IF_ERROR(audit_.Append(
        tx, who,
        {action, "sharing_agreement", std::to_string(id), std::nullopt, true, audit_reason}));
    return outbox_.Append(tx, event_type, "sharing_agreement", std::to_string(id),
                          EventPayload(a, next));
  });
  if (!conflict.empty()) return DenyAudited(who, action, std::to_string(id), conflict);
  RETURN_IF_ERROR(written);
  return Get(id);
}

StatusOr<Agreement> AgreementService::Get(int64_t id) {
  std::vector<Agreement> found;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(found, Load(tx, "WHERE a.id = ?", {id}));
    return Status::Ok();
  }));
  if (found.empty()) return Status::NotFound(fmt::format("no sharing agreement has id {}", id));
  return std::move(found.front());
}

StatusOr<std::vector<Agreement>> AgreementService::List(const AgreementQuery& q) {
  if (q.limit < 1 || q.limit > kMaxLimit) {
    return Status::InvalidArgument("the page size is out of range",
                                   {{"limit", "must be from 1 to 200"}});
  }
  std::string where = "WHERE a.id > ?";
  storage::Params params = {q.after};
  if (q.state) {
    where += " AND a.state = ?";
    params.emplace_back(std::string(AgreementStateName(*q.state)));
  }
  if (q.receiving_agency) {
    where += " AND a.receiving_agency_id = ?";
    params.emplace_back(q.receiving_agency->value);
  }
  if (q.in_force_on) {
    const std::string day = q.in_force_on->ToString();
    where +=
        " AND a.state = 'approved' AND a.valid_from <= ? AND (a.valid_to IS NULL OR a.valid_to >= "
        "?)";
    params.emplace_back(day);
    params.emplace_back(day);
    // As InForce: a category that became black, or is no longer declared, is not in force.
    std::string shareable;
    for (const auto& c : categories_.categories()) {
      if (c.sharing_class == authz::SharingClass::kBlack) continue;
      shareable += shareable.empty() ? "?" : ", ?";
      params.emplace_back(c.id);
    }
    where += shareable.empty() ? " AND 1 = 0" : " AND a.category IN (" + shareable + ")";
  }
  where += " ORDER BY a.id LIMIT ?";
  params.emplace_back(int64_t{q.limit});
  std::vector<Agreement> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, Load(tx, where, params));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::shared_ptr<const AgreementService::Snapshot>> AgreementService::CurrentSnapshot() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (snapshot_ && now - checked_at_ < options_.max_staleness) return snapshot_;
  int64_t newest = 0;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    // Agreements are never deleted and every change adds an event, so the newest event id
    // tells whether anything changed, on this server or another: one index probe.
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT MAX(id) FROM sharing_agreement_events"));
    newest = rows.at(0).OptInt(0).value_or(0);
    return Status::Ok();
  }));
  checked_at_ = now;
  if (snapshot_ && snapshot_->newest_event == newest) return snapshot_;

  auto fresh = std::make_shared<Snapshot>();
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    // Read in one snapshot with the agreements, so that the state matches what was loaded.
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT MAX(id) FROM sharing_agreement_events"));
    fresh->newest_event = rows.at(0).OptInt(0).value_or(0);
    ASSIGN_OR_RETURN(std::vector<Agreement> approved,
                     Load(tx, "WHERE a.state = 'approved' ORDER BY a.id", {}));
    for (auto& a : approved) {
      const authz::DataCategory* c = categories_.Find(a.category);
      if (c == nullptr || c->sharing_class == authz::SharingClass::kBlack) continue;
      fresh->approved[{a.receiving_agency.value, a.category, a.purpose}].push_back(std::move(a));
    }
    return Status::Ok();
  }));
  snapshot_ = std::move(fresh);
  return snapshot_;
}

StatusOr<std::optional<Agreement>> AgreementService::InForce(core::AgencyId agency,
                                                             std::string_view category,
                                                             authz::Purpose purpose,
                                                             core::Date date) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Snapshot> snapshot, CurrentSnapshot());
  const Agreement* best = snapshot->Best(agency, category, purpose, date);
  if (best == nullptr) return std::optional<Agreement>();
  return std::optional<Agreement>(*best);
}

StatusOr<std::vector<AgreementService::CategoryAgreement>> AgreementService::InForceByCategory(
    core::AgencyId agency, authz::Purpose purpose, core::Date date) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Snapshot> snapshot, CurrentSnapshot());
  const auto& cats = categories_.categories();
  std::vector<CategoryAgreement> out(cats.size());
  for (size_t c = 0; c < cats.size(); ++c) {
    if (const Agreement* best = snapshot->Best(agency, cats[c].id, purpose, date)) {
      out[c] = {best->id, best->consent_required};
    }
  }
  return out;
}

}  // namespace sharing
