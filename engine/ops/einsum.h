// Einsum equations resolved against their operands' shapes, shared by the
// shape rule and host kernel (einsum.cc) and the oneDNN lowering
// (runtime/lower/einsum.cc).
//
// Every operand dim and every output dim is named by a label id. Letters
// are labels of their own; "..." stands for the leading unnamed dims of an
// operand, which broadcast numpy-style (right-aligned across operands, a
// size-1 dim stretching), each ellipsis position one label. Without "->"
// the output is the ellipsis dims, then the letters that occur once, in
// ASCII order. A label absent from the output is summed over; a label
// repeated inside one operand reads its diagonal.
#ifndef MIXQ_ENGINE_OPS_EINSUM_H_
#define MIXQ_ENGINE_OPS_EINSUM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/tensor.h"

namespace mixq {

struct EinsumLabels {
  std::vector<std::vector<int>> inputs;  // per operand, per dim: its label
  std::vector<int> output;               // per output dim: its label
  std::vector<int64_t> sizes;            // per label: its extent (-1: unknown)
  int num_labels() const { return static_cast<int>(sizes.size()); }
};

// Resolves `equation` for operands of `shapes` (dims may be -1 while a
// graph is symbolic). InvalidArgument with the reason (callers name the
// node): a malformed equation, a rank that does not fit a term, sizes of
// one label that differ (other than ellipsis dims broadcasting from 1).
StatusOr<EinsumLabels> ResolveEinsum(const std::string& equation, const std::vector<Shape>& shapes);

}  // namespace mixq

#endif  // MIXQ_ENGINE_OPS_EINSUM_H_
