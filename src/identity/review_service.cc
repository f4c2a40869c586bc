#include "identity/review_service.h"

#include <fmt/format.h>

#include "core/utf8.h"

namespace identity {

using core::Status;
using core::StatusOr;

namespace {

constexpr std::string_view kSelect =
    "SELECT r.id, r.state, r.weight, r.probability, r.explanation, r.created_at, r.decided_by, r.decided_at, "
    "r.reason, a.id, a.agency_id, a.local_id, a.person_id, a.data, b.id, b.agency_id, b.local_id, b.person_id, "
    "b.data FROM match_reviews r JOIN source_records a ON a.id = r.record_a JOIN source_records b ON "
    "b.id = r.record_b ";

StatusOr<ReviewSide> Side(const storage::Row& row, size_t at) {
  ReviewSide s;
  s.record = core::SourceRecordId{row.Int(at)};
  s.agency = core::AgencyId{row.Int(at + 1)};
  s.local_id = row.Text(at + 2);
  if (!row.IsNull(at + 3)) s.person = core::PersonId{row.Int(at + 3)};
  auto data = registry::FromStorageJson(row.Text(at + 4));
  if (data.ok()) s.data = std::move(data).value();
  return s;
}

}  // namespace

StatusOr<std::vector<MatchReview>> ReviewService::Load(const std::string& where, const storage::Params& params) {
  std::vector<MatchReview> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(std::string(kSelect) + where, params));
    for (const auto& row : rows) {
      MatchReview r;
      r.id = row.Int(0);
      r.state = row.Text(1);
      r.weight = row.Real(2);
      r.probability = row.Real(3);
      r.explanation = row.Text(4);
      r.created_at = {row.Int(5)};
      if (!row.IsNull(6)) r.decided_by = row.Int(6);
      if (!row.IsNull(7)) r.decided_at = core::Timestamp{row.Int(7)};
      r.reason = row.OptText(8).value_or("");
      ASSIGN_OR_RETURN(r.a, Side(row, 9));
      ASSIGN_OR_RETURN(r.b, Side(row, 14));
      out.push_back(std::move(r));
    }
    return Status::Ok();
  }));
  return out;
}

// A pair one of whose records the principal's agency keeps.
constexpr const char* kOwnPair =
    "EXISTS (SELECT 1 FROM source_records own WHERE own.id IN (r.record_a, r.record_b) AND own.agency_id = ?)";

// Both records of each review are personal data: the gate decides per record, and each view is
// audited on the records' persons before anything is released. The caller's own agency's record
// is its source record; the other agency's is that agency's data about a person, released only as
// the person's record would be (its agreements and the person's consents). Returns the reason
// each review is refused, "" for those shown.
StatusOr<std::vector<std::string>> ReviewService::AuditView(const authz::Principal& who,
                                                            std::vector<MatchReview>& reviews) {
  // Deciding duplicates is casework: the front desk signposts, it does not merge records.
  if (!authz::HasCaseworkRole(who)) {
    const std::string refusal =
        "only caseworkers, specialists, coordinators and managers review possible duplicates";
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
      return audit_.Append(tx, who, {"match_review.read", "match_review", "", std::nullopt, false, refusal});
    }));
    return Status::PermissionDenied(refusal);
  }
  std::vector<std::string> refusals(reviews.size());
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    for (size_t i = 0; i < reviews.size(); ++i) {
      MatchReview& r = reviews[i];
      refusals[i].clear();  // the write may run again
      for (ReviewSide* s : {&r.a, &r.b}) {
        authz::Decision d;
        if (s->agency == who.agency) {
          d = gate_.DecidePerson(who, authz::Operation::kRead, s->person.value_or(core::PersonId{}),
                                 authz::Resource::kSourceRecord, &tx);
        } else if (s->person) {
          d = gate_.DecidePerson(who, authz::Operation::kRead, *s->person, authz::Resource::kPerson,
                                 &tx);
        } else {
          d.allowed = false;
          d.reason =
              "the other agency's record is not linked to a client, so nothing lets your agency "
              "receive it";
        }
        RETURN_IF_ERROR(audit_.Append(tx, who, {"match_review.read", "source_record", std::to_string(s->record.value),
                                                s->person, d.allowed, d.reason}));
        if (!d.allowed && refusals[i].empty()) refusals[i] = d.reason;
        // The other agency's record shows what the person's record would: nothing withheld.
        if (d.allowed && s->agency != who.agency) registry::Redact(s->data, d);
      }
    }
    return Status::Ok();
  }));
  return refusals;
}

StatusOr<std::vector<MatchReview>> ReviewService::List(const authz::Principal& who, const std::string& state,
                                                       int limit, int64_t after) {
  if (state != "pending" && state != "same" && state != "not_same") {
    return Status::InvalidArgument("the state is not known", {{"state", "must be pending, same or not_same"}});
  }
  if (limit < 1 || limit > 100) return Status::InvalidArgument("the page size is out of range", {{"limit", "must be from 1 to 100"}});
  // An agency reviews the pairs that involve one of its own records.
  ASSIGN_OR_RETURN(std::vector<MatchReview> reviews,
                   Load(std::string("WHERE r.state = ? AND r.id > ? AND ") + kOwnPair + " ORDER BY r.id LIMIT ?",
                        {state, after, who.agency.value, int64_t{limit}}));
  // A pair whose other record the caller may not see is left out of the list (its refusal is in
  // the audit log); the other agency reviews it.
  ASSIGN_OR_RETURN(std::vector<std::string> refusals, AuditView(who, reviews));
  std::vector<MatchReview> shown;
  for (size_t i = 0; i < reviews.size(); ++i) {
    if (refusals[i].empty()) shown.push_back(std::move(reviews[i]));
  }
  return shown;
}

