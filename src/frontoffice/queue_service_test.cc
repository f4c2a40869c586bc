#include "frontoffice/queue_service.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace frontoffice {
namespace {

using core::Status;
using core::StatusCode;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

constexpr int kStaff = 12;

authz::Principal Staff(int64_t user, int64_t agency, authz::Role role) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{user};
  p.agency = core::AgencyId{agency};
  p.name = fmt::format("staff{}", user);
  p.roles = {role};
  p.purpose = authz::Purpose::kFrontDesk;
  return p;
}

class QueueServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      db_ = testing_support::NewMigratedSqlite(dir_);
    } else {
      auto opened = storage::OpenPostgres(testing_support::PostgresEnvironment::Cluster().NewMigratedDatabaseUrl(),
                                          {.connections = 10});
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      db_ = std::move(opened).value();
      ASSERT_TRUE(storage::Migrate(*db_, storage::OnedoorSchema()).ok());
    }
    ASSERT_TRUE(db_->Write([](storage::Transaction& tx) -> Status {
                     for (const char* code : {"city", "state"}) {
                       RETURN_IF_ERROR(tx.Execute("INSERT INTO agencies (code, name, kind, created_at) VALUES (?, ?, "
                                                  "'government', 0)",
                                                  {std::string(code), std::string(code)})
                                           .status());
                     }
                     for (int u = 1; u <= kStaff; ++u) {
                       RETURN_IF_ERROR(tx.Execute("INSERT INTO users (kind, username, display_name, password_hash, "
                                                  "agency_id, created_at, updated_at) VALUES ('staff', ?, ?, 'x', ?, 0, 0)",
                                                  {fmt::format("staff{}", u), fmt::format("Staff {}", u),
                                                   static_cast<int64_t>(u == kStaff ? 2 : 1)})
                                           .status());
                     }
                     return tx.Execute("INSERT INTO offices (agency_id, name, address, created_at) VALUES "
                                       "(1, 'One-stop centre', '1 Main St', 0)")
                         .status();
                   })
                    .ok());
    hours_ = std::make_unique<OfficeHoursService>(*db_, audit_, clock_, "UTC");
    service_ = std::make_unique<QueueService>(*db_, gate_, audit_, outbox_, clock_, *hours_);
    auto a = service_->CreateQueue(manager_, 1, "A", "Benefits", "");
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    auto b = service_->CreateQueue(manager_, 1, "B", "Housing", "");
    ASSERT_TRUE(b.ok());
    benefits_ = a->id;
    housing_ = b->id;
  }

  Ticket In(int64_t queue, Priority p = Priority::kNormal) {
    auto t = service_->CheckIn(desk_, queue, p, std::nullopt);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    clock_.Advance(std::chrono::seconds(1));
    return t.ok() ? *t : Ticket{};
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  std::unique_ptr<OfficeHoursService> hours_;
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  authz::AccessGate gate_;
  std::unique_ptr<QueueService> service_;
  int64_t benefits_ = 0, housing_ = 0;
  const authz::Principal manager_ = Staff(1, 1, authz::Role::kManager);
  const authz::Principal desk_ = Staff(2, 1, authz::Role::kFrontdesk);
};

