#include "access/access_gate.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "access/principal.h"

namespace authz {
namespace {

using core::StatusCode;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr core::PersonId kPerson{42};
constexpr core::PersonId kOtherPerson{43};

constexpr Operation kOperations[] = {Operation::kRead, Operation::kSearch, Operation::kCreate, Operation::kUpdate};
constexpr Purpose kAllPurposes[] = {Purpose::kServiceDelivery, Purpose::kCaseWork, Purpose::kEligibility,
                                    Purpose::kFrontDesk,       Purpose::kAdministration, Purpose::kAudit,
                                    Purpose::kOwnRecord};

std::string_view Verb(Operation op) {
  switch (op) {
    case Operation::kRead: return "read";
    case Operation::kSearch: return "search";
    case Operation::kCreate: return "create";
    case Operation::kUpdate: return "update";
  }
  return "?";
}

bool ExpectedClientRole(Role r) {
  return r == Role::kFrontdesk || r == Role::kCaseworker || r == Role::kSpecialist || r == Role::kCoordinator ||
         r == Role::kManager;
}

bool ExpectedClientPurpose(Purpose p) {
  return p == Purpose::kServiceDelivery || p == Purpose::kCaseWork || p == Purpose::kEligibility ||
         p == Purpose::kFrontDesk;
}

Principal Staff(std::vector<Role> roles, Purpose purpose = Purpose::kCaseWork) {
  Principal p;
  p.kind = PrincipalKind::kStaff;
  p.user = core::UserId{7};
  p.agency = core::AgencyId{1};
  p.name = "staff.user";
  p.roles = std::move(roles);
  p.purpose = purpose;
  return p;
}

Principal Citizen(std::optional<core::PersonId> person) {
  Principal p;
  p.kind = PrincipalKind::kCitizen;
  p.user = core::UserId{9};
  p.name = "citizen";
  p.purpose = Purpose::kOwnRecord;
  p.person = person;
  return p;
}

Principal Token(std::vector<Role> roles, std::vector<std::string> scopes) {
  Principal p;
  p.kind = PrincipalKind::kSystem;
  p.agency = core::AgencyId{1};
  p.token = core::ApiTokenId{5};
  p.name = "agency-sync";
  p.roles = std::move(roles);
  p.scopes = std::move(scopes);
  p.purpose = Purpose::kServiceDelivery;
  return p;
}

std::vector<std::string> WithheldCategories(const Decision& d) {
  std::vector<std::string> out;
  for (const auto& w : d.withheld) out.push_back(w.category);
  return out;
}

constexpr uint32_t kEveryField = (1u << kFieldCount) - 1;
constexpr uint32_t kHistoryBit = 1u << static_cast<int>(Field::kHistory);

// Every staff role, alone, against every operation and purpose.
TEST(AccessGate, StaffRoleOperationPurposeTable) {
  const AccessGate gate;
  int cases = 0;
  for (Role role : AllRoles()) {
    for (Operation op : kOperations) {
      for (Purpose purpose : kAllPurposes) {
        ++cases;
        SCOPED_TRACE(fmt::format("role {} op {} purpose {}", RoleName(role), Verb(op), PurposeName(purpose)));
        const Decision d = gate.DecidePerson(Staff({role}, purpose), op, kPerson);
        const bool expected = ExpectedClientRole(role) && ExpectedClientPurpose(purpose);
        EXPECT_EQ(d.allowed, expected) << d.reason;
        if (!ExpectedClientRole(role)) {
          // The role is the reason, whatever the purpose.
          EXPECT_THAT(d.reason, HasSubstr(std::string(RoleName(role))));
          EXPECT_THAT(d.reason, HasSubstr(std::string(Verb(op))));
        } else if (!ExpectedClientPurpose(purpose)) {
          EXPECT_THAT(d.reason, HasSubstr(std::string(PurposeName(purpose))));
        } else {
          EXPECT_THAT(d.reason, HasSubstr(std::string(RoleName(role))));
          EXPECT_THAT(d.reason, HasSubstr(std::string(Verb(op))));
          EXPECT_THAT(d.reason, HasSubstr(std::string(PurposeName(purpose))));
        }
        if (!expected) {
          EXPECT_EQ(d.fields, 0u);
          EXPECT_THAT(d.withheld, IsEmpty());
          continue;
        }
        if (role == Role::kFrontdesk) {
          // The front desk sees no black-class category: case notes and the history.
          EXPECT_EQ(d.fields, kEveryField & ~kHistoryBit);
          EXPECT_THAT(WithheldCategories(d), ElementsAre("case_notes"));
          EXPECT_FALSE(d.Sees(Field::kHistory));
        } else {
          EXPECT_EQ(d.fields, kEveryField);
          EXPECT_THAT(d.withheld, IsEmpty());
        }
      }
    }
  }
  EXPECT_EQ(cases, 8 * 4 * 7);
}

TEST(AccessGate, StaffWithoutRolesIsRefusedNamingNoRole) {
  const Decision d = AccessGate().DecidePerson(Staff({}), Operation::kRead, kPerson);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.reason, HasSubstr("(none)"));
}

TEST(AccessGate, FrontdeskHistoryIsWithheldWithAReason) {
  const Decision d = AccessGate().DecidePerson(Staff({Role::kFrontdesk}, Purpose::kFrontDesk), Operation::kRead,
                                               kPerson);
  ASSERT_TRUE(d.allowed);
  ASSERT_EQ(d.withheld.size(), 1u);
  EXPECT_EQ(d.withheld[0].category, "case_notes");
  EXPECT_THAT(d.withheld[0].reason, HasSubstr("front desk"));
}

TEST(AccessGate, FrontdeskWithACaseworkRoleSeesHistory) {
  for (Role other : {Role::kCaseworker, Role::kSpecialist, Role::kCoordinator, Role::kManager}) {
    SCOPED_TRACE(RoleName(other));
    const Decision d = AccessGate().DecidePerson(Staff({Role::kFrontdesk, other}), Operation::kRead, kPerson);
    ASSERT_TRUE(d.allowed) << d.reason;
    EXPECT_TRUE(d.Sees(Field::kHistory));
    EXPECT_THAT(d.withheld, IsEmpty());
  }
}

TEST(AccessGate, NonClientRoleWithAClientRoleIsAllowedByTheClientRole) {
  const Decision d = AccessGate().DecidePerson(Staff({Role::kGovernance, Role::kCaseworker}), Operation::kRead,
                                               kPerson);
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.reason, HasSubstr("caseworker"));
}

