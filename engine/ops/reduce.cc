// Reductions (ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd,
// ReduceL1, ReduceL2, ReduceSumSquare) and arg-reductions (ArgMax, ArgMin)
// on float32/float64 and int32/int64 tensors of any rank.
//
// The shape rules normalise the attributes so that the kernels and the
// oneDNN lowering (runtime/lower/reduce.cc) read one form: a constant `axes`
// input (ReduceSum from opset 13, every reduction from opset 18) moves into
// the `axes` attribute, and `axes` lists the reduced axes non-negative,
// sorted and spelled out ("no axes" means all of them unless
// noop_with_empty_axes=1, which leaves `axes` empty: a copy).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/ops/op_families.h"
#include "engine/ops/reduce_geometry.h"

namespace mixq {
namespace {

// Int and float element types only: reductions of bool or float16 data are
// not offered.
bool IsReducible(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF64 || dtype == DType::kI64 ||
         dtype == DType::kI32;
}

StatusOr<bool> ReduceShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 2));
  MIXQ_RETURN_IF_ERROR(ctx.ExpectOutputs(1, 1));
  Attributes& attrs = ctx.attrs();
  if (ctx.HasInput(1)) {
    std::vector<int64_t> axes;
    MIXQ_ASSIGN_OR_RETURN(bool known, ctx.IntsOfInput(1, &axes));
    if (!known) return false;
    attrs.Set("axes", axes);
    ctx.node().inputs.resize(1);
  }
  const Shape& x = ctx.InShape(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  std::vector<int64_t> axes = attrs.Ints("axes");
  if (axes.empty() && attrs.Int("noop_with_empty_axes", 0) == 0) {
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  for (int64_t& a : axes) {
    MIXQ_ASSIGN_OR_RETURN(a, ctx.NormalizeAxis(a, rank, "axis"));
  }
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) {
    return ctx.Invalid("axes " + ShapeToString(attrs.Ints("axes")) + " name an axis twice");
  }
  attrs.Set("axes", axes);
  if (!IsReducible(ctx.InType(0))) {
    return ctx.Unsupported(std::string("reductions of ") + DTypeName(ctx.InType(0)) +
                           " data are not supported");
  }
  const bool keepdims = attrs.Int("keepdims", 1) != 0;
  Shape y;
  for (int64_t d = 0; d < rank; ++d) {
    const bool reduced = std::binary_search(axes.begin(), axes.end(), d);
    if (!reduced) {
      y.push_back(x[d]);
    } else if (keepdims) {
      y.push_back(1);
    }
  }
  ctx.SetOutput(0, ctx.InType(0), y);
  return true;
}

enum class ReduceKind { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kSumSquare };

// One reduction's arithmetic in accumulator type A: Init() is the value of
// an empty reduction, Step() takes in one element, Merge() joins two partial
// accumulators and Finish() turns the accumulator of `count` elements into
// the result.
template <ReduceKind K, typename A>
struct Reducer {
  static A Init() {
    if constexpr (K == ReduceKind::kMax) {
      return std::numeric_limits<A>::has_infinity ? -std::numeric_limits<A>::infinity()
                                                  : std::numeric_limits<A>::lowest();
    } else if constexpr (K == ReduceKind::kMin) {
      return std::numeric_limits<A>::has_infinity ? std::numeric_limits<A>::infinity()
                                                  : std::numeric_limits<A>::max();
    } else if constexpr (K == ReduceKind::kProd) {
      return A(1);
    } else {
      return A(0);
    }
  }
  static A Step(A acc, A x) {
    if constexpr (K == ReduceKind::kMax) {
      return x > acc ? x : acc;
    } else if constexpr (K == ReduceKind::kMin) {
      return x < acc ? x : acc;
    } else if constexpr (K == ReduceKind::kProd) {
      return acc * x;
    } else if constexpr (K == ReduceKind::kL1) {
      return acc + (x < 0 ? -x : x);
    } else if constexpr (K == ReduceKind::kL2 || K == ReduceKind::kSumSquare) {
      return acc + x * x;
    } else {
      return acc + x;
    }
  }
  static A Merge(A a, A b) {
    if constexpr (K == ReduceKind::kMax || K == ReduceKind::kMin || K == ReduceKind::kProd) {
      return Step(a, b);
    } else {
      return a + b;
    }
  }
  static A Finish(A acc, int64_t count) {
    if constexpr (K == ReduceKind::kMean) {
      return count == 0 ? A(0) : static_cast<A>(acc / static_cast<A>(count));
    } else if constexpr (K == ReduceKind::kL2) {
      return static_cast<A>(std::sqrt(static_cast<double>(acc)));
    } else {
      return acc;
    }
  }
};

// Float data accumulates in its own type, integers in int64.
template <typename T>
using AccumulatorOf = std::conditional_t<std::is_floating_point_v<T>, T, int64_t>;

