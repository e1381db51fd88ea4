#include "engine/ops/elementwise.h"

#include <algorithm>
#include <string>

namespace mixq {

const std::vector<DType>& FloatTypes() {
  static const std::vector<DType> types = {DType::kF32, DType::kF64};
  return types;
}

const std::vector<DType>& SignedTypes() {
  static const std::vector<DType> types = {DType::kF32, DType::kF64, DType::kI64, DType::kI32,
                                           DType::kI8};
  return types;
}

const std::vector<DType>& NumericTypes() {
  static const std::vector<DType> types = {DType::kF32, DType::kF64, DType::kI64,
                                           DType::kI32, DType::kI8,  DType::kU8};
  return types;
}

const std::vector<DType>& FloatAndWideIntTypes() {
  static const std::vector<DType> types = {DType::kF32, DType::kF64, DType::kI64, DType::kI32};
  return types;
}

Status CheckInputType(const ShapeContext& ctx, size_t i, const std::vector<DType>& allowed) {
  const DType dtype = ctx.InType(i);
  if (std::find(allowed.begin(), allowed.end(), dtype) != allowed.end()) return Status::Ok();
  std::string names;
  for (DType d : allowed) names += (names.empty() ? "" : ", ") + std::string(DTypeName(d));
  const std::string reason =
      "input '" + ctx.node().inputs[i] + "' has type " + DTypeName(dtype) + "; supported: " + names;
  return dtype == DType::kF16 ? ctx.Unsupported(reason) : ctx.Invalid(reason);
}

Status CheckSameTypes(const ShapeContext& ctx, size_t first) {
  for (size_t i = first + 1; i < ctx.num_inputs(); ++i) {
    if (!ctx.HasInput(i) || ctx.InType(i) == ctx.InType(first)) continue;
    return ctx.Invalid("input '" + ctx.node().inputs[i] + "' has type " + DTypeName(ctx.InType(i)) +
                       " but '" + ctx.node().inputs[first] + "' " + DTypeName(ctx.InType(first)));
  }
  return Status::Ok();
}

StatusOr<Shape> BroadcastInputs(const ShapeContext& ctx, size_t first) {
  Shape out;
  std::string names;
  for (size_t i = first; i < ctx.num_inputs(); ++i) {
    if (!ctx.HasInput(i)) continue;
    names +=
        (names.empty() ? "'" : ", '") + ctx.node().inputs[i] + "' " + ShapeToString(ctx.InShape(i));
    if (!BroadcastShapes(out, ctx.InShape(i), &out)) {
      return ctx.Invalid("shapes of " + names + " do not broadcast");
    }
  }
  return out;
}

}  // namespace mixq
