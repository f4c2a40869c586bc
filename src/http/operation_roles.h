#pragma once

#include <string>
#include <utility>
#include <vector>

#include "access/principal.h"
#include "core/status.h"
#include "http/router.h"

namespace http {

// The roles that may make each API write at all (any one of them), by operationId: a caller with
// none of them is refused with 403 whatever its request says, one that is not valid too
// (Route::roles). The services decide everything else and refuse valid requests themselves.
// Published in the OpenAPI document as each operation's x-onedoor-roles (tests/openapi_test.cc
// keeps the two equal).
const std::vector<std::pair<std::string, std::vector<authz::Role>>>& OperationRoles();

// The operations among those that people signed in to the portal may make too, about
// themselves (Route::people_too); published as x-onedoor-people.
const std::vector<std::string>& OperationsForPeople();

// Sets Route::roles and people_too from the tables; kInternal naming an operationId the router
// does not have.
core::Status ApplyOperationRoles(Router& router);

}  // namespace http
