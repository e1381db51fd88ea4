// Pad: modes constant, reflect, edge and wrap, any rank and element type.
//
// The amounts are the `paddings` (opset 1, renamed at import) or `pads`
// attribute before opset 11 and the `pads` input from 11 on, for the dims
// listed in the `axes` input (18) or all of them; the shape rule leaves one
// full-rank "pads" attribute (begin amounts, then end amounts). The fill is
// the `value` attribute before 11 and the optional `constant_value` input
// after (read when the kernel runs, so it need not be constant).
//
// A negative amount crops that side first (as ONNX Runtime does); the
// positive amounts then pad the cropped extent, so reflect, edge and wrap
// mirror, repeat or cycle what is left. Reflect and wrap fold indices any
// distance out (numpy's behaviour for amounts beyond the dim).
#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "engine/ops/movement.h"
#include "engine/ops/op_families.h"

namespace mixq {
namespace {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

bool ParseMode(const std::string& name, PadMode* mode) {
  return ParseChoice(name,
                     {{"constant", PadMode::kConstant},
                      {"reflect", PadMode::kReflect},
                      {"edge", PadMode::kEdge},
                      {"wrap", PadMode::kWrap}},
                     mode);
}

// One axis: the input extent [lo, lo + length) left after cropping, and the
// positive padding before it.
struct PadAxis {
  int64_t lo = 0;
  int64_t length = 0;
  int64_t before = 0;
};

PadAxis AxisOf(int64_t dim, int64_t begin, int64_t end) {
  PadAxis axis;
  axis.lo = std::max<int64_t>(-begin, 0);
  axis.length = dim - axis.lo - std::max<int64_t>(-end, 0);
  axis.before = std::max<int64_t>(begin, 0);
  return axis;
}

// The input index output index `o` reads along `axis`, or -1 for the fill.
int64_t SourceIndex(const PadAxis& axis, int64_t o, PadMode mode) {
  int64_t c = o - axis.before;
  const int64_t m = axis.length;
  if (c < 0 || c >= m) {
    switch (mode) {
      case PadMode::kConstant:
        return -1;
      case PadMode::kEdge:
        c = std::clamp<int64_t>(c, 0, m - 1);
        break;
      case PadMode::kWrap:
        c = ((c % m) + m) % m;
        break;
      case PadMode::kReflect:
        if (m == 1) {
          c = 0;
        } else {
          const int64_t period = 2 * (m - 1);
          c = ((c % period) + period) % period;
          if (c >= m) c = period - c;
        }
        break;
    }
  }
  return axis.lo + c;
}

StatusOr<bool> PadShape(ShapeContext& ctx) {
  MIXQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 4));
  const Shape& x = ctx.InShape(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  PadMode mode = PadMode::kConstant;
  const std::string mode_name = ctx.attrs().String("mode", "constant");
  if (!ParseMode(mode_name, &mode)) return ctx.Invalid("unknown mode '" + mode_name + "'");
  if (rank > static_cast<int64_t>(kMaxMoveRank)) return ctx.Unsupported("rank above 16");
  if (ctx.HasInput(1)) {
    std::vector<int64_t> amounts, axes;
    MIXQ_ASSIGN_OR_RETURN(bool known, ctx.IntsOfInput(1, &amounts));
    if (!known) return false;
    if (ctx.HasInput(3)) {
      MIXQ_ASSIGN_OR_RETURN(known, ctx.IntsOfInput(3, &axes));
      if (!known) return false;
    } else {
      for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
    }
    if (amounts.size() != 2 * axes.size()) {
      return ctx.Invalid("pads " + ShapeToString(amounts) +
                         " do not give two amounts for each of " + std::to_string(axes.size()) +
                         " axes");
    }
    std::vector<int64_t> pads(2 * rank, 0);
    std::vector<bool> seen(rank, false);
    for (size_t i = 0; i < axes.size(); ++i) {
      MIXQ_ASSIGN_OR_RETURN(int64_t axis, ctx.NormalizeAxis(axes[i], rank, "axis"));
      if (seen[axis]) return ctx.Invalid("axis " + std::to_string(axis) + " is repeated");
      seen[axis] = true;
      pads[axis] = amounts[i];
      pads[rank + axis] = amounts[axes.size() + i];
    }
    ctx.attrs().Set("pads", pads);
    std::vector<std::string>& inputs = ctx.node().inputs;
    inputs[1].clear();
    if (inputs.size() > 3) inputs[3].clear();
    while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();
  }
  const std::vector<int64_t> pads = ctx.attrs().Ints("pads");
  if (static_cast<int64_t>(pads.size()) != 2 * rank) {
    return ctx.Invalid("pads " + ShapeToString(pads) + " do not fit rank " + std::to_string(rank));
  }
  if (ctx.HasInput(2) && NumElements(ctx.InShape(2)) != 1) {
    return ctx.Invalid("constant_value must hold one element");
  }
  Shape out(x.size());
  for (int64_t d = 0; d < rank; ++d) {
    if (x[d] < 0) {
      out[d] = -1;
      continue;
    }
    out[d] = x[d] + pads[d] + pads[rank + d];
    const PadAxis axis = AxisOf(x[d], pads[d], pads[rank + d]);
    if (out[d] < 0 || axis.length < 0) {
      return ctx.Invalid("pads " + ShapeToString(pads) + " crop more than dim " +
                         std::to_string(d) + " of " + ShapeToString(x) + " holds");
    }
    if (mode != PadMode::kConstant && axis.length == 0 && out[d] > 0) {
      return ctx.Invalid("mode '" + mode_name + "' cannot pad dim " + std::to_string(d) +
                         ", which is empty");
    }
  }
  ctx.SetOutput(0, ctx.InType(0), out);
  return true;
}

template <typename T>
void PadTyped(const ConstView& in, const MutView& out, const std::vector<int64_t>& pads,
              PadMode mode, T fill, const Parallelism& par) {
  const size_t rank = in.shape.size();
  if (rank == 0) {
    out.as<T>()[0] = in.as<T>()[0];
    return;
  }
  std::array<PadAxis, kMaxMoveRank> axes;
  for (size_t d = 0; d < rank; ++d) axes[d] = AxisOf(in.shape[d], pads[d], pads[rank + d]);
  const auto in_strides = DenseStrides(in.shape);
  const int64_t width = out.shape[rank - 1];
  const PadAxis& last = axes[rank - 1];
  const int64_t rows = width == 0 ? 0 : out.size / width;
  const T* src = in.as<T>();
  T* dst = out.as<T>();
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(width, 1));
  ParallelFor(par, rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      T* y = dst + row * width;
      int64_t offset = 0;
      int64_t rest = row;
      bool filled = false;
      for (size_t d = rank - 1; d-- > 0;) {
        const int64_t o = rest % out.shape[d];
        rest /= out.shape[d];
        const int64_t i = SourceIndex(axes[d], o, mode);
        if (i < 0) {
          filled = true;
          break;
        }
        offset += i * in_strides[d];
      }
      if (filled) {
        std::fill(y, y + width, fill);
        continue;
      }
      const T* x = src + offset;
      const int64_t body_end = std::min(width, last.before + last.length);
      for (int64_t o = 0; o < std::min(last.before, width); ++o) {
        const int64_t i = SourceIndex(last, o, mode);
        y[o] = i < 0 ? fill : x[i];
      }
      if (body_end > last.before) {
        std::memcpy(y + last.before, x + last.lo, (body_end - last.before) * sizeof(T));
      }
      for (int64_t o = std::max(body_end, last.before); o < width; ++o) {
        const int64_t i = SourceIndex(last, o, mode);
        y[o] = i < 0 ? fill : x[i];
      }
    }
  });
}

