// Add/Sub/Mul/Div, and Min/Max/Sum/Mean of two inputs (LowerVariadic; other
// counts run on the host kernel; Mean is an add with a linear 1/2 post-op),
// with numpy broadcasting. oneDNN's binary primitive only broadcasts its
// second source, so: a broadcast first operand is swapped to second place
// (Sub and Div then fix the result with a post-op: -x, 1/x), and when both
// operands broadcast the first is expanded to the full shape.
// The result takes the full-shaped operand's layout, so blocked tensors stay
// blocked; a full-shaped second operand is brought to the same layout, and
// so is a per-channel one (a squeeze-excitation scale [N, C, 1, 1]):
// oneDNN's binary kernels broadcast it in the result's layout, while a plain
// one beside a blocked result falls to the reference kernel (100x slower).
// The pooled branch of an SE block computes it in that layout already, so
// no reorder comes between the branch and the multiply.
#include "engine/runtime/lower/host_op.h"
#include "engine/runtime/lower/lowering.h"
#include "engine/runtime/lower/post_ops.h"

namespace mixq {

using dnnl::algorithm;
using dnnl::memory;

namespace {

algorithm BinaryAlgorithm(OpType op) {
  switch (op) {
    case OpType::kSub:
      return algorithm::binary_sub;
    case OpType::kMul:
      return algorithm::binary_mul;
    case OpType::kDiv:
      return algorithm::binary_div;
    case OpType::kMin:
      return algorithm::binary_min;
    case OpType::kMax:
      return algorithm::binary_max;
    default:  // Add, Sum, Mean
      return algorithm::binary_add;
  }
}

memory::dims PaddedDims(const Shape& shape, size_t rank) {
  memory::dims dims(rank, 1);
  for (size_t i = 0; i < shape.size(); ++i) dims[rank - shape.size() + i] = shape[i];
  return dims;
}

// The broadcast second operand `value` read with (rank-padded) `dims` beside
// a first operand and result of layout `dst_md` (see the file comment).
StatusOr<memory> BroadcastOperand(const std::string& value, const memory::dims& dims,
                                  const memory::desc& dst_md, CompileContext* ctx) {
  const bool per_channel = dims.size() >= 3 && dims[1] == dst_md.dims()[1];
  if (per_channel) {
    const memory::desc md = LayoutLike(dst_md, dims);
    if (const Tensor* constant = ctx->FindConstant(value)) {
      return ctx->ConstantAs(*constant, PlainDesc(dims), md);
    }
    if (ctx->graph().values.at(value).shape.size() == dims.size()) return ctx->ValueAs(value, md);
  }
  MIXQ_ASSIGN_OR_RETURN(memory plain, ctx->PlainValue(value));
  return ctx->View(plain, PlainDesc(dims));
}

// An operand whose rank-padded `dims` equal the result's (x[1,96] + b[96]) in
// layout `desc`: ONNX broadcasting lets it have fewer dims than `desc` says,
// so it is first read through a view of the full rank.
StatusOr<memory> FullOperandAs(const std::string& value, const memory::dims& dims,
                               const memory::desc& desc, CompileContext* ctx) {
  if (ctx->graph().values.at(value).shape.size() == dims.size()) return ctx->ValueAs(value, desc);
  if (const Tensor* constant = ctx->FindConstant(value)) {
    return ctx->ConstantAs(*constant, PlainDesc(dims), desc);
  }
  MIXQ_ASSIGN_OR_RETURN(memory plain, ctx->PlainValue(value));
  memory view = ctx->View(plain, PlainDesc(dims));
  if (view.get_desc() == desc) return view;
  memory converted = ctx->NewBuffer(desc);
  ctx->AddReorder(view, converted);
  return converted;
}

}  // namespace

Status LowerBinary(const Node& node, CompileContext* ctx) {
  if (node.inputs.size() != 2) return InvalidArgument("binary op needs two inputs");
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  const size_t rank = y_dims.size();
  std::string first = node.inputs[0], second = node.inputs[1];
  memory::dims a_dims = PaddedDims(ctx->graph().values.at(first).shape, rank);
  memory::dims b_dims = PaddedDims(ctx->graph().values.at(second).shape, rank);
  // Steps before the node's post-ops: Mean's halving, what undoes a swap.
  std::vector<EltwiseStep> fix;
  if (node.op == OpType::kMean) fix.push_back({algorithm::eltwise_linear, 0.5f, 0.f});
  memory src0;
  if (a_dims != y_dims && b_dims == y_dims) {
    std::swap(first, second);
    std::swap(a_dims, b_dims);
    if (node.op == OpType::kSub) fix.push_back({algorithm::eltwise_linear, -1.f, 0.f});
    if (node.op == OpType::kDiv) fix.push_back({algorithm::eltwise_pow, 1.f, -1.f});
  }
  if (a_dims != y_dims) {
    // Neither operand has the full shape: expand the first (0 + a).
    Tensor zeros(DType::kF32, Shape(y_dims.begin(), y_dims.end()));
    MIXQ_ASSIGN_OR_RETURN(memory zero,
                          ctx->ConstantAs(zeros, PlainDesc(y_dims), PlainDesc(y_dims)));
    MIXQ_ASSIGN_OR_RETURN(memory a, ctx->PlainValue(first));
    memory a_view = ctx->View(a, PlainDesc(a_dims));
    src0 = ctx->NewBuffer(PlainDesc(y_dims));
    dnnl::binary::desc desc(algorithm::binary_add, zero.get_desc(), a_view.get_desc(),
                            src0.get_desc());
    dnnl::binary::primitive_desc pd(desc, ctx->engine());
    ctx->AddStep("binary", dnnl::binary(pd), pd.impl_info_str(),
                 {{DNNL_ARG_SRC_0, zero}, {DNNL_ARG_SRC_1, a_view}, {DNNL_ARG_DST, src0}});
  } else if (ctx->graph().values.at(first).shape.size() == rank) {
    MIXQ_ASSIGN_OR_RETURN(src0, ctx->Value(first));
  } else {
    MIXQ_ASSIGN_OR_RETURN(src0, FullOperandAs(first, a_dims, PlainDesc(a_dims), ctx));
  }
  const memory::desc dst_md = src0.get_desc();
  memory src1;
  if (b_dims == y_dims) {
    MIXQ_ASSIGN_OR_RETURN(src1, FullOperandAs(second, b_dims, dst_md, ctx));
  } else {
    MIXQ_ASSIGN_OR_RETURN(src1, BroadcastOperand(second, b_dims, dst_md, ctx));
  }
  MIXQ_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, PostOpsAttr(node, {}, fix));
  dnnl::binary::desc desc(BinaryAlgorithm(node.op), dst_md, src1.get_desc(), dst_md);
  dnnl::binary::primitive_desc pd(desc, attr, ctx->engine());
  memory dst = ctx->DefineValue(node.outputs[0], dst_md);
  ctx->AddStep("binary", dnnl::binary(pd), pd.impl_info_str(),
               {{DNNL_ARG_SRC_0, src0}, {DNNL_ARG_SRC_1, src1}, {DNNL_ARG_DST, dst}});
  return Status::Ok();
}

Status LowerVariadic(const Node& node, CompileContext* ctx) {
  if (node.inputs.size() == 2) return LowerBinary(node, ctx);
  return LowerHostOp(node, ctx);
}

}  // namespace mixq
