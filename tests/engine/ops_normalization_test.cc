// engine/ops/normalization.cc and runtime/lower/normalization.cc:
// LayerNormalization (on oneDNN's layer_normalization where its parameters
// allow, else on the host kernel, with the Mean/InvStdDev outputs) and
// InstanceNormalization against naive references, through the executor.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "engine/passes/specialize.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/reference_norm.h"

namespace mixq {
namespace {

using testing::ExpectClose;
using testing::GraphBuilder;
using testing::SpecializeAndRun;

struct LayerNormCase {
  Shape shape;
  int64_t axis;  // as written, possibly negative
  bool bias;
  bool stats;         // the Mean and InvStdDev outputs too
  bool short_params;  // Scale/B of the last dim only (broadcast)
};

// The steps of the compiled node named `node`.
std::vector<std::string> StepsOf(const std::vector<std::string>& lines, const std::string& node) {
  std::vector<std::string> steps;
  for (const std::string& l : lines) {
    if (l.rfind(node + "  ", 0) == 0) steps.push_back(l);
  }
  return steps;
}

bool Mentions(const std::vector<std::string>& lines, const std::string& what) {
  for (const std::string& l : lines) {
    if (l.find(what) != std::string::npos) return true;
  }
  return false;
}

TEST(LayerNormOp, MatchesTheReferenceOnEveryAxisOnOneDnnOrTheHost) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 60; ++trial) {
    LayerNormCase c;
    const int rank = std::uniform_int_distribution<int>(1, 4)(rng);
    for (int d = 0; d < rank; ++d) c.shape.push_back(std::uniform_int_distribution<int>(1, 6)(rng));
    c.shape.back() = std::uniform_int_distribution<int>(1, 40)(rng);
    c.axis = std::uniform_int_distribution<int>(-rank, rank - 1)(rng);
    c.bias = trial % 2;
    c.stats = trial % 5 == 0;
    const int64_t axis = c.axis < 0 ? c.axis + rank : c.axis;
    c.short_params = trial % 3 == 0 && axis < rank - 1;
    const Shape normalized =
        c.short_params ? Shape{c.shape.back()} : Shape(c.shape.begin() + axis, c.shape.end());
    GraphBuilder b;
    Tensor x = b.Input("x", c.shape);
    const Tensor& scale = b.Const("scale", b.Random(normalized, 0.5f, 1.5f));
    const Tensor* bias = c.bias ? &b.Const("bias", b.Random(normalized)) : nullptr;
    std::vector<std::string> inputs = {"x", "scale"};
    if (c.bias) inputs.push_back("bias");
    Node& node = b.Op(OpType::kLayerNormalization, "y", inputs, {});
    node.attrs.Set("axis", c.axis);
    node.attrs.Set("epsilon", 1e-3f);
    b.Output("y");
    if (c.stats) {
      node.outputs = {"y", "mean", "inv_std"};
      b.Output("mean");
      b.Output("inv_std");
    }
    const std::string what = ShapeToString(c.shape) + " axis " + std::to_string(c.axis) +
                             (c.bias ? " bias" : "") + (c.stats ? " stats" : "") +
                             (c.short_params ? " short params" : "");
    SCOPED_TRACE(what);
    std::vector<std::string> lines;
    std::vector<Tensor> got = SpecializeAndRun(b.graph(), {{"x", c.shape}}, {&x}, {}, &lines);
    std::vector<Tensor> want(3);
    want[0] = ref::LayerNorm(x, axis, &scale, bias, 1e-3f, &want[1], &want[2]);
    ASSERT_EQ(got.size(), c.stats ? 3u : 1u);
    for (size_t i = 0; i < got.size(); ++i) ExpectClose(got[i], want[i], 1e-4f);
    // Full constant parameters and no statistics: oneDNN's primitive.
    const bool onednn = !c.stats && !c.short_params;
    EXPECT_EQ(Mentions(StepsOf(lines, "y"), "layer_normalization"), onednn)
        << ::testing::PrintToString(lines);
  }
}

TEST(LayerNormOp, ParametersThatDoNotBroadcastAreRefused) {
  GraphBuilder b;
  b.Input("x", {2, 3, 4});
  b.Const("scale", b.Random({3, 1}));
  Node& node = b.Op(OpType::kLayerNormalization, "y", {"x", "scale"}, {});
  node.attrs.Set("axis", int64_t{-1});
  b.Output("y");
  auto specialised = Specialize(b.graph(), {{"x", {2, 3, 4}}});
  ASSERT_FALSE(specialised.ok());
  EXPECT_NE(specialised.status().message().find("does not broadcast to the normalised shape"),
            std::string::npos)
      << specialised.status().message();
}

TEST(InstanceNormOp, MatchesTheReferenceForRanks3To5) {
  const std::vector<Shape> shapes = {{2, 3, 7}, {1, 4, 5, 6}, {3, 2, 3, 4, 5}, {2, 16, 33, 31}};
  for (const Shape& shape : shapes) {
    GraphBuilder b;
    Tensor x = b.Input("x", shape);
    const Tensor& scale = b.Const("scale", b.Random({shape[1]}, 0.5f, 1.5f));
    const Tensor& bias = b.Const("bias", b.Random({shape[1]}));
    Node& node = b.Op(OpType::kInstanceNormalization, "y", {"x", "scale", "bias"}, {});
    node.attrs.Set("epsilon", 1e-5f);
    b.Output("y");
    ExecutorOptions options;
    options.threads = 2;
    std::vector<Tensor> got = SpecializeAndRun(b.graph(), {{"x", shape}}, {&x}, options);
    ASSERT_EQ(got.size(), 1u);
    SCOPED_TRACE(ShapeToString(shape));
    ExpectClose(got[0], ref::InstanceNorm(x, scale, bias, 1e-5f), 1e-4f);
  }
}

}  // namespace
}  // namespace mixq
