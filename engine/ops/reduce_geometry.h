// How a reduction walks its input: the dims of size 1 dropped and adjacent
// reduced (or kept) dims merged into groups. With at most one reduced group
// the input is an [outer, reduced, inner] block, which the host kernels and
// the oneDNN lowering handle directly; several reduced groups (reducing N
// and H of NCHW, say) set `general` and are walked group by group.
#ifndef MIXQ_ENGINE_OPS_REDUCE_GEOMETRY_H_
#define MIXQ_ENGINE_OPS_REDUCE_GEOMETRY_H_

#include <cstdint>
#include <vector>

#include "common/tensor.h"

namespace mixq {

struct ReduceGeometry {
  // `axes`: the reduced axes of `shape`, non-negative (any order).
  ReduceGeometry(const Shape& shape, const std::vector<int64_t>& axes);

  // Elements of the output (kept dims) and reduced per output.
  int64_t OutputCount() const;
  int64_t ReducedCount() const;
  // Input offset of the first element reduced into output `index`.
  int64_t KeptOffset(int64_t index) const;

  bool general = false;
  // Valid when !general.
  int64_t outer = 1;
  int64_t reduced = 1;
  int64_t inner = 1;
  // The merged groups, outermost first, with their input strides.
  std::vector<int64_t> kept_dims, kept_strides;
  std::vector<int64_t> reduced_dims, reduced_strides;
};

}  // namespace mixq

#endif  // MIXQ_ENGINE_OPS_REDUCE_GEOMETRY_H_
