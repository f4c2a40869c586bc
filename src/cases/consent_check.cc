#include "cases/consent_check.h"

#include <fmt/format.h>

#include <algorithm>

#include "sharing/consent_service.h"

namespace cases {

using core::Status;

Status CheckConsent(storage::Transaction& tx, const authz::DataCategories& categories, core::Date today,
                    core::PersonId person, int64_t consent_id, const Recipient& to, const std::string& field,
                    std::vector<core::FieldError>& errors) {
  auto fail = [&](std::string message) {
    errors.push_back({field, std::move(message)});
    return Status::Ok();
  };
  if (consent_id <= 0) {
    return fail(fmt::format("the person's consent is needed to share their details with {}", to.name));
  }
  ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT person_id, state, receiving_agency_id, agency_kind, purpose "
                                                "FROM consents WHERE id = ?",
                                                {consent_id}));
  if (rows.empty() || rows[0].Int(0) != person.value) return fail("the person has no consent with this id");
  const std::string state = rows[0].Text(1);
  if (state == "withdrawn") {
    return fail(fmt::format("consent {} was withdrawn; the person must give consent anew", consent_id));
  }
  if (state == "paused") return fail(fmt::format("consent {} is paused", consent_id));
  const auto named = rows[0].OptInt(2);
  const std::string kind = rows[0].OptText(3).value_or("");
  if (named ? *named != to.id.value : kind != to.kind) {
    return fail(fmt::format("consent {} does not name {}", consent_id, to.name));
  }
  const std::string purpose = rows[0].Text(4);
  auto parsed = authz::ParsePurpose(purpose);
  if (!parsed.ok() || (*parsed != authz::Purpose::kServiceDelivery && *parsed != authz::Purpose::kCaseWork)) {
    return fail(fmt::format("consent {} is for {}, not for service delivery or case work", consent_id, purpose));
  }
  ASSIGN_OR_RETURN(std::vector<sharing::Consent> active, sharing::ConsentService::ActiveFor(tx, person, to.id, *parsed));
  const auto it = std::find_if(active.begin(), active.end(), [&](const auto& c) { return c.id == consent_id; });
  if (it == active.end() || !it->InForceOn(today)) {
    return fail(fmt::format("consent {} is not in force today", consent_id));
  }
  // The agency receives the person's name and will contact them.
  for (const char* person_field : {"names", "phones", "addresses"}) {
    const authz::DataCategory* c = categories.CategoryOf("person", person_field);
    if (c != nullptr && !it->Covers(categories, c->id)) {
      return fail(fmt::format("consent {} does not cover {}", consent_id, c->label));
    }
  }
  return Status::Ok();
}

}  // namespace cases
