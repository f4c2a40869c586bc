#include "identity/match_service.h"

#include <atomic>
#include <thread>

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

TEST_F(MatchServiceTest, ChangesAreAddedToTheIndexWithoutBuildingItAgain) {
  auto ben = persons_.Create(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1}));
  ASSERT_TRUE(ben.ok());
  ASSERT_TRUE(persons_.Create(Caseworker(), Named("Amara", "Okonkwo", {1984, 3, 7})).ok());
  MatchService a(*db_, gate_, audit_, clock_, {.max_staleness = 0ms});
  ASSERT_TRUE(a.Match(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1}), 5).ok());
  EXPECT_EQ(a.Stats().builds, 1);
  EXPECT_EQ(a.Stats().rows, 2u);

  // A new person, and a changed one: found as they are now, with no second build.
  auto cleo = persons_.Create(Caseworker(), Named("Cleo", "Marsh", {2001, 8, 30}));
  ASSERT_TRUE(cleo.ok());
  registry::Person renamed = *ben;
  renamed.names = {{"official", "Benedict", "Ashworth"}};
  ASSERT_TRUE(persons_.Update(Caseworker(), ben->id, ben->version, renamed).ok());
  auto found = a.Match(Caseworker(), Named("Cleo", "Marsh", {2001, 8, 30}), 5);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_FALSE(found->empty());
  EXPECT_EQ((*found)[0].person, cleo->id);
  auto now = a.Match(Caseworker(), Named("Benedict", "Ashworth", {1990, 5, 1}), 5);
  ASSERT_TRUE(now.ok());
  ASSERT_FALSE(now->empty());
  EXPECT_EQ((*now)[0].person, ben->id);
  EXPECT_EQ((*now)[0].name, "Benedict Ashworth");
  // The old record is hidden: the old name finds the person once at most, under the new name.
  auto old = a.Match(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1}), 5);
  ASSERT_TRUE(old.ok());
  int seen = 0;
  for (const auto& c : *old) {
    if (c.person != ben->id) continue;
    ++seen;
    EXPECT_EQ(c.name, "Benedict Ashworth");
  }
  EXPECT_LE(seen, 1);
  const MatchIndexStats stats = a.Stats();
  EXPECT_EQ(stats.builds, 1);
  EXPECT_EQ(stats.rows, 4u) << "two built, one new, one changed";
  EXPECT_EQ(stats.added, 2u);
}

TEST_F(MatchServiceTest, PastMaxAddedTheIndexIsBuiltAgain) {
  MatchService a(*db_, gate_, audit_, clock_, {.max_staleness = 0ms, .max_added = 2});
  ASSERT_TRUE(a.Match(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1}), 5).ok());
  std::vector<core::PersonId> made;
  for (const char* family : {"Ashby", "Marsh", "Okonkwo"}) {
    auto p = persons_.Create(Caseworker(), Named("Ben", family, {1990, 5, 1}));
    ASSERT_TRUE(p.ok());
    made.push_back(p->id);
    ASSERT_TRUE(a.Match(Caseworker(), Named("Ben", family, {1990, 5, 1}), 5).ok());
  }
  // Built at the first match (empty), added two, then built again with all three, on a thread
  // of its own.
  a.WaitForBuild();
  MatchIndexStats stats = a.Stats();
  EXPECT_EQ(stats.builds, 2);
  EXPECT_EQ(stats.rows, 3u);
  EXPECT_EQ(stats.added, 0u);
  auto found = a.Match(Caseworker(), Named("Ben", "Okonkwo", {1990, 5, 1}), 5);
  ASSERT_TRUE(found.ok());
  ASSERT_FALSE(found->empty());
  EXPECT_EQ((*found)[0].person, made[2]);

  // max_added 0: every change builds it again.
  MatchService every(*db_, gate_, audit_, clock_, {.max_staleness = 0ms, .max_added = 0});
  ASSERT_TRUE(every.Match(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1}), 5).ok());
  ASSERT_TRUE(persons_.Create(Caseworker(), Named("Dora", "Marsh", {1970, 1, 2})).ok());
  ASSERT_TRUE(every.Match(Caseworker(), Named("Dora", "Marsh", {1970, 1, 2}), 5).ok());
  every.WaitForBuild();
  EXPECT_EQ(every.Stats().builds, 2);
  auto dora = every.Match(Caseworker(), Named("Dora", "Marsh", {1970, 1, 2}), 5);
  ASSERT_TRUE(dora.ok());
  ASSERT_FALSE(dora->empty());
  EXPECT_EQ((*dora)[0].name, "Dora Marsh");
}

TEST_F(MatchServiceTest, MatchesWhileChangesAreAddedFromOtherThreads) {
  MatchService a(*db_, gate_, audit_, clock_, {.max_staleness = 0ms, .max_added = 15});
  ASSERT_TRUE(persons_.Create(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1})).ok());
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!done) {
        auto m = a.Match(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1}), 5);
        if (!m.ok() || m->empty()) ++failures;
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(persons_.Create(Caseworker(), Named("Walker" + std::to_string(i), "Quist", {1980, 1, 1 + i % 28})).ok());
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  // The last persons are found once a build under way (if any) is done and has caught up.
  std::string first;
  for (int attempt = 0; attempt < 5 && first != "Walker39 Quist"; ++attempt) {
    a.WaitForBuild();
    auto last = a.Match(Caseworker(), Named("Walker39", "Quist", {1980, 1, 12}), 5);
    ASSERT_TRUE(last.ok());
    first = last->empty() ? "" : (*last)[0].name;
  }
  EXPECT_EQ(first, "Walker39 Quist");
  EXPECT_EQ(a.Stats().rows, 41u);
}

TEST_F(MatchServiceTest, StartBuildingBuildsOnceAndTheFirstMatchUsesIt) {
  ASSERT_TRUE(persons_.Create(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1})).ok());
  MatchService a(*db_, gate_, audit_, clock_, {.max_staleness = 1h});
  a.StartBuilding();
  a.StartBuilding();  // one build under way (or done) is enough
  auto found = a.Match(Caseworker(), Named("Ben", "Ashby", {1990, 5, 1}), 5);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(a.Stats().builds, 1);
  a.StartBuilding();
  a.WaitForBuild();
  EXPECT_EQ(a.Stats().builds, 1) << "built already: nothing more";
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
