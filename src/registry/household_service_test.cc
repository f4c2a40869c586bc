#include "registry/household_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "registry/person_service.h"
#include "tests/testing/testing.h"

namespace registry {
namespace {

using authz::Principal;
using authz::PrincipalKind;
using authz::Purpose;
using authz::Role;
using core::Status;
using core::StatusCode;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> FieldNames(const Status& status) {
  std::vector<std::string> out;
  for (const auto& f : status.fields()) out.push_back(f.field);
  return out;
}

Principal StaffUser(std::vector<Role> roles, Purpose purpose = Purpose::kCaseWork) {
  Principal p;
  p.kind = PrincipalKind::kStaff;
  p.user = core::UserId{7};
  p.agency = core::AgencyId{1};
  p.name = "cw.jones";
  p.roles = std::move(roles);
  p.purpose = purpose;
  return p;
}

Principal Caseworker() { return StaffUser({Role::kCaseworker}); }
Principal Governance() { return StaffUser({Role::kGovernance}, Purpose::kAdministration); }

core::Date D(int y, int m, int d) { return core::Date{y, m, d}; }

// Who is in the household: "id:relationship:since:until" per member, in listed order.
std::vector<std::string> Members(const Household& h) {
  std::vector<std::string> out;
  for (const auto& m : h.members) {
    out.push_back(std::to_string(m.person.value) + ":" + m.relationship + ":" + m.since + ":" + m.until);
  }
  return out;
}

std::string M(core::PersonId id, const std::string& rel, const std::string& since, const std::string& until = "") {
  return std::to_string(id.value) + ":" + rel + ":" + since + ":" + until;
}

class HouseholdServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing_support::NewMigratedSqlite(dir_);
    persons_ = std::make_unique<PersonService>(*db_, gate_, audit_, outbox_, clock_);
    households_ = std::make_unique<HouseholdService>(*db_, gate_, audit_, outbox_, clock_);
    amara_ = NewPerson("Amara", "Okonkwo");
    chidi_ = NewPerson("Chidi", "Okonkwo");
  }

  core::PersonId NewPerson(const std::string& given, const std::string& family,
                           const std::string& birth = "") {
    Person p;
    p.names = {{"official", given, family}};
    if (!birth.empty()) p.birth_date = core::PartialDate::Parse(birth).value();
    auto created = persons_->Create(Caseworker(), p);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? created->id : core::PersonId{};
  }

  Household MustCreate(const std::string& name) {
    auto h = households_->Create(Caseworker(), name);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? *h : Household{};
  }

  Household MustAdd(core::HouseholdId h, core::PersonId p, const std::string& rel, core::Date since) {
    auto out = households_->AddMember(Caseworker(), h, p, rel, since);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : Household{};
  }

  Household MustGet(core::HouseholdId h) {
    auto out = households_->Get(Caseworker(), h);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : Household{};
  }

  int64_t Count(const std::string& sql, const storage::Params& params = {}) {
    int64_t n = -1;
    Status s = db_->Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(sql, params));
      n = rows.at(0).Int(0);
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return n;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  authz::AccessGate gate_;
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  std::unique_ptr<PersonService> persons_;
  std::unique_ptr<HouseholdService> households_;
  core::PersonId amara_;
  core::PersonId chidi_;
};

