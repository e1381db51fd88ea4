// engine/ops/binary.cc and prelu.cc: Pow, Min, Max, Sum, Mean and PRelu
// with broadcasting against a naive reference, on float32 runtime data
// through the executor (oneDNN binary, eltwise pow and prelu where they
// apply, the host kernel otherwise) and folded on constants (int64; float32
// for Mean, which ONNX defines for floats only).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "tests/engine/elementwise_test_util.h"

namespace mixq::testing {
namespace {

double Min(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }
double Max(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }
double Sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
double Mean(const std::vector<double>& v) { return Sum(v) / static_cast<double>(v.size()); }
double Pow(const std::vector<double>& v) { return std::pow(v[0], v[1]); }

// An operand: a graph input (random, in [lo, hi]) or a constant.
struct Operand {
  Shape shape;
  bool constant = false;
  float lo = -2.f, hi = 2.f;
};

struct Case {
  OpType op;
  std::vector<Operand> operands;
  Shape out;
  BroadcastFn f;
  std::string kind;  // the step kind that runs it
};

TEST(BinaryOps, BroadcastOnFloat32RuntimeData) {
  const std::vector<Case> cases = {
      // Two inputs: oneDNN's binary primitive, either operand broadcast.
      {OpType::kMin, {{{2, 3, 4, 5}}, {{3, 1, 5}}}, {2, 3, 4, 5}, Min, "binary"},
      {OpType::kMax, {{{3, 1, 5}}, {{2, 3, 4, 5}}}, {2, 3, 4, 5}, Max, "binary"},
      {OpType::kMax, {{{4, 1}}, {{1, 5}}}, {4, 5}, Max, "binary"},
      {OpType::kSum, {{{2, 8, 3, 3}}, {{8, 1, 1}, true}}, {2, 8, 3, 3}, Sum, "binary"},
      // Fewer dims than the result, equal to it once padded with leading 1s
      // (a batch-1 MatMul's output plus its bias): a constant, a runtime
      // value, either side.
      {OpType::kSum, {{{1, 6}}, {{6}, true}}, {1, 6}, Sum, "binary"},
      {OpType::kMin, {{{1, 3, 2, 2}}, {{3, 2, 2}}}, {1, 3, 2, 2}, Min, "binary"},
      {OpType::kMax, {{{5}}, {{1, 5}}}, {1, 5}, Max, "binary"},
      {OpType::kSum, {{{6}, true}, {{1, 6}}}, {1, 6}, Sum, "binary"},
      // Mean of two: binary add with a halving post-op, the first operand
      // full, swapped to second place, or expanded.
      {OpType::kMean, {{{2, 3, 4, 5}}, {{3, 1, 5}}}, {2, 3, 4, 5}, Mean, "binary"},
      {OpType::kMean, {{{3, 1, 5}, true}, {{2, 3, 4, 5}}}, {2, 3, 4, 5}, Mean, "binary"},
      {OpType::kMean, {{{4, 1}}, {{1, 5}}}, {4, 5}, Mean, "binary"},
      // Other counts: the host kernel.
      {OpType::kSum, {{{2, 3}}}, {2, 3}, Sum, "host"},
      {OpType::kMin, {{{2, 1, 4}}, {{3, 1}}, {{4}, true}}, {2, 3, 4}, Min, "host"},
      {OpType::kSum, {{{3, 4}}, {{4}}, {{3, 1}}, {{1}, true}}, {3, 4}, Sum, "host"},
      {OpType::kMean, {{{2, 3}}}, {2, 3}, Mean, "host"},
      {OpType::kMean, {{{2, 1, 4}}, {{3, 1}}, {{4}, true}}, {2, 3, 4}, Mean, "host"},
      // Pow: a constant scalar exponent is oneDNN's eltwise pow.
      {OpType::kPow,
       {{{2, 3, 4}, false, 0.1f, 3.f}, {{}, true, 2.5f, 2.5f}},
       {2, 3, 4},
       Pow,
       "eltwise"},
      {OpType::kPow,
       {{{2, 3, 4}, false, 0.1f, 3.f}, {{1}, true, -1.5f, -1.5f}},
       {2, 3, 4},
       Pow,
       "eltwise"},
      {OpType::kPow, {{{2, 3, 4}, false, 0.1f, 3.f}, {{4}, true}}, {2, 3, 4}, Pow, "host"},
      {OpType::kPow, {{{3, 1}, false, 0.1f, 3.f}, {{1, 4}}}, {3, 4}, Pow, "host"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(OpTypeName(c.op)) + " to " + ShapeToString(c.out));
    GraphBuilder g;
    std::vector<std::string> names;
    std::vector<Tensor> values;
    std::vector<const Tensor*> feeds;
    for (size_t k = 0; k < c.operands.size(); ++k) {
      const Operand& o = c.operands[k];
      names.push_back("in" + std::to_string(k));
      if (o.constant) {
        values.push_back(g.Const(names[k], g.Random(o.shape, o.lo, o.hi)));
      } else {
        g.Input(names[k], o.shape);
        values.push_back(g.Random(o.shape, o.lo, o.hi));
      }
    }
    for (size_t k = 0; k < values.size(); ++k) {
      if (!c.operands[k].constant) feeds.push_back(&values[k]);
    }
    g.Op(c.op, "y", names, c.out);
    g.Output("y");
    RunResult run = SpecializeAndRun(g.graph(), feeds);
    ASSERT_EQ(run.outputs.size(), 1u);
    std::vector<const Tensor*> operands;
    for (const Tensor& t : values) operands.push_back(&t);
    ExpectClose(run.outputs[0], BroadcastReference(operands, c.out, DType::kF32, c.f), 1e-5f);
    EXPECT_TRUE(RunsOn(run, "y", c.kind)) << ::testing::PrintToString(StepKinds(run, "y"));
  }
}

TEST(BinaryOps, FoldOnInt64ConstantsExactly) {
  struct FoldCase {
    OpType op;
    std::vector<Tensor> operands;
    Shape out;
    BroadcastFn f;
  };
  const Tensor a = Values(DType::kI64, {2, 3, 1}, {7, -3, 0, 12, 5, -9});
  const Tensor b = Values(DType::kI64, {4}, {2, -8, 11, 0});
  const Tensor c = Values(DType::kI64, {3, 1}, {1, 6, -2});
  const Tensor base = Values(DType::kI64, {3, 1}, {3, -2, 7});
  const Tensor exponent = Values(DType::kI64, {1, 4}, {0, 1, 5, 21});
  const std::vector<FoldCase> cases = {
      {OpType::kMin, {a, b}, {2, 3, 4}, Min},
      {OpType::kMax, {a, b, c}, {2, 3, 4}, Max},
      {OpType::kSum, {a, b, c}, {2, 3, 4}, Sum},
      {OpType::kSum, {b}, {4}, Sum},
      // 7^21 is above 2^53: the kernel multiplies integers exactly.
      {OpType::kPow, {base, exponent}, {3, 4}, nullptr},
  };
  for (const FoldCase& fc : cases) {
    SCOPED_TRACE(OpTypeName(fc.op));
    GraphBuilder g;
    std::vector<std::string> names;
    for (size_t k = 0; k < fc.operands.size(); ++k) {
      names.push_back("c" + std::to_string(k));
      AddTypedConst(&g, names[k], fc.operands[k]);
    }
    g.Op(fc.op, "y", names, fc.out);
    g.Output("y");
    Tensor y = Fold(g.graph(), "y");
    ASSERT_EQ(y.dtype(), DType::kI64);
    if (fc.op == OpType::kPow) {
      const std::vector<int64_t> want = {1, 3, 243,   10460353203,       1, -2, -32, -2097152,
                                         1, 7, 16807, 558545864083284007};
      ASSERT_EQ(y.shape(), (Shape{3, 4}));
      for (int64_t i = 0; i < y.size(); ++i) EXPECT_EQ(y.IntAt(i), want[i]) << "at " << i;
      continue;
    }
    std::vector<const Tensor*> operands;
    for (const Tensor& t : fc.operands) operands.push_back(&t);
    ExpectSameValues(y, BroadcastReference(operands, fc.out, DType::kI64, fc.f));
  }
}

TEST(BinaryOps, PowKeepsTheBaseTypeAndMinRefusesMixedTypes) {
  // int32 base, float exponent: computed in double, truncated to int32.
  GraphBuilder g;
  AddTypedConst(&g, "b", Values(DType::kI32, {3}, {2, 3, 10}));
  AddTypedConst(&g, "e", Values(DType::kF32, {3}, {0.5, 2, -1}));
  g.Op(OpType::kPow, "y", {"b", "e"}, {3});
  g.Output("y");
  Tensor y = Fold(g.graph(), "y");
  ASSERT_EQ(y.dtype(), DType::kI32);
  ExpectSameValues(y, Values(DType::kI32, {3}, {1, 9, 0}));

  GraphBuilder h;
  AddTypedConst(&h, "a", Values(DType::kI64, {2}, {1, 2}));
  AddTypedConst(&h, "f", Values(DType::kF32, {2}, {1, 2}));
  h.Op(OpType::kMin, "m", {"a", "f"}, {2});
  h.Output("m");
  ExpectRefused(h.graph(), {}, "node 'm' (Min): input 'f' has type float32");
}

TEST(BinaryOps, MeanFoldsOnFloatConstantsAndRefusesIntegers) {
  GraphBuilder g;
  const Tensor a = Values(DType::kF32, {2, 1}, {1.5, -4});
  const Tensor b = Values(DType::kF32, {3}, {2, 0.25, -7});
  const Tensor c = Values(DType::kF32, {1}, {10});
  AddTypedConst(&g, "a", a);
  AddTypedConst(&g, "b", b);
  AddTypedConst(&g, "c", c);
  g.Op(OpType::kMean, "m", {"a", "b", "c"}, {2, 3});
  g.Output("m");
  Tensor m = Fold(g.graph(), "m");
  ASSERT_EQ(m.dtype(), DType::kF32);
  ExpectSameValues(
      m, Values(DType::kF32, {2, 3}, {13.5 / 3, 11.75 / 3, 4.5 / 3, 8. / 3, 6.25 / 3, -1. / 3}));

  GraphBuilder h;
  AddTypedConst(&h, "a", Values(DType::kI64, {2}, {1, 2}));
  AddTypedConst(&h, "b", Values(DType::kI64, {2}, {3, 5}));
  h.Op(OpType::kMean, "m", {"a", "b"}, {2});
  h.Output("m");
  ExpectRefused(h.graph(), {}, "node 'm' (Mean): input 'a' has type int64");
}

// PRelu reads x < 0 ? slope * x : x with the slope aligned to x.
Tensor PReluReference(const Tensor& x, const Tensor& slope, const Shape& aligned) {
  Tensor s = slope;
  s.Reshape(aligned);
  return BroadcastReference({&x, &s}, x.shape(), x.dtype(), [](const std::vector<double>& v) {
    return v[0] < 0 ? v[1] * v[0] : v[0];
  });
}

TEST(PReluOp, SlopeShapesOnFloat32RuntimeData) {
  struct SlopeCase {
    Shape slope, aligned;
    bool constant;
    std::string kind;
  };
  const Shape x_shape = {2, 4, 3, 3};
  const std::vector<SlopeCase> cases = {
      {{4, 1, 1}, {4, 1, 1}, true, "prelu"},  // PyTorch's per-channel slope
      {{4}, {1, 4, 1, 1}, true, "prelu"},     // opset 6's per-channel slope
      {{1}, {1}, true, "prelu"},              // one shared slope
      {{3}, {3}, true, "prelu"},              // numpy: along the last dim (W = 3)
      {{2, 4, 3, 3}, {2, 4, 3, 3}, true, "prelu"},
      {{4, 1, 1}, {4, 1, 1}, false, "host"},  // a computed slope
  };
  for (const SlopeCase& c : cases) {
    for (bool after_conv : {false, true}) {
      SCOPED_TRACE("slope " + ShapeToString(c.slope) + (c.constant ? "" : " (input)") +
                   (after_conv ? " after a conv" : ""));
      GraphBuilder g;
      g.Input("x", x_shape);
      Tensor x = g.Random(x_shape);
      Tensor slope = g.Random(c.slope, 0.f, 0.5f);
      std::vector<const Tensor*> feeds = {&x};
      if (c.constant) {
        g.Const("slope", slope);
      } else {
        g.Input("slope", c.slope);
        feeds.push_back(&slope);
      }
      std::string in = "x";
      Tensor conv_out = x;
      if (after_conv) {
        // A 1x1 conv of weight 1 per channel leaves x unchanged but hands
        // PRelu a blocked layout.
        Tensor w(DType::kF32, {4, 4, 1, 1});
        for (int64_t ch = 0; ch < 4; ++ch) w.data<float>()[ch * 4 + ch] = 1.f;
        g.Const("w", w);
        g.Op(OpType::kConv, "conv", {"x", "w"}, x_shape)
            .attrs.Set("kernel_shape", std::vector<int64_t>{1, 1});
        in = "conv";
      }
      g.Op(OpType::kPRelu, "y", {in, "slope"}, x_shape);
      g.Output("y");
      RunResult run = SpecializeAndRun(g.graph(), feeds);
      ASSERT_EQ(run.outputs.size(), 1u);
      ExpectClose(run.outputs[0], PReluReference(conv_out, slope, c.aligned), 1e-6f);
      EXPECT_TRUE(RunsOn(run, "y", c.kind)) << ::testing::PrintToString(StepKinds(run, "y"));
      // oneDNN's prelu reads x in the layout its producer chose: no reorder.
      if (c.kind == "prelu") {
        EXPECT_EQ(StepKinds(run, "y"), std::vector<std::string>{"prelu"});
      }
    }
  }
}

TEST(PReluOp, FoldsOnInt64AndRefusesASlopeThatDoesNotFit) {
  GraphBuilder g;
  const Tensor x = Values(DType::kI64, {2, 3, 2}, {-4, 5, -6, 0, 7, -8});
  const Tensor slope = Values(DType::kI64, {3}, {2, 3, -1});
  AddTypedConst(&g, "x", x);
  AddTypedConst(&g, "slope", slope);
  g.Op(OpType::kPRelu, "y", {"x", "slope"}, {2, 3, 2});
  g.Output("y");
  Tensor y = Fold(g.graph(), "y");
  ASSERT_EQ(y.dtype(), DType::kI64);
  ExpectSameValues(y, PReluReference(x, slope, {1, 3, 1}));

  GraphBuilder h;
  h.Input("x", {2, 4, 3, 3});
  h.Const("slope", h.Random({5}));
  h.Op(OpType::kPRelu, "p", {"x", "slope"}, {2, 4, 3, 3});
  h.Output("p");
  ExpectRefused(h.graph(), {{"x", {2, 4, 3, 3}}}, "slope 'slope' [5] does not broadcast");
}

}  // namespace
}  // namespace mixq::testing
