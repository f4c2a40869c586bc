#pragma once

#include "access/access_gate.h"
#include "access/data_categories.h"
#include "core/clock.h"
#include "sharing/agreement_service.h"
#include "storage/database.h"

namespace sharing {

// What the access gate needs to know about a person, read from the stores: whether the
// principal's agency holds the person (the reference directory), the sharing agreements in
// force for its agency and purpose (from the agreements' snapshot, checked for changes on
// every call unless the service allows staleness) and the person's consents in force. So a
// new agreement, a revocation or a withdrawn consent counts from the very next request.
// Thread-safe.
class GateFacts final : public authz::PersonFactsSource {
 public:
  GateFacts(storage::Database& db, AgreementService& agreements, const authz::DataCategories& categories,
            const core::Clock& clock)
      : db_(db), agreements_(agreements), categories_(categories), clock_(clock) {}

  core::StatusOr<authz::PersonFacts> Facts(storage::Transaction* tx, const authz::Principal& who,
                                           core::PersonId person) const override;

 private:
  core::StatusOr<authz::PersonFacts> Read(storage::Transaction& tx, const authz::Principal& who,
                                          core::PersonId person) const;

  storage::Database& db_;
  AgreementService& agreements_;
  const authz::DataCategories& categories_;
  const core::Clock& clock_;
};

}  // namespace sharing
