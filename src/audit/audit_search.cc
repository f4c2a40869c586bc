#include "audit/audit_search.h"

#include <fmt/format.h>

namespace audit {

std::string DescribeQuery(const Query& q) {
  std::string out;
  auto add = [&](std::string_view name, const std::string& value) {
    out += fmt::format("{}{}={}", out.empty() ? "" : ", ", name, value);
  };
  if (!q.actor.empty()) add("actor", q.actor);
  if (!q.action.empty()) add("action", q.action);
  if (q.person) add("person", std::to_string(q.person->value));
  if (q.refused_only) add("refused", "only");
  if (q.from) add("from", q.from->ToRfc3339());
  if (q.to) add("to", q.to->ToRfc3339());
  if (q.before_seq > 0) add("before", std::to_string(q.before_seq));
  return out.empty() ? "no filters" : out;
}

core::StatusOr<std::vector<Record>> AuditSearch::Search(const authz::Principal& who, Query q,
                                                        const std::string& action) {
  if (q.limit < 1 || q.limit > kMaxExport) {
    return core::Status::InvalidArgument("the page size is not valid",
                                         {{"limit", fmt::format("must be 1 to {}", kMaxExport)}});
  }
  const bool auditor = who.kind == authz::PrincipalKind::kStaff && who.user.valid() &&
                       who.HasRole(authz::Role::kAuditor);
  // A search about one person is theirs to see in their access log, like any look at their record.
  Entry entry{action, "audit_log", "", auditor ? q.person : std::nullopt, auditor, ""};
  if (!auditor) {
    entry.reason = "only auditors, signed in, search the audit log";
    RETURN_IF_ERROR(log_.Write(db_, who, entry));
    return core::Status::PermissionDenied(entry.reason);
  }
  q.agency = who.agency;
  std::vector<Record> found;
  // A snapshot of its own, not the writer's transaction: a search may read much of the log.
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> core::Status {
    ASSIGN_OR_RETURN(found, AuditLog::Search(tx, q));
    return core::Status::Ok();
  }));
  entry.reason = fmt::format("{} entries of the agency's; {}", found.size(), DescribeQuery(q));
  RETURN_IF_ERROR(log_.Write(db_, who, entry));
  return found;
}

}  // namespace audit
