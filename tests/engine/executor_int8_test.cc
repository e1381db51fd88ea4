// INT8 execution against FP32 on small graphs: per-layer error bounds with
// minmax scales calibrated on the same inputs, the step list (no reorders
// inside INT8 regions, reorders at FP32/INT8 boundaries), mixed configs and
// refused specs.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <set>

#include "engine/passes/fusion.h"
#include "engine/quant/precision_plan.h"
#include "engine/runtime/executor.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/int8_test_util.h"

namespace mixq {
namespace {

using testing::AllInt8;
using testing::GraphBuilder;
using testing::MinMaxParams;
using testing::RelativeError;
using testing::RunGraph;

Node& AddConv(GraphBuilder* b, const std::string& name, const std::string& in, const Shape& w_shape,
              const Shape& out_shape, int64_t stride = 1, int64_t pad = 1, int64_t group = 1) {
  b->Const(name + ".w", b->Random(w_shape, -0.5f, 0.5f));
  b->Const(name + ".b", b->Random({w_shape[0]}, -0.2f, 0.2f));
  Node& conv = b->Op(OpType::kConv, name, {in, name + ".w", name + ".b"}, out_shape);
  conv.attrs.Set("strides", std::vector<int64_t>{stride, stride});
  conv.attrs.Set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  conv.attrs.Set("group", group);
  return conv;
}

struct Int8Result {
  double error = 0;  // relative to FP32
  std::vector<StepInfo> steps;
};

// Runs `graph` in FP32 and with `spec` (every layer INT8 with minmax scales
// from `x` when null) and compares output 0.
Int8Result CompareWithFp32(const Graph& graph, const Tensor& x, const QuantSpec* spec = nullptr) {
  Int8Result result;
  std::vector<Tensor> fp32 = RunGraph(graph, {&x});
  ExecutorOptions options;
  options.quant = spec ? *spec : AllInt8(graph, MinMaxParams(graph, {&x}));
  auto model = CompiledModel::Compile(graph, options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok() || fp32.empty()) return result;
  std::vector<Tensor> outputs = (*model)->MakeOutputs();
  Status status = (*model)->Run({&x}, &outputs);
  EXPECT_TRUE(status.ok()) << status.ToString();
  result.error = RelativeError(outputs[0], fp32[0]);
  result.steps = (*model)->steps();
  return result;
}

int CountKind(const std::vector<StepInfo>& steps, const std::string& kind) {
  return static_cast<int>(
      std::count_if(steps.begin(), steps.end(), [&](const StepInfo& s) { return s.kind == kind; }));
}

// The error must be small but not zero: zero would mean FP32 ran. Bounds
// hold with VNNI and capped at AVX2 (7-bit weights there, see AllInt8);
// a wrong scale anywhere gives errors of 10 % and more.
void ExpectInt8Error(const Int8Result& r, double bound) {
  std::printf("relative error vs FP32: %.5f\n", r.error);
  EXPECT_GT(r.error, 1e-6);
  EXPECT_LT(r.error, bound);
}

TEST(ExecutorInt8, ConvSignedInput) {
  GraphBuilder b;
  Tensor x = b.Input("x", {2, 8, 10, 10});
  AddConv(&b, "conv", "x", {16, 8, 3, 3}, {2, 16, 10, 10});
  b.Output("conv");
  ExpectInt8Error(CompareWithFp32(b.graph(), x), 0.04);
}

TEST(ExecutorInt8, ConvReluUnsignedInput) {
  GraphBuilder b;
  b.Input("x", {2, 8, 10, 10});
  Tensor x = b.Random({2, 8, 10, 10}, 0.f, 1.f);
  AddConv(&b, "conv", "x", {16, 8, 3, 3}, {2, 16, 10, 10});
  b.Op(OpType::kRelu, "relu", {"conv"}, {2, 16, 10, 10});
  b.Output("relu");
  ExpectInt8Error(CompareWithFp32(b.graph(), x), 0.02);
}

TEST(ExecutorInt8, DepthwiseConv) {
  GraphBuilder b;
  b.Input("x", {2, 16, 12, 12});
  Tensor x = b.Random({2, 16, 12, 12}, 0.f, 1.f);
  AddConv(&b, "dw", "x", {16, 1, 3, 3}, {2, 16, 12, 12}, 1, 1, 16);
  b.Output("dw");
  ExpectInt8Error(CompareWithFp32(b.graph(), x), 0.04);
}

TEST(ExecutorInt8, GroupedStridedConv) {
  GraphBuilder b;
  b.Input("x", {2, 8, 11, 11});
  Tensor x = b.Random({2, 8, 11, 11}, 0.f, 1.f);
  AddConv(&b, "conv", "x", {12, 4, 3, 3}, {2, 12, 6, 6}, 2, 1, 2);
  b.Output("conv");
  ExpectInt8Error(CompareWithFp32(b.graph(), x), 0.04);
}

TEST(ExecutorInt8, GemmWithBias) {
  GraphBuilder b;
  Tensor x = b.Input("x", {4, 32});
  b.Const("w", b.Random({10, 32}));
  b.Const("c", b.Random({10}));
  Node& gemm = b.Op(OpType::kGemm, "gemm", {"x", "w", "c"}, {4, 10});
  gemm.attrs.Set("transB", int64_t{1});
  gemm.attrs.Set("alpha", 0.5f);
  b.Output("gemm");
  Int8Result r = CompareWithFp32(b.graph(), x);
  ExpectInt8Error(r, 0.04);
  EXPECT_EQ(CountKind(r.steps, "inner_product"), 1);
}

TEST(ExecutorInt8, MatMulConstantB) {
  GraphBuilder b;
  Tensor x = b.Input("x", {2, 3, 24});
  b.Const("w", b.Random({24, 7}));
  b.Op(OpType::kMatMul, "mm", {"x", "w"}, {2, 3, 7});
  b.Output("mm");
  Int8Result r = CompareWithFp32(b.graph(), x);
  ExpectInt8Error(r, 0.04);
  EXPECT_EQ(CountKind(r.steps, "matmul"), 1);
}

// Clip bounds inside the signed range: wrong if they were not rescaled to
// the quantised domain.
TEST(ExecutorInt8, ConvClipThenConv) {
  GraphBuilder b;
  Tensor x = b.Input("x", {2, 8, 10, 10});
  AddConv(&b, "conv1", "x", {16, 8, 3, 3}, {2, 16, 10, 10});
  Node& clip = b.Op(OpType::kClip, "clip", {"conv1"}, {2, 16, 10, 10});
  clip.attrs.Set("min", -0.3f);
  clip.attrs.Set("max", 0.4f);
  AddConv(&b, "conv2", "clip", {8, 16, 3, 3}, {2, 8, 10, 10});
  b.Output("conv2");
  ExpectInt8Error(CompareWithFp32(b.graph(), x), 0.06);
}

TEST(ExecutorInt8, ConvClipAsOutput) {
  GraphBuilder b;
  Tensor x = b.Input("x", {2, 8, 10, 10});
  AddConv(&b, "conv1", "x", {16, 8, 3, 3}, {2, 16, 10, 10});
  Node& clip = b.Op(OpType::kClip, "clip", {"conv1"}, {2, 16, 10, 10});
  clip.attrs.Set("min", 0.f);
  clip.attrs.Set("max", 0.5f);
  b.Output("clip");
  ExpectInt8Error(CompareWithFp32(b.graph(), x), 0.04);
}

// Nonlinear post-ops run on real values, then a final linear step quantises
// (merged into HardSigmoid's own linear step: see post_ops.h).
TEST(ExecutorInt8, ConvNonlinearActivationThenConv) {
  for (OpType op : {OpType::kSigmoid, OpType::kHardSwish, OpType::kHardSigmoid}) {
    GraphBuilder b;
    Tensor x = b.Input("x", {2, 8, 10, 10});
    AddConv(&b, "conv1", "x", {16, 8, 3, 3}, {2, 16, 10, 10});
    b.Op(op, "act", {"conv1"}, {2, 16, 10, 10});
    AddConv(&b, "conv2", "act", {8, 16, 3, 3}, {2, 8, 10, 10});
    b.Output("conv2");
    ExpectInt8Error(CompareWithFp32(b.graph(), x), 0.06);
  }
}

// x -> conv1 -> relu = a; conv2(a) + a -> relu -> [conv3 ->] y: the residual
// sum is fused into conv2, with an INT8 destination when conv3 follows.
Graph Residual(GraphBuilder* b, Tensor* x, bool with_conv3) {
  b->Input("x", {2, 8, 8, 8});
  *x = b->Random({2, 8, 8, 8}, 0.f, 1.f);
  AddConv(b, "conv1", "x", {16, 8, 3, 3}, {2, 16, 8, 8});
  b->Op(OpType::kRelu, "a", {"conv1"}, {2, 16, 8, 8});
  AddConv(b, "conv2", "a", {16, 16, 3, 3}, {2, 16, 8, 8});
  b->Op(OpType::kAdd, "sum", {"conv2", "a"}, {2, 16, 8, 8});
  b->Op(OpType::kRelu, "relu", {"sum"}, {2, 16, 8, 8});
  if (with_conv3) {
    AddConv(b, "conv3", "relu", {4, 16, 1, 1}, {2, 4, 8, 8}, 1, 0);
    b->Output("conv3");
  } else {
    b->Output("relu");
  }
  return b->graph();
}

TEST(ExecutorInt8, ConvSumReluInt8Destination) {
  GraphBuilder b;
  Tensor x;
  Graph graph = Residual(&b, &x, true);
  Int8Result r = CompareWithFp32(graph, x);
  ExpectInt8Error(r, 0.04);
  EXPECT_EQ(CountKind(r.steps, "binary"), 0);  // the Add is a sum post-op
}

TEST(ExecutorInt8, ConvSumReluFloatDestination) {
  GraphBuilder b;
  Tensor x;
  Graph graph = Residual(&b, &x, false);
  ExpectInt8Error(CompareWithFp32(graph, x), 0.04);
}

TEST(ExecutorInt8, ResidualFromFp32Layer) {
  GraphBuilder b;
  Tensor x;
  Graph graph = Residual(&b, &x, true);
  QuantSpec spec = AllInt8(graph, MinMaxParams(graph, {&x}));
  spec.layers["conv1"] = Precision::kFp32;
  ExpectInt8Error(CompareWithFp32(graph, x, &spec), 0.04);
}

// A projection shortcut: the residual is a conv output without ReLU, so it is
// signed (s8) while the destination after the ReLU is unsigned (u8); the sum
// must see the residual's negative values.
TEST(ExecutorInt8, SignedResidualIntoUnsignedDestination) {
  for (bool with_conv3 : {true, false}) {
    GraphBuilder b;
    b.Input("x", {2, 8, 8, 8});
    Tensor x = b.Random({2, 8, 8, 8}, 0.f, 1.f);
    AddConv(&b, "conv1", "x", {16, 8, 3, 3}, {2, 16, 8, 8});
    b.Op(OpType::kRelu, "a", {"conv1"}, {2, 16, 8, 8});
    AddConv(&b, "shortcut", "x", {16, 8, 1, 1}, {2, 16, 8, 8}, 1, 0);
    AddConv(&b, "conv2", "a", {16, 16, 3, 3}, {2, 16, 8, 8});
    b.Op(OpType::kAdd, "sum", {"conv2", "shortcut"}, {2, 16, 8, 8});
    b.Op(OpType::kRelu, "relu", {"sum"}, {2, 16, 8, 8});
    if (with_conv3) {
      AddConv(&b, "conv3", "relu", {4, 16, 1, 1}, {2, 4, 8, 8}, 1, 0);
      b.Output("conv3");
    } else {
      b.Output("relu");
    }
    SCOPED_TRACE(with_conv3 ? "int8 destination" : "f32 destination");
    ExpectInt8Error(CompareWithFp32(b.graph(), x), 0.04);
  }
}

TEST(ExecutorInt8, MaxAndAveragePoolBetweenConvs) {
  for (OpType pool_op : {OpType::kMaxPool, OpType::kAveragePool}) {
    GraphBuilder b;
    Tensor x = b.Input("x", {2, 8, 12, 12});
    AddConv(&b, "conv1", "x", {16, 8, 3, 3}, {2, 16, 12, 12});
    b.Op(OpType::kRelu, "relu", {"conv1"}, {2, 16, 12, 12});
    Node& pool = b.Op(pool_op, "pool", {"relu"}, {2, 16, 6, 6});
    pool.attrs.Set("kernel_shape", std::vector<int64_t>{2, 2});
    pool.attrs.Set("strides", std::vector<int64_t>{2, 2});
    AddConv(&b, "conv2", "pool", {8, 16, 3, 3}, {2, 8, 6, 6});
    b.Output("conv2");
    Int8Result r = CompareWithFp32(b.graph(), x);
    ExpectInt8Error(r, 0.04);
    // Only the input is quantised and the output laid out plain: the pool
    // reads and writes INT8 in the convolutions' layout.
    EXPECT_EQ(CountKind(r.steps, "reorder"), 2);
  }
}

TEST(ExecutorInt8, GlobalPoolFlattenGemm) {
  GraphBuilder b;
  Tensor x = b.Input("x", {4, 8, 6, 6});
  AddConv(&b, "conv", "x", {16, 8, 3, 3}, {4, 16, 6, 6});
  b.Op(OpType::kRelu, "relu", {"conv"}, {4, 16, 6, 6});
  b.Op(OpType::kGlobalAveragePool, "gap", {"relu"}, {4, 16, 1, 1});
  Node& flat = b.Op(OpType::kReshape, "flat", {"gap"}, {4, 16});
  flat.attrs.Set("shape", std::vector<int64_t>{4, 16});
  b.Const("fc.w", b.Random({10, 16}));
  b.Const("fc.b", b.Random({10}));
  Node& fc = b.Op(OpType::kGemm, "fc", {"flat", "fc.w", "fc.b"}, {4, 10});
  fc.attrs.Set("transB", int64_t{1});
  b.Output("fc");
  Int8Result r = CompareWithFp32(b.graph(), x);
  ExpectInt8Error(r, 0.04);
}

TEST(ExecutorInt8, ConcatRequantisesInputs) {
  GraphBuilder b;
  Tensor x = b.Input("x", {2, 8, 8, 8});
  AddConv(&b, "c1", "x", {8, 8, 3, 3}, {2, 8, 8, 8});
  b.Op(OpType::kRelu, "r1", {"c1"}, {2, 8, 8, 8});
  AddConv(&b, "c2", "x", {8, 8, 1, 1}, {2, 8, 8, 8}, 1, 0);
  b.Op(OpType::kRelu, "r2", {"c2"}, {2, 8, 8, 8});
  Node& cat = b.Op(OpType::kConcat, "cat", {"r1", "r2"}, {2, 16, 8, 8});
  cat.attrs.Set("axis", int64_t{1});
  AddConv(&b, "c3", "cat", {4, 16, 3, 3}, {2, 4, 8, 8});
  b.Output("c3");
  Int8Result r = CompareWithFp32(b.graph(), x);
  ExpectInt8Error(r, 0.04);
  EXPECT_EQ(CountKind(r.steps, "concat"), 1);
}

TEST(ExecutorInt8, UnfusedAddOfPools) {
  GraphBuilder b;
  Tensor x = b.Input("x", {2, 8, 8, 8});
  for (const char* name : {"1", "2"}) {
    const std::string n(name);
    AddConv(&b, "c" + n, "x", {8, 8, 3, 3}, {2, 8, 8, 8});
    Node& pool = b.Op(OpType::kMaxPool, "p" + n, {"c" + n}, {2, 8, 4, 4});
    pool.attrs.Set("kernel_shape", std::vector<int64_t>{2, 2});
    pool.attrs.Set("strides", std::vector<int64_t>{2, 2});
  }
  b.Op(OpType::kAdd, "add", {"p1", "p2"}, {2, 8, 4, 4});
  AddConv(&b, "c3", "add", {4, 8, 3, 3}, {2, 4, 4, 4});
  b.Output("c3");
  Int8Result r = CompareWithFp32(b.graph(), x);
  ExpectInt8Error(r, 0.06);
  EXPECT_EQ(CountKind(r.steps, "binary"), 1);
}

// conv1 -> relu -> conv2 -> relu -> conv3 -> y
Graph Chain(GraphBuilder* b, Tensor* x) {
  *x = b->Input("x", {2, 8, 10, 10});
  AddConv(b, "conv1", "x", {16, 8, 3, 3}, {2, 16, 10, 10});
  b->Op(OpType::kRelu, "r1", {"conv1"}, {2, 16, 10, 10});
  AddConv(b, "conv2", "r1", {16, 16, 3, 3}, {2, 16, 10, 10});
  b->Op(OpType::kRelu, "r2", {"conv2"}, {2, 16, 10, 10});
  AddConv(b, "conv3", "r2", {8, 16, 1, 1}, {2, 8, 10, 10}, 1, 0);
  b->Output("conv3");
  return b->graph();
}

std::vector<std::string> ReorderNodes(const std::vector<StepInfo>& steps) {
  std::vector<std::string> nodes;
  for (const StepInfo& s : steps) {
    if (s.kind == "reorder") nodes.push_back(s.node);
  }
  return nodes;
}

TEST(ExecutorInt8, ChainHasNoReordersBetweenInt8Layers) {
  GraphBuilder b;
  Tensor x;
  Graph graph = Chain(&b, &x);
  Int8Result r = CompareWithFp32(graph, x);
  ExpectInt8Error(r, 0.04);
  // Quantise the input at conv1, lay the f32 output out plain; nothing else.
  EXPECT_EQ(ReorderNodes(r.steps), (std::vector<std::string>{"conv1", "output 'conv3'"}));
  EXPECT_EQ(CountKind(r.steps, "convolution"), 3);
}

TEST(ExecutorInt8, MixedConfigReordersOnlyAtBoundaries) {
  GraphBuilder b;
  Tensor x;
  Graph graph = Chain(&b, &x);
  QuantSpec spec = AllInt8(graph, MinMaxParams(graph, {&x}));
  spec.layers["conv1"] = Precision::kFp32;
  spec.layers["conv3"] = Precision::kFp32;
  Int8Result r = CompareWithFp32(graph, x, &spec);
  ExpectInt8Error(r, 0.02);
  // conv2 quantises its input and writes f32 itself; conv3 at most changes
  // the f32 layout back; conv1 reorders the graph input as in FP32.
  std::vector<std::string> reorders = ReorderNodes(r.steps);
  EXPECT_EQ(std::count(reorders.begin(), reorders.end(), "conv2"), 1);
  EXPECT_LE(std::count(reorders.begin(), reorders.end(), "conv3"), 1);
  auto fp32 = CompiledModel::Compile(graph, ExecutorOptions{});
  ASSERT_TRUE(fp32.ok());
  std::vector<std::string> fp32_reorders = ReorderNodes((*fp32)->steps());
  EXPECT_EQ(std::count(reorders.begin(), reorders.end(), "conv1"),
            std::count(fp32_reorders.begin(), fp32_reorders.end(), "conv1"));
}

TEST(ExecutorInt8, EveryOtherLayerInt8ErrorBetweenFp32AndAllInt8) {
  GraphBuilder b;
  Tensor x;
  Graph graph = Chain(&b, &x);
  QuantSpec all = AllInt8(graph, MinMaxParams(graph, {&x}));
  QuantSpec mixed = all;
  mixed.layers["conv2"] = Precision::kFp32;
  Int8Result r_all = CompareWithFp32(graph, x, &all);
  Int8Result r_mixed = CompareWithFp32(graph, x, &mixed);
  EXPECT_GT(r_mixed.error, 1e-6);
  EXPECT_LT(r_mixed.error, r_all.error * 1.2);
}

TEST(ExecutorInt8, MissingParamsAreRefusedNamingTheTensor) {
  GraphBuilder b;
  Tensor x;
  Graph graph = Chain(&b, &x);
  QuantSpec spec = AllInt8(graph, MinMaxParams(graph, {&x}));
  spec.activations.erase("x");
  ExecutorOptions options;
  options.quant = spec;
  auto model = CompiledModel::Compile(graph, options);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(model.status().message().find("'x'"), std::string::npos) << model.status().ToString();
  EXPECT_NE(model.status().message().find("conv1"), std::string::npos);
}

TEST(ExecutorInt8, ExtraOutputsStayFloat) {
  GraphBuilder b;
  Tensor x;
  Graph graph = Chain(&b, &x);
  std::vector<Tensor> fp32 = RunGraph(graph, {&x}, [] {
    ExecutorOptions o;
    o.extra_outputs = {"r1"};
    return o;
  }());
  ExecutorOptions options;
  options.quant = AllInt8(graph, MinMaxParams(graph, {&x}));
  options.extra_outputs = {"r1"};
  std::vector<Tensor> int8 = RunGraph(graph, {&x}, options);
  ASSERT_EQ(int8.size(), 2u);
  EXPECT_LT(RelativeError(int8[1], fp32[1]), 0.02);
}

TEST(PrecisionPlan, SevenBitFirstLayerMarksOnlyTheFirstQuantizableLayer) {
  GraphBuilder b;
  Tensor x;
  Graph graph = Chain(&b, &x);
  QuantSpec spec = AllInt8(graph, MinMaxParams(graph, {&x}));
  spec.seven_bit = SevenBitWeights::kFirstLayer;
  auto plan = PlanPrecision(graph, spec, {});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->seven_bit_layers, (std::set<std::string>{"conv1"}));
  // conv1 FP32: the first quantizable layer is not INT8, nothing is 7-bit.
  spec.layers["conv1"] = Precision::kFp32;
  plan = PlanPrecision(graph, spec, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->seven_bit_layers.empty());
  spec.seven_bit = SevenBitWeights::kAll;
  plan = PlanPrecision(graph, spec, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->seven_bit_layers, (std::set<std::string>{"conv2", "conv3"}));
}

// conv1 -> relu -> pool -> conv2: the pool follows its producer only when
// its consumer is INT8 too.
TEST(PrecisionPlan, FollowersStayInt8OnlyInsideInt8Regions) {
  GraphBuilder b;
  Tensor x = b.Input("x", {1, 8, 8, 8});
  AddConv(&b, "conv1", "x", {8, 8, 3, 3}, {1, 8, 8, 8});
  b.Op(OpType::kRelu, "relu", {"conv1"}, {1, 8, 8, 8});
  Node& pool = b.Op(OpType::kMaxPool, "pool", {"relu"}, {1, 8, 4, 4});
  pool.attrs.Set("kernel_shape", std::vector<int64_t>{2, 2});
  pool.attrs.Set("strides", std::vector<int64_t>{2, 2});
  AddConv(&b, "conv2", "pool", {4, 8, 3, 3}, {1, 4, 4, 4});
  b.Output("conv2");
  const Graph fused = FusePostOps(b.graph());
  QuantSpec spec = AllInt8(fused, MinMaxParams(b.graph(), {&x}));
  auto plan = PlanPrecision(fused, spec, {});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->int8_nodes, (std::set<std::string>{"conv1", "pool", "conv2"}));
  ASSERT_NE(plan->Int8Value("pool"), nullptr);
  EXPECT_TRUE(plan->Int8Value("pool")->is_unsigned);
  // The pool keeps its input's parameters, whatever the spec says for it.
  EXPECT_EQ(plan->Int8Value("pool")->dequant_scale, plan->Int8Value("relu")->dequant_scale);
  EXPECT_EQ(plan->Int8Value("conv2"), nullptr);  // graph output: f32

