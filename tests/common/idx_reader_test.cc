#include "common/idx_reader.h"

#include <gtest/gtest.h>

#include <cstring>

#include "common/file_bytes.h"
#include "tests/common/data_files.h"

namespace mixq {
namespace {

using test::IdxBytes;
using test::TempDir;

std::vector<uint8_t> Ramp(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + 3);
  return v;
}

TEST(IdxReader, ReadsUint8ImagesPlainAndGzipAlike) {
  TempDir dir;
  const std::vector<uint8_t> pixels = Ramp(2 * 3 * 4);
  const std::vector<uint8_t> file = IdxBytes(0x08, {2, 3, 4}, pixels);
  test::WriteBytes(dir.Path("a.idx"), file);
  test::WriteGzip(dir.Path("a.idx.gz"), file);

  for (const char* name : {"a.idx", "a.idx.gz"}) {
    StatusOr<RawArray> array = ReadIdx(dir.Path(name));
    ASSERT_TRUE(array.ok()) << array.status().ToString();
    EXPECT_EQ(array->dtype, DType::kU8);
    EXPECT_EQ(array->shape, (Shape{2, 3, 4}));
    EXPECT_EQ(array->data, pixels) << name;
  }
}

TEST(IdxReader, ReadsUint8Labels) {
  TempDir dir;
  test::WriteBytes(dir.Path("l.idx"), IdxBytes(0x08, {5}, {9, 0, 3, 3, 7}));
  StatusOr<RawArray> array = ReadIdx(dir.Path("l.idx"));
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_EQ(array->shape, Shape{5});
  EXPECT_EQ(array->data, (std::vector<uint8_t>{9, 0, 3, 3, 7}));
}

TEST(IdxReader, ReadsBigEndianFloat32) {
  TempDir dir;
  // 1.5f = 0x3FC00000, -2.25f = 0xC0100000, big-endian as IDX stores them.
  test::WriteBytes(dir.Path("f.idx"),
                   IdxBytes(0x0D, {2}, {0x3F, 0xC0, 0x00, 0x00, 0xC0, 0x10, 0x00, 0x00}));
  StatusOr<RawArray> array = ReadIdx(dir.Path("f.idx"));
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_EQ(array->dtype, DType::kF32);
  ASSERT_EQ(array->data.size(), 8u);
  float values[2];
  std::memcpy(values, array->data.data(), sizeof(values));
  EXPECT_EQ(values[0], 1.5f);
  EXPECT_EQ(values[1], -2.25f);
}

TEST(IdxReader, ReadsBigEndianInt32) {
  TempDir dir;
  test::WriteBytes(dir.Path("i.idx"), IdxBytes(0x0C, {1}, {0x00, 0x01, 0x02, 0x03}));
  StatusOr<RawArray> array = ReadIdx(dir.Path("i.idx"));
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  int32_t v;
  std::memcpy(&v, array->data.data(), 4);
  EXPECT_EQ(v, 0x00010203);
}

TEST(IdxReader, RefusesWrongMagic) {
  TempDir dir;
  std::vector<uint8_t> file = IdxBytes(0x08, {2, 2}, {1, 2, 3, 4});
  file[0] = 0x12;
  file[1] = 0x34;
  test::WriteBytes(dir.Path("bad.idx"), file);
  StatusOr<RawArray> array = ReadIdx(dir.Path("bad.idx"));
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(array.status().message().find(dir.Path("bad.idx")), std::string::npos);
  EXPECT_NE(array.status().message().find("magic number 0x12340802"), std::string::npos)
      << array.status().message();
}

TEST(IdxReader, RefusesNpyFileAsIdx) {
  const std::vector<uint8_t> npy =
      test::NpyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", {7});
  StatusOr<RawArray> array = ParseIdx(npy, "x.npy");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().code(), StatusCode::kInvalidArgument);
}

TEST(IdxReader, RefusesInt16AsUnimplemented) {
  StatusOr<RawArray> array = ParseIdx(IdxBytes(0x0B, {1}, {0, 1}), "s.idx");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().code(), StatusCode::kUnimplemented);
}

TEST(IdxReader, TruncatedImagesSayExpectedAndActualBytes) {
  TempDir dir;
  std::vector<uint8_t> file = IdxBytes(0x08, {3, 4, 5}, Ramp(60));
  file.resize(file.size() - 10);  // 16-byte header + 50 of 60 pixel bytes
  test::WriteBytes(dir.Path("t.idx"), file);
  StatusOr<RawArray> array = ReadIdx(dir.Path("t.idx"));
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().code(), StatusCode::kDataLoss);
  const std::string& m = array.status().message();
  EXPECT_NE(m.find(dir.Path("t.idx")), std::string::npos) << m;
  EXPECT_NE(m.find("truncated"), std::string::npos) << m;
  EXPECT_NE(m.find("expected 76 bytes"), std::string::npos) << m;
  EXPECT_NE(m.find("file has 66"), std::string::npos) << m;
}

