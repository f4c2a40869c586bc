#pragma once

#include "accounts/account_service.h"
#include "http/router.h"

namespace http {

// The JSON API for agencies, offices, staff accounts and API tokens, all Auth::kApi:
//   GET    /api/v1/me                       getMe          the caller
//   GET    /api/v1/agencies                 listAgencies
//   POST   /api/v1/agencies                 createAgency   201 + Location
//   GET    /api/v1/agencies/{id}            getAgency
//   GET    /api/v1/agencies/{id}/offices    listOffices
//   POST   /api/v1/agencies/{id}/offices    createOffice   201
//   GET    /api/v1/agencies/{id}/users      listUsers      (never password hashes)
//   POST   /api/v1/agencies/{id}/users      createUser     201 (staff accounts)
//   GET    /api/v1/tokens                   listTokens     the caller's agency
//   POST   /api/v1/tokens                   issueToken     201, the secret shown once
//   DELETE /api/v1/tokens/{id}              revokeToken    204
// Errors are RFC 9457 problems; unknown or mistyped JSON fields are 400 naming each field.
// `accounts` must outlive `router`.
void AddAccountRoutes(Router& router, accounts::AccountService& accounts);

}  // namespace http
