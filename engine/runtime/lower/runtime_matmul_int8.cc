// INT8 MatMul of two run-time tensors (attention's Q.K^T and .V): A is read
// as u8 or s8 with its own per-tensor parameters (u8 for a non-negative
// tensor such as a Softmax output), B as s8 with the signed parameters the
// precision plan derived from its calibration (oneDNN's matmul takes s8
// weights only), and one output scale s_a * s_b / D covers the whole
// product. Batch dims and their broadcasting are BroadcastMatMulDims', as
// in FP32; a transposed operand is whatever its producer wrote (plain).
#include "engine/runtime/lower/int8_lowering.h"
#include "engine/runtime/lower/lowering.h"

namespace mixq {

using dnnl::memory;
using dt = memory::data_type;

namespace {

// B in plain s8 with parameters `b`: its INT8 memory as it is when already
// stored so, otherwise quantised (or requantised) from its f32 (or INT8)
// memory into a buffer of this node's own (not cached per value: another
// consumer may read the same tensor as s8 with another scale). 7-bit B
// clips at +-63 also where a run-time value exceeds the calibrated
// threshold: a reorder would saturate at +-127 instead, and without VNNI
// such values bring the s16 overflow back.
StatusOr<memory> SignedOperand(const std::string& value, const QuantParams& b, bool seven_bit,
                               const PrecisionPlan& plan, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(memory::dims dims, ctx->Dims(value));
  const memory::desc s8 = PlainDesc(dims, dt::s8);
  const QuantParams* stored = plan.Int8Value(value);
  const float scale = (stored != nullptr ? stored->dequant_scale : 1.f) / b.dequant_scale;
  if (!seven_bit) {
    if (stored != nullptr && !stored->is_unsigned && scale == 1.f) return ctx->ValueAs(value, s8);
    MIXQ_ASSIGN_OR_RETURN(memory m, ctx->Value(value));
    memory q = ctx->NewBuffer(s8);
    ctx->AddReorder(m, q, scale);
    return q;
  }
  MIXQ_ASSIGN_OR_RETURN(memory m, ctx->PlainValue(value));
  const memory::dims ones(dims.size(), 1);
  Tensor factor(DType::kF32, Shape(ones.begin(), ones.end()));
  factor.data<float>()[0] = scale;
  MIXQ_ASSIGN_OR_RETURN(memory f, ctx->ConstantAs(factor, PlainDesc(ones), PlainDesc(ones)));
  dnnl::post_ops clip;
  clip.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, -63.f, 63.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(clip);
  dnnl::binary::desc desc(dnnl::algorithm::binary_mul, m.get_desc(), f.get_desc(), s8);
  dnnl::binary::primitive_desc pd(desc, attr, ctx->engine());
  memory q = ctx->NewBuffer(s8);
  ctx->AddStep("binary", dnnl::binary(pd), pd.impl_info_str(),
               {{DNNL_ARG_SRC_0, m}, {DNNL_ARG_SRC_1, f}, {DNNL_ARG_DST, q}});
  return q;
}

}  // namespace

Status LowerRunTimeMatMulInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx) {
  auto b_params = plan.operand_b_params.find(node.name);
  if (b_params == plan.operand_b_params.end()) {
    return Internal("INT8 MatMul of run-time tensors without parameters for B");
  }
  MIXQ_ASSIGN_OR_RETURN(MatMulDims dims, BroadcastMatMulDims(node, ctx));
  MIXQ_ASSIGN_OR_RETURN(Int8LayerPrecision lp, Int8LayerPrecisionOf(node, plan));
  MIXQ_ASSIGN_OR_RETURN(dnnl::primitive_attr attr,
                        Int8LayerAttr(node, lp, {b_params->second.dequant_scale}, 0));
  const dt src_type = Int8Type(lp.src);
  const memory::desc src_md = PlainDesc(dims.a, src_type);
  const memory::desc w_md = PlainDesc(dims.b, dt::s8);
  dnnl::matmul::desc desc(src_md, w_md, PlainDesc(dims.dst, lp.dst_type));
  dnnl::matmul::primitive_desc pd(desc, attr, ctx->engine());

  MIXQ_ASSIGN_OR_RETURN(memory::dims a_dims, ctx->Dims(node.inputs[0]));
  MIXQ_ASSIGN_OR_RETURN(memory a,
                        Int8Source(node.inputs[0], lp.src, PlainDesc(a_dims, src_type), plan, ctx));
  MIXQ_ASSIGN_OR_RETURN(memory b,
                        SignedOperand(node.inputs[1], b_params->second, lp.seven_bit, plan, ctx));
  std::unordered_map<int, memory> args;
  args[DNNL_ARG_SRC] = ctx->View(a, src_md);
  args[DNNL_ARG_WEIGHTS] = ctx->View(b, w_md);
  args[DNNL_ARG_DST] = DefineMatMulOutput(node, dims, lp.dst_type, ctx);
  ctx->AddStep("matmul", dnnl::matmul(pd), pd.impl_info_str(), std::move(args));
  return Status::Ok();
}

}  // namespace mixq
