#pragma once

#include "eligibility/screening_service.h"
#include "http/router.h"

namespace http {

// POST /api/v1/screenings, GET /api/v1/screenings/{id}, GET /api/v1/households/{id}/screenings
// and GET /api/v1/programs (the programs and the questions they may ask).
void AddScreeningRoutes(Router& router, eligibility::ScreeningService& screenings);

// A JSON map of answers → the engine's text values; an answer that cannot be read is left out and
// named in `errors` under `prefix`, the others are still returned. Numbers keep their written
// form, booleans are true/false, null means "not given".
eligibility::HouseholdInput::Values AnswersFromJson(const nlohmann::json& object,
                                                    const std::string& prefix,
                                                    std::vector<core::FieldError>& errors);

}  // namespace http