TEST_F(HouseholdServiceTest, CreateStartsEmptyAtVersionOne) {
  Household h = MustCreate("Okonkwo family");
  EXPECT_TRUE(h.id.valid());
  EXPECT_EQ(h.name, "Okonkwo family");
  EXPECT_EQ(h.version, 1);
  EXPECT_THAT(h.members, IsEmpty());
  Household loaded = MustGet(h.id);
  EXPECT_EQ(loaded.name, "Okonkwo family");
  EXPECT_EQ(loaded.version, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'household.created'"), 1);
}

TEST_F(HouseholdServiceTest, CreateWithBlankOrLongNameIsAFieldError) {
  for (const std::string& name : {std::string(""), std::string("   "), std::string(" \t\n"), std::string(201, 'x')}) {
    SCOPED_TRACE(name.size());
    auto h = households_->Create(Caseworker(), name);
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(FieldNames(h.status()), ElementsAre("name"));
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM households"), 0);
}

TEST_F(HouseholdServiceTest, CreateByGovernanceIsDenied) {
  auto h = households_->Create(Governance(), "Okonkwo family");
  EXPECT_EQ(h.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM households"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'household.create' AND allowed = 0"), 1);
}

TEST_F(HouseholdServiceTest, AddMembersListsThemAndBumpsTheVersion) {
  Household h = MustCreate("Okonkwo family");
  MustAdd(h.id, amara_, "head", D(2020, 1, 15));
  Household out = MustAdd(h.id, chidi_, "child", D(2021, 6, 1));
  EXPECT_EQ(out.version, 3);
  EXPECT_THAT(Members(out), ElementsAre(M(amara_, "head", "2020-01-15"), M(chidi_, "child", "2021-06-01")));
  EXPECT_EQ(out.members[0].name, "Amara Okonkwo");
  EXPECT_EQ(Members(MustGet(h.id)), Members(out));

  auto view = persons_->Get(Caseworker(), chidi_);
  ASSERT_TRUE(view.ok());
  ASSERT_TRUE(view->household.has_value());
  EXPECT_EQ(view->household->id, h.id);
  EXPECT_EQ(view->household->relationship, "child");
}

TEST_F(HouseholdServiceTest, AMoveEndsThePreviousMembershipAndBumpsBothVersions) {
  Household first = MustCreate("First");
  Household second = MustCreate("Second");
  MustAdd(first.id, amara_, "head", D(2020, 1, 1));
  const int64_t first_version = MustGet(first.id).version;
  const int64_t second_version = MustGet(second.id).version;

  Household moved = MustAdd(second.id, amara_, "partner", D(2024, 6, 1));
  EXPECT_EQ(moved.version, second_version + 1);
  EXPECT_THAT(Members(moved), ElementsAre(M(amara_, "partner", "2024-06-01")));

  Household old = MustGet(first.id);
  EXPECT_EQ(old.version, first_version + 1);
  EXPECT_THAT(Members(old), ElementsAre(M(amara_, "head", "2020-01-01", "2024-06-01")));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM household_members WHERE person_id = ? AND end_date IS NULL", {amara_.value}),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'household.member_moved'"), 1);

  auto view = persons_->Get(Caseworker(), amara_);
  ASSERT_TRUE(view.ok());
  ASSERT_TRUE(view->household.has_value());
  EXPECT_EQ(view->household->id, second.id);
}

TEST_F(HouseholdServiceTest, AMoveMadeByMistakeIsTakenBackAndTheirHouseholdIsTheirsAgain) {
  Household first = MustCreate("First");
  Household second = MustCreate("Second");
  MustAdd(first.id, amara_, "head", D(2020, 1, 1));
  MustAdd(second.id, chidi_, "head", D(2021, 1, 1));
  // The wrong client number: Amara is moved into the second household.
  Household wrong = MustAdd(second.id, amara_, "partner", D(2024, 6, 1));
  const int64_t first_version = MustGet(first.id).version;

  // A reason is needed.
  auto no_reason = households_->RemoveMistake(Caseworker(), second.id, amara_, "  ");
  EXPECT_EQ(no_reason.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(no_reason.status().fields().at(0).field, "reason");
  // A stale form changes nothing.
  auto stale = households_->RemoveMistake(Caseworker(), second.id, amara_, "Typed 41 for 14",
                                          {.version = wrong.version - 1});
  EXPECT_EQ(stale.status().code(), StatusCode::kAborted);
  // Someone who may not change households is refused, recorded, and nothing changes.
  auto refused = households_->RemoveMistake(Governance(), second.id, amara_, "Typed 41 for 14");
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM household_members WHERE person_id = ? AND household_id = ? AND end_date IS NULL",
                  {amara_.value, second.id.value}),
            1);

  auto removed = households_->RemoveMistake(Caseworker(), second.id, amara_, "Typed 41 for 14",
                                            {.version = wrong.version});
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  // Gone from the second household, as if never added, and living in the first again.
  EXPECT_THAT(Members(removed->household), ElementsAre(M(chidi_, "head", "2021-01-01")));
  ASSERT_TRUE(removed->restored.has_value());
  EXPECT_EQ(*removed->restored, first.id);
  Household back = MustGet(first.id);
  EXPECT_THAT(Members(back), ElementsAre(M(amara_, "head", "2020-01-01")));
  EXPECT_EQ(back.version, first_version + 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM household_members WHERE person_id = ?", {amara_.value}), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'household.remove_member' AND allowed = 1 AND "
                  "reason = 'added by mistake: Typed 41 for 14'"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'household.remove_member' AND allowed = 0"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type = 'household.member_removed'"), 1);
  // Not a member any more: nothing to remove.
  EXPECT_EQ(households_->RemoveMistake(Caseworker(), second.id, amara_, "Again").status().code(),
            StatusCode::kNotFound);
  // A member added without a move is simply removed; a membership that ended is not a mistake to take back.
  Household third = MustCreate("Third");
  MustAdd(third.id, amara_, "head", D(2020, 1, 1));  // moves her again
  auto plain = households_->RemoveMistake(Caseworker(), first.id, amara_, "Wrong");
  EXPECT_EQ(plain.status().code(), StatusCode::kNotFound);
}

