// NPY files written by npy_writer.h: the bytes of a file numpy's format
// spells out (data_files.h builds it apart from the writer), and what the
// reader reads back for each dtype and rank.
#include "common/npy_writer.h"

#include <gtest/gtest.h>

#include <cstring>

#include "common/npy_reader.h"
#include "tests/common/data_files.h"

namespace mixq {
namespace {

TEST(NpyWriter, WritesTheFormatsHeaderPaddingAndData) {
  Tensor t(DType::kF32, {2, 3});
  const std::vector<float> values = {0.5f, -1.25f, 3.0f, 1e-7f, -0.0f, 65504.0f};
  std::memcpy(t.raw(), values.data(), t.bytes());
  EXPECT_EQ(NpyBytes(t),
            test::NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                           test::LittleEndianBytes(values)));
  // One dim is a one-element tuple; a scalar the empty tuple.
  Tensor v(DType::kU8, {5});
  EXPECT_EQ(NpyBytes(v), test::NpyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }",
                                        std::vector<uint8_t>(5, 0)));
  Tensor s(DType::kI64, {});
  EXPECT_EQ(NpyBytes(s), test::NpyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
                                        std::vector<uint8_t>(8, 0)));
}

TEST(NpyWriter, ReaderReadsBackEveryTypeItReads) {
  test::TempDir dir;
  for (DType dtype : {DType::kF32, DType::kF64, DType::kU8, DType::kI8, DType::kI32, DType::kI64}) {
    Tensor t(dtype, {2, 1, 3});
    for (int64_t i = 0; i < t.size(); ++i) t.SetFromInt(i, 3 * i + 1);
    const std::string path = dir.Path(std::string(DTypeName(dtype)) + ".npy");
    ASSERT_TRUE(WriteNpy(path, t).ok());
    StatusOr<RawArray> back = ReadNpy(path);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->dtype, dtype);
    EXPECT_EQ(back->shape, t.shape());
    ASSERT_EQ(back->data.size(), t.bytes());
    EXPECT_EQ(std::memcmp(back->data.data(), t.raw(), t.bytes()), 0) << DTypeName(dtype);
  }
}

TEST(NpyWriter, UnwritablePathIsNotFoundNamingIt) {
  Status s = WriteNpy("/nonexistent-folder/x.npy", Tensor(DType::kF32, {1}));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "/nonexistent-folder/x.npy: cannot open for writing");
}

}  // namespace
}  // namespace mixq
