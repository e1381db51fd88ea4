// INT8 lowerings: the nodes PrecisionPlan marks INT8. Layers (Conv, Gemm as
// an inner product, MatMul with constant B) take u8/s8 sources, s8 weights
// quantised per output channel at compile time (a MatMul of two run-time
// tensors: B quantised per tensor at run time), f32 bias in accumulator
// units, per-channel output scales and fused post-ops, and write u8/s8 (read
// by INT8 consumers in oneDNN's layout, no reorder) or f32 directly. An f32
// source is quantised by one reorder with a scale. Followers (pooling,
// reshape, concat, add, a squeeze-excitation mul) keep tensors INT8.
//
// Scales follow the dequantising convention of QuantParams (real = q * s).
// With source scale a, weight scale b[oc] and destination scale d:
//   output scale[oc] = a * b[oc] / D,  bias_q[oc] = bias[oc] / (a * b[oc]),
// where D, the domain the post-ops see, is d when every eltwise post-op
// commutes with a positive scale (ReLU, LeakyReLU, Clip with bounds / d) and
// 1 (real values) otherwise; a final eltwise_linear(1 / d) then quantises.
// A residual sum adds (buffer scale / D) * dst, the buffer holding the
// residual either as it is stored (same type) or requantised to d.
#ifndef MIXQ_ENGINE_RUNTIME_LOWER_INT8_LOWERING_H_
#define MIXQ_ENGINE_RUNTIME_LOWER_INT8_LOWERING_H_

#include <dnnl.hpp>
#include <vector>

#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/quant/precision_plan.h"
#include "engine/runtime/lower/compile_context.h"

namespace mixq {

using Int8LowerFn = Status (*)(const Node& node, const PrecisionPlan& plan, CompileContext* ctx);

// The INT8 lowering of `op`, or nullptr when there is none.
Int8LowerFn FindInt8Lowering(OpType op);

Status LowerConvInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx);
Status LowerGemmInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx);
Status LowerMatMulInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx);
// A MatMul whose B is computed at run time (LowerMatMulInt8 hands it on).
Status LowerRunTimeMatMulInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx);
Status LowerConvTransposeInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx);
Status LowerPoolInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx);
Status LowerReshapeInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx);
Status LowerConcatInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx);
// Add, and Mul by a same-shaped or per-channel operand.
Status LowerBinaryInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx);
// Softmax writing its output quantised (f32 computation).
Status LowerSoftmaxInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx);

// --- helpers shared by the INT8 lowerings (int8_common.cc) ---

// u8 for unsigned parameters, s8 otherwise.
dnnl::memory::data_type Int8Type(const QuantParams& params);
// `desc` with another 1-byte data type (same layout).
dnnl::memory::desc WithType(const dnnl::memory::desc& desc, dnnl::memory::data_type type);

// Post-ops of an INT8 primitive whose destination has scale `dst_scale`
// (1 for f32), and the domain D they run in (see the file comment). A fused
// sum adds residual.scale / D times the destination buffer read as
// residual.type (undef: the destination's type).
struct Int8Residual {
  float scale = 1.f;
  dnnl::memory::data_type type = dnnl::memory::data_type::undef;
};
struct Int8Epilogue {
  dnnl::post_ops post_ops;
  float domain = 1.f;
};
StatusOr<Int8Epilogue> Int8PostOps(const Node& node, float dst_scale,
                                   const Int8Residual& residual = {}, dnnl::post_ops leading = {});

// The source `value` of an INT8 node in `desc` (u8/s8): its INT8 memory
// (reordered only if the layout differs) or its f32 memory quantised with
// `params`.
StatusOr<dnnl::memory> Int8Source(const std::string& value, const QuantParams& params,
                                  const dnnl::memory::desc& desc, const PrecisionPlan& plan,
                                  CompileContext* ctx);

// How an INT8 layer (no fused residual) reads and writes: its source's
// parameters, its destination's (nullptr: an f32 destination), 7-bit
// weights or not.
struct Int8LayerPrecision {
  QuantParams src;
  const QuantParams* dst = nullptr;
  dnnl::memory::data_type dst_type = dnnl::memory::data_type::f32;
  float dst_scale = 1.f;
  bool seven_bit = false;
};
StatusOr<Int8LayerPrecision> Int8LayerPrecisionOf(const Node& node, const PrecisionPlan& plan);

// Output scales (src scale * w_scales[c] / D, over the dims `mask` selects)
// and post-ops (Int8PostOps) of such a layer.
StatusOr<dnnl::primitive_attr> Int8LayerAttr(const Node& node, const Int8LayerPrecision& lp,
                                             const std::vector<float>& w_scales, int mask);

// Per-channel s8 weights of a layer and their dequantising scales.
struct Int8Weights {
  Tensor q;  // int8, shape of the f32 weights
  std::vector<float> scales;
};
StatusOr<Int8Weights> QuantizeLayerWeights(const Tensor& w, int channel_axis, bool seven_bit);

// Bias in accumulator units: bias[c] / (src_scale * w_scales[c]), rounded to
// an integer (int32 bias semantics, as QDQ models carry it).
Tensor AccumulatorBias(const Tensor& bias, float src_scale, const std::vector<float>& w_scales);

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_LOWER_INT8_LOWERING_H_
