#pragma once

#include "http/router.h"
#include "identity/match_service.h"

namespace http {

// POST /api/v1/match: a person's fields -> likely existing persons, explained.
void AddMatchRoutes(Router& router, identity::MatchService& match);

}  // namespace http
