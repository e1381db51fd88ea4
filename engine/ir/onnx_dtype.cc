#include "engine/ir/onnx_dtype.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

namespace mixq {
namespace {

using onnx::TensorProto;

// The typed fields of TensorProto, as types a row can name.
struct FloatData {
  static const auto& Of(const TensorProto& proto) { return proto.float_data(); }
};
struct DoubleData {
  static const auto& Of(const TensorProto& proto) { return proto.double_data(); }
};
struct Int32Data {
  static const auto& Of(const TensorProto& proto) { return proto.int32_data(); }
};
struct Int64Data {
  static const auto& Of(const TensorProto& proto) { return proto.int64_data(); }
};
struct Uint64Data {
  static const auto& Of(const TensorProto& proto) { return proto.uint64_data(); }
};

// How an element becomes a value of the tensor's storage type (to which the
// result is then static_cast). Each applies to a raw element and to a typed
// field's value alike, and works on the field's value as it is: an int16 in
// int32_data is not narrowed first, a bool is judged on all 32 bits.
struct AsIs {
  template <typename V>
  V operator()(V v) const {
    return v;
  }
};
struct NonZero {
  template <typename V>
  bool operator()(V v) const {
    return v != 0;
  }
};
struct FromHalfBits {
  template <typename V>
  float operator()(V v) const {
    return HalfToFloat(static_cast<uint16_t>(v));
  }
};

template <typename Field>
int64_t FieldSize(const TensorProto& proto) {
  return Field::Of(proto).size();
}

template <DType D, typename Raw, typename Convert>
void FromRaw(const char* raw, Tensor* out) {
  using Stored = StorageOf<D>;
  if constexpr (std::is_same_v<Raw, Stored> && std::is_same_v<Convert, AsIs>) {
    // The bytes are already the tensor's (float32 weights are most of a
    // model): one copy.
    if (out->bytes()) std::memcpy(out->raw(), raw, out->bytes());
  } else {
    Stored* dst = out->data<Stored>();
    for (int64_t i = 0; i < out->size(); ++i) {
      Raw v;
      std::memcpy(&v, raw + i * sizeof(Raw), sizeof(Raw));
      dst[i] = static_cast<Stored>(Convert()(v));
    }
  }
}

template <DType D, typename Field, typename Convert>
void FromField(const TensorProto& proto, Tensor* out) {
  using Stored = StorageOf<D>;
  const auto& values = Field::Of(proto);
  Stored* dst = out->data<Stored>();
  for (int i = 0; i < values.size(); ++i) dst[i] = static_cast<Stored>(Convert()(values.Get(i)));
}

// A row: elements of `kOnnx` are `Raw` in raw_data and sit in `Field`
// otherwise; `Convert` turns either into D's storage type.
template <int32_t kOnnx, DType D, typename Raw, typename Field, typename Convert = AsIs>
constexpr OnnxElementType Row() {
  return {kOnnx,
          D,
          sizeof(Raw),
          &FieldSize<Field>,
          &FromRaw<D, Raw, Convert>,
          &FromField<D, Field, Convert>};
}

// Every ONNX element type mixq reads. Where Raw is already D's storage type
// the raw bytes are copied as they are.
constexpr OnnxElementType kOnnxElementTypes[] = {
    Row<TensorProto::FLOAT, DType::kF32, float, FloatData>(),
    Row<TensorProto::FLOAT16, DType::kF32, uint16_t, Int32Data, FromHalfBits>(),
    Row<TensorProto::DOUBLE, DType::kF64, double, DoubleData>(),
    Row<TensorProto::INT64, DType::kI64, int64_t, Int64Data>(),
    Row<TensorProto::UINT32, DType::kI64, uint32_t, Uint64Data>(),
    Row<TensorProto::INT32, DType::kI32, int32_t, Int32Data>(),
    Row<TensorProto::INT16, DType::kI32, int16_t, Int32Data>(),
    Row<TensorProto::UINT16, DType::kI32, uint16_t, Int32Data>(),
    Row<TensorProto::INT8, DType::kI8, int8_t, Int32Data>(),
    Row<TensorProto::UINT8, DType::kU8, uint8_t, Int32Data>(),
    Row<TensorProto::BOOL, DType::kBool, uint8_t, Int32Data, NonZero>(),
};

}  // namespace

StatusOr<const OnnxElementType*> FindOnnxElementType(int32_t onnx_type) {
  for (const OnnxElementType& row : kOnnxElementTypes) {
    if (row.onnx_type == onnx_type) return &row;
  }
  const std::string name =
      TensorProto::DataType_IsValid(onnx_type)
          ? TensorProto::DataType_Name(static_cast<TensorProto::DataType>(onnx_type))
          : std::to_string(onnx_type);
  return Unimplemented("element type " + name + " is not supported");
}

StatusOr<DType> DTypeFromOnnx(int32_t onnx_type) {
  MIXQ_ASSIGN_OR_RETURN(const OnnxElementType* row, FindOnnxElementType(onnx_type));
  return row->dtype;
}

float HalfToFloat(uint16_t half) {
  const uint32_t sign = (half >> 15) & 1;
  const uint32_t exponent = (half >> 10) & 0x1f;
  const uint32_t mantissa = half & 0x3ff;
  float value;
  if (exponent == 0) {
    value = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    value = mantissa == 0 ? std::numeric_limits<float>::infinity()
                          : std::numeric_limits<float>::quiet_NaN();
  } else {
    value = std::ldexp(static_cast<float>(mantissa + 1024), static_cast<int>(exponent) - 25);
  }
  return sign ? -value : value;
}

}  // namespace mixq
