// FP32 Gemm and MatMul. Gemm with a constant B, no transposed A and a
// per-column (or absent) C is an inner product (format_tag::any, weights
// reordered once with alpha folded in); every other Gemm and every MatMul is
// a oneDNN matmul that reads transposed operands through strides and adds C
// as a broadcasting binary post-op.
#include <algorithm>

#include "engine/runtime/lower/lowering.h"
#include "engine/runtime/lower/post_ops.h"

namespace mixq {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

Tensor Scaled(const Tensor& tensor, float factor) {
  Tensor out(tensor);
  float* p = out.data<float>();
  for (int64_t i = 0; i < out.size(); ++i) p[i] *= factor;
  return out;
}

namespace {

// Descriptor reading a stored row-major [rows, cols] matrix as its transpose.
memory::desc TransposedDesc(int64_t rows, int64_t cols) {
  return memory::desc({cols, rows}, dt::f32, memory::dims{1, cols});
}

// `dims` with leading 1s up to `rank`.
memory::dims PadRank(memory::dims dims, size_t rank) {
  while (dims.size() < rank) dims.insert(dims.begin(), 1);
  return dims;
}

Status LowerGemmInnerProduct(const Node& node, CompileContext* ctx, const Tensor& b, int64_t k,
                             int64_t n, const Tensor* c) {
  const float alpha = node.attrs.Float("alpha", 1.f);
  const float beta = node.attrs.Float("beta", 1.f);
  const bool trans_b = node.attrs.Int("transB", 0) != 0;
  MIXQ_ASSIGN_OR_RETURN(memory::dims a_dims, ctx->Dims(node.inputs[0]));
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  memory::desc src_md(a_dims, dt::f32, tag::any);
  memory::desc w_md({n, k}, dt::f32, tag::any);
  memory::desc b_md({n}, dt::f32, tag::x);
  memory::desc dst_md(y_dims, dt::f32, tag::any);
  auto prop = dnnl::prop_kind::forward_inference;
  auto desc = c ? dnnl::inner_product_forward::desc(prop, src_md, w_md, b_md, dst_md)
                : dnnl::inner_product_forward::desc(prop, src_md, w_md, dst_md);
  MIXQ_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, PostOpsAttr(node));
  dnnl::inner_product_forward::primitive_desc pd(desc, attr, ctx->engine());

  std::unordered_map<int, memory> args;
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_SRC], ctx->ValueAs(node.inputs[0], pd.src_desc()));
  // Inner-product weights are [N, K]: B as stored when transB, else B^T.
  memory::desc b_stored = trans_b ? PlainDesc({n, k}) : TransposedDesc(k, n);
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_WEIGHTS], ctx->ConstantAs(alpha == 1.f ? b : Scaled(b, alpha),
                                                                b_stored, pd.weights_desc()));
  if (c) {
    MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_BIAS],
                          ctx->ConstantAs(beta == 1.f ? *c : Scaled(*c, beta), b_md, b_md));
  }
  args[DNNL_ARG_DST] = ctx->DefineValue(node.outputs[0], pd.dst_desc());
  ctx->AddStep("inner_product", dnnl::inner_product_forward(pd), pd.impl_info_str(),
               std::move(args));
  return Status::Ok();
}

// matmul src x weights -> dst (all already rank-matched), with optional
// additive term `c` (a memory broadcastable to dst) and output scale.
struct MatMulPlan {
  memory::desc src_md, w_md, dst_md;
  memory src, weights;  // weights empty when constant (see const_weights)
  const Tensor* const_weights = nullptr;
  memory::desc const_weights_stored;
  memory c;  // empty when none
  float scale = 1.f;
};

// B of a matmul as stored with descriptor `w_md`: a constant to reorder once
// at compile time, or a view of the computed value.
Status SetWeights(const Node& node, CompileContext* ctx, const Tensor* b_const,
                  const memory::desc& w_md, MatMulPlan* plan) {
  plan->w_md = w_md;
  if (b_const) {
    plan->const_weights = b_const;
    plan->const_weights_stored = w_md;
    return Status::Ok();
  }
  MIXQ_ASSIGN_OR_RETURN(memory b, ctx->PlainValue(node.inputs[1]));
  plan->weights = ctx->View(b, w_md);
  return Status::Ok();
}

