// Layers a config asks for in INT8 that the INT8 path cannot run are named
// with the reason in the precision plan (and logged by the executor), not
// skipped silently; a MatMul of two run-time tensors is no longer one.
#include <gtest/gtest.h>

#include "engine/quant/precision_plan.h"
#include "tests/engine/graph_builder.h"

namespace mixq {
namespace {

// Attention's products are INT8 layers: B is read as s8 with the threshold
// of its parameters (an unsigned B over [-127, 127], or [-63, 63] with 7-bit
// weights).
TEST(Int8Fallbacks, ARunTimeMatMulIsInt8WithSignedParametersForB) {
  for (SevenBitWeights seven : {SevenBitWeights::kNone, SevenBitWeights::kAll}) {
    testing::GraphBuilder b;
    b.Input("q", {2, 4});
    b.Input("k", {4, 3});
    b.Const("w", b.Random({3, 5}));
    b.Op(OpType::kMatMul, "attn", {"q", "k"}, {2, 3});
    b.Op(OpType::kMatMul, "proj", {"attn", "w"}, {2, 5});
    b.Output("proj");
    QuantSpec spec;
    spec.seven_bit = seven;
    spec.layers = {{"attn", Precision::kInt8}, {"proj", Precision::kInt8}};
    spec.activations["q"] = QuantParams{0.5f / 127, false, 0.5f};
    spec.activations["k"] = QuantParams{2.f / 255, true, 2.f};
    spec.activations["attn"] = QuantParams{};
    auto plan = PlanPrecision(b.graph(), spec, {});
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    EXPECT_TRUE(plan->IsInt8Node("proj"));
    EXPECT_TRUE(plan->IsInt8Node("attn"));
    EXPECT_TRUE(plan->fp32_fallbacks.empty());
    EXPECT_EQ(plan->source_params.at("attn").dequant_scale, 0.5f / 127);
    const QuantParams& k = plan->operand_b_params.at("attn");
    EXPECT_FALSE(k.is_unsigned);
    EXPECT_FLOAT_EQ(k.dequant_scale, 2.f / (seven == SevenBitWeights::kAll ? 63 : 127));
  }
}

TEST(Int8Fallbacks, AConstantATimesARunTimeBIsNamedWithItsReason) {
  testing::GraphBuilder b;
  b.Const("a", b.Random({2, 4}));
  b.Input("k", {4, 3});
  b.Op(OpType::kMatMul, "mm", {"a", "k"}, {2, 3});
  b.Output("mm");
  QuantSpec spec;
  spec.layers = {{"mm", Precision::kInt8}};
  spec.activations["k"] = QuantParams{};
  auto plan = PlanPrecision(b.graph(), spec, {});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_FALSE(plan->IsInt8Node("mm"));
  ASSERT_EQ(plan->fp32_fallbacks.count("mm"), 1u);
  EXPECT_NE(plan->fp32_fallbacks.at("mm").find("A is a constant"), std::string::npos);
}

TEST(Int8Fallbacks, MissingParametersForBAreRefusedNamingTheTensor) {
  testing::GraphBuilder b;
  b.Input("q", {2, 4});
  b.Input("k", {4, 3});
  b.Op(OpType::kMatMul, "attn", {"q", "k"}, {2, 3});
  b.Output("attn");
  QuantSpec spec;
  spec.layers = {{"attn", Precision::kInt8}};
  spec.activations["q"] = QuantParams{};
  auto plan = PlanPrecision(b.graph(), spec, {});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(plan.status().message().find("'k', input B of INT8 layer 'attn'"), std::string::npos)
      << plan.status().message();
}

TEST(Int8Fallbacks, Fp32LayersAreNotFallbacks) {
  testing::GraphBuilder b;
  b.Input("q", {2, 4});
  b.Input("k", {4, 3});
  b.Op(OpType::kMatMul, "attn", {"q", "k"}, {2, 3});
  b.Output("attn");
  QuantSpec spec;
  spec.layers = {{"attn", Precision::kFp32}};
  auto plan = PlanPrecision(b.graph(), spec, {});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_TRUE(plan->fp32_fallbacks.empty());
}

}  // namespace
}  // namespace mixq
