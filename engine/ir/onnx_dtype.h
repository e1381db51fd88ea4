// ONNX's element types (TensorProto.DataType numbers, as tensors and Cast's
// `to` attribute carry them) and the DTypes of common/tensor.h that mixq
// computes in. The IR keeps ONNX's attribute values, so reading these
// numbers is part of it; float16 widens to float32 and the narrow integer
// types (int16, uint16, uint32) widen too.
#ifndef MIXQ_ENGINE_IR_ONNX_DTYPE_H_
#define MIXQ_ENGINE_IR_ONNX_DTYPE_H_

#include <cstdint>

#include "common/status.h"
#include "common/tensor.h"

namespace mixq {

// The DType an ONNX element type (TensorProto::DataType) maps to, or
// Unimplemented for types mixq does not handle.
StatusOr<DType> DTypeFromOnnx(int32_t onnx_type);

}  // namespace mixq

#endif  // MIXQ_ENGINE_IR_ONNX_DTYPE_H_
