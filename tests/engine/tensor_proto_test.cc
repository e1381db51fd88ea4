#include "engine/onnx/tensor_proto.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "engine/ir/onnx_dtype.h"

namespace mixq {
namespace {

using onnx::TensorProto;

// A 1-D tensor "t" of ONNX type `type` whose raw_data holds `values`.
template <typename T>
TensorProto RawProto(int32_t type, const std::vector<T>& values) {
  TensorProto proto;
  proto.set_name("t");
  proto.set_data_type(type);
  proto.add_dims(static_cast<int64_t>(values.size()));
  std::string raw(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
  proto.set_raw_data(raw);
  return proto;
}

// Expects `proto` to read as a tensor of `dtype` holding `expected`.
template <typename T>
void ExpectTensor(const TensorProto& proto, DType dtype, const std::vector<T>& expected) {
  SCOPED_TRACE(TensorProto::DataType_Name(static_cast<TensorProto::DataType>(proto.data_type())));
  auto tensor = TensorFromProto(proto);
  ASSERT_TRUE(tensor.ok()) << tensor.status().ToString();
  EXPECT_EQ(tensor->dtype(), dtype);
  EXPECT_EQ(std::vector<T>(tensor->data<T>(), tensor->data<T>() + tensor->size()), expected);
}

// Expects raw_data holding `in` (ONNX's element type) to read as `out`.
template <typename In, typename Out>
void ExpectRaw(int32_t type, const std::vector<In>& in, DType dtype, const std::vector<Out>& out) {
  ExpectTensor(RawProto(type, in), dtype, out);
}

TEST(TensorFromProto, RawDataOfEveryTypeConvertsToItsDType) {
  ExpectRaw<float, float>(TensorProto::FLOAT, {1.5f, 3e38f}, DType::kF32, {1.5f, 3e38f});
  ExpectRaw<double, double>(TensorProto::DOUBLE, {0.1, -1e300}, DType::kF64, {0.1, -1e300});
  ExpectRaw<int64_t, int64_t>(TensorProto::INT64, {-(int64_t{1} << 40), 7}, DType::kI64,
                              {-(int64_t{1} << 40), 7});
  // uint32 widens to int64 without wrapping to negative.
  ExpectRaw<uint32_t, int64_t>(TensorProto::UINT32, {0xFFFFFFFFu, 3}, DType::kI64, {4294967295, 3});
  ExpectRaw<int32_t, int32_t>(TensorProto::INT32, {-7, 1 << 30}, DType::kI32, {-7, 1 << 30});
  ExpectRaw<int16_t, int32_t>(TensorProto::INT16, {-32768, 5}, DType::kI32, {-32768, 5});
  ExpectRaw<uint16_t, int32_t>(TensorProto::UINT16, {65535, 5}, DType::kI32, {65535, 5});
  ExpectRaw<int8_t, int8_t>(TensorProto::INT8, {-128, 127}, DType::kI8, {-128, 127});
  ExpectRaw<uint8_t, uint8_t>(TensorProto::UINT8, {255, 2}, DType::kU8, {255, 2});
  // Any non-zero byte is true, stored as 1.
  ExpectRaw<uint8_t, uint8_t>(TensorProto::BOOL, {0, 1, 2, 255}, DType::kBool, {0, 1, 1, 1});
  // float16: normal, negative, subnormal, infinity.
  ExpectRaw<uint16_t, float>(
      TensorProto::FLOAT16, {0x3C00, 0xC000, 0x0001, 0x7C00}, DType::kF32,
      {1.f, -2.f, std::ldexp(1.f, -24), std::numeric_limits<float>::infinity()});

  // The copy keeps every bit: a negative zero and a NaN payload.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto f32 = TensorFromProto(RawProto<float>(TensorProto::FLOAT, {-0.f, nan}));
  ASSERT_TRUE(f32.ok());
  EXPECT_TRUE(std::signbit(f32->data<float>()[0]));
  EXPECT_EQ(std::memcmp(&f32->data<float>()[1], &nan, sizeof(float)), 0);
  auto h = TensorFromProto(RawProto<uint16_t>(TensorProto::FLOAT16, {0x7E00}));
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(std::isnan(h->data<float>()[0]));
}

TEST(TensorFromProto, TypedFieldsOfEveryTypeConvertToItsDType) {
  TensorProto proto;
  proto.set_name("t");
  proto.add_dims(2);
  proto.add_float_data(2.5f);
  proto.add_float_data(-1.f);
  proto.add_double_data(0.1);
  proto.add_double_data(-3);
  proto.add_int64_data(int64_t{1} << 50);
  proto.add_int64_data(-2);
  proto.add_uint64_data(4294967295u);
  proto.add_uint64_data(9);
  proto.add_int32_data(-40000);
  proto.add_int32_data(0x1C00);

  proto.set_data_type(TensorProto::FLOAT);
  ExpectTensor<float>(proto, DType::kF32, {2.5f, -1.f});
  proto.set_data_type(TensorProto::DOUBLE);
  ExpectTensor<double>(proto, DType::kF64, {0.1, -3});
  proto.set_data_type(TensorProto::INT64);
  ExpectTensor<int64_t>(proto, DType::kI64, {int64_t{1} << 50, -2});
  // uint32 values live in uint64_data.
  proto.set_data_type(TensorProto::UINT32);
  ExpectTensor<int64_t>(proto, DType::kI64, {4294967295, 9});
  // Everything narrower than 32 bits lives in int32_data; int16 and uint16
  // keep the value as stored, unnarrowed.
  const std::vector<int32_t> as_stored = {-40000, 0x1C00};
  proto.set_data_type(TensorProto::INT32);
  ExpectTensor<int32_t>(proto, DType::kI32, as_stored);
  proto.set_data_type(TensorProto::INT16);
  ExpectTensor<int32_t>(proto, DType::kI32, as_stored);
  proto.set_data_type(TensorProto::UINT16);
  ExpectTensor<int32_t>(proto, DType::kI32, as_stored);
  // int8 and uint8 truncate to their width.
  proto.set_data_type(TensorProto::INT8);
  ExpectTensor<int8_t>(proto, DType::kI8, {static_cast<int8_t>(-40000), 0});
  proto.set_data_type(TensorProto::UINT8);
  ExpectTensor<uint8_t>(proto, DType::kU8, {static_cast<uint8_t>(-40000), 0});
  // bool is "non-zero", judged before any narrowing (0x1C00's low byte is 0).
  proto.set_data_type(TensorProto::BOOL);
  ExpectTensor<uint8_t>(proto, DType::kBool, {1, 1});
  // float16 bits are the low 16 bits of the value (0x1C00 is 2^-8).
  proto.set_data_type(TensorProto::FLOAT16);
  auto h = TensorFromProto(proto);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->dtype(), DType::kF32);
  EXPECT_EQ(h->data<float>()[1], std::ldexp(1.f, -8));
}

TEST(TensorFromProto, RefusalsKeepTheirMessages) {
  auto wrong_raw = RawProto<float>(TensorProto::FLOAT, {1.f, 2.f});
  wrong_raw.add_dims(2);  // shape [2,2] needs 16 bytes, raw_data has 8
  auto r = TensorFromProto(wrong_raw);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(r.status().message(), "tensor 't' has 8 bytes of raw data, its shape [2,2] needs 16");

  auto wrong_half = RawProto<uint8_t>(TensorProto::FLOAT16, {1, 2, 3});
  auto h = TensorFromProto(wrong_half);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().message(), "tensor 't' has 3 bytes of raw data, its shape [3] needs 6");

