// PRelu with a constant float32 slope: oneDNN's prelu primitive, in the
// input's layout, the slope reordered once to the layout oneDNN picks for it.
// A computed slope, or a broadcast oneDNN does not implement, runs on the
// host kernel.
#include "engine/ops/prelu.h"

#include "engine/runtime/lower/host_op.h"
#include "engine/runtime/lower/lowering.h"

namespace mixq {

using dnnl::memory;

Status LowerPRelu(const Node& node, CompileContext* ctx) {
  if (node.inputs.size() != 2) return InvalidArgument("PRelu needs two inputs");
  const Tensor* slope = ctx->FindConstant(node.inputs[1]);
  if (slope == nullptr || slope->dtype() != DType::kF32) return LowerHostOp(node, ctx);
  const ValueInfo* x = ctx->graph().FindValue(node.inputs[0]);
  if (x == nullptr) return InvalidArgument("input '" + node.inputs[0] + "' has no shape");
  Shape aligned;
  if (!PReluSlopeShape(x->shape, slope->shape(), &aligned)) {
    return InvalidArgument("slope " + ShapeToString(slope->shape()) + " does not fit X " +
                           ShapeToString(x->shape));
  }
  MIXQ_ASSIGN_OR_RETURN(memory src, ctx->Value(node.inputs[0]));
  const memory::dims weight_dims = ToDims(aligned);
  dnnl::prelu_forward::primitive_desc pd;
  try {
    dnnl::prelu_forward::desc desc(
        dnnl::prop_kind::forward_inference, src.get_desc(),
        memory::desc(weight_dims, memory::data_type::f32, memory::format_tag::any));
    pd = dnnl::prelu_forward::primitive_desc(desc, ctx->engine());
  } catch (const dnnl::error& e) {
    if (e.status == dnnl_unimplemented) return LowerHostOp(node, ctx);
    throw;
  }
  MIXQ_ASSIGN_OR_RETURN(memory weights,
                        ctx->ConstantAs(*slope, PlainDesc(weight_dims), pd.weights_desc(0)));
  memory dst = ctx->DefineValue(node.outputs[0], pd.dst_desc());
  ctx->AddStep("prelu", dnnl::prelu_forward(pd), pd.impl_info_str(),
               {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
  return Status::Ok();
}

}  // namespace mixq
