#include "access/access_gate.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

namespace authz {
namespace {

constexpr Role kClientRoles[] = {Role::kFrontdesk, Role::kCaseworker, Role::kSpecialist, Role::kCoordinator,
                                 Role::kManager};
constexpr uint32_t kAllFields = (1u << kFieldCount) - 1;

Decision Deny(std::string reason) {
  Decision d;
  d.reason = std::move(reason);
  return d;
}

std::string_view OperationVerb(Operation op) {
  switch (op) {
    case Operation::kRead: return "read";
    case Operation::kSearch: return "search";
    case Operation::kCreate: return "create";
    case Operation::kUpdate: return "update";
  }
  return "use";
}

}  // namespace

bool HasClientRole(const Principal& who) {
  return std::any_of(std::begin(kClientRoles), std::end(kClientRoles), [&](Role r) { return who.HasRole(r); });
}

bool HasCaseworkRole(const Principal& who) {
  return who.HasAnyRole({Role::kCaseworker, Role::kSpecialist, Role::kCoordinator, Role::kManager});
}

bool IsClientPurpose(Purpose p) {
  return p == Purpose::kServiceDelivery || p == Purpose::kCaseWork || p == Purpose::kEligibility ||
         p == Purpose::kFrontDesk;
}

std::string_view FieldName(Field f) {
  const auto& person = DataCategories::PersonFields();
  const auto& records = DataCategories::RecordKinds();
  const size_t i = static_cast<size_t>(f);
  return i < person.size() ? person[i] : records[i - person.size()];
}

void Decision::Require(Field f, const DataCategories& categories) {
  if (!allowed || Sees(f)) return;
  std::string why = WithheldReason(f, categories);
  allowed = false;
  reason = why.empty() ? fmt::format("the {} is withheld", FieldName(f)) : std::move(why);
}

Decision SeeEverything(std::string reason) {
  Decision d;
  d.allowed = true;
  d.reason = std::move(reason);
  d.fields = kAllFields;
  return d;
}

std::string Decision::WithheldReason(Field f, const DataCategories& categories) const {
  if (Sees(f) || !allowed) return "";
  const size_t i = static_cast<size_t>(f);
  const auto& fields = categories.fields();
  if (i >= fields.size()) return "";
  for (const auto& w : withheld) {
    if (w.category == fields[i].category) return w.reason;
  }
  return "";
}

AccessGate::AccessGate() : categories_(&DataCategories::Builtin()) { MapFields(); }

AccessGate::AccessGate(const DataCategories& categories, const PersonFactsSource& facts)
    : categories_(&categories), facts_(&facts) {
  MapFields();
}

void AccessGate::MapFields() {
  const auto& fields = categories_->fields();
  const auto& cats = categories_->categories();
  if (fields.size() != static_cast<size_t>(kFieldCount)) std::abort();
  for (int f = 0; f < kFieldCount; ++f) {
    field_category_[f] = -1;
    for (size_t c = 0; c < cats.size(); ++c) {
      if (cats[c].id == fields[static_cast<size_t>(f)].category) field_category_[f] = static_cast<int>(c);
    }
    if (field_category_[f] < 0) std::abort();
  }
}

const DataCategory& AccessGate::CategoryOf(Field f) const {
  return categories_->categories()[static_cast<size_t>(field_category_[static_cast<int>(f)])];
}

std::optional<Decision> AccessGate::RoleRefusal(const Principal& who, Operation op, Resource resource) const {
  const bool writes = op == Operation::kCreate || op == Operation::kUpdate;
  if (who.kind == PrincipalKind::kSystem) {
    const char* prefix = resource == Resource::kHousehold      ? "households"
                         : resource == Resource::kSourceRecord ? "source-records"
                                                               : "persons";
    const std::string scope = fmt::format("{}:{}", prefix, writes ? "write" : "read");
    // HasScope treats no scopes as unrestricted (sessions); a token without scopes has none.
    if (who.scopes.empty() || !who.HasScope(scope)) {
      return Deny(fmt::format("the API token lacks the scope {}", scope));
    }
  }
  if (!HasClientRole(who)) {
    return Deny(fmt::format("no role of {} may {} client records", who.RoleList().empty() ? "(none)" : who.RoleList(),
                            OperationVerb(op)));
  }
  if (!IsClientPurpose(who.purpose)) {
    return Deny(fmt::format("the purpose {} does not allow working with client records", PurposeName(who.purpose)));
  }
  return std::nullopt;
}

Decision AccessGate::DecidePerson(const Principal& who, Operation op, core::PersonId person, Resource resource,
                                  storage::Transaction* tx) const {
  // Facts are needed only for staff and systems working on one person's record.
  const bool needs_facts = facts_ != nullptr && person.valid() && who.kind != PrincipalKind::kCitizen &&
                           resource != Resource::kSourceRecord;
  if (!needs_facts) return Decide(who, op, person, resource, nullptr);
  // Refusals that do not depend on the person come first, without reading anything.
  if (auto refused = RoleRefusal(who, op, resource)) return *std::move(refused);
  auto facts = facts_->Facts(tx, who, person);
  if (!facts.ok()) {
    return Deny(fmt::format("the sharing rules for this person could not be read ({}); nothing is released",
                            core::StatusCodeName(facts.status().code())));
  }
  return Decide(who, op, person, resource, &*facts);
}

Decision AccessGate::Decide(const Principal& who, Operation op, core::PersonId person, Resource resource,
                            const PersonFacts* facts) const {
  if (who.kind == PrincipalKind::kCitizen) {
    if (op == Operation::kRead && who.person && *who.person == person) {
      Decision d;
      d.allowed = true;
      d.reason = "a person may read their own record";
      d.fields = kAllFields;
      return d;
    }
    // Tell us once: a person keeps their own contact details up to date; everything else
    // (names, identifiers, dates) is changed by staff who check the evidence.
    if (op == Operation::kUpdate && resource == Resource::kPerson && who.person && *who.person == person &&
        who.HasScope("portal:contact")) {
      Decision d;
      d.allowed = true;
      d.reason = "a person may change their own contact details";
      for (Field f : {Field::kAddresses, Field::kPhones, Field::kEmails, Field::kPreferredLanguage}) {
        d.fields |= 1u << static_cast<int>(f);
      }
      return d;
    }
    return Deny("a person may read their own record and change their own contact details, nothing else");
  }
  if (auto refused = RoleRefusal(who, op, resource)) return *std::move(refused);
  const Role* role =
      std::find_if(std::begin(kClientRoles), std::end(kClientRoles), [&](Role r) { return who.HasRole(r); });
  const bool frontdesk_only = who.HasRole(Role::kFrontdesk) && !HasCaseworkRole(who);
  const bool holds = facts == nullptr || facts->holds || !facts->exists;
  const bool may_break_glass = !who.break_glass.empty() && !frontdesk_only;

  Decision d;
  d.allowed = true;
  const auto& cats = categories_->categories();
  // Decide each category once; fields follow their category.
  std::vector<int8_t> visible(cats.size(), 0);
  bool glass_used = false;
  for (size_t c = 0; c < cats.size(); ++c) {
    const DataCategory& cat = cats[c];
    std::string why;
    if (holds) {
      if (frontdesk_only && cat.sharing_class == SharingClass::kBlack) {
        why = fmt::format("{} is for caseworkers, not the front desk", cat.label);
      }
    } else if (cat.sharing_class == SharingClass::kBlack) {
      why = fmt::format("{} is black-class: it never leaves the agency that holds it", cat.label);
    } else {
      const CategoryFacts* f = c < facts->categories.size() ? &facts->categories[c] : nullptr;
      if (f == nullptr || f->agreement == 0) {
        why = fmt::format("no sharing agreement in force lets your agency receive {} for {}", cat.label,
                          PurposeName(who.purpose));
      } else if (f->consent_required && f->consent == 0) {
        why = fmt::format("the agreement for {} relies on consent, and the person has not consented to your "
                          "agency receiving it for {}",
                          cat.label, PurposeName(who.purpose));
      } else {
        d.agreements.push_back(f->agreement);
        if (f->consent != 0) d.consents.push_back(f->consent);
      }
      if (!why.empty() && may_break_glass) {
        why.clear();
        glass_used = true;
      }
    }
    if (why.empty()) {
      visible[c] = 1;
    } else {
      d.withheld.push_back({cat.id, cat.label, std::move(why)});
    }
  }
  for (int f = 0; f < kFieldCount; ++f) {
    if (visible[static_cast<size_t>(field_category_[f])]) d.fields |= 1u << f;
  }
  std::sort(d.agreements.begin(), d.agreements.end());
  d.agreements.erase(std::unique(d.agreements.begin(), d.agreements.end()), d.agreements.end());
  std::sort(d.consents.begin(), d.consents.end());
  d.consents.erase(std::unique(d.consents.begin(), d.consents.end()), d.consents.end());

  std::string basis;
  if (!person.valid() || facts == nullptr || !facts->exists) {
    basis = "";
  } else if (holds) {
    basis = "; the agency holds the person";
  } else if (glass_used) {
    basis = fmt::format("; {}: {}", kBreakGlassMarker, who.break_glass);
    d.break_glass = true;
  } else if (!d.agreements.empty()) {
    std::string ids;
    for (int64_t a : d.agreements) ids += fmt::format("{}{}", ids.empty() ? "" : ", ", a);
    basis = fmt::format("; under sharing agreement {}", ids);
    if (!d.consents.empty()) {
      std::string cs;
      for (int64_t c : d.consents) cs += fmt::format("{}{}", cs.empty() ? "" : ", ", c);
      basis += fmt::format(" and consent {}", cs);
    }
  }
  if (d.fields == 0 && person.valid()) {
    if (!holds) {
      return Deny(fmt::format("your agency does not hold this person, and no sharing agreement in force lets it "
                              "receive their data for {}",
                              PurposeName(who.purpose)));
    }
    return Deny("every category of this record is withheld from your role");
  }
  d.reason = fmt::format("role {} may {} client records for {}{}", RoleName(*role), OperationVerb(op),
                         PurposeName(who.purpose), basis);
  return d;
}

}  // namespace authz
