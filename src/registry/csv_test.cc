#include "registry/csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<CsvRecord> ReadAll(const std::string& text, char delimiter = ',', Encoding enc = Encoding::kUtf8,
                               bool trim = false) {
  std::istringstream in(text);
  CsvReader reader(in, delimiter, enc, trim);
  std::vector<CsvRecord> out;
  CsvRecord rec;
  while (reader.Next(rec)) out.push_back(rec);
  return out;
}

TEST(CsvReader, PlainFieldsAndLineNumbers) {
  auto recs = ReadAll("a,b,c\n1,2,3\n\n4,,6\n");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_THAT(recs[0].fields, ElementsAre("a", "b", "c"));
  EXPECT_THAT(recs[2].fields, ElementsAre("4", "", "6"));
  EXPECT_EQ(recs[1].line, 2);
  EXPECT_EQ(recs[2].line, 4);  // the blank line is skipped but counted
}

TEST(CsvReader, QuotedFieldsHoldDelimitersQuotesAndLineBreaks) {
  auto recs = ReadAll("id,note\r\n1,\"Flat 2, \"\"Rose\"\" House\"\r\n2,\"two\nlines\"\r\n3,x\r\n");
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_THAT(recs[1].fields, ElementsAre("1", "Flat 2, \"Rose\" House"));
  EXPECT_THAT(recs[2].fields, ElementsAre("2", "two\nlines"));
  EXPECT_EQ(recs[2].line, 3);
  EXPECT_EQ(recs[3].line, 5);  // the record after a two-line field
  EXPECT_EQ(recs[2].raw, "2,\"two\nlines\"");
}

TEST(CsvReader, UnclosedQuoteAtTheEndIsAnError) {
  auto recs = ReadAll("id,note\n1,\"never closed\n2,x\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_THAT(recs[1].error, HasSubstr("not closed"));
  EXPECT_EQ(recs[1].line, 2);
}

TEST(CsvReader, TrimsFebrlStyleSeparators) {
  auto recs = ReadAll("rec_id, given_name, surname\nrec-1-org, michaela , \" neumann\"\n", ',', Encoding::kUtf8, true);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_THAT(recs[0].fields, ElementsAre("rec_id", "given_name", "surname"));
  EXPECT_THAT(recs[1].fields, ElementsAre("rec-1-org", "michaela", " neumann"));  // quoted: kept
}

TEST(CsvReader, SkipsTheByteOrderMarkAndReadsTabs) {
  auto recs = ReadAll("\xEF\xBB\xBFid\tname\n1\tZo\xC3\xAB\n", '\t');
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_THAT(recs[0].fields, ElementsAre("id", "name"));
  EXPECT_THAT(recs[1].fields, ElementsAre("1", "Zoë"));
}

TEST(CsvReader, InvalidUtf8MarksTheRecordAndReadingGoesOn) {
  auto recs = ReadAll("id,name\n1,Zo\xEB\n2,Ann\n");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_THAT(recs[1].error, HasSubstr("not valid UTF-8"));
  EXPECT_TRUE(recs[2].error.empty());
  EXPECT_THAT(recs[2].fields, ElementsAre("2", "Ann"));
}

TEST(CsvReader, Latin1AndWindows1252AreConvertedToUtf8) {
  auto latin = ReadAll("id,name\n1,Zo\xEB M\xFCller\n", ',', Encoding::kLatin1);
  EXPECT_THAT(latin[1].fields, ElementsAre("1", "Zoë Müller"));
  auto cp1252 = ReadAll("id,name\n1,\x93O\x92" "Brien\x94 \x80\n", ',', Encoding::kWindows1252);
  EXPECT_THAT(cp1252[1].fields, ElementsAre("1", "\u201cO\u2019Brien\u201d \u20ac"));
}

}  // namespace
}  // namespace registry
