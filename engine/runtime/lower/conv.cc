// FP32 convolution: format_tag::any on source, weights and destination so
// oneDNN picks its blocked layouts; weights are reordered once here. A
// grouped convolution instead keeps its source's layout when oneDNN has a
// jit kernel for it there (see LowerConv). 3x3
// stride-1 ones go to mixq's Winograd kernel where it applies
// (conv_winograd.cc), in the layouts oneDNN chose. A fused
// residual sum finds the residual already in the destination buffer: the
// residual's buffer is reused in place when nothing reads it later, else it
// is copied (reordered) into the destination before the convolution runs.
#include <algorithm>

#include "engine/runtime/lower/conv_params.h"
#include "engine/runtime/lower/lowering.h"
#include "engine/runtime/lower/post_ops.h"

namespace mixq {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

StatusOr<ConvParams> ParseConv(const Node& node, CompileContext* ctx) {
  ConvParams p;
  if (node.inputs.size() < 2) return InvalidArgument("Conv needs inputs X and W");
  p.weights = ctx->FindConstant(node.inputs[1]);
  if (p.weights == nullptr) return Unimplemented("Conv with non-constant weights");
  const bool has_bias = node.inputs.size() > 2 && !node.inputs[2].empty();
  p.bias = has_bias ? ctx->FindConstant(node.inputs[2]) : nullptr;
  if (has_bias && p.bias == nullptr) return Unimplemented("Conv with non-constant bias");
  MIXQ_ASSIGN_OR_RETURN(p.x_dims, ctx->Dims(node.inputs[0]));
  MIXQ_ASSIGN_OR_RETURN(p.y_dims, ctx->Dims(node.outputs[0]));
  const int spatial = static_cast<int>(p.x_dims.size()) - 2;
  if (spatial < 1 || spatial > 3 || p.weights->rank() != spatial + 2) {
    return Unimplemented("Conv of rank " + std::to_string(p.x_dims.size()));
  }
  p.group = node.attrs.Int("group", 1);
  p.oc = p.weights->shape()[0];
  if (p.group < 1 || p.oc % p.group != 0 || p.x_dims[1] != p.weights->shape()[1] * p.group) {
    return InvalidArgument("Conv weights " + ShapeToString(p.weights->shape()) +
                           " do not fit input channels and group " + std::to_string(p.group));
  }
  auto spatial_attr = [&](const char* name, int64_t fallback, size_t count) {
    std::vector<int64_t> v = node.attrs.Ints(name);
    if (v.size() != count) v.assign(count, fallback);
    return v;
  };
  std::vector<int64_t> strides = spatial_attr("strides", 1, spatial);
  std::vector<int64_t> dilations = spatial_attr("dilations", 1, spatial);
  std::vector<int64_t> pads = spatial_attr("pads", 0, 2 * spatial);
  p.strides.assign(strides.begin(), strides.end());
  for (int i = 0; i < spatial; ++i) {
    p.dilations.push_back(dilations[i] - 1);  // oneDNN counts the gaps
    p.pad_l.push_back(pads[i]);
    p.pad_r.push_back(pads[spatial + i]);
  }
  p.w_dims = ToDims(p.weights->shape());
  if (p.group > 1) {
    p.w_dims.insert(p.w_dims.begin(), p.group);
    p.w_dims[1] = p.oc / p.group;
  }
  return p;
}

dnnl::convolution_forward::desc ConvDesc(const ConvParams& p, const memory::desc& src,
                                         const memory::desc& weights, const memory::desc& bias,
                                         const memory::desc& dst) {
  auto prop = dnnl::prop_kind::forward_inference;
  auto alg = dnnl::algorithm::convolution_direct;
  return p.bias ? dnnl::convolution_forward::desc(prop, alg, src, weights, bias, dst, p.strides,
                                                  p.dilations, p.pad_l, p.pad_r)
                : dnnl::convolution_forward::desc(prop, alg, src, weights, dst, p.strides,
                                                  p.dilations, p.pad_l, p.pad_r);
}

std::string SumInput(const Node& node) {
  for (const PostOp& op : node.post_ops) {
    if (op.kind == PostOp::Kind::kSum) return op.sum_input;
  }
  return "";
}

StatusOr<memory> ConvDestination(const Node& node, const memory::desc& dst_desc,
                                 CompileContext* ctx) {
  const std::string residual = SumInput(node);
  if (residual.empty()) return ctx->DefineValue(node.outputs[0], dst_desc);
  MIXQ_ASSIGN_OR_RETURN(memory res, ctx->Value(residual));
  const bool reads_residual =
      std::find(node.inputs.begin(), node.inputs.end(), residual) != node.inputs.end();
  if (!reads_residual && res.get_desc() == dst_desc && ctx->CanOverwrite(residual)) {
    ctx->DefineSame(node.outputs[0], res);
    return res;
  }
  memory dst = ctx->DefineValue(node.outputs[0], dst_desc);
  ctx->AddReorder(res, dst);
  return dst;
}

namespace {

using ConvPd = dnnl::convolution_forward::primitive_desc;

bool IsJit(const std::string& impl) {
  return impl.find("ref") == std::string::npos && impl.find("gemm") == std::string::npos;
}

// The convolution of `p` reading a source laid out as `src`: in oneDNN's
// own layouts, except that a grouped convolution keeps the source's layout
// where a jit kernel runs it there. oneDNN's own pick for a grouped
// convolution is often not the layout of the layers around it (channels
// blocked by the group width, 8 or 4, beside channels-last layers on
// AVX-512): a reorder of the whole tensor on each side.
ConvPd ChooseConv(const ConvParams& p, const dnnl::primitive_attr& attr, const memory::desc& src,
                  CompileContext* ctx) {
  const memory::desc w_md(p.w_dims, dt::f32, tag::any);
  const memory::desc b_md({p.oc}, dt::f32, tag::x);
  auto make = [&](const memory::desc& src_md, const memory::desc& dst_md) {
    return ConvPd(ConvDesc(p, src_md, w_md, b_md, dst_md), attr, ctx->engine());
  };
  ConvPd pd =
      make(memory::desc(p.x_dims, dt::f32, tag::any), memory::desc(p.y_dims, dt::f32, tag::any));
  if (p.group > 1 && src != pd.src_desc()) {
    try {
      ConvPd kept = make(src, LayoutLike(src, p.y_dims));
      if (IsJit(kept.impl_info_str())) pd = kept;
    } catch (const dnnl::error& e) {
      if (e.status != dnnl_unimplemented) throw;
    }
  }
  return pd;
}

// `p` with `factor` adjacent groups merged into one, the weights (stored in
// `*wide`) placed block-diagonally with zeros between: the same result.
ConvParams WidenGroups(const ConvParams& p, int64_t factor, Tensor* wide) {
  const Shape& shape = p.weights->shape();  // [OC, IC / group, k...]
  const int64_t oc_per_group = p.oc / p.group, ic_per_group = shape[1];
  const int64_t kernel = p.weights->size() / (p.oc * ic_per_group);
  Shape wide_shape = shape;
  wide_shape[1] = ic_per_group * factor;
  *wide = Tensor(DType::kF32, wide_shape);
  std::fill(wide->data<float>(), wide->data<float>() + wide->size(), 0.f);
  for (int64_t oc = 0; oc < p.oc; ++oc) {
    const int64_t slot = (oc / oc_per_group) % factor;  // place among the merged groups
    const float* from = p.weights->data<float>() + oc * ic_per_group * kernel;
    float* to = wide->data<float>() + (oc * ic_per_group * factor + slot * ic_per_group) * kernel;
    std::copy(from, from + ic_per_group * kernel, to);
  }
  ConvParams out = p;
  out.weights = wide;
  out.group = p.group / factor;
  out.w_dims = ToDims(wide_shape);
  if (out.group > 1) {
    out.w_dims.insert(out.w_dims.begin(), out.group);
    out.w_dims[1] = p.oc / out.group;
  }
  return out;
}

}  // namespace

Status LowerConv(const Node& node, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(ConvParams p, ParseConv(node, ctx));
  MIXQ_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, PostOpsAttr(node));
  MIXQ_ASSIGN_OR_RETURN(memory src, ctx->Value(node.inputs[0]));
  ConvPd pd = ChooseConv(p, attr, src.get_desc(), ctx);
  // Groups too narrow for any jit kernel (4 channels per group on AVX2, as
  // in ResNeXt: only the gemm kernel, on plain layouts, with a reorder on
  // each side) are merged into groups of 8: twice the multiply-adds on a
  // jit kernel are faster. Depthwise convolutions have kernels of their own.
  Tensor wide;
  const int64_t width = p.weights->shape()[1];
  for (int64_t factor = 2; factor * width <= 8 && width > 1 && p.group % factor == 0; factor *= 2) {
    if (IsJit(pd.impl_info_str())) break;
    ConvParams merged = WidenGroups(p, factor, &wide);
    ConvPd merged_pd = ChooseConv(merged, attr, src.get_desc(), ctx);
    if (IsJit(merged_pd.impl_info_str())) {
      p = merged;
      pd = merged_pd;
    }
  }
  MIXQ_ASSIGN_OR_RETURN(bool winograd, TryLowerWinogradConv(node, p, pd, ctx));
  if (winograd) return Status::Ok();

  std::unordered_map<int, memory> args;
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_SRC], ctx->ValueAs(node.inputs[0], pd.src_desc()));
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_WEIGHTS],
                        ctx->ConstantAs(*p.weights, PlainDesc(p.w_dims), pd.weights_desc()));
  if (p.bias) {
    MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_BIAS],
                          ctx->ConstantAs(*p.bias, PlainDesc({p.oc}), PlainDesc({p.oc})));
  }
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_DST], ConvDestination(node, pd.dst_desc(), ctx));
  ctx->AddStep("convolution", dnnl::convolution_forward(pd), pd.impl_info_str(), std::move(args));
  return Status::Ok();
}

}  // namespace mixq
