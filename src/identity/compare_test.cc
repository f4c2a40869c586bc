#include "identity/compare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace identity {
namespace {

double Round3(double v) { return std::round(v * 1000.0) / 1000.0; }

TEST(JaroWinkler, MatchesWinklersPublishedValues) {
  EXPECT_EQ(Round3(JaroWinkler("MARTHA", "MARHTA")), 0.961);
  EXPECT_EQ(Round3(JaroWinkler("DWAYNE", "DUANE")), 0.840);
  EXPECT_EQ(Round3(JaroWinkler("DIXON", "DICKSONX")), 0.813);
}

TEST(Jaro, MatchesPublishedValuesWithoutPrefixBonus) {
  EXPECT_EQ(Round3(Jaro("MARTHA", "MARHTA")), 0.944);
  EXPECT_EQ(Round3(Jaro("DWAYNE", "DUANE")), 0.822);
  EXPECT_EQ(Round3(Jaro("DIXON", "DICKSONX")), 0.767);
}

TEST(JaroWinkler, IsSymmetric) {
  EXPECT_EQ(JaroWinkler("DICKSONX", "DIXON"), JaroWinkler("DIXON", "DICKSONX"));
  EXPECT_EQ(JaroWinkler("lachlnn", "lachlan"), JaroWinkler("lachlan", "lachlnn"));
}

TEST(JaroWinkler, EmptyAndIdenticalStringsGiveTheBounds) {
  EXPECT_EQ(JaroWinkler("", ""), 1.0);
  EXPECT_EQ(JaroWinkler("abc", ""), 0.0);
  EXPECT_EQ(JaroWinkler("", "abc"), 0.0);
  EXPECT_EQ(JaroWinkler("smith", "smith"), 1.0);
  EXPECT_EQ(JaroWinkler("abc", "xyz"), 0.0);
}

TEST(JaroWinkler, CodePointsTreatEachLetterAsOne) {
  // In bytes, each Cyrillic letter is two units; as code points the measure is the same as
  // for the Latin spelling with the same pattern of differences.
  EXPECT_EQ(JaroWinkler(ToCodePoints("МАРТА"), ToCodePoints("МАРАТ")),
            JaroWinkler("MARTA", "MARAT"));
  EXPECT_EQ(Round3(JaroWinkler(std::u32string(U"МАРФА"), std::u32string(U"МАРХФА"))),
            Round3(JaroWinkler("MARFA", "MARHFA")));
}

TEST(JaroWinkler, HandlesStringsLongerThanTheStackBuffer) {
  std::string a(100, 'a'), b(100, 'a');
  b[99] = 'b';
  EXPECT_EQ(Round3(JaroWinkler(a, b)), 0.996);  // Jaro 0.9933 plus the 4-letter prefix bonus
}

TEST(OsaDistance, CountsEachKindOfEditOnce) {
  EXPECT_EQ(OsaDistance("kitten", "sitting"), 3);
  EXPECT_EQ(OsaDistance("smith", "smtih"), 1);  // adjacent transposition
  EXPECT_EQ(OsaDistance("smith", "smith"), 0);
  EXPECT_EQ(OsaDistance("", "abc"), 3);
  EXPECT_EQ(OsaDistance("abc", ""), 3);
  EXPECT_EQ(OsaDistance("19161017", "19160117"), 1);
}

TEST(OsaDistance, IsTheRestrictedFormNotTheUnrestrictedOne) {
  // Unrestricted Damerau-Levenshtein gives 2 ("CA" -> "AC" -> "ABC"); OSA may not edit the
  // transposed pair again, so 3.
  EXPECT_EQ(OsaDistance("CA", "ABC"), 3);
}

TEST(OsaDistance, StopsAtTheBoundAndSaysSo) {
  EXPECT_EQ(OsaDistance("abcdef", "uvwxyz", 2), 3);
  EXPECT_EQ(OsaDistance("abcdef", "abcdxy", 2), 2);
  EXPECT_EQ(OsaDistance("a", "abcdef", 1), 2);  // length difference alone exceeds the bound
}

TEST(OsaDistance, WorksOnCodePointsAndLongStrings) {
  EXPECT_EQ(OsaDistance(ToCodePoints("Пушкин"), ToCodePoints("Пушкни")), 1);
  EXPECT_EQ(OsaDistance(std::string_view("Пушкин"), std::string_view("Пушкни")), 2);  // bytes
  std::string a(200, 'x'), b(200, 'x');
  b[10] = 'y';
  b[150] = 'z';
  EXPECT_EQ(OsaDistance(a, b), 2);
}

TEST(ToCodePoints, DecodesUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(ToCodePoints("aЖ€😀"), std::u32string(U"aЖ€😀"));
  EXPECT_EQ(ToCodePoints("a\xFF"
                         "b"),
            std::u32string(U"a\uFFFDb"));
  EXPECT_EQ(ToCodePoints("\xD0"), std::u32string(U"\uFFFD"));  // truncated sequence
}

}  // namespace
}  // namespace identity
