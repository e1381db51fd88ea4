#include "engine/onnx/tensor_proto.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "engine/ir/onnx_dtype.h"

namespace mixq {
namespace {

// Large enough for any real model, small enough that a corrupt dims field
// cannot make us allocate terabytes.
constexpr int64_t kMaxElements = int64_t{1} << 34;

std::string TensorLabel(const onnx::TensorProto& proto) { return "tensor '" + proto.name() + "'"; }

template <typename Dst, typename Field>
void CopyField(const Field& field, Tensor* tensor) {
  Dst* out = tensor->data<Dst>();
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<Dst>(field.Get(i));
}

// Copies little-endian raw bytes of element type Src into the tensor,
// converting to its dtype.
template <typename Src, typename Dst>
void CopyRaw(const std::string& raw, Tensor* tensor) {
  Dst* out = tensor->data<Dst>();
  for (int64_t i = 0; i < tensor->size(); ++i) {
    Src v;
    std::memcpy(&v, raw.data() + i * sizeof(Src), sizeof(Src));
    out[i] = static_cast<Dst>(v);
  }
}

}  // namespace

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

StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto) {
  if (proto.data_location() == onnx::TensorProto::EXTERNAL || proto.external_data_size() > 0) {
    return Unimplemented(TensorLabel(proto) +
                         " stores its data in an external file, which mixq does not read; "
                         "save the model with all tensors inline");
  }
  if (proto.has_segment()) {
    return Unimplemented(TensorLabel(proto) + " is segmented, which mixq does not read");
  }
  auto dtype_or = DTypeFromOnnx(proto.data_type());
  if (!dtype_or.ok()) return Unimplemented(TensorLabel(proto) + ": " + dtype_or.status().message());
  const DType dtype = *dtype_or;
  Shape shape;
  int64_t count = 1;
  for (int64_t d : proto.dims()) {
    if (d < 0 || (d > 0 && count > kMaxElements / d)) {
      return DataLoss(TensorLabel(proto) + " has an invalid or oversized shape");
    }
    shape.push_back(d);
    count *= d;
  }
  const int32_t type = proto.data_type();
  size_t src_size = 0;  // bytes per element in raw_data
  switch (type) {
    case onnx::TensorProto::FLOAT:
      src_size = 4;
      break;
    case onnx::TensorProto::FLOAT16:
      src_size = 2;
      break;
    case onnx::TensorProto::DOUBLE:
      src_size = 8;
      break;
    case onnx::TensorProto::INT64:
      src_size = 8;
      break;
    case onnx::TensorProto::UINT32:
      src_size = 4;
      break;
    case onnx::TensorProto::INT32:
      src_size = 4;
      break;
    case onnx::TensorProto::INT16:
      src_size = 2;
      break;
    case onnx::TensorProto::UINT16:
      src_size = 2;
      break;
    default:
      src_size = 1;
      break;
  }

  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    if (raw.size() != static_cast<size_t>(count) * src_size) {
      return DataLoss(TensorLabel(proto) + " has " + std::to_string(raw.size()) +
                      " bytes of raw data, its shape " + ShapeToString(shape) + " needs " +
                      std::to_string(count * src_size));
    }
    Tensor tensor(dtype, shape);
    switch (type) {
      case onnx::TensorProto::FLOAT16: {
        float* out = tensor.data<float>();
        for (int64_t i = 0; i < count; ++i) {
          uint16_t bits;
          std::memcpy(&bits, raw.data() + i * 2, 2);
          out[i] = HalfToFloat(bits);
        }
        break;
      }
      case onnx::TensorProto::UINT32:
        CopyRaw<uint32_t, int64_t>(raw, &tensor);
        break;
      case onnx::TensorProto::INT16:
        CopyRaw<int16_t, int32_t>(raw, &tensor);
        break;
      case onnx::TensorProto::UINT16:
        CopyRaw<uint16_t, int32_t>(raw, &tensor);
        break;
      case onnx::TensorProto::BOOL:
        CopyRaw<uint8_t, uint8_t>(raw, &tensor);
        break;
      default:
        if (!raw.empty()) std::memcpy(tensor.raw(), raw.data(), raw.size());
        break;
    }
    if (type == onnx::TensorProto::BOOL) {
      uint8_t* out = tensor.data<uint8_t>();
      for (int64_t i = 0; i < count; ++i) out[i] = out[i] != 0;
    }
    return tensor;
  }

  // Typed fields: which one holds the data depends on the element type.
  int64_t stored = 0;
  switch (type) {
    case onnx::TensorProto::FLOAT:
      stored = proto.float_data_size();
      break;
    case onnx::TensorProto::DOUBLE:
      stored = proto.double_data_size();
      break;
    case onnx::TensorProto::INT64:
      stored = proto.int64_data_size();
      break;
    case onnx::TensorProto::UINT32:
      stored = proto.uint64_data_size();
      break;
    default:
      stored = proto.int32_data_size();
      break;
  }
  if (stored != count) {
    return DataLoss(TensorLabel(proto) + " has " + std::to_string(stored) + " values, its shape " +
                    ShapeToString(shape) + " needs " + std::to_string(count));
  }
  Tensor tensor(dtype, shape);
  switch (type) {
    case onnx::TensorProto::FLOAT:
      CopyField<float>(proto.float_data(), &tensor);
      break;
    case onnx::TensorProto::DOUBLE:
      CopyField<double>(proto.double_data(), &tensor);
      break;
    case onnx::TensorProto::INT64:
      CopyField<int64_t>(proto.int64_data(), &tensor);
      break;
    case onnx::TensorProto::UINT32:
      CopyField<int64_t>(proto.uint64_data(), &tensor);
      break;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
      CopyField<int32_t>(proto.int32_data(), &tensor);
      break;
    case onnx::TensorProto::INT8:
      CopyField<int8_t>(proto.int32_data(), &tensor);
      break;
    case onnx::TensorProto::UINT8:
      CopyField<uint8_t>(proto.int32_data(), &tensor);
      break;
    case onnx::TensorProto::BOOL: {
      uint8_t* out = tensor.data<uint8_t>();
      for (int64_t i = 0; i < count; ++i) out[i] = proto.int32_data(static_cast<int>(i)) != 0;
      break;
    }
    case onnx::TensorProto::FLOAT16: {
      float* out = tensor.data<float>();
      for (int64_t i = 0; i < count; ++i) {
        out[i] = HalfToFloat(static_cast<uint16_t>(proto.int32_data(static_cast<int>(i))));
      }
      break;
    }
    default:
      break;
  }
  return tensor;
}

}  // namespace mixq
