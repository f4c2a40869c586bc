#pragma once

#include "cases/timeline.h"
#include "frontoffice/interaction_service.h"
#include "http/router.h"

namespace http {

// /api/v1/persons/{id}/timeline: the person's referrals, cases, applications, documents and contacts on
// one timeline, as the caller may see them.
// The person's whole timeline, newest first: what cases::PersonTimeline gives, with the contacts
// where the caller's roles work with clients and the gate shows them (each read audited).
core::StatusOr<std::vector<cases::TimelineEntry>> FullPersonTimeline(
    const authz::Principal& who, core::PersonId person, cases::ReferralService* referrals, cases::CaseService* cases,
    cases::ApplicationService* applications, cases::DocumentService* documents,
    frontoffice::InteractionService* interactions);

void AddTimelineRoutes(Router& router, cases::ReferralService* referrals, cases::CaseService* cases,
                       cases::ApplicationService* applications, cases::DocumentService* documents,
                       frontoffice::InteractionService* interactions = nullptr);

}  // namespace http