// Lanes of independent accumulators: they let the compiler vectorise a
// reduction along contiguous memory (and fix the summation order, so the
// result does not depend on the thread count).
constexpr int64_t kLanes = 8;
constexpr int64_t kInnerBlock = 64;
// Elements a parallel task should cover at least.
constexpr int64_t kGrainElements = 1 << 14;
// A reduction of everything to one value splits into this many fixed parts.
constexpr int64_t kWholeParts = 64;

template <ReduceKind K, typename T>
class ReduceKernel {
 public:
  using A = AccumulatorOf<T>;
  using R = Reducer<K, A>;

  ReduceKernel(const ReduceGeometry& g, const T* x, T* y) : g_(g), x_(x), y_(y) {}

  void Run(const Parallelism& par) const {
    if (g_.general) {
      RunGeneral(par);
    } else if (g_.inner > 1) {
      RunBlocks(par);
    } else if (g_.outer == 1) {
      RunWhole(par);
    } else {
      RunRows(par);
    }
  }

 private:
  // Row `o` of an [outer, reduced] view, elements [begin, end).
  A RowPart(int64_t o, int64_t begin, int64_t end) const {
    const T* row = x_ + o * g_.reduced;
    A lanes[kLanes];
    for (A& lane : lanes) lane = R::Init();
    int64_t r = begin;
    for (; r + kLanes <= end; r += kLanes) {
      for (int64_t l = 0; l < kLanes; ++l) lanes[l] = R::Step(lanes[l], static_cast<A>(row[r + l]));
    }
    A acc = R::Init();
    for (; r < end; ++r) acc = R::Step(acc, static_cast<A>(row[r]));
    for (A lane : lanes) acc = R::Merge(acc, lane);
    return acc;
  }

  void RunRows(const Parallelism& par) const {
    const int64_t grain = std::max<int64_t>(1, kGrainElements / std::max<int64_t>(g_.reduced, 1));
    ParallelFor(par, g_.outer, grain, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        y_[o] = static_cast<T>(R::Finish(RowPart(o, 0, g_.reduced), g_.reduced));
      }
    });
  }

  // One output from all the input: fixed parts reduced in parallel, then
  // merged in order.
  void RunWhole(const Parallelism& par) const {
    const int64_t n = g_.reduced;
    const int64_t parts = std::clamp<int64_t>(n / kGrainElements, 1, kWholeParts);
    A partial[kWholeParts];
    ParallelFor(par, parts, 1, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p)
        partial[p] = RowPart(0, n * p / parts, n * (p + 1) / parts);
    });
    A acc = R::Init();
    for (int64_t p = 0; p < parts; ++p) acc = R::Merge(acc, partial[p]);
    y_[0] = static_cast<T>(R::Finish(acc, n));
  }

  // [outer, reduced, inner] with inner > 1: blocks of kInnerBlock outputs
  // accumulate whole rows of the input at once.
  void RunBlocks(const Parallelism& par) const {
    const int64_t blocks = (g_.inner + kInnerBlock - 1) / kInnerBlock;
    const int64_t per_task = std::max<int64_t>(g_.reduced * std::min(g_.inner, kInnerBlock), 1);
    const int64_t grain = std::max<int64_t>(1, kGrainElements / per_task);
    ParallelFor(par, g_.outer * blocks, grain, [&](int64_t begin, int64_t end) {
      A acc[kInnerBlock];
      for (int64_t t = begin; t < end; ++t) {
        const int64_t o = t / blocks;
        const int64_t i0 = (t % blocks) * kInnerBlock;
        const int64_t width = std::min(kInnerBlock, g_.inner - i0);
        for (int64_t i = 0; i < width; ++i) acc[i] = R::Init();
        const T* base = x_ + o * g_.reduced * g_.inner + i0;
        for (int64_t r = 0; r < g_.reduced; ++r) {
          const T* row = base + r * g_.inner;
          for (int64_t i = 0; i < width; ++i) acc[i] = R::Step(acc[i], static_cast<A>(row[i]));
        }
        T* out = y_ + o * g_.inner + i0;
        for (int64_t i = 0; i < width; ++i) out[i] = static_cast<T>(R::Finish(acc[i], g_.reduced));
      }
    });
  }

  // Several separate reduced groups: each output walks its reduced
  // elements with an odometer.
  void RunGeneral(const Parallelism& par) const {
    const int64_t count = g_.ReducedCount();
    const int64_t grain = std::max<int64_t>(1, kGrainElements / std::max<int64_t>(count, 1));
    ParallelFor(par, g_.OutputCount(), grain, [&](int64_t begin, int64_t end) {
      std::vector<int64_t> index(g_.reduced_dims.size());
      for (int64_t o = begin; o < end; ++o) {
        const int64_t base = g_.KeptOffset(o);
        A acc = R::Init();
        if (count > 0) {
          std::fill(index.begin(), index.end(), 0);
          int64_t offset = 0;
          for (int64_t k = 0; k < count; ++k) {
            acc = R::Step(acc, static_cast<A>(x_[base + offset]));
            for (size_t d = index.size(); d-- > 0;) {
              offset += g_.reduced_strides[d];
              if (++index[d] < g_.reduced_dims[d]) break;
              offset -= g_.reduced_strides[d] * g_.reduced_dims[d];
              index[d] = 0;
            }
          }
        }
        y_[o] = static_cast<T>(R::Finish(acc, count));
      }
    });
  }

  const ReduceGeometry& g_;
  const T* x_;
  T* y_;
};

