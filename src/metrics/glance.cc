#include "metrics/glance.h"

namespace metrics {

core::StatusOr<Glance> AtAGlance(storage::Database& db, const authz::Principal& who, core::Timestamp now,
                                 const std::string& today, core::Timestamp day_start) {
  if (who.kind != authz::PrincipalKind::kStaff) {
    return core::Status::PermissionDenied("the home page's figures are for staff");
  }
  Glance g;
  const int64_t agency = who.agency.value;
  const int64_t user = who.user.value;
  RETURN_IF_ERROR(db.Read([&](storage::Transaction& tx) -> core::Status {
    auto one = [&](const std::string& sql, storage::Params params) -> core::StatusOr<storage::Rows> {
      return tx.Query(sql, std::move(params));
    };
    ASSIGN_OR_RETURN(storage::Rows waiting,
                     one("SELECT COUNT(*), MIN(arrived_at) FROM tickets WHERE office_id IN (SELECT id FROM offices "
                         "WHERE agency_id = ?) AND state = 'waiting' AND arrived_at >= ?",
                         {agency, now.micros - int64_t{24} * 3600 * 1'000'000}));
    g.waiting = waiting.at(0).Int(0);
    if (!waiting.at(0).IsNull(1)) g.oldest_wait_minutes = (now.micros - waiting.at(0).Int(1)) / 60'000'000;
    ASSIGN_OR_RETURN(storage::Rows contacts, one("SELECT COUNT(*) FROM interactions WHERE agency_id = ? AND at >= ?",
                                                 {agency, day_start.micros}));
    g.contacts_today = contacts.at(0).Int(0);
    ASSIGN_OR_RETURN(storage::Rows work,
                     one("SELECT COALESCE(SUM(CASE WHEN state = 'claimed' AND assignee_user_id = ? THEN 1 ELSE 0 "
                         "END), 0), COALESCE(SUM(CASE WHEN state = 'open' THEN 1 ELSE 0 END), 0), "
                         "COALESCE(SUM(CASE WHEN due IS NOT NULL AND due < ? THEN 1 ELSE 0 END), 0) FROM work_items "
                         "WHERE agency_id = ? AND state <> 'done' AND ((state = 'claimed' AND assignee_user_id = ?) OR "
                         "(state = 'open' AND team_id IN (SELECT team_id FROM team_members WHERE user_id = ?)))",
                         {user, today, agency, user, user}));
    g.my_work = work.at(0).Int(0);
    g.team_open = work.at(0).Int(1);
    g.work_overdue = work.at(0).Int(2);
    ASSIGN_OR_RETURN(storage::Rows referrals,
                     one("SELECT COUNT(*), COALESCE(SUM(CASE WHEN respond_by < ? THEN 1 ELSE 0 END), 0) FROM "
                         "referrals WHERE to_agency_id = ? AND state IN ('sent', 'received')",
                         {now.micros, agency}));
    g.referrals_waiting = referrals.at(0).Int(0);
    g.referrals_overdue = referrals.at(0).Int(1);
    ASSIGN_OR_RETURN(storage::Rows parts,
                     one("SELECT COUNT(*), COALESCE(SUM(CASE WHEN due < ? THEN 1 ELSE 0 END), 0) FROM "
                         "application_parts WHERE agency_id = ? AND state IN ('pending', 'more_information')",
                         {today, agency}));
    g.decisions_pending = parts.at(0).Int(0);
    g.decisions_overdue = parts.at(0).Int(1);
    ASSIGN_OR_RETURN(storage::Rows cases,
                     one("SELECT COUNT(*), COALESCE(SUM(CASE WHEN next_review_at < ? THEN 1 ELSE 0 END), 0) FROM cases "
                         "WHERE coordinating_agency_id = ? AND state = 'open'",
                         {now.micros, agency}));
    g.cases_open = cases.at(0).Int(0);
    g.reviews_overdue = cases.at(0).Int(1);
    ASSIGN_OR_RETURN(storage::Rows changes,
                     one("SELECT COUNT(*) FROM change_notices WHERE agency_id = ? AND state = 'pending'", {agency}));
    g.changes_pending = changes.at(0).Int(0);
    ASSIGN_OR_RETURN(storage::Rows teams,
                     one("SELECT t.name, (SELECT COUNT(*) FROM team_members m WHERE m.team_id = t.id), "
                         "(SELECT COUNT(*) FROM work_items w WHERE w.team_id = t.id AND w.state = 'open'), "
                         "(SELECT COUNT(*) FROM work_items w WHERE w.team_id = t.id AND w.state = 'claimed'), "
                         "(SELECT COUNT(*) FROM work_items w WHERE w.team_id = t.id AND w.state <> 'done' AND "
                         "w.due IS NOT NULL AND w.due < ?) FROM teams t WHERE t.agency_id = ? ORDER BY t.name",
                         {today, agency}));
    for (const auto& r : teams) {
      g.teams.push_back({r.Text(0), r.Int(2), r.Int(3), r.Int(4), r.Int(1)});
    }
    return core::Status::Ok();
  }));
  return g;
}

}  // namespace metrics
