#pragma once

#include <nlohmann/json_fwd.hpp>

#include "cases/timeline.h"
#include "frontoffice/interaction_service.h"
#include "http/router.h"

namespace http {

// POST /api/v1/interactions (record a contact), GET /api/v1/interactions?date= (the agency's
// day), POST /api/v1/interactions/{id}/rating, GET /api/v1/persons/{id}/interactions.
void AddInteractionRoutes(Router& router, frontoffice::InteractionService& interactions);

nlohmann::json InteractionJson(const frontoffice::Interaction& i);

// A person's contacts as timeline entries ("By phone with City Social Services: Rent arrears —
// referred").
std::vector<cases::TimelineEntry> ContactEntries(const std::vector<frontoffice::Interaction>& contacts,
                                                 int64_t person_id);

}  // namespace http
