// Expand and Tile: outputs that repeat their input, as strided copies with
// zero strides (StridedCopy in movement.h).
//
// Expand broadcasts the input against the `shape` input both ways (a 1 in
// `shape` keeps the input's dim). Tile repeats the input `repeats[d]` times
// along each dim; Tile-1's `tiles` and `axis` inputs (one dim repeated)
// are read into the same "repeats" attribute.
#include <string>
#include <vector>

#include "engine/ir/broadcast.h"
#include "engine/ops/movement.h"
#include "engine/ops/op_families.h"

namespace mixq {
namespace {

StatusOr<bool> ExpandShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 2));
  MIXQ_ASSIGN_OR_RETURN(bool moved, MoveIntsInputToAttr(ctx, 1, "shape"));
  if (!moved) return false;
  if (!ctx.attrs().Has("shape")) return ctx.Invalid("the shape input is missing");
  const std::vector<int64_t> shape = ctx.attrs().Ints("shape");
  for (int64_t d : shape) {
    if (d < 0) return ctx.Invalid("shape " + ShapeToString(shape) + " has a negative dim");
  }
  Shape out;
  if (!BroadcastShapes(ctx.InShape(0), shape, &out)) {
    return ctx.Invalid("input " + ShapeToString(ctx.InShape(0)) + " does not broadcast to " +
                       ShapeToString(shape));
  }
  if (out.size() > kMaxMoveRank) return ctx.Unsupported("rank above 16");
  ctx.SetOutput(0, ctx.InType(0), out);
  return true;
}

Status ExpandHost(const Node& /*node*/, const std::vector<ConstView>& inputs,
                  const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& in = inputs[0];
  const MutView& out = outputs[0];
  const size_t rank = out.shape.size();
  const size_t lead = rank - in.shape.size();
  const auto strides = DenseStrides(in.shape);
  StridedLayout layout;
  for (size_t d = 0; d < rank; ++d) {
    const bool broadcast = d < lead || in.shape[d - lead] == 1;
    layout.Add(out.shape[d], broadcast ? 0 : strides[d - lead]);
  }
  StridedCopy(layout, in.data, out.data, DTypeSize(in.dtype), par);
  return Status::Ok();
}

StatusOr<bool> TileShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 3));
  const Shape& x = ctx.InShape(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  if (ctx.HasInput(2)) {
    // Tile-1: `tiles` copies along `axis`.
    const Tensor* tiles = ctx.Constant(1);
    const Tensor* axis = ctx.Constant(2);
    if (tiles == nullptr || axis == nullptr) return ctx.NotYet("tiles and axis must be constant");
    if (tiles->size() != 1 || axis->size() != 1) {
      return ctx.Invalid("tiles and axis must be scalars");
    }
    MIXQ_ASSIGN_OR_RETURN(int64_t a, ctx.NormalizeAxis(axis->IntAt(0), rank, "axis"));
    std::vector<int64_t> repeats(rank, 1);
    repeats[a] = tiles->IntAt(0);
    ctx.attrs().Set("repeats", repeats);
    ctx.node().inputs.resize(1);
  }
  MIXQ_ASSIGN_OR_RETURN(bool moved, MoveIntsInputToAttr(ctx, 1, "repeats"));
  if (!moved) return false;
  const std::vector<int64_t> repeats = ctx.attrs().Ints("repeats");
  if (static_cast<int64_t>(repeats.size()) != rank) {
    return ctx.Invalid("repeats " + ShapeToString(repeats) + " do not fit rank " +
                       std::to_string(rank));
  }
  if (2 * x.size() > kMaxMoveRank) return ctx.Unsupported("rank above 8");
  Shape out(x.size());
  for (int64_t d = 0; d < rank; ++d) {
    if (repeats[d] < 0) return ctx.Invalid("repeats " + ShapeToString(repeats) + " are negative");
    out[d] = x[d] < 0 ? -1 : x[d] * repeats[d];
  }
  ctx.SetOutput(0, ctx.InType(0), out);
  return true;
}

Status TileHost(const Node& node, const std::vector<ConstView>& inputs,
                const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& in = inputs[0];
  const std::vector<int64_t>* repeats = IntsAttr(node, "repeats");
  if (repeats == nullptr || repeats->size() != in.shape.size()) {
    return InvalidArgument("Tile: repeats do not fit the input");
  }
  // Output dim d read as (repeat, index) with the repeat's stride 0.
  const auto strides = DenseStrides(in.shape);
  StridedLayout layout;
  for (size_t d = 0; d < in.shape.size(); ++d) {
    layout.Add((*repeats)[d], 0);
    layout.Add(in.shape[d], strides[d]);
  }
  StridedCopy(layout, in.data, outputs[0].data, DTypeSize(in.dtype), par);
  return Status::Ok();
}

}  // namespace

const OpDef* BroadcastCopyOpDef(OpType op) {
  static constexpr OpDef kExpand{ExpandShape, ExpandHost};
  static constexpr OpDef kTile{TileShape, TileHost};
  switch (op) {
    case OpType::kExpand:
      return &kExpand;
    case OpType::kTile:
      return &kTile;
    default:
      return nullptr;
  }
}

}  // namespace mixq