TEST_F(HouseholdServiceTest, AddingTheSameCurrentMemberTwiceIsAlreadyExists) {
  Household h = MustCreate("Okonkwo family");
  MustAdd(h.id, amara_, "head", D(2020, 1, 1));
  auto again = households_->AddMember(Caseworker(), h.id, amara_, "head", D(2022, 1, 1));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(Members(MustGet(h.id)), ElementsAre(M(amara_, "head", "2020-01-01")));
  EXPECT_EQ(MustGet(h.id).version, 2);
}

TEST_F(HouseholdServiceTest, MoveDatedBeforeTheCurrentMembershipIsInvalidAndChangesNothing) {
  Household first = MustCreate("First");
  Household second = MustCreate("Second");
  MustAdd(first.id, amara_, "head", D(2022, 5, 1));
  auto early = households_->AddMember(Caseworker(), second.id, amara_, "head", D(2022, 4, 30));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(early.status()), ElementsAre("since"));
  EXPECT_THAT(Members(MustGet(first.id)), ElementsAre(M(amara_, "head", "2022-05-01")));
  EXPECT_THAT(MustGet(second.id).members, IsEmpty());
  EXPECT_EQ(MustGet(first.id).version, 2);
  EXPECT_EQ(MustGet(second.id).version, 1);
}

TEST_F(HouseholdServiceTest, UnknownRelationshipNamesTheField) {
  Household h = MustCreate("Okonkwo family");
  auto out = households_->AddMember(Caseworker(), h.id, amara_, "cousin-ish", D(2020, 1, 1));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(out.status()), ElementsAre("relationship"));
  EXPECT_THAT(MustGet(h.id).members, IsEmpty());
}

TEST_F(HouseholdServiceTest, AddingAnUnknownPersonOrToAnUnknownHousehold) {
  Household h = MustCreate("Okonkwo family");
  auto no_person = households_->AddMember(Caseworker(), h.id, core::PersonId{404}, "head", D(2020, 1, 1));
  EXPECT_EQ(no_person.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(no_person.status()), ElementsAre("person_id"));
  auto no_household =
      households_->AddMember(Caseworker(), core::HouseholdId{404}, amara_, "head", D(2020, 1, 1));
  EXPECT_EQ(no_household.status().code(), StatusCode::kNotFound);
}

