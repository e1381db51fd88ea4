#include "common/utf8.h"

#include <gtest/gtest.h>

#include <string>

#include "common/npy_reader.h"
#include "common/status.h"

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

TEST(Utf8, OneLineUtf8EscapesControlsAndMalformedBytesOnly) {
  EXPECT_EQ(OneLineUtf8("conv1 K\xC3\xA4se \xE2\x82\xAC"), "conv1 K\xC3\xA4se \xE2\x82\xAC");
  EXPECT_EQ(OneLineUtf8("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  EXPECT_EQ(OneLineUtf8(std::string("x\0y\x7F", 4)), "x\\x00y\\x7f");
  EXPECT_EQ(OneLineUtf8("caf\xE9!"), "caf\\xe9!");          // Latin-1 byte
  EXPECT_EQ(OneLineUtf8("\xE2\x82"), "\\xe2\\x82");         // truncated sequence
  EXPECT_TRUE(IsValidUtf8(OneLineUtf8("\xC0\xAF\xFF\n")));  // overlong, never-lead
}

TEST(Utf8, EveryStatusMessageIsOneValidLine) {
  const Status status = InvalidArgument("bad key 'a\nb' in caf\xE9");
  EXPECT_EQ(status.message(), "bad key 'a\\nb' in caf\\xe9");
  EXPECT_EQ(status.WithContext("f.yaml\r").message(), "f.yaml\\r: bad key 'a\\nb' in caf\\xe9");
}

// Found by fuzz_data_arrays (fuzz/regressions/data_arrays/npy-header-newline):
// the NPY reader quoted the header's bytes, newline included, in its message.
TEST(Utf8, NpyHeaderExcerptsInMessagesStayOneLine) {
  const std::string header = "{'descr': '<f4', 'fo\n#t, }";
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size());
  bytes += '\0';
  bytes += header;
  StatusOr<RawArray> array = ParseNpy(std::vector<uint8_t>(bytes.begin(), bytes.end()), "x.npy");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().message().find('\n'), std::string::npos) << array.status().message();
  EXPECT_NE(array.status().message().find("x.npy: bad NPY header"), std::string::npos);
}

}  // namespace
}  // namespace mixq
