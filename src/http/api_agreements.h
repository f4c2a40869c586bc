#pragma once

#include "http/router.h"
#include "sharing/agreement_service.h"

namespace http {

// /api/v1/sharing-agreements (list, propose, get, decide) and GET /api/v1/data-categories
// (the deployment's categories, their sharing classes and the category of every field).
void AddAgreementRoutes(Router& router, sharing::AgreementService& agreements);

}  // namespace http
