#pragma once

#include "http/router.h"
#include "identity/match_service.h"
#include "identity/review_service.h"

namespace http {

// POST /api/v1/match: a person's fields -> likely existing persons, explained.
void AddMatchRoutes(Router& router, identity::MatchService& match);

// /api/v1/match-reviews: the client index's review queue and its decisions.
void AddReviewRoutes(Router& router, identity::ReviewService& reviews);

}  // namespace http
