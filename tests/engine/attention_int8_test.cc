// INT8 MatMul of two run-time tensors (attention's Q.K^T and .V) against
// naive references: the fake-quantised computation (both operands quantised
// per tensor as the precision plan says: A u8 or s8 by its range, B s8),
// which INT8 must match up to float rounding, and the FP32 computation,
// which it must match within the error the scales allow. Also run capped at
// AVX2 (avx2_tests), where u8 x s8 products go through 16-bit sums.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include "engine/passes/fusion.h"
#include "engine/quant/precision_plan.h"
#include "engine/runtime/executor.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/int8_test_util.h"
#include "tests/engine/reference_ops.h"

namespace mixq {
namespace {

using testing::GraphBuilder;
using testing::RunGraph;

Tensor Abs(const Tensor& x) {
  return ref::Unary(x, [](float v) { return std::fabs(v); });
}

Tensor Filled(const Shape& shape, float value) {
  Tensor t(DType::kF32, shape);
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = value;
  return t;
}

// Per element of A.B: the most that rounding A to steps of `sa` and B to
// steps of `sb` can move it, sum_k |a| sb / 2 + |b| sa / 2 + sa sb / 4 (no
// clipping: minmax scales of the same data).
Tensor RoundingBound(const Tensor& a, const Tensor& b, float sa, float sb, const Shape& y) {
  const Tensor ones_a = Filled(a.shape(), 1.f);
  const Tensor ones_b = Filled(b.shape(), 1.f);
  const Tensor abs_a = ref::MatMul(Abs(a), ones_b, y);
  const Tensor abs_b = ref::MatMul(ones_a, Abs(b), y);
  const Tensor both = ref::MatMul(ones_a, ones_b, y);
  Tensor bound(DType::kF32, y);
  for (int64_t i = 0; i < bound.size(); ++i) {
    bound.data<float>()[i] = abs_a.data<float>()[i] * sb / 2 + abs_b.data<float>()[i] * sa / 2 +
                             both.data<float>()[i] * sa * sb / 4;
  }
  return bound;
}

// Float rounding of a product of quantised operands: a few ulps of
// sum_k |a_k b_k| (oneDNN sums integers exactly and scales once; the
// reference sums doubles and rounds once).
Tensor FloatRounding(const Tensor& fa, const Tensor& fb, const Shape& y) {
  Tensor t = ref::MatMul(Abs(fa), Abs(fb), y);
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] *= 8 * FLT_EPSILON;
  return t;
}

void ExpectWithin(const Tensor& actual, const Tensor& expected, const Tensor& tolerance,
                  const std::string& what) {
  ASSERT_EQ(actual.shape(), expected.shape());
  int bad = 0;
  for (int64_t i = 0; i < actual.size() && bad < 5; ++i) {
    const float d = std::fabs(actual.data<float>()[i] - expected.data<float>()[i]);
    if (d > tolerance.data<float>()[i]) {
      ++bad;
      ADD_FAILURE() << what << " element " << i << ": " << actual.data<float>()[i] << " vs "
                    << expected.data<float>()[i] << ", |diff| " << d << " > "
                    << tolerance.data<float>()[i];
    }
  }
}

// The fused graph's precision plan for `spec`, as the executor makes it.
PrecisionPlan PlanOf(const Graph& graph, const QuantSpec& spec) {
  auto plan = PlanPrecision(FusePostOps(graph), spec, {});
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? *plan : PrecisionPlan{};
}

// A run-time x run-time MatMul `mm` of `graph` (inputs a and b as fed)
// checked in INT8 against both references, and its plan: INT8, no fallback,
// A u8 exactly when `a_unsigned`, B s8 with the minmax scale of b over
// 127 levels (63 with 7-bit weights).
void CheckProduct(const Graph& graph, const std::vector<const Tensor*>& feeds, const Tensor& a,
                  const Tensor& b, bool a_unsigned) {
  const Shape y = graph.values.at("mm").shape;
  QuantSpec spec = testing::AllInt8(graph, testing::MinMaxParamsOfRuns(graph, {feeds}));
  const PrecisionPlan plan = PlanOf(graph, spec);
  EXPECT_TRUE(plan.IsInt8Node("mm"));
  EXPECT_TRUE(plan.fp32_fallbacks.empty());
  ASSERT_EQ(plan.source_params.count("mm"), 1u);
  ASSERT_EQ(plan.operand_b_params.count("mm"), 1u);
  const QuantParams pa = plan.source_params.at("mm");
  const QuantParams pb = plan.operand_b_params.at("mm");
  EXPECT_EQ(pa.is_unsigned, a_unsigned);
  EXPECT_FALSE(pb.is_unsigned);
  float max_b = 0;
  for (int64_t i = 0; i < b.size(); ++i) max_b = std::max(max_b, std::fabs(b.data<float>()[i]));
  const bool seven = spec.seven_bit == SevenBitWeights::kAll;
  EXPECT_FLOAT_EQ(pb.dequant_scale, max_b / (seven ? 63.f : 127.f));

  ExecutorOptions options;
  options.quant = spec;
  std::vector<Tensor> out = RunGraph(graph, feeds, options);
  ASSERT_EQ(out.size(), 1u);
  const Tensor fa = testing::FakeQuantize(a, pa);
  const Tensor fb = testing::FakeQuantize(b, pb);
  ExpectWithin(out[0], ref::MatMul(fa, fb, y), FloatRounding(fa, fb, y), "fake-quantised");
  ExpectWithin(out[0], ref::MatMul(a, b, y),
               RoundingBound(a, b, pa.dequant_scale, pb.dequant_scale, y), "fp32");
}

TEST(AttentionInt8, QueryTimesTransposedKeyWithBatchAndHeads) {
  GraphBuilder g;
  const Tensor q = g.Input("q", {2, 4, 16, 8});
  const Tensor k = g.Input("k", {2, 4, 16, 8});
  g.Op(OpType::kTranspose, "kt", {"k"}, {2, 4, 8, 16})
      .attrs.Set("perm", std::vector<int64_t>{0, 1, 3, 2});
  g.Op(OpType::kMatMul, "mm", {"q", "kt"}, {2, 4, 16, 16});
  g.Output("mm");
  CheckProduct(g.graph(), {&q, &k}, q, ref::Transpose(k, {0, 1, 3, 2}), false);
}

TEST(AttentionInt8, SoftmaxTimesValuesReadsTheProbabilitiesAsU8) {
  GraphBuilder g;
  g.Input("s", {2, 4, 16, 16});
  const Tensor s = g.Random({2, 4, 16, 16}, -4.f, 4.f);  // peaked rows
  const Tensor v = g.Input("v", {2, 4, 16, 8});
  g.Op(OpType::kSoftmax, "p", {"s"}, {2, 4, 16, 16}).attrs.Set("axis", int64_t{3});
  g.Op(OpType::kMatMul, "mm", {"p", "v"}, {2, 4, 16, 8});
  g.Output("mm");
  CheckProduct(g.graph(), {&s, &v}, ref::Softmax(s, 3, false), v, true);
}

// softmax(Q.K^T).V with both products INT8: the probabilities go from
// Softmax to the second product as u8 with no quantising reorder between
// them, while the scores stay f32 (Softmax reads f32). Against the
// fake-quantised chain, allowing each probability one u8 step of rounding
// difference (the two softmaxes differ in float rounding). With the second
// product FP32 the probabilities stay f32.
TEST(AttentionInt8, SoftmaxWritesU8ForAnInt8ProductOnly) {
  GraphBuilder g;
  const Tensor q = g.Input("q", {2, 16, 8});
  const Tensor k = g.Input("k", {2, 16, 8});
  const Tensor v = g.Input("v", {2, 16, 8});
  g.Op(OpType::kTranspose, "kt", {"k"}, {2, 8, 16})
      .attrs.Set("perm", std::vector<int64_t>{0, 2, 1});
  g.Op(OpType::kMatMul, "scores", {"q", "kt"}, {2, 16, 16});
  g.Op(OpType::kSoftmax, "p", {"scores"}, {2, 16, 16}).attrs.Set("axis", int64_t{2});
  g.Op(OpType::kMatMul, "mm", {"p", "v"}, {2, 16, 8});
  g.Output("mm");
  const Graph& graph = g.graph();
  QuantSpec spec = testing::AllInt8(graph, testing::MinMaxParamsOfRuns(graph, {{&q, &k, &v}}));
  const PrecisionPlan plan = PlanOf(graph, spec);
  EXPECT_TRUE(plan.IsInt8Node("scores"));
  EXPECT_EQ(plan.Int8Value("scores"), nullptr);
  EXPECT_TRUE(plan.IsInt8Node("p"));
  ASSERT_NE(plan.Int8Value("p"), nullptr);
  const QuantParams pp = *plan.Int8Value("p");
  EXPECT_TRUE(pp.is_unsigned);
  ExecutorOptions options;
  options.quant = spec;
  std::vector<std::string> steps;
  std::vector<Tensor> out = RunGraph(graph, {&q, &k, &v}, options, &steps);
  ASSERT_EQ(out.size(), 1u);
  // The matmul and v's quantisation (a reorder, or with 7-bit B a binary).
  int mm_steps = 0;
  for (const std::string& step : steps) mm_steps += step.rfind("mm  ", 0) == 0;
  EXPECT_EQ(mm_steps, 2);
  // Never oneDNN's reference softmax (its int8 destination below AVX-512).
  for (const std::string& step : steps) {
    if (step.rfind("p  ", 0) == 0) {
      EXPECT_EQ(step.find("ref"), std::string::npos) << step;
    }
  }

  const Tensor fq = testing::FakeQuantize(q, plan.source_params.at("scores"));
  const Tensor fkt =
      testing::FakeQuantize(ref::Transpose(k, {0, 2, 1}), plan.operand_b_params.at("scores"));
  const Tensor fp =
      testing::FakeQuantize(ref::Softmax(ref::MatMul(fq, fkt, {2, 16, 16}), 2, false), pp);
  const Tensor fv = testing::FakeQuantize(v, plan.operand_b_params.at("mm"));
  Tensor tolerance = ref::MatMul(Filled({2, 16, 16}, pp.dequant_scale), Abs(fv), {2, 16, 8});
  const Tensor rounding = FloatRounding(fp, fv, {2, 16, 8});
  for (int64_t i = 0; i < tolerance.size(); ++i) {
    tolerance.data<float>()[i] += rounding.data<float>()[i];
  }
  ExpectWithin(out[0], ref::MatMul(fp, fv, {2, 16, 8}), tolerance, "fake-quantised");

  spec.layers["mm"] = Precision::kFp32;
  const PrecisionPlan fp32 = PlanOf(graph, spec);
  EXPECT_FALSE(fp32.IsInt8Node("p"));
  EXPECT_EQ(fp32.Int8Value("p"), nullptr);
}

TEST(AttentionInt8, BatchDimsBroadcastAndOneDimensionalB) {
  struct Case {
    Shape a, b, y;
  };
  const std::vector<Case> cases = {
      {{2, 1, 4, 16}, {3, 16, 5}, {2, 3, 4, 5}},  // both sides broadcast
      {{3, 4, 16}, {1, 16, 5}, {3, 4, 5}},
      {{4, 16}, {2, 16, 6}, {2, 4, 6}},        // A without batch dims
      {{2, 3, 4, 16}, {16, 5}, {2, 3, 4, 5}},  // B without: A's batch folds into rows
      {{2, 4, 16}, {16}, {2, 4}},              // 1-D B
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(ShapeToString(c.a) + " x " + ShapeToString(c.b));
    GraphBuilder g;
    const Tensor a = g.Input("a", c.a);
    const Tensor b = g.Input("b", c.b);
    g.Op(OpType::kMatMul, "mm", {"a", "b"}, c.y);
    g.Output("mm");
    CheckProduct(g.graph(), {&a, &b}, a, b, false);
  }
}

// softmax(Q.K^T * c + mask).V with both products INT8: within the error the
// scales allow (the scores' rounding bound, through softmax, plus the second
// product's own), and masked keys contribute exactly nothing.
TEST(AttentionInt8, MaskedAttentionBlock) {
  const int64_t n = 2, h = 2, s = 16, d = 8;
  GraphBuilder g;
  const Tensor q = g.Input("q", {n, h, s, d});
  const Tensor k = g.Input("k", {n, h, s, d});
  Tensor v = g.Input("v", {n, h, s, d});
  g.Input("mask", {n, 1, 1, s});
  // Batch 0 sees its first 12 keys, batch 1 its first 7.
  const int64_t seen[] = {12, 7};
  Tensor mask(DType::kF32, {n, 1, 1, s});
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t j = 0; j < s; ++j) mask.data<float>()[b * s + j] = j < seen[b] ? 0.f : -1e4f;
  }
  const float c = 1.f / std::sqrt(static_cast<float>(d));
  g.Const("c", Filled({1}, c));
  g.Op(OpType::kTranspose, "kt", {"k"}, {n, h, d, s})
      .attrs.Set("perm", std::vector<int64_t>{0, 1, 3, 2});
  g.Op(OpType::kMatMul, "scores", {"q", "kt"}, {n, h, s, s});
  g.Op(OpType::kMul, "scaled", {"scores", "c"}, {n, h, s, s});
  g.Op(OpType::kAdd, "masked", {"scaled", "mask"}, {n, h, s, s});
  g.Op(OpType::kSoftmax, "p", {"masked"}, {n, h, s, s}).attrs.Set("axis", int64_t{3});
  g.Op(OpType::kMatMul, "out", {"p", "v"}, {n, h, s, d});
  g.Output("out");
  const Graph& graph = g.graph();
  const std::vector<const Tensor*> feeds = {&q, &k, &v, &mask};
  QuantSpec spec = testing::AllInt8(graph, testing::MinMaxParamsOfRuns(graph, {feeds}));
  const PrecisionPlan plan = PlanOf(graph, spec);
  ASSERT_TRUE(plan.IsInt8Node("scores") && plan.IsInt8Node("out"));
  EXPECT_TRUE(plan.fp32_fallbacks.empty());
  const float sq = plan.source_params.at("scores").dequant_scale;
  const float sk = plan.operand_b_params.at("scores").dequant_scale;
  const float sp = plan.source_params.at("out").dequant_scale;
  const float sv = plan.operand_b_params.at("out").dequant_scale;
  EXPECT_TRUE(plan.source_params.at("out").is_unsigned);

  ExecutorOptions options;
  options.quant = spec;
  auto model = CompiledModel::Compile(graph, options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<Tensor> out = (*model)->MakeOutputs();
  ASSERT_TRUE((*model)->Run(feeds, &out).ok());

  // FP32 reference and the bound: a score moves by at most e (its rounding
  // bound times c), so p_j by at most p_j (exp(2 e_max) - 1) over a row;
  // the second product adds its rounding of p' (clipped at most as far as p
  // moved) and of v.
  const Tensor kt = ref::Transpose(k, {0, 1, 3, 2});
  const Tensor scores = ref::MatMul(q, kt, {n, h, s, s});
  const Tensor e = RoundingBound(q, kt, sq, sk, {n, h, s, s});
  Tensor masked(DType::kF32, {n, h, s, s});
  for (int64_t i = 0; i < masked.size(); ++i) {
    masked.data<float>()[i] =
        scores.data<float>()[i] * c + mask.data<float>()[(i / (h * s * s)) * s + i % s];
  }
  const Tensor p = ref::Softmax(masked, 3, false);
  const Tensor want = ref::MatMul(p, v, {n, h, s, d});
  Tensor tolerance(DType::kF32, {n, h, s, d});
  for (int64_t row = 0; row < n * h * s; ++row) {
    float e_max = 0;
    for (int64_t j = 0; j < s; ++j) e_max = std::max(e_max, e.data<float>()[row * s + j] * c);
    const float g_row = std::expm1(2 * e_max);
    const int64_t head = row / s;
    for (int64_t col = 0; col < d; ++col) {
      double t = 0;
      for (int64_t j = 0; j < s; ++j) {
        const float pj = p.data<float>()[row * s + j];
        const float vj = std::fabs(v.data<float>()[(head * s + j) * d + col]);
        t += 2 * g_row * pj * vj + pj * (1 + g_row) * sv / 2 + vj * sp / 2 + sp * sv / 4;
      }
      tolerance.data<float>()[row * d + col] = static_cast<float>(t);
    }
  }
  ExpectWithin(out[0], want, tolerance, "fp32");
  // Not FP32 in disguise: the scores' and probabilities' rounding shows.
  EXPECT_GT(testing::RelativeError(out[0], want), 1e-4);

  // Masked probabilities quantise to 0: values of masked keys, changed
  // within the calibrated range, change nothing.
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t i = b * h * s * d; i < (b + 1) * h * s * d; ++i) {
      if ((i / d) % s >= seen[b]) v.data<float>()[i] = -v.data<float>()[i];
    }
  }
  std::vector<Tensor> again = (*model)->MakeOutputs();
  ASSERT_TRUE((*model)->Run(feeds, &again).ok());
  for (int64_t i = 0; i < out[0].size(); ++i) {
    ASSERT_EQ(out[0].data<float>()[i], again[0].data<float>()[i]) << "element " << i;
  }
}

