// Layers a config asks for in INT8 that the INT8 path cannot run are named
// with the reason in the precision plan (and logged by the executor), not
// skipped silently.
#include <gtest/gtest.h>

#include "engine/quant/precision_plan.h"
#include "tests/engine/graph_builder.h"

namespace mixq {
namespace {

TEST(Int8Fallbacks, ARunTimeMatMulIsNamedWithItsReasonAndAWeightMatMulIsNot) {
  testing::GraphBuilder b;
  b.Input("q", {2, 4});
  b.Input("k", {4, 3});
  b.Const("w", b.Random({3, 5}));
  b.Op(OpType::kMatMul, "attn", {"q", "k"}, {2, 3});
  b.Op(OpType::kMatMul, "proj", {"attn", "w"}, {2, 5});
  b.Output("proj");
  QuantSpec spec;
  spec.layers = {{"attn", Precision::kInt8}, {"proj", Precision::kInt8}};
  spec.activations["attn"] = QuantParams{};
  auto plan = PlanPrecision(b.graph(), spec, {});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_TRUE(plan->IsInt8Node("proj"));
  EXPECT_FALSE(plan->IsInt8Node("attn"));
  ASSERT_EQ(plan->fp32_fallbacks.size(), 1u);
  ASSERT_EQ(plan->fp32_fallbacks.count("attn"), 1u);
  EXPECT_NE(plan->fp32_fallbacks.at("attn").find("both operands are computed at run time"),
            std::string::npos);
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
