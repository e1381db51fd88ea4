// Conversion of onnx.TensorProto (initializers, Constant values, test data)
// into mixq Tensors. float16 becomes float32 and the narrow integer types
// (int16, uint16, uint32) widen, so the rest of mixq only sees the DTypes of
// common/tensor.h (engine/ir/onnx_dtype.h's table says how each type is
// stored and converted). Tensors stored in external files are refused.
#ifndef MIXQ_ENGINE_ONNX_TENSOR_PROTO_H_
#define MIXQ_ENGINE_ONNX_TENSOR_PROTO_H_

#include <onnx/onnx_pb.h>

#include "common/status.h"
#include "common/tensor.h"

namespace mixq {

// Messages name the tensor but not the file: callers add that context.
StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto);

}  // namespace mixq

#endif  // MIXQ_ENGINE_ONNX_TENSOR_PROTO_H_
