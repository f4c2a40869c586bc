#pragma once

#include <nlohmann/json_fwd.hpp>

#include "cases/application_service.h"
#include "http/router.h"

namespace http {

// /api/v1/applications (apply from a screening; the parts the caller's agency decides),
// /api/v1/applications/{id}, /api/v1/application-parts/{id}/decision and
// /api/v1/persons/{id}/applications.
void AddApplicationRoutes(Router& router, cases::ApplicationService& applications);

nlohmann::json ApplicationJson(const cases::Application& a, core::Date today);

}  // namespace http
