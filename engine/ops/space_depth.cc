// DepthToSpace and SpaceToDepth on 4-D NCHW tensors: a reshape to 6-D, a
// transpose and a reshape back, done as one strided copy. With block b and
// C' = C / b^2, DepthToSpace's output element (n, c', h, i, w, j) (viewed as
// [N, C', H, b, W, b]) reads input channel
//   DCR (the default): (i * b + j) * C' + c'
//   CRD (opset 11):    c' * b^2 + i * b + j
// and SpaceToDepth's output channel (i * b + j) * C + c reads input pixel
// (h * b + i, w * b + j). SpaceDepthWalk (geometry.h) gives the same walk
// to the oneDNN lowering.
#include <string>
#include <vector>

#include "engine/ops/geometry.h"
#include "engine/ops/movement.h"
#include "engine/ops/op_families.h"

namespace mixq {

std::array<SpaceDepthDim, 6> SpaceDepthWalk(const Node& node, const Shape& input) {
  const int64_t b = node.attrs.Int("blocksize", 1);
  const int64_t n = input[0], c = input[1], h = input[2], w = input[3];
  const int64_t sc = h * w;  // input strides of C, H, W (N's is c * sc)
  if (node.op == OpType::kSpaceToDepth) {
    // Output [N, b, b, C, H/b, W/b].
    return {{{n, c * sc}, {b, w}, {b, 1}, {c, sc}, {h / b, b * w}, {w / b, b}}};
  }
  const int64_t co = c / (b * b);
  if (node.attrs.String("mode", "DCR") == "CRD") {
    return {{{n, c * sc}, {co, b * b * sc}, {h, w}, {b, b * sc}, {w, 1}, {b, sc}}};
  }
  return {{{n, c * sc}, {co, sc}, {h, w}, {b, b * co * sc}, {w, 1}, {b, co * sc}}};
}

namespace {

StatusOr<bool> SpaceDepthShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  const Shape& x = ctx.InShape(0);
  if (x.size() != 4) return ctx.Invalid("input must be 4-D (NCHW), not " + ShapeToString(x));
  const int64_t b = ctx.attrs().Int("blocksize", 0);
  if (b <= 0) return ctx.Invalid("blocksize must be positive");
  const bool to_space = ctx.node().op == OpType::kDepthToSpace;
  if (to_space) {
    const std::string mode = ctx.attrs().String("mode", "DCR");
    if (mode != "DCR" && mode != "CRD") return ctx.Invalid("unknown mode '" + mode + "'");
  }
  Shape out = x;
  auto known = [](int64_t d) { return d >= 0; };
  if (to_space) {
    if (known(x[1]) && x[1] % (b * b) != 0) {
      return ctx.Invalid("channels " + std::to_string(x[1]) + " are not a multiple of " +
                         std::to_string(b * b));
    }
    out[1] = known(x[1]) ? x[1] / (b * b) : -1;
    out[2] = known(x[2]) ? x[2] * b : -1;
    out[3] = known(x[3]) ? x[3] * b : -1;
  } else {
    for (size_t d = 2; d < 4; ++d) {
      if (known(x[d]) && x[d] % b != 0) {
        return ctx.Invalid("spatial dims of " + ShapeToString(x) + " are not multiples of " +
                           std::to_string(b));
      }
      out[d] = known(x[d]) ? x[d] / b : -1;
    }
    out[1] = known(x[1]) ? x[1] * b * b : -1;
  }
  ctx.SetOutput(0, ctx.InType(0), out);
  return true;
}

Status SpaceDepthHost(const Node& node, const std::vector<ConstView>& inputs,
                      const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& in = inputs[0];
  StridedLayout layout;
  for (const SpaceDepthDim& dim : SpaceDepthWalk(node, in.shape)) layout.Add(dim.size, dim.stride);
  StridedCopy(layout, in.data, outputs[0].data, DTypeSize(in.dtype), par);
  return Status::Ok();
}

}  // namespace

const OpDef* SpaceDepthOpDef(OpType op) {
  static constexpr OpDef kSpaceDepth{SpaceDepthShape, SpaceDepthHost};
  return op == OpType::kDepthToSpace || op == OpType::kSpaceToDepth ? &kSpaceDepth : nullptr;
}

}  // namespace mixq
