// Pieces shared by the data-movement op families (pad.cc, slice_split.cc,
// resize.cc, broadcast_copy.cc, space_depth.cc, gather_cast.cc). Internal to
// engine/ops/.
//
// StridedCopy is the one loop behind Slice, Split, Expand, Tile,
// DepthToSpace and SpaceToDepth: every output element, in row-major order,
// is one element of the input at
//   base + sum_d index[d] * stride[d]
// for input element strides that may be zero (a broadcast or repeat) or
// negative (a reversed slice). Element bytes are copied whatever the DType.
#ifndef MIXQ_ENGINE_OPS_MOVEMENT_H_
#define MIXQ_ENGINE_OPS_MOVEMENT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/ops/op_def.h"

namespace mixq {

// Ranks the movement kernels index with fixed arrays, so they allocate
// nothing per call. Tile views its output with twice the input's rank.
constexpr size_t kMaxMoveRank = 16;

// An output walked in row-major order with one input stride per output dim.
// Dims are added outermost first; Add() folds a dim into the previous one
// where the input walk stays affine across both, so a copy of contiguous
// rows collapses to a few long runs.
class StridedLayout {
 public:
  // False when more than kMaxMoveRank dims would be needed.
  bool Add(int64_t dim, int64_t stride);
  int64_t base = 0;  // input element offset of output element 0

  size_t rank() const { return rank_; }
  int64_t dim(size_t d) const { return dims_[d]; }
  int64_t stride(size_t d) const { return strides_[d]; }

 private:
  size_t rank_ = 0;
  std::array<int64_t, kMaxMoveRank> dims_{};
  std::array<int64_t, kMaxMoveRank> strides_{};
};

// Copies every output element from `src` as `layout` says; `dst` is dense
// row-major, `element_bytes` per element. Rows (the innermost dim) are
// spread over `par`.
void StridedCopy(const StridedLayout& layout, const void* src, void* dst, size_t element_bytes,
                 const Parallelism& par);

// Row-major element strides of `shape` (fixed array; rank <= kMaxMoveRank).
std::array<int64_t, kMaxMoveRank> DenseStrides(const Shape& shape);

// The integer-list / float-list attribute `name` without a copy, or nullptr
// when absent (or of another type): host kernels read attributes per call.
const std::vector<int64_t>* IntsAttr(const Node& node, const std::string& name);
const std::vector<float>* FloatsAttr(const Node& node, const std::string& name);

// The value `name` stands for in `table` (a string attribute's choices),
// or false when it is none of them.
template <typename E>
bool ParseChoice(const std::string& name, std::initializer_list<std::pair<const char*, E>> table,
                 E* value) {
  for (const auto& [choice, v] : table) {
    if (name == choice) {
      *value = v;
      return true;
    }
  }
  return false;
}

// Moves the constant integer input `index` (pads, starts, repeats, ...) into
// the integer-list attribute `name` and leaves the input empty, so later
// passes and the host kernel read one normalised form (the attribute older
// opsets already used). True when done or when the input is absent; NotYet
// (see ShapeContext) while it is not constant.
StatusOr<bool> MoveIntsInputToAttr(ShapeContext& ctx, size_t index, const std::string& name);

}  // namespace mixq

#endif  // MIXQ_ENGINE_OPS_MOVEMENT_H_
