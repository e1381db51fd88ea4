// Max/average pooling and their global forms on the producer's layout. The
// output shape in the graph is authoritative: ceil_mode shows up as a larger
// right padding here.
#include "engine/runtime/lower/lowering.h"

namespace mixq {

using dnnl::algorithm;
using dnnl::memory;

Status LowerPool(const Node& node, CompileContext* ctx) {
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) {
    return Unimplemented("MaxPool with an Indices output");
  }
  MIXQ_ASSIGN_OR_RETURN(memory::dims x_dims, ctx->Dims(node.inputs[0]));
  MIXQ_ASSIGN_OR_RETURN(memory::dims y_dims, ctx->Dims(node.outputs[0]));
  const size_t spatial = x_dims.size() - 2;
  if (x_dims.size() < 3 || x_dims.size() > 5 || y_dims.size() != x_dims.size()) {
    return Unimplemented("pooling of rank " + std::to_string(x_dims.size()));
  }
  const bool global = node.op == OpType::kGlobalAveragePool || node.op == OpType::kGlobalMaxPool;
  const bool is_max = node.op == OpType::kMaxPool || node.op == OpType::kGlobalMaxPool;
  auto attr = [&](const char* name, int64_t fallback, size_t count) {
    std::vector<int64_t> v = global ? std::vector<int64_t>{} : node.attrs.Ints(name);
    if (v.size() != count) v.assign(count, fallback);
    return v;
  };
  std::vector<int64_t> kernel = global ? std::vector<int64_t>(x_dims.begin() + 2, x_dims.end())
                                       : node.attrs.Ints("kernel_shape");
  if (kernel.size() != spatial) return InvalidArgument("pooling kernel_shape has the wrong rank");
  std::vector<int64_t> strides = attr("strides", 1, spatial);
  std::vector<int64_t> dilations = attr("dilations", 1, spatial);
  std::vector<int64_t> pads = attr("pads", 0, 2 * spatial);
  const bool include_pad = node.attrs.Int("count_include_pad", 0) != 0;
  memory::dims pad_l, pad_r, dnnl_dilations;
  bool extended = false;
  for (size_t i = 0; i < spatial; ++i) {
    int64_t range = (kernel[i] - 1) * dilations[i] + 1;
    int64_t right = pads[spatial + i];
    if ((x_dims[i + 2] + pads[i] + right - range) / strides[i] + 1 < y_dims[i + 2]) {
      right = (y_dims[i + 2] - 1) * strides[i] + range - x_dims[i + 2] - pads[i];
      extended = true;
    }
    pad_l.push_back(pads[i]);
    pad_r.push_back(right);
    dnnl_dilations.push_back(dilations[i] - 1);
  }
  if (extended && !is_max && include_pad) {
    // ONNX does not count the ceil_mode overhang in the divisor; oneDNN would.
    return Unimplemented("AveragePool with ceil_mode overhang and count_include_pad=1");
  }
  algorithm alg = is_max        ? algorithm::pooling_max
                  : include_pad ? algorithm::pooling_avg_include_padding
                                : algorithm::pooling_avg_exclude_padding;
  MIXQ_ASSIGN_OR_RETURN(memory src, ctx->Value(node.inputs[0]));
  // The destination keeps the source's type: INT8 pooling stays INT8 with
  // the source's quantisation parameters.
  memory::desc dst_md(y_dims, src.get_desc().data_type(), memory::format_tag::any);
  dnnl::pooling_v2_forward::desc desc(dnnl::prop_kind::forward_inference, alg, src.get_desc(),
                                      dst_md, memory::dims(strides.begin(), strides.end()),
                                      memory::dims(kernel.begin(), kernel.end()), dnnl_dilations,
                                      pad_l, pad_r);
  dnnl::pooling_v2_forward::primitive_desc pd(desc, ctx->engine());
  MIXQ_ASSIGN_OR_RETURN(src, ctx->ValueAs(node.inputs[0], pd.src_desc()));
  memory dst = ctx->DefineValue(node.outputs[0], pd.dst_desc());
  ctx->AddStep("pooling", dnnl::pooling_v2_forward(pd), pd.impl_info_str(),
               {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  return Status::Ok();
}

}  // namespace mixq
