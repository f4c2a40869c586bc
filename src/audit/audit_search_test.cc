#include "audit/audit_search.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/crypto.h"
#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "storage/sqlite/sqlite_database.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace audit {
namespace {

using core::StatusCode;
using storage::Dialect;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

authz::Principal Staff(int64_t user, int64_t agency, const std::string& name, authz::Role role) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{user};
  p.agency = core::AgencyId{agency};
  p.name = name;
  p.roles = {role};
  p.purpose = authz::Purpose::kAudit;
  return p;
}

const authz::Principal kAnn = Staff(1, 1, "ann.city", authz::Role::kCaseworker);
const authz::Principal kBen = Staff(2, 1, "ben.city", authz::Role::kFrontdesk);
const authz::Principal kCal = Staff(3, 2, "cal.state", authz::Role::kCaseworker);
const authz::Principal kAuditor = Staff(4, 1, "audra.city", authz::Role::kAuditor);

// On SQLite and on PostgreSQL (whose chains order entries differently: seq still orders them).
class AuditSearchTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    (void)core::InitCrypto();
    if (GetParam() == Dialect::kPostgres) {
      auto db = storage::OpenPostgres(
          testing_support::PostgresEnvironment::Cluster().NewMigratedDatabaseUrl(),
          {.connections = 4});
      if (!db.ok()) throw std::runtime_error(db.status().ToString());
      db_ = std::move(db).value();
    } else {
      auto db = storage::OpenSqlite(dir_.File("t.db"), {.read_connections = 2});
      if (!db.ok()) throw std::runtime_error(db.status().ToString());
      db_ = std::move(db).value();
    }
    ASSERT_TRUE(storage::Migrate(*db_, storage::OnedoorSchema()).ok());
    search_holder_ = std::make_unique<AuditSearch>(*db_, log_);
    // Ann reads persons 1, 2, 3; Ben is refused person 2; Cal (another agency) reads person 1;
    // Ann changes person 3; one a minute from 2026-01-01 00:00.
    Add(kAnn, {"person.read", "person", "1", core::PersonId{1}, true, "role caseworker"});
    Add(kAnn, {"person.read", "person", "2", core::PersonId{2}, true, "role caseworker"});
    Add(kBen,
        {"person.history", "person", "2", core::PersonId{2}, false, "front desk reads no history"});
    Add(kCal, {"person.read", "person", "1", core::PersonId{1}, true, "agreement 4"});
    Add(kAnn, {"person.update", "person", "3", core::PersonId{3}, true, "role caseworker"});
    Add(kAnn,
        {"personal_note.read", "note", "9", std::nullopt, true, "a family that only starts alike"});
  }

  AuditSearch& search() { return *search_holder_; }

  void Add(const authz::Principal& who, const Entry& e) {
    ASSERT_TRUE(db_->Write([&](storage::Transaction& tx) { return log_.Append(tx, who, e); }).ok());
    clock_.Advance(std::chrono::minutes(1));
  }

  std::vector<std::string> Found(Query q) {
    auto r = search().Search(kAuditor, q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const Record& rec : *r)
        out.push_back(rec.actor + " " + rec.entry.action + " " + rec.entry.record_id);
    }
    return out;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;  // 2026-01-01
  AuditLog log_{clock_};
  std::unique_ptr<AuditSearch> search_holder_;
};

INSTANTIATE_TEST_SUITE_P(Backends, AuditSearchTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kPostgres),
                         [](const ::testing::TestParamInfo<Dialect>& info) {
                           return info.param == Dialect::kSqlite ? "Sqlite" : "Postgres";
                         });

TEST_P(AuditSearchTest, AnAuditorFindsTheirAgencysEntriesByEachFilterNewestFirst) {
  // Cal's entry is another agency's.
  EXPECT_THAT(Found({}), ElementsAre("ann.city personal_note.read 9", "ann.city person.update 3",
                                     "ben.city person.history 2", "ann.city person.read 2",
                                     "ann.city person.read 1"));
  Query by_actor;
  by_actor.actor = "ben.city";
  EXPECT_THAT(Found(by_actor), ElementsAre("ben.city person.history 2"));
  Query family;
  family.action = "person";
  EXPECT_THAT(Found(family), ElementsAre("ann.city person.update 3", "ben.city person.history 2",
                                         "ann.city person.read 2", "ann.city person.read 1"));
  Query exact;
  exact.action = "person.read";
  EXPECT_THAT(Found(exact), ElementsAre("ann.city person.read 2", "ann.city person.read 1"));
  Query about;
  about.person = core::PersonId{2};
  EXPECT_THAT(Found(about), ElementsAre("ben.city person.history 2", "ann.city person.read 2"));
  Query refused;
  refused.refused_only = true;
  EXPECT_THAT(Found(refused), ElementsAre("ben.city person.history 2"));
  Query window;  // 00:01 to 00:04: the second, third (and Cal's fourth) entries
  window.from = core::Timestamp{core::FakeClock().Now().micros + 60'000'000};
  window.to = core::Timestamp{core::FakeClock().Now().micros + 4 * 60'000'000};
  EXPECT_THAT(Found(window), ElementsAre("ben.city person.history 2", "ann.city person.read 2"));
  Query page;  // the searches above are entries of the agency's too: "person" leaves them out
  page.action = "person";
  page.limit = 2;
  auto first = search().Search(kAuditor, page);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  page.before_seq = first->back().seq;
  EXPECT_THAT(Found(page), ElementsAre("ann.city person.read 2", "ann.city person.read 1"));
}

TEST_P(AuditSearchTest, EachSearchIsAuditedWithItsFiltersAndOthersAreRefused) {
  Query q;
  q.person = core::PersonId{2};
  q.refused_only = true;
  ASSERT_TRUE(search().Search(kAuditor, q).ok());
  Query mine;
  mine.actor = "audra.city";
  mine.action = "audit";
  auto own = search().Search(kAuditor, mine);
  ASSERT_TRUE(own.ok());
  ASSERT_EQ(own->size(), 1u);
  EXPECT_EQ(own->front().entry.action, "audit.search");
  EXPECT_TRUE(own->front().entry.allowed);
  EXPECT_EQ(own->front().entry.reason, "1 entries of the agency's; person=2, refused=only");
  // About person 2: in person 2's access log.
  ASSERT_TRUE(own->front().entry.person.has_value());
  EXPECT_EQ(own->front().entry.person->value, 2);

  for (const authz::Principal& who : {kAnn, kBen}) {
    auto r = search().Search(who, {});
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  }
  authz::Principal token = kAuditor;
  token.kind = authz::PrincipalKind::kSystem;
  token.user = core::UserId{};
  EXPECT_EQ(search().Search(token, {}).status().code(), StatusCode::kPermissionDenied);
  Query refusals;
  refusals.action = "audit";
  refusals.refused_only = true;
  auto refused = search().Search(kAuditor, refusals);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->size(), 3u);  // Ann's, Ben's and the agency's token's
  Query too_many;
  too_many.limit = AuditSearch::kMaxExport + 1;
  EXPECT_EQ(search().Search(kAuditor, too_many).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace audit