TEST(AccessGate, CitizenReadsOwnRecordAndChangesOnlyOwnContactDetails) {
  const AccessGate gate;
  uint32_t contact = 0;
  for (Field f : {Field::kAddresses, Field::kPhones, Field::kEmails, Field::kPreferredLanguage}) {
    contact |= 1u << static_cast<int>(f);
  }
  for (Operation op : kOperations) {
    SCOPED_TRACE(Verb(op));
    const Decision own = gate.DecidePerson(Citizen(kPerson), op, kPerson);
    EXPECT_EQ(own.allowed, op == Operation::kRead || op == Operation::kUpdate) << own.reason;
    if (op == Operation::kRead) {
      EXPECT_EQ(own.fields, kEveryField);
    } else if (op == Operation::kUpdate) {
      EXPECT_EQ(own.fields, contact);  // not names, dates or identifiers
      EXPECT_THAT(own.reason, HasSubstr("own contact details"));
    } else {
      EXPECT_THAT(own.reason, HasSubstr("own record"));
      EXPECT_EQ(own.fields, 0u);
    }
    const Decision other = gate.DecidePerson(Citizen(kPerson), op, kOtherPerson);
    EXPECT_FALSE(other.allowed);
    EXPECT_THAT(other.reason, HasSubstr("own record"));
  }
}

TEST(AccessGate, CitizenWithoutAPersonRecordReadsNothing) {
  EXPECT_FALSE(AccessGate().DecidePerson(Citizen(std::nullopt), Operation::kRead, kPerson).allowed);
  // An unset person id must not match a citizen without a record either.
  EXPECT_FALSE(AccessGate().DecidePerson(Citizen(std::nullopt), Operation::kRead, core::PersonId{}).allowed);
}

