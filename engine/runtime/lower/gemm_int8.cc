// INT8 Gemm (as an inner product: constant B, no transA, C a constant row or
// absent) and MatMul with a constant B of rank >= 2 (batch dims of A and B
// broadcast numpy-style). Alpha is folded into the weights before they are
// quantised, beta into the bias; weight scales are per output column
// (inner-product weights [N, K]: axis 0 of B when transB, else axis 1;
// MatMul's B [..., K, N]: the last axis, one scale shared by B's batch
// entries). A MatMul whose B is computed at run time is
// runtime_matmul_int8.cc's.
#include "engine/runtime/lower/int8_lowering.h"
#include "engine/runtime/lower/lowering.h"

namespace mixq {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

Status LowerGemmInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx) {
  if (node.inputs.size() < 2) return InvalidArgument("Gemm needs inputs A and B");
  const Tensor* b = ctx->FindConstant(node.inputs[1]);
  if (b == nullptr || b->rank() != 2) return Unimplemented("INT8 Gemm needs a constant 2-D B");
  const bool trans_b = node.attrs.Int("transB", 0) != 0;
  const float alpha = node.attrs.Float("alpha", 1.f);
  const float beta = node.attrs.Float("beta", 1.f);
  MIXQ_ASSIGN_OR_RETURN(memory::dims a_dims, ctx->Dims(node.inputs[0]));
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  const int64_t n = trans_b ? b->shape()[0] : b->shape()[1];
  const int64_t k = trans_b ? b->shape()[1] : b->shape()[0];
  const Tensor* c = node.inputs.size() > 2 && !node.inputs[2].empty()
                        ? ctx->FindConstant(node.inputs[2])
                        : nullptr;
  MIXQ_ASSIGN_OR_RETURN(Int8LayerPrecision lp, Int8LayerPrecisionOf(node, plan));
  MIXQ_ASSIGN_OR_RETURN(Int8Weights w, QuantizeLayerWeights(alpha == 1.f ? *b : Scaled(*b, alpha),
                                                            trans_b ? 0 : 1, lp.seven_bit));
  MIXQ_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, Int8LayerAttr(node, lp, w.scales, 1 << 1));

  memory::desc src_md(a_dims, Int8Type(lp.src), tag::any);
  memory::desc w_md({n, k}, dt::s8, tag::any);
  memory::desc b_md({n}, dt::f32, tag::x);
  memory::desc dst_md(y_dims, lp.dst_type, tag::any);
  auto prop = dnnl::prop_kind::forward_inference;
  auto desc = c ? dnnl::inner_product_forward::desc(prop, src_md, w_md, b_md, dst_md)
                : dnnl::inner_product_forward::desc(prop, src_md, w_md, dst_md);
  dnnl::inner_product_forward::primitive_desc pd(desc, attr, ctx->engine());

  std::unordered_map<int, memory> args;
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_SRC],
                        Int8Source(node.inputs[0], lp.src, pd.src_desc(), plan, ctx));
  // Inner-product weights are [N, K]: B as stored when transB, else B^T.
  memory::desc b_stored =
      trans_b ? PlainDesc({n, k}, dt::s8) : memory::desc({n, k}, dt::s8, memory::dims{1, n});
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_WEIGHTS], ctx->ConstantAs(w.q, b_stored, pd.weights_desc()));
  if (c) {
    Tensor bias =
        AccumulatorBias(beta == 1.f ? *c : Scaled(*c, beta), lp.src.dequant_scale, w.scales);
    MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_BIAS], ctx->ConstantAs(bias, b_md, b_md));
  }
  args[DNNL_ARG_DST] = ctx->DefineValue(node.outputs[0], pd.dst_desc());
  ctx->AddStep("inner_product", dnnl::inner_product_forward(pd), pd.impl_info_str(),
               std::move(args));
  return Status::Ok();
}

Status LowerMatMulInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx) {
  if (node.inputs.size() != 2) return InvalidArgument("MatMul needs inputs A and B");
  const Tensor* b = ctx->FindConstant(node.inputs[1]);
  if (b == nullptr) return LowerRunTimeMatMulInt8(node, plan, ctx);
  if (b->rank() < 2) {
    return Unimplemented("INT8 MatMul needs a constant B of rank >= 2");
  }
  MIXQ_ASSIGN_OR_RETURN(MatMulDims dims, BroadcastMatMulDims(node, ctx));
  const int rank = static_cast<int>(dims.dst.size());
  MIXQ_ASSIGN_OR_RETURN(Int8LayerPrecision lp, Int8LayerPrecisionOf(node, plan));
  // One scale per column of B, shared by its batch entries.
  MIXQ_ASSIGN_OR_RETURN(Int8Weights w,
                        QuantizeLayerWeights(*b, static_cast<int>(b->rank()) - 1, lp.seven_bit));
  MIXQ_ASSIGN_OR_RETURN(dnnl::primitive_attr attr,
                        Int8LayerAttr(node, lp, w.scales, 1 << (rank - 1)));

  const dt src_type = Int8Type(lp.src);
  MIXQ_ASSIGN_OR_RETURN(memory::dims a_dims, ctx->Dims(node.inputs[0]));
  memory::desc src_md = PlainDesc(dims.a, src_type);
  dnnl::matmul::desc desc(src_md, memory::desc(dims.b, dt::s8, tag::any),
                          PlainDesc(dims.dst, lp.dst_type));
  dnnl::matmul::primitive_desc pd(desc, attr, ctx->engine());
  std::unordered_map<int, memory> args;
  MIXQ_ASSIGN_OR_RETURN(memory a,
                        Int8Source(node.inputs[0], lp.src, PlainDesc(a_dims, src_type), plan, ctx));
  args[DNNL_ARG_SRC] = ctx->View(a, src_md);
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_WEIGHTS],
                        ctx->ConstantAs(w.q, PlainDesc(dims.b, dt::s8), pd.weights_desc()));
  args[DNNL_ARG_DST] = DefineMatMulOutput(node, dims, lp.dst_type, ctx);
  ctx->AddStep("matmul", dnnl::matmul(pd), pd.impl_info_str(), std::move(args));
  return Status::Ok();
}

}  // namespace mixq
