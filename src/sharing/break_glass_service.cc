#include "sharing/break_glass_service.h"

#include <fmt/format.h>

#include "core/utf8.h"

namespace sharing {
namespace {

using core::Status;
using core::StatusOr;

constexpr const char* kSelect =
    "SELECT g.id, g.audit_seq, g.at, g.user_id, g.actor, g.agency_id, a.name, g.person_id, g.action, "
    "g.justification, g.state, g.reviewer, g.reviewed_at, g.review_note FROM break_glass_accesses g "
    "JOIN agencies a ON a.id = g.agency_id ";

// Reviews are made by people signed in: a partner system's token neither lists nor reviews.
bool MayReview(const authz::Principal& who) {
  return who.kind == authz::PrincipalKind::kStaff && who.user.valid() &&
         who.HasAnyRole({authz::Role::kManager, authz::Role::kAuditor, authz::Role::kGovernance});
}

// Governance users see every agency's accesses; managers and auditors their own agency's.
std::string Scope(const authz::Principal& who, storage::Params& params) {
  if (who.HasRole(authz::Role::kGovernance)) return "1 = 1";
  params.emplace_back(who.agency.value);
  return "g.agency_id = ?";
}

StatusOr<std::vector<GlassAccess>> Load(storage::Transaction& tx, const std::string& where,
                                        const storage::Params& params) {
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(std::string(kSelect) + where, params));
  std::vector<GlassAccess> out;
  for (const auto& r : rows) {
    GlassAccess g;
    g.id = r.Int(0);
    g.audit_seq = r.Int(1);
    g.at = core::Timestamp{r.Int(2)};
    g.user = r.Int(3);
    g.actor = r.Text(4);
    g.agency = core::AgencyId{r.Int(5)};
    g.agency_name = r.Text(6);
    g.person = core::PersonId{r.Int(7)};
    g.action = r.Text(8);
    g.justification = r.Text(9);
    auto state = ParseGlassState(r.Text(10));
    if (!state.ok()) return Status::Internal(fmt::format("break-glass access {} has an unknown state", g.id));
    g.state = *state;
    g.reviewer = r.OptText(11).value_or("");
    if (auto at = r.OptInt(12)) g.reviewed_at = core::Timestamp{*at};
    g.review_note = r.OptText(13).value_or("");
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

std::string_view GlassStateName(GlassState s) {
  switch (s) {
    case GlassState::kPending: return "pending";
    case GlassState::kJustified: return "justified";
    case GlassState::kNotJustified: return "not_justified";
  }
  return "unknown";
}

StatusOr<GlassState> ParseGlassState(std::string_view name) {
  for (GlassState s : {GlassState::kPending, GlassState::kJustified, GlassState::kNotJustified}) {
    if (GlassStateName(s) == name) return s;
  }
  return Status::InvalidArgument(fmt::format("unknown state '{}': use pending, justified or not_justified", name));
}

Status BreakGlassService::DenyAudited(const authz::Principal& who, const std::string& action, const std::string& id,
                                      const std::string& message) {
  RETURN_IF_ERROR(db_.Write(
      [&](storage::Transaction& tx) { return audit_.Append(tx, who, {action, "break_glass", id, std::nullopt, false, message}); }));
  return Status::PermissionDenied(message);
}

StatusOr<std::vector<GlassAccess>> BreakGlassService::List(const authz::Principal& who, const GlassQuery& q) {
  if (q.limit < 1 || q.limit > 200) {
    return Status::InvalidArgument("the page size is out of range", {{"limit", "must be from 1 to 200"}});
  }
  if (!MayReview(who)) {
    return DenyAudited(
        who, "break_glass.list", "",
        "only managers, auditors and governance users, signed in, review emergency accesses");
  }
  storage::Params params;
  std::string where = "WHERE " + Scope(who, params) + " AND g.id > ?";
  params.emplace_back(q.after);
  if (q.state) {
    where += " AND g.state = ?";
    params.emplace_back(std::string(GlassStateName(*q.state)));
  }
  where += " ORDER BY g.id LIMIT ?";
  params.emplace_back(int64_t{q.limit});
  std::vector<GlassAccess> out;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, Load(tx, where, params));
    // The queue names persons (by id) and says why their data was opened: its reading is audited.
    return audit_.Append(tx, who, {"break_glass.list", "break_glass", "", std::nullopt, true,
                                   fmt::format("{} emergency accesses listed for review", out.size())});
  }));
  return out;
}

StatusOr<GlassAccess> BreakGlassService::Review(const authz::Principal& who, int64_t id, GlassState outcome,
                                                const std::string& note) {
  const std::string record = std::to_string(id);
  if (!MayReview(who)) {
    return DenyAudited(
        who, "break_glass.review", record,
        "only managers, auditors and governance users, signed in, review emergency accesses");
  }
  std::vector<core::FieldError> errors;
  if (outcome == GlassState::kPending) errors.push_back({"outcome", "must be justified or not_justified"});
  if (outcome == GlassState::kNotJustified && note.find_first_not_of(" \t\r\n") == std::string::npos) {
    errors.push_back({"note", "say why the access was not justified"});
  }
  if (core::Utf8Length(note) > 1000) errors.push_back({"note", "must be at most 1000 characters"});
  if (!errors.empty()) return Status::InvalidArgument("the review has invalid fields", std::move(errors));
  GlassAccess out;
  std::string refusal;
  Status s = db_.Write([&](storage::Transaction& tx) -> Status {
    storage::Params params;
    std::string where = "WHERE " + Scope(who, params) + " AND g.id = ?";
    params.emplace_back(id);
    ASSIGN_OR_RETURN(std::vector<GlassAccess> found, Load(tx, where, params));
    if (found.empty()) return Status::NotFound(fmt::format("no emergency access {} for you to review", id));
    out = found.front();
    if (out.user != 0 && out.user == who.user.value) {
      refusal = "nobody reviews their own emergency access";
      return audit_.Append(tx, who, {"break_glass.review", "break_glass", record, out.person, false, refusal});
    }
    if (out.state != GlassState::kPending) {
      return Status::FailedPrecondition(fmt::format("emergency access {} was already reviewed as {} by {}", id,
                                                    GlassStateName(out.state), out.reviewer));
    }
    const core::Timestamp now = clock_.Now();
    ASSIGN_OR_RETURN(int64_t changed,
                     tx.Execute("UPDATE break_glass_accesses SET state = ?, reviewed_by = ?, reviewer = ?, "
                                "reviewed_at = ?, review_note = ? WHERE id = ? AND state = 'pending'",
                                {std::string(GlassStateName(outcome)), who.user.value, who.name, now.micros, note, id}));
    if (changed != 1) return Status::Aborted("the access was reviewed meanwhile; look again");
    out.state = outcome;
    out.reviewer = who.name;
    out.reviewed_at = now;
    out.review_note = note;
    RETURN_IF_ERROR(audit_.Append(tx, who, {"break_glass.review", "break_glass", record, out.person, true,
                                            fmt::format("reviewed as {}", GlassStateName(outcome))}));
    return outbox_.Append(tx, "break_glass.reviewed", "break_glass", record,
                          fmt::format(R"({{"id":{},"person_id":{},"agency_id":{},"outcome":"{}"}})", id,
                                      out.person.value, out.agency.value, GlassStateName(outcome)));
  });
  RETURN_IF_ERROR(s);
  if (!refusal.empty()) return Status::PermissionDenied(refusal);
  return out;
}

}  // namespace sharing
