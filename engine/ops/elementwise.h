// What the element-wise op families (unary.cc, binary.cc, logic.cc,
// prelu.cc) share: the element types ONNX allows them, shape-rule checks,
// and the loops of their host kernels (a walk over a broadcast output
// reading each operand at its broadcast offset, split over threads).
// Internal to engine/ops/.
#ifndef MIXQ_ENGINE_OPS_ELEMENTWISE_H_
#define MIXQ_ENGINE_OPS_ELEMENTWISE_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "engine/ir/broadcast.h"
#include "engine/ops/op_def.h"

namespace mixq {

// Element types by what ONNX's type constraints admit (of those mixq holds;
// float16 is held as bits, not computed on, and is refused).
const std::vector<DType>& FloatTypes();    // float32, float64
const std::vector<DType>& SignedTypes();   // the floats, int64, int32, int8
const std::vector<DType>& NumericTypes();  // the signed ones and uint8
// The floats, int64 and int32 (Pow's base, PRelu from opset 16).
const std::vector<DType>& FloatAndWideIntTypes();

// OK when input i's type is one of `allowed`; Unimplemented for float16,
// InvalidArgument for other types, naming the node.
Status CheckInputType(const ShapeContext& ctx, size_t i, const std::vector<DType>& allowed);
// OK when every present input has input `first`'s type.
Status CheckSameTypes(const ShapeContext& ctx, size_t first);
// The numpy broadcast of the shapes of every present input from `first` on;
// InvalidArgument naming them when they do not broadcast.
StatusOr<Shape> BroadcastInputs(const ShapeContext& ctx, size_t first = 0);

// Elements per parallel chunk: element-wise work is cheap per element.
inline constexpr int64_t kElementwiseGrain = 16384;

// Rows at least this long are walked with fixed per-operand steps (the
// walker repositioned once per row); shorter ones element by element.
inline constexpr int64_t kBroadcastRowMin = 8;

// Calls f(i, offsets) for every element i of an output of shape `out`,
// where offsets[k] is the element of operand k that broadcasts to i. Where
// every operand has the output's shape the offsets are i itself and no
// walker (and no allocation) is needed. Otherwise the output's last dim is
// walked as rows in which each operand moves by a fixed step (1, or 0 where
// it broadcasts, as an attention mask [N,1,1,S] over scores [N,H,S,S]), so
// the walker, which costs several ns an element, moves once per row.
template <size_t N, typename F>
void ForEachBroadcast(const Shape& out, const std::array<const Shape*, N>& operands,
                      const Parallelism& par, F&& f) {
  bool same = true;
  for (const Shape* s : operands) same = same && *s == out;
  const int64_t row = out.empty() ? 1 : out.back();
  std::array<int64_t, N> step{};
  if (!same && row >= kBroadcastRowMin) {
    for (size_t k = 0; k < N; ++k) step[k] = BroadcastStrides(*operands[k], out.size()).back();
  }
  ParallelFor(par, NumElements(out), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    std::array<int64_t, N> offsets{};
    if (same) {
      for (int64_t i = begin; i < end; ++i) {
        offsets.fill(i);
        f(i, offsets);
      }
      return;
    }
    BroadcastWalker walker(out, std::vector<const Shape*>(operands.begin(), operands.end()));
    walker.Seek(begin);
    if (row < kBroadcastRowMin) {
      for (int64_t i = begin; i < end; ++i) {
        for (size_t k = 0; k < N; ++k) offsets[k] = walker.offset(k);
        f(i, offsets);
        walker.Next();
      }
      return;
    }
    for (int64_t i = begin; i < end;) {
      const int64_t run = std::min(row - i % row, end - i);
      std::array<int64_t, N> base{};
      for (size_t k = 0; k < N; ++k) base[k] = walker.offset(k);
      for (int64_t j = 0; j < run; ++j) {
        for (size_t k = 0; k < N; ++k) offsets[k] = base[k] + j * step[k];
        f(i + j, offsets);
      }
      i += run;
      if (i < end) walker.Seek(i);
    }
  });
}

}  // namespace mixq

#endif  // MIXQ_ENGINE_OPS_ELEMENTWISE_H_
