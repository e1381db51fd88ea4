// numpy-style broadcasting, shared by the shape rules and the host kernels:
// the output shape of two or more operands, and the per-operand strides that
// walk an operand while the output is walked in row-major order.
#ifndef MIXQ_ENGINE_IR_BROADCAST_H_
#define MIXQ_ENGINE_IR_BROADCAST_H_

#include <cstdint>
#include <vector>

#include "common/tensor.h"

namespace mixq {

// Broadcast of two shapes (-1 dims tolerated: an unknown dim against 1 or
// against itself stays unknown); false if they do not broadcast.
bool BroadcastShapes(const Shape& a, const Shape& b, Shape* out);

// Row-major element strides of `shape` aligned to the last dims of a
// `rank`-dim output, 0 where the operand's dim is 1 (broadcast) or missing.
std::vector<int64_t> BroadcastStrides(const Shape& shape, size_t rank);

// Walks the output of a broadcast in row-major order keeping one offset per
// operand, so a kernel reads operand k at offset(k) for output element i.
class BroadcastWalker {
 public:
  BroadcastWalker(const Shape& out, const std::vector<const Shape*>& operands);
  // Positions the walker at output element `index`.
  void Seek(int64_t index);
  // Advances to the next output element.
  void Next();
  int64_t offset(size_t operand) const { return offsets_[operand]; }

 private:
  Shape out_;
  std::vector<std::vector<int64_t>> strides_;  // per operand, per dim
  std::vector<int64_t> index_;
  std::vector<int64_t> offsets_;
};

}  // namespace mixq

#endif  // MIXQ_ENGINE_IR_BROADCAST_H_
