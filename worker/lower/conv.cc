// FP32 convolution: format_tag::any on source, weights and destination so
// oneDNN picks its blocked layouts; weights are reordered once here. A fused
// residual sum finds the residual already in the destination buffer: the
// residual's buffer is reused in place when nothing reads it later, else it
// is copied (reordered) into the destination before the convolution runs.
#include <algorithm>

#include "worker/lower/lowering.h"
#include "worker/lower/post_ops.h"

namespace mixq {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

std::string SumInput(const Node& node) {
  for (const PostOp& op : node.post_ops) {
    if (op.kind == PostOp::Kind::kSum) return op.sum_input;
  }
  return "";
}

}  // namespace

Status LowerConv(const Node& node, CompileContext* ctx) {
  if (node.inputs.size() < 2) return InvalidArgument("Conv needs inputs X and W");
  const Tensor* weights = ctx->FindConstant(node.inputs[1]);
  if (weights == nullptr) return Unimplemented("Conv with non-constant weights");
  const Tensor* bias = node.inputs.size() > 2 && !node.inputs[2].empty()
                           ? ctx->FindConstant(node.inputs[2])
                           : nullptr;
  if (node.inputs.size() > 2 && !node.inputs[2].empty() && bias == nullptr) {
    return Unimplemented("Conv with non-constant bias");
  }
  MIXQ_ASSIGN_OR_RETURN(memory::dims x_dims, ctx->Dims(node.inputs[0]));
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  const int spatial = static_cast<int>(x_dims.size()) - 2;
  if (spatial < 1 || spatial > 3 || weights->rank() != spatial + 2) {
    return Unimplemented("Conv of rank " + std::to_string(x_dims.size()));
  }
  const int64_t group = node.attrs.Int("group", 1);
  const int64_t oc = weights->shape()[0];
  if (group < 1 || oc % group != 0 || x_dims[1] != weights->shape()[1] * group) {
    return InvalidArgument("Conv weights " + ShapeToString(weights->shape()) +
                           " do not fit input channels and group " + std::to_string(group));
  }
  auto spatial_attr = [&](const char* name, int64_t fallback, size_t count) {
    std::vector<int64_t> v = node.attrs.Ints(name);
    if (v.size() != count) v.assign(count, fallback);
    return v;
  };
  std::vector<int64_t> strides = spatial_attr("strides", 1, spatial);
  std::vector<int64_t> dilations = spatial_attr("dilations", 1, spatial);
  std::vector<int64_t> pads = spatial_attr("pads", 0, 2 * spatial);
  memory::dims dnnl_strides(strides.begin(), strides.end());
  memory::dims dnnl_dilations, pad_l, pad_r;
  for (int i = 0; i < spatial; ++i) {
    dnnl_dilations.push_back(dilations[i] - 1);  // oneDNN counts the gaps
    pad_l.push_back(pads[i]);
    pad_r.push_back(pads[spatial + i]);
  }
  memory::dims w_dims = ToDims(weights->shape());
  if (group > 1) {
    w_dims.insert(w_dims.begin(), group);
    w_dims[1] = oc / group;
  }

  memory::desc src_md(x_dims, dt::f32, tag::any);
  memory::desc w_md(w_dims, dt::f32, tag::any);
  memory::desc b_md({oc}, dt::f32, tag::x);
  memory::desc dst_md(y_dims, dt::f32, tag::any);
  auto prop = dnnl::prop_kind::forward_inference;
  auto alg = dnnl::algorithm::convolution_direct;
  dnnl::convolution_forward::desc desc =
      bias ? dnnl::convolution_forward::desc(prop, alg, src_md, w_md, b_md, dst_md, dnnl_strides,
                                             dnnl_dilations, pad_l, pad_r)
           : dnnl::convolution_forward::desc(prop, alg, src_md, w_md, dst_md, dnnl_strides,
                                             dnnl_dilations, pad_l, pad_r);
  MIXQ_ASSIGN_OR_RETURN(dnnl::primitive_attr attr, PostOpsAttr(node));
  dnnl::convolution_forward::primitive_desc pd(desc, attr, ctx->engine());

  std::unordered_map<int, memory> args;
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_SRC], ctx->ValueAs(node.inputs[0], pd.src_desc()));
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_WEIGHTS],
                        ctx->ConstantAs(*weights, PlainDesc(w_dims), pd.weights_desc()));
  if (bias) {
    MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_BIAS], ctx->ConstantAs(*bias, PlainDesc({oc}), b_md));
  }
  const std::string residual = SumInput(node);
  memory dst;
  if (!residual.empty()) {
    MIXQ_ASSIGN_OR_RETURN(memory res, ctx->Value(residual));
    bool reads_residual =
        std::find(node.inputs.begin(), node.inputs.end(), residual) != node.inputs.end();
    if (!reads_residual && res.get_desc() == pd.dst_desc() && ctx->CanOverwrite(residual)) {
      dst = res;
      ctx->DefineSame(node.outputs[0], dst);
    } else {
      dst = ctx->DefineValue(node.outputs[0], pd.dst_desc());
      ctx->AddReorder(res, dst);
    }
  } else {
    dst = ctx->DefineValue(node.outputs[0], pd.dst_desc());
  }
  args[DNNL_ARG_DST] = dst;
  ctx->AddStep("convolution", dnnl::convolution_forward(pd), pd.impl_info_str(), std::move(args));
  return Status::Ok();
}

}  // namespace mixq
