#pragma once

#include <nlohmann/json_fwd.hpp>

#include "cases/referral_service.h"
#include "http/router.h"

namespace http {

// /api/v1/referrals (send; the caller agency's received and sent lists), /api/v1/referrals/{id}
// (with its events), /api/v1/referrals/{id}/actions (receive, accept, decline, start, complete,
// close, withdraw) and /api/v1/persons/{id}/referrals.
void AddReferralRoutes(Router& router, cases::ReferralService& referrals);

nlohmann::json ReferralJson(const cases::Referral& r, core::Timestamp now);

}  // namespace http
