#include "common/npy_reader.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tests/common/data_files.h"

namespace mixq {
namespace {

using test::LittleEndianBytes;
using test::NpyBytes;
using test::TempDir;

template <typename T>
std::vector<T> Values(const RawArray& array) {
  std::vector<T> out(array.data.size() / sizeof(T));
  std::memcpy(out.data(), array.data.data(), out.size() * sizeof(T));
  return out;
}

TEST(NpyReader, Float32RoundTrip) {
  TempDir dir;
  const std::vector<float> values = {0.5f, -1.25f, 3.0f, 1e-7f, -0.0f, 65504.0f};
  test::WriteBytes(dir.Path("f.npy"),
                   NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                            LittleEndianBytes(values)));
  StatusOr<RawArray> array = ReadNpy(dir.Path("f.npy"));
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_EQ(array->dtype, DType::kF32);
  EXPECT_EQ(array->shape, (Shape{2, 3}));
  EXPECT_EQ(Values<float>(*array), values);
}

TEST(NpyReader, Uint8RoundTripVersion2) {
  TempDir dir;
  const std::vector<uint8_t> values = {0, 1, 127, 128, 254, 255, 17, 42};
  test::WriteBytes(dir.Path("u.npy"),
                   NpyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }",
                            values, /*major=*/2));
  StatusOr<RawArray> array = ReadNpy(dir.Path("u.npy"));
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_EQ(array->dtype, DType::kU8);
  EXPECT_EQ(array->shape, (Shape{2, 2, 2}));
  EXPECT_EQ(array->data, values);
}

TEST(NpyReader, GzippedFileReads) {
  TempDir dir;
  const std::vector<int64_t> labels = {3, 1, 4, 1, 5};
  test::WriteGzip(dir.Path("l.npy.gz"),
                  NpyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }",
                           LittleEndianBytes(labels)));
  StatusOr<RawArray> array = ReadNpy(dir.Path("l.npy.gz"));
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_EQ(array->dtype, DType::kI64);
  EXPECT_EQ(Values<int64_t>(*array), labels);
}

TEST(NpyReader, LabelTypesConvertToInt64) {
  struct Case {
    std::string descr;
    std::vector<uint8_t> payload;
  };
  const std::vector<Case> cases = {
      {"<i8", LittleEndianBytes(std::vector<int64_t>{7, 0, 9})},
      {"<i4", LittleEndianBytes(std::vector<int32_t>{7, 0, 9})},
      {"|u1", {7, 0, 9}},
  };
  for (const Case& c : cases) {
    StatusOr<RawArray> array =
        ParseNpy(NpyBytes("{'descr': '" + c.descr + "', 'fortran_order': False, 'shape': (3,), }",
                          c.payload),
                 "l.npy");
    ASSERT_TRUE(array.ok()) << c.descr << ": " << array.status().ToString();
    StatusOr<std::vector<int64_t>> labels = ArrayToLabels(*array, "l.npy");
    ASSERT_TRUE(labels.ok()) << labels.status().ToString();
    EXPECT_EQ(*labels, (std::vector<int64_t>{7, 0, 9})) << c.descr;
  }
}

TEST(NpyReader, FloatLabelsAreRefused) {
  StatusOr<RawArray> array =
      ParseNpy(NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                        LittleEndianBytes(std::vector<float>{1.0f})),
               "l.npy");
  ASSERT_TRUE(array.ok());
  EXPECT_EQ(ArrayToLabels(*array, "l.npy").status().code(), StatusCode::kInvalidArgument);
}

TEST(NpyReader, BigEndianFloatIsSwapped) {
  // 1.5f = 0x3FC00000 big-endian.
  StatusOr<RawArray> array = ParseNpy(
      NpyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", {0x3F, 0xC0, 0, 0}),
      "be.npy");
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_EQ(Values<float>(*array), std::vector<float>{1.5f});
}

TEST(NpyReader, AcceptsDictInAnyKeyOrderWithoutTrailingComma) {
  StatusOr<RawArray> array = ParseNpy(
      NpyBytes("{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"|u1\"}", {5, 6}), "o.npy");
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_EQ(array->shape, Shape{2});
  EXPECT_EQ(array->data, (std::vector<uint8_t>{5, 6}));
}

TEST(NpyReader, FortranOrderIsRefused) {
  StatusOr<RawArray> array =
      ParseNpy(NpyBytes("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2), }", {1, 2, 3, 4}),
               "f.npy");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(array.status().message().find("Fortran order"), std::string::npos);
  EXPECT_EQ(array.status().message().rfind("f.npy: ", 0), 0u);
}

TEST(NpyReader, BadHeadersAreInvalidArgument) {
  const std::vector<std::string> dicts = {
      "{'descr': '<f4', 'shape': (1,), }",                                // no fortran_order
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",  // unknown key
      "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }",        // not a bool
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",       // negative dim
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,) ",          // unclosed
      "descr: <f4",                                                       // not a dict
  };
  for (const std::string& dict : dicts) {
    StatusOr<RawArray> array = ParseNpy(NpyBytes(dict, {0, 0, 0, 0}), "h.npy");
    ASSERT_FALSE(array.ok()) << dict;
    EXPECT_EQ(array.status().code(), StatusCode::kInvalidArgument) << dict;
    EXPECT_NE(array.status().message().find("h.npy: bad NPY header"), std::string::npos)
        << array.status().message();
  }
}

TEST(NpyReader, UnsupportedDescrIsUnimplemented) {
  StatusOr<RawArray> array =
      ParseNpy(NpyBytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                        std::vector<uint8_t>(8)),
               "c.npy");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(array.status().message().find("'<c8'"), std::string::npos);
}

TEST(NpyReader, BadMagicIsInvalidArgument) {
  std::vector<uint8_t> file =
      NpyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", {1});
  file[1] = 'X';
  StatusOr<RawArray> array = ParseNpy(file, "m.npy");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().code(), StatusCode::kInvalidArgument);
}

TEST(NpyReader, TruncatedDataSaysExpectedAndActualBytes) {
  std::vector<uint8_t> file = NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
                                       std::vector<uint8_t>(10));
  ASSERT_EQ(file.size(), 128u + 10u);  // header padded to 128, then 10 of 16 data bytes
  StatusOr<RawArray> array = ParseNpy(file, "t.npy");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(array.status().message().find("expected 144 bytes"), std::string::npos)
      << array.status().message();
  EXPECT_NE(array.status().message().find("file has 138"), std::string::npos);
}

TEST(NpyReader, TruncatedHeaderIsDataLoss) {
  std::vector<uint8_t> file =
      NpyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", {1});
  file.resize(30);
  EXPECT_EQ(ParseNpy(file, "t.npy").status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace mixq
