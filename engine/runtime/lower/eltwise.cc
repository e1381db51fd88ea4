// Stand-alone element-wise ops (those the fusion pass could not fold into a
// producer). The result keeps the input's layout, blocked or not.
#include "engine/runtime/lower/lowering.h"
#include "engine/runtime/lower/post_ops.h"

namespace mixq {

using dnnl::memory;

Status LowerEltwise(const Node& node, CompileContext* ctx) {
  if (node.inputs.empty()) return InvalidArgument("element-wise op without input");
  MIXQ_ASSIGN_OR_RETURN(PostOp op, EltwisePostOpOf(node));
  MIXQ_ASSIGN_OR_RETURN(std::vector<EltwiseStep> chain,
                        EltwiseChain(op.eltwise, op.alpha, op.beta));
  MIXQ_ASSIGN_OR_RETURN(memory src, ctx->Value(node.inputs[0]));
  const memory::desc md = src.get_desc();
  memory dst = ctx->DefineValue(node.outputs[0], md);
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

}  // namespace mixq
