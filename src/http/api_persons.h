#pragma once

#include "http/router.h"
#include "registry/household_service.h"
#include "registry/person_service.h"

namespace http {

// /api/v1/persons, /api/v1/households and /api/v1/source-records.
void AddPersonRoutes(Router& router, registry::PersonService& persons, registry::HouseholdService& households);

}  // namespace http
