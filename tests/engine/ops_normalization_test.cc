// engine/ops/normalization.cc and runtime/lower/normalization.cc:
// LayerNormalization (on oneDNN's layer_normalization where its parameters
// allow, else on the host kernel, with the Mean/InvStdDev outputs),
// InstanceNormalization and LRN (on oneDNN's lrn_forward for odd sizes, else
// on the host kernel) against naive references, through the executor.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "tests/engine/elementwise_test_util.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/onnx_test_util.h"
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

struct LrnCase {
  Shape shape;
  int64_t size;
  float alpha, beta, bias;
  float range;       // x in [-range, range]
  bool after_conv;   // x comes from a convolution (a blocked layout)
  std::string kind;  // the step that runs it
};

Node& AddLrn(GraphBuilder* b, const std::string& input, const Shape& shape, int64_t size,
             float alpha, float beta, float bias) {
  Node& node = b->Op(OpType::kLRN, "lrn", {input}, shape);
  node.attrs.Set("size", size);
  node.attrs.Set("alpha", alpha);
  node.attrs.Set("beta", beta);
  node.attrs.Set("bias", bias);
  return node;
}

// oneDNN's across-channel formula (alpha divided by the window size, the
// window clipped at the channel ends, the divisor still the size) is checked
// against ONNX's numerically: alpha and the inputs are large enough that the
// window and the divisor change every output.
TEST(LrnOp, OddSizesRunOnOneDnnEvenSizesOnTheHostKernelBothAsOnnxDefines) {
  const std::vector<LrnCase> cases = {
      {{2, 16, 5, 5}, 5, 2.f, 0.75f, 1.f, 1.f, false, "lrn"},
      {{2, 16, 5, 5}, 4, 2.f, 0.75f, 1.f, 1.f, false, "host"},
      // AlexNet's and GoogLeNet's parameters on activations of their size.
      {{1, 16, 6, 6}, 5, 1e-4f, 0.75f, 1.f, 100.f, false, "lrn"},
      {{2, 16, 6, 6}, 5, 1.5f, 0.75f, 2.f, 1.f, true, "lrn"},
      {{2, 16, 6, 6}, 2, 1.5f, 0.75f, 2.f, 1.f, true, "host"},
      // A window wider than the channels.
      {{1, 3, 4, 4}, 7, 3.f, 1.f, 1.f, 1.f, false, "lrn"},
      {{1, 3, 4, 4}, 6, 3.f, 1.f, 1.f, 1.f, false, "host"},
      {{1, 5, 4, 4}, 1, 3.f, 0.5f, 0.5f, 1.f, false, "lrn"},
      // Ranks 3, 5 and 6 (N x C x D1 ... Dn; oneDNN 2.6 gets rank 6 wrong).
      {{2, 7, 9}, 3, 1.5f, 0.5f, 2.f, 1.f, false, "lrn"},
      {{2, 7, 9}, 2, 1.5f, 0.5f, 2.f, 1.f, false, "host"},
      {{1, 6, 2, 3, 4}, 3, 2.f, 0.75f, 1.f, 1.f, false, "lrn"},
      {{1, 6, 2, 1, 3, 2}, 3, 2.f, 0.75f, 1.f, 1.f, false, "host"},
  };
  for (const LrnCase& c : cases) {
    SCOPED_TRACE(ShapeToString(c.shape) + " size " + std::to_string(c.size) +
                 (c.after_conv ? " after a conv" : ""));
    GraphBuilder b;
    b.Input("x", c.shape);
    Tensor x = b.Random(c.shape, -c.range, c.range);
    std::string input = "x";
    if (c.after_conv) {
      // A 1x1 conv of weight 1 per channel leaves x unchanged but hands LRN
      // a blocked layout.
      const int64_t channels = c.shape[1];
      Tensor w(DType::kF32, {channels, channels, 1, 1});
      for (int64_t ch = 0; ch < channels; ++ch) w.data<float>()[ch * channels + ch] = 1.f;
      b.Const("w", w);
      b.Op(OpType::kConv, "conv", {"x", "w"}, c.shape)
          .attrs.Set("kernel_shape", std::vector<int64_t>{1, 1});
      input = "conv";
    }
    AddLrn(&b, input, c.shape, c.size, c.alpha, c.beta, c.bias);
    b.Output("lrn");
    testing::RunResult run = SpecializeAndRun(b.graph(), {&x});
    ASSERT_EQ(run.outputs.size(), 1u);
    ExpectClose(run.outputs[0], ref::Lrn(x, c.size, c.alpha, c.beta, c.bias), 1e-5f);
    EXPECT_TRUE(testing::RunsOn(run, "lrn", c.kind))
        << ::testing::PrintToString(testing::StepKinds(run, "lrn"));
    // oneDNN reads the convolution's layout itself: no reorder.
    if (c.after_conv && c.kind == "lrn") {
      EXPECT_EQ(testing::StepKinds(run, "lrn"), std::vector<std::string>{"lrn"});
    }
  }
}

