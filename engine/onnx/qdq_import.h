// Import of QDQ models (ONNX Runtime's quantisation format, and mixq's own
// export): turns the QuantizeLinear/DequantizeLinear annotations of an
// imported graph into a float graph plus the QuantSpec that runs it as INT8.
//
//   Q -> DQ on an activation      -> QuantParams of that tensor (per-tensor
//                                    scale, zero point 0; u8 or s8 from the
//                                    zero point's type); both nodes removed.
//   DQ of a constant int8 weight  -> the float weight q * scale[c] (exactly
//                                    ONNX's dequantisation), and the Conv/
//                                    ConvTranspose/Gemm/MatMul reading it
//                                    becomes INT8.
//   Q -> DQ on both inputs of a   -> that MatMul is INT8 (attention's
//   MatMul of run-time tensors       products).
//   DQ of another constant (int32 -> its float value.
//   bias, ...)
// Layers whose weights all lie in [-63, 63] were exported with 7-bit
// weights: the spec says so, so that mixq requantises to the same values.
// Anything else (non-zero zero points, per-axis activation scales, a lone Q
// or DQ on an activation, Q/DQ pairs with different parameters) is refused
// with Unimplemented naming the node.
#ifndef MIXQ_ENGINE_ONNX_QDQ_IMPORT_H_
#define MIXQ_ENGINE_ONNX_QDQ_IMPORT_H_

#include <string>

#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/quant/quant_spec.h"

namespace mixq {

struct QdqModel {
  Graph graph;     // float graph, no Q/DQ nodes
  QuantSpec spec;  // empty when the model had no Q/DQ nodes
  bool has_qdq = false;
};

// `graph` as ImportOnnx() returns it (unspecialised).
StatusOr<QdqModel> QdqToQuantSpec(Graph graph);

// ImportOnnx() then QdqToQuantSpec().
StatusOr<QdqModel> ImportOnnxWithQdq(const std::string& path);

}  // namespace mixq

#endif  // MIXQ_ENGINE_ONNX_QDQ_IMPORT_H_
