// Post-op chains: oneDNN 2.6 runs a chain holding one eltwise algorithm
// twice with the first one's parameters, so SimplifyChain() rewrites chains
// into equal ones without such repeats; fused chains that need it (Clip
// after Clip, HardSigmoid twice, HardSigmoid with an INT8 destination)
// compute what the unfused graph does.
#include "engine/runtime/lower/post_ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "tests/engine/graph_builder.h"
#include "tests/engine/reference_ops.h"

namespace mixq {
namespace {

using dnnl::algorithm;
using testing::ExpectClose;
using testing::GraphBuilder;
using testing::RunGraph;

float Apply(const std::vector<EltwiseStep>& chain, float v) {
  for (const EltwiseStep& s : chain) {
    switch (s.algorithm) {
      case algorithm::eltwise_linear:
        v = s.alpha * v + s.beta;
        break;
      case algorithm::eltwise_clip:
        v = std::min(std::max(v, s.alpha), s.beta);
        break;
      case algorithm::eltwise_relu:
        v = v > 0.f ? v : s.alpha * v;
        break;
      case algorithm::eltwise_logistic:
        v = 1.f / (1.f + std::exp(-v));
        break;
      default:
        ADD_FAILURE() << "unexpected algorithm";
    }
  }
  return v;
}

// Whether some algorithm appears twice with different parameters.
bool HasConflict(const std::vector<EltwiseStep>& chain) {
  std::map<algorithm, std::pair<float, float>> seen;
  for (const EltwiseStep& s : chain) {
    auto [it, inserted] = seen.emplace(s.algorithm, std::make_pair(s.alpha, s.beta));
    if (!inserted && it->second != std::make_pair(s.alpha, s.beta)) return true;
  }
  return false;
}

void ExpectSameFunction(const std::vector<EltwiseStep>& a, const std::vector<EltwiseStep>& b) {
  for (float v = -12.f; v <= 12.f; v += 0.125f) {
    EXPECT_NEAR(Apply(a, v), Apply(b, v), 1e-4f * std::max(1.f, std::fabs(Apply(a, v))))
        << "at " << v;
  }
}

TEST(PostOps, SimplifyChainRemovesRepeatsAndKeepsTheFunction) {
  const EltwiseStep hsig_linear{algorithm::eltwise_linear, 1.f / 6.f, 0.5f};
  const EltwiseStep unit_clip{algorithm::eltwise_clip, 0.f, 1.f};
  const EltwiseStep quantise{algorithm::eltwise_linear, 255.f, 0.f};
  const EltwiseStep relu{algorithm::eltwise_relu, 0.f, 0.f};
  const EltwiseStep leaky{algorithm::eltwise_relu, 0.1f, 0.f};
  const EltwiseStep sigmoid{algorithm::eltwise_logistic, 0.f, 0.f};
  const std::vector<std::vector<EltwiseStep>> chains = {
      {hsig_linear, unit_clip, quantise},                // INT8 HardSigmoid
      {hsig_linear, unit_clip, hsig_linear, unit_clip},  // HardSigmoid twice
      {{algorithm::eltwise_clip, -1.f, 1.f}, {algorithm::eltwise_clip, 0.f, 0.5f}},
      {{algorithm::eltwise_clip, 2.f, 3.f}, {algorithm::eltwise_clip, 0.f, 1.f}},  // disjoint
      {relu, {algorithm::eltwise_clip, 0.f, 6.f}},                                 // torch's Relu6
      {leaky, quantise},
      {leaky, {algorithm::eltwise_relu, 0.5f, 0.f}},
      {relu, {algorithm::eltwise_linear, 2.f, -1.f}, relu, quantise},
  };
  for (size_t i = 0; i < chains.size(); ++i) {
    SCOPED_TRACE("chain " + std::to_string(i));
    const std::vector<EltwiseStep> simplified = SimplifyChain(chains[i]);
    ExpectSameFunction(chains[i], simplified);
    EXPECT_FALSE(HasConflict(simplified));
    EXPECT_LE(simplified.size(), chains[i].size());
  }
  // HardSigmoid with INT8's quantising step is one linear step and one clip.
  const std::vector<EltwiseStep> hsig = SimplifyChain(chains[0]);
  ASSERT_EQ(hsig.size(), 2u);
  EXPECT_EQ(hsig[0].algorithm, algorithm::eltwise_linear);
  EXPECT_EQ(hsig[1].algorithm, algorithm::eltwise_clip);
  EXPECT_EQ(hsig[1].beta, 255.f);

  // A linear step behind a nonlinear one stays, and the repeat is refused.
  const std::vector<EltwiseStep> stuck = {hsig_linear, sigmoid, quantise};
  EXPECT_EQ(SimplifyChain(stuck).size(), 3u);
  dnnl::post_ops ops;
  EXPECT_EQ(AppendEltwiseRun(stuck, &ops).code(), StatusCode::kUnimplemented);
  dnnl::post_ops fine;
  EXPECT_TRUE(AppendEltwiseRun({sigmoid, quantise}, &fine).ok());
  EXPECT_EQ(fine.len(), 2);
}

// conv -> two eltwise ops that oneDNN runs with one algorithm: fused, the
// result is still the unfused one.
TEST(PostOps, RepeatedAlgorithmsAfterConvAreComputedRight) {
  struct Act {
    OpType op;
    float a, b;
  };
  const std::vector<std::vector<Act>> cases = {
      {{OpType::kClip, -1.f, 1.f}, {OpType::kClip, 0.f, 0.5f}},
      {{OpType::kHardSigmoid, 0.4f, 0.3f}, {OpType::kHardSigmoid, 1.f / 6.f, 0.5f}},
      {{OpType::kLeakyRelu, 0.1f, 0.f}, {OpType::kLeakyRelu, 0.3f, 0.f}},
  };
  for (const std::vector<Act>& acts : cases) {
    GraphBuilder b;
    Tensor x = b.Input("x", {1, 4, 6, 6});
    const Tensor& w = b.Const("w", b.Random({8, 4, 3, 3}));
    b.Op(OpType::kConv, "conv", {"x", "w"}, {1, 8, 4, 4});
    Tensor expected = ref::Conv(x, w, nullptr, {1, 8, 4, 4}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1);
    std::string in = "conv";
    for (size_t i = 0; i < acts.size(); ++i) {
      const Act& act = acts[i];
      Node& node = b.Op(act.op, "act" + std::to_string(i), {in}, {1, 8, 4, 4});
      in = node.name;
      if (act.op == OpType::kClip) {
        node.attrs.Set("min", act.a);
        node.attrs.Set("max", act.b);
        expected =
            ref::Unary(expected, [&](float v) { return std::min(std::max(v, act.a), act.b); });
      } else if (act.op == OpType::kHardSigmoid) {
        node.attrs.Set("alpha", act.a);
        node.attrs.Set("beta", act.b);
        expected = ref::Unary(
            expected, [&](float v) { return std::min(std::max(act.a * v + act.b, 0.f), 1.f); });
      } else {
        node.attrs.Set("alpha", act.a);
        expected = ref::Unary(expected, [&](float v) { return v > 0.f ? v : act.a * v; });
      }
    }
    b.Output(in);
    std::vector<std::string> steps;
    std::vector<Tensor> y = RunGraph(b.graph(), {&x}, {}, &steps);
    ASSERT_EQ(y.size(), 1u);
    ExpectClose(y[0], expected);
    for (const std::string& step : steps) EXPECT_EQ(step.find("eltwise"), std::string::npos);
  }
}

// c - x with a broadcast c runs as x - c negated, a linear step that the
// fused HardSigmoid's own linear step absorbs.
TEST(PostOps, SwappedSubtractionWithHardSigmoid) {
  GraphBuilder b;
  Tensor x = b.Input("x", {1, 8, 4, 4});
  const Tensor& c = b.Const("c", b.Random({1, 8, 1, 1}));
  b.Op(OpType::kSub, "sub", {"c", "x"}, {1, 8, 4, 4});
  Node& hsig = b.Op(OpType::kHardSigmoid, "y", {"sub"}, {1, 8, 4, 4});
  hsig.attrs.Set("alpha", 0.7f);
  hsig.attrs.Set("beta", 0.4f);
  b.Output("y");
  Tensor expected = ref::Unary(ref::Binary(c, x, {1, 8, 4, 4}, std::minus<float>()), [](float v) {
    return std::min(std::max(0.7f * v + 0.4f, 0.f), 1.f);
  });
  std::vector<std::string> steps;
  std::vector<Tensor> y = RunGraph(b.graph(), {&x}, {}, &steps);
  ASSERT_EQ(y.size(), 1u);
  ExpectClose(y[0], expected);
  for (const std::string& step : steps) EXPECT_EQ(step.find("eltwise"), std::string::npos);
}

}  // namespace
}  // namespace mixq