TEST(AccessGate, CitizenRolesDoNotWidenAccess) {
  Principal p = Citizen(kPerson);
  p.roles = {Role::kCaseworker};
  p.purpose = Purpose::kCaseWork;
  EXPECT_FALSE(AccessGate().DecidePerson(p, Operation::kRead, kOtherPerson).allowed);
  EXPECT_FALSE(AccessGate().DecidePerson(p, Operation::kUpdate, kOtherPerson).allowed);
  // Their own record: the contact details only, as without the roles.
  EXPECT_EQ(AccessGate().DecidePerson(p, Operation::kUpdate, kPerson).fields,
            AccessGate().DecidePerson(Citizen(kPerson), Operation::kUpdate, kPerson).fields);
  EXPECT_FALSE(AccessGate().DecidePerson(p, Operation::kUpdate, kPerson).Sees(Field::kNames));
}

struct TokenCase {
  std::vector<std::string> scopes;
  Operation op;
  bool allowed;
  std::string reason_part;
};

TEST(AccessGate, SystemTokenNeedsTheScopeOfTheOperation) {
  const std::vector<TokenCase> cases = {
      {{"persons:read"}, Operation::kRead, true, "caseworker"},
      {{"persons:read"}, Operation::kSearch, true, "caseworker"},
      {{"persons:read"}, Operation::kCreate, false, "persons:write"},
      {{"persons:read"}, Operation::kUpdate, false, "persons:write"},
      {{"persons:write"}, Operation::kCreate, true, "caseworker"},
      {{"persons:write"}, Operation::kUpdate, true, "caseworker"},
      {{"persons:write"}, Operation::kRead, false, "persons:read"},
      {{"persons:write"}, Operation::kSearch, false, "persons:read"},
      {{"persons:read", "persons:write"}, Operation::kRead, true, "caseworker"},
      {{"persons:read", "persons:write"}, Operation::kUpdate, true, "caseworker"},
      {{"audit:read"}, Operation::kRead, false, "persons:read"},
      {{"households:read"}, Operation::kRead, false, "persons:read"},
      // A token always carries scopes; one without any is not unrestricted.
      {{}, Operation::kRead, false, "persons:read"},
      {{}, Operation::kCreate, false, "persons:write"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(fmt::format("scopes [{}] op {}", fmt::join(c.scopes, ","), Verb(c.op)));
    const Decision d = AccessGate().DecidePerson(Token({Role::kCaseworker}, c.scopes), c.op, kPerson);
    EXPECT_EQ(d.allowed, c.allowed) << d.reason;
    EXPECT_THAT(d.reason, HasSubstr(c.reason_part));
  }
}

TEST(AccessGate, SystemTokenWithScopeStillNeedsAClientRoleAndPurpose) {
  const Decision governance =
      AccessGate().DecidePerson(Token({Role::kGovernance}, {"persons:read"}), Operation::kRead, kPerson);
  EXPECT_FALSE(governance.allowed);
  EXPECT_THAT(governance.reason, HasSubstr("governance"));

  Principal audit_purpose = Token({Role::kCaseworker}, {"persons:read"});
  audit_purpose.purpose = Purpose::kAudit;
  const Decision d = AccessGate().DecidePerson(audit_purpose, Operation::kRead, kPerson);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.reason, HasSubstr("audit"));
}

TEST(AccessGate, SystemTokenNeedsTheScopeOfTheResource) {
  const AccessGate gate;
  const Principal persons_only = Token({Role::kCaseworker}, {"persons:read", "persons:write"});
  const Decision hh = gate.DecidePerson(persons_only, Operation::kUpdate, kPerson, Resource::kHousehold);
  EXPECT_FALSE(hh.allowed);
  EXPECT_THAT(hh.reason, HasSubstr("households:write"));
  const Decision src = gate.DecidePerson(persons_only, Operation::kUpdate, kPerson, Resource::kSourceRecord);
  EXPECT_FALSE(src.allowed);
  EXPECT_THAT(src.reason, HasSubstr("source-records:write"));

  EXPECT_TRUE(gate.DecidePerson(Token({Role::kCaseworker}, {"households:read"}), Operation::kRead, kPerson,
                                Resource::kHousehold)
                  .allowed);
  EXPECT_TRUE(gate.DecidePerson(Token({Role::kCaseworker}, {"source-records:write"}), Operation::kUpdate, kPerson,
                                Resource::kSourceRecord)
                  .allowed);
  // Staff sessions are not limited by scopes.
  EXPECT_TRUE(gate.DecidePerson(Staff({Role::kCaseworker}), Operation::kUpdate, kPerson, Resource::kHousehold).allowed);
}

// -------- Data classes, agreements and consent --------

