#pragma once

#include "eligibility/screening_service.h"
#include "http/router.h"

namespace http {

// POST /api/v1/screenings, GET /api/v1/screenings/{id}, GET /api/v1/households/{id}/screenings
// and GET /api/v1/programs (the programs and the questions they may ask).
void AddScreeningRoutes(Router& router, eligibility::ScreeningService& screenings);

// A JSON map of answers → the engine's text values; field errors are named under `prefix`.
// Numbers keep their written form, booleans are true/false, null means "not given".
core::StatusOr<eligibility::HouseholdInput::Values> AnswersFromJson(const nlohmann::json& object, const std::string& prefix);

}  // namespace http
