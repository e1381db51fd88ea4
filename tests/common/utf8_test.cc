#include "common/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace mixq {
namespace {

TEST(Utf8, AcceptsAsciiAndMultiByteText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("conv1/Relu:0"));
  EXPECT_TRUE(IsValidUtf8("K\xC3\xA4se"));           // 2 bytes
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC 5"));        // 3 bytes (euro sign)
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));      // 4 bytes
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));  // NUL is a character
}

TEST(Utf8, RefusesMalformedSequences) {
  EXPECT_FALSE(IsValidUtf8("\xFF"));              // never a lead byte
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
  EXPECT_FALSE(IsValidUtf8("caf\xE9"));           // Latin-1, not UTF-8
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x28\xA1"));      // bad continuation
}

}  // namespace
}  // namespace mixq
