// engine/passes/common_subexpressions.cc: a node equal to an earlier one (op,
// inputs, attributes) goes and its readers read the earlier one's output,
// chains of duplicates collapse, and what must stay - other attributes,
// quantizable layers, graph outputs - stays; the merged graph computes what
// the original does.
#include "engine/passes/common_subexpressions.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/engine/graph_builder.h"

namespace mixq {
namespace {

using testing::ExpectClose;
using testing::GraphBuilder;
using testing::RunGraph;

const Shape kShape = {2, 3, 8};

Node& Mean(GraphBuilder* b, const std::string& name, const std::string& in, int64_t axis) {
  Shape shape = kShape;
  shape[axis] = 1;
  Node& node = b->Op(OpType::kReduceMean, name, {in}, shape);
  node.attrs.Set("axes", std::vector<int64_t>{axis});
  node.attrs.Set("keepdims", int64_t{1});
  return node;
}

const Node* FindNode(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

TEST(CommonSubexpressions, EqualNodesMergeAndTheirChainsCollapse) {
  // x - mean(x) twice over (as torch's x.var() beside x.mean()): the second
  // mean equals the first, and once renamed so does the second Sub.
  GraphBuilder b;
  const Tensor x = b.Input("x", kShape);
  Mean(&b, "m1", "x", 2);
  Mean(&b, "m2", "x", 2);
  b.Op(OpType::kSub, "d1", {"x", "m1"}, kShape);
  b.Op(OpType::kSub, "d2", {"x", "m2"}, kShape);
  b.Op(OpType::kMul, "y", {"d1", "d2"}, kShape);
  b.Output("y");
  Graph g = b.graph();
  const std::vector<Tensor> before = RunGraph(g, {&x});

  EXPECT_EQ(MergeCommonSubexpressions(&g), 2);
  ASSERT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(FindNode(g, "m2"), nullptr);
  EXPECT_EQ(FindNode(g, "d2"), nullptr);
  EXPECT_EQ(g.values.count("m2"), 0u);
  EXPECT_EQ(g.values.count("d2"), 0u);
  ASSERT_NE(FindNode(g, "y"), nullptr);
  EXPECT_EQ(FindNode(g, "y")->inputs, (std::vector<std::string>{"d1", "d1"}));
  const std::vector<Tensor> after = RunGraph(g, {&x});
  ASSERT_EQ(after.size(), 1u);
  ExpectClose(after[0], before[0], 1e-6f);
}

TEST(CommonSubexpressions, OtherAttributesOtherInputOrderLayersAndOutputsStay) {
  GraphBuilder b;
  b.Input("x", kShape);
  b.Const("w", b.Random({8, 8}));
  Mean(&b, "over_w", "x", 2);
  Mean(&b, "over_h", "x", 1);  // another axis
  b.Op(OpType::kSub, "a", {"x", "over_w"}, kShape);
  b.Op(OpType::kSub, "b", {"over_w", "x"}, kShape);  // inputs swapped: another value
  b.Op(OpType::kMatMul, "layer1", {"x", "w"}, kShape);
  b.Op(OpType::kMatMul, "layer2", {"x", "w"}, kShape);  // a config entry of its own
  b.Op(OpType::kRelu, "r1", {"x"}, kShape);
  b.Op(OpType::kRelu, "r2", {"x"}, kShape);  // a graph output: its name must stay
  for (const char* out : {"over_h", "a", "b", "layer1", "layer2", "r1", "r2"}) b.Output(out);
  Graph g = b.graph();
  EXPECT_EQ(MergeCommonSubexpressions(&g), 0);
  EXPECT_EQ(g.nodes.size(), b.graph().nodes.size());
}

}  // namespace
}  // namespace mixq
