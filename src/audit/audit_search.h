#pragma once

#include <vector>

#include "access/principal.h"
#include "audit/audit_log.h"
#include "storage/database.h"

namespace audit {

// The audit log as an agency's auditors search it: who in the agency did what, about whom,
// when, and what was refused.
class AuditSearch {
 public:
  // Pages of the log are at most this long, and an export at most kMaxExport entries.
  static constexpr int kMaxPage = 200;
  static constexpr int kMaxExport = 10000;

  AuditSearch(storage::Database& db, AuditLog& log) : db_(db), log_(log) {}

  // The entries made by `who`'s agency (its staff and systems) that `q` asks for, newest first;
  // q.agency is set to `who`'s. Only auditors signed in with their own account search
  // (kPermissionDenied otherwise, the attempt audited). The search is audited as `action`
  // ("audit.search", or "audit.export" for a download) with its filters, about q.person when
  // set (so that the person sees it in their access log), before the entries are returned.
  // q.limit must be 1 to kMaxExport.
  core::StatusOr<std::vector<Record>> Search(const authz::Principal& who, Query q,
                                             const std::string& action = "audit.search");

 private:
  storage::Database& db_;
  AuditLog& log_;
};

// The filters of `q` in words for the audit entry of a search: "actor=caseworker.city, person=12".
std::string DescribeQuery(const Query& q);

}  // namespace audit
