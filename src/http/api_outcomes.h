#pragma once

#include <nlohmann/json.hpp>

#include "http/router.h"
#include "metrics/diagnostic.h"
#include "metrics/outcomes.h"

namespace http {

// The outcomes framework: /api/v1/outcomes (GET, POST), /api/v1/outcomes/{id} (GET, DELETE),
// /api/v1/outcomes/{id}/indicators (POST), /api/v1/outcome-indicators/{id} (DELETE),
// /api/v1/outcomes/{id}/contributions (POST), /api/v1/outcome-contributions/{id} (DELETE) and
// /api/v1/agencies/{id}/outcomes?month= (where the agency's work counts).
void AddOutcomeRoutes(Router& router, metrics::OutcomeService& outcomes, metrics::ScorecardService& cards);
// The integration diagnostic: /api/v1/diagnostics/questions, /api/v1/diagnostics (GET, POST) and
// /api/v1/diagnostics/{id}.
void AddDiagnosticRoutes(Router& router, metrics::DiagnosticService& diagnostics);

nlohmann::json OutcomeJson(const metrics::Outcome& o);
nlohmann::json AssessmentJson(const metrics::Assessment& a);
// Reads {"complexity": {...}, "ratings": {...}} into `out`; the mistakes go to `r`.
class JsonReader;
void ReadDiagnosticAnswers(const nlohmann::json& body, JsonReader& r, metrics::DiagnosticAnswers* out);

}  // namespace http
