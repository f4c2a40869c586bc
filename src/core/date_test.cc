#include "core/date.h"

#include <string>

#include <gtest/gtest.h>

namespace core {
namespace {

TEST(Date, ParsesValidDates) {
  auto d = Date::Parse("2024-02-29");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, (Date{2024, 2, 29}));
  EXPECT_EQ(d->ToString(), "2024-02-29");
  EXPECT_EQ(*Date::Parse("2000-02-29"), (Date{2000, 2, 29}));
  EXPECT_EQ(*Date::Parse("0001-01-01"), (Date{1, 1, 1}));
  EXPECT_EQ(*Date::Parse("9999-12-31"), (Date{9999, 12, 31}));
  EXPECT_EQ(*Date::Parse("1985-03-27"), (Date{1985, 3, 27}));
}

TEST(Date, RejectsDaysThatDoNotExist) {
  for (const char* text : {"2023-02-29", "1900-02-29", "2100-02-29", "2024-04-31", "2024-13-01",
                           "2024-00-10", "2024-01-00", "2024-01-32", "0000-01-01"}) {
    auto d = Date::Parse(text);
    EXPECT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(Date, RejectsBadFormats) {
  for (const char* text : {"", "2024", "2024-1-01", "2024-01-1", "24-01-01", "2024/01/01", "2024-01-01 ",
                           " 2024-01-01", "2024-01-01T00", "abcd-ef-gh", "2024-0a-01", "2024-01-0x",
                           "+024-01-01", "-001-01-01", "2024--1-01", "20240101"}) {
    auto d = Date::Parse(text);
    EXPECT_FALSE(d.ok()) << "'" << text << "'";
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << "'" << text << "'";
  }
}

TEST(Date, IsValid) {
  EXPECT_TRUE(Date::IsValid(2024, 2, 29));
  EXPECT_FALSE(Date::IsValid(2023, 2, 29));
  EXPECT_TRUE(Date::IsValid(2000, 2, 29));
  EXPECT_FALSE(Date::IsValid(1900, 2, 29));
  EXPECT_FALSE(Date::IsValid(2024, 6, 31));
  EXPECT_TRUE(Date::IsValid(2024, 12, 31));
  EXPECT_FALSE(Date::IsValid(0, 1, 1));
  EXPECT_FALSE(Date::IsValid(10000, 1, 1));
}

TEST(Date, ToDaysKnownValues) {
  EXPECT_EQ((Date{1970, 1, 1}).ToDays(), 0);
  EXPECT_EQ((Date{1970, 1, 2}).ToDays(), 1);
  EXPECT_EQ((Date{1969, 12, 31}).ToDays(), -1);
  EXPECT_EQ((Date{2000, 3, 1}).ToDays(), 11017);
  EXPECT_EQ((Date{1900, 1, 1}).ToDays(), -25567);
  EXPECT_EQ((Date{2100, 3, 1}).ToDays(), 47541);
  EXPECT_EQ((Date{2024, 2, 29}).ToDays() + 1, (Date{2024, 3, 1}).ToDays());
  EXPECT_EQ((Date{1900, 2, 28}).ToDays() + 1, (Date{1900, 3, 1}).ToDays());
}

// Walks every day from 1899-01-01 to 2101-12-31 and checks that consecutive day numbers are
// consecutive calendar days and that FromDays inverts ToDays; covers 1900 and 2100 (not leap)
// and 2000 (leap).
TEST(Date, ToDaysFromDaysRoundTripOverThreeCenturies) {
  Date d{1899, 1, 1};
  const int64_t start = d.ToDays();
  const int64_t end = (Date{2101, 12, 31}).ToDays();
  int leap_days = 0;
  for (int64_t n = start; n <= end; ++n) {
    ASSERT_TRUE(Date::IsValid(d.year, d.month, d.day)) << d.ToString();
    ASSERT_EQ(d.ToDays(), n) << d.ToString();
    ASSERT_EQ(Date::FromDays(n), d) << n;
    auto parsed = Date::Parse(d.ToString());
    ASSERT_TRUE(parsed.ok()) << d.ToString();
    ASSERT_EQ(*parsed, d);
    if (d.month == 2 && d.day == 29) ++leap_days;
    // Advance to the next calendar day.
    if (Date::IsValid(d.year, d.month, d.day + 1)) {
      ++d.day;
    } else if (d.month < 12) {
      ++d.month;
      d.day = 1;
    } else {
      ++d.year;
      d.month = 1;
      d.day = 1;
    }
  }
  EXPECT_EQ(d, (Date{2102, 1, 1}));
  // 1899..2101: leap years are every 4th from 1904 to 2096 (49), none in 1900 or 2100.
  EXPECT_EQ(leap_days, 49);
}

TEST(Date, Ordering) {
  EXPECT_LT((Date{2023, 12, 31}), (Date{2024, 1, 1}));
  EXPECT_LT((Date{2024, 1, 31}), (Date{2024, 2, 1}));
}

TEST(PartialDate, ParsesEachPrecision) {
  auto y = PartialDate::Parse("1985");
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(*y, (PartialDate{1985, 0, 0}));
  EXPECT_FALSE(y->complete());
  auto ym = PartialDate::Parse("1985-03");
  ASSERT_TRUE(ym.ok());
  EXPECT_EQ(*ym, (PartialDate{1985, 3, 0}));
  EXPECT_FALSE(ym->complete());
  auto ymd = PartialDate::Parse("1985-03-27");
  ASSERT_TRUE(ymd.ok());
  EXPECT_EQ(*ymd, (PartialDate{1985, 3, 27}));
  EXPECT_TRUE(ymd->complete());
}

TEST(PartialDate, RejectsBadText) {
  for (const char* text : {"", "85", "19850", "1985-3", "1985-13", "1985-00", "0000", "1985-02-30",
                           "198a", "1985/03", "1985-03-", "abcd-ef", "1985--1"}) {
    auto d = PartialDate::Parse(text);
    EXPECT_FALSE(d.ok()) << "'" << text << "'";
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << "'" << text << "'";
  }
}

TEST(PartialDate, ToStringRoundTrips) {
  for (const char* text : {"1985", "1985-03", "1985-03-27", "0042-11"}) {
    auto d = PartialDate::Parse(text);
    ASSERT_TRUE(d.ok()) << text;
    EXPECT_EQ(d->ToString(), text);
  }
}

TEST(PartialDate, FromPartsYearOnly) {
  auto d = PartialDate::FromParts("", "", "1985");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, (PartialDate{1985, 0, 0}));
  EXPECT_EQ(d->ToDisplay(), "1985");
}

TEST(PartialDate, FromPartsYearAndMonth) {
  auto d = PartialDate::FromParts("", "3", "1985");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, (PartialDate{1985, 3, 0}));
  EXPECT_EQ(d->ToDisplay(), "March 1985");
  EXPECT_EQ(*PartialDate::FromParts("", "03", "1985"), (PartialDate{1985, 3, 0}));
}

TEST(PartialDate, FromPartsFullDate) {
  auto d = PartialDate::FromParts("27", "3", "1985");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, (PartialDate{1985, 3, 27}));
  EXPECT_EQ(d->ToDisplay(), "27 March 1985");
  EXPECT_EQ(*PartialDate::FromParts("9", "12", "2001"), (PartialDate{2001, 12, 9}));
  EXPECT_EQ(PartialDate::FromParts("9", "12", "2001")->ToDisplay(), "9 December 2001");
  EXPECT_EQ(PartialDate::FromParts("", "1", "2001")->ToDisplay(), "January 2001");
}

TEST(PartialDate, FromPartsDayWithoutMonthIsAnError) {
  auto d = PartialDate::FromParts("27", "", "1985");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("month"), std::string::npos) << d.status().message();
}

TEST(PartialDate, FromPartsRejectsBadParts) {
  struct Case {
    const char* day;
    const char* month;
    const char* year;
  };
  for (const Case& c : {Case{"", "", ""}, Case{"1", "1", ""}, Case{"", "", "85"}, Case{"", "", "19x5"},
                        Case{"", "13", "1985"}, Case{"", "0", "1985"}, Case{"", "x", "1985"},
                        Case{"30", "2", "1985"}, Case{"29", "2", "2023"}, Case{"0", "1", "1985"},
                        Case{"123", "1", "1985"}, Case{"", "", "0000"}}) {
    auto d = PartialDate::FromParts(c.day, c.month, c.year);
    EXPECT_FALSE(d.ok()) << c.day << "/" << c.month << "/" << c.year;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << c.day << "/" << c.month << "/" << c.year;
  }
  EXPECT_TRUE(PartialDate::FromParts("29", "2", "2024").ok());
}

}  // namespace
}  // namespace core
