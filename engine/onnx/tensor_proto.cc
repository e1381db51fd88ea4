#include "engine/onnx/tensor_proto.h"

#include <string>

#include "engine/ir/onnx_dtype.h"

namespace mixq {
namespace {

// Large enough for any real model, small enough that a corrupt dims field
// cannot make us allocate terabytes.
constexpr int64_t kMaxElements = int64_t{1} << 34;

std::string TensorLabel(const onnx::TensorProto& proto) { return "tensor '" + proto.name() + "'"; }

}  // namespace

StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto) {
  if (proto.data_location() == onnx::TensorProto::EXTERNAL || proto.external_data_size() > 0) {
    return Unimplemented(TensorLabel(proto) +
                         " stores its data in an external file, which mixq does not read; "
                         "save the model with all tensors inline");
  }
  if (proto.has_segment()) {
    return Unimplemented(TensorLabel(proto) + " is segmented, which mixq does not read");
  }
  auto type_or = FindOnnxElementType(proto.data_type());
  if (!type_or.ok()) return Unimplemented(TensorLabel(proto) + ": " + type_or.status().message());
  const OnnxElementType& type = **type_or;
  Shape shape;
  int64_t count = 1;
  for (int64_t d : proto.dims()) {
    if (d < 0 || (d > 0 && count > kMaxElements / d)) {
      return DataLoss(TensorLabel(proto) + " has an invalid or oversized shape");
    }
    shape.push_back(d);
    count *= d;
  }
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    if (raw.size() != static_cast<size_t>(count) * type.raw_size) {
      return DataLoss(TensorLabel(proto) + " has " + std::to_string(raw.size()) +
                      " bytes of raw data, its shape " + ShapeToString(shape) + " needs " +
                      std::to_string(count * type.raw_size));
    }
    Tensor tensor(type.dtype, shape);
    type.from_raw(raw.data(), &tensor);
    return tensor;
  }

  const int64_t stored = type.field_size(proto);
  if (stored != count) {
    return DataLoss(TensorLabel(proto) + " has " + std::to_string(stored) + " values, its shape " +
                    ShapeToString(shape) + " needs " + std::to_string(count));
  }
  Tensor tensor(type.dtype, shape);
  type.from_field(proto, &tensor);
  return tensor;
}

}  // namespace mixq
