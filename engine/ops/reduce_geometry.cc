#include "engine/ops/reduce_geometry.h"

#include <algorithm>

namespace mixq {

ReduceGeometry::ReduceGeometry(const Shape& shape, const std::vector<int64_t>& axes) {
  struct Group {
    int64_t size;
    bool reduced;
  };
  std::vector<Group> groups;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    const bool reduced = std::find(axes.begin(), axes.end(), static_cast<int64_t>(d)) != axes.end();
    if (groups.empty() || groups.back().reduced != reduced) {
      groups.push_back({shape[d], reduced});
    } else {
      groups.back().size *= shape[d];
    }
  }
  int64_t stride = 1;
  std::vector<int64_t> strides(groups.size());
  for (size_t g = groups.size(); g-- > 0;) {
    strides[g] = stride;
    stride *= groups[g].size;
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    (groups[g].reduced ? reduced_dims : kept_dims).push_back(groups[g].size);
    (groups[g].reduced ? reduced_strides : kept_strides).push_back(strides[g]);
  }
  general = reduced_dims.size() > 1;
  if (general) return;
  bool before = true;
  for (const Group& group : groups) {
    if (group.reduced) {
      reduced = group.size;
      before = false;
    } else {
      (before ? outer : inner) *= group.size;
    }
  }
}

int64_t ReduceGeometry::OutputCount() const {
  int64_t n = 1;
  for (int64_t d : kept_dims) n *= d;
  return n;
}

int64_t ReduceGeometry::ReducedCount() const {
  int64_t n = 1;
  for (int64_t d : reduced_dims) n *= d;
  return n;
}

int64_t ReduceGeometry::KeptOffset(int64_t index) const {
  int64_t offset = 0;
  for (size_t g = kept_dims.size(); g-- > 0;) {
    offset += (index % kept_dims[g]) * kept_strides[g];
    index /= kept_dims[g];
  }
  return offset;
}

}  // namespace mixq