TEST(LrnOp, AnEvenWindowReachesOneChannelMoreUpwardsAndFolds) {
  // Channels 1, 2, 3; size 2 sums channels c and c + 1; alpha / size = 1.5.
  GraphBuilder b;
  Tensor x(DType::kF32, {1, 3, 1});
  x.data<float>()[0] = 1.f;
  x.data<float>()[1] = 2.f;
  x.data<float>()[2] = 3.f;
  b.Const("x", x);
  AddLrn(&b, "x", {1, 3, 1}, 2, 3.f, 1.f, 1.f);
  b.Output("lrn");
  Tensor y = testing::Fold(b.graph(), "lrn");
  ASSERT_EQ(y.shape(), (Shape{1, 3, 1}));
  EXPECT_FLOAT_EQ(y.data<float>()[0], 1.f / (1.f + 1.5f * (1 + 4)));
  EXPECT_FLOAT_EQ(y.data<float>()[1], 2.f / (1.f + 1.5f * (4 + 9)));
  EXPECT_FLOAT_EQ(y.data<float>()[2], 3.f / (1.f + 1.5f * 9));
}

TEST(LrnOp, ImportFillsTheDefaultsAndTheSizeIsRequired) {
  for (int64_t opset : {1, 13}) {
    SCOPED_TRACE(opset);
    onnx::ModelProto model = testing::NewModel(opset);
    testing::AddInput(&model, "x", {1, 8, 3, 3});
    testing::AddOutput(&model, "y", {1, 8, 3, 3});
    testing::AddIntAttr(testing::AddNode(&model, "LRN", {"x"}, {"y"}, "lrn"), "size", 3);
    auto graph = ImportOnnxFromBytes(testing::Serialize(model), "lrn.onnx");
    ASSERT_TRUE(graph.ok()) << graph.status().ToString();
    ASSERT_EQ(graph->nodes.size(), 1u);
    const Attributes& attrs = graph->nodes[0].attrs;
    EXPECT_EQ(attrs.Int("size", 0), 3);
    EXPECT_FLOAT_EQ(attrs.Float("alpha", 0.f), 1e-4f);
    EXPECT_FLOAT_EQ(attrs.Float("beta", 0.f), 0.75f);
    EXPECT_FLOAT_EQ(attrs.Float("bias", 0.f), 1.f);
  }
  GraphBuilder b;
  b.Input("x", {1, 8, 3, 3});
  b.Op(OpType::kLRN, "lrn", {"x"}, {1, 8, 3, 3});
  b.Output("lrn");
  testing::ExpectRefused(b.graph(), {{"x", {1, 8, 3, 3}}},
                         "node 'lrn' (LRN): the size attribute is required");
}

}  // namespace
}  // namespace mixq
