// engine/passes/fold_pad.h: a Pad before a Conv or pool becomes the op's own
// padding exactly where that keeps the result, checked against the
// reference op on an explicitly padded input, and left alone (still
// correct) where it would not.
#include "engine/passes/fold_pad.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "engine/passes/specialize.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/op_case.h"
#include "tests/engine/reference_ops.h"

namespace mixq {
namespace {

using testing::Floats;
using testing::GraphBuilder;
using testing::Ints;

constexpr float kInf = std::numeric_limits<float>::infinity();

// NCHW `x` padded by `pads` (top, left, bottom, right) with `fill`.
Tensor Padded(const Tensor& x, const std::vector<int64_t>& pads, float fill) {
  const Shape& s = x.shape();
  const Shape out = {s[0], s[1], s[2] + pads[0] + pads[2], s[3] + pads[1] + pads[3]};
  Tensor y(DType::kF32, out);
  for (int64_t nc = 0; nc < s[0] * s[1]; ++nc) {
    for (int64_t h = 0; h < out[2]; ++h) {
      for (int64_t w = 0; w < out[3]; ++w) {
        const int64_t ih = h - pads[0], iw = w - pads[1];
        const bool inside = ih >= 0 && ih < s[2] && iw >= 0 && iw < s[3];
        y.data<float>()[(nc * out[2] + h) * out[3] + w] =
            inside ? x.data<float>()[(nc * s[2] + ih) * s[3] + iw] : fill;
      }
    }
  }
  return y;
}

struct Window {
  OpType op = OpType::kConv;
  std::vector<int64_t> kernel = {3, 3};
  std::vector<int64_t> strides = {1, 1};
  std::vector<int64_t> pads = {0, 0, 0, 0};
  int64_t count_include_pad = 0;
};

struct Result {
  Tensor got, want;
  bool folded = false;
  std::vector<int64_t> op_pads;
};

// x [1,4,6,7] -> (Relu when `relu`) -> Pad(`pads` on H and W, `fill`,
// `mode`) -> `window`, specialised and run; `want` from the reference op on
// the explicitly padded input.
Result PadThen(const Window& window, const std::vector<int64_t>& pads, float fill,
               bool relu = false, const std::string& mode = "constant",
               bool pad_is_output = false) {
  GraphBuilder b;
  Tensor x = b.Input("x", {1, 4, 6, 7});
  std::string in = "x";
  Tensor x_used = x;
  if (relu) {
    b.Op(OpType::kRelu, "r", {"x"}, {1, 4, 6, 7});
    in = "r";
    x_used = ref::Relu(x);
  }
  b.graph().constants["pads"] = Ints({0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]});
  b.graph().values["pads"] = {DType::kI64, {8}};
  b.Const("fill", Floats({fill}));
  b.graph().constants["fill"].Reshape({});
  b.graph().values["fill"].shape = {};
  const Shape padded = {1, 4, 6 + pads[0] + pads[2], 7 + pads[1] + pads[3]};
  b.Op(OpType::kPad, "pad", {in, "pads", "fill"}, padded).attrs.Set("mode", mode);
  const Tensor xp = Padded(x_used, pads, fill);
  Shape out = {1, window.op == OpType::kConv ? 5 : 4};
  for (int i = 0; i < 2; ++i) {
    out.push_back((padded[2 + i] + window.pads[i] + window.pads[2 + i] - window.kernel[i]) /
                      window.strides[i] +
                  1);
  }
  Result result;
  std::vector<std::string> inputs = {"pad"};
  if (window.op == OpType::kConv) {
    Shape w_shape = {5, 4};
    w_shape.insert(w_shape.end(), window.kernel.begin(), window.kernel.end());
    const Tensor& w = b.Const("w", b.Random(w_shape));
    inputs.push_back("w");
    result.want = ref::Conv(xp, w, nullptr, out, window.strides, {1, 1}, window.pads, 1);
  } else {
    result.want = ref::Pool(xp, out, window.kernel, window.strides, window.pads,
                            window.op == OpType::kMaxPool, window.count_include_pad != 0);
  }
  Node& node = b.Op(window.op, "op", inputs, out);
  node.attrs.Set("kernel_shape", window.kernel);
  node.attrs.Set("strides", window.strides);
  node.attrs.Set("pads", window.pads);
  if (window.op == OpType::kAveragePool) {
    node.attrs.Set("count_include_pad", window.count_include_pad);
  }
  b.Output("op");
  if (pad_is_output) b.Output("pad");
  auto g = Specialize(b.graph(), {{"x", x.shape()}});
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (!g.ok()) return result;
  result.folded = true;
  for (const Node& n : g->nodes) {
    if (n.op == OpType::kPad) result.folded = false;
    if (n.name == "op") result.op_pads = n.attrs.Ints("pads");
  }
  std::vector<Tensor> got = testing::RunGraph(*g, {&x});
  if (!got.empty()) result.got = got[0];
  return result;
}

TEST(FoldPad, ZeroPadBecomesConvPadding) {
  Window conv;
  conv.pads = {1, 0, 1, 2};
  Result r = PadThen(conv, {1, 2, 0, 1}, 0.f);
  EXPECT_TRUE(r.folded);
  EXPECT_EQ(r.op_pads, (std::vector<int64_t>{2, 2, 1, 3}));
  testing::ExpectClose(r.got, r.want);
}

TEST(FoldPad, ConvKeepsAPadOfAnotherFillOrMode) {
  Window conv;
  Result ones = PadThen(conv, {1, 1, 1, 1}, 1.f);
  EXPECT_FALSE(ones.folded);
  testing::ExpectClose(ones.got, ones.want);
  EXPECT_FALSE(PadThen(conv, {1, 1, 1, 1}, 0.f, false, "reflect").folded);
  // A Pad whose output is also a graph output stays to produce it.
  EXPECT_FALSE(PadThen(conv, {1, 1, 1, 1}, 0.f, false, "constant", true).folded);
}

TEST(FoldPad, AveragePoolCountsThePadsZeros) {
  Window avg;
  avg.op = OpType::kAveragePool;
  avg.strides = {2, 2};
  // No padding of its own: folded, and the zeros stay in the divisor.
  Result r = PadThen(avg, {1, 1, 2, 0}, 0.f);
  EXPECT_TRUE(r.folded);
  testing::ExpectClose(r.got, r.want);
  // Its own padding excluded from the divisor, the Pad's included: kept.
  avg.pads = {1, 1, 1, 1};
  Result own = PadThen(avg, {1, 1, 2, 0}, 0.f);
  EXPECT_FALSE(own.folded);
  testing::ExpectClose(own.got, own.want);
  // Both counted: folded.
  avg.count_include_pad = 1;
  Result both = PadThen(avg, {1, 1, 2, 0}, 0.f);
  EXPECT_TRUE(both.folded);
  testing::ExpectClose(both.got, both.want);
}

TEST(FoldPad, MaxPoolTakesMinusInfinityOrZerosAfterRelu) {
  Window max;
  max.op = OpType::kMaxPool;
  max.strides = {2, 2};
  Result inf = PadThen(max, {1, 1, 1, 2}, -kInf);
  EXPECT_TRUE(inf.folded);
  testing::ExpectClose(inf.got, inf.want);
  Result relu = PadThen(max, {1, 2, 2, 1}, 0.f, true);
  EXPECT_TRUE(relu.folded);
  testing::ExpectClose(relu.got, relu.want);
  // Zeros beside negative values would win the max: kept.
  Result raw = PadThen(max, {1, 2, 2, 1}, 0.f);
  EXPECT_FALSE(raw.folded);
  testing::ExpectClose(raw.got, raw.want);
  // A window wholly in the padding: kept.
  EXPECT_FALSE(PadThen(max, {3, 0, 0, 0}, -kInf).folded);
}

}  // namespace
}  // namespace mixq
