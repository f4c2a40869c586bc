#pragma once

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "storage/database.h"

// Tell us once: when a person's data changes, every other agency that knows the person gets a
// change notice, written in the same transaction as the change. Agencies read their notices from
// a feed and mark each as applied in their own system (sharing/change_notice_service.h).
namespace registry {

// How an agency knows a person (the reference directory).
enum class Capacity {
  kRegistered,    // its staff registered the person in the shared registry
  kClientRecord,  // it keeps its own record of the person (a source record)
  kScreened,      // it screened the person's household for programs
  kApplied,  // the person applied to one of its programs (it decides a part of their application)
};

struct KnownBy {
  core::AgencyId agency;
  std::string agency_code;
  std::string agency_name;
  Capacity capacity = Capacity::kRegistered;
  core::Timestamp since;  // the first time the agency knew the person in that capacity
};

struct Holding {
  bool exists = false;  // there is such a person
  bool holds = false;   // the agency registered them or keeps a source record of them
};

// Whether `person` exists and `agency` holds them (registered them, or keeps a source record of
// them): one indexed probe each, for the access gate's every decision. Screening a household puts
// an agency in its members' directory (AgenciesThatKnow) but does not make it hold them: anyone
// who may see a household could otherwise screen it and so read all of its members' data.
core::StatusOr<Holding> KnowsPerson(storage::Transaction& tx, core::AgencyId agency, core::PersonId person);

// Every agency that knows `person`, by agency name then capacity; empty for an unknown person.
core::StatusOr<std::vector<KnownBy>> AgenciesThatKnow(storage::Transaction& tx, core::PersonId person);

// Writes one change notice per agency that knows `person`, except `from` (the agency that made
// the change): `type` is the event ("person.updated", "household.member_added"...), `fields` the
// names of what changed (never values), `version` the person's record version after it.
// Returns the number of notices written.
core::StatusOr<int> NotifyAgencies(storage::Transaction& tx, core::PersonId person, core::AgencyId from,
                                   const std::string& type, const std::vector<std::string>& fields,
                                   int64_t version, core::Timestamp at);

}  // namespace registry
