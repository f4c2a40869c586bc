#include "identity/review_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exchange/outbox.h"
#include "identity/match_service.h"
#include "identity/registry_linker.h"
#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace identity {
namespace {

using core::Status;
using core::StatusCode;

authz::Principal Staff(authz::Role role) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{7};
  p.agency = core::AgencyId{1};
  p.name = "reviewer";
  p.roles = {role};
  p.purpose = authz::Purpose::kCaseWork;
  return p;
}

authz::Principal Importer() {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kSystem;
  p.agency = core::AgencyId{1};
  p.name = "import";
  p.roles = {authz::Role::kCaseworker};
  p.scopes = {"source-records:write"};
  p.purpose = authz::Purpose::kCaseWork;
  return p;
}

registry::Person Named(const std::string& given, const std::string& family) {
  registry::Person p;
  p.names = {{"official", given, family}};
  return p;
}

class ReviewServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) {
                    return tx.Execute("INSERT INTO agencies (code,name,kind,created_at) VALUES ('a','A','government',0)")
                        .status();
                  }).ok());
    ASSERT_TRUE(persons_.PutSourceRecords(Importer(), {{"R-1", Named("Amara", "Okonkwo")}, {"R-2", Named("Amara", "Okonkow")}},
                                          "test")
                    .ok());
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) {
                    return tx
                        .Execute("INSERT INTO match_reviews (record_a, record_b, weight, probability, explanation, state, "
                                 "created_at) VALUES (1, 2, 1.5, 0.3, '{}', 'pending', 0)")
                        .status();
                  }).ok());
  }
  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    EXPECT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(sql));
                    n = rows.at(0).IsNull(0) ? 0 : rows.at(0).Int(0);
                    return Status::Ok();
                  }).ok());
    return n;
  }
  int64_t PersonOf(int64_t record) {
    return Count("SELECT person_id FROM source_records WHERE id = " + std::to_string(record));
  }
  void Link(int64_t record, std::optional<int64_t> person) {
    auto p = Named("X", "Y");
    ASSERT_TRUE(persons_
                    .LinkSources(ClientIndexPrincipal(), person ? std::optional(core::PersonId{*person}) : std::nullopt,
                                 person ? nullptr : &p, {{core::SourceRecordId{record}, std::nullopt}}, "auto")
                    .ok());
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_ = testing_support::NewMigratedSqlite(dir_);
  core::FakeClock clock_;
  authz::AccessGate gate_;
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  registry::PersonService persons_{*db_, gate_, audit_, outbox_, clock_};
  ReviewService reviews_{*db_, persons_, gate_, audit_, clock_};
};

