#include "frontoffice/office_hours.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

core::Timestamp At(const std::string& rfc3339) {
  // "2026-03-29T01:30" in UTC.
  auto d = core::Date::Parse(rfc3339.substr(0, 10));
  EXPECT_TRUE(d.ok());
  const int h = std::stoi(rfc3339.substr(11, 2));
  const int m = std::stoi(rfc3339.substr(14, 2));
  return core::Timestamp{(d->ToDays() * 86400 + h * 3600 + m * 60) * 1'000'000};
}

core::Date Day(const std::string& text) { return *core::Date::Parse(text); }

TEST(LocalTimeTest, ClockTextsParseAndPrint) {
  EXPECT_EQ(*ParseClock("09:30"), 570);
  EXPECT_EQ(*ParseClock("9:30"), 570);
  EXPECT_EQ(*ParseClock("0930"), 570);
  EXPECT_EQ(*ParseClock("24:00"), 1440);
  EXPECT_EQ(*ParseClock("17.00"), 1020);
  for (const char* bad : {"", "9", "25:00", "24:01", "09:60", "9h30", "09:3", "-1:00", "09:30:00"}) {
    auto p = ParseClock(bad);
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ClockText(570), "09:30");
  EXPECT_EQ(ClockText(0), "00:00");
  EXPECT_EQ(Weekday(Day("2026-12-02")), 3);  // a Wednesday
  EXPECT_EQ(Weekday(Day("1969-12-29")), 1);  // a Monday before the epoch
  EXPECT_EQ(DateText(Day("2026-12-25")), "Friday 25 December 2026");
}

TEST(LocalTimeTest, LocalTimesFollowTheZoneAcrossSummerTime) {
  // Brussels: UTC+1 in winter, UTC+2 from 29 March 2026 (02:00 becomes 03:00) to 25 October
  // (03:00 becomes 02:00).
  auto winter = ToLocal(At("2026-01-15T23:30"), "Europe/Brussels");
  ASSERT_TRUE(winter.ok()) << winter.status().ToString();
  EXPECT_EQ(winter->date, Day("2026-01-16"));  // past midnight there
  EXPECT_EQ(winter->minute, 30);
  EXPECT_EQ(winter->weekday, 5);
  auto summer = ToLocal(At("2026-07-01T07:00"), "Europe/Brussels");
  ASSERT_TRUE(summer.ok());
  EXPECT_EQ(summer->minute, 9 * 60);
  EXPECT_EQ(*FromLocal(Day("2026-07-01"), 9 * 60, "Europe/Brussels"), At("2026-07-01T07:00"));
  EXPECT_EQ(*FromLocal(Day("2026-01-15"), 9 * 60, "Europe/Brussels"), At("2026-01-15T08:00"));
  // 02:30 on 29 March does not exist there: it is taken as 03:30 summer time.
  EXPECT_EQ(*FromLocal(Day("2026-03-29"), 150, "Europe/Brussels"), At("2026-03-29T01:30"));
  // 02:30 on 25 October happens twice: the first.
  EXPECT_EQ(*FromLocal(Day("2026-10-25"), 150, "Europe/Brussels"), At("2026-10-25T00:30"));
  // West of UTC, before the epoch.
  EXPECT_EQ(*FromLocal(Day("1969-07-20"), 0, "America/New_York"), At("1969-07-20T04:00"));
  auto bad = ToLocal(At("2026-01-01T00:00"), "Mars/Olympus_Mons");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("Mars/Olympus_Mons"));
  EXPECT_FALSE(CheckZone("").ok());
  EXPECT_TRUE(CheckZone("Pacific/Auckland").ok());
}

OfficeHours Weekdays(const std::string& zone) {
  OfficeHours h;
  h.name = "Centre";
  h.time_zone = zone;
  for (int d = 1; d <= 5; ++d) h.periods.push_back({d, 9 * 60, 17 * 60});
  h.periods.push_back({6, 9 * 60, 12 * 60});
  h.closures.push_back({Day("2026-12-25"), "Christmas Day"});
  return h;
}