StatusOr<MatchReview> ReviewService::Get(const authz::Principal& who, int64_t id) {
  ASSIGN_OR_RETURN(std::vector<MatchReview> found,
                   Load(std::string("WHERE r.id = ? AND ") + kOwnPair, {id, who.agency.value}));
  if (found.empty()) return Status::NotFound(fmt::format("no match review {} involves your agency's records", id));
  ASSIGN_OR_RETURN(std::vector<std::string> refusals, AuditView(who, found));
  if (!refusals.front().empty()) return Status::PermissionDenied(refusals.front());
  return found.front();
}

StatusOr<MatchReview> ReviewService::Decide(const authz::Principal& who, int64_t id, ReviewDecision decision,
                                            const std::string& reason) {
  if (core::Utf8Length(reason) > 500)
    return Status::InvalidArgument("the reason is too long",
                                   {{"reason", "must be at most 500 characters"}});
  if (!who.HasAnyRole({authz::Role::kCaseworker, authz::Role::kSpecialist, authz::Role::kCoordinator,
                       authz::Role::kManager})) {
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
      return audit_.Append(tx, who, {"match_review.decide", "match_review", std::to_string(id), std::nullopt, false,
                                     "only caseworkers, specialists, coordinators and managers decide duplicates"});
    }));
    return Status::PermissionDenied("only caseworkers, specialists, coordinators and managers decide duplicates");
  }
  // Get checks that the caller may see both records (and audits the view); what is written uses
  // the records as they are, not as redacted for the caller.
  RETURN_IF_ERROR(Get(who, id).status());
  ASSIGN_OR_RETURN(std::vector<MatchReview> stored, Load("WHERE r.id = ?", {id}));
  if (stored.empty())
    return Status::NotFound(fmt::format("no match review {} involves your agency's records", id));
  const MatchReview review = std::move(stored.front());
  const std::string state = decision == ReviewDecision::kSame ? "same" : "not_same";
  const bool override = review.state != "pending";
  if (override) {
    if (!who.HasRole(authz::Role::kManager)) {
      return Status::PermissionDenied("this pair was already decided; only a manager may change the decision");
    }
    if (reason.empty()) {
      return Status::InvalidArgument("changing a decision needs a reason", {{"reason", "say why the decision changes"}});
    }
  }
  // The effect on the links first; each step is its own audited transaction.
  const auto& a = review.a;
  const auto& b = review.b;
  if (decision == ReviewDecision::kSame) {
    if (!a.person && !b.person) {
      RETURN_IF_ERROR(persons_.LinkSources(who, std::nullopt, &a.data, {{a.record, review.weight}, {b.record, review.weight}},
                                           "review")
                          .status());
    } else if (!a.person || !b.person) {
      const ReviewSide& linked = a.person ? a : b;
      const ReviewSide& loose = a.person ? b : a;
      RETURN_IF_ERROR(persons_.LinkSources(who, linked.person, nullptr, {{loose.record, review.weight}}, "review").status());
    } else if (*a.person != *b.person) {
      // Every record on b's person goes with it: those an earlier decision (or the linker) put
      // with b are the same person too, and would otherwise be parted from it without a word.
      std::vector<core::SourceRecordId> records;
      RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
        ASSIGN_OR_RETURN(storage::Rows rows,
                         tx.Query("SELECT id FROM source_records WHERE person_id = ? ORDER BY id",
                                  {b.person->value}));
        for (const auto& row : rows) records.push_back(core::SourceRecordId{row.Int(0)});
        return Status::Ok();
      }));
      for (const core::SourceRecordId record : records) {
        RETURN_IF_ERROR(
            persons_.MoveSource(who, record, *b.person, a.person, nullptr, "review").status());
      }
    }
  } else if (a.person && b.person && *a.person == *b.person) {
    RETURN_IF_ERROR(persons_.MoveSource(who, b.record, *b.person, std::nullopt, &b.data, "review").status());
  }
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(audit_.Append(tx, who, {override ? "match_review.override" : "match_review.decide", "match_review",
                                            std::to_string(id), a.person, true,
                                            fmt::format("{}{}{}", state, reason.empty() ? "" : ": ", reason)}));
    return tx
        .Execute("UPDATE match_reviews SET state = ?, decided_by = ?, decided_at = ?, reason = ? WHERE id = ?",
                 {state, who.user.value, clock_.Now().micros, reason, id})
        .status();
  }));
  ASSIGN_OR_RETURN(std::vector<MatchReview> after, Load("WHERE r.id = ?", {id}));
  return after.front();
}

}  // namespace identity
