#pragma once

#include "directory/directory_service.h"
#include "http/router.h"

namespace http {

// The Open Referral HSDS 3.0 API profile, read-only and public: /hsds/, /hsds/services,
// /hsds/organizations, /hsds/service_at_locations, /hsds/taxonomies, /hsds/taxonomy_terms (each
// a page in the HSDS envelope, and {id} for one, fully nested). Also /api/v1/directory/export
// (the whole directory as one HSDS bundle) and, for administrators, POST
// /api/v1/directory/imports.
void AddDirectoryApiRoutes(Router& router, directory::DirectoryService& directory);

// Query parameters of a service search shared by the API and the pages ("search", "page",
// "per_page", "taxonomy_term_id", "language", "postcode"…). Errors name the parameter.
core::StatusOr<directory::SearchQuery> SearchQueryFrom(const Request& request, int default_per_page);

}  // namespace http
