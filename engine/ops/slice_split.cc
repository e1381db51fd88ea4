// Slice and Split: windows of the input copied out with StridedCopy.
//
// Slice's starts, ends, axes and steps are attributes before opset 10 and
// inputs from 10 on; the shape rule moves constant inputs into the
// attributes (engine/ops/geometry.h), and ComputeSliceWindow clamps them
// against the input shape as ONNX says: negative indices count from the
// end, then starts clamp to [0, dim] ([0, dim - 1] for a negative step) and
// ends to [0, dim] ([-1, dim - 1]), so INT64_MAX and INT64_MIN mean "to the
// end" either way.
//
// Split's pieces are the `split` attribute (before opset 13), the `split`
// input (13), equal pieces, or `num_outputs` pieces of ceil(dim / n) with a
// smaller last one (18).
#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "engine/ops/geometry.h"
#include "engine/ops/movement.h"
#include "engine/ops/op_families.h"

namespace mixq {

Status ComputeSliceWindow(const Node& node, const Shape& input, SliceWindow* window) {
  const size_t rank = input.size();
  if (rank > kMaxGeometryRank) {
    return Unimplemented("Slice of rank " + std::to_string(rank) + " (at most " +
                         std::to_string(kMaxGeometryRank) + ")");
  }
  const std::vector<int64_t>* starts = IntsAttr(node, "starts");
  const std::vector<int64_t>* ends = IntsAttr(node, "ends");
  const std::vector<int64_t>* axes = IntsAttr(node, "axes");
  const std::vector<int64_t>* steps = IntsAttr(node, "steps");
  if (starts == nullptr || ends == nullptr) return InvalidArgument("starts or ends are missing");
  const size_t n = starts->size();
  if (ends->size() != n || (axes != nullptr && axes->size() != n) ||
      (steps != nullptr && steps->size() != n)) {
    return InvalidArgument("starts, ends, axes and steps differ in length");
  }
  if (axes == nullptr && n > rank) return InvalidArgument("more starts than input dims");
  window->rank = rank;
  for (size_t d = 0; d < rank; ++d) {
    window->start[d] = 0;
    window->step[d] = 1;
    window->count[d] = input[d];
  }
  std::array<bool, kMaxGeometryRank> seen{};
  for (size_t i = 0; i < n; ++i) {
    int64_t axis = axes == nullptr ? static_cast<int64_t>(i) : (*axes)[i];
    const int64_t r = static_cast<int64_t>(rank);
    if (axis < -r || axis >= r) {
      return InvalidArgument("axis " + std::to_string(axis) + " is out of range for rank " +
                             std::to_string(rank));
    }
    if (axis < 0) axis += r;
    if (seen[axis]) return InvalidArgument("axis " + std::to_string(axis) + " is repeated");
    seen[axis] = true;
    const int64_t step = steps == nullptr ? 1 : (*steps)[i];
    if (step == 0) return InvalidArgument("a step is 0");
    window->step[axis] = step;
    const int64_t dim = input[axis];
    if (dim < 0) {
      window->count[axis] = -1;
      continue;
    }
    int64_t start = (*starts)[i];
    int64_t end = (*ends)[i];
    // Below -dim stays below 0 without overflowing at INT64_MIN.
    if (start < 0) start = start < -dim ? -1 : start + dim;
    if (end < 0) end = end < -dim ? -1 : end + dim;
    int64_t count = 0;
    if (dim == 0) {
      start = 0;
    } else if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      count = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      count = start > end ? (start - end - step - 1) / -step : 0;
    }
    window->start[axis] = start;
    window->count[axis] = count;
  }
  return Status::Ok();
}

namespace {

StatusOr<bool> SliceShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 5));
  const char* names[] = {"", "starts", "ends", "axes", "steps"};
  for (size_t i = 4; i >= 1; --i) {
    MIXQ_ASSIGN_OR_RETURN(bool moved, MoveIntsInputToAttr(ctx, i, names[i]));
    if (!moved) return false;
  }
  SliceWindow window;
  Status status = ComputeSliceWindow(ctx.node(), ctx.InShape(0), &window);
  if (!status.ok()) {
    return status.code() == StatusCode::kUnimplemented ? ctx.Unsupported(status.message())
                                                       : ctx.Invalid(status.message());
  }
  ctx.SetOutput(0, ctx.InType(0), Shape(window.count.begin(), window.count.begin() + window.rank));
  return true;
}

