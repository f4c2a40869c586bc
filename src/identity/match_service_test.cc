#include "identity/match_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exchange/outbox.h"
#include "registry/person_service.h"
#include "tests/testing/testing.h"

namespace identity {
namespace {

using core::Status;
using core::StatusCode;
using namespace std::chrono_literals;

authz::Principal Caseworker() {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{7};
  p.agency = core::AgencyId{1};
  p.name = "cw";
  p.roles = {authz::Role::kCaseworker};
  p.purpose = authz::Purpose::kCaseWork;
  return p;
}

registry::Person Named(const std::string& given, const std::string& family, core::PartialDate dob) {
  registry::Person p;
  p.names = {{"official", given, family}};
  p.birth_date = dob;
  return p;
}

class MatchServiceTest : public ::testing::Test {
 protected:
  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    EXPECT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(sql));
                    n = rows.at(0).Int(0);
                    return Status::Ok();
                  }).ok());
    return n;
  }
  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_ = testing_support::NewMigratedSqlite(dir_);
  core::FakeClock clock_;
  authz::AccessGate gate_;
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  registry::PersonService persons_{*db_, gate_, audit_, outbox_, clock_};
};

TEST_F(MatchServiceTest, APersonCreatedElsewhereIsFoundOnceTheIndexIsStale) {
  ASSERT_TRUE(persons_.Create(Caseworker(), Named("Amara", "Okonkwo", {1984, 3, 7})).ok());
  // Two services on one database, as two servers would be.
  MatchService a(*db_, gate_, audit_, clock_, {.max_staleness = 0ms});
  auto first = a.Match(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1}), 5);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->empty());

  auto ben = persons_.Create(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1}));
  ASSERT_TRUE(ben.ok());
  auto second = a.Match(Caseworker(), Named("Benn", "Ashby", {1990, 5, 1}), 5);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_FALSE(second->empty());
  EXPECT_EQ((*second)[0].person, ben->id);
  EXPECT_EQ((*second)[0].name, "Ben Ashby");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'person.match_candidate' AND person_id = " +
                  std::to_string(ben->id.value)),
            1);
}

TEST_F(MatchServiceTest, WithinTheStalenessWindowTheIndexIsReused) {
  MatchService a(*db_, gate_, audit_, clock_, {.max_staleness = 1h});
  ASSERT_TRUE(a.Match(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1}), 5).ok());
  ASSERT_TRUE(persons_.Create(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1})).ok());
  auto found = a.Match(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1}), 5);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->empty());
}

TEST_F(MatchServiceTest, RefusedRolesAreAuditedAndGetNothing) {
  ASSERT_TRUE(persons_.Create(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1})).ok());
  MatchService a(*db_, gate_, audit_, clock_);
  authz::Principal admin = Caseworker();
  admin.roles = {authz::Role::kAdmin};
  auto refused = a.Match(admin, Named("Ben", "Ashby", {1990, 5, 1}), 5);
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'person.match' AND allowed = 0"), 1);
}

TEST_F(MatchServiceTest, AProbeNeedsANameAndASaneLimit) {
  MatchService a(*db_, gate_, audit_, clock_);
  registry::Person nameless;
  nameless.birth_date = core::PartialDate{1990, 5, 1};
  EXPECT_EQ(a.Match(Caseworker(), nameless, 5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a.Match(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1}), 0).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(MatchService, TheStarterModelParsesBack) {
  auto parsed = Model::FromText(MatchService::StarterModel().ToText());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
}

}  // namespace
}  // namespace identity