TEST(OfficeHoursTest, OpenClosedAndNextOpeningInTheOfficesZone) {
  const OfficeHours h = Weekdays("Pacific/Auckland");  // UTC+13 in December
  // Wednesday 2 December, 08:59 and 09:00 in Auckland.
  EXPECT_FALSE(*h.OpenAt(At("2026-12-01T19:59")));
  EXPECT_TRUE(*h.OpenAt(At("2026-12-01T20:00")));
  EXPECT_EQ(**h.ClosesAfter(At("2026-12-01T20:00")), At("2026-12-02T04:00"));
  EXPECT_FALSE(*h.OpenAt(At("2026-12-02T04:00")));  // 17:00: closed
  EXPECT_EQ(**h.NextOpening(At("2026-12-02T04:00")), At("2026-12-02T20:00"));
  // Thursday 24 December after closing: Christmas Day is closed, Saturday morning opens.
  EXPECT_EQ(**h.NextOpening(At("2026-12-24T05:00")), At("2026-12-25T20:00"));
  EXPECT_FALSE(*h.OpenAt(At("2026-12-24T22:00")));  // 11:00 on Christmas Day
  EXPECT_EQ(h.When(At("2026-12-25T20:00"), At("2026-12-24T05:00")), "Saturday at 09:00");
  EXPECT_EQ(h.When(At("2026-12-02T20:00"), At("2026-12-02T04:00")), "tomorrow at 09:00");
  EXPECT_EQ(h.When(At("2026-12-01T21:00"), At("2026-12-01T20:00")), "today at 10:00");
  EXPECT_EQ(h.DateTime(At("2026-12-01T21:05")), "Wednesday 2 December 2026, 10:05");
  EXPECT_EQ(h.Clock(At("2026-12-01T21:05")), "10:05");
  // Slots: within one period of an open day.
  EXPECT_TRUE(*h.Covers(At("2026-12-01T20:00"), At("2026-12-01T20:30")));
  EXPECT_TRUE(*h.Covers(At("2026-12-02T03:30"), At("2026-12-02T04:00")));
  EXPECT_FALSE(*h.Covers(At("2026-12-02T03:45"), At("2026-12-02T04:15")));  // past closing
  EXPECT_FALSE(*h.Covers(At("2026-12-01T19:45"), At("2026-12-01T20:15")));  // before opening
  EXPECT_FALSE(*h.Covers(At("2026-12-24T21:00"), At("2026-12-24T21:30")));  // Christmas Day
  EXPECT_FALSE(*h.Covers(At("2026-12-05T21:00"), At("2026-12-05T21:30")));  // a Sunday
  EXPECT_THAT(h.Describe(), ElementsAre("Monday to Friday: 09:00 to 17:00", "Saturday: 09:00 to 12:00",
                                        "Sunday: closed"));
}

TEST(OfficeHoursTest, WithoutHoursAnOfficeIsAlwaysOpen) {
  OfficeHours h;
  h.time_zone = "UTC";
  EXPECT_TRUE(*h.OpenAt(At("2026-12-25T03:00")));
  EXPECT_TRUE(*h.Covers(At("2026-12-25T03:00"), At("2026-12-25T03:15")));
  EXPECT_FALSE(h.NextOpening(At("2026-12-25T03:00"))->has_value());
  h.periods.push_back({1, 9 * 60, 12 * 60});
  h.periods.push_back({1, 13 * 60, 17 * 60});
  h.periods.push_back({2, 9 * 60, 12 * 60});
  h.periods.push_back({2, 13 * 60, 17 * 60});
  h.periods.push_back({4, 9 * 60, 12 * 60});
  EXPECT_THAT(h.Describe(), ElementsAre("Monday and Tuesday: 09:00 to 12:00 and 13:00 to 17:00", "Wednesday: closed",
                                        "Thursday: 09:00 to 12:00", "Friday to Sunday: closed"));
}

authz::Principal Staff(int64_t agency, authz::Role role) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{1};
  p.agency = core::AgencyId{agency};
  p.name = "staff1";
  p.roles = {role};
  return p;
}

class OfficeHoursServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      db_ = testing_support::NewMigratedSqlite(dir_);
    } else {
      auto opened = storage::OpenPostgres(testing_support::PostgresEnvironment::Cluster().NewMigratedDatabaseUrl(),
                                          {.connections = 4});
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
                     return tx.Execute("INSERT INTO offices (agency_id, name, address, created_at) VALUES "
                                       "(1, 'One-stop centre', '1 Main St', 0)")
                         .status();
                   })
                    .ok());
    service_ = std::make_unique<OfficeHoursService>(*db_, audit_, clock_, "Europe/London");
  }

  int64_t AuditCount(const std::string& action) {
    int64_t n = -1;
    EXPECT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                     ASSIGN_OR_RETURN(storage::Rows r, tx.Query("SELECT COUNT(*) FROM audit_log WHERE action = ?", {action}));
                     n = r.at(0).Int(0);
                     return Status::Ok();
                   })
                    .ok());
    return n;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  audit::AuditLog audit_{clock_};
  std::unique_ptr<OfficeHoursService> service_;
};