Status EmitMatMul(const Node& node, CompileContext* ctx, MatMulPlan plan, memory dst) {
  dnnl::post_ops bias_add;
  if (plan.c) bias_add.append_binary(dnnl::algorithm::binary_add, plan.c.get_desc());
  MIXQ_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, PostOpsAttr(node, bias_add));
  if (plan.scale != 1.f) attr.set_output_scales(0, {plan.scale});
  memory::desc w_md =
      plan.const_weights ? memory::desc(plan.w_md.dims(), dt::f32, tag::any) : plan.w_md;
  dnnl::matmul::desc desc(plan.src_md, w_md, plan.dst_md);
  dnnl::matmul::primitive_desc pd(desc, attr, ctx->engine());
  std::unordered_map<int, memory> args;
  args[DNNL_ARG_SRC] = plan.src;
  if (plan.const_weights) {
    MIXQ_ASSIGN_OR_RETURN(
        args[DNNL_ARG_WEIGHTS],
        ctx->ConstantAs(*plan.const_weights, plan.const_weights_stored, pd.weights_desc()));
  } else {
    args[DNNL_ARG_WEIGHTS] = plan.weights;
  }
  if (plan.c) args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = plan.c;
  args[DNNL_ARG_DST] = dst;
  ctx->AddStep("matmul", dnnl::matmul(pd), pd.impl_info_str(), std::move(args));
  return Status::Ok();
}

}  // namespace

Status LowerGemm(const Node& node, CompileContext* ctx) {
  if (node.inputs.size() < 2) return InvalidArgument("Gemm needs inputs A and B");
  MIXQ_ASSIGN_OR_RETURN(memory::dims a_dims, ctx->Dims(node.inputs[0]));
  MIXQ_ASSIGN_OR_RETURN(memory::dims b_dims, ctx->Dims(node.inputs[1]));
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  if (a_dims.size() != 2 || b_dims.size() != 2 || y_dims.size() != 2) {
    return InvalidArgument("Gemm operands must be 2-D");
  }
  const bool trans_a = node.attrs.Int("transA", 0) != 0;
  const bool trans_b = node.attrs.Int("transB", 0) != 0;
  const float alpha = node.attrs.Float("alpha", 1.f);
  const float beta = node.attrs.Float("beta", 1.f);
  const int64_t m = trans_a ? a_dims[1] : a_dims[0];
  const int64_t k = trans_a ? a_dims[0] : a_dims[1];
  const int64_t n = trans_b ? b_dims[0] : b_dims[1];
  if ((trans_b ? b_dims[1] : b_dims[0]) != k || y_dims[0] != m || y_dims[1] != n) {
    return InvalidArgument("Gemm shapes do not agree");
  }
  const std::string c_name = node.inputs.size() > 2 ? node.inputs[2] : "";
  const Tensor* b_const = ctx->FindConstant(node.inputs[1]);
  const Tensor* c_const = c_name.empty() ? nullptr : ctx->FindConstant(c_name);
  memory::dims c_dims;
  if (!c_name.empty()) {
    MIXQ_ASSIGN_OR_RETURN(c_dims, ctx->Dims(c_name));
    if (c_dims.size() > 2) return InvalidArgument("Gemm C has rank > 2");
    c_dims = PadRank(c_dims, 2);
  }
  const bool c_is_row = !c_name.empty() && c_dims[0] == 1 && c_dims[1] == n;
  if (b_const && !trans_a && (c_name.empty() || (c_const && c_is_row))) {
    return LowerGemmInnerProduct(node, ctx, *b_const, k, n, c_const);
  }

  MatMulPlan plan;
  MIXQ_ASSIGN_OR_RETURN(memory a, ctx->PlainValue(node.inputs[0]));
  plan.src_md = trans_a ? TransposedDesc(k, m) : PlainDesc({m, k});
  plan.src = ctx->View(a, plan.src_md);
  MIXQ_RETURN_IF_ERROR(
      SetWeights(node, ctx, b_const, trans_b ? TransposedDesc(n, k) : PlainDesc({k, n}), &plan));
  Tensor scaled_b;
  if (alpha != 1.f) {
    if (b_const) {
      scaled_b = Scaled(*b_const, alpha);
      plan.const_weights = &scaled_b;
    } else {
      plan.scale = alpha;
    }
  }
  if (!c_name.empty() && beta != 0.f) {
    if (c_const) {
      MIXQ_ASSIGN_OR_RETURN(plan.c, ctx->ConstantAs(beta == 1.f ? *c_const : Scaled(*c_const, beta),
                                                    PlainDesc(c_dims), PlainDesc(c_dims)));
    } else {
      if (beta != 1.f) return Unimplemented("Gemm with a computed C and beta != 1");
      MIXQ_ASSIGN_OR_RETURN(memory c, ctx->PlainValue(c_name));
      plan.c = ctx->View(c, PlainDesc(c_dims));
    }
  }
  plan.dst_md = PlainDesc({m, n});
  memory dst = ctx->DefineValue(node.outputs[0], plan.dst_md);
  return EmitMatMul(node, ctx, std::move(plan), dst);
}

