// MatMul with ONNX's full semantics: 1-D operands, N-D batch dims that
// broadcast numpy-style, both operands computed at run time (attention) or
// one constant; FP32 against the plain-loop reference and INT8 (constant B
// of any rank >= 2, one scale per column of B) against a fake-quantised one.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/runtime/executor.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/int8_test_util.h"
#include "tests/engine/reference_ops.h"

namespace mixq {
namespace {

using testing::ExpectClose;
using testing::GraphBuilder;
using testing::RunGraph;

struct Case {
  Shape a, b, y;
  bool a_const, b_const;
};

TEST(MatMulBroadcast, Fp32MatchesReference) {
  const std::vector<Case> cases = {
      {{2, 1, 4, 8}, {3, 8, 5}, {2, 3, 4, 5}, false, false},  // both sides broadcast
      {{2, 1, 4, 8}, {3, 8, 5}, {2, 3, 4, 5}, false, true},
      {{2, 3, 4, 8}, {2, 3, 8, 4}, {2, 3, 4, 4}, false, false},  // attention scores
      {{3, 4, 8}, {1, 8, 5}, {3, 4, 5}, false, false},
      {{5, 1, 8}, {8, 6}, {5, 1, 6}, false, true},  // [L, N, E] x weight: batch folds into rows
      {{4, 8}, {2, 8, 5}, {2, 4, 5}, true, false},  // constant A, computed B
      {{8}, {3, 8, 5}, {3, 5}, false, true},        // 1-D A
      {{2, 4, 8}, {8}, {2, 4}, false, false},       // 1-D B
      {{7}, {7}, {}, false, false},                 // dot product
      {{1, 2, 1, 3, 4, 6}, {5, 1, 6, 2}, {1, 2, 5, 3, 4, 2}, false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(ShapeToString(c.a) + " x " + ShapeToString(c.b));
    GraphBuilder g;
    std::vector<const Tensor*> feeds;
    Tensor a = c.a_const ? g.Const("a", g.Random(c.a)) : g.Input("a", c.a);
    Tensor b = c.b_const ? g.Const("b", g.Random(c.b)) : g.Input("b", c.b);
    if (!c.a_const) feeds.push_back(&a);
    if (!c.b_const) feeds.push_back(&b);
    g.Op(OpType::kMatMul, "mm", {"a", "b"}, c.y);
    g.Output("mm");
    std::vector<Tensor> y = RunGraph(g.graph(), feeds);
    ASSERT_EQ(y.size(), 1u);
    ExpectClose(y[0], ref::MatMul(a, b, c.y));
  }
}

// INT8 MatMul against the FP32 computation on the fake-quantised input and
// weights (one scale per column of B, shared by B's batch entries): exact up
// to float rounding, where a per-batch or per-row scale, or a wrong
// broadcast, would be far off.
TEST(MatMulBroadcast, Int8MatchesFakeQuantisedReference) {
  const std::vector<Case> cases = {
      {{2, 3, 24}, {24, 7}, {2, 3, 7}, false, true},
      {{2, 1, 4, 16}, {3, 16, 5}, {2, 3, 4, 5}, false, true},
      {{4, 16}, {2, 16, 6}, {2, 4, 6}, false, true},
      {{16}, {16, 5}, {5}, false, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(ShapeToString(c.a) + " x " + ShapeToString(c.b));
    GraphBuilder g;
    g.Input("a", c.a);
    const Tensor a = g.Random(c.a, 0.f, 1.f);
    // Columns of very different ranges, so that each needs its own scale.
    Tensor w = g.Random(c.b);
    const int64_t n = c.b.back();
    for (int64_t i = 0; i < w.size(); ++i) w.data<float>()[i] *= 1.f + 2.f * (i % n);
    g.Const("w", w);
    g.Op(OpType::kMatMul, "mm", {"a", "w"}, c.y);
    g.Output("mm");
    const Graph& graph = g.graph();
    const QuantSpec spec = testing::AllInt8(graph, testing::MinMaxParams(graph, {&a}));
    std::vector<float> scales;
    const Tensor wq = testing::FakeQuantizeWeights(
        w, static_cast<int>(w.rank()) - 1, spec.seven_bit == SevenBitWeights::kAll, &scales);
    ASSERT_EQ(scales.size(), static_cast<size_t>(n));
    const Tensor want = ref::MatMul(testing::FakeQuantize(a, spec.activations.at("a")), wq, c.y);
    ExecutorOptions options;
    options.quant = spec;
    std::vector<Tensor> y = RunGraph(graph, {&a}, options);
    ASSERT_EQ(y.size(), 1u);
    EXPECT_LT(testing::RelativeError(y[0], want), 2e-5);
    // Not FP32 in disguise.
    EXPECT_GT(testing::RelativeError(y[0], ref::MatMul(a, w, c.y)), 1e-4);
  }
}

}  // namespace
}  // namespace mixq