TEST_P(OfficeHoursServiceTest, ManagersSetTheHoursEveryoneReadsThem) {
  auto fresh = service_->Get(1);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(fresh->time_zone, "Europe/London");  // the deployment's
  EXPECT_FALSE(fresh->own_zone);
  EXPECT_FALSE(fresh->HasHours());
  EXPECT_EQ(fresh->name, "One-stop centre");

  HoursChange change;
  change.time_zone = "Europe/Lisbon";
  change.periods = {{1, 540, 1020}, {2, 540, 1020}, {6, 540, 720}};
  change.closures = {{Day("2026-12-25"), "Christmas Day"}};
  // Only a manager or an administrator of the office's own agency.
  EXPECT_EQ(service_->Set(Staff(1, authz::Role::kCaseworker), 1, change).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Set(Staff(2, authz::Role::kManager), 1, change).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Set(Staff(1, authz::Role::kManager), 9, change).status().code(), StatusCode::kNotFound);
  auto set = service_->Set(Staff(1, authz::Role::kManager), 1, change);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_TRUE(set->own_zone);
  EXPECT_EQ(set->time_zone, "Europe/Lisbon");
  ASSERT_EQ(set->periods.size(), 3u);
  EXPECT_EQ(set->periods[2].weekday, 6);
  ASSERT_EQ(set->closures.size(), 1u);
  EXPECT_EQ(set->closures[0].reason, "Christmas Day");
  EXPECT_EQ(AuditCount("office.hours"), 1);

  // Replacing with no hours and no zone: always open, the deployment's zone again.
  auto cleared = service_->Set(Staff(1, authz::Role::kAdmin), 1, HoursChange{});
  ASSERT_TRUE(cleared.ok());
  EXPECT_FALSE(cleared->HasHours());
  EXPECT_TRUE(cleared->closures.empty());
  EXPECT_EQ(cleared->time_zone, "Europe/London");
}

TEST_P(OfficeHoursServiceTest, MistakesAreNamedByFieldAndNothingIsWritten) {
  HoursChange good;
  good.periods = {{1, 540, 1020}};
  ASSERT_TRUE(service_->Set(Staff(1, authz::Role::kManager), 1, good).ok());
  HoursChange bad;
  bad.time_zone = "Atlantis/Capital";
  bad.periods = {{1, 540, 1020}, {8, 540, 600}, {2, 600, 540}, {1, 960, 1080}};
  bad.closures = {{Day("2026-12-25"), "Christmas"}, {Day("2026-12-25"), "again"}};
  auto r = service_->Set(Staff(1, authz::Role::kManager), 1, bad);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : r.status().fields()) fields.push_back(f.field);
  EXPECT_THAT(fields, ElementsAre("time_zone", "hours/1/day", "hours/2/closes", "hours/3/opens", "closures/1/date"));
  auto still = service_->Get(1);
  ASSERT_TRUE(still.ok());
  ASSERT_EQ(still->periods.size(), 1u);
  EXPECT_EQ(still->time_zone, "Europe/London");
}

TEST_P(OfficeHoursServiceTest, TodayIsTheOfficesDate) {
  clock_.Set(At("2026-12-01T23:30"));
  core::Date today;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(today, service_->Today(tx, 1));
                   return Status::Ok();
                 })
                  .ok());
  EXPECT_EQ(today, Day("2026-12-01"));  // London
  HoursChange change;
  change.time_zone = "Asia/Tokyo";
  ASSERT_TRUE(service_->Set(Staff(1, authz::Role::kManager), 1, change).ok());
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(today, service_->Today(tx, 1));
                   return Status::Ok();
                 })
                  .ok());
  EXPECT_EQ(today, Day("2026-12-02"));  // already the morning in Tokyo
}

INSTANTIATE_TEST_SUITE_P(Databases, OfficeHoursServiceTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace frontoffice
