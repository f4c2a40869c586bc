#include "sharing/gate_facts.h"

#include "sharing/consent_service.h"
#include "registry/change_notices.h"

namespace sharing {

using core::Status;
using core::StatusOr;

StatusOr<authz::PersonFacts> GateFacts::Facts(storage::Transaction* tx, const authz::Principal& who,
                                              core::PersonId person) const {
  if (tx != nullptr) return Read(*tx, who, person);
  authz::PersonFacts out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& own) -> Status {
    ASSIGN_OR_RETURN(out, Read(own, who, person));
    return Status::Ok();
  }));
  return out;
}

StatusOr<authz::PersonFacts> GateFacts::Read(storage::Transaction& tx, const authz::Principal& who,
                                             core::PersonId person) const {
  authz::PersonFacts facts;
  ASSIGN_OR_RETURN(registry::Holding holding, registry::KnowsPerson(tx, who.agency, person));
  facts.exists = holding.exists;
  facts.holds = holding.holds && who.agency.valid();
  if (facts.holds || !facts.exists) return facts;
  const core::Date today = clock_.Now().UtcDate();
  ASSIGN_OR_RETURN(auto agreements, agreements_.InForceByCategory(who.agency, who.purpose, today));
  const auto& cats = categories_.categories();
  facts.categories.resize(cats.size());
  bool needs_consent = false;
  for (size_t c = 0; c < cats.size(); ++c) {
    facts.categories[c].agreement = agreements[c].id;
    facts.categories[c].consent_required = agreements[c].consent_required;
    needs_consent = needs_consent || (agreements[c].id != 0 && agreements[c].consent_required);
  }
  if (!needs_consent) return facts;
  ASSIGN_OR_RETURN(std::vector<Consent> consents, ConsentService::ActiveFor(tx, person, who.agency, who.purpose));
  for (size_t c = 0; c < cats.size(); ++c) {
    auto& f = facts.categories[c];
    if (f.agreement == 0 || !f.consent_required) continue;
    for (const Consent& consent : consents) {
      if (consent.InForceOn(today) && consent.Covers(categories_, cats[c].id)) {
        f.consent = consent.id;
        break;
      }
    }
  }
  return facts;
}

}  // namespace sharing