TEST_P(QueueServiceTest, TicketsAreCalledByPriorityThenArrivalAndEstimatedFromHistory) {
  auto counter = service_->CreateCounter(manager_, 1, "Counter 1", {benefits_, housing_});
  ASSERT_TRUE(counter.ok()) << counter.status().ToString();
  Ticket a1 = In(benefits_);
  Ticket a2 = In(benefits_);
  Ticket urgent = In(benefits_, Priority::kUrgent);
  Ticket b1 = In(housing_, Priority::kAccessibility);
  Ticket appointment = In(housing_, Priority::kAppointment);
  EXPECT_EQ(a1.label, "A001");
  EXPECT_EQ(a2.label, "A002");
  EXPECT_EQ(b1.label, "B001");
  EXPECT_EQ(a2.position, 2);
  EXPECT_EQ(a2.estimated_minutes, 5);  // one before it, 5 minutes each without history
  EXPECT_EQ(urgent.position, 1);
  // Not signed in: no calls.
  EXPECT_EQ(service_->CallNext(desk_, counter->id).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(service_->SignIn(desk_, counter->id).ok());
  std::vector<std::string> order;
  for (int i = 0; i < 5; ++i) {
    auto next = service_->CallNext(desk_, counter->id);
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    ASSERT_TRUE(next->has_value());
    order.push_back((*next)->label);
    // A called ticket must be served or marked first.
    EXPECT_EQ(service_->CallNext(desk_, counter->id).status().code(), StatusCode::kFailedPrecondition);
    clock_.Advance(std::chrono::minutes(3));
    ASSERT_TRUE(service_->Act(desk_, (*next)->id, "finish", std::nullopt).ok());
  }
  EXPECT_THAT(order, ElementsAre(appointment.label, urgent.label, b1.label, a1.label, a2.label));
  auto none = service_->CallNext(desk_, counter->id);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  // Visits took 3 minutes: the estimate follows.
  In(benefits_);
  Ticket later = In(benefits_);
  EXPECT_EQ(later.estimated_minutes, 3);
  auto queues = service_->Queues(1);
  ASSERT_TRUE(queues.ok());
  EXPECT_EQ(queues->at(0).waiting, 2);
  EXPECT_EQ(queues->at(0).open_counters, 1);
}

TEST_P(QueueServiceTest, RecallNoShowServeAndTransferKeepThePlace) {
  auto counter = service_->CreateCounter(manager_, 1, "Counter 1", {benefits_});
  ASSERT_TRUE(counter.ok());
  ASSERT_TRUE(service_->SignIn(desk_, counter->id).ok());
  Ticket early = In(benefits_);
  Ticket housing_first = In(housing_);
  Ticket gone = In(benefits_);
  auto called = service_->CallNext(desk_, counter->id);
  ASSERT_TRUE(called.ok() && called->has_value());
  EXPECT_EQ((*called)->id, early.id);
  auto recalled = service_->Act(desk_, early.id, "recall", std::nullopt);
  ASSERT_TRUE(recalled.ok());
  EXPECT_EQ(recalled->recalls, 1);
  ASSERT_TRUE(service_->Act(desk_, early.id, "serve", std::nullopt).ok());
  EXPECT_EQ(service_->Act(desk_, early.id, "no_show", std::nullopt).status().code(), StatusCode::kFailedPrecondition);
  // One at a time: a stale page's "Call next" does not leave the visitor being served out of sight.
  auto stale = service_->CallNext(desk_, counter->id);
  ASSERT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(stale.status().message(),
              HasSubstr("is still being served at Counter 1: finish or transfer it first"));
  // Housing's matter: to the other queue, ahead of who came after.
  auto moved = service_->Act(desk_, early.id, "transfer", housing_);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(moved->state, "waiting");
  EXPECT_EQ(moved->position, 1);  // it arrived before housing_first
  // Waiting now, it may be moved again, but not to the queue it is in.
  EXPECT_EQ(service_->Act(desk_, early.id, "transfer", housing_).status().code(), StatusCode::kInvalidArgument);
  auto next = service_->CallNext(desk_, counter->id);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->id, gone.id);
  ASSERT_TRUE(service_->Act(desk_, gone.id, "no_show", std::nullopt).ok());
  EXPECT_EQ(service_->Act(desk_, gone.id, "dance", std::nullopt).status().code(), StatusCode::kInvalidArgument);
  auto events = service_->EventsSince(1, 0, 100);
  ASSERT_TRUE(events.ok());
  std::vector<std::string> actions;
  for (const auto& e : *events) {
    if (e.ticket == early.id) actions.push_back(e.action);
  }
  EXPECT_THAT(actions, ElementsAre("issued", "called", "recalled", "serving", "transferred"));
  (void)housing_first;
}