// Facts set by the test, keyed by person id; records the transaction it was handed.
class FakeFacts final : public PersonFactsSource {
 public:
  core::StatusOr<PersonFacts> Facts(storage::Transaction* tx, const Principal&, core::PersonId person) const override {
    ++calls;
    last_tx = tx;
    if (fail) return core::Status::Unavailable("database down");
    auto it = facts.find(person.value);
    return it == facts.end() ? PersonFacts{} : it->second;
  }
  std::map<int64_t, PersonFacts> facts;
  bool fail = false;
  mutable int calls = 0;
  mutable storage::Transaction* last_tx = nullptr;
};

// The built-in categories: identity, contact, needs, household (white), income (grey),
// case_notes (black), in that order.
constexpr size_t kIdentity = 0, kContact = 1, kIncome = 4, kCaseNotes = 6;

PersonFacts NotHeld() {
  PersonFacts f;
  f.categories.resize(DataCategories::Builtin().categories().size());
  return f;
}

class SharingGate : public ::testing::Test {
 protected:
  FakeFacts facts_;
  AccessGate gate_{DataCategories::Builtin(), facts_};
};

TEST_F(SharingGate, TheAgencyThatHoldsThePersonSeesEveryCategory) {
  facts_.facts[kPerson.value] = PersonFacts{.holds = true};
  const Decision d = gate_.DecidePerson(Staff({Role::kCaseworker}), Operation::kRead, kPerson);
  ASSERT_TRUE(d.allowed) << d.reason;
  EXPECT_EQ(d.fields, kEveryField);
  EXPECT_THAT(d.reason, HasSubstr("holds the person"));
  EXPECT_EQ(facts_.calls, 1);
}

TEST_F(SharingGate, AnotherAgencyWithoutAgreementIsRefusedWithTheRule) {
  facts_.facts[kPerson.value] = NotHeld();
  const Decision d = gate_.DecidePerson(Staff({Role::kCaseworker}), Operation::kRead, kPerson);
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.reason, HasSubstr("does not hold this person"));
  EXPECT_THAT(d.reason, HasSubstr("case_work"));
  EXPECT_EQ(d.fields, 0u);
}

TEST_F(SharingGate, AnAgreementOpensItsCategoryOnlyAndIsNamed) {
  PersonFacts f = NotHeld();
  f.categories[kIdentity].agreement = 17;
  facts_.facts[kPerson.value] = f;
  const Decision d = gate_.DecidePerson(Staff({Role::kCaseworker}), Operation::kRead, kPerson);
  ASSERT_TRUE(d.allowed) << d.reason;
  for (Field field : {Field::kNames, Field::kBirthDate, Field::kSex, Field::kGender, Field::kIdentifiers,
                      Field::kSourceRecord}) {
    EXPECT_TRUE(d.Sees(field)) << FieldName(field);
  }
  for (Field field : {Field::kAddresses, Field::kPhones, Field::kEmails, Field::kNeeds, Field::kHousehold,
                      Field::kScreening, Field::kHistory}) {
    EXPECT_FALSE(d.Sees(field)) << FieldName(field);
  }
  EXPECT_THAT(d.agreements, ElementsAre(17));
  EXPECT_THAT(d.reason, HasSubstr("agreement 17"));
  EXPECT_THAT(WithheldCategories(d), ElementsAre("contact", "needs", "household", "income", "contacts", "case_notes"));
  EXPECT_THAT(d.WithheldReason(Field::kAddresses, gate_.categories()), HasSubstr("no sharing agreement"));
  EXPECT_THAT(d.WithheldReason(Field::kHistory, gate_.categories()), HasSubstr("black-class"));
  EXPECT_EQ(d.WithheldReason(Field::kNames, gate_.categories()), "");
}

TEST_F(SharingGate, BlackClassNeverLeavesTheAgencyEvenWithAnAgreementId) {
  PersonFacts f = NotHeld();
  f.categories[kIdentity].agreement = 1;
  f.categories[kCaseNotes].agreement = 2;  // cannot exist; the gate must not trust it anyway
  facts_.facts[kPerson.value] = f;
  const Decision d = gate_.DecidePerson(Staff({Role::kManager}), Operation::kRead, kPerson);
  ASSERT_TRUE(d.allowed);
  EXPECT_FALSE(d.Sees(Field::kHistory));
  EXPECT_THAT(d.agreements, ElementsAre(1));
}