// `x` quantised to s8 steps of `scale` within +-`levels` and read back.
Tensor FakeQuantizeSigned(const Tensor& x, float scale, float levels) {
  return ref::Unary(x, [&](float v) {
    return std::min(levels, std::max(-levels, std::nearbyint(v / scale))) * scale;
  });
}

// How many elements of `actual` are off `expected` by more than `tolerance`.
int64_t CountOutside(const Tensor& actual, const Tensor& expected, const Tensor& tolerance) {
  int64_t n = 0;
  for (int64_t i = 0; i < actual.size(); ++i) {
    n +=
        std::fabs(actual.data<float>()[i] - expected.data<float>()[i]) > tolerance.data<float>()[i];
  }
  return n;
}

// A [2, 8, 256] (u8 near its maximum, or s8 over its whole range) times a
// run-time B [2, 256, 8] near its maximum, calibrated on `b` times
// `calibration_factor`, in INT8 with 8- or 7-bit B: the result, and the
// fake-quantised reference with its float-rounding tolerance.
struct SaturatingRun {
  Tensor out, want, tolerance;
};
SaturatingRun RunSaturating(bool signed_a, SevenBitWeights seven, float calibration_factor) {
  GraphBuilder g;
  g.Input("a", {2, 8, 256});
  g.Input("b", {2, 256, 8});
  const Tensor a = signed_a ? g.Random({2, 8, 256}, -1.f, 1.f) : g.Random({2, 8, 256}, 0.9f, 1.f);
  Tensor b = g.Random({2, 256, 8}, 0.9f, 1.f);
  b.data<float>()[0] = -1.f;  // signed
  g.Op(OpType::kMatMul, "mm", {"a", "b"}, {2, 8, 8});
  g.Output("mm");
  const Tensor b_calibration = ref::Unary(b, [&](float v) { return v * calibration_factor; });
  QuantSpec spec =
      testing::AllInt8(g.graph(), testing::MinMaxParamsOfRuns(g.graph(), {{&a, &b_calibration}}));
  spec.seven_bit = seven;
  ExecutorOptions options;
  options.quant = spec;
  SaturatingRun run;
  std::vector<Tensor> out = RunGraph(g.graph(), {&a, &b}, options);
  if (out.size() != 1) return run;
  run.out = out[0];
  const bool seven_bit = seven == SevenBitWeights::kAll;
  const float levels = seven_bit ? 63.f : 127.f;
  const Tensor fa = testing::FakeQuantize(a, spec.activations.at("a"));
  const Tensor fb = FakeQuantizeSigned(b, calibration_factor / levels, levels);
  run.want = ref::MatMul(fa, fb, {2, 8, 8});
  run.tolerance = FloatRounding(fa, fb, {2, 8, 8});
  return run;
}

