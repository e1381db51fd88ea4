#include "engine/ir/onnx_dtype.h"

#include <onnx/onnx_pb.h>

#include <string>

namespace mixq {

StatusOr<DType> DTypeFromOnnx(int32_t onnx_type) {
  switch (onnx_type) {
    case onnx::TensorProto::FLOAT:
      return DType::kF32;
    case onnx::TensorProto::FLOAT16:
      return DType::kF32;
    case onnx::TensorProto::DOUBLE:
      return DType::kF64;
    case onnx::TensorProto::INT64:
      return DType::kI64;
    case onnx::TensorProto::UINT32:
      return DType::kI64;
    case onnx::TensorProto::INT32:
      return DType::kI32;
    case onnx::TensorProto::INT16:
      return DType::kI32;
    case onnx::TensorProto::UINT16:
      return DType::kI32;
    case onnx::TensorProto::INT8:
      return DType::kI8;
    case onnx::TensorProto::UINT8:
      return DType::kU8;
    case onnx::TensorProto::BOOL:
      return DType::kBool;
    default:
      break;
  }
  const std::string name =
      onnx::TensorProto::DataType_IsValid(onnx_type)
          ? onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(onnx_type))
          : std::to_string(onnx_type);
  return Unimplemented("element type " + name + " is not supported");
}

}  // namespace mixq