TEST_F(HouseholdServiceTest, EndMembershipSetsUntilAndBumpsTheVersion) {
  Household h = MustCreate("Okonkwo family");
  MustAdd(h.id, amara_, "head", D(2020, 1, 1));
  auto ended = households_->EndMembership(Caseworker(), h.id, amara_, D(2023, 3, 31));
  ASSERT_TRUE(ended.ok()) << ended.status().ToString();
  EXPECT_EQ(ended->version, 3);
  EXPECT_THAT(Members(*ended), ElementsAre(M(amara_, "head", "2020-01-01", "2023-03-31")));
  auto view = persons_->Get(Caseworker(), amara_);
  ASSERT_TRUE(view.ok());
  EXPECT_FALSE(view->household.has_value());

  auto again = households_->EndMembership(Caseworker(), h.id, amara_, D(2023, 4, 1));
  EXPECT_EQ(again.status().code(), StatusCode::kNotFound);
  // A past member may join again.
  Household rejoined = MustAdd(h.id, amara_, "head", D(2024, 1, 1));
  EXPECT_THAT(Members(rejoined),
              ElementsAre(M(amara_, "head", "2024-01-01"), M(amara_, "head", "2020-01-01", "2023-03-31")));
}

TEST_F(HouseholdServiceTest, EndMembershipBeforeTheStartIsInvalid) {
  Household h = MustCreate("Okonkwo family");
  MustAdd(h.id, amara_, "head", D(2020, 1, 1));
  auto ended = households_->EndMembership(Caseworker(), h.id, amara_, D(2019, 12, 31));
  ASSERT_FALSE(ended.ok());
  EXPECT_EQ(ended.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(ended.status()), ElementsAre("until"));
  EXPECT_THAT(Members(MustGet(h.id)), ElementsAre(M(amara_, "head", "2020-01-01")));
}

TEST_F(HouseholdServiceTest, GetListsCurrentMembersBeforePastOnes) {
  Household h = MustCreate("Okonkwo family");
  const core::PersonId ngozi = NewPerson("Ngozi", "Okonkwo");
  MustAdd(h.id, amara_, "head", D(2015, 1, 1));
  MustAdd(h.id, chidi_, "child", D(2018, 1, 1));
  MustAdd(h.id, ngozi, "grandparent", D(2016, 1, 1));
  ASSERT_TRUE(households_->EndMembership(Caseworker(), h.id, amara_, D(2020, 1, 1)).ok());
  EXPECT_THAT(Members(MustGet(h.id)),
              ElementsAre(M(ngozi, "grandparent", "2016-01-01"), M(chidi_, "child", "2018-01-01"),
                          M(amara_, "head", "2015-01-01", "2020-01-01")));
}

// Holds the persons `held` says it holds; nothing is shared of anyone else.
class Holds : public authz::PersonFactsSource {
 public:
  explicit Holds(std::function<bool(core::PersonId)> held) : held_(std::move(held)) {}
  core::StatusOr<authz::PersonFacts> Facts(storage::Transaction*, const Principal&,
                                           core::PersonId person) const override {
    authz::PersonFacts f;
    f.holds = held_(person);
    return f;
  }

 private:
  std::function<bool(core::PersonId)> held_;
};
Holds HoldsOnly(core::PersonId held) {
  return Holds([held](core::PersonId p) { return p == held; });
}
Holds HoldsAllBut(core::PersonId hidden) {
  return Holds([hidden](core::PersonId p) { return p != hidden; });
}

TEST_F(HouseholdServiceTest, AHouseholdRefusedForOneMemberIsAuditedAsShownToNone) {
  Household h = MustCreate("Okonkwo family");
  MustAdd(h.id, amara_, "head", D(2020, 1, 1));
  MustAdd(h.id, chidi_, "child", D(2020, 1, 1));
  const Holds facts = HoldsOnly(amara_);
  authz::AccessGate gate(gate_.categories(), facts);
  HouseholdService households(*db_, gate, audit_, outbox_, clock_);
  auto out = households.Get(Caseworker(), h.id);
  EXPECT_EQ(out.status().code(), StatusCode::kPermissionDenied);
  // Nothing was shown: neither member's access log says their household was looked at.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'household.read' AND allowed = 1"),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'household.read' AND allowed = 0 "
                  "AND person_id = ?",
                  {amara_.value}),
            1);
}

