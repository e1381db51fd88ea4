// Host kernels for Gather and Cast, whose shape rules are core ones
// (engine/passes/shape_inference.cc dispatches them before consulting
// FindOpDef, so these OpDefs have no shape rule). The same kernels fold
// shape sub-graphs at load time and run on runtime tensors, e.g. a ViT's
// class token x[:, 0] (Gather on axis 1 with a scalar index).
//
// Gather takes int32 or int64 indices, negative ones counting from the end;
// an index out of range is an error. Cast converts between any two of
// mixq's element types: to bool is "!= 0", from floating to integer
// truncates toward zero and saturates at the type's range (NaN gives 0;
// ONNX leaves both undefined).
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/ops/op_families.h"

namespace mixq {
namespace {

Status GatherHost(const Node& node, const std::vector<ConstView>& inputs,
                  const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& data = inputs[0];
  const ConstView& indices = inputs[1];
  if (indices.dtype != DType::kI64 && indices.dtype != DType::kI32) {
    return InvalidArgument(std::string("Gather: indices must be int32 or int64, not ") +
                           DTypeName(indices.dtype));
  }
  const int64_t axis = node.attrs.Int("axis", 0);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= data.shape[d];
  for (size_t d = axis + 1; d < data.shape.size(); ++d) inner *= data.shape[d];
  const int64_t axis_dim = data.shape[axis];
  auto index_at = [&](int64_t j) {
    const int64_t k =
        indices.dtype == DType::kI64 ? indices.as<int64_t>()[j] : indices.as<int32_t>()[j];
    return k < 0 ? k + axis_dim : k;
  };
  for (int64_t j = 0; j < indices.size; ++j) {
    const int64_t k = index_at(j);
    if (k < 0 || k >= axis_dim) {
      return InvalidArgument("Gather: index " + std::to_string(k < 0 ? k - axis_dim : k) +
                             " is out of range for an axis of size " + std::to_string(axis_dim));
    }
  }
  const size_t bytes = DTypeSize(data.dtype);
  const size_t chunk = inner * bytes;
  const auto* src = static_cast<const char*>(data.data);
  auto* dst = static_cast<char*>(outputs[0].data);
  const int64_t n = indices.size;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(inner, 1));
  ParallelFor(par, outer * n, grain, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t o = b / n;
      const int64_t k = index_at(b % n);
      if (chunk) std::memcpy(dst + b * chunk, src + (o * axis_dim + k) * chunk, chunk);
    }
  });
  return Status::Ok();
}

template <typename To, typename From>
To Convert(From v, bool to_bool) {
  if (to_bool) return static_cast<To>(v != From(0));
  if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (std::isnan(v)) return To(0);
    if (v <= static_cast<From>(std::numeric_limits<To>::lowest())) {
      return std::numeric_limits<To>::lowest();
    }
    if (v >= static_cast<From>(std::numeric_limits<To>::max())) {
      return std::numeric_limits<To>::max();
    }
  }
  return static_cast<To>(v);
}

Status CastHost(const Node& /*node*/, const std::vector<ConstView>& inputs,
                const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& in = inputs[0];
  const MutView& out = outputs[0];
  if (in.dtype == DType::kF16 || out.dtype == DType::kF16) {
    return Unimplemented("Cast: float16 tensors are not supported");
  }
  const bool to_bool = out.dtype == DType::kBool;
  VisitDType(in.dtype, [&](auto from_zero) {
    using From = decltype(from_zero);
    VisitDType(out.dtype, [&](auto to_zero) {
      using To = decltype(to_zero);
      const From* src = in.as<From>();
      To* dst = out.as<To>();
      ParallelFor(par, in.size, int64_t{1} << 15, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) dst[i] = Convert<To>(src[i], to_bool);
      });
    });
  });
  return Status::Ok();
}

}  // namespace

const OpDef* GatherCastOpDef(OpType op) {
  static constexpr OpDef kGather{nullptr, GatherHost};
  static constexpr OpDef kCast{nullptr, CastHost};
  switch (op) {
    case OpType::kGather:
      return &kGather;
    case OpType::kCast:
      return &kCast;
    default:
      return nullptr;
  }
}

}  // namespace mixq
