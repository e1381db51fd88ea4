// LayerNormalization of float32 runtime data on oneDNN's
// layer_normalization, which normalises the last dim of a plain tensor: X is
// viewed as [rows, normalised elements] and Scale and B are the primitive's
// scale and shift. Constant parameters of the full normalised shape only;
// otherwise, and with the Mean/InvStdDev outputs, the host kernel runs it.
// (One thread, 3152x768: oneDNN 0.5-0.6 ms, the host kernel 2-3 ms.)
//
// InstanceNormalization has no lowering here: its host kernel, which folds
// the per-channel affine into the normalising pass, measured as fast as or
// 2x faster than layer_normalization on an [N*C, spatial] view followed by a
// binary multiply-add (16x64x56x56: 3.5 vs 2.8-3.6 ms; 1x64x128x128: 0.5 vs
// 1.1-1.2 ms; 4x256x32x32: 0.5 vs 1.1-1.3 ms), and batch_normalization on a
// [1, N*C, spatial] view, which computes per-instance statistics in one
// primitive, was 4-50x slower (ncsp_bnorm).
//
// LRN on oneDNN's lrn_forward (lrn_across_channels, which divides alpha by
// the window size as ONNX does) in the producer's layout. oneDNN's window is
// symmetric, c - (size - 1) / 2 .. c + (size - 1) / 2, and ONNX's is that
// only for an odd size (c - floor((size - 1) / 2) .. c + ceil((size - 1) / 2)):
// an even size runs on the host kernel, and so does a rank above 5 (oneDNN
// 2.6 accepts a rank-6 tensor and leaves most of the output zero) or one
// oneDNN does not implement.
#include "engine/runtime/lower/host_op.h"
#include "engine/runtime/lower/lowering.h"

namespace mixq {

using dnnl::memory;

namespace {

// True when `value` is a float32 constant of n elements (a parameter of
// the full normalised shape).
bool IsFullParam(const std::string& value, int64_t n, CompileContext* ctx) {
  const Tensor* t = ctx->FindConstant(value);
  return t != nullptr && t->dtype() == DType::kF32 && t->size() == n;
}

bool HasOutput(const Node& node, size_t i) {
  return i < node.outputs.size() && !node.outputs[i].empty();
}

}  // namespace

Status LowerLayerNorm(const Node& node, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(memory::dims x_dims, ctx->Dims(node.inputs[0]));
  const int64_t axis = node.attrs.Int("axis", -1);
  int64_t rows = 1, n = 1;
  for (size_t d = 0; d < x_dims.size(); ++d)
    (static_cast<int64_t>(d) < axis ? rows : n) *= x_dims[d];
  const bool has_bias = node.inputs.size() > 2 && !node.inputs[2].empty();
  if (HasOutput(node, 1) || HasOutput(node, 2) || rows * n == 0 ||
      !IsFullParam(node.inputs[1], n, ctx) || (has_bias && !IsFullParam(node.inputs[2], n, ctx))) {
    return LowerHostOp(node, ctx);
  }
  const memory::desc md = PlainDesc({rows, n});
  auto flags = dnnl::normalization_flags::use_scale;
  if (has_bias) flags = flags | dnnl::normalization_flags::use_shift;
  dnnl::layer_normalization_forward::desc desc(dnnl::prop_kind::forward_inference, md,
                                               node.attrs.Float("epsilon", 1e-5f), flags);
  dnnl::layer_normalization_forward::primitive_desc pd(desc, ctx->engine());
  MIXQ_ASSIGN_OR_RETURN(memory x, ctx->PlainValue(node.inputs[0]));
  memory dst = ctx->DefineValue(node.outputs[0], PlainDesc(x_dims));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, ctx->View(x, md)},
                                       {DNNL_ARG_DST, ctx->View(dst, md)}};
  const memory::desc vec = PlainDesc({n});
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_SCALE],
                        ctx->ConstantAs(*ctx->FindConstant(node.inputs[1]), vec, vec));
  if (has_bias) {
    MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_SHIFT],
                          ctx->ConstantAs(*ctx->FindConstant(node.inputs[2]), vec, vec));
  }
  ctx->AddStep("layer_normalization", dnnl::layer_normalization_forward(pd), pd.impl_info_str(),
               std::move(args));
  return Status::Ok();
}

Status LowerLrn(const Node& node, CompileContext* ctx) {
  const int64_t size = node.attrs.Int("size", 0);
  MIXQ_ASSIGN_OR_RETURN(memory::dims x_dims, ctx->Dims(node.inputs[0]));
  if (size % 2 == 0 || x_dims.size() > 5) return LowerHostOp(node, ctx);
  MIXQ_ASSIGN_OR_RETURN(memory src, ctx->Value(node.inputs[0]));
  dnnl::lrn_forward::primitive_desc pd;
  try {
    dnnl::lrn_forward::desc desc(dnnl::prop_kind::forward_inference,
                                 dnnl::algorithm::lrn_across_channels, src.get_desc(), size,
                                 node.attrs.Float("alpha", 1e-4f), node.attrs.Float("beta", 0.75f),
                                 node.attrs.Float("bias", 1.f));
    pd = dnnl::lrn_forward::primitive_desc(desc, ctx->engine());
  } catch (const dnnl::error& e) {
    if (e.status == dnnl_unimplemented) return LowerHostOp(node, ctx);
    throw;
  }
  memory dst = ctx->DefineValue(node.outputs[0], pd.dst_desc());
  ctx->AddStep("lrn", dnnl::lrn_forward(pd), pd.impl_info_str(),
               {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  return Status::Ok();
}

}  // namespace mixq