  TensorProto typed;
  typed.set_name("t");
  typed.set_data_type(TensorProto::UINT32);
  typed.add_dims(3);
  typed.add_int32_data(1);  // the wrong field: uint32 is read from uint64_data
  auto f = TensorFromProto(typed);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(f.status().message(), "tensor 't' has 0 values, its shape [3] needs 3");

  typed.set_data_type(TensorProto::STRING);
  auto s = TensorFromProto(typed);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(s.status().message(), "tensor 't': element type STRING is not supported");
}

TEST(DTypeFromOnnx, MapsEveryReadTypeAndNamesTheOthers) {
  const std::vector<std::pair<int32_t, DType>> read = {
      {TensorProto::FLOAT, DType::kF32},  {TensorProto::FLOAT16, DType::kF32},
      {TensorProto::DOUBLE, DType::kF64}, {TensorProto::INT64, DType::kI64},
      {TensorProto::UINT32, DType::kI64}, {TensorProto::INT32, DType::kI32},
      {TensorProto::INT16, DType::kI32},  {TensorProto::UINT16, DType::kI32},
      {TensorProto::INT8, DType::kI8},    {TensorProto::UINT8, DType::kU8},
      {TensorProto::BOOL, DType::kBool},
  };
  for (const auto& [onnx_type, dtype] : read) {
    auto d = DTypeFromOnnx(onnx_type);
    ASSERT_TRUE(d.ok()) << onnx_type;
    EXPECT_EQ(*d, dtype) << onnx_type;
  }
  auto bf16 = DTypeFromOnnx(TensorProto::BFLOAT16);
  ASSERT_FALSE(bf16.ok());
  EXPECT_EQ(bf16.status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(bf16.status().message(), "element type BFLOAT16 is not supported");
  EXPECT_EQ(DTypeFromOnnx(999).status().message(), "element type 999 is not supported");
}

}  // namespace
}  // namespace mixq
