#include "core/utf8.h"

#include <gtest/gtest.h>

namespace core {
namespace {

TEST(Utf8, ValidityCheck) {
  EXPECT_TRUE(IsValidUtf8("Александр 张伟 ok"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong "/"
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("abc\xE2\x82"));       // cut short
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

}  // namespace
}  // namespace core