template <ReduceKind K>
Status ReduceHost(const Node& node, const std::vector<ConstView>& inputs,
                  const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& x = inputs[0];
  if (!IsReducible(x.dtype) || outputs[0].dtype != x.dtype) {
    return Unimplemented(std::string("reductions of ") + DTypeName(x.dtype) +
                         " data are not supported");
  }
  const ReduceGeometry geometry(x.shape, node.attrs.Ints("axes"));
  VisitDType(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, uint16_t> &&
                  !std::is_same_v<T, uint8_t> && !std::is_same_v<T, int8_t>) {
      ReduceKernel<K, T>(geometry, x.as<T>(), outputs[0].as<T>()).Run(par);
    }
  });
  return Status::Ok();
}

StatusOr<bool> ArgShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  MIXQ_RETURN_IF_ERROR(ctx.ExpectOutputs(1, 1));
  const Shape& x = ctx.InShape(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  MIXQ_ASSIGN_OR_RETURN(int64_t axis, ctx.NormalizeAxis(ctx.attrs().Int("axis", 0), rank, "axis"));
  ctx.attrs().Set("axis", axis);
  if (!IsReducible(ctx.InType(0))) {
    return ctx.Unsupported(std::string("arg-reductions of ") + DTypeName(ctx.InType(0)) +
                           " data are not supported");
  }
  Shape y = x;
  if (ctx.attrs().Int("keepdims", 1) != 0) {
    y[axis] = 1;
  } else {
    y.erase(y.begin() + axis);
  }
  ctx.SetOutput(0, DType::kI64, y);
  return true;
}

// ArgMax (kMax = true) or ArgMin: the index of the first extreme element
// along the axis, or of the last with select_last_index=1.
template <bool kMax>
Status ArgHost(const Node& node, const std::vector<ConstView>& inputs,
               const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& x = inputs[0];
  if (!IsReducible(x.dtype)) {
    return Unimplemented(std::string("arg-reductions of ") + DTypeName(x.dtype) +
                         " data are not supported");
  }
  const ReduceGeometry g(x.shape, {node.attrs.Int("axis", 0)});
  const bool last = node.attrs.Int("select_last_index", 0) != 0;
  int64_t* y = outputs[0].as<int64_t>();
  VisitDType(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* data = x.as<T>();
    const int64_t grain = std::max<int64_t>(1, kGrainElements / std::max<int64_t>(g.reduced, 1));
    ParallelFor(par, g.outer * g.inner, grain, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const T* p = data + (t / g.inner) * g.reduced * g.inner + t % g.inner;
        int64_t best = 0;
        for (int64_t r = 1; r < g.reduced; ++r) {
          const T v = p[r * g.inner], b = p[best * g.inner];
          const bool better = kMax ? (last ? v >= b : v > b) : (last ? v <= b : v < b);
          if (better) best = r;
        }
        y[t] = best;
      }
    });
  });
  return Status::Ok();
}

}  // namespace

const OpDef* ReduceOpDef(OpType op) {
  static constexpr OpDef kMean{ReduceShape, ReduceHost<ReduceKind::kMean>};
  static constexpr OpDef kSum{ReduceShape, ReduceHost<ReduceKind::kSum>};
  static constexpr OpDef kMax{ReduceShape, ReduceHost<ReduceKind::kMax>};
  static constexpr OpDef kMin{ReduceShape, ReduceHost<ReduceKind::kMin>};
  static constexpr OpDef kProd{ReduceShape, ReduceHost<ReduceKind::kProd>};
  static constexpr OpDef kL1{ReduceShape, ReduceHost<ReduceKind::kL1>};
  static constexpr OpDef kL2{ReduceShape, ReduceHost<ReduceKind::kL2>};
  static constexpr OpDef kSumSquare{ReduceShape, ReduceHost<ReduceKind::kSumSquare>};
  static constexpr OpDef kArgMax{ArgShape, ArgHost<true>};
  static constexpr OpDef kArgMin{ArgShape, ArgHost<false>};
  switch (op) {
    case OpType::kReduceMean:
      return &kMean;
    case OpType::kReduceSum:
      return &kSum;
    case OpType::kReduceMax:
      return &kMax;
    case OpType::kReduceMin:
      return &kMin;
    case OpType::kReduceProd:
      return &kProd;
    case OpType::kReduceL1:
      return &kL1;
    case OpType::kReduceL2:
      return &kL2;
    case OpType::kReduceSumSquare:
      return &kSumSquare;
    case OpType::kArgMax:
      return &kArgMax;
    case OpType::kArgMin:
      return &kArgMin;
    default:
      return nullptr;
  }
}

}  // namespace mixq