TEST_F(HouseholdServiceTest, AHouseholdIsChangedOnlyBySomeoneWhoMaySeeItsCurrentMembers) {
  Household h = MustCreate("Okonkwo family");
  MustAdd(h.id, amara_, "head", D(2020, 1, 1));
  MustAdd(h.id, chidi_, "child", D(2020, 1, 1));
  const core::PersonId lodger = NewPerson("Tevita", "Lodger");
  const Holds facts = HoldsAllBut(amara_);
  authz::AccessGate gate(gate_.categories(), facts);
  HouseholdService households(*db_, gate, audit_, outbox_, clock_);
  EXPECT_FALSE(households.MaySee(Caseworker(), h.id));
  auto added = households.AddMember(Caseworker(), h.id, lodger, "lodger", D(2025, 1, 1));
  EXPECT_EQ(added.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(added.status().message(), HasSubstr("member you may not see"));
  auto ended = households.EndMembership(Caseworker(), h.id, chidi_, D(2025, 1, 1));
  EXPECT_EQ(ended.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(households.CheckChange(Caseworker(), "household.add_member", h.id, std::nullopt).code(),
            StatusCode::kPermissionDenied);
  EXPECT_THAT(Members(MustGet(h.id)),
              ElementsAre(M(amara_, "head", "2020-01-01"), M(chidi_, "child", "2020-01-01")));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action IN ('household.add_member', "
                  "'household.end_member') "
                  "AND allowed = 0 AND reason LIKE '%member you may not see%'"),
            3);
}

TEST_F(HouseholdServiceTest, APastMemberTheReaderMayNotSeeIsLeftOutInsteadOfRefusingTheHousehold) {
  Household h = MustCreate("Okonkwo family");
  MustAdd(h.id, amara_, "head", D(2020, 1, 1));
  MustAdd(h.id, chidi_, "child", D(2020, 1, 1));
  ASSERT_TRUE(households_->EndMembership(Caseworker(), h.id, amara_, D(2024, 1, 1)).ok());
  const Holds facts = HoldsAllBut(amara_);
  authz::AccessGate gate(gate_.categories(), facts);
  HouseholdService households(*db_, gate, audit_, outbox_, clock_);
  EXPECT_TRUE(households.MaySee(Caseworker(), h.id));
  auto seen = households.Get(Caseworker(), h.id);
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_THAT(Members(*seen), ElementsAre(M(chidi_, "child", "2020-01-01")));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'household.read' AND allowed = 0 "
                  "AND person_id = ?",
                  {amara_.value}),
            1);
  EXPECT_TRUE(households.EndMembership(Caseworker(), h.id, chidi_, D(2025, 1, 1)).ok())
      << "a past member withheld does not stop a change";
}

