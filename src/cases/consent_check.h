#pragma once

#include <string>
#include <vector>

#include "access/data_categories.h"
#include "core/date.h"
#include "core/ids.h"
#include "core/status.h"
#include "storage/database.h"

namespace cases {

// The agency that receives a person's details, for a consent check.
struct Recipient {
  core::AgencyId id;
  std::string kind;  // government, nonprofit
  std::string name;
};

// Whether consent `consent_id` of `person` lets `to` receive the person's name and contact
// details for service delivery or case work on `today`: when it does not, a field error on
// `field` saying why (none given, unknown, withdrawn, paused, another agency, another purpose,
// not in force, a category not covered) is added to `errors`. Errors of `tx` are returned.
core::Status CheckConsent(storage::Transaction& tx, const authz::DataCategories& categories, core::Date today,
                          core::PersonId person, int64_t consent_id, const Recipient& to, const std::string& field,
                          std::vector<core::FieldError>& errors);

}  // namespace cases
