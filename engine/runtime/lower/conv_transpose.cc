// FP32 ConvTranspose as oneDNN's deconvolution: format_tag::any on source,
// weights and destination; constant weights are reordered once here from
// ONNX's layout (conv_transpose_params.h), computed ones are read through
// the same strided view at run time. Fused eltwise post-ops apply as for
// Conv. oneDNN refuses a negative begin pad (an output_shape well beyond the
// natural size): such a node runs on its host kernel, its post-ops as
// eltwise steps in place after it.
#include "engine/ops/conv_transpose.h"

#include <algorithm>

#include "engine/runtime/lower/conv_transpose_params.h"
#include "engine/runtime/lower/host_op.h"
#include "engine/runtime/lower/lowering.h"
#include "engine/runtime/lower/post_ops.h"

namespace mixq {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

StatusOr<ConvTransposeParams> ParseConvTranspose(const Node& node, CompileContext* ctx) {
  ConvTransposeParams p;
  if (node.inputs.size() < 2) return InvalidArgument("ConvTranspose needs inputs X and W");
  p.weights = ctx->FindConstant(node.inputs[1]);
  p.has_bias = node.inputs.size() > 2 && !node.inputs[2].empty();
  p.bias = p.has_bias ? ctx->FindConstant(node.inputs[2]) : nullptr;
  MIXQ_ASSIGN_OR_RETURN(p.x_dims, ctx->Dims(node.inputs[0]));
  MIXQ_ASSIGN_OR_RETURN(p.y_dims, ctx->Dims(node.outputs[0]));
  MIXQ_ASSIGN_OR_RETURN(memory::dims w, ctx->Dims(node.inputs[1]));
  const size_t spatial = p.x_dims.size() - 2;
  if (spatial < 1 || spatial > 3 || w.size() != spatial + 2 || p.y_dims.size() != w.size()) {
    return Unimplemented("ConvTranspose of rank " + std::to_string(p.x_dims.size()));
  }
  const ConvTransposeGeometry g = ConvTransposeGeometryOf(node, spatial);
  p.group = g.group;
  p.oc_per_group = w[1];
  p.oc = w[1] * p.group;
  if (p.group < 1 || w[0] % p.group != 0 || p.x_dims[1] != w[0] || p.y_dims[1] != p.oc) {
    return InvalidArgument("ConvTranspose weights " + ShapeToString(Shape(w.begin(), w.end())) +
                           " do not fit the input channels and group " + std::to_string(p.group));
  }
  int64_t taps = 1;
  for (size_t i = 0; i < spatial; ++i) {
    const int64_t k = w[i + 2];
    taps *= k;
    p.strides.push_back(g.strides[i]);
    p.dilations.push_back(g.dilations[i] - 1);  // oneDNN counts the gaps
    p.pad_l.push_back(g.pads_begin[i]);
    const int64_t natural = (p.x_dims[i + 2] - 1) * g.strides[i] + (k - 1) * g.dilations[i] + 1;
    p.pad_r.push_back(natural - g.pads_begin[i] - p.y_dims[i + 2]);
  }
  // ONNX W[ic, j, k...] sits at (ic * oc_per_group + j) * taps + k.
  const int64_t ic_per_group = w[0] / p.group;
  memory::dims kernel(w.begin() + 2, w.end());
  memory::dims kernel_strides(spatial, 1);
  for (size_t i = spatial - 1; i-- > 0;) kernel_strides[i] = kernel_strides[i + 1] * kernel[i + 1];
  memory::dims strides;
  if (p.group > 1) {
    p.w_dims = {p.group, p.oc_per_group, ic_per_group};
    strides = {ic_per_group * p.oc_per_group * taps, taps, p.oc_per_group * taps};
  } else {
    p.w_dims = {p.oc, w[0]};
    strides = {taps, p.oc * taps};
  }
  p.w_dims.insert(p.w_dims.end(), kernel.begin(), kernel.end());
  strides.insert(strides.end(), kernel_strides.begin(), kernel_strides.end());
  p.onnx_weights = memory::desc(p.w_dims, dt::f32, strides);
  return p;
}

namespace {

Status LowerOnHost(const Node& node, CompileContext* ctx) {
  MIXQ_RETURN_IF_ERROR(LowerHostOp(node, ctx));
  MIXQ_ASSIGN_OR_RETURN(memory y, ctx->Value(node.outputs[0]));
  for (const PostOp& op : node.post_ops) {
    if (op.kind != PostOp::Kind::kEltwise) return Unimplemented("a fused sum on the host kernel");
    MIXQ_ASSIGN_OR_RETURN(std::vector<EltwiseStep> chain,
                          EltwiseChain(op.eltwise, op.alpha, op.beta));
    for (const EltwiseStep& step : chain) {
      dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, step.algorithm,
                                       y.get_desc(), step.alpha, step.beta);
      dnnl::eltwise_forward::primitive_desc pd(desc, ctx->engine());
      ctx->AddStep("eltwise", dnnl::eltwise_forward(pd), pd.impl_info_str(),
                   {{DNNL_ARG_SRC, y}, {DNNL_ARG_DST, y}});
    }
  }
  return Status::Ok();
}

// True for a 2-D ConvTranspose whose kernel equals its stride, without
// padding, dilation or groups, with constant weights and bias, and only
// eltwise post-ops: the 2x2/2 upsampling of UNet- and DB-style decoders.
// Each output pixel then comes from exactly one input pixel.
bool KernelEqualsStride(const Node& node, const ConvTransposeParams& p) {
  if (p.x_dims.size() != 4 || p.group != 1 || p.weights == nullptr) return false;
  if (p.has_bias && p.bias == nullptr) return false;
  for (size_t i = 0; i < 2; ++i) {
    if (p.w_dims[i + 2] != p.strides[i] || p.dilations[i] != 0 || p.pad_l[i] != 0 ||
        p.pad_r[i] != 0) {
      return false;
    }
  }
  return std::all_of(node.post_ops.begin(), node.post_ops.end(),
                     [](const PostOp& op) { return op.kind == PostOp::Kind::kEltwise; });
}

// Such a ConvTranspose as a 1x1 convolution to O*kh*kw channels (channel
// (o*kh + i)*kw + j holds output pixel (h*kh + i, w*kw + j) of channel o)
// and a reorder that shuffles those channels into place. oneDNN 2.6's
// deconvolution runs these shapes far slower (a DB-style head's 8->1 2x2/2
// on 160x240: 49 ms jit:avx512_core, against well under a millisecond).
// Eltwise post-ops commute with the shuffle, so they stay on the convolution.
Status LowerAsConvAndShuffle(const Node& node, const ConvTransposeParams& p, CompileContext* ctx) {
  const int64_t n = p.x_dims[0], c = p.x_dims[1], h = p.x_dims[2], w = p.x_dims[3];
  const int64_t o = p.oc, kh = p.w_dims[2], kw = p.w_dims[3], k = o * kh * kw;
  MIXQ_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, PostOpsAttr(node));
  const memory::desc z_md({n, k, h, w}, dt::f32, tag::nchw);
  const memory::desc w_any({k, c, 1, 1}, dt::f32, tag::any);
  const memory::desc b_md = PlainDesc({k});
  auto prop = dnnl::prop_kind::forward_inference;
  auto alg = dnnl::algorithm::convolution_direct;
  const memory::desc x_any({n, c, h, w}, dt::f32, tag::any);
  const memory::dims unit = {1, 1}, zero = {0, 0};
  dnnl::convolution_forward::desc desc =
      p.has_bias
          ? dnnl::convolution_forward::desc(prop, alg, x_any, w_any, b_md, z_md, unit, zero, zero)
          : dnnl::convolution_forward::desc(prop, alg, x_any, w_any, z_md, unit, zero, zero);
  dnnl::convolution_forward::primitive_desc pd(desc, attr, ctx->engine());

