#include "identity/febrl.h"

#include <gtest/gtest.h>

namespace identity {
namespace {

constexpr std::string_view kHeaderLine =
    "rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, "
    "date_of_birth, soc_sec_id\r\n";

TEST(Febrl, ParsesRecordsWithEmptyFieldsAndEntities) {
  std::string text(kHeaderLine);
  text +=
      "rec-223-org, , waller, 6, tullaroop street, willaroo, st james, 4011, wa, 19081209, "
      "6988048\r\n";
  text += "rec-10-dup-3, kayla, harrington, , maltby circuit, coaling, coolaroo, 3465, nsw, , ";
  auto data = ParseFebrl(text, "t.csv");
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  ASSERT_EQ(data->size(), 2u);
  EXPECT_EQ(data->rec_ids[0], "rec-223-org");
  EXPECT_EQ(data->entities[0], 223);
  EXPECT_EQ(data->records[0].given_name, "");
  EXPECT_EQ(data->records[0].family_name, "waller");
  EXPECT_EQ(data->records[0].street_number, "6");
  EXPECT_EQ(data->records[0].address_line1, "tullaroop street");
  EXPECT_EQ(data->records[0].address_line2, "willaroo");
  EXPECT_EQ(data->records[0].locality, "st james");
  EXPECT_EQ(data->records[0].postcode, "4011");
  EXPECT_EQ(data->records[0].region, "wa");
  EXPECT_EQ(data->records[0].date_of_birth, "19081209");
  EXPECT_EQ(data->records[0].identifier, "6988048");
  EXPECT_EQ(data->entities[1], 10);
  EXPECT_EQ(data->records[1].street_number, "");
  EXPECT_EQ(data->records[1].date_of_birth, "");
  EXPECT_EQ(data->records[1].identifier, "");
}

TEST(Febrl, RejectsAWrongHeader) {
  auto data = ParseFebrl("id, name\n", "bad.csv");
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(data.status().message(), "bad.csv line 1: expected the FEBRL header");
}

TEST(Febrl, RejectsALineWithTheWrongNumberOfFields) {
  std::string text(kHeaderLine);
  text += "rec-1-org, a, b\n";
  auto data = ParseFebrl(text, "x.csv");
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().message(),
            "x.csv line 2: expected 11 fields separated by \", \", found 3");
}

TEST(Febrl, RejectsAnUnknownRecordId) {
  std::string text(kHeaderLine);
  text += "person-1, a, b, 1, s, t, u, 2000, nsw, 19990101, 1\n";
  auto data = ParseFebrl(text, "x.csv");
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().message(), "x.csv line 2: record id must be rec-N-org or rec-N-dup-K");
}

TEST(Febrl, ReadsEntityNumbers) {
  EXPECT_EQ(FebrlEntity("rec-0-org"), 0);
  EXPECT_EQ(FebrlEntity("rec-4999-dup-12"), 4999);
  EXPECT_EQ(FebrlEntity("rec-12-dup-"), -1);
  EXPECT_EQ(FebrlEntity("rec-12-copy-1"), -1);
  EXPECT_EQ(FebrlEntity("rec--org"), -1);
}

TEST(Febrl, MissingFileIsNotFound) {
  auto data = ReadFebrlFile("/nonexistent/febrl.csv");
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), core::StatusCode::kNotFound);
  EXPECT_EQ(data.status().message(), "cannot open FEBRL file /nonexistent/febrl.csv");
}

}  // namespace
}  // namespace identity
