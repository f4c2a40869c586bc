#include "core/money.h"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace core {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

int64_t MinorOf(std::string_view text) {
  auto m = Money::Parse(text);
  EXPECT_TRUE(m.ok()) << text << ": " << m.status().ToString();
  return m.ok() ? m->minor() : -999999;
}

TEST(Money, ParsesWholeAndDecimalAmounts) {
  EXPECT_EQ(MinorOf("12"), 1200);
  EXPECT_EQ(MinorOf("12.3"), 1230);
  EXPECT_EQ(MinorOf("12.34"), 1234);
  EXPECT_EQ(MinorOf("12.03"), 1203);
  EXPECT_EQ(MinorOf("0"), 0);
  EXPECT_EQ(MinorOf("0.5"), 50);
  EXPECT_EQ(MinorOf("-0.05"), -5);
  EXPECT_EQ(MinorOf("-12.3"), -1230);
  EXPECT_EQ(MinorOf("1234.50"), 123450);
  EXPECT_EQ(MinorOf("007.10"), 710);
}

TEST(Money, MoreThanTwoDecimalsIsAnErrorNotARounding) {
  for (const char* text : {"1.234", "0.001", "-0.055", "1.000"}) {
    auto m = Money::Parse(text);
    ASSERT_FALSE(m.ok()) << text;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(Money, RejectsGarbage) {
  for (const char* text : {"", "-", ".", "abc", "12a", "1,50", "1.5x", "1..5", "1.", ".5", "-.5", "--1", "+1",
                           " 1", "1 ", "1e3", "0x10", "1.-5", "\xe2\x82\xac" "1"}) {
    auto m = Money::Parse(text);
    ASSERT_FALSE(m.ok()) << "'" << text << "'";
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << "'" << text << "'";
  }
}

TEST(Money, TooLargeToParseIsOutOfRange) {
  for (const char* text : {"92233720368547758.08", "-92233720368547758.09", "92233720368547759",
                           "99999999999999999999", "-99999999999999999999",
                           "100000000000000000000000.00"}) {
    auto m = Money::Parse(text);
    ASSERT_FALSE(m.ok()) << text;
    EXPECT_EQ(m.status().code(), StatusCode::kOutOfRange) << text;
  }
}

TEST(Money, ParsesLargeAmountsExactly) {
  EXPECT_EQ(MinorOf("92233720368547757.99"), 9223372036854775799);
  EXPECT_EQ(MinorOf("-92233720368547757.99"), -9223372036854775799);
  // Regression: the extremes were refused although they fit, so ToString() did not parse back.
  EXPECT_EQ(MinorOf("92233720368547758.07"), kMax);
  EXPECT_EQ(MinorOf("-92233720368547758.08"), kMin);
}

TEST(Money, ToString) {
  EXPECT_EQ(Money::FromMinor(123450).ToString(), "1234.50");
  EXPECT_EQ(Money::FromMinor(0).ToString(), "0.00");
  EXPECT_EQ(Money::FromMinor(5).ToString(), "0.05");
  EXPECT_EQ(Money::FromMinor(-5).ToString(), "-0.05");
  EXPECT_EQ(Money::FromMinor(-1230).ToString(), "-12.30");
  EXPECT_EQ(Money::FromMinor(100).ToString(), "1.00");
  EXPECT_EQ(Money::FromMinor(kMax).ToString(), "92233720368547758.07");
  EXPECT_EQ(Money::FromMinor(kMin).ToString(), "-92233720368547758.08");
}

TEST(Money, ParseToStringRoundTrip) {
  for (const char* text : {"0.00", "0.05", "-0.05", "12.30", "1234.56", "-99.99", "92233720368547758.07",
                           "-92233720368547758.08"}) {
    auto m = Money::Parse(text);
    ASSERT_TRUE(m.ok()) << text;
    EXPECT_EQ(m->ToString(), text);
  }
}

TEST(Money, Arithmetic) {
  auto sum = Money::FromMinor(1050).Add(Money::FromMinor(-75));
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->minor(), 975);
  auto diff = Money::FromMinor(100).Subtract(Money::FromMinor(250));
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->minor(), -150);
  auto product = Money::FromMinor(-333).Multiply(3);
  ASSERT_TRUE(product.ok());
  EXPECT_EQ(product->minor(), -999);
  EXPECT_EQ(Money::FromMinor(kMax).Add(Money::FromMinor(0))->minor(), kMax);
  EXPECT_EQ(Money::FromMinor(kMin + 1).Multiply(-1)->minor(), kMax);
}

TEST(Money, OverflowIsOutOfRange) {
  EXPECT_EQ(Money::FromMinor(kMax).Add(Money::FromMinor(1)).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(Money::FromMinor(kMin).Add(Money::FromMinor(-1)).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(Money::FromMinor(kMin).Subtract(Money::FromMinor(1)).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(Money::FromMinor(kMax).Subtract(Money::FromMinor(-1)).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(Money::FromMinor(kMax / 2 + 1).Multiply(2).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(Money::FromMinor(kMin).Multiply(-1).status().code(), StatusCode::kOutOfRange);
}

TEST(Money, Ordering) {
  EXPECT_LT(*Money::Parse("-0.05"), *Money::Parse("0"));
  EXPECT_LT(*Money::Parse("12.3"), *Money::Parse("12.31"));
  EXPECT_EQ(*Money::Parse("12.3"), *Money::Parse("12.30"));
}

}  // namespace
}  // namespace core
