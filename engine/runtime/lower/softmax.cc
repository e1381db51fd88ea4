// Softmax on a plain tensor. Opset < 13 (coerce_2d = 1) flattens the input to
// [prod(dims < axis), prod(dims >= axis)] and normalises the second dim.
#include "engine/runtime/lower/lowering.h"

namespace mixq {

using dnnl::memory;

Status LowerSoftmax(const Node& node, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(memory::dims x_dims, ctx->Dims(node.inputs[0]));
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  const int64_t rank = static_cast<int64_t>(x_dims.size());
  int64_t axis = node.attrs.Int("axis", rank - 1);
  if (axis < 0 || axis >= rank) return InvalidArgument("Softmax axis out of range");
  MIXQ_ASSIGN_OR_RETURN(memory plain, ctx->PlainValue(node.inputs[0]));
  memory::dims dims = x_dims;
  if (node.attrs.Int("coerce_2d", 0) != 0) {
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= x_dims[i];
    dims = {outer, inner};
    axis = 1;
  }
  memory src = ctx->View(plain, PlainDesc(dims));
  memory dst = ctx->NewBuffer(PlainDesc(dims));
  ctx->DefineAlias(node.outputs[0], PlainDesc(y_dims), dst);
  dnnl::softmax_forward::desc desc(dnnl::prop_kind::forward_inference, src.get_desc(),
                                   static_cast<int>(axis));
  dnnl::softmax_forward::primitive_desc pd(desc, ctx->engine());
  ctx->AddStep("softmax", dnnl::softmax_forward(pd), pd.impl_info_str(),
               {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  return Status::Ok();
}

}  // namespace mixq