TEST_F(ReviewServiceTest, ListShowsBothRecordsAndAuditsTheView) {
  auto list = reviews_.List(Staff(authz::Role::kCaseworker), "pending", 10);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].a.local_id, "R-1");
  EXPECT_EQ((*list)[0].b.data.names[0].family, "Okonkow");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'match_review.read'"), 2);
  EXPECT_EQ(reviews_.List(Staff(authz::Role::kCaseworker), "done", 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reviews_.List(Staff(authz::Role::kAdmin), "pending", 10).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(ReviewServiceTest, SameOnTwoUnlinkedRecordsMakesOnePerson) {
  auto r = reviews_.Decide(Staff(authz::Role::kCaseworker), 1, ReviewDecision::kSame, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, "same");
  EXPECT_NE(PersonOf(1), 0);
  EXPECT_EQ(PersonOf(1), PersonOf(2));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM persons"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_record_links WHERE cause = 'review'"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'match_review.decide'"), 1);
  EXPECT_EQ(reviews_.List(Staff(authz::Role::kCaseworker), "pending", 10)->size(), 0u);
}

TEST_F(ReviewServiceTest, SameJoinsTheUnlinkedRecordToTheOthersPerson) {
  Link(1, std::nullopt);
  const int64_t person = PersonOf(1);
  ASSERT_TRUE(reviews_.Decide(Staff(authz::Role::kCaseworker), 1, ReviewDecision::kSame, "").ok());
  EXPECT_EQ(PersonOf(2), person);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM persons"), 1);
}

TEST_F(ReviewServiceTest, SameAcrossTwoPersonsMovesTheSecondRecordWithHistory) {
  Link(1, std::nullopt);
  Link(2, std::nullopt);
  const int64_t first = PersonOf(1), second = PersonOf(2);
  ASSERT_NE(first, second);
  ASSERT_TRUE(reviews_.Decide(Staff(authz::Role::kCaseworker), 1, ReviewDecision::kSame, "same NI number").ok());
  EXPECT_EQ(PersonOf(2), first);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM source_record_links WHERE source_record_id = 2 AND action = 'unlinked' "
                  "AND previous_person_id = " + std::to_string(second)),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM persons"), 2);  // the old person stays, with its history
}

TEST_F(ReviewServiceTest, SameAcrossTwoPersonsBringsEveryRecordOfTheSecondPersonAlong) {
  // R-3 was put with R-2 before (by the linker or an earlier decision): deciding are
  // the same person keeps R-3 with R-2, instead of parting them without a word.
  ASSERT_TRUE(
      persons_.PutSourceRecords(Importer(), {{"R-3", Named("Amara", "Okonkwo-Smith")}}, "test")
          .ok());
  Link(1, std::nullopt);
  Link(2, std::nullopt);
  Link(3, PersonOf(2));
  const int64_t first = PersonOf(1);
  ASSERT_NE(PersonOf(2), first);
  ASSERT_TRUE(reviews_.Decide(Staff(authz::Role::kCaseworker), 1, ReviewDecision::kSame, "").ok());
  EXPECT_EQ(PersonOf(2), first);
  EXPECT_EQ(PersonOf(3), first);
}

TEST_F(ReviewServiceTest, NotSameSplitsRecordsThatShareAPerson) {
  Link(1, std::nullopt);
  Link(2, PersonOf(1));
  ASSERT_TRUE(reviews_.Decide(Staff(authz::Role::kCaseworker), 1, ReviewDecision::kNotSame, "different parents").ok());
  EXPECT_NE(PersonOf(1), PersonOf(2));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM persons"), 2);
}

TEST_F(ReviewServiceTest, ChangingADecisionIsAManagersAuditedOverride) {
  ASSERT_TRUE(reviews_.Decide(Staff(authz::Role::kCaseworker), 1, ReviewDecision::kSame, "").ok());
  EXPECT_EQ(reviews_.Decide(Staff(authz::Role::kCaseworker), 1, ReviewDecision::kNotSame, "oops").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(reviews_.Decide(Staff(authz::Role::kManager), 1, ReviewDecision::kNotSame, "").status().code(),
            StatusCode::kInvalidArgument);
  auto changed = reviews_.Decide(Staff(authz::Role::kManager), 1, ReviewDecision::kNotSame, "twins, checked");
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(changed->state, "not_same");
  EXPECT_EQ(changed->reason, "twins, checked");
  EXPECT_NE(PersonOf(1), PersonOf(2));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'match_review.override'"), 1);
}

TEST_F(ReviewServiceTest, TheFrontDeskMayNotDecide) {
  EXPECT_EQ(reviews_.Decide(Staff(authz::Role::kFrontdesk), 1, ReviewDecision::kSame, "").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_log WHERE action = 'match_review.decide' AND allowed = 0"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM match_reviews WHERE state = 'pending'"), 1);
}

TEST_F(ReviewServiceTest, UnknownReviewIsNotFound) {
  EXPECT_EQ(reviews_.Decide(Staff(authz::Role::kCaseworker), 99, ReviewDecision::kSame, "").status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace identity

// The same flow on PostgreSQL: import, link, match, review.
namespace identity {
namespace {

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

TEST(ClientIndexOnPostgres, LinkMatchAndReviewWork) {
  auto opened = storage::OpenPostgres(testing_support::PostgresEnvironment::Cluster().NewMigratedDatabaseUrl(),
                                      {.connections = 4});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto db = std::move(opened).value();
  ASSERT_TRUE(storage::Migrate(*db, storage::OnedoorSchema()).ok());
  ASSERT_TRUE(db->Write([](storage::Transaction& tx) {
                  return tx.Execute("INSERT INTO agencies (code,name,kind,created_at) VALUES ('a','A','government',0)")
                      .status();
                }).ok());
  core::SystemClock clock;
  authz::AccessGate gate;
  audit::AuditLog audit(clock);
  exchange::Outbox outbox(clock);
  registry::PersonService persons(*db, gate, audit, outbox, clock);
  registry::Person amara = Named("Amara", "Okonkwo");
  amara.birth_date = core::PartialDate{1984, 3, 7};
  amara.addresses = {{"home", "3 Station Road", "", "Ashford", "", "TN23 1PP", ""}};
  registry::Person ben = Named("Ben", "Ashby");
  ben.birth_date = core::PartialDate{1990, 5, 1};
  ASSERT_TRUE(persons.PutSourceRecords(Importer(), {{"A-1", amara}, {"A-2", ben}}, "test").ok());

  RegistryLinker linker(persons, *db, clock);
  auto report = linker.Dedupe(ClientIndexPrincipal(), MatchOptions{}, false);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->persons_created, 2);
  EXPECT_EQ(report->records_linked, 2);

  MatchService match(*db, gate, audit, clock);
  registry::Person probe = amara;
  probe.names = {{"official", "Amara", "Okonkow"}};
  auto found = match.Match(Staff(authz::Role::kCaseworker), probe, 3);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_FALSE(found->empty());
  EXPECT_EQ((*found)[0].name, "Amara Okonkwo");

  // A queued pair of the two records, decided "same": the second moves to the first's person.
  ASSERT_TRUE(db->Write([](storage::Transaction& tx) {
                  return tx
                      .Execute("INSERT INTO match_reviews (record_a, record_b, weight, probability, explanation, state, "
                               "created_at) VALUES (1, 2, 1.5, 0.3, '{}', 'pending', 0)")
                      .status();
                }).ok());
  ReviewService reviews(*db, persons, gate, audit, clock);
  auto decided = reviews.Decide(Staff(authz::Role::kCaseworker), 1, ReviewDecision::kSame, "checked");
  ASSERT_TRUE(decided.ok()) << decided.status().ToString();
  EXPECT_EQ(decided->a.person, decided->b.person);
  auto verified = audit::AuditLog::Verify(*db);
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok) << verified->problem;
}

}  // namespace
}  // namespace identity
