// Integer arithmetic and scatter that exporters emit inside shape and mask
// sub-graphs (Swin's shifted-window mask: Mod of positions, ScatterND into a
// zero image): Mod and ScatterND. Both usually fold at load time; the host
// kernels also run them on runtime data.
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/ir/broadcast.h"
#include "engine/ops/op_families.h"

namespace mixq {
namespace {

StatusOr<bool> ModShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  if (ctx.InType(0) != ctx.InType(1)) return ctx.Invalid("A and B differ in element type");
  const bool fmod = ctx.node().attrs.Int("fmod", 0) != 0;
  if (IsFloatingPoint(ctx.InType(0)) && !fmod) {
    return ctx.Invalid("fmod must be 1 for floating-point inputs");
  }
  if (ctx.InType(0) == DType::kF16 || ctx.InType(0) == DType::kBool) {
    return ctx.Unsupported(std::string("Mod on ") + DTypeName(ctx.InType(0)) + " is not supported");
  }
  Shape out;
  if (!BroadcastShapes(ctx.InShape(0), ctx.InShape(1), &out)) {
    return ctx.Invalid("shapes " + ShapeToString(ctx.InShape(0)) + " and " +
                       ShapeToString(ctx.InShape(1)) + " do not broadcast");
  }
  ctx.SetOutput(0, ctx.InType(0), out);
  return true;
}

// a mod b: with `fmod` the sign of a (C's fmod), else the sign of b
// (Python's %). A zero integer divisor is an error, not a trap.
template <typename T>
bool ModOf(T a, T b, bool fmod, T* out) {
  if constexpr (std::is_floating_point_v<T>) {
    *out = std::fmod(a, b);
    return true;
  } else {
    if (b == 0) return false;
    T r = static_cast<T>(a % b);
    if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
    *out = r;
    return true;
  }
}

Status ModHost(const Node& node, const std::vector<ConstView>& inputs,
               const std::vector<MutView>& outputs, const Parallelism& /*par*/) {
  const bool fmod = node.attrs.Int("fmod", 0) != 0;
  const MutView& out = outputs[0];
  BroadcastWalker walk(out.shape, {&inputs[0].shape, &inputs[1].shape});
  bool ok = true;
  VisitDType(out.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* a = inputs[0].as<T>();
    const T* b = inputs[1].as<T>();
    T* y = out.as<T>();
    walk.Seek(0);
    for (int64_t i = 0; i < out.size && ok; ++i, walk.Next()) {
      ok = ModOf(a[walk.offset(0)], b[walk.offset(1)], fmod, &y[i]);
    }
  });
  if (!ok) return InvalidArgument("integer division by zero");
  return Status::Ok();
}

StatusOr<bool> ScatterNDShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const Shape& data = ctx.InShape(0);
  const Shape& indices = ctx.InShape(1);
  const Shape& updates = ctx.InShape(2);
  if (ctx.InType(1) != DType::kI64 && ctx.InType(1) != DType::kI32) {
    return ctx.Invalid("indices must be int64 or int32");
  }
  if (ctx.InType(2) != ctx.InType(0)) return ctx.Invalid("updates differ from data in type");
  const std::string reduction = ctx.node().attrs.String("reduction", "none");
  if (reduction != "none" && reduction != "add" && reduction != "mul" && reduction != "max" &&
      reduction != "min") {
    return ctx.Invalid("unknown reduction '" + reduction + "'");
  }
  if (indices.empty()) return ctx.Invalid("indices must have rank >= 1");
  const int64_t k = indices.back();
  if (k < 0) return ctx.NotYet("the index depth is unknown");
  if (k > static_cast<int64_t>(data.size())) {
    return ctx.Invalid("index depth " + std::to_string(k) + " exceeds the data rank");
  }
  // updates = indices.shape[:-1] + data.shape[k:]
  Shape want(indices.begin(), indices.end() - 1);
  want.insert(want.end(), data.begin() + k, data.end());
  if (want.size() != updates.size()) {
    return ctx.Invalid("updates " + ShapeToString(updates) + " should be " + ShapeToString(want));
  }
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] >= 0 && updates[i] >= 0 && want[i] != updates[i]) {
      return ctx.Invalid("updates " + ShapeToString(updates) + " should be " + ShapeToString(want));
    }
  }
  ctx.SetOutput(0, ctx.InType(0), data);
  return true;
}

template <typename T>
T Reduce(const std::string& reduction, T old, T update) {
  if (reduction == "add") return static_cast<T>(old + update);
  if (reduction == "mul") return static_cast<T>(old * update);
  if (reduction == "max") return old > update ? old : update;
  if (reduction == "min") return old < update ? old : update;
  return update;
}

Status ScatterNDHost(const Node& node, const std::vector<ConstView>& inputs,
                     const std::vector<MutView>& outputs, const Parallelism& /*par*/) {
  const ConstView& data = inputs[0];
  const ConstView& indices = inputs[1];
  const ConstView& updates = inputs[2];
  const MutView& out = outputs[0];
  const std::string reduction = node.attrs.String("reduction", "none");
  const size_t k = static_cast<size_t>(indices.shape.back());
  int64_t slice = 1;
  for (size_t d = k; d < data.shape.size(); ++d) slice *= data.shape[d];
  const int64_t count = k == 0 ? 1 : indices.size / static_cast<int64_t>(k);
  const size_t esize = DTypeSize(data.dtype);
  if (data.size) std::memcpy(out.data, data.data, data.size * esize);
  auto index_at = [&](int64_t i) -> int64_t {
    return indices.dtype == DType::kI64 ? indices.as<int64_t>()[i] : indices.as<int32_t>()[i];
  };
  Status status = Status::Ok();
  VisitDType(data.dtype, [&](auto zero) {
    using T = decltype(zero);
    T* y = out.as<T>();
    const T* u = updates.as<T>();
    for (int64_t n = 0; n < count && status.ok(); ++n) {
      int64_t offset = 0;
      for (size_t d = 0; d < k; ++d) {
        int64_t idx = index_at(n * static_cast<int64_t>(k) + static_cast<int64_t>(d));
        const int64_t dim = data.shape[d];
        if (idx < 0) idx += dim;
        if (idx < 0 || idx >= dim) {
          status = InvalidArgument("index " + std::to_string(idx) + " is out of range for dim " +
                                   std::to_string(d) + " of size " + std::to_string(dim));
          return;
        }
        offset = offset * dim + idx;
      }
      T* dst = y + offset * slice;
      const T* src = u + n * slice;
      for (int64_t j = 0; j < slice; ++j) dst[j] = Reduce(reduction, dst[j], src[j]);
    }
  });
  return status;
}

}  // namespace

const OpDef* IndexingOpDef(OpType op) {
  static constexpr OpDef kMod{ModShape, ModHost};
  static constexpr OpDef kScatterND{ScatterNDShape, ScatterNDHost};
  switch (op) {
    case OpType::kMod:
      return &kMod;
    case OpType::kScatterND:
      return &kScatterND;
    default:
      return nullptr;
  }
}

}  // namespace mixq
