#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace core {
namespace {

TEST(Utf8, ValidityCheck) {
  EXPECT_TRUE(IsValidUtf8("Александр 张伟 ok"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong "/"
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("abc\xE2\x82"));       // cut short
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

TEST(Utf8, LengthCountsCharactersNotBytes) {
  EXPECT_EQ(Utf8Length(""), 0u);
  EXPECT_EQ(Utf8Length("Ana"), 3u);
  EXPECT_EQ(Utf8Length("山"), 1u);  // three bytes
  EXPECT_EQ(Utf8Length("März"), 4u);
  EXPECT_EQ(Utf8Length("\xF0\x9F\x98\x80x"), 2u);  // an emoji of four bytes, then "x"
  EXPECT_EQ(Utf8Length("محمد"), 4u);
}

TEST(Utf8, ControlCharactersAreFound) {
  EXPECT_FALSE(HasControlCharacter("Zoë Ngata-Brown 山"));
  EXPECT_FALSE(HasControlCharacter("\xE2\x80\x8C"));  // a zero-width non-joiner is not one
  EXPECT_TRUE(HasControlCharacter(std::string("a\0b", 3)));
  EXPECT_TRUE(HasControlCharacter("a\tb"));
  EXPECT_TRUE(HasControlCharacter("a\nb"));
  EXPECT_TRUE(HasControlCharacter("a\x7f"));
  EXPECT_TRUE(HasControlCharacter("a\xC2\x85"));  // NEL, a C1 control
  EXPECT_FALSE(HasControlCharacter("\xC2\xA0"));  // a no-break space is not
}

}  // namespace
}  // namespace core
