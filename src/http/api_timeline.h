#pragma once

#include "cases/timeline.h"
#include "frontoffice/interaction_service.h"
#include "http/router.h"

namespace http {

// /api/v1/persons/{id}/timeline: the person's referrals, cases, applications, documents and contacts on
// one timeline, as the caller may see them.
void AddTimelineRoutes(Router& router, cases::ReferralService* referrals, cases::CaseService* cases,
                       cases::ApplicationService* applications, cases::DocumentService* documents,
                       frontoffice::InteractionService* interactions = nullptr);

}  // namespace http