TEST_F(SharingGate, AnAgreementOnConsentNeedsTheConsent) {
  PersonFacts f = NotHeld();
  f.categories[kIdentity].agreement = 3;
  f.categories[kIncome] = {4, true, 0};
  facts_.facts[kPerson.value] = f;
  Decision d = gate_.DecidePerson(Staff({Role::kCaseworker}, Purpose::kEligibility), Operation::kRead, kPerson);
  ASSERT_TRUE(d.allowed);
  EXPECT_FALSE(d.Sees(Field::kScreening));
  EXPECT_THAT(d.WithheldReason(Field::kScreening, gate_.categories()), HasSubstr("has not consented"));

  facts_.facts[kPerson.value].categories[kIncome].consent = 9;
  d = gate_.DecidePerson(Staff({Role::kCaseworker}, Purpose::kEligibility), Operation::kRead, kPerson);
  EXPECT_TRUE(d.Sees(Field::kScreening));
  EXPECT_THAT(d.agreements, ElementsAre(3, 4));
  EXPECT_THAT(d.consents, ElementsAre(9));
  EXPECT_THAT(d.reason, HasSubstr("consent 9"));
}

TEST_F(SharingGate, FrontDeskOfTheHoldingAgencyStillMissesBlackCategories) {
  facts_.facts[kPerson.value] = PersonFacts{.holds = true};
  const Decision d = gate_.DecidePerson(Staff({Role::kFrontdesk}, Purpose::kFrontDesk), Operation::kRead, kPerson);
  ASSERT_TRUE(d.allowed);
  EXPECT_FALSE(d.Sees(Field::kHistory));
  EXPECT_TRUE(d.Sees(Field::kScreening));
}

TEST_F(SharingGate, BreakGlassOpensWhiteAndGreyForCaseworkRolesAndIsFlagged) {
  facts_.facts[kPerson.value] = NotHeld();
  Principal who = Staff({Role::kCaseworker});
  who.break_glass = "unconscious at the door, no next of kin known";
  const Decision d = gate_.DecidePerson(who, Operation::kRead, kPerson);
  ASSERT_TRUE(d.allowed) << d.reason;
  EXPECT_TRUE(d.break_glass);
  EXPECT_TRUE(d.Sees(Field::kNames));
  EXPECT_TRUE(d.Sees(Field::kScreening));
  EXPECT_FALSE(d.Sees(Field::kHistory));
  EXPECT_THAT(d.reason, HasSubstr("BREAK-GLASS"));
  EXPECT_THAT(WithheldCategories(d), ElementsAre("case_notes"));

  // Not for the front desk; and not flagged where the agency holds the person anyway.
  Principal desk = Staff({Role::kFrontdesk}, Purpose::kFrontDesk);
  desk.break_glass = "urgent";
  EXPECT_FALSE(gate_.DecidePerson(desk, Operation::kRead, kPerson).allowed);
  facts_.facts[kPerson.value] = PersonFacts{.holds = true};
  EXPECT_FALSE(gate_.DecidePerson(who, Operation::kRead, kPerson).break_glass);
}

TEST_F(SharingGate, FactsThatCannotBeReadRefuseAndReleaseNothing) {
  facts_.fail = true;
  const Decision d = gate_.DecidePerson(Staff({Role::kCaseworker}), Operation::kRead, kPerson);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.fields, 0u);
  EXPECT_THAT(d.reason, HasSubstr("could not be read"));
  EXPECT_THAT(d.reason, Not(HasSubstr("database down")));
}

TEST_F(SharingGate, NoFactsAreReadForRefusalsSearchesCitizensOrOwnSourceRecords) {
  EXPECT_FALSE(gate_.DecidePerson(Staff({Role::kAuditor}), Operation::kRead, kPerson).allowed);
  EXPECT_TRUE(gate_.DecidePerson(Staff({Role::kCaseworker}), Operation::kSearch, core::PersonId{}).allowed);
  EXPECT_TRUE(gate_.DecidePerson(Citizen(kPerson), Operation::kRead, kPerson).allowed);
  EXPECT_TRUE(gate_.DecidePerson(Staff({Role::kCaseworker}), Operation::kUpdate, kPerson, Resource::kSourceRecord)
                  .allowed);
  EXPECT_EQ(facts_.calls, 0);
}