Status PadHost(const Node& node, const std::vector<ConstView>& inputs,
               const std::vector<MutView>& outputs, const Parallelism& par) {
  const ConstView& in = inputs[0];
  const std::vector<int64_t>* pads = IntsAttr(node, "pads");
  if (pads == nullptr || pads->size() != 2 * in.shape.size()) {
    return InvalidArgument("Pad: pads do not fit the input");
  }
  PadMode mode = PadMode::kConstant;
  if (!ParseMode(node.attrs.String("mode", "constant"), &mode)) {
    return InvalidArgument("Pad: unknown mode");
  }
  const bool fill_input = inputs.size() > 2 && inputs[2].data != nullptr;
  if (fill_input && inputs[2].dtype != in.dtype) {
    return InvalidArgument("Pad: constant_value's type differs from the data's");
  }
  VisitDType(in.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T fill =
        fill_input ? inputs[2].as<T>()[0] : static_cast<T>(node.attrs.Float("value", 0.f));
    PadTyped<T>(in, outputs[0], *pads, mode, fill, par);
  });
  return Status::Ok();
}

}  // namespace

const OpDef* PadOpDef(OpType op) {
  static constexpr OpDef kPad{PadShape, PadHost};
  return op == OpType::kPad ? &kPad : nullptr;
}

}  // namespace mixq