StatusOr<MatMulDims> BroadcastMatMulDims(const Node& node, CompileContext* ctx) {
  if (node.inputs.size() != 2) return InvalidArgument("MatMul needs inputs A and B");
  MIXQ_ASSIGN_OR_RETURN(memory::dims a_dims, ctx->Dims(node.inputs[0]));
  MIXQ_ASSIGN_OR_RETURN(memory::dims b_dims, ctx->Dims(node.inputs[1]));
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  // numpy: a 1-D A is a row, a 1-D B a column; those dims leave the result.
  if (ctx->graph().values.at(node.inputs[0]).shape.size() == 1) a_dims.insert(a_dims.begin(), 1);
  if (ctx->graph().values.at(node.inputs[1]).shape.size() == 1) b_dims.push_back(1);
  const size_t rank = std::max(a_dims.size(), b_dims.size());
  if (rank > 6) return Unimplemented("MatMul of rank > 6");
  a_dims = PadRank(a_dims, rank);
  b_dims = PadRank(b_dims, rank);
  memory::dims d_dims(rank);
  for (size_t i = 0; i + 2 < rank; ++i) {
    if (a_dims[i] != b_dims[i] && a_dims[i] != 1 && b_dims[i] != 1) {
      return InvalidArgument("MatMul batch dims do not broadcast");
    }
    d_dims[i] = std::max(a_dims[i], b_dims[i]);
  }
  d_dims[rank - 2] = a_dims[rank - 2];
  d_dims[rank - 1] = b_dims[rank - 1];
  if (a_dims[rank - 1] != b_dims[rank - 2]) return InvalidArgument("MatMul inner dims differ");
  int64_t y_count = 1, d_count = 1;
  for (auto d : y_dims) y_count *= d;
  for (auto d : d_dims) d_count *= d;
  if (y_count != d_count) return InvalidArgument("MatMul output shape does not agree");
  // A B without batch dims (a weight matrix) is the same for every batch
  // entry of A: A's batch dims fold into its rows, one GEMM instead of a
  // batch of small ones (torch's attention projections on [L, N, E] were 197
  // GEMVs that each read the whole weight: ViT-B/16 at batch 1, 0.31x ORT).
  const bool b_batched =
      std::any_of(b_dims.begin(), b_dims.end() - 2, [](int64_t d) { return d != 1; });
  if (!b_batched && rank > 2) {
    int64_t rows = a_dims[rank - 2];
    for (size_t i = 0; i + 2 < rank; ++i) {
      rows *= a_dims[i];
      a_dims[i] = d_dims[i] = 1;
    }
    a_dims[rank - 2] = d_dims[rank - 2] = rows;
  }
  return MatMulDims{a_dims, b_dims, d_dims, y_dims};
}

memory DefineMatMulOutput(const Node& node, const MatMulDims& dims, memory::data_type type,
                          CompileContext* ctx) {
  memory dst = ctx->NewBuffer(PlainDesc(dims.dst, type));
  if (dims.dst == dims.y) {
    ctx->DefineSame(node.outputs[0], dst);
  } else {
    ctx->DefineAlias(node.outputs[0], PlainDesc(dims.y, type), dst);
  }
  return dst;
}

Status LowerMatMul(const Node& node, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(MatMulDims dims, BroadcastMatMulDims(node, ctx));
  MatMulPlan plan;
  plan.src_md = PlainDesc(dims.a);
  MIXQ_ASSIGN_OR_RETURN(memory a, ctx->PlainValue(node.inputs[0]));
  plan.src = ctx->View(a, plan.src_md);
  MIXQ_RETURN_IF_ERROR(
      SetWeights(node, ctx, ctx->FindConstant(node.inputs[1]), PlainDesc(dims.b), &plan));
  plan.dst_md = PlainDesc(dims.dst);
  memory dst = DefineMatMulOutput(node, dims, memory::data_type::f32, ctx);
  return EmitMatMul(node, ctx, std::move(plan), dst);
}

}  // namespace mixq
