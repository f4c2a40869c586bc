#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "access/principal.h"
#include "core/ids.h"

namespace authz {

// Classes of personal data. The [sharing] work makes these configurable per deployment.
enum class Category { kIdentity, kContact, kNeeds, kHousehold, kHistory };

std::string_view CategoryName(Category c);

struct Withheld {
  Category category;
  std::string reason;
};

// The gate's answer: allowed or not, why, and which categories may be seen.
struct Decision {
  bool allowed = false;
  std::string reason;
  std::vector<Category> visible;
  std::vector<Withheld> withheld;

  bool Sees(Category c) const;
};

enum class Operation { kRead, kSearch, kCreate, kUpdate };

// What kind of record holds the person data: an API token needs the matching scope
// (persons:read or persons:write, households:..., source-records:write).
enum class Resource { kPerson, kHousehold, kSourceRecord };

// The access gate, first form: everything is refused unless a rule allows it.
//   - staff with frontdesk, caseworker, specialist, coordinator or manager may read, search,
//     create and update client records for the purposes service_delivery, case_work,
//     eligibility and front_desk; frontdesk does not see the change history;
//   - governance, admin and auditor roles do not read client records;
//   - a system token needs the role as above and the scope of the resource: persons:read or
//     persons:write, households:read or households:write, source-records:write;
//   - a citizen may read their own record only.
// Stateless and thread-safe. The caller writes every decision to the audit log.
class AccessGate {
 public:
  Decision DecidePerson(const Principal& who, Operation op, core::PersonId person,
                        Resource resource = Resource::kPerson) const;
};

}  // namespace authz
