#include "frontoffice/appointment_service.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
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
using ::testing::HasSubstr;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

constexpr int64_t kHour = 3'600'000'000;

authz::Principal Staff(int64_t user, authz::Role role) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{user};
  p.agency = core::AgencyId{1};
  p.name = fmt::format("staff{}", user);
  p.roles = {role};
  p.purpose = authz::Purpose::kFrontDesk;
  return p;
}

class AppointmentServiceTest : public ::testing::TestWithParam<std::string> {
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
                     RETURN_IF_ERROR(tx.Execute("INSERT INTO agencies (code, name, kind, created_at) VALUES ('city', "
                                                "'City', 'government', 0)")
                                         .status());
                     for (int u = 1; u <= 2; ++u) {
                       RETURN_IF_ERROR(tx.Execute("INSERT INTO users (kind, username, display_name, password_hash, "
                                                  "agency_id, created_at, updated_at) VALUES ('staff', ?, ?, 'x', 1, 0, 0)",
                                                  {fmt::format("staff{}", u), fmt::format("Staff {}", u)})
                                           .status());
                     }
                     return tx.Execute("INSERT INTO offices (agency_id, name, address, created_at) VALUES "
                                       "(1, 'Centre', '', 0)")
                         .status();
                   })
                    .ok());
    hours_ = std::make_unique<OfficeHoursService>(*db_, audit_, clock_, "UTC");
    queues_ = std::make_unique<QueueService>(*db_, gate_, audit_, outbox_, clock_, *hours_);
    appointments_ = std::make_unique<AppointmentService>(*db_, gate_, audit_, outbox_, clock_, *queues_);
    auto q = queues_->CreateQueue(manager_, 1, "A", "Benefits", "");
    ASSERT_TRUE(q.ok());
    queue_ = q->id;
  }

  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    EXPECT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                     ASSIGN_OR_RETURN(storage::Rows rows, tx.Query(sql));
                     n = rows.at(0).Int(0);
                     return Status::Ok();
                   })
                    .ok());
    return n;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  std::unique_ptr<OfficeHoursService> hours_;
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  authz::AccessGate gate_;
  std::unique_ptr<QueueService> queues_;
  std::unique_ptr<AppointmentService> appointments_;
  int64_t queue_ = 0;
  const authz::Principal manager_ = Staff(1, authz::Role::kManager);
  const authz::Principal desk_ = Staff(2, authz::Role::kFrontdesk);
};

