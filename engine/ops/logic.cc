// Comparisons and logic, with numpy broadcasting: Equal, Greater,
// GreaterOrEqual, Less, LessOrEqual (two inputs of one numeric type, or
// bool for Equal; a bool output), And, Or, Not (bool), and Where
// (condition ? X : Y, the three broadcast together; X and Y of any one type).
#include <string>
#include <vector>

#include "engine/ops/elementwise.h"
#include "engine/ops/op_families.h"

namespace mixq {
namespace {

const std::vector<DType>& BoolType() {
  static const std::vector<DType> types = {DType::kBool};
  return types;
}

const std::vector<DType>& EqualTypes() {
  static const std::vector<DType> types = [] {
    std::vector<DType> t = NumericTypes();
    t.push_back(DType::kBool);
    return t;
  }();
  return types;
}

StatusOr<bool> CompareShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  const OpType op = ctx.node().op;
  const bool logic = op == OpType::kAnd || op == OpType::kOr;
  MIXQ_RETURN_IF_ERROR(CheckInputType(
      ctx, 0, logic ? BoolType() : (op == OpType::kEqual ? EqualTypes() : NumericTypes())));
  MIXQ_RETURN_IF_ERROR(CheckSameTypes(ctx, 0));
  MIXQ_ASSIGN_OR_RETURN(Shape out, BroadcastInputs(ctx));
  ctx.SetOutput(0, DType::kBool, out);
  return true;
}

template <typename T>
bool Compare(OpType op, T a, T b) {
  switch (op) {
    case OpType::kEqual:
      return a == b;
    case OpType::kGreater:
      return a > b;
    case OpType::kGreaterOrEqual:
      return a >= b;
    case OpType::kLess:
      return a < b;
    case OpType::kLessOrEqual:
      return a <= b;
    case OpType::kAnd:
      return a != 0 && b != 0;
    default:  // kOr
      return a != 0 || b != 0;
  }
}

Status CompareHost(const Node& node, const std::vector<ConstView>& inputs,
                   const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& a = inputs[0];
  const ConstView& b = inputs[1];
  const MutView& out = outputs[0];
  if (a.dtype != b.dtype || a.dtype == DType::kF16) {
    return InvalidArgument(std::string(OpTypeName(node.op)) + " on " + DTypeName(a.dtype) +
                           " and " + DTypeName(b.dtype));
  }
  VisitDType(a.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* x = a.as<T>();
    const T* y = b.as<T>();
    uint8_t* z = out.as<uint8_t>();
    ForEachBroadcast<2>(out.shape, {&a.shape, &b.shape}, par,
                        [&](int64_t i, const std::array<int64_t, 2>& at) {
                          z[i] = Compare(node.op, x[at[0]], y[at[1]]) ? 1 : 0;
                        });
  });
  return Status::Ok();
}

StatusOr<bool> NotShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
  MIXQ_RETURN_IF_ERROR(CheckInputType(ctx, 0, BoolType()));
  ctx.SetOutput(0, DType::kBool, ctx.InShape(0));
  return true;
}

Status NotHost(const Node& /*node*/, const std::vector<ConstView>& inputs,
               const std::vector<MutView>& outputs, const Parallelism& par) {
  const uint8_t* x = inputs[0].as<uint8_t>();
  uint8_t* y = outputs[0].as<uint8_t>();
  ParallelFor(par, inputs[0].size, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = x[i] == 0 ? 1 : 0;
  });
  return Status::Ok();
}

StatusOr<bool> WhereShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  MIXQ_RETURN_IF_ERROR(CheckInputType(ctx, 0, BoolType()));
  MIXQ_RETURN_IF_ERROR(CheckSameTypes(ctx, 1));
  MIXQ_ASSIGN_OR_RETURN(Shape out, BroadcastInputs(ctx));
  ctx.SetOutput(0, ctx.InType(1), out);
  return true;
}

// Selects whole elements, so any element type works (float16 bits too).
Status WhereHost(const Node& /*node*/, const std::vector<ConstView>& inputs,
                 const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& cond = inputs[0];
  const MutView& out = outputs[0];
  VisitDType(out.dtype, [&](auto zero) {
    using T = decltype(zero);
    const uint8_t* c = cond.as<uint8_t>();
    const T* x = inputs[1].as<T>();
    const T* y = inputs[2].as<T>();
    T* z = out.as<T>();
    ForEachBroadcast<3>(out.shape, {&cond.shape, &inputs[1].shape, &inputs[2].shape}, par,
                        [&](int64_t i, const std::array<int64_t, 3>& at) {
                          z[i] = c[at[0]] ? x[at[1]] : y[at[2]];
                        });
  });
  return Status::Ok();
}

}  // namespace

const OpDef* LogicOpDef(OpType op) {
  static constexpr OpDef kCompare{CompareShape, CompareHost};
  static constexpr OpDef kNot{NotShape, NotHost};
  static constexpr OpDef kWhere{WhereShape, WhereHost};
  switch (op) {
    case OpType::kEqual:
    case OpType::kGreater:
    case OpType::kGreaterOrEqual:
    case OpType::kLess:
    case OpType::kLessOrEqual:
    case OpType::kAnd:
    case OpType::kOr:
      return &kCompare;
    case OpType::kNot:
      return &kNot;
    case OpType::kWhere:
      return &kWhere;
    default:
      return nullptr;
  }
}

}  // namespace mixq
