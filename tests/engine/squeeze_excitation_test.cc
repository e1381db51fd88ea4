// Layouts around squeeze-excitation blocks and grouped convolutions: the
// pooled [N, C, 1, 1] branch is computed in the layout of the tensor it
// scales, so no reorder comes between the branch and the multiply and the
// binary primitive is a jit kernel (a plain scale beside a blocked tensor
// falls to oneDNN's reference kernel); a grouped convolution keeps the
// layout of the layers around it. Outputs equal a plain-loop reference and
// the unfused graph. Also built into avx2_tests, where FP32 layouts are
// blocked by 8.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/passes/fusion.h"
#include "engine/quant/precision_plan.h"
#include "engine/runtime/executor.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/int8_test_util.h"
#include "tests/engine/reference_ops.h"

namespace mixq {
namespace {

using testing::ExpectClose;
using testing::GraphBuilder;

constexpr int64_t kN = 2, kC = 32, kH = 10;
const Shape kFull = {kN, kC, kH, kH};
const Shape kPooled = {kN, kC, 1, 1};

float Sigmoid(float v) { return 1.f / (1.f + std::exp(-v)); }
float HardSigmoid(float v) { return std::min(std::max(v / 6.f + 0.5f, 0.f), 1.f); }

struct ConvSpec {
  Shape w;
  int64_t group = 1;
  int64_t pad = 0;
};

// Adds conv `name` reading `in` with random weights and bias; returns the
// reference output for `in_value`.
Tensor AddConv(GraphBuilder* b, const std::string& name, const std::string& in,
               const Tensor& in_value, const ConvSpec& spec, const Shape& out) {
  const Tensor& w = b->Const(name + ".w", b->Random(spec.w, -0.3f, 0.3f));
  const Tensor& bias = b->Const(name + ".b", b->Random({spec.w[0]}, -0.2f, 0.2f));
  Node& conv = b->Op(OpType::kConv, name, {in, name + ".w", name + ".b"}, out);
  conv.attrs.Set("pads", std::vector<int64_t>(4, spec.pad));
  conv.attrs.Set("group", spec.group);
  return ref::Conv(in_value, w, &bias, out, {1, 1}, {1, 1}, std::vector<int64_t>(4, spec.pad),
                   spec.group);
}

Tensor Relu(GraphBuilder* b, const std::string& name, const std::string& in, const Tensor& v) {
  b->Op(OpType::kRelu, name, {in}, v.shape());
  return ref::Relu(v);
}

// x -> conv0 (1x1, 8 -> 32) + ReLU -> conv1 (3x3, `group` groups) + ReLU = a;
// SE: GlobalAveragePool(a) -> fc1 (1x1, 32 -> 8) + ReLU -> fc2 (1x1, 8 -> 32)
// -> Sigmoid = s; Mul(a, s) (operands in either order) -> project (1x1,
// 32 -> 16) = y. Returns the reference y.
Tensor SeBlock(GraphBuilder* b, int64_t group, bool scale_first, Tensor* x,
               bool hard_gate = false) {
  *x = b->Input("x", {kN, 8, kH, kH});
  Tensor v = AddConv(b, "conv0", "x", *x, {{kC, 8, 1, 1}}, kFull);
  v = Relu(b, "relu0", "conv0", v);
  v = AddConv(b, "conv1", "relu0", v, {{kC, kC / group, 3, 3}, group, 1}, kFull);
  Tensor a = Relu(b, "a", "conv1", v);
  b->Op(OpType::kGlobalAveragePool, "pool", {"a"}, kPooled);
  Tensor pooled = ref::Pool(a, kPooled, {kH, kH}, {1, 1}, {0, 0, 0, 0}, false, false);
  v = AddConv(b, "fc1", "pool", pooled, {{8, kC, 1, 1}}, {kN, 8, 1, 1});
  v = Relu(b, "relu1", "fc1", v);
  v = AddConv(b, "fc2", "relu1", v, {{kC, 8, 1, 1}}, kPooled);
  Tensor s = ref::Unary(v, hard_gate ? HardSigmoid : Sigmoid);
  Node& gate = b->Op(hard_gate ? OpType::kHardSigmoid : OpType::kSigmoid, "s", {"fc2"}, kPooled);
  if (hard_gate) gate.attrs.Set("alpha", 1.f / 6.f);
  b->Op(OpType::kMul, "scaled",
        scale_first ? std::vector<std::string>{"s", "a"} : std::vector<std::string>{"a", "s"},
        kFull);
  Tensor scaled = ref::Binary(a, s, kFull, std::multiplies<float>());
  Tensor y = AddConv(b, "project", "scaled", scaled, {{16, kC, 1, 1}}, {kN, 16, kH, kH});
  b->Output("project");
  return y;
}

bool IsReference(const std::string& impl) {
  return impl.find("ref") != std::string::npos || impl.find("gemm") != std::string::npos;
}

// Reorders other than the graph input's (at conv0) and the output's.
std::vector<std::string> InnerReorders(const std::vector<StepInfo>& steps) {
  std::vector<std::string> inner;
  for (const StepInfo& step : steps) {
    if (step.kind == "reorder" && step.node != "conv0" && step.node.rfind("output", 0) != 0) {
      inner.push_back(step.node);
    }
  }
  return inner;
}

std::vector<StepInfo> Compile(const Graph& graph, const ExecutorOptions& options, const Tensor& x,
                              Tensor* y) {
  auto model = CompiledModel::Compile(graph, options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return {};
  std::vector<Tensor> out = (*model)->MakeOutputs();
  EXPECT_TRUE((*model)->Run({&x}, &out).ok());
  *y = out[0];
  return (*model)->steps();
}

TEST(SqueezeExcitation, NoReorderAndNoReferenceKernelAroundTheMultiply) {
  for (int64_t group : {1, 4}) {
    for (bool scale_first : {false, true}) {
      SCOPED_TRACE("group " + std::to_string(group) + (scale_first ? ", scale first" : ""));
      GraphBuilder b;
      Tensor x;
      Tensor expected = SeBlock(&b, group, scale_first, &x);
      Tensor y;
      const std::vector<StepInfo> steps = Compile(b.graph(), {}, x, &y);
      ExpectClose(y, expected);
      EXPECT_EQ(InnerReorders(steps), std::vector<std::string>{});
      for (const StepInfo& step : steps) {
        EXPECT_FALSE(IsReference(step.impl)) << step.node << " " << step.kind << " " << step.impl;
      }
      ExecutorOptions unfused;
      unfused.fuse_post_ops = false;
      ExpectClose(testing::RunGraph(b.graph(), {&x}, unfused)[0], expected);
    }
  }
}

// All INT8: the SE block stays INT8 from the grouped conv to the project
// conv - pooling, fc1 and fc2 read INT8 and the multiply is an INT8 binary
// primitive - so the only reorder left quantises the graph input.
TEST(SqueezeExcitation, Int8BlockHasNoReorders) {
  for (bool scale_first : {false, true}) {
    for (bool hard_gate : {false, true}) {
      SCOPED_TRACE(scale_first ? "scale first" : "scale second");
      SCOPED_TRACE(hard_gate ? "HardSigmoid" : "Sigmoid");
      GraphBuilder b;
      Tensor x;
      SeBlock(&b, 4, scale_first, &x, hard_gate);
      const Graph& graph = b.graph();
      ExecutorOptions options;
      options.quant = testing::AllInt8(graph, testing::MinMaxParams(graph, {&x}));
      auto plan = PlanPrecision(FusePostOps(graph), options.quant, {});
      ASSERT_TRUE(plan.ok()) << plan.status().ToString();
      EXPECT_TRUE(plan->IsInt8Node("pool"));
      EXPECT_TRUE(plan->IsInt8Node("scaled"));
      EXPECT_NE(plan->Int8Value("s"), nullptr);
      Tensor y;
      const std::vector<StepInfo> steps = Compile(graph, options, x, &y);
      EXPECT_EQ(InnerReorders(steps), std::vector<std::string>{});
      for (const StepInfo& step : steps) EXPECT_FALSE(IsReference(step.impl)) << step.impl;
      const double error = testing::RelativeError(y, testing::RunGraph(graph, {&x})[0]);
      std::printf("relative error vs FP32: %.5f\n", error);
      EXPECT_GT(error, 1e-6);
      EXPECT_LT(error, 0.05);
    }
  }
}

// A Mul by a value that is not per-channel ([N, 1, H, W]) stays FP32.
TEST(SqueezeExcitation, SpatialScaleIsNotAnInt8Follower) {
  GraphBuilder b;
  Tensor x = b.Input("x", {kN, 8, kH, kH});
  Tensor conv0 = AddConv(&b, "conv0", "x", x, {{kC, 8, 1, 1}}, kFull);
  Tensor gate = AddConv(&b, "gate", "conv0", conv0, {{1, kC, 1, 1}}, {kN, 1, kH, kH});
  b.Op(OpType::kMul, "scaled", {"conv0", "gate"}, kFull);
  AddConv(&b, "project", "scaled", ref::Binary(conv0, gate, kFull, std::multiplies<float>()),
          {{16, kC, 1, 1}}, {kN, 16, kH, kH});
  b.Output("project");
  const Graph& graph = b.graph();
  QuantSpec spec = testing::AllInt8(graph, testing::MinMaxParams(graph, {&x}));
  auto plan = PlanPrecision(FusePostOps(graph), spec, {});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_FALSE(plan->IsInt8Node("scaled"));
  EXPECT_TRUE(plan->IsInt8Node("project"));
}

// A per-channel constant scale of a blocked tensor (a folded per-channel
// affine) is laid out like the tensor once, at compile time.
TEST(SqueezeExcitation, PerChannelConstantOperandNeedsNoRuntimeReorder) {
  GraphBuilder b;
  Tensor x = b.Input("x", {kN, 8, kH, kH});
  Tensor conv = AddConv(&b, "conv0", "x", x, {{kC, 8, 3, 3}, 1, 1}, kFull);
  const Tensor& scale = b.Const("scale", b.Random({kC, 1, 1}));
  b.Op(OpType::kMul, "y", {"conv0", "scale"}, kFull);
  b.Output("y");
  Tensor y;
  const std::vector<StepInfo> steps = Compile(b.graph(), {}, x, &y);
  ExpectClose(y, ref::Binary(conv, scale, kFull, std::multiplies<float>()));
  EXPECT_EQ(InnerReorders(steps), std::vector<std::string>{});
  for (const StepInfo& step : steps) EXPECT_FALSE(IsReference(step.impl)) << step.impl;
}

// conv (1x1) -> grouped 3x3 -> conv (1x1): the grouped convolution reads and
// writes the layout of its neighbours (no reorders) on a jit kernel. Groups
// of 4 or 2 channels, which only oneDNN's gemm kernel runs on AVX2, run
// merged into groups of 8 with block-diagonal weights.
TEST(GroupedConv, KeepsTheLayoutOfTheLayersAroundOnAJitKernel) {
  for (int64_t group : {int64_t{4}, int64_t{8}, int64_t{16}, kC}) {  // widths 8, 4, 2, 1
    SCOPED_TRACE("group " + std::to_string(group));
    GraphBuilder b;
    Tensor x = b.Input("x", {kN, 8, kH, kH});
    Tensor v = AddConv(&b, "conv0", "x", x, {{kC, 8, 1, 1}}, kFull);
    v = AddConv(&b, "grouped", "conv0", v, {{kC, kC / group, 3, 3}, group, 1}, kFull);
    v = AddConv(&b, "conv2", "grouped", v, {{16, kC, 1, 1}}, {kN, 16, kH, kH});
    b.Output("conv2");
    Tensor y;
    const std::vector<StepInfo> steps = Compile(b.graph(), {}, x, &y);
    ExpectClose(y, v);
    EXPECT_EQ(InnerReorders(steps), std::vector<std::string>{});
    for (const StepInfo& step : steps) EXPECT_FALSE(IsReference(step.impl)) << step.impl;
  }
}

}  // namespace
}  // namespace mixq
