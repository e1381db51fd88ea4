// Conversion of onnx.TensorProto (initializers, Constant values, test data)
// into mixq Tensors. float16 becomes float32 and the narrow integer types
// (int16, uint16, uint32) widen, so the rest of mixq only sees the DTypes of
// common/tensor.h. Tensors stored in external files are refused.
#ifndef MIXQ_WORKER_TENSOR_PROTO_H_
#define MIXQ_WORKER_TENSOR_PROTO_H_

#include <onnx/onnx_pb.h>

#include "common/status.h"
#include "common/tensor.h"

namespace mixq {

// Messages name the tensor but not the file: callers add that context.
StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto);

// The DType an ONNX element type (TensorProto::DataType) maps to, or
// Unimplemented for types mixq does not handle.
StatusOr<DType> DTypeFromOnnx(int32_t onnx_type);

// float16 bits to float (handles subnormals, inf and NaN).
float HalfToFloat(uint16_t half);

}  // namespace mixq

#endif  // MIXQ_WORKER_TENSOR_PROTO_H_