// Without VNNI, oneDNN's matmul sums pairs of u8 x s8 products in saturating
// s16 (an s8 A is first shifted by 128 into u8): A near its maximum times B
// near its own overflows with 8-bit B, while 7-bit B ([-63, 63]) keeps every
// pair sum exact. With VNNI both are exact.
TEST(AttentionInt8, SevenBitBIsExactWhereEightBitSaturates) {
  const bool vnni = testing::HasVnni(EffectiveIsaName());
  for (bool signed_a : {false, true}) {
    SCOPED_TRACE(signed_a ? "s8 A" : "u8 A");
    const SaturatingRun seven = RunSaturating(signed_a, SevenBitWeights::kAll, 1.f);
    const SaturatingRun eight = RunSaturating(signed_a, SevenBitWeights::kNone, 1.f);
    ASSERT_EQ(seven.out.size(), 128);
    ASSERT_EQ(eight.out.size(), 128);
    std::printf("effective ISA %s, %s A: relative error 8-bit B %.5f, 7-bit B %.5f\n",
                EffectiveIsaName().c_str(), signed_a ? "s8" : "u8",
                testing::RelativeError(eight.out, eight.want),
                testing::RelativeError(seven.out, seven.want));
    EXPECT_EQ(CountOutside(seven.out, seven.want, seven.tolerance), 0);
    if (vnni) {
      EXPECT_EQ(CountOutside(eight.out, eight.want, eight.tolerance), 0);
    } else {
      EXPECT_GT(CountOutside(eight.out, eight.want, eight.tolerance), 64);  // saturated
    }
  }
}

// 7-bit B calibrated on half its run-time range: the values beyond the
// threshold clip at +-63 steps (not +-127, which would saturate again
// without VNNI), on every ISA.
TEST(AttentionInt8, SevenBitBClipsBeyondItsThreshold) {
  for (bool signed_a : {false, true}) {
    SCOPED_TRACE(signed_a ? "s8 A" : "u8 A");
    const SaturatingRun run = RunSaturating(signed_a, SevenBitWeights::kAll, 0.5f);
    ASSERT_EQ(run.out.size(), 128);
    EXPECT_EQ(CountOutside(run.out, run.want, run.tolerance), 0);
  }
}

}  // namespace
}  // namespace mixq