Status SliceHost(const Node& node, const std::vector<ConstView>& inputs,
                 const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& in = inputs[0];
  SliceWindow window;
  MIXQ_RETURN_IF_ERROR(ComputeSliceWindow(node, in.shape, &window));
  const auto strides = DenseStrides(in.shape);
  StridedLayout layout;
  for (size_t d = 0; d < window.rank; ++d) {
    layout.base += window.start[d] * strides[d];
    layout.Add(window.count[d], window.step[d] * strides[d]);
  }
  StridedCopy(layout, in.data, outputs[0].data, DTypeSize(in.dtype), par);
  return Status::Ok();
}

StatusOr<bool> SplitShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 2));
  MIXQ_RETURN_IF_ERROR(ctx.ExpectOutputs(1, std::numeric_limits<size_t>::max()));
  MIXQ_ASSIGN_OR_RETURN(bool moved, MoveIntsInputToAttr(ctx, 1, "split"));
  if (!moved) return false;
  const Shape& x = ctx.InShape(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  MIXQ_ASSIGN_OR_RETURN(int64_t axis, ctx.NormalizeAxis(ctx.attrs().Int("axis", 0), rank, "axis"));
  ctx.attrs().Set("axis", axis);
  const int64_t n = static_cast<int64_t>(ctx.node().outputs.size());
  const int64_t dim = x[axis];
  std::vector<int64_t> pieces(n, -1);
  if (ctx.attrs().Has("split")) {
    pieces = ctx.attrs().Ints("split");
    if (static_cast<int64_t>(pieces.size()) != n) {
      return ctx.Invalid("split " + ShapeToString(pieces) + " does not give one size per output (" +
                         std::to_string(n) + ")");
    }
    int64_t sum = 0;
    for (int64_t p : pieces) {
      if (p < 0) return ctx.Invalid("split " + ShapeToString(pieces) + " has a negative size");
      sum += p;
    }
    if (dim >= 0 && sum != dim) {
      return ctx.Invalid("split " + ShapeToString(pieces) + " does not add up to dim " +
                         std::to_string(dim) + " of axis " + std::to_string(axis));
    }
  } else if (ctx.attrs().Has("num_outputs")) {
    if (ctx.attrs().Int("num_outputs", 0) != n) {
      return ctx.Invalid("num_outputs " + std::to_string(ctx.attrs().Int("num_outputs", 0)) +
                         " differs from the " + std::to_string(n) + " outputs");
    }
    if (dim >= 0) {
      const int64_t chunk = (dim + n - 1) / n;
      const int64_t last = dim - chunk * (n - 1);
      if (last < 0) {
        return ctx.Invalid("dim " + std::to_string(dim) + " cannot be split into " +
                           std::to_string(n) + " pieces of " + std::to_string(chunk));
      }
      pieces.assign(n, chunk);
      pieces.back() = last;
    }
  } else if (dim >= 0) {
    if (dim % n != 0) {
      return ctx.Invalid("dim " + std::to_string(dim) + " of axis " + std::to_string(axis) +
                         " does not split into " + std::to_string(n) + " equal pieces");
    }
    pieces.assign(n, dim / n);
  }
  for (int64_t i = 0; i < n; ++i) {
    Shape out = x;
    out[axis] = pieces[i];
    ctx.SetOutput(i, ctx.InType(0), out);
  }
  return true;
}

Status SplitHost(const Node& node, const std::vector<ConstView>& inputs,
                 const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& in = inputs[0];
  const int64_t axis = node.attrs.Int("axis", 0);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= in.shape[d];
  for (size_t d = axis + 1; d < in.shape.size(); ++d) inner *= in.shape[d];
  const int64_t dim = in.shape[axis];
  int64_t offset = 0;
  for (const MutView& out : outputs) {
    const int64_t piece = out.shape[axis];
    if (offset + piece > dim) return InvalidArgument("Split pieces exceed the input");
    StridedLayout layout;
    layout.base = offset * inner;
    layout.Add(outer, dim * inner);
    layout.Add(piece * inner, 1);
    StridedCopy(layout, in.data, out.data, DTypeSize(in.dtype), par);
    offset += piece;
  }
  return Status::Ok();
}

}  // namespace

const OpDef* SliceSplitOpDef(OpType op) {
  static constexpr OpDef kSlice{SliceShape, SliceHost};
  static constexpr OpDef kSplit{SplitShape, SplitHost};
  switch (op) {
    case OpType::kSlice:
      return &kSlice;
    case OpType::kSplit:
      return &kSplit;
    default:
      return nullptr;
  }
}

}  // namespace mixq
