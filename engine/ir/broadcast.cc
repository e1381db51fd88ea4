#include "engine/ir/broadcast.h"

#include <algorithm>

namespace mixq {

bool BroadcastShapes(const Shape& a, const Shape& b, Shape* out) {
  const size_t rank = std::max(a.size(), b.size());
  Shape result(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    int64_t d;
    if (da == 1) {
      d = db;
    } else if (db == 1) {
      d = da;
    } else if (da < 0) {
      d = db;
    } else if (db < 0) {
      d = da;
    } else if (da == db) {
      d = da;
    } else {
      return false;
    }
    result[i] = d;
  }
  *out = std::move(result);
  return true;
}

std::vector<int64_t> BroadcastStrides(const Shape& shape, size_t rank) {
  std::vector<int64_t> strides(rank, 0);
  int64_t stride = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    const size_t dim = shape.size() - 1 - i;
    const size_t out_dim = rank - 1 - i;
    strides[out_dim] = shape[dim] == 1 ? 0 : stride;
    stride *= shape[dim];
  }
  return strides;
}

BroadcastWalker::BroadcastWalker(const Shape& out, const std::vector<const Shape*>& operands)
    : out_(out), index_(out.size(), 0), offsets_(operands.size(), 0) {
  for (const Shape* shape : operands) strides_.push_back(BroadcastStrides(*shape, out.size()));
}

void BroadcastWalker::Seek(int64_t index) {
  for (size_t d = out_.size(); d-- > 0;) {
    index_[d] = out_[d] == 0 ? 0 : index % out_[d];
    index = out_[d] == 0 ? 0 : index / out_[d];
  }
  for (size_t k = 0; k < strides_.size(); ++k) {
    int64_t offset = 0;
    for (size_t d = 0; d < out_.size(); ++d) offset += index_[d] * strides_[k][d];
    offsets_[k] = offset;
  }
}

void BroadcastWalker::Next() {
  for (size_t d = out_.size(); d-- > 0;) {
    ++index_[d];
    for (size_t k = 0; k < strides_.size(); ++k) offsets_[k] += strides_[k][d];
    if (index_[d] < out_[d]) return;
    for (size_t k = 0; k < strides_.size(); ++k) offsets_[k] -= strides_[k][d] * index_[d];
    index_[d] = 0;
  }
}

}  // namespace mixq
