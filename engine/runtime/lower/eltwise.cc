// Stand-alone element-wise ops (those the fusion pass could not fold into a
// producer), post-op carriers (kIdentity with eltwise post-ops, e.g. a SiLU
// of a pooling output: the op, then its post-ops, one eltwise step each),
// and Pow with a constant scalar exponent. The result keeps the input's
// layout, blocked or not.
#include "engine/runtime/lower/host_op.h"
#include "engine/runtime/lower/lowering.h"
#include "engine/runtime/lower/post_ops.h"

namespace mixq {

using dnnl::memory;

namespace {

// Defines `output` as `input` run through `chain`, one eltwise primitive per
// step, in the input's layout.
Status AddEltwiseChain(const std::string& input, const std::vector<EltwiseStep>& chain,
                       const std::string& output, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(memory src, ctx->Value(input));
  const memory::desc md = src.get_desc();
  memory dst = ctx->DefineValue(output, md);
  for (size_t i = 0; i < chain.size(); ++i) {
    dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, chain[i].algorithm, md,
                                     chain[i].alpha, chain[i].beta);
    dnnl::eltwise_forward::primitive_desc pd(desc, ctx->engine());
    // Later steps of a chain work in place on the result.
    ctx->AddStep("eltwise", dnnl::eltwise_forward(pd), pd.impl_info_str(),
                 {{DNNL_ARG_SRC, i == 0 ? src : dst}, {DNNL_ARG_DST, dst}});
  }
  return Status::Ok();
}

}  // namespace

Status LowerEltwise(const Node& node, CompileContext* ctx) {
  if (node.inputs.empty()) return InvalidArgument("element-wise op without input");
  std::vector<PostOp> ops;
  if (node.op != OpType::kIdentity) {
    MIXQ_ASSIGN_OR_RETURN(PostOp op, EltwisePostOpOf(node));
    ops.push_back(op);
  }
  ops.insert(ops.end(), node.post_ops.begin(), node.post_ops.end());
  std::vector<EltwiseStep> chain;
  for (const PostOp& op : ops) {
    if (op.kind != PostOp::Kind::kEltwise) return Unimplemented("a sum post-op on an eltwise op");
    MIXQ_ASSIGN_OR_RETURN(std::vector<EltwiseStep> steps,
                          EltwiseChain(op.eltwise, op.alpha, op.beta));
    chain.insert(chain.end(), steps.begin(), steps.end());
  }
  if (chain.empty()) return InvalidArgument("Identity without post-ops");
  return AddEltwiseChain(node.inputs[0], chain, node.outputs[0], ctx);
}

// x^e for a constant one-element e is oneDNN's eltwise_pow (1 * x^e); a
// tensor or computed exponent, or one that changes the output's rank, runs
// on the host kernel.
Status LowerPow(const Node& node, CompileContext* ctx) {
  if (node.inputs.size() != 2) return InvalidArgument("Pow needs two inputs");
  const Tensor* exponent = ctx->FindConstant(node.inputs[1]);
  const ValueInfo* base = ctx->graph().FindValue(node.inputs[0]);
  const ValueInfo* out = ctx->graph().FindValue(node.outputs[0]);
  if (exponent == nullptr || exponent->size() != 1 || exponent->dtype() == DType::kF16 ||
      base == nullptr || out == nullptr || base->shape != out->shape) {
    return LowerHostOp(node, ctx);
  }
  const float e = static_cast<float>(exponent->FloatAt(0));
  return AddEltwiseChain(node.inputs[0], {{dnnl::algorithm::eltwise_pow, 1.f, e}}, node.outputs[0],
                         ctx);
}

}  // namespace mixq
