// Element-wise arithmetic with numpy broadcasting beyond the core four
// (Add, Sub, Mul, Div, which the core passes handle): Pow, and the variadic
// Min, Max, Sum and Mean (one input or more; Mean is Sum divided by the
// input count). Pow's output has the base's type; the others' inputs share
// one numeric type, which the output keeps (ONNX admits only floats for Sum
// and Mean; Sum accepts integers for shape arithmetic, Mean does not).
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/ops/elementwise.h"
#include "engine/ops/op_families.h"

namespace mixq {
namespace {

StatusOr<bool> PowShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  MIXQ_RETURN_IF_ERROR(CheckInputType(ctx, 0, FloatAndWideIntTypes()));
  MIXQ_RETURN_IF_ERROR(CheckInputType(ctx, 1, NumericTypes()));
  MIXQ_ASSIGN_OR_RETURN(Shape out, BroadcastInputs(ctx));
  ctx.SetOutput(0, ctx.InType(0), out);
  return true;
}

StatusOr<bool> VariadicShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, std::numeric_limits<size_t>::max()));
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.HasInput(i)) return ctx.Invalid("input " + std::to_string(i) + " is empty");
  }
  MIXQ_RETURN_IF_ERROR(
      CheckInputType(ctx, 0, ctx.node().op == OpType::kMean ? FloatTypes() : NumericTypes()));
  MIXQ_RETURN_IF_ERROR(CheckSameTypes(ctx, 0));
  MIXQ_ASSIGN_OR_RETURN(Shape out, BroadcastInputs(ctx));
  ctx.SetOutput(0, ctx.InType(0), out);
  return true;
}

// b to the power e. Integers to a non-negative integer power multiply
// exactly (wrapping like the integer type); everything else goes through
// double, and a non-finite result in an integer type becomes 0.
template <typename B, typename E>
B PowOf(B b, E e) {
  if constexpr (std::is_integral_v<B> && std::is_integral_v<E>) {
    bool negative = false;
    if constexpr (std::is_signed_v<E>) negative = e < 0;
    if (!negative) {
      using U = std::make_unsigned_t<B>;
      U result = 1, base = static_cast<U>(b);
      for (uint64_t n = static_cast<uint64_t>(e); n != 0; n >>= 1) {
        if (n & 1) result = static_cast<U>(result * base);
        base = static_cast<U>(base * base);
      }
      return static_cast<B>(result);
    }
  }
  const double r = std::pow(static_cast<double>(b), static_cast<double>(e));
  if constexpr (std::is_integral_v<B>) {
    if (!std::isfinite(r)) return 0;
  }
  return static_cast<B>(r);
}

template <typename B>
void PowWithBase(const ConstView& base, const ConstView& exponent, const MutView& out,
                 const Parallelism& par) {
  VisitDType(exponent.dtype, [&](auto zero) {
    using E = decltype(zero);
    const B* b = base.as<B>();
    const E* e = exponent.as<E>();
    B* y = out.as<B>();
    ForEachBroadcast<2>(
        out.shape, {&base.shape, &exponent.shape}, par,
        [&](int64_t i, const std::array<int64_t, 2>& at) { y[i] = PowOf(b[at[0]], e[at[1]]); });
  });
}

Status PowHost(const Node& /*node*/, const std::vector<ConstView>& inputs,
               const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& base = inputs[0];
  const ConstView& exponent = inputs[1];
  if (exponent.dtype == DType::kF16 || exponent.dtype == DType::kBool) {
    return InvalidArgument(std::string("Pow exponent of type ") + DTypeName(exponent.dtype));
  }
  switch (base.dtype) {
    case DType::kF32:
      PowWithBase<float>(base, exponent, outputs[0], par);
      return Status::Ok();
    case DType::kF64:
      PowWithBase<double>(base, exponent, outputs[0], par);
      return Status::Ok();
    case DType::kI64:
      PowWithBase<int64_t>(base, exponent, outputs[0], par);
      return Status::Ok();
    case DType::kI32:
      PowWithBase<int32_t>(base, exponent, outputs[0], par);
      return Status::Ok();
    default:
      return InvalidArgument(std::string("Pow base of type ") + DTypeName(base.dtype));
  }
}

// NaN wins, as numpy's minimum and maximum have it.
template <typename T>
bool IsNan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else {
    (void)v;
    return false;
  }
}

template <typename T>
T Combine(OpType op, T a, T b) {
  switch (op) {
    case OpType::kMin:
      return IsNan(a) || IsNan(b) ? (IsNan(a) ? a : b) : (b < a ? b : a);
    case OpType::kMax:
      return IsNan(a) || IsNan(b) ? (IsNan(a) ? a : b) : (b > a ? b : a);
    default:  // Sum, Mean
      return static_cast<T>(a + b);
  }
}

// out = input 0 broadcast to the output, then out = out `op` input k for
// each further input; Mean then divides by the input count.
Status VariadicHost(const Node& node, const std::vector<ConstView>& inputs,
                    const std::vector<MutView>& outputs, const Parallelism& par) {
  const MutView& out = outputs[0];
  if (out.dtype == DType::kF16 || out.dtype == DType::kBool) {
    return InvalidArgument(std::string(OpTypeName(node.op)) + " on " + DTypeName(out.dtype));
  }
  VisitDType(out.dtype, [&](auto zero) {
    using T = decltype(zero);
    T* y = out.as<T>();
    const T* first = inputs[0].as<T>();
    ForEachBroadcast<1>(out.shape, {&inputs[0].shape}, par,
                        [&](int64_t i, const std::array<int64_t, 1>& at) { y[i] = first[at[0]]; });
    for (size_t k = 1; k < inputs.size(); ++k) {
      const T* x = inputs[k].as<T>();
      ForEachBroadcast<2>(out.shape, {&out.shape, &inputs[k].shape}, par,
                          [&](int64_t i, const std::array<int64_t, 2>& at) {
                            y[i] = Combine(node.op, y[i], x[at[1]]);
                          });
    }
    if (node.op == OpType::kMean) {
      const T count = static_cast<T>(inputs.size());
      ParallelFor(par, out.size, kElementwiseGrain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) y[i] /= count;
      });
    }
  });
  return Status::Ok();
}

}  // namespace

const OpDef* BinaryOpDef(OpType op) {
  static constexpr OpDef kPow{PowShape, PowHost};
  static constexpr OpDef kVariadic{VariadicShape, VariadicHost};
  switch (op) {
    case OpType::kPow:
      return &kPow;
    case OpType::kMin:
    case OpType::kMax:
    case OpType::kSum:
    case OpType::kMean:
      return &kVariadic;
    default:
      return nullptr;
  }
}

}  // namespace mixq