TEST_F(HouseholdServiceTest, GetByGovernanceIsDeniedAndAudited) {
  Household h = MustCreate("Okonkwo family");
  MustAdd(h.id, amara_, "head", D(2020, 1, 1));
  auto out = households_->Get(Governance(), h.id);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(out.status().message(), HasSubstr("governance"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'household.read' AND allowed = 0 AND person_id = ?",
                  {amara_.value}),
            1);

  Household empty = MustCreate("Empty");
  EXPECT_EQ(households_->Get(Governance(), empty.id).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(HouseholdServiceTest, AddMemberByGovernanceIsDeniedAndChangesNothing) {
  Household h = MustCreate("Okonkwo family");
  auto out = households_->AddMember(Governance(), h.id, amara_, "head", D(2020, 1, 1));
  EXPECT_EQ(out.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(MustGet(h.id).members, IsEmpty());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'household.add_member' AND allowed = 0"), 1);
}

TEST_F(HouseholdServiceTest, GetOfUnknownHouseholdIsNotFound) {
  EXPECT_EQ(households_->Get(Caseworker(), core::HouseholdId{404}).status().code(), StatusCode::kNotFound);
}

TEST_F(HouseholdServiceTest, AMembershipStartingOrEndingAfterTodayIsInvalidAndChangesNothing) {
  // The fake clock's today is 2026-01-01.
  Household h = MustCreate("Okonkwo family");
  auto later = households_->AddMember(Caseworker(), h.id, amara_, "head", D(2026, 1, 2));
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(later.status()), ElementsAre("since"));
  EXPECT_THAT(later.status().fields()[0].message, HasSubstr("after today"));
  EXPECT_THAT(MustGet(h.id).members, IsEmpty());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'household.add_member'"), 0);

  MustAdd(h.id, amara_, "head", D(2026, 1, 1));
  auto leaves = households_->EndMembership(Caseworker(), h.id, amara_, D(2026, 1, 2));
  EXPECT_EQ(leaves.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(leaves.status()), ElementsAre("until"));
  EXPECT_THAT(Members(MustGet(h.id)), ElementsAre(M(amara_, "head", "2026-01-01")));
}

TEST_F(HouseholdServiceTest, TodayIsTheDeploymentsDayWhenGiven) {
  // West of UTC, the evening of 31 December is still 2025 while UTC says 2026-01-01.
  HouseholdService west(*db_, gate_, audit_, outbox_, clock_, [] { return D(2025, 12, 31); });
  auto h = west.Create(Caseworker(), "Okonkwo family");
  ASSERT_TRUE(h.ok());
  auto later = west.AddMember(Caseworker(), h->id, amara_, "head", D(2026, 1, 1));
  EXPECT_THAT(FieldNames(later.status()), ElementsAre("since"));
  EXPECT_TRUE(west.AddMember(Caseworker(), h->id, amara_, "head", D(2025, 12, 31)).ok());
}

TEST_F(HouseholdServiceTest, AMembershipBeforeTheClientsBirthIsInvalid) {
  Household h = MustCreate("Okonkwo family");
  const core::PersonId baby = NewPerson("Ada", "Okonkwo", "2024-05-12");
  auto before = households_->AddMember(Caseworker(), h.id, baby, "child", D(2024, 5, 11));
  ASSERT_FALSE(before.ok());
  EXPECT_THAT(FieldNames(before.status()), ElementsAre("since"));
  EXPECT_THAT(before.status().fields()[0].message, HasSubstr("date of birth"));
  // No personal data in the message: the date of birth is not said.
  EXPECT_THAT(before.status().ToString(), ::testing::Not(HasSubstr("2024-05-12")));
  MustAdd(h.id, baby, "child", D(2024, 5, 12));

  // Born some time in 2010: a day in 2010 may be after the birth, a day in 2009 may not.
  const core::PersonId year_only = NewPerson("Ike", "Okonkwo", "2010");
  EXPECT_THAT(
      FieldNames(
          households_->AddMember(Caseworker(), h.id, year_only, "child", D(2009, 12, 31)).status()),
      ElementsAre("since"));
  MustAdd(h.id, year_only, "child", D(2010, 1, 1));
  const core::PersonId month_only = NewPerson("Obi", "Okonkwo", "2012-03");
  EXPECT_THAT(
      FieldNames(
          households_->AddMember(Caseworker(), h.id, month_only, "child", D(2012, 2, 29)).status()),
      ElementsAre("since"));
  MustAdd(h.id, month_only, "child", D(2012, 3, 1));
}

TEST_F(HouseholdServiceTest, StartCreatesTheHouseholdWithItsFirstMember) {
  auto h = households_->Start(Caseworker(), "Okonkwo family", amara_, "head", D(2020, 1, 15));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->name, "Okonkwo family");
  EXPECT_THAT(Members(*h), ElementsAre(M(amara_, "head", "2020-01-15")));
  EXPECT_EQ(Members(MustGet(h->id)), Members(*h));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type IN ('household.created', "
                  "'household.member_added')"),
            2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'household.add_member' AND "
                  "person_id = ? AND "
                  "record_id = ?",
                  {amara_.value, std::to_string(h->id.value)}),
            1);

  // Once she has left, she may start another.
  ASSERT_TRUE(households_->EndMembership(Caseworker(), h->id, amara_, D(2023, 9, 1)).ok());
  auto next = households_->Start(Caseworker(), "Amara's flat", amara_, "head", D(2023, 9, 1));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_THAT(Members(MustGet(h->id)), ElementsAre(M(amara_, "head", "2020-01-15", "2023-09-01")));
}

