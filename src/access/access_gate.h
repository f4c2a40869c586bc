#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "access/data_categories.h"
#include "access/principal.h"
#include "core/ids.h"
#include "core/status.h"

namespace storage {
class Transaction;
}

namespace authz {

// Every field of a person's record and every kind of record about a person, in the order of
// DataCategories::PersonFields() then RecordKinds(). The deployment's data categories file
// puts each in a category; the gate decides per category and answers per field.
enum class Field : uint8_t {
  kNames,
  kBirthDate,
  kSex,
  kGender,
  kIdentifiers,
  kAddresses,
  kPhones,
  kEmails,
  kPreferredLanguage,
  kNeeds,
  kDeathDate,
  kHousehold,
  kSourceRecord,
  kScreening,
  kHistory,
  kInteraction,
};
inline constexpr int kFieldCount = 16;

// A category the principal may not see, and the rule that withholds it.
struct Withheld {
  std::string category;  // the deployment's id: "income"
  std::string label;     // "Income"
  std::string reason;
};

// The word that starts the break-glass part of a decision's reason ("BREAK-GLASS: <why>"):
// the audit log queues every allowed entry that carries it for review.
inline constexpr std::string_view kBreakGlassMarker = "BREAK-GLASS";

// The gate's answer: allowed or not, why, and which fields may be seen.
struct Decision {
  bool allowed = false;
  std::string reason;
  uint32_t fields = 0;  // bit (1 << Field) per visible field
  std::vector<Withheld> withheld;
  // The sharing agreements and consents the decision relies on (ids), for the audit entry.
  std::vector<int64_t> agreements;
  std::vector<int64_t> consents;
  // Set when the principal's agency does not hold the person and an emergency access opened
  // what agreements and consent did not (see Principal::break_glass).
  bool break_glass = false;

  bool Sees(Field f) const { return (fields >> static_cast<int>(f)) & 1u; }
  // The reason `f` is withheld; empty when it is visible or the decision is a refusal.
  std::string WithheldReason(Field f, const DataCategories& categories) const;
  // For a use that needs `f`: an allowed decision that withholds it becomes a refusal with the
  // reason it is withheld.
  void Require(Field f, const DataCategories& categories);
};

// The roles that work with client records: frontdesk, caseworker, specialist, coordinator and
// manager.
bool HasClientRole(const Principal& who);
// The roles that do casework: caseworker, specialist, coordinator and manager (not the front
// desk). They decide duplicates and may use emergency access.
bool HasCaseworkRole(const Principal& who);
// The purposes client records may be used for: service_delivery, case_work, eligibility and
// front_desk.
bool IsClientPurpose(Purpose p);

// A decision that lets every field through: for data the caller sent itself (the echo of a
// create) or compares for its own agency (a match review of its own records).
Decision SeeEverything(std::string reason);

enum class Operation { kRead, kSearch, kCreate, kUpdate };

// What kind of record holds the person data: an API token needs the matching scope
// (persons:read or persons:write, households:..., source-records:write).
enum class Resource { kPerson, kHousehold, kSourceRecord };

// What the gate needs to know about one person for the principal's agency.
struct CategoryFacts {
  int64_t agreement = 0;         // the sharing agreement in force for the category; 0: none
  bool consent_required = false;  // that agreement's legal basis is the person's consent
  int64_t consent = 0;            // the person's consent in force that covers it; 0: none
};

struct PersonFacts {
  // There is a person with that id. When not, the role decides alone (there is nothing to
  // withhold, and the caller answers "not found" after auditing).
  bool exists = true;
  // The principal's agency holds the person: it registered them or keeps a source record of
  // them (registry::KnowsPerson).
  bool holds = false;
  // When !holds: per category, in the order of DataCategories::categories().
  std::vector<CategoryFacts> categories;
};

// Where the gate learns the facts, within the caller's transaction when there is one.
class PersonFactsSource {
 public:
  virtual ~PersonFactsSource() = default;
  // `tx` may be null: the source then reads in a transaction of its own.
  virtual core::StatusOr<PersonFacts> Facts(storage::Transaction* tx, const Principal& who,
                                            core::PersonId person) const = 0;
};

// The access gate: one decision for every use of a person's data. Everything is refused
// unless a rule allows it.
//
//   Role and purpose. Staff with frontdesk, caseworker, specialist, coordinator or manager
//   may read, search, create and update client records for the purposes service_delivery,
//   case_work, eligibility and front_desk; governance, admin and auditor roles read no client
//   records. A system token needs such a role and the scope of the resource (persons:read or
//   persons:write, households:..., source-records:write). A citizen reads their own record.
//
//   Data class. For a person, each category of the deployment is decided on its own:
//     - the principal's agency holds the person: every category is visible, except that the
//       front desk (frontdesk without a casework role) sees no black-class category;
//     - otherwise black-class categories are withheld, and a white or grey category is
//       visible only under a sharing agreement in force for the agency, the category and
//       the purpose, and, when that agreement's legal basis is consent, a consent of the
//       person in force that covers the category.
//   A read of a person with nothing visible is refused. Break-glass (Principal::break_glass)
//   lets caseworkers, specialists, coordinators and managers see white and grey categories
//   without agreement or consent; never black ones.
//
// Thread-safe. The caller writes every decision to the audit log, refusals included.
class AccessGate {
 public:
  // The built-in categories and every principal's agency holding every person: for tests of
  // one agency's work. A deployment always uses the other constructor.
  AccessGate();
  // `categories` and `facts` must outlive the gate.
  AccessGate(const DataCategories& categories, const PersonFactsSource& facts);

  // For `person` (unset for a search or a create), within `tx` when the caller has one.
  // When the facts cannot be read the answer is a refusal that says so.
  Decision DecidePerson(const Principal& who, Operation op, core::PersonId person,
                        Resource resource = Resource::kPerson,
                        storage::Transaction* tx = nullptr) const;

  // The decision given the facts (null: none needed, or none known). Pure and fast: what
  // DecidePerson calls after reading the facts.
  Decision Decide(const Principal& who, Operation op, core::PersonId person, Resource resource,
                  const PersonFacts* facts) const;

  const DataCategories& categories() const { return *categories_; }
  // The category of `f`.
  const DataCategory& CategoryOf(Field f) const;

 private:
  // Maps each field to its category's index; aborts when the categories do not cover every field
  // (DataCategories::Parse refuses such a file).
  void MapFields();
  // The refusal that does not depend on the person (role, scope, purpose), if any.
  std::optional<Decision> RoleRefusal(const Principal& who, Operation op, Resource resource) const;

  const DataCategories* categories_;
  const PersonFactsSource* facts_ = nullptr;
  int field_category_[kFieldCount] = {};  // index into categories_->categories()
};

// "names", "history": the field's name in the data categories file.
std::string_view FieldName(Field f);

}  // namespace authz
