// The index geometry of the data-movement ops, for the code outside
// engine/ops/ that maps them onto something else (oneDNN lowerings, the
// pass folding a Pad into a Conv). Each reads a node whose shape rule has
// run, so its attributes are in the normalised form the rules leave:
//   Pad     "pads": 2 * rank begin-then-end amounts (negative crops), "mode";
//           the fill is the constant input 2 when present, else "value".
//   Slice   "starts", "ends", optional "axes" and "steps" as ONNX gives them
//           (clamping depends on the input shape, so it is done here).
//   Split   "axis" non-negative; the pieces are the outputs' shapes.
//   DepthToSpace, SpaceToDepth  "blocksize", "mode" (DCR or CRD).
//   Resize  "scales" (floats) or "sizes" (ints) for "axes" (all when
//           absent), "mode", "coordinate_transformation_mode",
//           "nearest_mode", "cubic_coeff_a", "exclude_outside",
//           "keep_aspect_ratio_policy"; Upsample is a Resize in this form.
#ifndef MIXQ_ENGINE_OPS_GEOMETRY_H_
#define MIXQ_ENGINE_OPS_GEOMETRY_H_

#include <array>
#include <cstdint>
#include <vector>

#include "common/status.h"
#include "common/tensor.h"
#include "engine/ir/graph.h"

namespace mixq {

constexpr size_t kMaxGeometryRank = 8;

// Which input elements a Slice reads along each dim: start, start + step,
// ... (count of them). count is -1 where the input dim is unknown.
struct SliceWindow {
  size_t rank = 0;
  std::array<int64_t, kMaxGeometryRank> start{};
  std::array<int64_t, kMaxGeometryRank> step{};
  std::array<int64_t, kMaxGeometryRank> count{};
};

// InvalidArgument for inconsistent attributes (a zero step, a repeated or
// out-of-range axis, starts and ends of different lengths); Unimplemented
// for a rank above kMaxGeometryRank.
Status ComputeSliceWindow(const Node& node, const Shape& input, SliceWindow* window);

// Per dim of a Resize: the scale its coordinate transformation divides by
// and the output length (-1 where the input dim is unknown).
struct ResizeScales {
  size_t rank = 0;
  std::array<double, kMaxGeometryRank> scale{};
  std::array<int64_t, kMaxGeometryRank> out{};
};

Status ComputeResizeScales(const Node& node, const Shape& input, ResizeScales* scales);

// Along dim `dim` of a Resize (mode nearest or linear): the source
// coordinate of each output index before rounding or weighting, and for
// nearest the input index each output index reads (empty for linear). What
// a lowering compares with another library's convention.
Status ResizeSourceCoordinates(const Node& node, const Shape& input, size_t dim,
                               std::vector<double>* coordinates, std::vector<int64_t>* nearest);

// DepthToSpace and SpaceToDepth (4-D input of known shape, block and mode
// checked by the shape rule): the output as six dims in row-major order,
// each with the input element stride that walks it.
struct SpaceDepthDim {
  int64_t size = 0;
  int64_t stride = 0;
};
std::array<SpaceDepthDim, 6> SpaceDepthWalk(const Node& node, const Shape& input);

}  // namespace mixq

#endif  // MIXQ_ENGINE_OPS_GEOMETRY_H_
