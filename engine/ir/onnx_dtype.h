// ONNX's element types (TensorProto.DataType numbers, as tensors and Cast's
// `to` attribute carry them) and the DTypes of common/tensor.h that mixq
// computes in. The IR keeps ONNX's attribute values, so reading these
// numbers is part of it; float16 widens to float32 and the narrow integer
// types (int16, uint16, uint32) widen too. One table in onnx_dtype.cc holds
// every type mixq reads, with how a TensorProto stores its elements, so that
// DTypeFromOnnx and the ONNX importer's TensorFromProto cannot disagree and
// a new type is one row.
#ifndef MIXQ_ENGINE_IR_ONNX_DTYPE_H_
#define MIXQ_ENGINE_IR_ONNX_DTYPE_H_

#include <onnx/onnx_pb.h>

#include <cstddef>
#include <cstdint>

#include "common/status.h"
#include "common/tensor.h"

namespace mixq {

// One ONNX element type that mixq reads.
struct OnnxElementType {
  int32_t onnx_type;  // TensorProto::DataType
  DType dtype;        // what mixq holds it as
  size_t raw_size;    // bytes per element in raw_data

  // Without raw_data the elements sit in one of TensorProto's typed fields
  // (int32_data for everything narrower than 32 bits, uint64_data for
  // uint32): the number of values that field holds.
  int64_t (*field_size)(const onnx::TensorProto& proto);
  // Fill every element of `out`, a tensor of `dtype`: from `raw`, holding
  // out->size() little-endian elements of raw_size bytes; or from the typed
  // field, which the caller has checked holds out->size() values.
  void (*from_raw)(const char* raw, Tensor* out);
  void (*from_field)(const onnx::TensorProto& proto, Tensor* out);
};

// The row for an ONNX element type (TensorProto::DataType), or Unimplemented
// ("element type BFLOAT16 is not supported") for types mixq does not handle.
StatusOr<const OnnxElementType*> FindOnnxElementType(int32_t onnx_type);

// The DType an ONNX element type maps to, or FindOnnxElementType's error.
StatusOr<DType> DTypeFromOnnx(int32_t onnx_type);

// float16 bits to float (handles subnormals, inf and NaN).
float HalfToFloat(uint16_t half);

}  // namespace mixq

#endif  // MIXQ_ENGINE_IR_ONNX_DTYPE_H_