TEST(IdxReader, TruncatedHeaderIsDataLoss) {
  StatusOr<RawArray> array = ParseIdx({0, 0, 8, 3, 0, 0, 0, 2}, "h.idx");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(array.status().message().find("expected 16 bytes"), std::string::npos)
      << array.status().message();
}

TEST(IdxReader, TrailingDataIsDataLoss) {
  std::vector<uint8_t> file = IdxBytes(0x08, {2}, {1, 2, 3});
  StatusOr<RawArray> array = ParseIdx(file, "long.idx");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().code(), StatusCode::kDataLoss);
}

TEST(IdxReader, HugeDeclaredShapeIsDataLossNotACrash) {
  StatusOr<RawArray> array =
      ParseIdx(IdxBytes(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {1, 2}), "huge.idx");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().code(), StatusCode::kDataLoss);
}

TEST(IdxReader, TruncatedGzipIsDataLoss) {
  TempDir dir;
  test::WriteGzip(dir.Path("full.gz"), IdxBytes(0x08, {50, 40}, Ramp(2000)));
  const std::vector<uint8_t> gz = test::ReadBytes(dir.Path("full.gz"));
  ASSERT_GT(gz.size(), 40u);

  // Cut mid-stream, and cut only the 8-byte trailer (CRC32 + length): every
  // pixel decompresses, but the stream is still incomplete.
  for (size_t cut : {gz.size() / 2, gz.size() - 8}) {
    const std::string path = dir.Path("cut" + std::to_string(cut) + ".gz");
    test::WriteBytes(path, std::vector<uint8_t>(gz.begin(), gz.begin() + cut));
    StatusOr<RawArray> array = ReadIdx(path);
    ASSERT_FALSE(array.ok()) << "cut at " << cut;
    EXPECT_EQ(array.status().code(), StatusCode::kDataLoss) << array.status().ToString();
    EXPECT_NE(array.status().message().find(path), std::string::npos);
    EXPECT_NE(array.status().message().find("gzip"), std::string::npos) << array.status().message();
  }
}

TEST(IdxReader, CorruptGzipChecksumIsDataLoss) {
  TempDir dir;
  test::WriteGzip(dir.Path("full.gz"), IdxBytes(0x08, {50, 40}, Ramp(2000)));
  std::vector<uint8_t> gz = test::ReadBytes(dir.Path("full.gz"));
  gz[gz.size() - 8] ^= 0xFF;  // first byte of the CRC32
  test::WriteBytes(dir.Path("crc.gz"), gz);
  StatusOr<RawArray> array = ReadIdx(dir.Path("crc.gz"));
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().code(), StatusCode::kDataLoss) << array.status().ToString();
}

TEST(IdxReader, MissingFileIsNotFound) {
  TempDir dir;
  StatusOr<RawArray> array = ReadIdx(dir.Path("nope.idx"));
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().code(), StatusCode::kNotFound);
  EXPECT_NE(array.status().message().find(dir.Path("nope.idx")), std::string::npos);
}

TEST(FileBytes, DirectoryIsRefused) {
  TempDir dir;
  StatusOr<std::vector<uint8_t>> bytes = ReadFileBytes(dir.path());
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), StatusCode::kInvalidArgument);
}

TEST(FileBytes, EmptyFileReadsEmpty) {
  TempDir dir;
  test::WriteBytes(dir.Path("empty"), {});
  StatusOr<std::vector<uint8_t>> bytes = ReadFileBytes(dir.Path("empty"));
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_TRUE(bytes->empty());
  EXPECT_EQ(ParseIdx(*bytes, "empty").status().code(), StatusCode::kDataLoss);
}

// A small gzip stream that inflates past the limit is refused as it is
// read, not held whole (a gzip bomb named by a dataset file).
TEST(FileBytes, DataPastTheLimitIsRefusedAsItIsRead) {
  TempDir dir;
  test::WriteGzip(dir.Path("bomb.gz"), std::vector<uint8_t>(3 << 20, 0));
  StatusOr<std::vector<uint8_t>> bytes = ReadFileBytes(dir.Path("bomb.gz"), 2 << 20);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bytes.status().message(),
            dir.Path("bomb.gz") +
                ": holds more than 2097152 bytes (decompressed), the limit of a "
                "data file");
  EXPECT_TRUE(ReadFileBytes(dir.Path("bomb.gz"), 3 << 20).ok());
}

}  // namespace
}  // namespace mixq
