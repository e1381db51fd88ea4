// Softmax and LogSoftmax on a plain tensor (oneDNN's softmax_forward and
// logsoftmax_forward, which take the same descriptor). Opset < 13
// (coerce_2d = 1) flattens the input to [prod(dims < axis), prod(dims >= axis)]
// and normalises the second dim. A Softmax whose output the precision plan
// stores as INT8 (read by an INT8 attention product) writes it quantised
// directly: softmax_v2 with a u8/s8 destination and an output scale where
// oneDNN has a jit kernel for that, otherwise f32 and a quantising reorder.
#include <string>

#include "engine/runtime/lower/int8_lowering.h"
#include "engine/runtime/lower/lowering.h"

namespace mixq {

using dnnl::memory;

namespace {

// The source of a softmax over `axis` of plain f32 `dims` (coerce_2d
// flattened), and the destination `type` buffer, defined as the output.
struct SoftmaxOperands {
  memory src, dst;
  int axis = 0;
};

StatusOr<SoftmaxOperands> SoftmaxOperandsOf(const Node& node, memory::data_type type,
                                            CompileContext* ctx) {
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
  SoftmaxOperands ops;
  ops.src = ctx->View(plain, PlainDesc(dims));
  ops.dst = ctx->NewBuffer(PlainDesc(dims, type));
  ctx->DefineAlias(node.outputs[0], PlainDesc(y_dims, type), ops.dst);
  ops.axis = static_cast<int>(axis);
  return ops;
}

template <typename Primitive>
Status LowerSoftmaxWith(const char* kind, const Node& node, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(SoftmaxOperands ops, SoftmaxOperandsOf(node, memory::data_type::f32, ctx));
  typename Primitive::desc desc(dnnl::prop_kind::forward_inference, ops.src.get_desc(), ops.axis);
  typename Primitive::primitive_desc pd(desc, ctx->engine());
  ctx->AddStep(kind, Primitive(pd), pd.impl_info_str(),
               {{DNNL_ARG_SRC, ops.src}, {DNNL_ARG_DST, ops.dst}});
  return Status::Ok();
}

}  // namespace

Status LowerSoftmax(const Node& node, CompileContext* ctx) {
  if (node.op == OpType::kLogSoftmax) {
    return LowerSoftmaxWith<dnnl::logsoftmax_forward>("logsoftmax", node, ctx);
  }
  return LowerSoftmaxWith<dnnl::softmax_forward>("softmax", node, ctx);
}

Status LowerSoftmaxInt8(const Node& node, const PrecisionPlan& plan, CompileContext* ctx) {
  const QuantParams* out = plan.Int8Value(node.outputs[0]);
  if (node.op != OpType::kSoftmax || out == nullptr) {
    return Internal("INT8 Softmax without INT8 output parameters");
  }
  MIXQ_ASSIGN_OR_RETURN(SoftmaxOperands ops, SoftmaxOperandsOf(node, Int8Type(*out), ctx));
  dnnl::primitive_attr attr;
  attr.set_output_scales(0, {1.f / out->dequant_scale});
  dnnl::softmax_v2_forward::desc desc(dnnl::prop_kind::forward_inference,
                                      dnnl::algorithm::softmax_accurate, ops.src.get_desc(),
                                      ops.dst.get_desc(), ops.axis);
  dnnl::softmax_v2_forward::primitive_desc pd(desc, attr, ctx->engine());
  const std::string impl = pd.impl_info_str();
  if (impl.rfind("ref", 0) != 0) {
    ctx->AddStep("softmax", dnnl::softmax_v2_forward(pd), impl,
                 {{DNNL_ARG_SRC, ops.src}, {DNNL_ARG_DST, ops.dst}});
    return Status::Ok();
  }
  // oneDNN 2.6 has an int8 destination only in its AVX-512 kernel; below
  // that the reference one took 36 ms for [4, 128, 128] (the f32 jit kernel
  // 0.04 ms), so softmax in f32 and quantise with a reorder.
  memory f32 = ctx->NewBuffer(ops.src.get_desc());
  dnnl::softmax_forward::desc f32_desc(dnnl::prop_kind::forward_inference, ops.src.get_desc(),
                                       ops.axis);
  dnnl::softmax_forward::primitive_desc f32_pd(f32_desc, ctx->engine());
  ctx->AddStep("softmax", dnnl::softmax_forward(f32_pd), f32_pd.impl_info_str(),
               {{DNNL_ARG_SRC, ops.src}, {DNNL_ARG_DST, f32}});
  ctx->AddReorder(f32, ops.dst, 1.f / out->dequant_scale);
  return Status::Ok();
}

}  // namespace mixq