TEST_P(AppointmentServiceTest, ABookedSlotIsRemindedCheckedInAndCalledBeforeWalkIns) {
  const core::Timestamp tomorrow{clock_.Now().micros + 26 * kHour};
  auto slots = appointments_->CreateSlots(manager_, queue_, {tomorrow, 4, 15, 1});
  ASSERT_TRUE(slots.ok()) << slots.status().ToString();
  ASSERT_EQ(slots->size(), 4u);
  EXPECT_EQ(slots->at(1).starts_at.micros - slots->at(0).starts_at.micros, kHour / 4);
  EXPECT_EQ(appointments_->CreateSlots(desk_, queue_, {tomorrow, 1, 15, 1}).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(appointments_->CreateSlots(manager_, queue_, {tomorrow, 1, 15, 1}).status().code(),
            StatusCode::kInvalidArgument);  // a slot starts then already

  EXPECT_EQ(appointments_->Book(desk_, slots->at(0).id, std::nullopt, "call me").status().code(),
            StatusCode::kInvalidArgument);
  // Another agency's staff or systems do not book this office's slots.
  authz::Principal other = desk_;
  other.agency = core::AgencyId{2};
  EXPECT_EQ(appointments_->Book(other, slots->at(0).id, std::nullopt, "+1 555 0101").status().code(),
            StatusCode::kPermissionDenied);
  other.kind = authz::PrincipalKind::kSystem;
  other.user = core::UserId{};
  EXPECT_EQ(appointments_->Book(other, slots->at(0).id, std::nullopt, "+1 555 0101").status().code(),
            StatusCode::kPermissionDenied);
  auto booked = appointments_->Book(desk_, slots->at(0).id, std::nullopt, "+1 555 0101");
  ASSERT_TRUE(booked.ok()) << booked.status().ToString();
  EXPECT_EQ(booked->state, "booked");
  EXPECT_EQ(booked->reference.size(), 9u);
  EXPECT_EQ(appointments_->Book(desk_, slots->at(0).id, std::nullopt, "a@example.org").status().code(),
            StatusCode::kFailedPrecondition);  // full
  auto free = appointments_->FreeSlots(queue_, clock_.Now(), core::Timestamp{tomorrow.micros + 2 * kHour});
  ASSERT_TRUE(free.ok());
  EXPECT_EQ(free->size(), 3u);
  // The reminder waits in the message queue for a day before.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outgoing_messages WHERE state = 'queued' AND channel = 'sms'"), 1);
  EXPECT_EQ(Count("SELECT send_after FROM outgoing_messages"), tomorrow.micros - 24 * kHour);

  // Too early to check in; on the day, a ticket ahead of walk-ins.
  EXPECT_EQ(appointments_->CheckIn(booked->reference).status().code(), StatusCode::kFailedPrecondition);
  clock_.Advance(std::chrono::hours(26) - std::chrono::minutes(30));
  auto walk_in = queues_->KioskCheckIn(queue_, Priority::kNormal);
  ASSERT_TRUE(walk_in.ok());
  std::string typed = booked->reference;
  typed.erase(typed.find('-'), 1);
  for (char& c : typed) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(appointments_->CheckIn(typed, nullptr, 99).status().code(), StatusCode::kNotFound);  // another office's kiosk
  auto in = appointments_->CheckIn(typed, nullptr, 1);  // as typed at the office's kiosk
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->state, "checked_in");
  ASSERT_TRUE(in->ticket.has_value());
  auto counter = queues_->CreateCounter(manager_, 1, "Counter 1", {queue_});
  ASSERT_TRUE(counter.ok());
  ASSERT_TRUE(queues_->SignIn(desk_, counter->id).ok());
  auto next = queues_->CallNext(desk_, counter->id);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->id, *in->ticket);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outgoing_messages WHERE state = 'queued'"), 0);
  EXPECT_EQ(appointments_->CheckIn(booked->reference).status().code(), StatusCode::kFailedPrecondition);
}

