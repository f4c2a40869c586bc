#pragma once

#include <string>
#include <vector>

#include "access/principal.h"
#include "cases/application_service.h"
#include "cases/case_service.h"
#include "cases/document_service.h"
#include "cases/referral_service.h"

namespace cases {

struct TimelineEntry {
  core::Timestamp at;
  std::string kind;  // referral, case, application, document, contact
  std::string text;
  std::string link;  // the page where it is told in full
};

// What has been read of a person, for a timeline; a null source is left out.
struct TimelineSources {
  const std::vector<Referral>* referrals = nullptr;
  const std::vector<Case>* cases = nullptr;
  const std::vector<Application>* applications = nullptr;
  const std::vector<Document>* documents = nullptr;
  // Entries other modules made (contacts of the front office), merged in.
  std::vector<TimelineEntry> extra;
};

// The entries of `sources`, newest first. Reads nothing.
std::vector<TimelineEntry> TimelineOf(const TimelineSources& sources);

// One timeline of a person's referrals, cases, applications and documents, newest first: what
// each service lets the caller see of them (each read gated and audited by its service); a
// kind the caller's roles do not work with is left out, not refused. Null services are skipped.
core::StatusOr<std::vector<TimelineEntry>> PersonTimeline(const authz::Principal& who, core::PersonId person,
                                                          ReferralService* referrals, CaseService* cases,
                                                          ApplicationService* applications,
                                                          DocumentService* documents);

}  // namespace cases
