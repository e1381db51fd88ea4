// Slice and Split of float32 tensors as oneDNN reorders out of sub-memories
// of the input (memory::desc::submemory_desc): the input stays in its
// producer's layout where the window's offsets allow it (a blocked channel
// dim needs block-aligned offsets), otherwise the plain form is read.
// Slices with a step other than 1 and empty windows run on the host kernel
// (engine/ops/slice_split.cc).
#include <vector>

#include "engine/ops/geometry.h"
#include "engine/runtime/lower/host_op.h"
#include "engine/runtime/lower/lowering.h"

namespace mixq {
namespace {

using dnnl::memory;

// Copies the window of `input` at `offsets` with `dims` into a new plain
// value `output`.
Status CopyWindow(const std::string& input, const memory::dims& dims, const memory::dims& offsets,
                  const std::string& output, CompileContext* ctx) {
  MIXQ_ASSIGN_OR_RETURN(memory src, ctx->Value(input));
  memory::desc window = src.get_desc().submemory_desc(dims, offsets, /*allow_empty=*/true);
  if (window.is_zero()) {
    MIXQ_ASSIGN_OR_RETURN(src, ctx->PlainValue(input));
    window = src.get_desc().submemory_desc(dims, offsets);
  }
  memory dst = ctx->DefineValue(output, PlainDesc(dims));
  ctx->AddReorder(ctx->View(src, window), dst);
  return Status::Ok();
}

}  // namespace

Status LowerSlice(const Node& node, CompileContext* ctx) {
  const ValueInfo* x = ctx->graph().FindValue(node.inputs[0]);
  if (x == nullptr) return Internal("Slice without shapes");
  SliceWindow window;
  MIXQ_RETURN_IF_ERROR(ComputeSliceWindow(node, x->shape, &window));
  memory::dims dims, offsets;
  bool unit_steps = window.rank > 0;
  for (size_t d = 0; d < window.rank; ++d) {
    // A step does not matter where one element is read.
    unit_steps = unit_steps && window.count[d] > 0 && (window.step[d] == 1 || window.count[d] == 1);
    dims.push_back(window.count[d]);
    offsets.push_back(window.start[d]);
  }
  if (x->dtype != DType::kF32 || !unit_steps) return LowerHostOp(node, ctx);
  return CopyWindow(node.inputs[0], dims, offsets, node.outputs[0], ctx);
}

Status LowerSplit(const Node& node, CompileContext* ctx) {
  const ValueInfo* x = ctx->graph().FindValue(node.inputs[0]);
  if (x == nullptr) return Internal("Split without shapes");
  const int64_t axis = node.attrs.Int("axis", 0);
  std::vector<memory::dims> pieces;
  for (const std::string& name : node.outputs) {
    const ValueInfo* y = ctx->graph().FindValue(name);
    if (y == nullptr) return Internal("Split without shapes");
    if (NumElements(y->shape) == 0) return LowerHostOp(node, ctx);
    pieces.push_back(ToDims(y->shape));
  }
  if (x->dtype != DType::kF32 || x->shape.empty()) return LowerHostOp(node, ctx);
  memory::dims offsets(x->shape.size(), 0);
  for (size_t i = 0; i < pieces.size(); ++i) {
    MIXQ_RETURN_IF_ERROR(CopyWindow(node.inputs[0], pieces[i], offsets, node.outputs[i], ctx));
    offsets[axis] += pieces[i][axis];
  }
  return Status::Ok();
}

}  // namespace mixq
