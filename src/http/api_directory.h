#pragma once

#include <nlohmann/json.hpp>

#include "directory/directory_service.h"
#include "directory/life_events.h"
#include "http/router.h"

namespace http {

// The Open Referral HSDS 3.0 API profile, read-only and public: /hsds/, /hsds/services,
// /hsds/organizations, /hsds/service_at_locations, /hsds/taxonomies, /hsds/taxonomy_terms (each
// a page in the HSDS envelope, and {id} for one, fully nested). Also /api/v1/directory/export
// (the whole directory as one HSDS bundle) and, for administrators, POST
// /api/v1/directory/imports.
// With `life_events`, also GET /api/v1/life-events and /api/v1/life-events/{id} (public).
void AddDirectoryApiRoutes(Router& router, directory::DirectoryService& directory,
                           const directory::LifeEvents* life_events);

// One life event with its questions, programs, and each step's services (at most 3 a step,
// each service at its first step only).
core::StatusOr<nlohmann::json> LifeEventJson(directory::DirectoryService& directory, const directory::LifeEvents& events,
                                             const directory::LifeEvent& event);

// Query parameters of a service search shared by the API and the pages ("search", "page",
// "per_page", "taxonomy_term_id", "language", "postcode"…). Errors name the parameter.
core::StatusOr<directory::SearchQuery> SearchQueryFrom(const Request& request, int default_per_page);

}  // namespace http