TEST_F(HouseholdServiceTest, StartWritesBothOrNeither) {
  // Every field mistake at once, before anything is written.
  auto bad = households_->Start(Caseworker(), " ", amara_, "landlord", D(2020, 1, 1));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(bad.status()), ElementsAre("name", "relationship"));
  // A mistake found once the household would exist leaves no household behind.
  auto later = households_->Start(Caseworker(), "Okonkwo family", amara_, "head", D(2026, 2, 1));
  EXPECT_THAT(FieldNames(later.status()), ElementsAre("since"));
  auto nobody = households_->Start(Caseworker(), "Okonkwo family", core::PersonId{404}, "head",
                                   D(2020, 1, 1));
  EXPECT_THAT(FieldNames(nobody.status()), ElementsAre("person_id"));
  auto refused = households_->Start(Governance(), "Okonkwo family", amara_, "head", D(2020, 1, 1));
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM households"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM household_members"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE type LIKE 'household.%'"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'household.create' AND allowed = "
                  "0 AND person_id = ?",
                  {amara_.value}),
            1);
}

TEST_F(HouseholdServiceTest, CheckChangeRecordsARefusalAndNothingElse) {
  Household h = MustCreate("Okonkwo family");
  EXPECT_TRUE(
      households_->CheckChange(Caseworker(), "household.add_member", h.id, std::nullopt).ok());
  EXPECT_TRUE(households_->CheckChange(Caseworker(), "household.end_member", h.id, amara_).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'household.%' AND action <> "
                  "'household.create'"),
            0);
  const Status refused = households_->CheckChange(Governance(), "household.create", {}, amara_);
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'household.create' AND allowed = "
                  "0 AND person_id = ?",
                  {amara_.value}),
            1);
}

void Exec(storage::Database& db, const std::string& sql) {
  Status s = db.Write([&](storage::Transaction& tx) { return tx.Execute(sql).status(); });
  ASSERT_TRUE(s.ok()) << s.ToString();
}

TEST_F(HouseholdServiceTest, StartIsRefusedForSomeoneWhoLivesInAHouseholdAlready) {
  auto first = households_->Start(Caseworker(), "Okonkwo family", amara_, "head", D(2020, 1, 15));
  ASSERT_TRUE(first.ok());
  // The same form sent again (Back and send) does not move her out of the household it made.
  auto again = households_->Start(Caseworker(), "Okonkwo family", amara_, "head", D(2020, 1, 15));
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM households"), 1);
  EXPECT_THAT(Members(MustGet(first->id)), ElementsAre(M(amara_, "head", "2020-01-15")));
}

TEST_F(HouseholdServiceTest, AChangeMadeOnAnOlderVersionOfTheHouseholdIsAbortedAndChangesNothing) {
  Household h = MustCreate("Okonkwo family");
  Household seen = MustAdd(h.id, amara_, "head", D(2020, 1, 1));
  MustAdd(h.id, chidi_, "child", D(2021, 1, 1));  // made in another tab
  auto stale = households_->EndMembership(Caseworker(), h.id, amara_, D(2025, 1, 1),
                                          {.version = seen.version});
  EXPECT_EQ(stale.status().code(), StatusCode::kAborted);
  const core::PersonId third = NewPerson("Ada", "Okonkwo");
  auto add = households_->AddMember(Caseworker(), h.id, third, "child", D(2022, 1, 1),
                                    {.version = seen.version});
  EXPECT_EQ(add.status().code(), StatusCode::kAborted);
  Household now = MustGet(h.id);
  EXPECT_THAT(Members(now),
              ElementsAre(M(amara_, "head", "2020-01-01"), M(chidi_, "child", "2021-01-01")));
  EXPECT_TRUE(
      households_
          ->EndMembership(Caseworker(), h.id, amara_, D(2025, 1, 1), {.version = now.version})
          .ok());
}

