#include "eligibility/decimal.h"

#include <gtest/gtest.h>

namespace eligibility::decimal {
namespace {

TEST(Decimal, ParsesAndPrintsExactly) {
  EXPECT_EQ(Parse("12"), FromInt(12));
  EXPECT_EQ(Parse("-0.5"), -500000);
  EXPECT_EQ(Parse("1234.567891"), 1234567891);
  EXPECT_EQ(Parse("1234.5678912"), std::nullopt);
  EXPECT_EQ(Parse("abc"), std::nullopt);
  EXPECT_EQ(Parse(""), std::nullopt);
  EXPECT_EQ(Parse("."), std::nullopt);
  EXPECT_EQ(ToString(*Parse("1234.50")), "1234.5");
  EXPECT_EQ(ToString(*Parse("-0.000001")), "-0.000001");
  EXPECT_EQ(ToMoneyString(*Parse("1234567.005")), "1,234,567.01");
  EXPECT_EQ(ToMoneyString(*Parse("-2888")), "-2,888.00");
}

TEST(Decimal, CommasGroupThousandsAsWrittenOrTheNumberIsRefused) {
  EXPECT_EQ(Parse("1,200"), FromInt(1200));
  EXPECT_EQ(Parse("1,234,567.5"), Parse("1234567.5"));
  EXPECT_EQ(Parse("-12,000"), FromInt(-12000));
  EXPECT_EQ(Parse("1_000"), FromInt(1000));
  for (const char* wrong : {"12,34.5", "1,2", "1234,567", ",123", "123,", "1,,234", "1,2345"}) {
    EXPECT_EQ(Parse(wrong), std::nullopt) << wrong;
  }
}

TEST(Decimal, MoneyTimesRateIsExact) {
  // 0.1 + 0.2 is 0.3 here, unlike binary floating point.
  EXPECT_EQ(Add(*Parse("0.1"), *Parse("0.2")), Parse("0.3"));
  EXPECT_EQ(Mul(*Parse("2021.33"), *Parse("0.3")), Parse("606.399"));
  EXPECT_EQ(Div(FromInt(26650), FromInt(12)), Parse("2220.833333"));
  EXPECT_EQ(Div(FromInt(1), 0), std::nullopt);
  EXPECT_EQ(Mul(INT64_MAX, FromInt(2)), std::nullopt);
}

TEST(Decimal, RoundsToAUnitInEachDirection) {
  EXPECT_EQ(RoundTo(*Parse("606.399"), FromInt(1), Rounding::kUp), FromInt(607));
  EXPECT_EQ(RoundTo(*Parse("606.999"), FromInt(1), Rounding::kDown), FromInt(606));
  EXPECT_EQ(RoundTo(*Parse("606.5"), FromInt(1), Rounding::kNearest), FromInt(607));
  EXPECT_EQ(RoundTo(*Parse("-606.5"), FromInt(1), Rounding::kNearest), FromInt(-607));
  EXPECT_EQ(RoundTo(*Parse("-606.2"), FromInt(1), Rounding::kDown), FromInt(-607));
  EXPECT_EQ(RoundTo(*Parse("12.345"), *Parse("0.01"), Rounding::kNearest), Parse("12.35"));
  EXPECT_EQ(RoundTo(FromInt(5), 0, Rounding::kUp), std::nullopt);
}

}  // namespace
}  // namespace eligibility::decimal
