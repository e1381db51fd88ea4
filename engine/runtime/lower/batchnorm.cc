// Inference batch normalisation with the stored statistics, for the
// BatchNormalization nodes the importer could not fold into a Conv/Gemm.
#include "engine/runtime/lower/lowering.h"

namespace mixq {

using dnnl::memory;

Status LowerBatchNorm(const Node& node, CompileContext* ctx) {
  if (node.inputs.size() < 5) return InvalidArgument("BatchNormalization needs 5 inputs");
  MIXQ_ASSIGN_OR_RETURN(memory src, ctx->Value(node.inputs[0]));
  const memory::desc md = src.get_desc();
  if (md.dims().size() < 2) return InvalidArgument("BatchNormalization input of rank < 2");
  const int64_t channels = md.dims()[1];
  auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
               dnnl::normalization_flags::use_shift;
  dnnl::batch_normalization_forward::desc desc(dnnl::prop_kind::forward_inference, md,
                                               node.attrs.Float("epsilon", 1e-5f), flags);
  dnnl::batch_normalization_forward::primitive_desc pd(desc, ctx->engine());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}};
  const int kArgs[] = {DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
  for (int i = 0; i < 4; ++i) {
    const Tensor* t = ctx->FindConstant(node.inputs[i + 1]);
    if (t == nullptr) return Unimplemented("BatchNormalization with non-constant parameters");
    memory::desc vec = PlainDesc({channels});
    MIXQ_ASSIGN_OR_RETURN(args[kArgs[i]], ctx->ConstantAs(*t, vec, vec));
  }
  args[DNNL_ARG_DST] = ctx->DefineValue(node.outputs[0], md);
  ctx->AddStep("batch_normalization", dnnl::batch_normalization_forward(pd), pd.impl_info_str(),
               std::move(args));
  return Status::Ok();
}

}  // namespace mixq