  std::unordered_map<int, memory> args;
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_SRC], ctx->ValueAs(node.inputs[0], pd.src_desc()));
  // ONNX's W[c, o, i, j] read as [k, c]: k runs with stride 1, c with stride k.
  MIXQ_ASSIGN_OR_RETURN(
      args[DNNL_ARG_WEIGHTS],
      ctx->ConstantAs(*p.weights, memory::desc({k, c, 1, 1}, dt::f32, {1, k, 1, 1}),
                      pd.weights_desc()));
  if (p.has_bias) {
    Tensor bias(DType::kF32, {k});
    for (int64_t i = 0; i < k; ++i) {
      bias.data<float>()[i] = static_cast<float>(p.bias->FloatAt(i / (kh * kw)));
    }
    MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_BIAS], ctx->ConstantAs(bias, b_md, b_md));
  }
  memory z = ctx->NewBuffer(z_md);
  args[DNNL_ARG_DST] = z;
  ctx->AddStep("convolution", dnnl::convolution_forward(pd), pd.impl_info_str(), std::move(args));

  // z read as [n, o, i, j, h, w]; y [n, o, h*kh, w*kw] written as the same.
  const memory::dims shuffle = {n, o, kh, kw, h, w};
  const memory::desc from(shuffle, dt::f32, {k * h * w, kh * kw * h * w, kw * h * w, h * w, w, 1});
  const int64_t row = w * kw, plane = h * kh * row;
  const memory::desc to(shuffle, dt::f32, {o * plane, plane, row, 1, kh * row, kw});
  memory y = ctx->DefineValue(node.outputs[0], PlainDesc(p.y_dims));
  ctx->AddReorder(ctx->View(z, from), ctx->View(y, to));
  return Status::Ok();
}

}  // namespace