TEST_P(AppointmentServiceTest, SlotsLieWithinOpeningHoursAndSayTheirTimeInTheOfficesZone) {
  // Friday 2 January 2026 in New York (UTC-5): open 09:00 to 12:00.
  HoursChange change;
  change.time_zone = "America/New_York";
  change.periods = {{5, 9 * 60, 12 * 60}};
  ASSERT_TRUE(hours_->Set(manager_, 1, change).ok());
  const core::Timestamp nine{clock_.Now().micros + (24 + 14) * kHour};  // 14:00 UTC on 2 January
  auto late = appointments_->CreateSlots(manager_, queue_, {nine, 13, 15, 1});  // the 13th ends at 12:15
  ASSERT_EQ(late.status().code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(late.status().fields().size(), 1u);
  EXPECT_EQ(late.status().fields()[0].field, "count");
  EXPECT_EQ(late.status().fields()[0].message,
            "the office is not open for the whole of the slot at Friday 2 January 2026, 12:00");
  auto early = appointments_->CreateSlots(manager_, queue_, {core::Timestamp{nine.micros - kHour}, 1, 15, 1});
  ASSERT_EQ(early.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(early.status().fields()[0].field, "first");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM appointment_slots"), 0);  // nothing of the refused runs
  auto slots = appointments_->CreateSlots(manager_, queue_, {nine, 12, 15, 1});
  ASSERT_TRUE(slots.ok()) << slots.status().ToString();
  auto booked = appointments_->Book(desk_, slots->at(0).id, std::nullopt, "a@example.org");
  ASSERT_TRUE(booked.ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outgoing_messages WHERE body LIKE '%is on Friday 2 January 2026, 09:00.%'"), 1);
  auto too_soon = appointments_->CheckIn(booked->reference);
  EXPECT_EQ(too_soon.status().message(),
            "the appointment is on Friday 2 January 2026, 09:00: check in from an hour before");
}

TEST_P(AppointmentServiceTest, CancellingFreesThePlaceAndTheReminder) {
  auto slots = appointments_->CreateSlots(manager_, queue_, {core::Timestamp{clock_.Now().micros + 3 * kHour}, 1, 30, 1});
  ASSERT_TRUE(slots.ok());
  auto booked = appointments_->Book(desk_, slots->at(0).id, std::nullopt, "someone@example.org");
  ASSERT_TRUE(booked.ok());
  auto cancelled = appointments_->Cancel(booked->reference);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  EXPECT_EQ(cancelled->state, "cancelled");
  EXPECT_EQ(appointments_->Cancel(booked->reference).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(appointments_->Cancel("NOPE-NOPE").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outgoing_messages WHERE state = 'cancelled'"), 1);
  EXPECT_TRUE(appointments_->Book(desk_, slots->at(0).id, std::nullopt, "other@example.org").ok());
}

// A caller who may not book is refused before the request is judged: a bad contact does not
// tell them anything first.
TEST_P(AppointmentServiceTest, ACallerWhoMayNotBookIsRefusedBeforeTheContactIsChecked) {
  auto slots = appointments_->CreateSlots(manager_, queue_, {core::Timestamp{clock_.Now().micros + 3 * kHour}, 1, 30, 1});
  ASSERT_TRUE(slots.ok());
  authz::Principal elsewhere = Staff(3, authz::Role::kFrontdesk);
  elsewhere.agency = core::AgencyId{2};
  EXPECT_EQ(appointments_->Book(elsewhere, slots->at(0).id, std::nullopt, "not a contact").status().code(),
            StatusCode::kPermissionDenied);
  authz::Principal citizen;
  citizen.kind = authz::PrincipalKind::kCitizen;
  citizen.user = core::UserId{9};
  citizen.person = core::PersonId{1};
  EXPECT_EQ(appointments_->Book(citizen, slots->at(0).id, core::PersonId{2}, "not a contact").status().code(),
            StatusCode::kPermissionDenied);
  // Someone who may book hears what is wrong with the contact.
  EXPECT_EQ(appointments_->Book(desk_, slots->at(0).id, std::nullopt, "not a contact").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM appointments"), 0);
}

// Many people booking the last places at once: exactly as many as there are places succeed.
TEST_P(AppointmentServiceTest, TheLastPlacesAreNeverBookedTwice) {
  auto slots = appointments_->CreateSlots(manager_, queue_, {core::Timestamp{clock_.Now().micros + 3 * kHour}, 1, 30, 3});
  ASSERT_TRUE(slots.ok());
  std::atomic<int> booked{0}, full{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      authz::Principal online;
      online.kind = authz::PrincipalKind::kCitizen;
      online.name = "online";
      for (;;) {
        auto r = appointments_->Book(online, slots->at(0).id, std::nullopt, fmt::format("person{}@example.org", i));
        if (r.ok()) ++booked;
        else if (r.status().code() == StatusCode::kFailedPrecondition) ++full;
        else if (r.status().code() == StatusCode::kUnavailable || r.status().code() == StatusCode::kAborted) continue;
        else ++other;
        return;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(booked.load(), 3);
  EXPECT_EQ(full.load(), 7);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(Count("SELECT booked FROM appointment_slots"), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM appointments WHERE state = 'booked'"), 3);
}

INSTANTIATE_TEST_SUITE_P(Databases, AppointmentServiceTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace frontoffice