TEST_P(QueueServiceTest, OnlyTheOfficesAgencyWorksItsQueue) {
  const authz::Principal other = Staff(kStaff, 2, authz::Role::kFrontdesk);
  EXPECT_EQ(service_->CheckIn(other, benefits_, Priority::kNormal, std::nullopt).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->CreateQueue(desk_, 1, "C", "Other", "").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->CreateQueue(manager_, 1, "A", "Again", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->CreateQueue(manager_, 1, "ab", "", "").status().fields().size(), 2u);
  // A letter typed in lower case is the letter; "a" is A, which the office has already.
  auto lower = service_->CreateQueue(manager_, 1, "d", "Debt advice", "");
  ASSERT_TRUE(lower.ok()) << lower.status().ToString();
  EXPECT_EQ(lower->code, "D");
  EXPECT_EQ(service_->CreateQueue(manager_, 1, "a", "Again", "").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->KioskCheckIn(benefits_, Priority::kUrgent).status().code(), StatusCode::kInvalidArgument);
  auto kiosk = service_->KioskCheckIn(benefits_, Priority::kAccessibility);
  ASSERT_TRUE(kiosk.ok());
  EXPECT_EQ(kiosk->label, "A001");
}

// Many counters calling at once: every ticket is called exactly once and none is skipped.
TEST_P(QueueServiceTest, CountersCallingAtTheSameMomentNeverGetTheSameTicket) {
  constexpr int kCounters = 10;
  constexpr int kTickets = 200;
  std::vector<int64_t> counters;
  for (int c = 0; c < kCounters; ++c) {
    auto counter = service_->CreateCounter(manager_, 1, fmt::format("Counter {}", c + 1), {benefits_, housing_});
    ASSERT_TRUE(counter.ok());
    ASSERT_TRUE(service_->SignIn(Staff(c + 2, 1, authz::Role::kFrontdesk), counter->id).ok());
    counters.push_back(counter->id);
  }
  for (int i = 0; i < kTickets; ++i) {
    auto t = service_->KioskCheckIn(i % 2 ? benefits_ : housing_, Priority::kNormal);
    ASSERT_TRUE(t.ok());
  }
  std::mutex mu;
  std::map<int64_t, int> called;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kCounters; ++c) {
    threads.emplace_back([&, c] {
      const authz::Principal who = Staff(c + 2, 1, authz::Role::kFrontdesk);
      for (;;) {
        auto next = service_->CallNext(who, counters[static_cast<size_t>(c)]);
        if (!next.ok()) {
          if (next.status().code() == StatusCode::kAborted || next.status().code() == StatusCode::kUnavailable) continue;
          ++errors;
          return;
        }
        if (!next->has_value()) return;
        {
          std::lock_guard<std::mutex> lock(mu);
          ++called[(*next)->id];
        }
        if (!service_->Act(who, (*next)->id, "finish", std::nullopt).ok()) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(called.size(), static_cast<size_t>(kTickets));
  for (const auto& [id, times] : called) EXPECT_EQ(times, 1) << "ticket " << id;
}

TEST_P(QueueServiceTest, TheKioskGivesTicketsOnlyWhileTheOfficeIsOpenAndTicketsCountByTheOfficesDay) {
  // Thursday 1 January 2026, 00:00 UTC is 09:00 in Tokyo.
  HoursChange change;
  change.time_zone = "Asia/Tokyo";
  for (int d = 1; d <= 5; ++d) change.periods.push_back({d, 9 * 60, 17 * 60});
  ASSERT_TRUE(hours_->Set(manager_, 1, change).ok());
  clock_.Advance(-std::chrono::minutes(1));  // 08:59 there
  auto early = service_->KioskCheckIn(benefits_, Priority::kNormal);
  ASSERT_EQ(early.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(early.status().message(), "the office is closed; it opens today at 09:00");
  // Staff at the desk may still check a visitor in.
  EXPECT_TRUE(service_->CheckIn(desk_, benefits_, Priority::kNormal, std::nullopt).ok());
  clock_.Advance(std::chrono::minutes(1));
  auto open = service_->KioskCheckIn(benefits_, Priority::kNormal);
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  EXPECT_EQ(open->day, "2026-01-01");  // Tokyo's day, though it is still 31 December in UTC a minute before
  EXPECT_EQ(open->label, "A002");
  // Friday 17:00 in Tokyo: closed until Monday.
  clock_.Advance(std::chrono::hours(24 + 8));
  auto late = service_->KioskCheckIn(benefits_, Priority::kNormal);
  EXPECT_EQ(late.status().message(), "the office is closed; it opens Monday at 09:00");
  // A new day in Tokyo starts the numbers again.
  auto next_day = service_->CheckIn(desk_, benefits_, Priority::kNormal, std::nullopt);
  ASSERT_TRUE(next_day.ok());
  EXPECT_EQ(next_day->day, "2026-01-02");
  EXPECT_EQ(next_day->label, "A001");
}

INSTANTIATE_TEST_SUITE_P(Databases, QueueServiceTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace frontoffice