TEST_F(HouseholdServiceTest, AMoveNotConfirmedIsRefusedNamingTheField) {
  Household old_home = MustCreate("First");
  Household new_home = MustCreate("Second");
  MustAdd(old_home.id, amara_, "head", D(2020, 1, 1));
  auto unconfirmed = households_->AddMember(Caseworker(), new_home.id, amara_, "head",
                                            D(2024, 5, 1), {.move_confirmed = false});
  EXPECT_THAT(FieldNames(unconfirmed.status()), ElementsAre("move"));
  EXPECT_THAT(Members(MustGet(old_home.id)), ElementsAre(M(amara_, "head", "2020-01-01")));
  EXPECT_THAT(MustGet(new_home.id).members, IsEmpty());
  // Someone who lives nowhere needs no confirmation; a confirmed move is made.
  EXPECT_TRUE(households_
                  ->AddMember(Caseworker(), new_home.id, chidi_, "child", D(2024, 5, 1),
                              {.move_confirmed = false})
                  .ok());
  EXPECT_TRUE(
      households_->AddMember(Caseworker(), new_home.id, amara_, "head", D(2024, 5, 1)).ok());
  EXPECT_THAT(Members(MustGet(old_home.id)),
              ElementsAre(M(amara_, "head", "2020-01-01", "2024-05-01")));
}

TEST_F(HouseholdServiceTest, AMembershipAfterTheClientsDeathIsInvalid) {
  Person p;
  p.names = {{"official", "Obi", "Okonkwo"}};
  p.birth_date = core::PartialDate::Parse("1940-02-02").value();
  p.death_date = core::PartialDate::Parse("2025-03").value();
  auto created = persons_->Create(Caseworker(), p);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Household h = MustCreate("Okonkwo family");
  auto after =
      households_->AddMember(Caseworker(), h.id, created->id, "grandparent", D(2025, 4, 1));
  EXPECT_THAT(FieldNames(after.status()), ElementsAre("since"));
  EXPECT_THAT(after.status().fields()[0].message, HasSubstr("date of death"));
  // In the month of the death, known to the month only: it may have been after.
  MustAdd(h.id, created->id, "grandparent", D(2025, 3, 20));
}

TEST_F(HouseholdServiceTest, TheAgenciesThatKnowTheOtherMembersAreToldTheirHouseholdChanged) {
  // Agency B decides an application of Amara's (it keeps a record of her); it does not know Chidi.
  Exec(*db_,
       "INSERT OR IGNORE INTO agencies (id, code, name, kind, created_at) VALUES (1, 'a', 'Agency "
       "A', "
       "'government', 0), (2, 'b', 'Agency B', 'government', 0)");
  Exec(*db_,
       "INSERT INTO source_records (agency_id, local_id, person_id, data, created_at, updated_at) "
       "VALUES (2, "
       "'B-1', " +
           std::to_string(amara_.value) + ", '{}', 0, 0)");
  Household h = MustCreate("Okonkwo family");
  MustAdd(h.id, amara_, "head", D(2020, 1, 1));
  MustAdd(h.id, chidi_, "child", D(2021, 1, 1));
  ASSERT_TRUE(households_->EndMembership(Caseworker(), h.id, chidi_, D(2025, 1, 1)).ok());
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM change_notices WHERE agency_id = 2 AND person_id = ? AND type = "
            "'household.changed'",
            {amara_.value}),
      2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM change_notices WHERE agency_id = 2 AND person_id = ?",
                  {chidi_.value}),
            0)
      << "nothing about a member the agency does not know";
}

TEST_F(HouseholdServiceTest, MaySeeDecidesWithoutRecordingAnything) {
  Household h = MustCreate("Okonkwo family");
  MustAdd(h.id, amara_, "head", D(2020, 1, 1));
  const int64_t entries = Count("SELECT COUNT(*) FROM audit_log");
  EXPECT_TRUE(households_->MaySee(Caseworker(), h.id));
  EXPECT_FALSE(households_->MaySee(Governance(), h.id));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log"), entries);
}

}  // namespace
}  // namespace registry