  spec.layers["conv2"] = Precision::kFp32;
  plan = PlanPrecision(fused, spec, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->int8_nodes, (std::set<std::string>{"conv1"}));
  EXPECT_TRUE(plan->int8_values.empty());  // conv1 writes f32 directly

  // An extra output stays f32 and so does the pool that reads it.
  spec.layers["conv2"] = Precision::kInt8;
  plan = PlanPrecision(fused, spec, {"relu"});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->Int8Value("relu"), nullptr);
  EXPECT_FALSE(plan->IsInt8Node("pool"));
}

TEST(PrecisionPlan, GemmWithTransposedAStaysFp32) {
  GraphBuilder b;
  Tensor x = b.Input("x", {8, 4});
  b.Const("w", b.Random({8, 3}));
  Node& gemm = b.Op(OpType::kGemm, "gemm", {"x", "w"}, {4, 3});
  gemm.attrs.Set("transA", int64_t{1});
  b.Output("gemm");
  QuantSpec spec;
  spec.layers["gemm"] = Precision::kInt8;
  auto plan = PlanPrecision(b.graph(), spec, {});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->int8_nodes.empty());
}

TEST(PrecisionPlan, ConcatWithAConstantStaysFp32AndRuns) {
  GraphBuilder b;
  Tensor x = b.Input("x", {1, 8, 6, 6});
  AddConv(&b, "conv1", "x", {8, 8, 3, 3}, {1, 8, 6, 6});
  b.Op(OpType::kRelu, "relu", {"conv1"}, {1, 8, 6, 6});
  b.Const("k", b.Random({1, 4, 6, 6}));
  Node& cat = b.Op(OpType::kConcat, "cat", {"relu", "k"}, {1, 12, 6, 6});
  cat.attrs.Set("axis", int64_t{1});
  AddConv(&b, "conv2", "cat", {4, 12, 3, 3}, {1, 4, 6, 6});
  b.Output("conv2");
  QuantSpec spec = AllInt8(b.graph(), MinMaxParams(b.graph(), {&x}));
  auto plan = PlanPrecision(FusePostOps(b.graph()), spec, {});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->int8_nodes, (std::set<std::string>{"conv1", "conv2"}));
  ExpectInt8Error(CompareWithFp32(b.graph(), x, &spec), 0.04);
}

}  // namespace
}  // namespace mixq
