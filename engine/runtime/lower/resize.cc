// Resize and Upsample on oneDNN's resampling primitive where its convention
// is exactly the node's, otherwise on the host kernel (engine/ops/resize.cc).
//
// oneDNN 2.6 resamples the spatial dims of an N, C, spatial tensor, taking
// the output size as the scale (measured for every length pair up to 9 -> 19,
// plain and blocked layouts):
//   nearest  input index floor((o + 0.5) * in / out), which is ONNX's
//            half_pixel with round_prefer_ceil, and agrees with other
//            modes wherever no index ties (e.g. every integer enlargement
//            in asymmetric/floor, as torch exports nearest upsampling);
//   linear   ONNX's half_pixel with the edge repeated, and
//            pytorch_half_pixel where no output length is 1.
// So the lowering compares, per dim, the node's own source indices (nearest)
// or coordinates (linear) with oneDNN's and takes the primitive only where
// they agree at every output index; N and C must map to themselves.
#include <cmath>
#include <vector>

#include "engine/ops/geometry.h"
#include "engine/runtime/lower/host_op.h"
#include "engine/runtime/lower/lowering.h"

namespace mixq {
namespace {

using dnnl::memory;

bool OneDnnResamples(const Node& node, const Shape& in, const Shape& out, bool linear) {
  if (in.size() < 3 || in.size() > 5 || out.size() != in.size()) return false;
  std::vector<double> coordinates;
  std::vector<int64_t> nearest;
  for (size_t d = 0; d < in.size(); ++d) {
    if (in[d] <= 0 || out[d] <= 0) return false;
    if (!ResizeSourceCoordinates(node, in, d, &coordinates, &nearest).ok()) return false;
    for (int64_t o = 0; o < out[d]; ++o) {
      if (d < 2) {
        // N and C: output index o must read input index o alone.
        const bool same = linear ? coordinates[o] == static_cast<double>(o) : nearest[o] == o;
        if (out[d] != in[d] || !same) return false;
      } else if (linear) {
        const double want = (o + 0.5) * in[d] / out[d] - 0.5;
        if (std::fabs(coordinates[o] - want) > 1e-6 * std::max(1.0, std::fabs(want))) return false;
      } else if (nearest[o] != (2 * o + 1) * in[d] / (2 * out[d])) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

Status LowerResize(const Node& node, CompileContext* ctx) {
  const std::string mode = node.attrs.String("mode", "nearest");
  const ValueInfo* x = ctx->graph().FindValue(node.inputs[0]);
  const ValueInfo* y = ctx->graph().FindValue(node.outputs[0]);
  if (x == nullptr || y == nullptr) return Internal("Resize without shapes");
  const bool linear = mode == "linear";
  if (x->dtype != DType::kF32 || (mode != "nearest" && !linear) ||
      !OneDnnResamples(node, x->shape, y->shape, linear)) {
    return LowerHostOp(node, ctx);
  }
  MIXQ_ASSIGN_OR_RETURN(memory src, ctx->Value(node.inputs[0]));
  memory::desc dst_md(ToDims(y->shape), memory::data_type::f32, memory::format_tag::any);
  dnnl::resampling_forward::desc desc(
      dnnl::prop_kind::forward_inference,
      linear ? dnnl::algorithm::resampling_linear : dnnl::algorithm::resampling_nearest,
      src.get_desc(), dst_md);
  dnnl::resampling_forward::primitive_desc pd(desc, ctx->engine());
  MIXQ_ASSIGN_OR_RETURN(src, ctx->ValueAs(node.inputs[0], pd.src_desc()));
  memory dst = ctx->DefineValue(node.outputs[0], pd.dst_desc());
  ctx->AddStep("resampling", dnnl::resampling_forward(pd), pd.impl_info_str(),
               {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  return Status::Ok();
}

}  // namespace mixq