dnnl::deconvolution_forward::primitive_desc DeconvolutionDesc(
    const ConvTransposeParams& p, const memory::desc& src, const memory::desc& weights,
    const memory::desc& dst, const dnnl::primitive_attr& attr, const dnnl::engine& engine) {
  const memory::desc bias({p.oc}, dt::f32, tag::x);
  auto prop = dnnl::prop_kind::forward_inference;
  auto alg = dnnl::algorithm::deconvolution_direct;
  dnnl::deconvolution_forward::desc desc =
      p.has_bias ? dnnl::deconvolution_forward::desc(prop, alg, src, weights, bias, dst, p.strides,
                                                     p.dilations, p.pad_l, p.pad_r)
                 : dnnl::deconvolution_forward::desc(prop, alg, src, weights, dst, p.strides,
                                                     p.dilations, p.pad_l, p.pad_r);
  return dnnl::deconvolution_forward::primitive_desc(desc, attr, engine);
}

Status LowerConvTranspose(const Node& node, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(ConvTransposeParams p, ParseConvTranspose(node, ctx));
  if (std::any_of(p.pad_l.begin(), p.pad_l.end(), [](int64_t pad) { return pad < 0; })) {
    return LowerOnHost(node, ctx);
  }
  if (KernelEqualsStride(node, p)) return LowerAsConvAndShuffle(node, p, ctx);
  MIXQ_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, PostOpsAttr(node));
  const auto pd =
      DeconvolutionDesc(p, memory::desc(p.x_dims, dt::f32, tag::any),
                        p.weights ? memory::desc(p.w_dims, dt::f32, tag::any) : p.onnx_weights,
                        memory::desc(p.y_dims, dt::f32, tag::any), attr, ctx->engine());

  std::unordered_map<int, memory> args;
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_SRC], ctx->ValueAs(node.inputs[0], pd.src_desc()));
  if (p.weights) {
    MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_WEIGHTS],
                          ctx->ConstantAs(*p.weights, p.onnx_weights, pd.weights_desc()));
  } else {
    MIXQ_ASSIGN_OR_RETURN(memory w, ctx->PlainValue(node.inputs[1]));
    args[DNNL_ARG_WEIGHTS] = ctx->View(w, p.onnx_weights);
  }
  if (p.bias) {
    const memory::desc b_md = PlainDesc({p.oc});
    MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_BIAS], ctx->ConstantAs(*p.bias, b_md, b_md));
  } else if (p.has_bias) {
    MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_BIAS], ctx->PlainValue(node.inputs[2]));
  }
  args[DNNL_ARG_DST] = ctx->DefineValue(node.outputs[0], pd.dst_desc());
  ctx->AddStep("deconvolution", dnnl::deconvolution_forward(pd), pd.impl_info_str(),
               std::move(args));
  return Status::Ok();
}

}  // namespace mixq
