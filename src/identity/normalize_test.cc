#include "identity/normalize.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace identity {
namespace {

// ---------------------------------------------------------------------------------------------
// Text and names

TEST(FoldText, AppliesNfkcAndFullCaseFolding) {
  EXPECT_EQ(FoldText("ＭÜLLER"), "müller");     // full-width letter, then upper case
  EXPECT_EQ(FoldText("Straße"), "strasse");     // full case folding of ß
  EXPECT_EQ(FoldText("ﬁona"), "fiona");         // NFKC expands the ligature
  EXPECT_EQ(FoldText("Ὀδυσσεύς"), "ὀδυσσεύσ");  // final sigma folds to sigma
  EXPECT_EQ(FoldText("ABC def"), "abc def");    // ASCII fast path
}

TEST(ToLatinAscii, TransliteratesEveryScriptToAscii) {
  EXPECT_EQ(ToLatinAscii("Пушкин"), "Puskin");
  EXPECT_EQ(ToLatinAscii("北京"), "bei jing");
  EXPECT_EQ(ToLatinAscii("plain"), "plain");
}

TEST(NormalizeName, TransliteratesCyrillicAndKeepsTheOriginal) {
  NameKey key = NormalizeName("Александр Пушкин");
  EXPECT_EQ(key.folded, "александр пушкин");
  EXPECT_EQ(key.latin, "aleksandr puskin");
  // The soft sign becomes a prime, which is deleted like an apostrophe.
  EXPECT_EQ(NormalizeName("Игорь Стравинский").latin, "igor stravinskij");
}

TEST(NormalizeName, TransliteratesGreekArabicAndCjk) {
  EXPECT_EQ(NormalizeName("Ἀλέξανδρος Μακεδών").latin, "alexandros makedon");
  // ICU's Arabic-Latin writes no short vowels, and the 'ayn of علي is a mark that is deleted.
  NameKey arabic = NormalizeName("محمد علي");
  EXPECT_EQ(arabic.folded, "محمد علي");
  EXPECT_EQ(arabic.latin, "mhmd ly");
  // Han-Latin gives pinyin, one syllable per character, tone marks removed by Latin-ASCII.
  NameKey chinese = NormalizeName("王小明");
  EXPECT_EQ(chinese.folded, "王小明");
  EXPECT_EQ(chinese.latin, "wang xiao ming");
  EXPECT_EQ(NormalizeName("김민준").latin, "gimminjun");
}

TEST(NormalizeName, RemovesDiacriticsOnlyInTheLatinForm) {
  NameKey key = NormalizeName("José García-Núñez");
  EXPECT_EQ(key.folded, "josé garcía núñez");
  EXPECT_EQ(key.latin, "jose garcia nunez");
  EXPECT_EQ(NormalizeName("Łukasz Żółć").latin, "lukasz zolc");
  EXPECT_EQ(NormalizeName("Søren").latin, "soren");
}

TEST(NormalizeName, DeletesApostrophesAndSplitsOnOtherPunctuation) {
  EXPECT_EQ(NormalizeName("O'Neil").latin, "oneil");
  EXPECT_EQ(NormalizeName("D’Arcy").latin, "darcy");
  EXPECT_EQ(NormalizeName("Smith-Jones").latin, "smith jones");
  EXPECT_EQ(NormalizeName("  st.  john,  ").latin, "st john");
}

TEST(NormalizeName, RemovesLeadingTitlesAndTrailingSuffixes) {
  EXPECT_EQ(NormalizeName("Mr John Smith Jr").latin, "john smith");
  EXPECT_EQ(NormalizeName("Dr. Анна-Мария  O'Neil"),
            (NameKey{.folded = "анна мария oneil", .latin = "anna maria oneil"}));
  EXPECT_EQ(NormalizeName("Prof Dr Jane Doe III").latin, "jane doe");
  // A title that is the whole name, or a title-like word at the end, stays.
  EXPECT_EQ(NormalizeName("Lord").latin, "lord");
  EXPECT_EQ(NormalizeName("Jack Lord").latin, "jack lord");
}

TEST(NormalizeName, DropsBytesThatAreNotUtf8) {
  EXPECT_EQ(NormalizeName("Jo\xFFs\xC3\xA9"), (NameKey{.folded = "josé", .latin = "jose"}));
  EXPECT_EQ(FoldText("AB\xFF"), "ab\xFF");  // ICU passes the stray byte through
}

TEST(NormalizeName, EmptyInputGivesAnEmptyKey) {
  EXPECT_TRUE(NormalizeName("").empty());
  EXPECT_TRUE(NormalizeName(" - . ").empty());
}

TEST(IsHonorific, KnowsTitlesAndSuffixes) {
  EXPECT_TRUE(IsHonorific("mrs"));
  EXPECT_TRUE(IsHonorific("jnr"));
  EXPECT_FALSE(IsHonorific("john"));
}

// ---------------------------------------------------------------------------------------------
// Nicknames

TEST(NicknameTable, BuiltinTableParsesAndKnowsCommonDiminutives) {
  const NicknameTable& t = NicknameTable::Builtin();
  EXPECT_GT(t.group_count(), 100u);
  EXPECT_TRUE(t.Equivalent("bob", "robert"));
  EXPECT_TRUE(t.Equivalent("peggy", "margaret"));
  EXPECT_TRUE(t.Equivalent("bill", "will"));       // both diminutives of william
  EXPECT_TRUE(t.Equivalent("alex", "alexandra"));  // one diminutive, several groups
  EXPECT_TRUE(t.Equivalent("alex", "alexander"));
  EXPECT_FALSE(t.Equivalent("robert", "margaret"));
  EXPECT_TRUE(t.Equivalent("zelda", "zelda"));  // unknown but equal
  EXPECT_EQ(t.Canonical("bob"), "robert");
  EXPECT_EQ(t.Canonical("robert"), "robert");
  EXPECT_EQ(t.Canonical("zelda"), "zelda");
  EXPECT_TRUE(t.Groups("zelda").empty());
}

TEST(NicknameTable, ParseRejectsMalformedLinesNamingTheLine) {
  auto missing_tab = NicknameTable::Parse("# comment\nrobert bob\n");
  ASSERT_FALSE(missing_tab.ok());
  EXPECT_EQ(missing_tab.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(missing_tab.status().message(),
            "nickname table line 2: expected 'canonical<TAB>variants'");
  auto upper = NicknameTable::Parse("robert\tBob\n");
  ASSERT_FALSE(upper.ok());
  EXPECT_EQ(upper.status().message(),
            "nickname table line 1: names must be lower-case ASCII letters");
}

TEST(NicknameTable, ParseAcceptsCommentsBlankLinesAndCrlf) {
  auto t = NicknameTable::Parse("# x\r\n\r\nrobert\tbob, rob\r\nroberta\tbobbie,rob\r\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->group_count(), 2u);
  EXPECT_EQ(t->Groups("rob").size(), 2u);
  EXPECT_TRUE(t->Equivalent("bob", "robert"));
  EXPECT_FALSE(t->Equivalent("bob", "roberta"));
  EXPECT_TRUE(t->Equivalent("rob", "roberta"));
}

// ---------------------------------------------------------------------------------------------
// Double Metaphone

TEST(DoubleMetaphone, GivesThePublishedCodes) {
  EXPECT_EQ(DoubleMetaphone("Smith"), (PhoneticCode{"SM0", "XMT"}));
  EXPECT_EQ(DoubleMetaphone("Schmidt"), (PhoneticCode{"XMT", "SMT"}));
  EXPECT_EQ(DoubleMetaphone("Jose"), (PhoneticCode{"HS", "HS"}));
  EXPECT_EQ(DoubleMetaphone("Xavier"), (PhoneticCode{"SF", "SFR"}));
  EXPECT_EQ(DoubleMetaphone("Katherine"), (PhoneticCode{"K0RN", "KTRN"}));
  EXPECT_EQ(DoubleMetaphone("Michael"), (PhoneticCode{"MKL", "MXL"}));
  EXPECT_EQ(DoubleMetaphone("Richard"), (PhoneticCode{"RXRT", "RKRT"}));
  EXPECT_EQ(DoubleMetaphone("Geoff"), (PhoneticCode{"JF", "KF"}));
  EXPECT_EQ(DoubleMetaphone("Caesar"), (PhoneticCode{"SSR", "SSR"}));
  EXPECT_EQ(DoubleMetaphone("Chianti"), (PhoneticCode{"KNT", "KNT"}));
  EXPECT_EQ(DoubleMetaphone("Cabrillo"), (PhoneticCode{"KPRL", "KPR"}));
  EXPECT_EQ(DoubleMetaphone("Zhao"), (PhoneticCode{"J", "J"}));
}

TEST(DoubleMetaphone, ThompsonKeepsItsP) {
  // "TMSN" is sometimes quoted for Thompson, but the reference rules give 'T' for "TH" before
  // "OM" and keep the P (only "PH", "PP" and "PB" are special): TMPSN, cut to four.
  EXPECT_EQ(DoubleMetaphone("Thompson"), (PhoneticCode{"TMPS", "TMPS"}));
  EXPECT_EQ(DoubleMetaphone("Thompson", 10), (PhoneticCode{"TMPSN", "TMPSN"}));
}

TEST(DoubleMetaphone, FollowsTheReferenceOnItsSpecialCases) {
  // "CIA" has the Italian alternate (the reference lists CIO, CIE and CIA).
  EXPECT_EQ(DoubleMetaphone("Alicia"), (PhoneticCode{"ALS", "ALX"}));
  // 'McClellan': the double C after "M" at the start is one K.
  EXPECT_EQ(DoubleMetaphone("McClellan", 10), (PhoneticCode{"MKLLN", "MKLLN"}));
  // "-BACHER" is Germanic.
  EXPECT_EQ(DoubleMetaphone("Steinbacher", 10), (PhoneticCode{"STNPKR", "STNPKR"}));
  // Silent initial letters, initial W, Polish -wicz, French endings.
  EXPECT_EQ(DoubleMetaphone("Knight"), (PhoneticCode{"NT", "NT"}));
  EXPECT_EQ(DoubleMetaphone("Wasserman", 10), (PhoneticCode{"ASRMN", "FSRMN"}));
  EXPECT_EQ(DoubleMetaphone("Filipowicz", 10), (PhoneticCode{"FLPTS", "FLPFX"}));
  EXPECT_EQ(DoubleMetaphone("Breaux"), (PhoneticCode{"PR", "PR"}));
  EXPECT_EQ(DoubleMetaphone("Rogier"), (PhoneticCode{"RJ", "RJR"}));
  EXPECT_EQ(DoubleMetaphone("Sugar"), (PhoneticCode{"XKR", "SKR"}));
  EXPECT_EQ(DoubleMetaphone("Schenker", 10), (PhoneticCode{"XNKR", "SKNKR"}));
  EXPECT_EQ(DoubleMetaphone("San Jacinto", 10), (PhoneticCode{"SNHSNT", "SNHSNT"}));
  EXPECT_EQ(DoubleMetaphone("Psychology"), (PhoneticCode{"SXLJ", "SKLK"}));
}

TEST(DoubleMetaphone, IgnoresCaseAndNonLetters) {
  EXPECT_EQ(DoubleMetaphone("sMiTh"), DoubleMetaphone("SMITH"));
  EXPECT_EQ(DoubleMetaphone("o'neil"), DoubleMetaphone("oneil"));
  EXPECT_EQ(DoubleMetaphone(""), (PhoneticCode{"", ""}));
  EXPECT_EQ(DoubleMetaphone("123"), (PhoneticCode{"", ""}));
}

// ---------------------------------------------------------------------------------------------
// Dates

DateKey D(int y, int m, int d) {
  return DateKey{static_cast<int16_t>(y), static_cast<int8_t>(m), static_cast<int8_t>(d)};
}

TEST(ParseDate, ReadsTheCommonFormats) {
  EXPECT_EQ(*ParseDate("19850327"), D(1985, 3, 27));
  EXPECT_EQ(*ParseDate("1985-03-27"), D(1985, 3, 27));
  EXPECT_EQ(*ParseDate("1985/03/27"), D(1985, 3, 27));
  EXPECT_EQ(*ParseDate("27/03/1985"), D(1985, 3, 27));
  EXPECT_EQ(*ParseDate("27.3.1985"), D(1985, 3, 27));
  EXPECT_EQ(*ParseDate(" 1985-03 "), D(1985, 3, 0));
  EXPECT_EQ(*ParseDate("03/1985"), D(1985, 3, 0));
  EXPECT_EQ(*ParseDate("198503"), D(1985, 3, 0));
  EXPECT_EQ(*ParseDate("1985"), D(1985, 0, 0));
}

TEST(ParseDate, ResolvesDayMonthOrder) {
  EXPECT_EQ(*ParseDate("03/04/1985"), D(1985, 4, 3));
  EXPECT_EQ(*ParseDate("03/04/1985", DayMonthOrder::kMonthFirst), D(1985, 3, 4));
  EXPECT_EQ(*ParseDate("03/27/1985"), D(1985, 3, 27));  // 27 cannot be a month
  EXPECT_EQ(*ParseDate("27/03/1985", DayMonthOrder::kMonthFirst), D(1985, 3, 27));
}

TEST(ParseDate, KeepsImpossiblePartsAsUnknown) {
  EXPECT_EQ(*ParseDate("19160017"), D(1916, 0, 17));
  EXPECT_EQ(*ParseDate("19851345"), D(1985, 0, 0));
}

TEST(ParseDate, RejectsOtherText) {
  for (const char* bad : {"", "  ", "85", "27 March 1985", "1985-3-27-1", "12345", "1985/123"}) {
    auto parsed = ParseDate(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), core::StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message(),
              "date must be YYYYMMDD, YYYY-MM-DD, DD/MM/YYYY, YYYY-MM, MM/YYYY or YYYY");
  }
}

TEST(DateKey, WritesDigitsWithZerosForUnknownParts) {
  EXPECT_EQ(D(1985, 3, 0).ToDigits(), "19850300");
  EXPECT_EQ(D(1916, 10, 17).ToDigits(), "19161017");
}

TEST(CompareDates, GradesAgreement) {
  EXPECT_EQ(CompareDates(D(1985, 3, 27), D(1985, 3, 27)), DateAgreement::kExact);
  EXPECT_EQ(CompareDates(D(1985, 3, 4), D(1985, 4, 3)), DateAgreement::kDayMonthSwapped);
  EXPECT_EQ(CompareDates(D(1985, 3, 27), D(1958, 3, 27)), DateAgreement::kOneDigitOff);
  EXPECT_EQ(CompareDates(D(1985, 3, 27), D(1985, 3, 28)), DateAgreement::kOneDigitOff);
  EXPECT_EQ(CompareDates(D(1916, 0, 17), D(1916, 10, 17)), DateAgreement::kOneDigitOff);
  EXPECT_EQ(CompareDates(D(1985, 0, 0), D(1985, 3, 27)), DateAgreement::kPartial);
  EXPECT_EQ(CompareDates(D(1985, 3, 0), D(1985, 3, 27)), DateAgreement::kPartial);
  EXPECT_EQ(CompareDates(D(1985, 3, 11), D(1985, 3, 27)), DateAgreement::kYearMonth);
  EXPECT_EQ(CompareDates(D(1985, 5, 11), D(1985, 3, 27)), DateAgreement::kYear);
  EXPECT_EQ(CompareDates(D(1985, 0, 0), D(1984, 3, 27)), DateAgreement::kDisagree);
  EXPECT_EQ(CompareDates(D(1972, 5, 11), D(1985, 3, 27)), DateAgreement::kDisagree);
  EXPECT_EQ(CompareDates(DateKey{}, D(1985, 3, 27)), DateAgreement::kMissing);
}

// ---------------------------------------------------------------------------------------------
// Addresses

TEST(NormalizeAddress, ExpandsAbbreviationsAndSplitsNumbers) {
  AddressKey a = NormalizeAddress("Unit 3/14 Main Rd Nth");
  EXPECT_EQ(a.words, (std::vector<std::string>{"unit", "main", "road", "north"}));
  EXPECT_EQ(a.numbers, (std::vector<std::string>{"3", "14"}));
  EXPECT_EQ(NormalizeAddress("42B Baker St.").Words(), "baker street");
  EXPECT_EQ(NormalizeAddress("42B Baker St.").numbers, (std::vector<std::string>{"42b"}));
  EXPECT_EQ(NormalizeAddress("12 Smith Street"), NormalizeAddress("12 smith st"));
}

TEST(NormalizeAddress, ReadsLeadingStAsSaint) {
  EXPECT_EQ(NormalizeAddress("St Kilda Rd").Words(), "saint kilda road");
  EXPECT_EQ(NormalizeAddress("Main St").Words(), "main street");
}

TEST(NormalizeAddress, TransliteratesOtherScripts) {
  AddressKey a = NormalizeAddress("Улица Ленина 5");
  EXPECT_EQ(a.Words(), "ulica lenina");
  EXPECT_EQ(a.numbers, (std::vector<std::string>{"5"}));
}

// ---------------------------------------------------------------------------------------------
// Phones

TEST(NormalizePhone, WritesNumbersInInternationalForm) {
  EXPECT_EQ(*NormalizePhone("(02) 9876 5432"), "61298765432");
  EXPECT_EQ(*NormalizePhone("+61 2 9876 5432"), "61298765432");
  EXPECT_EQ(*NormalizePhone("0011 61 2 9876 5432"), "61298765432");
  EXPECT_EQ(*NormalizePhone("+44 (0)20 7946 0018"), "442079460018");
  EXPECT_EQ(*NormalizePhone("0044 20 7946 0018"), "442079460018");
  EXPECT_EQ(*NormalizePhone("9876 5432"), "6198765432");  // no trunk prefix: national
  EXPECT_EQ(*NormalizePhone("02 9876 5432 ext. 12"), "61298765432");
  EXPECT_EQ(*NormalizePhone("02 9876 5432 x12"), "61298765432");
}

TEST(NormalizePhone, UsesTheRegionsPrefixes) {
  PhoneRegion uk{.country_code = "44", .trunk_prefix = "0", .international_prefix = "00"};
  EXPECT_EQ(*NormalizePhone("020 7946 0018", uk), "442079460018");
  EXPECT_EQ(*NormalizePhone("00 61 2 9876 5432", uk), "61298765432");
}

TEST(NormalizePhone, RejectsTooFewDigits) {
  auto p = NormalizePhone("12-34");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.status().message(), "phone number must have at least 6 digits");
}

// ---------------------------------------------------------------------------------------------
// Identifiers

TEST(NormalizeIdentifier, KeepsUpperCaseLettersAndDigits) {
  EXPECT_EQ(NormalizeIdentifier(" ab-12 345/6 "), "AB123456");
  EXPECT_EQ(NormalizeIdentifier("GB82 WEST 1234 5698 7654 32"), "GB82WEST12345698765432");
}

TEST(CheckIdentifier, ValidatesLuhnKinds) {
  EXPECT_EQ(CheckIdentifier("payment_card", "4111111111111111"), CheckDigit::kValid);
  EXPECT_EQ(CheckIdentifier("payment_card", "4111111111111112"), CheckDigit::kInvalid);
  EXPECT_EQ(CheckIdentifier("ca_sin", "046454286"), CheckDigit::kValid);
  EXPECT_EQ(CheckIdentifier("ca_sin", "046454287"), CheckDigit::kInvalid);
  EXPECT_EQ(CheckIdentifier("imei", "490154203237518"), CheckDigit::kValid);
  EXPECT_EQ(CheckIdentifier("luhn", "79927398713"), CheckDigit::kValid);
  EXPECT_EQ(CheckIdentifier("luhn", "7992739871X"), CheckDigit::kInvalid);
}

TEST(CheckIdentifier, ValidatesMod97Kinds) {
  EXPECT_EQ(CheckIdentifier("iban", "GB82WEST12345698765432"), CheckDigit::kValid);
  EXPECT_EQ(CheckIdentifier("iban", "GB82WEST12345698765433"), CheckDigit::kInvalid);
  EXPECT_EQ(CheckIdentifier("iban", "DE89370400440532013000"), CheckDigit::kValid);
  EXPECT_EQ(CheckIdentifier("iso7064_mod97_10", "777"), CheckDigit::kValid);  // 7, check 77
  EXPECT_EQ(CheckIdentifier("lei", "5493001KJTIIGC8Y1R12"), CheckDigit::kValid);
  EXPECT_EQ(CheckIdentifier("lei", "5493001KJTIIGC8Y1R13"), CheckDigit::kInvalid);
}

TEST(CheckIdentifier, KindsWithoutCheckDigitAreNotApplicable) {
  EXPECT_EQ(CheckIdentifier("soc_sec_id", "1234567"), CheckDigit::kNotApplicable);
  EXPECT_EQ(CheckIdentifier("", "1234567"), CheckDigit::kNotApplicable);
}

}  // namespace
}  // namespace identity
