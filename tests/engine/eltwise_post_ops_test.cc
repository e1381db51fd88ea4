// The unary ops of engine/ops/ that oneDNN runs as eltwise algorithms fuse
// as post-ops into the Conv, Gemm or MatMul before them (one primitive), and
// the fused result equals the unfused one and a plain reference.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "engine/passes/fusion.h"
#include "tests/engine/elementwise_test_util.h"
#include "tests/engine/int8_test_util.h"

namespace mixq::testing {
namespace {

struct FusedCase {
  OpType op;
  std::function<double(double)> f;
  Attributes attrs;
  // Sqrt, Log, Reciprocal: an Exp post-op before them keeps their inputs
  // positive and away from 0, where a last-bit difference in the producer
  // would change the result a lot.
  bool exp_first = false;
};

Attributes With(const std::string& name, AttrValue value) {
  Attributes attrs;
  attrs.Set(name, std::move(value));
  return attrs;
}

std::vector<FusedCase> Cases() {
  return {
      {OpType::kAbs, [](double v) { return std::fabs(v); }, {}},
      {OpType::kNeg, [](double v) { return -v; }, {}},
      {OpType::kSqrt, [](double v) { return std::sqrt(v); }, {}, true},
      {OpType::kReciprocal, [](double v) { return 1 / v; }, {}, true},
      {OpType::kExp, [](double v) { return std::exp(v); }, {}},
      {OpType::kLog, [](double v) { return std::log(v); }, {}, true},
      {OpType::kRound, [](double v) { return std::nearbyint(v); }, {}},
      {OpType::kElu, [](double v) { return v < 0 ? 0.5 * std::expm1(v) : v; }, With("alpha", 0.5f)},
      {OpType::kSelu,
       [](double v) {
         return 1.0507009873554805 * (v > 0 ? v : 1.6732632423543772 * std::expm1(v));
       },
       {}},
      {OpType::kSoftplus, [](double v) { return std::log1p(std::exp(v)); }, {}},
      {OpType::kGelu, [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }, {}},
      {OpType::kGelu,
       [](double v) {
         return 0.5 * v * (1 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
       },
       With("approximate", std::string("tanh"))},
  };
}

enum class Producer { kConv, kGemm, kMatMul };

// x -> producer -> [Exp ->] op -> y; `want` gets the reference of the
// producer's output.
Tensor Build(Producer producer, const FusedCase& c, GraphBuilder* g, Tensor* want) {
  Tensor x;
  std::string last;
  if (producer == Producer::kConv) {
    const Shape s = {2, 8, 6, 6};
    g->Input("x", s);
    x = g->Random(s);
    const Tensor& w = g->Const("w", g->Random({16, 8, 3, 3}, -0.5f, 0.5f));
    const Tensor& b = g->Const("b", g->Random({16}));
    Node& conv = g->Op(OpType::kConv, "conv", {"x", "w", "b"}, {2, 16, 6, 6});
    conv.attrs.Set("kernel_shape", std::vector<int64_t>{3, 3});
    conv.attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    *want = ref::Conv(x, w, &b, {2, 16, 6, 6}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1);
    last = "conv";
  } else if (producer == Producer::kGemm) {
    g->Input("x", {5, 12});
    x = g->Random({5, 12});
    const Tensor& w = g->Const("w", g->Random({12, 7}));
    const Tensor& b = g->Const("b", g->Random({7}));
    g->Op(OpType::kGemm, "gemm", {"x", "w", "b"}, {5, 7});
    *want = ref::Gemm(x, w, &b, 1.f, 1.f, false, false);
    last = "gemm";
  } else {
    g->Input("x", {2, 5, 12});
    x = g->Random({2, 5, 12});
    const Tensor& w = g->Const("w", g->Random({12, 7}));
    g->Op(OpType::kMatMul, "matmul", {"x", "w"}, {2, 5, 7});
    *want = ref::MatMul(x, w, {2, 5, 7});
    last = "matmul";
  }
  const Shape shape = want->shape();
  if (c.exp_first) {
    g->Op(OpType::kExp, "exp", {last}, shape);
    last = "exp";
    *want = ref::Unary(*want, [](float v) { return std::exp(v); });
  }
  g->Op(c.op, "y", {last}, shape).attrs = c.attrs;
  g->Output("y");
  *want = ref::Unary(*want, [&](float v) { return static_cast<float>(c.f(v)); });
  return x;
}

TEST(EltwisePostOps, FuseAfterConvGemmAndMatMulAndMatchUnfused) {
  for (Producer producer : {Producer::kConv, Producer::kGemm, Producer::kMatMul}) {
    for (const FusedCase& c : Cases()) {
      SCOPED_TRACE(std::string(OpTypeName(c.op)) + " " + c.attrs.String("approximate", "") +
                   " after " + std::to_string(static_cast<int>(producer)));
      GraphBuilder g;
      Tensor want;
      Tensor x = Build(producer, c, &g, &want);
      RunResult fused = SpecializeAndRun(g.graph(), {&x});
      ExecutorOptions options;
      options.fuse_post_ops = false;
      RunResult unfused = SpecializeAndRun(g.graph(), {&x}, options);
      ASSERT_EQ(fused.outputs.size(), 1u);
      ASSERT_EQ(unfused.outputs.size(), 1u);

      // One node computes everything, its eltwise steps as post-ops.
      Graph graph = FusePostOps(fused.specialised);
      ASSERT_EQ(graph.nodes.size(), 1u);
      EXPECT_EQ(graph.nodes[0].post_ops.size(), c.exp_first ? 2u : 1u);
      EXPECT_EQ(graph.nodes[0].post_ops.back().eltwise, c.op);
      EXPECT_TRUE(StepKinds(fused, "y").empty());
      EXPECT_FALSE(StepKinds(unfused, "y").empty());

      ExpectClose(fused.outputs[0], want, 1e-4f);
      ExpectClose(fused.outputs[0], unfused.outputs[0], 1e-5f);
    }
  }
}

// An INT8 Conv with a fused Gelu or Elu hands the next INT8 Conv quantised
// values: the post-op runs on real values, then a linear step quantises.
TEST(EltwisePostOps, RunInsideInt8Convolutions) {
  for (OpType op : {OpType::kGelu, OpType::kElu, OpType::kSoftplus}) {
    SCOPED_TRACE(OpTypeName(op));
    GraphBuilder g;
    Tensor want;
    Tensor x = Build(Producer::kConv, FusedCase{op, [](double v) { return v; }, {}}, &g, &want);
    g.Const("w2", g.Random({8, 16, 3, 3}, -0.5f, 0.5f));
    Node& conv2 = g.Op(OpType::kConv, "conv2", {"y", "w2"}, {2, 8, 6, 6});
    conv2.attrs.Set("kernel_shape", std::vector<int64_t>{3, 3});
    conv2.attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    g.graph().outputs = {"conv2"};
    auto specialised = Specialize(g.graph(), {{"x", {2, 8, 6, 6}}});
    ASSERT_TRUE(specialised.ok()) << specialised.status().ToString();
    std::vector<Tensor> fp32 = RunGraph(*specialised, {&x});
    ExecutorOptions options;
    options.quant = AllInt8(*specialised, MinMaxParams(*specialised, {&x}));
    std::vector<std::string> steps;
    std::vector<Tensor> int8 = RunGraph(*specialised, {&x}, options, &steps);
    for (const std::string& step : steps) {
      EXPECT_EQ(step.find("  eltwise  "), std::string::npos) << "not fused: " << step;
    }
    ASSERT_EQ(fp32.size(), 1u);
    ASSERT_EQ(int8.size(), 1u);
    // Not zero (FP32 would have run), and small (a wrong scale gives 10 %).
    const double error = RelativeError(int8[0], fp32[0]);
    EXPECT_GT(error, 1e-6);
    EXPECT_LT(error, 0.06);
  }
}

}  // namespace
}  // namespace mixq::testing
