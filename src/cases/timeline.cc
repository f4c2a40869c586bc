#include "cases/timeline.h"

#include <fmt/format.h>

#include <algorithm>

#include "access/access_gate.h"

namespace cases {

using core::Status;
using core::StatusOr;

std::vector<TimelineEntry> TimelineOf(const TimelineSources& sources) {
  std::vector<TimelineEntry> out = sources.extra;
  if (sources.referrals != nullptr) {
    for (const auto& r : *sources.referrals) {
      const std::string link = fmt::format("/referrals/{}", r.id);
      out.push_back({r.created_at, "referral",
                     fmt::format("Referred by {} to {}{} ({})", r.from_agency_name, r.to_agency_name,
                                 r.service.empty() ? "" : ", for " + r.service, UrgencyName(r.urgency)),
                     link});
      // Answered means accepted or declined (cases/referral_service.cc).
      if (r.answered_at) {
        out.push_back({*r.answered_at, "referral",
                       fmt::format("{} {} the referral", r.to_agency_name,
                                   r.state == ReferralState::kDeclined ? "declined" : "accepted"),
                       link});
      }
      if (r.state == ReferralState::kCompleted || r.state == ReferralState::kClosed ||
          r.state == ReferralState::kWithdrawn) {
        out.push_back({r.updated_at, "referral",
                       fmt::format("The referral to {} was {}", r.to_agency_name, ReferralStateName(r.state)), link});
      }
    }
  }
  if (sources.cases != nullptr) {
    for (const auto& c : *sources.cases) {
      const std::string link = fmt::format("/cases/{}", c.id);
      out.push_back({c.opened_at, "case",
                     fmt::format("Case opened: {}, coordinated by {}", c.title, c.coordinating_agency_name), link});
      if (c.closed_at) {
        out.push_back({*c.closed_at, "case", fmt::format("Case closed ({}): {}", c.close_reason, c.title), link});
      }
    }
  }
  if (sources.applications != nullptr) {
    for (const auto& a : *sources.applications) {
      const std::string link = fmt::format("/applications/{}", a.id);
      std::string programs;
      for (const auto& p : a.parts) programs += (programs.empty() ? "" : ", ") + p.program_name;
      out.push_back({a.created_at, "application",
                     fmt::format("Applied at {}{}", a.agency_name, programs.empty() ? "" : " for " + programs), link});
      for (const auto& p : a.parts) {
        if (!p.decided_at) continue;
        out.push_back({*p.decided_at, "application",
                       fmt::format("{}: {} by {}", p.program_name, p.state, p.agency_name), link});
      }
    }
  }
  if (sources.documents != nullptr) {
    for (const auto& d : *sources.documents) {
      out.push_back({d.uploaded_at, "document",
                     fmt::format("Document added by {}: {} ({})", d.agency_name, d.file_name, d.category_label),
                     fmt::format("/api/v1/documents/{}/content", d.id)});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const TimelineEntry& a, const TimelineEntry& b) { return a.at > b.at; });
  return out;
}

StatusOr<std::vector<TimelineEntry>> PersonTimeline(const authz::Principal& who, core::PersonId person,
                                                    ReferralService* referrals, CaseService* cases,
                                                    ApplicationService* applications, DocumentService* documents) {
  const bool citizen = who.kind == authz::PrincipalKind::kCitizen;
  const bool casework = citizen || authz::HasCaseworkRole(who);
  const bool client = citizen || authz::HasClientRole(who);
  if (!client) {
    // No role that works with client records: refused by the access gate through the
    // documents' read, which audits the refusal.
    if (documents != nullptr) {
      auto refused = documents->ForPerson(who, person);
      if (!refused.ok()) return refused.status();
    }
    return Status::PermissionDenied("no role of yours works with client records");
  }
  std::vector<Referral> referral_list;
  std::vector<Case> case_list;
  std::vector<Application> application_list;
  std::vector<Document> document_list;
  TimelineSources sources;
  if (referrals != nullptr && casework) {
    ASSIGN_OR_RETURN(referral_list, referrals->ForPerson(who, person));
    sources.referrals = &referral_list;
  }
  if (cases != nullptr && casework) {
    ASSIGN_OR_RETURN(case_list, cases->ForPerson(who, person));
    sources.cases = &case_list;
  }
  if (applications != nullptr) {
    ASSIGN_OR_RETURN(application_list, applications->ForPerson(who, person));
    sources.applications = &application_list;
  }
  if (documents != nullptr && !citizen) {
    auto list = documents->ForPerson(who, person);
    // The gate may refuse the person's data altogether: then there is nothing to show here.
    if (list.ok()) {
      document_list = std::move(list->first);
      sources.documents = &document_list;
    } else if (list.status().code() != core::StatusCode::kPermissionDenied) {
      return list.status();
    }
  }
  return TimelineOf(sources);
}

}  // namespace cases
