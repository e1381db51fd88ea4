// ConvTranspose: the shape rule (output_shape, auto_pad, output_padding
// resolved into explicit pads), the host kernel and the executor's oneDNN
// deconvolution against a gather-form reference (ref::ConvTranspose), fused
// post-ops, BatchNorm folding, INT8 against a fake-quantised reference, and
// an ONNX model through import, QDQ export and re-import.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/onnx/onnx_importer.h"
#include "engine/onnx/qdq_export.h"
#include "engine/onnx/qdq_import.h"
#include "engine/ops/op_def.h"
#include "engine/passes/fold_batch_norm.h"
#include "engine/passes/shape_inference.h"
#include "engine/passes/specialize.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/int8_test_util.h"
#include "tests/engine/onnx_test_util.h"
#include "tests/engine/reference_ops.h"

namespace mixq {
namespace {

using testing::ExpectClose;
using testing::GraphBuilder;
using testing::RunGraph;

struct DeconvCase {
  std::string label;
  Shape x, w;
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads, output_padding;
  bool bias = true;
};

size_t Spatial(const DeconvCase& c) { return c.x.size() - 2; }

// The ONNX output shape: stride * (in - 1) + output_padding + (k - 1) *
// dilation + 1 - pads.
Shape OutShape(const DeconvCase& c) {
  const size_t n = Spatial(c);
  Shape y = {c.x[0], c.w[1] * c.group};
  for (size_t i = 0; i < n; ++i) {
    y.push_back(c.strides[i] * (c.x[i + 2] - 1) + c.output_padding[i] +
                (c.w[i + 2] - 1) * c.dilations[i] + 1 - c.pads[i] - c.pads[n + i]);
  }
  return y;
}

const std::vector<DeconvCase>& Cases() {
  static const std::vector<DeconvCase> cases = {
      {"3x3 stride 1 pad 1", {2, 4, 5, 5}, {4, 6, 3, 3}, 1, {1, 1}, {1, 1}, {1, 1, 1, 1}, {0, 0}},
      {"4x4 stride 2 (upsampling)",
       {1, 16, 6, 6},
       {16, 8, 4, 4},
       1,
       {2, 2},
       {1, 1},
       {1, 1, 1, 1},
       {0, 0}},
      {"3x3 stride 2 output_padding 1",
       {2, 3, 4, 5},
       {3, 5, 3, 3},
       1,
       {2, 2},
       {1, 1},
       {1, 1, 1, 1},
       {1, 1}},
      {"group 2 dilation 2 stride 2",
       {1, 6, 5, 4},
       {6, 2, 3, 3},
       2,
       {2, 2},
       {2, 2},
       {0, 1, 2, 0},
       {1, 0}},
      {"depthwise", {2, 8, 6, 6}, {8, 1, 4, 4}, 8, {2, 2}, {1, 1}, {1, 1, 1, 1}, {0, 0}, false},
      {"strides 3 and 2, asymmetric",
       {1, 2, 3, 4},
       {2, 3, 3, 2},
       1,
       {3, 2},
       {1, 1},
       {2, 0, 0, 1},
       {0, 1}},
      {"1-D stride 3", {2, 4, 7}, {4, 3, 5}, 1, {3}, {1}, {2, 1}, {1}},
      {"1-D group 4", {1, 8, 9}, {8, 3, 3}, 4, {2}, {2}, {0, 0}, {0}},
      {"3-D stride 2",
       {1, 4, 3, 4, 3},
       {4, 2, 2, 3, 3},
       1,
       {2, 1, 2},
       {1, 1, 1},
       {0, 1, 1, 0, 1, 1},
       {1, 0, 0}},
      // Kernel = stride, no padding: a 1x1 convolution and a channel shuffle.
      {"2x2 stride 2 (kernel = stride)",
       {2, 8, 5, 7},
       {8, 3, 2, 2},
       1,
       {2, 2},
       {1, 1},
       {0, 0, 0, 0},
       {0, 0}},
      {"3x2 strides 3 and 2 (kernel = stride), no bias",
       {1, 5, 4, 3},
       {5, 2, 3, 2},
       1,
       {3, 2},
       {1, 1},
       {0, 0, 0, 0},
       {0, 0},
       false},
  };
  return cases;
}

// The cases LowerConvTranspose runs as a 1x1 convolution and a shuffle.
bool KernelIsStride(const DeconvCase& c) {
  if (Spatial(c) != 2 || c.group != 1) return false;
  for (size_t i = 0; i < 2; ++i) {
    if (c.w[i + 2] != c.strides[i] || c.pads[i] != 0 || c.pads[i + 2] != 0 ||
        c.output_padding[i] != 0 || c.dilations[i] != 1) {
      return false;
    }
  }
  return true;
}

void SetAttrs(const DeconvCase& c, Node* node) {
  node->attrs.Set("group", c.group);
  node->attrs.Set("strides", c.strides);
  node->attrs.Set("dilations", c.dilations);
  node->attrs.Set("pads", c.pads);
  node->attrs.Set("output_padding", c.output_padding);
}

std::vector<int64_t> PadsBegin(const Node& node, size_t spatial) {
  const std::vector<int64_t> pads = node.attrs.Ints("pads");
  return std::vector<int64_t>(pads.begin(), pads.begin() + static_cast<int64_t>(spatial));
}

// A graph of one ConvTranspose "y" reading x and constants w (and b).
Node& AddDeconv(GraphBuilder* g, const DeconvCase& c, const std::string& in, float w_scale = 1.f) {
  Tensor w = g->Random(c.w, -w_scale, w_scale);
  g->Const("w", w);
  std::vector<std::string> inputs = {in, "w"};
  if (c.bias) {
    g->Const("b", g->Random({c.w[1] * c.group}, -0.5f, 0.5f));
    inputs.push_back("b");
  }
  Node& node = g->Op(OpType::kConvTranspose, "y", inputs, OutShape(c));
  SetAttrs(c, &node);
  return node;
}

Tensor Reference(const Graph& g, const DeconvCase& c, const Tensor& x) {
  const Tensor* b = c.bias ? &g.constants.at("b") : nullptr;
  return ref::ConvTranspose(x, g.constants.at("w"), b, OutShape(c), c.strides, c.dilations,
                            std::vector<int64_t>(c.pads.begin(), c.pads.begin() + Spatial(c)),
                            c.group);
}

bool HasStep(const std::vector<std::string>& describe, const std::string& kind) {
  return std::any_of(describe.begin(), describe.end(), [&](const std::string& line) {
    return line.find("  " + kind + "  ") != std::string::npos;
  });
}

// Infers the shape of a ConvTranspose of x [1, 1, 3, 3] and w [1, 2, 3, 3].
struct Inferred {
  Status status;
  Shape y;
  std::vector<int64_t> pads;
};
Inferred InferOnce(Graph* graph, Node* node) {
  Inferred out;
  auto ok = InferNodeShapes(graph, node, true);
  out.status = ok.status();
  if (ok.ok() && *ok) {
    out.y = graph->values.at("y").shape;
    out.pads = node->attrs.Ints("pads");
  }
  return out;
}

Graph ShapeGraph(const Shape& x, const Shape& w) {
  Graph graph;
  graph.values["x"] = {DType::kF32, x};
  graph.values["w"] = {DType::kF32, w};
  return graph;
}

Node DeconvNode() {
  Node node;
  node.name = "deconv";
  node.op = OpType::kConvTranspose;
  node.inputs = {"x", "w"};
  node.outputs = {"y"};
  return node;
}

TEST(ConvTransposeOp, ShapeRuleResolvesOutputShapeAndAutoPadIntoPads) {
  struct Case {
    std::string label;
    std::vector<std::pair<std::string, AttrValue>> attrs;
    Shape y;
    std::vector<int64_t> pads;
  };
  using Ints = std::vector<int64_t>;
  const std::vector<Case> cases = {
      // 9x7 naturally: the extra row and column come from a negative end pad.
      {"output_shape",
       {{"strides", Ints{3, 2}}, {"output_shape", Ints{10, 8}}},
       {1, 2, 10, 8},
       {0, 0, -1, -1}},
      {"output_shape with N and C",
       {{"strides", Ints{3, 2}}, {"output_shape", Ints{1, 2, 10, 8}}},
       {1, 2, 10, 8},
       {0, 0, -1, -1}},
      {"output_shape overrides pads",
       {{"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}, {"output_shape", Ints{5, 6}}},
       {1, 2, 5, 6},
       {1, 1, 1, 0}},
      // Natural 7x7, SAME wants 6x6: one unit of padding, at the end for UPPER.
      {"SAME_UPPER",
       {{"strides", Ints{2, 2}}, {"auto_pad", std::string("SAME_UPPER")}},
       {1, 2, 6, 6},
       {0, 0, 1, 1}},
      {"SAME_LOWER",
       {{"strides", Ints{2, 2}}, {"auto_pad", std::string("SAME_LOWER")}},
       {1, 2, 6, 6},
       {1, 1, 0, 0}},
      {"output_padding",
       {{"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}, {"output_padding", Ints{1, 0}}},
       {1, 2, 6, 5},
       {1, 1, 1, 1}},
      {"VALID ignores pads",
       {{"pads", Ints{1, 1, 1, 1}}, {"auto_pad", std::string("VALID")}},
       {1, 2, 5, 5},
       {0, 0, 0, 0}},
      {"dilations", {{"dilations", Ints{2, 3}}}, {1, 2, 7, 9}, {0, 0, 0, 0}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    Graph graph = ShapeGraph({1, 1, 3, 3}, {1, 2, 3, 3});
    Node node = DeconvNode();
    for (const auto& [name, value] : c.attrs) node.attrs.Set(name, value);
    Inferred first = InferOnce(&graph, &node);
    ASSERT_TRUE(first.status.ok()) << first.status.ToString();
    EXPECT_EQ(first.y, c.y);
    EXPECT_EQ(first.pads, c.pads);
    EXPECT_EQ(node.attrs.String("auto_pad", ""), "NOTSET");
    // A second inference (Specialize after import) reads the resolved attributes.
    Inferred second = InferOnce(&graph, &node);
    ASSERT_TRUE(second.status.ok()) << second.status.ToString();
    EXPECT_EQ(second.y, c.y);
    EXPECT_EQ(second.pads, c.pads);
  }
}

TEST(ConvTransposeOp, ShapeRuleRefusesInconsistentInputsNamingTheNode) {
  struct Case {
    Shape x, w;
    int64_t group;
    StatusCode code;
  };
  const std::vector<Case> cases = {
      {{1, 2, 3, 3}, {1, 2, 3, 3}, 1, StatusCode::kInvalidArgument},  // C_in 2 vs 1
      {{1, 4, 3, 3}, {4, 2, 3, 3}, 3, StatusCode::kInvalidArgument},  // 4 % 3
      {{1, 4, 3, 3}, {4, 2, 3}, 1, StatusCode::kInvalidArgument},     // weight rank
      {{4, 3}, {4, 3}, 1, StatusCode::kUnimplemented},                // no spatial dim
  };
  for (const Case& c : cases) {
    Graph graph = ShapeGraph(c.x, c.w);
    graph.source = "m.onnx";
    Node node = DeconvNode();
    node.attrs.Set("group", c.group);
    Inferred r = InferOnce(&graph, &node);
    EXPECT_EQ(r.status.code(), c.code) << r.status.ToString();
    EXPECT_NE(r.status.message().find("node 'deconv' (ConvTranspose)"), std::string::npos)
        << r.status.ToString();
  }
}

TEST(ConvTransposeOp, HostKernelMatchesReference) {
  for (const DeconvCase& c : Cases()) {
    SCOPED_TRACE(c.label);
    GraphBuilder g;
    g.Const("x", g.Random(c.x));
    Node node = AddDeconv(&g, c, "x");
    Graph& graph = g.graph();
    auto inferred = InferNodeShapes(&graph, &node, true);
    ASSERT_TRUE(inferred.ok()) << inferred.status().ToString();
    ASSERT_EQ(graph.values.at("y").shape, OutShape(c));
    std::vector<const Tensor*> inputs = {&graph.constants.at("x"), &graph.constants.at("w")};
    if (c.bias) inputs.push_back(&graph.constants.at("b"));
    auto out = RunHostKernel(node, inputs, {graph.values.at("y")}, SerialParallelism());
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ExpectClose((*out)[0], Reference(graph, c, graph.constants.at("x")));
  }
}

TEST(ConvTransposeExecutor, DeconvolutionMatchesReference) {
  for (const DeconvCase& c : Cases()) {
    SCOPED_TRACE(c.label);
    GraphBuilder g;
    Tensor x = g.Input("x", c.x);
    AddDeconv(&g, c, "x");
    g.Output("y");
    std::vector<std::string> describe;
    std::vector<Tensor> y = RunGraph(g.graph(), {&x}, {}, &describe);
    ASSERT_EQ(y.size(), 1u);
    ExpectClose(y[0], Reference(g.graph(), c, x));
    if (KernelIsStride(c)) {
      EXPECT_TRUE(HasStep(describe, "convolution"));
      EXPECT_TRUE(HasStep(describe, "reorder"));
      EXPECT_FALSE(HasStep(describe, "deconvolution"));
    } else {
      EXPECT_TRUE(HasStep(describe, "deconvolution"));
    }
  }
}

// Weights and bias computed at run time are read through the same view of
// ONNX's layout that converts constant weights.
TEST(ConvTransposeExecutor, ComputedWeightsAndBias) {
  const DeconvCase& c = Cases()[3];  // grouped, dilated, strided
  GraphBuilder g;
  Tensor x = g.Input("x", c.x);
  Tensor w = g.Input("w", c.w);
  Tensor b = g.Input("b", {c.w[1] * c.group});
  Node& node = g.Op(OpType::kConvTranspose, "y", {"x", "w", "b"}, OutShape(c));
  SetAttrs(c, &node);
  g.Output("y");
  std::vector<Tensor> y = RunGraph(g.graph(), {&x, &w, &b});
  ASSERT_EQ(y.size(), 1u);
  ExpectClose(y[0], ref::ConvTranspose(x, w, &b, OutShape(c), c.strides, c.dilations,
                                       PadsBegin(node, 2), c.group));
}

TEST(ConvTransposeExecutor, FusesReluAsPostOp) {
  const DeconvCase& c = Cases()[1];
  GraphBuilder g;
  Tensor x = g.Input("x", c.x);
  AddDeconv(&g, c, "x");
  g.Op(OpType::kRelu, "relu", {"y"}, OutShape(c));
  g.Output("relu");
  std::vector<std::string> describe;
  std::vector<Tensor> y = RunGraph(g.graph(), {&x}, {}, &describe);
  ASSERT_EQ(y.size(), 1u);
  ExpectClose(y[0], ref::Relu(Reference(g.graph(), c, x)));
  EXPECT_FALSE(HasStep(describe, "eltwise"));
}

// Pads below zero (an output larger than the natural one) at either end:
// the extra positions hold the bias only. oneDNN refuses a negative begin
// pad, so the host kernel runs, and a fused ReLU after it.
TEST(ConvTransposeExecutor, NegativePads) {
  DeconvCase c{"negative", {1, 3, 4, 5}, {3, 2, 1, 3}, 1, {2, 2}, {1, 1}, {-1, 0, 0, -2}, {0, 0}};
  for (bool relu : {false, true}) {
    SCOPED_TRACE(relu ? "with ReLU" : "alone");
    GraphBuilder g;
    Tensor x = g.Input("x", c.x);
    AddDeconv(&g, c, "x");
    if (relu) g.Op(OpType::kRelu, "relu", {"y"}, OutShape(c));
    g.Output(relu ? "relu" : "y");
    const Tensor want = Reference(g.graph(), c, x);
    // Row 0 (before the first input row) is the bias alone.
    EXPECT_FLOAT_EQ(want.data<float>()[0], g.graph().constants.at("b").data<float>()[0]);
    std::vector<std::string> describe;
    std::vector<Tensor> y = RunGraph(g.graph(), {&x}, {}, &describe);
    ASSERT_EQ(y.size(), 1u);
    ExpectClose(y[0], relu ? ref::Relu(want) : want);
    EXPECT_TRUE(HasStep(describe, "host"));
    EXPECT_EQ(HasStep(describe, "eltwise"), relu);
  }
}

TEST(ConvTransposeExecutor, BatchNormFoldsIntoGroupedWeights) {
  const DeconvCase& c = Cases()[3];
  const Shape y_shape = OutShape(c);
  const int64_t channels = y_shape[1];
  GraphBuilder g;
  Tensor x = g.Input("x", c.x);
  AddDeconv(&g, c, "x");
  const Tensor& gamma = g.Const("gamma", g.Random({channels}, 0.5f, 2.f));
  const Tensor& beta = g.Const("beta", g.Random({channels}));
  const Tensor& mean = g.Const("mean", g.Random({channels}));
  const Tensor& var = g.Const("var", g.Random({channels}, 0.2f, 1.5f));
  g.Op(OpType::kBatchNorm, "bn", {"y", "gamma", "beta", "mean", "var"}, y_shape)
      .attrs.Set("epsilon", 1e-3f);
  g.Output("bn");
  const Tensor want = ref::BatchNorm(Reference(g.graph(), c, x), gamma, beta, mean, var, 1e-3f);
  Graph graph = g.graph();
  ASSERT_TRUE(FoldBatchNorm(&graph).ok());
  ASSERT_EQ(graph.nodes.size(), 1u);
  EXPECT_EQ(graph.nodes[0].op, OpType::kConvTranspose);
  std::vector<Tensor> y = RunGraph(graph, {&x});
  ASSERT_EQ(y.size(), 1u);
  ExpectClose(y[0], want);
}

// The INT8 deconvolution against the same computation on fake-quantised
// input, weights (per channel of W's axis 1, expanded over the groups) and
// bias: exact up to float rounding, where a wrong scale, layout or group
// expansion would be far off.
TEST(ConvTransposeInt8, MatchesFakeQuantisedReference) {
  for (const DeconvCase& c : {Cases()[3], Cases()[2], Cases()[6]}) {
    SCOPED_TRACE(c.label);
    GraphBuilder g;
    g.Input("x", c.x);
    const Tensor x = g.Random(c.x, 0.f, 1.f);
    AddDeconv(&g, c, "x");
    // Channels of very different ranges, so that each needs its own scale.
    Tensor& w = g.graph().constants.at("w");
    const int64_t taps = w.size() / (c.w[0] * c.w[1]);
    for (int64_t i = 0; i < w.size(); ++i) w.data<float>()[i] *= 1.f + 3.f * ((i / taps) % c.w[1]);
    g.Output("y");
    const Graph& graph = g.graph();
    const QuantSpec spec = testing::AllInt8(graph, testing::MinMaxParams(graph, {&x}));
    ASSERT_EQ(spec.layers.count("y"), 1u);

    std::vector<float> scales;
    const Tensor wq =
        testing::FakeQuantizeWeights(w, 1, spec.seven_bit == SevenBitWeights::kAll, &scales);
    const QuantParams& px = spec.activations.at("x");
    const Tensor xq = testing::FakeQuantize(x, px);
    Tensor bq = graph.constants.at("b");
    for (int64_t oc = 0; oc < bq.size(); ++oc) {
      const float unit = px.dequant_scale * scales[static_cast<size_t>(oc % c.w[1])];
      bq.data<float>()[oc] = std::nearbyint(bq.data<float>()[oc] / unit) * unit;
    }
    const Tensor want = ref::ConvTranspose(xq, wq, &bq, OutShape(c), c.strides, c.dilations,
                                           PadsBegin(graph.nodes[0], Spatial(c)), c.group);
    ExecutorOptions options;
    options.quant = spec;
    std::vector<std::string> describe;
    std::vector<Tensor> y = RunGraph(graph, {&x}, options, &describe);
    ASSERT_EQ(y.size(), 1u);
    EXPECT_LT(testing::RelativeError(y[0], want), 2e-5);
    // Not FP32 in disguise: the float result differs by the quantisation error.
    EXPECT_GT(testing::RelativeError(y[0], Reference(graph, c, x)), 1e-4);
    EXPECT_TRUE(HasStep(describe, "deconvolution"));
  }
}

// ConvTranspose -> ReLU -> Conv, all INT8: the deconvolution hands u8 to the
// convolution (no reorder between them) and the result stays near FP32.
TEST(ConvTransposeInt8, FeedsAnInt8Conv) {
  const DeconvCase& c = Cases()[1];
  const Shape y_shape = OutShape(c);
  GraphBuilder g;
  g.Input("x", c.x);
  const Tensor x = g.Random(c.x, 0.f, 1.f);
  AddDeconv(&g, c, "x", 0.3f);
  g.Op(OpType::kRelu, "relu", {"y"}, y_shape);
  g.Const("cw", g.Random({4, y_shape[1], 3, 3}, -0.3f, 0.3f));
  Node& conv = g.Op(OpType::kConv, "conv", {"relu", "cw"}, {1, 4, y_shape[2], y_shape[3]});
  conv.attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  g.Output("conv");
  const Graph& graph = g.graph();
  ExecutorOptions options;
  options.quant = testing::AllInt8(graph, testing::MinMaxParams(graph, {&x}));
  ASSERT_EQ(options.quant.layers.size(), 2u);
  auto model = CompiledModel::Compile(graph, options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<Tensor> y = (*model)->MakeOutputs();
  ASSERT_TRUE((*model)->Run({&x}, &y).ok());
  const std::vector<Tensor> fp32 = RunGraph(graph, {&x});
  const double error = testing::RelativeError(y[0], fp32[0]);
  EXPECT_GT(error, 1e-6);
  EXPECT_LT(error, 0.04);
  int reorders_between = 0;
  bool after_deconv = false;
  for (const StepInfo& step : (*model)->steps()) {
    if (step.kind == "deconvolution") after_deconv = true;
    if (step.kind == "convolution") break;
    if (after_deconv && step.kind == "reorder") ++reorders_between;
  }
  EXPECT_TRUE(after_deconv);
  EXPECT_EQ(reorders_between, 0);
}

// x -> ConvTranspose(output_shape, group 2) [-> BatchNormalization] -> Relu
// as an ONNX model.
onnx::ModelProto DeconvModel(GraphBuilder* g, bool batch_norm) {
  onnx::ModelProto model = testing::NewModel(13);
  testing::AddInput(&model, "x", {-1, 4, 5, 5});
  testing::AddOutput(&model, "y", {-1, 6, 11, 11});
  auto add = [&](const std::string& name, const Shape& shape, float lo, float hi) {
    const Tensor t = g->Random(shape, lo, hi);
    testing::AddFloatInitializer(&model, name, shape,
                                 std::vector<float>(t.data<float>(), t.data<float>() + t.size()));
  };
  add("w", {4, 3, 3, 3}, -0.5f, 0.5f);
  add("b", {6}, -0.2f, 0.2f);
  add("gamma", {6}, 0.5f, 1.5f);
  add("beta", {6}, -0.2f, 0.2f);
  add("mean", {6}, -0.2f, 0.2f);
  add("var", {6}, 0.5f, 1.5f);
  onnx::NodeProto* deconv =
      testing::AddNode(&model, "ConvTranspose", {"x", "w", "b"}, {"d"}, "deconv");
  testing::AddIntAttr(deconv, "group", 2);
  testing::AddIntsAttr(deconv, "strides", {2, 2});
  testing::AddIntsAttr(deconv, "output_shape", {11, 11});
  if (batch_norm) {
    testing::AddNode(&model, "BatchNormalization", {"d", "gamma", "beta", "mean", "var"}, {"bn"},
                     "bn");
  }
  testing::AddNode(&model, "Relu", {batch_norm ? "bn" : "d"}, {"y"}, "relu");
  return model;
}

TEST(ConvTransposeOnnx, ImportFoldsBatchNormAndRuns) {
  GraphBuilder g;
  const onnx::ModelProto model = DeconvModel(&g, true);
  auto graph = ImportOnnxFromBytes(model.SerializeAsString(), "deconv.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  EXPECT_EQ(graph->QuantizableLayers(), std::vector<std::string>{"deconv"});
  auto specialised = SpecializeForBatch(*graph, 2);
  ASSERT_TRUE(specialised.ok()) << specialised.status().ToString();
  ASSERT_EQ(specialised->nodes.size(), 2u);  // BatchNormalization folded
  const Tensor x = g.Random({2, 4, 5, 5});
  std::vector<Tensor> y = RunGraph(*specialised, {&x});
  ASSERT_EQ(y.size(), 1u);
  ASSERT_EQ(y[0].shape(), (Shape{2, 6, 11, 11}));

  // The reference reads the model's own initializers.
  auto constant = [&](const std::string& name) {
    for (const auto& t : model.graph().initializer()) {
      if (t.name() == name) {
        Tensor out(DType::kF32, Shape(t.dims().begin(), t.dims().end()));
        std::copy(t.float_data().begin(), t.float_data().end(), out.data<float>());
        return out;
      }
    }
    return Tensor();
  };
  const Tensor w = constant("w"), b = constant("b");
  // output_shape 11 is the natural 2 * (5 - 1) + 3: no padding.
  const Tensor d = ref::ConvTranspose(x, w, &b, {2, 6, 11, 11}, {2, 2}, {1, 1}, {0, 0}, 2);
  ExpectClose(y[0], ref::Relu(ref::BatchNorm(d, constant("gamma"), constant("beta"),
                                             constant("mean"), constant("var"), 1e-5f)));
}

// Exported as QDQ (weights per channel of axis 1, bias int32 with the scales
// expanded over the groups) and imported again, the model runs INT8 with
// exactly the results of the original under the same config.
TEST(ConvTransposeOnnx, QdqRoundTripRunsTheSameInt8) {
  GraphBuilder g;
  const onnx::ModelProto model = DeconvModel(&g, false);
  const std::string bytes = model.SerializeAsString();
  auto graph = ImportOnnxFromBytes(bytes, "deconv.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto specialised = SpecializeForBatch(*graph, 2);
  ASSERT_TRUE(specialised.ok()) << specialised.status().ToString();
  const Tensor x = g.Random({2, 4, 5, 5});
  Calibration calibration;
  calibration.activations = testing::MinMaxParams(*specialised, {&x});
  PrecisionConfig config;
  config.layers["deconv"] = Precision::kInt8;
  auto exported = ExportQdq(bytes, "deconv.onnx", config, calibration, {});
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  auto qdq_graph = ImportOnnxFromBytes(*exported, "qdq.onnx");
  ASSERT_TRUE(qdq_graph.ok()) << qdq_graph.status().ToString();
  auto imported = QdqToQuantSpec(std::move(*qdq_graph));
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(imported->spec.layers, config.layers);
  auto imported_specialised = SpecializeForBatch(imported->graph, 2);
  ASSERT_TRUE(imported_specialised.ok()) << imported_specialised.status().ToString();

  auto spec = MakeQuantSpec(config, calibration, SevenBitWeights::kNone);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ExecutorOptions original_options, imported_options;
  original_options.quant = *spec;
  imported_options.quant = imported->spec;
  const std::vector<Tensor> original = RunGraph(*specialised, {&x}, original_options);
  const std::vector<Tensor> reimported = RunGraph(*imported_specialised, {&x}, imported_options);
  ASSERT_EQ(original.size(), 1u);
  ASSERT_EQ(reimported.size(), 1u);
  ExpectClose(reimported[0], original[0], 1e-6f);
  const std::vector<Tensor> fp32 = RunGraph(*specialised, {&x});
  EXPECT_GT(testing::RelativeError(original[0], fp32[0]), 1e-5);
}

}  // namespace
}  // namespace mixq
