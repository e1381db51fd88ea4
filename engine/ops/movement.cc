#include "engine/ops/movement.h"

#include <algorithm>
#include <cstring>

namespace mixq {
namespace {

// Copies `count` elements of type T, reading every `stride`-th.
template <typename T>
void GatherRun(const char* src, int64_t stride, int64_t count, char* dst) {
  const T* from = reinterpret_cast<const T*>(src);
  T* to = reinterpret_cast<T*>(dst);
  for (int64_t i = 0; i < count; ++i) to[i] = from[i * stride];
}

void CopyRun(const char* src, int64_t stride, int64_t count, char* dst, size_t bytes) {
  if (stride == 1) {
    std::memcpy(dst, src, count * bytes);
  } else if (bytes == 1) {
    GatherRun<uint8_t>(src, stride, count, dst);
  } else if (bytes == 2) {
    GatherRun<uint16_t>(src, stride, count, dst);
  } else if (bytes == 4) {
    GatherRun<uint32_t>(src, stride, count, dst);
  } else if (bytes == 8) {
    GatherRun<uint64_t>(src, stride, count, dst);
  } else {
    for (int64_t i = 0; i < count; ++i) {
      std::memcpy(dst + i * bytes, src + i * stride * static_cast<int64_t>(bytes), bytes);
    }
  }
}

}  // namespace

bool StridedLayout::Add(int64_t dim, int64_t stride) {
  if (dim == 1) return true;  // one index: no effect on addressing
  if (rank_ > 0 && dims_[rank_ - 1] != 0 && dim != 0 && strides_[rank_ - 1] == dim * stride) {
    dims_[rank_ - 1] *= dim;
    strides_[rank_ - 1] = stride;
    return true;
  }
  if (rank_ == kMaxMoveRank) return false;
  dims_[rank_] = dim;
  strides_[rank_] = stride;
  ++rank_;
  return true;
}

void StridedCopy(const StridedLayout& layout, const void* src, void* dst, size_t element_bytes,
                 const Parallelism& par) {
  const size_t rank = layout.rank();
  const int64_t inner = rank == 0 ? 1 : layout.dim(rank - 1);
  const int64_t inner_stride = rank == 0 ? 1 : layout.stride(rank - 1);
  const size_t outer = rank == 0 ? 0 : rank - 1;  // dims of the row index
  int64_t rows = 1;
  for (size_t d = 0; d < outer; ++d) rows *= layout.dim(d);
  if (rows == 0 || inner == 0) return;
  const auto* in = static_cast<const char*>(src);
  auto* out = static_cast<char*>(dst);
  const int64_t bytes = static_cast<int64_t>(element_bytes);
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / inner);
  ParallelFor(par, rows, grain, [&](int64_t begin, int64_t end) {
    // The outer index of row `begin`, then advanced like an odometer.
    std::array<int64_t, kMaxMoveRank> index{};
    int64_t offset = layout.base;
    int64_t rest = begin;
    for (size_t d = outer; d-- > 0;) {
      index[d] = rest % layout.dim(d);
      rest /= layout.dim(d);
      offset += index[d] * layout.stride(d);
    }
    for (int64_t row = begin; row < end; ++row) {
      CopyRun(in + offset * bytes, inner_stride, inner, out + row * inner * bytes, element_bytes);
      for (size_t d = outer; d-- > 0;) {
        offset += layout.stride(d);
        if (++index[d] < layout.dim(d)) break;
        offset -= index[d] * layout.stride(d);
        index[d] = 0;
      }
    }
  });
}

std::array<int64_t, kMaxMoveRank> DenseStrides(const Shape& shape) {
  std::array<int64_t, kMaxMoveRank> strides{};
  int64_t stride = 1;
  for (size_t d = std::min(shape.size(), kMaxMoveRank); d-- > 0;) {
    strides[d] = stride;
    stride *= shape[d];
  }
  return strides;
}

const std::vector<int64_t>* IntsAttr(const Node& node, const std::string& name) {
  auto it = node.attrs.map().find(name);
  return it == node.attrs.map().end() ? nullptr : std::get_if<std::vector<int64_t>>(&it->second);
}

const std::vector<float>* FloatsAttr(const Node& node, const std::string& name) {
  auto it = node.attrs.map().find(name);
  return it == node.attrs.map().end() ? nullptr : std::get_if<std::vector<float>>(&it->second);
}

StatusOr<bool> MoveIntsInputToAttr(ShapeContext& ctx, size_t index, const std::string& name) {
  if (!ctx.HasInput(index)) return true;
  std::vector<int64_t> values;
  MIXQ_ASSIGN_OR_RETURN(bool known, ctx.IntsOfInput(index, &values));
  if (!known) return false;
  ctx.attrs().Set(name, std::move(values));
  std::vector<std::string>& inputs = ctx.node().inputs;
  inputs[index].clear();
  while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();
  return true;
}

}  // namespace mixq
