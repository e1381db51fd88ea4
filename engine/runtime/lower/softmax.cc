// Softmax and LogSoftmax on a plain tensor (oneDNN's softmax_forward and
// logsoftmax_forward, which take the same descriptor). Opset < 13
// (coerce_2d = 1) flattens the input to [prod(dims < axis), prod(dims >= axis)]
// and normalises the second dim.
#include <string>

#include "engine/runtime/lower/lowering.h"

namespace mixq {

using dnnl::memory;

namespace {

template <typename Primitive>
Status LowerSoftmaxWith(const char* kind, const Node& node, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(memory::dims x_dims, ctx->Dims(node.inputs[0]));
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  const int64_t rank = static_cast<int64_t>(x_dims.size());
  int64_t axis = node.attrs.Int("axis", rank - 1);
  if (axis < 0 || axis >= rank) {
    return InvalidArgument(std::string(OpTypeName(node.op)) + " axis out of range");
  }
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
  typename Primitive::desc desc(dnnl::prop_kind::forward_inference, src.get_desc(),
                                static_cast<int>(axis));
  typename Primitive::primitive_desc pd(desc, ctx->engine());
  ctx->AddStep(kind, Primitive(pd), pd.impl_info_str(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  return Status::Ok();
}

}  // namespace

Status LowerSoftmax(const Node& node, CompileContext* ctx) {
  if (node.op == OpType::kLogSoftmax) {
    return LowerSoftmaxWith<dnnl::logsoftmax_forward>("logsoftmax", node, ctx);
  }
  return LowerSoftmaxWith<dnnl::softmax_forward>("softmax", node, ctx);
}

}  // namespace mixq
