// Ops that make a tensor from scalars: ConstantOfShape and Range. Both have
// output shapes that depend on input values, so their inputs must be
// constant by the time shapes are concrete (they are, in the shape
// sub-graphs exporters emit once input shapes are fixed).
#include <cmath>
#include <string>
#include <vector>

#include "engine/ops/op_families.h"

namespace mixq {
namespace {

// Import stores the `value` tensor attribute as attrs "value" (a double
// would lose int64 precision beyond 2^53; ONNX fills are 0 or 1 in practice)
// and "value_dtype" (a DType); absent means float32 zero.
DType FillDType(const Node& node) {
  return static_cast<DType>(node.attrs.Int("value_dtype", static_cast<int64_t>(DType::kF32)));
}

StatusOr<bool> ConstantOfShapeShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  if (ctx.InShape(0).size() != 1) return ctx.Invalid("input 'shape' must be 1-D");
  std::vector<int64_t> dims;
  MIXQ_ASSIGN_OR_RETURN(bool known, ctx.IntsOfInput(0, &dims));
  if (!known) return false;
  for (int64_t d : dims) {
    if (d < 0) return ctx.Invalid("shape " + ShapeToString(dims) + " has a negative dim");
  }
  const DType dtype = FillDType(ctx.node());
  if (static_cast<size_t>(dtype) > static_cast<size_t>(DType::kBool)) {
    return ctx.Invalid("value has an unknown element type");
  }
  ctx.SetOutput(0, dtype, dims);
  return true;
}

Status ConstantOfShapeHost(const Node& node, const std::vector<ConstView>& /*inputs*/,
                           const std::vector<MutView>& outputs, const Parallelism& /*par*/) {
  const MutView& out = outputs[0];
  const double value = node.attrs.Float("value", 0.f);
  VisitDType(out.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T fill = out.dtype == DType::kBool ? T(value != 0) : static_cast<T>(value);
    T* data = out.as<T>();
    for (int64_t i = 0; i < out.size; ++i) data[i] = fill;
  });
  return Status::Ok();
}

StatusOr<bool> RangeShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  const DType dtype = ctx.InType(0);
  for (size_t i = 0; i < 3; ++i) {
    if (ctx.InType(i) != dtype) return ctx.Invalid("start, limit and delta differ in type");
    if (NumElements(ctx.InShape(i)) != 1)
      return ctx.Invalid("start, limit and delta must be scalars");
  }
  const Tensor* start = ctx.Constant(0);
  const Tensor* limit = ctx.Constant(1);
  const Tensor* delta = ctx.Constant(2);
  if (start == nullptr || limit == nullptr || delta == nullptr) {
    return ctx.NotYet("start, limit and delta must be constant (the length depends on them)");
  }
  int64_t count = 0;
  if (IsFloatingPoint(dtype)) {
    const double d = delta->FloatAt(0);
    if (d == 0 || !std::isfinite(d)) return ctx.Invalid("delta must be finite and non-zero");
    count = static_cast<int64_t>(std::ceil((limit->FloatAt(0) - start->FloatAt(0)) / d));
  } else {
    const int64_t d = delta->IntAt(0);
    if (d == 0) return ctx.Invalid("delta must be non-zero");
    const int64_t span = limit->IntAt(0) - start->IntAt(0);
    // Ceiling division for either sign of delta.
    count = span / d + ((span % d != 0 && ((span < 0) == (d < 0))) ? 1 : 0);
  }
  ctx.SetOutput(0, dtype, {std::max<int64_t>(count, 0)});
  return true;
}

Status RangeHost(const Node& /*node*/, const std::vector<ConstView>& inputs,
                 const std::vector<MutView>& outputs, const Parallelism& /*par*/) {
  const MutView& out = outputs[0];
  VisitDType(out.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T start = inputs[0].as<T>()[0];
    const T delta = inputs[2].as<T>()[0];
    T* data = out.as<T>();
    // ONNX defines element i as start + i * delta (not a running sum).
    for (int64_t i = 0; i < out.size; ++i)
      data[i] = static_cast<T>(start + static_cast<T>(i) * delta);
  });
  return Status::Ok();
}

}  // namespace

const OpDef* GenerateOpDef(OpType op) {
  static constexpr OpDef kConstantOfShape{ConstantOfShapeShape, ConstantOfShapeHost};
  static constexpr OpDef kRange{RangeShape, RangeHost};
  switch (op) {
    case OpType::kConstantOfShape:
      return &kConstantOfShape;
    case OpType::kRange:
      return &kRange;
    default:
      return nullptr;
  }
}

}  // namespace mixq
