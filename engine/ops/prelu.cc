// PRelu: y = x < 0 ? slope * x : x, the slope broadcast to x (see prelu.h).
// float32, float64, int32 and int64, as ONNX allows from opset 16.
#include "engine/ops/prelu.h"

#include <string>
#include <type_traits>
#include <vector>

#include "engine/ops/elementwise.h"
#include "engine/ops/op_families.h"

namespace mixq {

bool PReluSlopeShape(const Shape& x, const Shape& slope, Shape* aligned) {
  if (slope.size() > x.size()) return false;
  Shape padded(x.size() - slope.size(), 1);
  padded.insert(padded.end(), slope.begin(), slope.end());
  bool fits = true;
  for (size_t i = 0; i < x.size(); ++i) {
    const bool known = x[i] >= 0 && padded[i] >= 0;
    fits = fits && (padded[i] == 1 || !known || padded[i] == x[i]);
  }
  if (fits) {
    *aligned = padded;
    return true;
  }
  if (slope.size() == 1 && x.size() >= 3 && slope[0] == x[1]) {
    Shape channel(x.size(), 1);
    channel[1] = slope[0];
    *aligned = channel;
    return true;
  }
  return false;
}

namespace {

StatusOr<bool> PReluShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  MIXQ_RETURN_IF_ERROR(CheckInputType(ctx, 0, FloatAndWideIntTypes()));
  MIXQ_RETURN_IF_ERROR(CheckSameTypes(ctx, 0));
  Shape aligned;
  if (!PReluSlopeShape(ctx.InShape(0), ctx.InShape(1), &aligned)) {
    return ctx.Invalid("slope '" + ctx.node().inputs[1] + "' " + ShapeToString(ctx.InShape(1)) +
                       " does not broadcast to X " + ShapeToString(ctx.InShape(0)));
  }
  ctx.SetOutput(0, ctx.InType(0), ctx.InShape(0));
  return true;
}

Status PReluHost(const Node& /*node*/, const std::vector<ConstView>& inputs,
                 const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& x = inputs[0];
  const ConstView& slope = inputs[1];
  Shape aligned;
  if (!PReluSlopeShape(x.shape, slope.shape, &aligned) || x.dtype != slope.dtype) {
    return InvalidArgument("slope " + ShapeToString(slope.shape) + " does not fit X " +
                           ShapeToString(x.shape));
  }
  const MutView& out = outputs[0];
  VisitDType(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* in = x.as<T>();
    const T* s = slope.as<T>();
    T* y = out.as<T>();
    ForEachBroadcast<2>(out.shape, {&x.shape, &aligned}, par,
                        [&](int64_t i, const std::array<int64_t, 2>& at) {
                          const T v = in[at[0]];
                          if constexpr (std::is_signed_v<T>) {
                            y[i] = v < 0 ? static_cast<T>(s[at[1]] * v) : v;
                          } else {
                            y[i] = v;  // never negative (the shape rule admits no such type)
                          }
                        });
  });
  return Status::Ok();
}

}  // namespace

const OpDef* PReluOpDef(OpType op) {
  static constexpr OpDef kPRelu{PReluShape, PReluHost};
  return op == OpType::kPRelu ? &kPRelu : nullptr;
}

}  // namespace mixq
