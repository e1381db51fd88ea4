// SiLU and HardSwish as exporters write them (x * Sigmoid(x),
// x * HardSigmoid(x), x * Relu6(x + 3) / 6) become one post-op of the layer
// before them: the fused graph holds the post-op, the compiled model runs no
// eltwise or binary step for them, and the outputs equal the unfused graph's
// and a plain-loop reference, in FP32 and (against a fake-quantised
// reference) in INT8. Sub-graphs that only look alike are left alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/passes/activation_patterns.h"
#include "engine/passes/fusion.h"
#include "engine/quant/precision_plan.h"
#include "engine/quant/weight_scales.h"
#include "engine/runtime/executor.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/int8_test_util.h"
#include "tests/engine/reference_ops.h"

namespace mixq {
namespace {

using testing::AllInt8;
using testing::ExpectClose;
using testing::GraphBuilder;
using testing::MinMaxParams;
using testing::RelativeError;
using testing::RunGraph;

const Shape kX = {2, 8, 9, 9};
const Shape kY = {2, 16, 9, 9};

float Silu(float v) { return v / (1.f + std::exp(-v)); }
float HardSwish(float v) { return v * std::min(std::max(v + 3.f, 0.f), 6.f) / 6.f; }

// x -> conv (3x3, 8 -> 16 channels, pad 1) named "conv".
Tensor ConvInput(GraphBuilder* b) {
  Tensor x = b->Input("x", kX);
  b->Const("w", b->Random({16, 8, 3, 3}, -0.5f, 0.5f));
  b->Const("bias", b->Random({16}, -0.5f, 0.5f));
  Node& conv = b->Op(OpType::kConv, "conv", {"x", "w", "bias"}, kY);
  conv.attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  return x;
}

Tensor ReferenceConv(GraphBuilder* b, const Tensor& x) {
  const Graph& g = b->graph();
  return ref::Conv(x, g.constants.at("w"), &g.constants.at("bias"), kY, {1, 1}, {1, 1},
                   {1, 1, 1, 1}, 1);
}

void Scalar(GraphBuilder* b, const std::string& name, float v) {
  Tensor t(DType::kF32, {});
  t.data<float>()[0] = v;
  b->Const(name, std::move(t));
}

// "conv" -> Sigmoid -> Mul(conv, sigmoid) -> "y", the Mul's operands in
// either order.
void Silu(GraphBuilder* b, bool gate_first) {
  b->Op(OpType::kSigmoid, "sig", {"conv"}, kY);
  b->Op(OpType::kMul, "y",
        gate_first ? std::vector<std::string>{"sig", "conv"}
                   : std::vector<std::string>{"conv", "sig"},
        kY);
}

std::vector<OpType> Ops(const Graph& graph) {
  std::vector<OpType> ops;
  for (const Node& node : graph.nodes) ops.push_back(node.op);
  return ops;
}

int CountOp(const Graph& graph, OpType op) {
  return static_cast<int>(std::count_if(graph.nodes.begin(), graph.nodes.end(),
                                        [&](const Node& node) { return node.op == op; }));
}

int CountKind(const std::vector<std::string>& describe, const std::string& kind) {
  return static_cast<int>(std::count_if(
      describe.begin(), describe.end(),
      [&](const std::string& s) { return s.find("  " + kind + "  ") != std::string::npos; }));
}

// Compiles `graph` fused and unfused, checks both against `expected` and
// that fusion left no eltwise or binary step.
void ExpectFusedMatches(const Graph& graph, const Tensor& x, const Tensor& expected) {
  std::vector<std::string> fused_steps, unfused_steps;
  std::vector<Tensor> fused = RunGraph(graph, {&x}, {}, &fused_steps);
  ExecutorOptions unfused_options;
  unfused_options.fuse_post_ops = false;
  std::vector<Tensor> unfused = RunGraph(graph, {&x}, unfused_options, &unfused_steps);
  ASSERT_EQ(fused.size(), 1u);
  ASSERT_EQ(unfused.size(), 1u);
  ExpectClose(fused[0], expected);
  ExpectClose(unfused[0], expected);
  EXPECT_EQ(CountKind(fused_steps, "eltwise"), 0);
  EXPECT_EQ(CountKind(fused_steps, "binary"), 0);
  EXPECT_GT(CountKind(unfused_steps, "eltwise") + CountKind(unfused_steps, "binary"), 0);
  EXPECT_LT(fused_steps.size(), unfused_steps.size());
}

TEST(ActivationFusion, SiluAfterConvBecomesSwishPostOp) {
  for (bool gate_first : {false, true}) {
    GraphBuilder b;
    Tensor x = ConvInput(&b);
    Silu(&b, gate_first);
    b.Output("y");
    const Graph fused = FusePostOps(b.graph());
    ASSERT_EQ(fused.nodes.size(), 1u);
    const Node& conv = fused.nodes[0];
    EXPECT_EQ(conv.outputs[0], "y");
    ASSERT_EQ(conv.post_ops.size(), 1u);
    EXPECT_EQ(conv.post_ops[0].eltwise, SwishPostOp().eltwise);
    EXPECT_EQ(conv.post_ops[0].alpha, 1.f);
    ExpectFusedMatches(b.graph(), x,
                       ref::Unary(ReferenceConv(&b, x), [](float v) { return Silu(v); }));
  }
}

TEST(ActivationFusion, SiluAfterGemmIsFused) {
  GraphBuilder b;
  Tensor x = b.Input("x", {4, 12});
  b.Const("w", b.Random({12, 6}));
  b.Op(OpType::kGemm, "gemm", {"x", "w"}, {4, 6});
  b.Op(OpType::kSigmoid, "sig", {"gemm"}, {4, 6});
  b.Op(OpType::kMul, "y", {"sig", "gemm"}, {4, 6});
  b.Output("y");
  EXPECT_EQ(Ops(FusePostOps(b.graph())), std::vector<OpType>{OpType::kGemm});
  Tensor expected =
      ref::Unary(ref::Gemm(x, b.graph().constants.at("w"), nullptr, 1.f, 1.f, false, false),
                 [](float v) { return Silu(v); });
  ExpectFusedMatches(b.graph(), x, expected);
}

// SiLU of a value no layer produces (a pooling output) runs as one eltwise
// step of its own.
TEST(ActivationFusion, SiluWithoutAProducerIsOneEltwiseStep) {
  GraphBuilder b;
  Tensor x = b.Input("x", kX);
  b.Op(OpType::kGlobalAveragePool, "pool", {"x"}, {2, 8, 1, 1});
  b.Op(OpType::kSigmoid, "sig", {"pool"}, {2, 8, 1, 1});
  b.Op(OpType::kMul, "y", {"pool", "sig"}, {2, 8, 1, 1});
  b.Output("y");
  const Graph fused = FusePostOps(b.graph());
  ASSERT_EQ(Ops(fused), (std::vector<OpType>{OpType::kGlobalAveragePool, OpType::kIdentity}));
  EXPECT_TRUE(IsPostOpCarrier(fused.nodes[1]));
  std::vector<std::string> steps;
  std::vector<Tensor> y = RunGraph(b.graph(), {&x}, {}, &steps);
  EXPECT_EQ(CountKind(steps, "eltwise"), 1);
  EXPECT_EQ(CountKind(steps, "binary"), 0);
  Tensor pool = ref::Pool(x, {2, 8, 1, 1}, {9, 9}, {1, 1}, {0, 0, 0, 0}, false, false);
  ExpectClose(y[0], ref::Unary(pool, [](float v) { return Silu(v); }));
}

// Sigmoid(x) read by a second node, or a Mul of another value with
// Sigmoid(x): not SiLU, nothing is rewritten, results stay right.
TEST(ActivationFusion, LookalikesAreLeftAlone) {
  {
    GraphBuilder b;
    Tensor x = ConvInput(&b);
    Silu(&b, false);
    b.Op(OpType::kAdd, "z", {"y", "sig"}, kY);
    b.Output("z");
    const Graph fused = FusePostOps(b.graph());
    EXPECT_EQ(CountOp(fused, OpType::kSigmoid), 1);
    Tensor conv = ReferenceConv(&b, x);
    Tensor sig = ref::Unary(conv, [](float v) { return 1.f / (1.f + std::exp(-v)); });
    Tensor y = ref::Binary(ref::Binary(conv, sig, kY, std::multiplies<float>()), sig, kY,
                           std::plus<float>());
    ExpectClose(RunGraph(b.graph(), {&x})[0], y);
  }
  {
    GraphBuilder b;
    Tensor x = ConvInput(&b);
    b.Op(OpType::kRelu, "other", {"conv"}, kY);
    b.Op(OpType::kSigmoid, "sig", {"conv"}, kY);
    b.Op(OpType::kMul, "y", {"other", "sig"}, kY);
    b.Output("y");
    const Graph fused = FusePostOps(b.graph());
    EXPECT_EQ(CountOp(fused, OpType::kSigmoid), 1);
    EXPECT_EQ(CountOp(fused, OpType::kIdentity), 0);
    Tensor conv = ReferenceConv(&b, x);
    Tensor y = ref::Unary(conv, [](float v) { return std::max(v, 0.f) / (1.f + std::exp(-v)); });
    ExpectClose(RunGraph(b.graph(), {&x})[0], y);
  }
}

TEST(ActivationFusion, HardSigmoidTimesXBecomesHardSwish) {
  GraphBuilder b;
  Tensor x = ConvInput(&b);
  Node& hs = b.Op(OpType::kHardSigmoid, "hsig", {"conv"}, kY);
  hs.attrs.Set("alpha", 0.16666667f);
  hs.attrs.Set("beta", 0.5f);
  b.Op(OpType::kMul, "y", {"conv", "hsig"}, kY);
  b.Output("y");
  const Graph fused = FusePostOps(b.graph());
  ASSERT_EQ(fused.nodes.size(), 1u);
  ASSERT_EQ(fused.nodes[0].post_ops.size(), 1u);
  EXPECT_EQ(fused.nodes[0].post_ops[0].eltwise, OpType::kHardSwish);
  ExpectFusedMatches(b.graph(), x, ref::Unary(ReferenceConv(&b, x), HardSwish));

  // ONNX's default HardSigmoid (alpha 0.2) times x is not HardSwish.
  b.graph().nodes[1].attrs.Set("alpha", 0.2f);
  EXPECT_EQ(FusePostOps(b.graph()).nodes.size(), 3u);
}

// The forms torch writes for x * relu6(x + 3) / 6: Relu6 as Relu then Clip
// (or Clip alone), "/ 6" as a Div after the Mul or a Mul by 1/6 before it.
enum class Relu6Form { kDivAfterMul, kSixthBeforeMul, kClipOnlyConstantFirst };

void TorchHardSwish(GraphBuilder* b, Relu6Form form, float three = 3.f) {
  Scalar(b, "three", three);
  Scalar(b, "six", 6.f);
  Scalar(b, "sixth", 1.f / 6.f);
  Scalar(b, "zero", 0.f);
  const bool constant_first = form == Relu6Form::kClipOnlyConstantFirst;
  b->Op(OpType::kAdd, "add",
        constant_first ? std::vector<std::string>{"three", "conv"}
                       : std::vector<std::string>{"conv", "three"},
        kY);
  std::string relu6_in = "add";
  if (!constant_first) {
    b->Op(OpType::kRelu, "relu", {"add"}, kY);
    relu6_in = "relu";
  }
  Node& clip = b->Op(OpType::kClip, "relu6", {relu6_in}, kY);
  clip.attrs.Set("min", 0.f);
  clip.attrs.Set("max", 6.f);
  if (form == Relu6Form::kDivAfterMul) {
    b->Op(OpType::kMul, "mul", {"conv", "relu6"}, kY);
    b->Op(OpType::kDiv, "y", {"mul", "six"}, kY);
  } else {
    b->Op(OpType::kMul, "gate", {"sixth", "relu6"}, kY);
    b->Op(OpType::kMul, "y", {"gate", "conv"}, kY);
  }
  b->Output("y");
}

TEST(ActivationFusion, TorchHardSwishFormsBecomeHardSwish) {
  for (Relu6Form form :
       {Relu6Form::kDivAfterMul, Relu6Form::kSixthBeforeMul, Relu6Form::kClipOnlyConstantFirst}) {
    GraphBuilder b;
    Tensor x = ConvInput(&b);
    TorchHardSwish(&b, form);
    const Graph fused = FusePostOps(b.graph());
    ASSERT_EQ(fused.nodes.size(), 1u) << static_cast<int>(form);
    ASSERT_EQ(fused.nodes[0].post_ops.size(), 1u);
    EXPECT_EQ(fused.nodes[0].post_ops[0].eltwise, OpType::kHardSwish);
    EXPECT_EQ(fused.nodes[0].outputs[0], "y");
    EXPECT_EQ(fused.FindValue("relu6"), nullptr);  // intermediates are gone
    ExpectFusedMatches(b.graph(), x, ref::Unary(ReferenceConv(&b, x), HardSwish));
  }
}

TEST(ActivationFusion, TorchHardSwishLookalikesAreLeftAlone) {
  {
    // x * relu6(x + 2) / 6
    GraphBuilder b;
    Tensor x = ConvInput(&b);
    TorchHardSwish(&b, Relu6Form::kDivAfterMul, 2.f);
    const Graph fused = FusePostOps(b.graph());
    EXPECT_GT(fused.nodes.size(), 2u);
    for (const Node& node : fused.nodes) {
      for (const PostOp& op : node.post_ops) EXPECT_NE(op.eltwise, OpType::kHardSwish);
    }
    Tensor expected = ref::Unary(ReferenceConv(&b, x), [](float v) {
      return v * std::min(std::max(v + 2.f, 0.f), 6.f) / 6.f;
    });
    ExpectClose(RunGraph(b.graph(), {&x})[0], expected);
  }
  {
    // The clamp's output is also a graph output.
    GraphBuilder b;
    Tensor x = ConvInput(&b);
    TorchHardSwish(&b, Relu6Form::kSixthBeforeMul);
    b.Output("relu6");
    const Graph fused = FusePostOps(b.graph());
    EXPECT_NE(fused.FindValue("relu6"), nullptr);
    EXPECT_GT(fused.nodes.size(), 2u);
    std::vector<Tensor> out = RunGraph(b.graph(), {&x});
    ASSERT_EQ(out.size(), 2u);
    ExpectClose(out[0], ref::Unary(ReferenceConv(&b, x), HardSwish));
  }
}

// --- INT8 ---

// round(v / s) clamped to the type's range, times s.
Tensor FakeQuant(const Tensor& t, const QuantParams& p) {
  const float lo = p.is_unsigned ? 0.f : -128.f, hi = p.is_unsigned ? 255.f : 127.f;
  return ref::Unary(t, [&](float v) {
    return std::min(std::max(std::nearbyint(v / p.dequant_scale), lo), hi) * p.dequant_scale;
  });
}

// Conv weights and bias as the INT8 path holds them: per-channel s8 weights,
// the bias rounded to accumulator units. Without VNNI, oneDNN's kernels
// halve the weights of a convolution with a signed source (rounding to
// even) and double the output scale (ONEDNN_NOTES.md).
Tensor FakeQuantConv(const Tensor& x, const QuantParams& src, const Tensor& w, const Tensor& bias,
                     const Shape& out, bool seven_bit) {
  WeightQuantOptions options;
  options.seven_bit = seven_bit;
  auto params = PerChannelWeightScales(w, options);
  EXPECT_TRUE(params.ok());
  auto q = QuantizeWeights(w, *params, 0);
  EXPECT_TRUE(q.ok());
  Tensor wq(DType::kF32, w.shape());
  Tensor bq(DType::kF32, bias.shape());
  const int64_t per_channel = w.size() / w.shape()[0];
  const bool halved = !src.is_unsigned && !testing::HasVnni(EffectiveIsaName());
  for (int64_t i = 0; i < w.size(); ++i) {
    const float v = q->data<int8_t>()[i];
    wq.data<float>()[i] =
        (halved ? 2.f * std::nearbyint(v / 2.f) : v) * params->dequant_scales[i / per_channel];
  }
  for (int64_t c = 0; c < bias.size(); ++c) {
    const float unit = src.dequant_scale * params->dequant_scales[c];
    bq.data<float>()[c] = std::nearbyint(bias.data<float>()[c] / unit) * unit;
  }
  return ref::Conv(FakeQuant(x, src), wq, &bq, out, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1);
}

// x -> conv1 -> act -> conv2 -> y, every layer INT8: act runs as conv1's
// post-op on real values and conv1 writes INT8 (signed: SiLU and HardSwish
// go below zero) that conv2 reads. The executor matches a fake-quantised
// reference far more closely than FP32.
TEST(ActivationFusionInt8, ConvActivationConvMatchesFakeQuantisedReference) {
  struct Case {
    const char* name;
    float (*act)(float);
  };
  for (const Case& c : {Case{"silu", Silu}, Case{"hardswish", HardSwish}}) {
    SCOPED_TRACE(c.name);
    GraphBuilder b;
    Tensor x = ConvInput(&b);
    if (std::string(c.name) == "silu") {
      Silu(&b, true);
    } else {
      TorchHardSwish(&b, Relu6Form::kDivAfterMul);
      b.graph().outputs.clear();
    }
    b.Const("w2", b.Random({4, 16, 3, 3}, -0.5f, 0.5f));
    b.Const("bias2", b.Random({4}, -0.2f, 0.2f));
    Node& conv2 = b.Op(OpType::kConv, "conv2", {"y", "w2", "bias2"}, {2, 4, 9, 9});
    conv2.attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    b.Output("conv2");
    const Graph& graph = b.graph();

    ExecutorOptions options;
    options.quant = AllInt8(graph, MinMaxParams(graph, {&x}));
    const Graph fused = FusePostOps(graph);
    auto plan = PlanPrecision(fused, options.quant, {});
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    const QuantParams* y_params = plan->Int8Value("y");
    ASSERT_NE(y_params, nullptr);         // conv1 hands "y" to conv2 in INT8...
    EXPECT_FALSE(y_params->is_unsigned);  // ...as s8
    auto model = CompiledModel::Compile(graph, options);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    std::vector<Tensor> out = (*model)->MakeOutputs();
    ASSERT_TRUE((*model)->Run({&x}, &out).ok());
    for (const StepInfo& step : (*model)->steps()) {
      EXPECT_TRUE(step.kind == "convolution" || step.kind == "reorder") << step.kind;
    }

    const bool seven_bit = options.quant.seven_bit == SevenBitWeights::kAll;
    const QuantParams& x_params = plan->source_params.at("conv");
    Tensor y = FakeQuant(ref::Unary(FakeQuantConv(x, x_params, graph.constants.at("w"),
                                                  graph.constants.at("bias"), kY, seven_bit),
                                    c.act),
                         *y_params);
    Tensor expected = FakeQuantConv(y, *y_params, graph.constants.at("w2"),
                                    graph.constants.at("bias2"), {2, 4, 9, 9}, seven_bit);
    Tensor fp32 = RunGraph(graph, {&x})[0];
    const double to_reference = RelativeError(out[0], expected);
    const double to_fp32 = RelativeError(out[0], fp32);
    std::printf("%s: relative error vs fake-quantised %.5f, vs FP32 %.5f\n", c.name, to_reference,
                to_fp32);
    EXPECT_LT(to_reference, 0.003);
    EXPECT_GT(to_fp32, 1e-4);
  }
}

// Most of conv1's outputs negative: SiLU's output lies in [-0.28, 0], so a
// u8 destination (or a post-op on quantised values) would lose everything.
TEST(ActivationFusionInt8, NegativeSiluSurvivesQuantisation) {
  GraphBuilder b;
  Tensor x = b.Input("x", kX);
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = std::fabs(x.data<float>()[i]);
  b.Const("w", b.Random({16, 8, 3, 3}, -0.5f, 0.1f));
  b.Const("bias", b.Random({16}, -0.5f, 0.f));
  Node& conv = b.Op(OpType::kConv, "conv", {"x", "w", "bias"}, kY);
  conv.attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Silu(&b, false);
  b.Const("w2", b.Random({4, 16, 1, 1}, -0.5f, 0.5f));
  b.Op(OpType::kConv, "conv2", {"y", "w2"}, {2, 4, 9, 9});
  b.Output("conv2");
  ExecutorOptions options;
  options.quant = AllInt8(b.graph(), MinMaxParams(b.graph(), {&x}));
  auto model = CompiledModel::Compile(b.graph(), options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<Tensor> out = (*model)->MakeOutputs();
  ASSERT_TRUE((*model)->Run({&x}, &out).ok());
  const double error = RelativeError(out[0], RunGraph(b.graph(), {&x})[0]);
  std::printf("relative error vs FP32: %.5f\n", error);
  EXPECT_LT(error, 0.05);
}

}  // namespace
}  // namespace mixq
