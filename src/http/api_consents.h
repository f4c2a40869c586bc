#pragma once

#include <nlohmann/json_fwd.hpp>

#include "http/router.h"
#include "sharing/break_glass_service.h"
#include "sharing/change_notice_service.h"
#include "sharing/consent_service.h"
#include "sharing/reference_directory.h"

namespace http {

// /api/v1/persons/{id}/consents (give, list), /api/v1/consents/{id} (get), its events (pause,
// resume, withdraw) and its receipt (JSON, after ISO/IEC TS 27560 and the Kantara consent
// receipt).
void AddConsentRoutes(Router& router, sharing::ConsentService& consents);

// The consent receipt (JSON; the page /consents/{id}/receipt shows the same for printing).
nlohmann::json ConsentReceiptJson(const sharing::Consent& c, const authz::DataCategories& categories,
                                  core::Date today, core::Timestamp now);

// /api/v1/persons/{id}/agencies: the reference directory, which agencies know the person.
void AddDirectoryRoutes(Router& router, sharing::ReferenceDirectory& directory);

// /api/v1/break-glass (the review queue) and /api/v1/break-glass/{id}/review.
void AddBreakGlassRoutes(Router& router, sharing::BreakGlassService& glass);

nlohmann::json GlassAccessJson(const sharing::GlassAccess& g);

// Tell us once: /api/v1/changes (the caller agency's feed of change notices),
// /api/v1/changes/{id}/applied and /api/v1/persons/{id}/changes (where each change went).
void AddChangeRoutes(Router& router, sharing::ChangeNoticeService& changes);

}  // namespace http
