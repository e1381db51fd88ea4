// INT8 Gemm (as an inner product: constant B, no transA, C a constant row or
// absent) and MatMul with a constant 2-D B. Alpha is folded into the weights
// before they are quantised, beta into the bias; weight scales are per
// output column (inner-product weights [N, K]: axis 0 of B when transB, else
// axis 1; MatMul's B [K, N]: axis 1).
#include "engine/runtime/lower/int8_lowering.h"
#include "engine/runtime/lower/lowering.h"

namespace mixq {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

struct LayerPrecision {
  QuantParams src;
  const QuantParams* dst = nullptr;  // nullptr: f32 destination
  dt dst_type = dt::f32;
  float dst_scale = 1.f;
  bool seven_bit = false;
};

StatusOr<LayerPrecision> PrecisionOf(const Node& node, const PrecisionPlan& plan) {
  auto it = plan.source_params.find(node.name);
  if (it == plan.source_params.end()) return Internal("INT8 layer without source parameters");
  LayerPrecision lp;
  lp.src = it->second;
  lp.dst = plan.Int8Value(node.outputs[0]);
  if (lp.dst) {
    lp.dst_type = Int8Type(*lp.dst);
    lp.dst_scale = lp.dst->dequant_scale;
  }
  lp.seven_bit = plan.seven_bit_layers.count(node.name) != 0;
  return lp;
}

// Output scales and post-ops of an INT8 layer with weight scales `w_scales`.
StatusOr<dnnl::primitive_attr> LayerAttr(const Node& node, const LayerPrecision& lp,
                                         const std::vector<float>& w_scales, int mask) {
  MIXQ_ASSIGN_OR_RETURN(Int8Epilogue epilogue, Int8PostOps(node, lp.dst_scale));
  std::vector<float> oscales(w_scales.size());
  for (size_t c = 0; c < oscales.size(); ++c) {
    oscales[c] = lp.src.dequant_scale * w_scales[c] / epilogue.domain;
  }
  dnnl::primitive_attr attr;
  attr.set_output_scales(mask, oscales);
  attr.set_post_ops(epilogue.post_ops);
  return attr;
}

}  // namespace

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
  MIXQ_ASSIGN_OR_RETURN(LayerPrecision lp, PrecisionOf(node, plan));
  MIXQ_ASSIGN_OR_RETURN(Int8Weights w, QuantizeLayerWeights(alpha == 1.f ? *b : Scaled(*b, alpha),
                                                            trans_b ? 0 : 1, lp.seven_bit));
  MIXQ_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, LayerAttr(node, lp, w.scales, 1 << 1));

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
  if (b == nullptr || b->rank() != 2) return Unimplemented("INT8 MatMul needs a constant 2-D B");
  MIXQ_ASSIGN_OR_RETURN(memory::dims a_dims, ctx->Dims(node.inputs[0]));
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  const size_t rank = a_dims.size();
  if (rank < 2 || rank > 6 || a_dims[rank - 1] != b->shape()[0]) {
    return InvalidArgument("INT8 MatMul needs A of rank 2..6 matching B's rows");
  }
  memory::dims w_dims(rank, 1);
  w_dims[rank - 2] = b->shape()[0];
  w_dims[rank - 1] = b->shape()[1];
  memory::dims d_dims = a_dims;
  d_dims[rank - 1] = b->shape()[1];
  MIXQ_ASSIGN_OR_RETURN(LayerPrecision lp, PrecisionOf(node, plan));
  MIXQ_ASSIGN_OR_RETURN(Int8Weights w, QuantizeLayerWeights(*b, 1, lp.seven_bit));
  MIXQ_ASSIGN_OR_RETURN(dnnl::primitive_attr attr,
                        LayerAttr(node, lp, w.scales, 1 << (static_cast<int>(rank) - 1)));

  memory::desc src_md = PlainDesc(a_dims, Int8Type(lp.src));
  memory::desc dst_md = PlainDesc(d_dims, lp.dst_type);
  dnnl::matmul::desc desc(src_md, memory::desc(w_dims, dt::s8, tag::any), dst_md);
  dnnl::matmul::primitive_desc pd(desc, attr, ctx->engine());
  std::unordered_map<int, memory> args;
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_SRC], Int8Source(node.inputs[0], lp.src, src_md, plan, ctx));
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_WEIGHTS],
                        ctx->ConstantAs(w.q, PlainDesc(w_dims, dt::s8), pd.weights_desc()));
  memory dst = ctx->NewBuffer(dst_md);
  if (d_dims == y_dims) {
    ctx->DefineSame(node.outputs[0], dst);
  } else {
    ctx->DefineAlias(node.outputs[0], PlainDesc(y_dims, lp.dst_type), dst);
  }
  args[DNNL_ARG_DST] = dst;
  ctx->AddStep("matmul", dnnl::matmul(pd), pd.impl_info_str(), std::move(args));
  return Status::Ok();
}

}  // namespace mixq
