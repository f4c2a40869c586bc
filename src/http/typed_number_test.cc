#include "http/typed_number.h"

#include <gtest/gtest.h>

namespace http {
namespace {

std::string Amount(std::string_view text, char mark = '.') {
  auto v = NumberFromTyped(text, /*money=*/true, mark);
  return v ? *v : "unclear";
}

std::string Number(std::string_view text, char mark) {
  auto v = NumberFromTyped(text, /*money=*/false, mark);
  return v ? *v : "unclear";
}

TEST(NumberFromTyped, ReadsAmountsTheWayEitherConventionWritesThem) {
  for (char mark : {'.', ','}) {
    EXPECT_EQ(Amount("3500", mark), "3500");
    EXPECT_EQ(Amount("3,500", mark), "3500");
    EXPECT_EQ(Amount("3.500", mark), "3500");  // an amount has no third decimal
    EXPECT_EQ(Amount("1,200.50", mark), "1200.50");
    EXPECT_EQ(Amount("1.200,50", mark), "1200.50");
    EXPECT_EQ(Amount("3,50", mark), "3.50");
    EXPECT_EQ(Amount("3.5", mark), "3.5");
    EXPECT_EQ(Amount("1,234,567.89", mark), "1234567.89");
    EXPECT_EQ(Amount("1.234.567", mark), "1234567");
  }
}

TEST(NumberFromTyped, DropsCurrencySignsSpacesAndReadsArabicDigits) {
  EXPECT_EQ(Amount("$1,200"), "1200");
  EXPECT_EQ(Amount("1 200,50 €"), "1200.50");
  EXPECT_EQ(Amount("£\u00a01\u00a0200"), "1200");
  EXPECT_EQ(Amount("1\u202f200"), "1200");
  EXPECT_EQ(Amount("US$ 75"), "75");
  EXPECT_EQ(Amount("-$20"), "-20");
  EXPECT_EQ(Amount("\u0661\u0662\u0660\u0660\u066b\u0665\u0660"), "1200.50");  // ١٢٠٠٫٥٠
  EXPECT_EQ(Amount("\u06f3\u06f5\u06f0\u06f0"), "3500");                       // ۳۵۰۰
  EXPECT_EQ(Amount(".5"), "0.5");
}

TEST(AsciiDigits, WritesArabicIndicDigitsAsAsciiAndLeavesTheRest) {
  EXPECT_EQ(AsciiDigits("٣٠"), "30");            // ٣٠
  EXPECT_EQ(AsciiDigits("٠٥٠ ١٢٣"), "050 123");  // ٠٥٠ ١٢٣
  EXPECT_EQ(AsciiDigits("۲۰۲۷"), "2027");        // ۲۰۲۷ (Persian)
  EXPECT_EQ(AsciiDigits("+44 (0) 20-7946"), "+44 (0) 20-7946");
  EXPECT_EQ(AsciiDigits("شارع 9"), "شارع 9");  // letters kept
}

TEST(NumberFromTyped, RefusesWhatIsNotClearlyOneAmount) {
  for (const char* text : {"abc", "12a", "1.200.50", "1,2,3", "1.20,500", "12,3456", "1.2005",
                           "1,00,000", "$", "3..5", "1,200,50.5", "1.200,505"}) {
    EXPECT_EQ(Amount(text), "unclear") << text;
  }
}

TEST(NumberFromTyped, ALoneMarkBeforeThreeDigitsOfANumberIsReadInThePageLanguage) {
  EXPECT_EQ(Number("1.500", '.'), "1.500");
  EXPECT_EQ(Number("1.500", ','), "1500");
  EXPECT_EQ(Number("1,500", ','), "1.500");
  EXPECT_EQ(Number("1,500", '.'), "1500");
  EXPECT_EQ(Number("12,5", '.'), "12.5");
  EXPECT_EQ(Number("0.1234", '.'), "0.1234");  // a number may have more decimals
  EXPECT_EQ(Number("1,234.5", ','), "1234.5");
}

TEST(DecimalMarkOf, CommaForLanguagesThatWriteOne) {
  EXPECT_EQ(DecimalMarkOf("es"), ',');
  EXPECT_EQ(DecimalMarkOf("es-MX"), ',');
  EXPECT_EQ(DecimalMarkOf("en"), '.');
  EXPECT_EQ(DecimalMarkOf("ar"), '.');
  EXPECT_EQ(DecimalMarkOf(""), '.');
}

}  // namespace
}  // namespace http
