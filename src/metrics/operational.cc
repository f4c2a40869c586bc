#include "metrics/operational.h"

#include <fmt/format.h>

namespace metrics {

namespace {

// A label value: backslash, quote and line break escaped.
std::string Label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

constexpr int64_t kDayMicros = int64_t{24} * 3600 * 1'000'000;

}  // namespace

core::StatusOr<std::string> OperationalGauges(storage::Database& db, core::Timestamp now, const std::string& today) {
  std::string out;
  RETURN_IF_ERROR(db.Read([&](storage::Transaction& tx) -> core::Status {
    // Every queue, waiting or not, so that a queue that empties reads 0.
    ASSIGN_OR_RETURN(storage::Rows queues,
                     tx.Query("SELECT q.office_id, q.code, COUNT(t.id), MIN(t.arrived_at) FROM queues q LEFT JOIN "
                              "tickets t ON t.queue_id = q.id AND t.state = 'waiting' AND t.arrived_at >= ? "
                              "GROUP BY q.office_id, q.code ORDER BY q.office_id, q.code",
                              {now.micros - kDayMicros}));
    out += "# HELP onedoor_queue_waiting Tickets waiting now at an office's queue (issued in the last day).\n"
           "# TYPE onedoor_queue_waiting gauge\n";
    for (const auto& r : queues) {
      out += fmt::format("onedoor_queue_waiting{{office=\"{}\",queue=\"{}\"}} {}\n", r.Int(0), Label(r.Text(1)),
                         r.Int(2));
    }
    out += "# HELP onedoor_queue_oldest_wait_seconds How long the longest-waiting ticket of a queue has waited.\n"
           "# TYPE onedoor_queue_oldest_wait_seconds gauge\n";
    for (const auto& r : queues) {
      const double seconds = r.IsNull(3) ? 0 : static_cast<double>(now.micros - r.Int(3)) / 1e6;
      out += fmt::format("onedoor_queue_oldest_wait_seconds{{office=\"{}\",queue=\"{}\"}} {:.0f}\n", r.Int(0),
                         Label(r.Text(1)), seconds < 0 ? 0 : seconds);
    }
    // Each agency's backlog, every agency listed.
    struct Backlog {
      const char* name;
      const char* help;
      std::string sql;
      storage::Params params;
    };
    const std::vector<Backlog> backlogs = {
        {"onedoor_referrals_overdue", "Referrals an agency received and has not answered by their respond-by time.",
         "SELECT a.code, COUNT(r.id) FROM agencies a LEFT JOIN referrals r ON r.to_agency_id = a.id AND r.state IN "
         "('sent', 'received') AND r.respond_by < ? GROUP BY a.code ORDER BY a.code",
         {now.micros}},
        {"onedoor_decisions_overdue", "Parts of applications an agency has not decided by their due date.",
         "SELECT a.code, COUNT(p.id) FROM agencies a LEFT JOIN application_parts p ON p.agency_id = a.id AND p.state "
         "IN ('pending', 'more_information') AND p.due < ? GROUP BY a.code ORDER BY a.code",
         {today}},
        {"onedoor_case_reviews_overdue", "Open cases an agency coordinates whose review date has passed.",
         "SELECT a.code, COUNT(c.id) FROM agencies a LEFT JOIN cases c ON c.coordinating_agency_id = a.id AND "
         "c.state = 'open' AND c.next_review_at < ? GROUP BY a.code ORDER BY a.code",
         {now.micros}},
        {"onedoor_changes_pending", "Changes told once and sent to an agency that it has not applied yet.",
         "SELECT a.code, COUNT(n.id) FROM agencies a LEFT JOIN change_notices n ON n.agency_id = a.id AND n.state = "
         "'pending' GROUP BY a.code ORDER BY a.code",
         {}},
    };
    for (const auto& b : backlogs) {
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(b.sql, b.params));
      out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", b.name, b.help, b.name);
      for (const auto& r : rows) out += fmt::format("{}{{agency=\"{}\"}} {}\n", b.name, Label(r.Text(0)), r.Int(1));
    }
    return core::Status::Ok();
  }));
  return out;
}

}  // namespace metrics
