#include "metrics/operational.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace metrics {
namespace {

using core::Status;
using ::testing::HasSubstr;
using ::testing::Not;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kDay = 1440 * kMinute;
constexpr int64_t kNow = 1'772'409'600'000'000 + 12 * 60 * kMinute;  // 2026-03-02T12:00:00Z

class OperationalTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = testing_support::NewMigratedDatabase(GetParam(), dir_, 2);
  }
  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
};

TEST_P(OperationalTest, TheWorkWaitingNowByQueueAndAgency) {
  ASSERT_TRUE(db_->Write([](storage::Transaction& tx) -> Status {
                   auto run = [&](const std::string& sql, storage::Params p = {}) {
                     return tx.Execute(sql, std::move(p)).status();
                   };
                   for (const char* code : {"city", "state"}) {
                     RETURN_IF_ERROR(run("INSERT INTO agencies (code, name, kind, created_at) VALUES (?, ?, "
                                         "'government', 0)",
                                         {std::string(code), std::string(code) + " agency"}));
                   }
                   RETURN_IF_ERROR(run("INSERT INTO offices (agency_id, name, address, created_at) VALUES (1, 'C', "
                                       "'', 0)"));
                   RETURN_IF_ERROR(run("INSERT INTO queues (office_id, code, name, directory_service_id, created_at) "
                                       "VALUES (1, 'A', 'Benefits', NULL, 0), (1, 'B', 'Housing', NULL, 0)"));
                   // Queue A: three waiting since 10, 20 and 45 minutes, one served, and one left
                   // waiting two days ago (not counted).
                   const std::vector<std::pair<std::string, int64_t>> tickets = {
                       {"waiting", 10}, {"waiting", 20}, {"waiting", 45}, {"done", 50}, {"waiting", 2 * 1440}};
                   int64_t n = 0;
                   for (const auto& [state, ago] : tickets) {
                     ++n;
                     RETURN_IF_ERROR(run("INSERT INTO tickets (office_id, queue_id, day, code, number, label, "
                                         "priority, state, recalls, arrived_at) VALUES (1, 1, ?, 'A', ?, 'A', 0, ?, "
                                         "0, ?)",
                                         {std::string(ago > 1440 ? "2026-02-28" : "2026-03-02"), n, state,
                                          kNow - ago * kMinute}));
                   }
                   RETURN_IF_ERROR(run("INSERT INTO persons (version, display_name, doc, created_at, updated_at, "
                                       "created_by, created_agency) VALUES (1, 'P', '{}', 0, 0, 1, 1)"));
                   // The state: two changes pending, one applied; the city: one open case overdue,
                   // one not yet due.
                   for (const char* state : {"pending", "pending", "applied"}) {
                     RETURN_IF_ERROR(run("INSERT INTO change_notices (person_id, agency_id, from_agency_id, type, "
                                         "fields, version, created_at, state) VALUES (1, 2, 1, 'address', '[]', 1, "
                                         "0, ?)",
                                         {std::string(state)}));
                   }
                   for (int64_t next : {kNow - kDay, kNow + kDay}) {
                     RETURN_IF_ERROR(run("INSERT INTO cases (person_id, title, criteria, coordinator_user_id, "
                                         "coordinator, coordinating_agency_id, state, review_every_days, "
                                         "next_review_at, outcome, close_reason, opened_at, version) VALUES (1, 'P', "
                                         "'x', 1, 'c', 1, 'open', 28, ?, '', '', 0, 1)",
                                         {next}));
                   }
                   return Status::Ok();
                 })
                  .ok());
  auto text = OperationalGauges(*db_, core::Timestamp{kNow}, "2026-03-02");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_THAT(*text, HasSubstr("# TYPE onedoor_queue_waiting gauge\n"));
  EXPECT_THAT(*text, HasSubstr("onedoor_queue_waiting{office=\"1\",queue=\"A\"} 3\n"));
  EXPECT_THAT(*text, HasSubstr("onedoor_queue_waiting{office=\"1\",queue=\"B\"} 0\n"));
  EXPECT_THAT(*text, HasSubstr("onedoor_queue_oldest_wait_seconds{office=\"1\",queue=\"A\"} 2700\n"));
  EXPECT_THAT(*text, HasSubstr("onedoor_queue_oldest_wait_seconds{office=\"1\",queue=\"B\"} 0\n"));
  EXPECT_THAT(*text, HasSubstr("onedoor_changes_pending{agency=\"state\"} 2\n"));
  EXPECT_THAT(*text, HasSubstr("onedoor_changes_pending{agency=\"city\"} 0\n"));
  EXPECT_THAT(*text, HasSubstr("onedoor_case_reviews_overdue{agency=\"city\"} 1\n"));
  EXPECT_THAT(*text, HasSubstr("onedoor_referrals_overdue{agency=\"city\"} 0\n"));
  EXPECT_THAT(*text, HasSubstr("onedoor_decisions_overdue{agency=\"state\"} 0\n"));
  // No names: neither the person's nor a queue's.
  EXPECT_THAT(*text, Not(HasSubstr("Benefits")));
}

INSTANTIATE_TEST_SUITE_P(Databases, OperationalTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace metrics