TEST_F(SharingGate, AnUnknownPersonIsLeftToTheRoleSoTheCallerAnswersNotFound) {
  facts_.facts[kPerson.value] = PersonFacts{.exists = false};
  const Decision d = gate_.DecidePerson(Staff({Role::kCaseworker}), Operation::kRead, kPerson);
  EXPECT_TRUE(d.allowed) << d.reason;
  EXPECT_FALSE(gate_.DecidePerson(Staff({Role::kAuditor}), Operation::kRead, kPerson).allowed);
}

TEST_F(SharingGate, TheCallersTransactionIsPassedOn) {
  facts_.facts[kPerson.value] = PersonFacts{.holds = true};
  auto* tx = reinterpret_cast<storage::Transaction*>(0x1234);
  (void)gate_.DecidePerson(Staff({Role::kCaseworker}), Operation::kRead, kPerson, Resource::kPerson, tx);
  EXPECT_EQ(facts_.last_tx, tx);
}

TEST(Principal, HasScopeWithoutScopesIsUnrestricted) {
  Principal p = Staff({Role::kCaseworker});
  EXPECT_TRUE(p.HasScope("persons:read"));
  EXPECT_TRUE(p.HasScope("anything"));
}

TEST(Principal, HasScopeWithScopesMatchesExactly) {
  Principal p = Token({Role::kCaseworker}, {"persons:read"});
  EXPECT_TRUE(p.HasScope("persons:read"));
  EXPECT_FALSE(p.HasScope("persons:write"));
  EXPECT_FALSE(p.HasScope("persons"));
  EXPECT_FALSE(p.HasScope(""));
}

TEST(Principal, RoleListJoinsRoleNamesInOrder) {
  EXPECT_EQ(Staff({}).RoleList(), "");
  EXPECT_EQ(Staff({Role::kCaseworker}).RoleList(), "caseworker");
  EXPECT_EQ(Staff({Role::kCaseworker, Role::kFrontdesk}).RoleList(), "caseworker,frontdesk");
}

TEST(Principal, HasRoleAndHasAnyRole) {
  Principal p = Staff({Role::kSpecialist});
  EXPECT_TRUE(p.HasRole(Role::kSpecialist));
  EXPECT_FALSE(p.HasRole(Role::kManager));
  EXPECT_TRUE(p.HasAnyRole({Role::kManager, Role::kSpecialist}));
  EXPECT_FALSE(p.HasAnyRole({Role::kManager, Role::kAuditor}));
  EXPECT_FALSE(p.HasAnyRole({}));
}

TEST(Principal, ParseRoleRoundTripsEveryRole) {
  ASSERT_EQ(AllRoles().size(), 8u);
  for (Role r : AllRoles()) {
    auto parsed = ParseRole(RoleName(r));
    ASSERT_TRUE(parsed.ok()) << RoleName(r);
    EXPECT_EQ(*parsed, r);
  }
}

TEST(Principal, ParseRoleRejectsUnknownNames) {
  for (std::string_view bad : {"", "Caseworker", "case worker", "root", "caseworker "}) {
    SCOPED_TRACE(bad);
    auto parsed = ParseRole(bad);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr("unknown role"));
    EXPECT_THAT(parsed.status().message(), HasSubstr("caseworker"));
  }
}

TEST(Principal, ParsePurposeRoundTripsEveryPurpose) {
  for (Purpose p : kAllPurposes) {
    auto parsed = ParsePurpose(PurposeName(p));
    ASSERT_TRUE(parsed.ok()) << PurposeName(p);
    EXPECT_EQ(*parsed, p);
  }
  EXPECT_EQ(PurposeName(Purpose::kCaseWork), "case_work");
  EXPECT_EQ(PurposeLabel(Purpose::kCaseWork), "Case work");
}

TEST(Principal, ParsePurposeRejectsUnknownNames) {
  for (std::string_view bad : {"", "Case work", "case-work", "CASE_WORK", "marketing"}) {
    SCOPED_TRACE(bad);
    auto parsed = ParsePurpose(bad);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr("unknown purpose"));
  }
}

TEST(Principal, StaffPurposesExcludeOwnRecord) {
  const auto& v = StaffPurposes();
  EXPECT_EQ(v.size(), 6u);
  EXPECT_EQ(std::find(v.begin(), v.end(), Purpose::kOwnRecord), v.end());
}

}  // namespace
}  // namespace authz
