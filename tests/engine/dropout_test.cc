// Dropout in inference: identity, also in training mode when its ratio is 0
// (torchvision's Swin exports its attention dropout so); a real training-mode
// dropout is refused.
#include <gtest/gtest.h>

#include "engine/passes/specialize.h"
#include "tests/engine/graph_builder.h"

namespace mixq {
namespace {

StatusOr<Graph> DropoutGraph(float ratio) {
  testing::GraphBuilder b;
  b.Input("x", {2, 3});
  Tensor r(DType::kF32, {});
  r.data<float>()[0] = ratio;
  b.Const("ratio", r);
  Tensor mode(DType::kBool, {});
  mode.data<uint8_t>()[0] = 1;
  b.Const("mode", mode);
  b.graph().values["mode"].dtype = DType::kBool;
  b.Op(OpType::kDropout, "d", {"x", "ratio", "mode"}, {2, 3});
  b.Op(OpType::kRelu, "y", {"d"}, {2, 3});
  b.Output("y");
  return Specialize(b.graph(), {{"x", {2, 3}}});
}

TEST(Dropout, TrainingModeWithRatioZeroIsRemovedAsAnIdentity) {
  auto g = DropoutGraph(0.f);
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->nodes.size(), 1u);
  EXPECT_EQ(g->nodes[0].op, OpType::kRelu);
  EXPECT_EQ(g->nodes[0].inputs[0], "x");
}

TEST(Dropout, TrainingModeWithARealRatioIsRefused) {
  auto g = DropoutGraph(0.5f);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("training_mode must be false"), std::string::npos);
}

}  // namespace
}  // namespace mixq
