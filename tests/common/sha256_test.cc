#include "common/sha256.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "tests/common/data_files.h"

namespace mixq {
namespace {

// Test vectors from FIPS 180-4's examples (NIST CSRC) and the usual extras.
TEST(Sha256, Abc) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, EmptyMessage) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, TwoBlockMessage448Bits) {
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, MillionAs) {
  const std::string a(1000000, 'a');
  EXPECT_EQ(Sha256Hex(a), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, StreamingInOddPiecesEqualsOneShot) {
  const std::string text(1000, 'x');
  Sha256 sha;
  size_t pos = 0;
  for (size_t piece = 1; pos < text.size(); piece = piece * 3 % 97 + 1) {
    const size_t take = std::min(piece, text.size() - pos);
    sha.Update(text.data() + pos, take);
    pos += take;
  }
  EXPECT_EQ(DigestHex(sha.Finish()), Sha256Hex(text));
}

TEST(Sha256, PaddingBoundaries) {
  // Lengths 55, 56 and 64 exercise the one-block / two-block padding split;
  // all must differ from each other and be stable across calls.
  EXPECT_EQ(Sha256Hex(std::string(55, 'a')),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(Sha256Hex(std::string(56, 'a')),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(Sha256Hex(std::string(64, 'a')),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(Sha256, FileHashEqualsStringHash) {
  const test::TempDir dir;
  const std::string path = dir.Path("content.bin");
  std::string content;
  for (int i = 0; i < 200000; ++i) content.push_back(static_cast<char>(i * 7));
  {
    std::ofstream out(path, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  StatusOr<std::string> hash = Sha256File(path);
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(*hash, Sha256Hex(content));
  std::remove(path.c_str());
}

TEST(Sha256, MissingFileIsNotFoundNamingPath) {
  StatusOr<std::string> hash = Sha256File("/nonexistent/model.onnx");
  ASSERT_FALSE(hash.ok());
  EXPECT_EQ(hash.status().code(), StatusCode::kNotFound);
  EXPECT_NE(hash.status().message().find("/nonexistent/model.onnx"), std::string::npos);
}

}  // namespace
}  // namespace mixq
