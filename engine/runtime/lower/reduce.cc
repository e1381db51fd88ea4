// Reductions of float32 runtime data. ReduceMean and ReduceMax over all the
// spatial axes of a rank-3 to rank-5 tensor (the GlobalAveragePool of a
// squeeze-excitation block or a classifier head, spelled as a reduction)
// run as global pooling on the producer's layout, so a blocked convolution
// output is read without a reorder: oneDNN 2.6's reduction primitive accepts
// blocked layouts too, but only with its reference implementation (~50x
// slower than pooling). Every other reduction runs on its host kernel
// (engine/ops/reduce.cc): oneDNN's jit reduction exists only for trailing
// axes of plain tensors and was slower there than the host kernel (one
// thread: mean of 3152x768 over the last axis 0.7 vs 0.4 ms, of 4096x196
// 1.4 vs 0.1 ms; everything to one value a tie); other axes and the Lp-norm
// reductions have only the reference implementation (40-60 ms where the
// host kernel takes 0.15-2 ms).
#include "engine/runtime/lower/host_op.h"
#include "engine/runtime/lower/lowering.h"

namespace mixq {

using dnnl::algorithm;
using dnnl::memory;

namespace {

// True when `node` reduces exactly the axes 2.. of a rank-3 to rank-5 input.
bool ReducesSpatialAxes(const Node& node, const memory::dims& x_dims) {
  if (node.op != OpType::kReduceMean && node.op != OpType::kReduceMax) return false;
  if (x_dims.size() < 3 || x_dims.size() > 5) return false;
  std::vector<int64_t> spatial;
  for (size_t d = 2; d < x_dims.size(); ++d) spatial.push_back(static_cast<int64_t>(d));
  return node.attrs.Ints("axes") == spatial;
}

Status LowerAsGlobalPooling(const Node& node, const memory::dims& x_dims, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  const memory::dims kernel(x_dims.begin() + 2, x_dims.end());
  const memory::dims ones(kernel.size(), 1), zeros(kernel.size(), 0);
  memory::dims pooled_dims = x_dims;
  std::fill(pooled_dims.begin() + 2, pooled_dims.end(), 1);
  MIXQ_ASSIGN_OR_RETURN(memory src, ctx->Value(node.inputs[0]));
  const algorithm alg = node.op == OpType::kReduceMax ? algorithm::pooling_max
                                                      : algorithm::pooling_avg_exclude_padding;
  dnnl::pooling_v2_forward::desc desc(
      dnnl::prop_kind::forward_inference, alg, src.get_desc(),
      memory::desc(pooled_dims, memory::data_type::f32, memory::format_tag::any), ones, kernel,
      zeros, zeros, zeros);
  dnnl::pooling_v2_forward::primitive_desc pd(desc, ctx->engine());
  MIXQ_ASSIGN_OR_RETURN(src, ctx->ValueAs(node.inputs[0], pd.src_desc()));
  memory dst;
  if (y_dims == pooled_dims) {
    // keepdims: the result keeps the producer's layout.
    dst = ctx->DefineValue(node.outputs[0], pd.dst_desc());
  } else if (pd.dst_desc() == PlainDesc(pooled_dims)) {
    dst = ctx->NewBuffer(pd.dst_desc());
    ctx->DefineAlias(node.outputs[0], PlainDesc(y_dims), dst);
  } else {
    // Dropped axes: the [N, C] result is plain, converted from the blocked
    // [N, C, 1, 1] after the pooling.
    dst = ctx->NewBuffer(pd.dst_desc());
  }
  ctx->AddStep("pooling", dnnl::pooling_v2_forward(pd), pd.impl_info_str(),
               {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  if (y_dims != pooled_dims && pd.dst_desc() != PlainDesc(pooled_dims)) {
    memory out = ctx->DefineValue(node.outputs[0], PlainDesc(y_dims));
    ctx->AddReorder(dst, ctx->View(out, PlainDesc(pooled_dims)));
  }
  return Status::Ok();
}

}  // namespace

Status LowerReduce(const Node& node, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(memory::dims x_dims, ctx->Dims(node.inputs[0]));
  if (ReducesSpatialAxes(node, x_dims)) return LowerAsGlobalPooling(node, x_dims, ctx);
  return LowerHostOp(node, ctx);
}

}  // namespace mixq
