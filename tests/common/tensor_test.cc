#include "common/tensor.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <type_traits>

namespace mixq {
namespace {

TEST(DType, StorageSizesNamesAndKinds) {
  struct Expected {
    DType dtype;
    size_t size;
    const char* name;
    bool floating;
  };
  const Expected all[] = {
      {DType::kF32, 4, "float32", true}, {DType::kF64, 8, "float64", true},
      {DType::kF16, 2, "float16", true}, {DType::kI64, 8, "int64", false},
      {DType::kI32, 4, "int32", false},  {DType::kI8, 1, "int8", false},
      {DType::kU8, 1, "uint8", false},   {DType::kBool, 1, "bool", false},
  };
  for (const Expected& e : all) {
    EXPECT_EQ(DTypeSize(e.dtype), e.size) << e.name;
    EXPECT_STREQ(DTypeName(e.dtype), e.name);
    EXPECT_EQ(IsFloatingPoint(e.dtype), e.floating) << e.name;
  }
  EXPECT_STREQ(DTypeName(static_cast<DType>(200)), "unknown");
  EXPECT_THROW(DTypeSize(static_cast<DType>(200)), std::invalid_argument);
}

TEST(DType, VisitPassesTheStorageType) {
  auto storage_is = [](DType dtype, auto expected) {
    return VisitDType(dtype,
                      [](auto zero) { return std::is_same_v<decltype(zero), decltype(expected)>; });
  };
  EXPECT_TRUE(storage_is(DType::kF32, float{}));
  EXPECT_TRUE(storage_is(DType::kF16, uint16_t{}));
  EXPECT_TRUE(storage_is(DType::kI64, int64_t{}));
  EXPECT_TRUE(storage_is(DType::kI8, int8_t{}));
  EXPECT_TRUE(storage_is(DType::kBool, uint8_t{}));
  EXPECT_FALSE(storage_is(DType::kI32, int64_t{}));
}

TEST(Tensor, SetFromDoubleCastsAndBoolKeepsNonZero) {
  Tensor f(DType::kF32, {1});
  f.SetFromDouble(0, 0.1);
  EXPECT_EQ(f.data<float>()[0], 0.1f);
  Tensor d(DType::kF64, {1});
  d.SetFromDouble(0, 0.1);
  EXPECT_EQ(d.data<double>()[0], 0.1);
  Tensor i(DType::kI32, {2});
  i.SetFromDouble(0, -2.7);  // truncates toward zero
  i.SetFromDouble(1, 2.7);
  EXPECT_EQ(i.data<int32_t>()[0], -2);
  EXPECT_EQ(i.data<int32_t>()[1], 2);
  Tensor u(DType::kU8, {1});
  u.SetFromDouble(0, 200.9);
  EXPECT_EQ(u.data<uint8_t>()[0], 200);
  Tensor b(DType::kBool, {3});
  b.SetFromDouble(0, 0.5);  // a cast to uint8_t would store 0
  b.SetFromDouble(1, -0.0);
  b.SetFromDouble(2, -3);
  EXPECT_EQ(b.data<uint8_t>()[0], 1);
  EXPECT_EQ(b.data<uint8_t>()[1], 0);
  EXPECT_EQ(b.data<uint8_t>()[2], 1);
}

TEST(Tensor, SetFromIntNarrowsAndRoundsThroughDouble) {
  Tensor i8(DType::kI8, {1});
  i8.SetFromInt(0, 300);
  EXPECT_EQ(i8.data<int8_t>()[0], 44);
  Tensor u8(DType::kU8, {1});
  u8.SetFromInt(0, -1);
  EXPECT_EQ(u8.data<uint8_t>()[0], 255);
  Tensor i64(DType::kI64, {1});
  i64.SetFromInt(0, INT64_MIN);
  EXPECT_EQ(i64.data<int64_t>()[0], INT64_MIN);
  Tensor b(DType::kBool, {1});
  b.SetFromInt(0, 256);  // a cast to uint8_t would store 0
  EXPECT_EQ(b.data<uint8_t>()[0], 1);
  // 2^60 + 2^36 + 1 rounds to the double 2^60 + 2^36, exactly halfway
  // between two floats, which rounds to even: 2^60. Rounded straight to
  // float it would be 2^60 + 2^37.
  const int64_t v = (int64_t{1} << 60) + (int64_t{1} << 36) + 1;
  Tensor f(DType::kF32, {1});
  f.SetFromInt(0, v);
  EXPECT_EQ(f.data<float>()[0], static_cast<float>(int64_t{1} << 60));
  EXPECT_NE(f.data<float>()[0], static_cast<float>(v));
}

TEST(Tensor, ScalarReadsConvertEveryDType) {
  Tensor f(DType::kF32, {1});
  f.data<float>()[0] = -2.75f;
  EXPECT_EQ(f.IntAt(0), -2);
  EXPECT_EQ(f.FloatAt(0), -2.75);
  Tensor u(DType::kU8, {1});
  u.data<uint8_t>()[0] = 250;
  EXPECT_EQ(u.IntAt(0), 250);
  EXPECT_EQ(u.FloatAt(0), 250.0);
  Tensor i(DType::kI64, {2});
  i.data<int64_t>()[1] = -(int64_t{1} << 40);
  EXPECT_EQ(i.ToInt64Vector(), (std::vector<int64_t>{0, -(int64_t{1} << 40)}));
}

TEST(Tensor, Float16ScalarAccessThrows) {
  Tensor h(DType::kF16, {1});
  EXPECT_THROW(h.IntAt(0), std::invalid_argument);
  EXPECT_THROW(h.FloatAt(0), std::invalid_argument);
  EXPECT_THROW(h.SetFromDouble(0, 1.0), std::invalid_argument);
  EXPECT_THROW(h.SetFromInt(0, 1), std::invalid_argument);
}

}  // namespace
}  // namespace mixq
