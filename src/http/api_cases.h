#pragma once

#include <nlohmann/json_fwd.hpp>

#include "cases/case_service.h"
#include "http/router.h"

namespace http {

// /api/v1/cases (open, the agency's cases), /api/v1/cases/{id} (with participants, conferences,
// plan and timeline) and its commands: participants, lead, conferences (schedule, record or
// cancel), goals, actions, plan item states, reviews, close; /api/v1/persons/{id}/cases.
void AddCaseRoutes(Router& router, cases::CaseService& cases);

nlohmann::json CaseJson(const cases::Case& c, core::Timestamp now, bool details);

}  // namespace http
