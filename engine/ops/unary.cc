// Element-wise unary math: Abs, Neg, Sqrt, Reciprocal, Exp, Log, Erf,
// Floor, Ceil, Round, Sin, Cos, Elu, Selu, Softplus and Gelu. The output
// has the input's type and shape. Float-only ops take float32 and float64;
// Abs and Erf any numeric type, Neg the signed ones (as ONNX allows).
// float16 is refused: mixq holds its bits but does not compute on them.
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/ops/elementwise.h"
#include "engine/ops/op_families.h"

namespace mixq {
namespace {

const std::vector<DType>& AllowedTypes(OpType op) {
  switch (op) {
    case OpType::kAbs:
    case OpType::kErf:
      return NumericTypes();
    case OpType::kNeg:
      return SignedTypes();
    default:
      return FloatTypes();
  }
}

StatusOr<bool> UnaryShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  MIXQ_RETURN_IF_ERROR(ctx.ExpectOutputs(1, 1));
  MIXQ_RETURN_IF_ERROR(CheckInputType(ctx, 0, AllowedTypes(ctx.node().op)));
  if (ctx.node().op == OpType::kGelu) {
    const std::string approximate = ctx.attrs().String("approximate", "none");
    if (approximate != "none" && approximate != "tanh") {
      return ctx.Invalid("approximate '" + approximate + "' is neither 'none' nor 'tanh'");
    }
  }
  ctx.SetOutput(0, ctx.InType(0), ctx.InShape(0));
  return true;
}

// out[i] = f(in[i]) with T the storage type, split over threads.
template <typename T, typename F>
void MapAs(const ConstView& in, const MutView& out, const Parallelism& par, const F& f) {
  const T* x = in.as<T>();
  T* y = out.as<T>();
  ParallelFor(par, in.size, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = static_cast<T>(f(x[i]));
  });
}

// MapAs for the float-only ops (the shape rule admitted float32 or float64).
template <typename F>
Status MapFloat(const ConstView& in, const MutView& out, const Parallelism& par, const F& f) {
  if (in.dtype == DType::kF32) {
    MapAs<float>(in, out, par, f);
  } else if (in.dtype == DType::kF64) {
    MapAs<double>(in, out, par, f);
  } else {
    return InvalidArgument(std::string("a float-only op got ") + DTypeName(in.dtype));
  }
  return Status::Ok();
}

// MapAs for any numeric type; f must compile for every storage type.
template <typename F>
Status MapNumeric(const ConstView& in, const MutView& out, const Parallelism& par, const F& f) {
  const std::vector<DType>& numeric = NumericTypes();
  if (std::find(numeric.begin(), numeric.end(), in.dtype) == numeric.end()) {
    return InvalidArgument(std::string("a numeric op got ") + DTypeName(in.dtype));
  }
  VisitDType(in.dtype, [&](auto zero) { MapAs<decltype(zero)>(in, out, par, f); });
  return Status::Ok();
}

// GELU with the exact erf, and with the tanh approximation.
template <typename T>
T GeluErf(T x) {
  return T(0.5) * x * (T(1) + std::erf(x * static_cast<T>(0.7071067811865476)));
}
template <typename T>
T GeluTanh(T x) {
  const T k = static_cast<T>(0.7978845608028654);  // sqrt(2 / pi)
  return T(0.5) * x * (T(1) + std::tanh(k * (x + T(0.044715) * x * x * x)));
}

Status UnaryHost(const Node& node, const std::vector<ConstView>& inputs,
                 const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& in = inputs[0];
  const MutView& out = outputs[0];
  switch (node.op) {
    case OpType::kAbs:
      return MapNumeric(in, out, par, [](auto x) {
        if constexpr (std::is_unsigned_v<decltype(x)>) {
          return x;
        } else {
          return x < 0 ? -x : x;
        }
      });
    case OpType::kNeg:
      return MapNumeric(in, out, par, [](auto x) { return -x; });
    case OpType::kErf:
      return MapNumeric(in, out, par, [](auto x) { return std::erf(x); });
    case OpType::kSqrt:
      return MapFloat(in, out, par, [](auto x) { return std::sqrt(x); });
    case OpType::kReciprocal:
      return MapFloat(in, out, par, [](auto x) { return decltype(x)(1) / x; });
    case OpType::kExp:
      return MapFloat(in, out, par, [](auto x) { return std::exp(x); });
    case OpType::kLog:
      return MapFloat(in, out, par, [](auto x) { return std::log(x); });
    case OpType::kFloor:
      return MapFloat(in, out, par, [](auto x) { return std::floor(x); });
    case OpType::kCeil:
      return MapFloat(in, out, par, [](auto x) { return std::ceil(x); });
    case OpType::kRound:
      // The default rounding mode rounds halves to even, as ONNX asks.
      return MapFloat(in, out, par, [](auto x) { return std::nearbyint(x); });
    case OpType::kSin:
      return MapFloat(in, out, par, [](auto x) { return std::sin(x); });
    case OpType::kCos:
      return MapFloat(in, out, par, [](auto x) { return std::cos(x); });
    case OpType::kElu: {
      const double alpha = node.attrs.Float("alpha", 1.f);
      return MapFloat(in, out, par, [alpha](auto x) {
        using T = decltype(x);
        return x < 0 ? static_cast<T>(alpha) * std::expm1(x) : x;
      });
    }
    case OpType::kSelu: {
      const double alpha = node.attrs.Float("alpha", 1.67326319217681884765625f);
      const double gamma = node.attrs.Float("gamma", 1.05070102214813232421875f);
      return MapFloat(in, out, par, [alpha, gamma](auto x) {
        using T = decltype(x);
        return static_cast<T>(gamma) * (x > 0 ? x : static_cast<T>(alpha) * std::expm1(x));
      });
    }
    case OpType::kSoftplus:
      // log(1 + e^x), written so that neither branch overflows.
      return MapFloat(in, out, par, [](auto x) {
        return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
      });
    case OpType::kGelu:
      if (node.attrs.String("approximate", "none") == "tanh") {
        return MapFloat(in, out, par, [](auto x) { return GeluTanh(x); });
      }
      return MapFloat(in, out, par, [](auto x) { return GeluErf(x); });
    default:
      return Unimplemented(std::string(OpTypeName(node.op)) + " is not a unary math op");
  }
}

}  // namespace

const OpDef* UnaryOpDef(OpType op) {
  // The enum lists this family's ops together, Abs to Gelu.
  static_assert(static_cast<int>(OpType::kGelu) - static_cast<int>(OpType::kAbs) == 15,
                "the 16 unary math ops are contiguous in OpType");
  static constexpr OpDef kUnary{UnaryShape, UnaryHost};
  const bool unary = static_cast<int>(op) >= static_cast<int>(OpType::kAbs) &&
                     static_cast<int>(op) <= static_cast<int>(OpType::kGelu);
  return unary ? &kUnary : nullptr;
}

}  // namespace mixq
