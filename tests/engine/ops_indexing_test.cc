// engine/ops/indexing.cc: Mod and ScatterND host kernels and shape rules.
#include <gtest/gtest.h>

#include "engine/ops/op_def.h"
#include "engine/passes/shape_inference.h"

namespace mixq {
namespace {

Tensor Ints(const Shape& shape, const std::vector<int64_t>& values) {
  Tensor t(DType::kI64, shape);
  for (size_t i = 0; i < values.size(); ++i) t.SetFromInt(static_cast<int64_t>(i), values[i]);
  return t;
}

struct Built {
  Graph graph;
  Node node;
};

Built Make(OpType op, const std::vector<std::pair<std::string, Tensor>>& inputs) {
  Built b;
  b.graph.source = "m.onnx";
  b.node.name = "n";
  b.node.op = op;
  b.node.outputs = {"y"};
  for (const auto& [name, t] : inputs) {
    b.graph.values[name] = {t.dtype(), t.shape()};
    b.graph.constants[name] = t;
    b.node.inputs.push_back(name);
  }
  return b;
}

StatusOr<Tensor> Evaluate(Built* b) {
  MIXQ_ASSIGN_OR_RETURN(bool inferred, InferNodeShapes(&b->graph, &b->node, true));
  if (!inferred) return Internal("not inferred");
  std::vector<const Tensor*> in;
  for (const std::string& name : b->node.inputs) in.push_back(&b->graph.constants.at(name));
  MIXQ_ASSIGN_OR_RETURN(std::vector<Tensor> out,
                        RunHostKernel(b->node, in, {b->graph.values.at("y")}, SerialParallelism()));
  return std::move(out[0]);
}

TEST(ModOp, IntegerModTakesTheDivisorsSignAndFmodTheDividends) {
  const std::vector<int64_t> a = {7, -7, 7, -7, 6};
  const std::vector<int64_t> b = {3, 3, -3, -3, 3};
  Built python = Make(OpType::kMod, {{"a", Ints({5}, a)}, {"b", Ints({5}, b)}});
  auto y = Evaluate(&python);
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(y->ToInt64Vector(), (std::vector<int64_t>{1, 2, -2, -1, 0}));
  Built c = Make(OpType::kMod, {{"a", Ints({5}, a)}, {"b", Ints({5}, b)}});
  c.node.attrs.Set("fmod", int64_t{1});
  auto z = Evaluate(&c);
  ASSERT_TRUE(z.ok()) << z.status().message();
  EXPECT_EQ(z->ToInt64Vector(), (std::vector<int64_t>{1, -1, 1, -1, 0}));
}

TEST(ModOp, BroadcastsAndRefusesZeroDivisors) {
  Built b = Make(OpType::kMod, {{"a", Ints({2, 2}, {5, 6, 7, 8})}, {"b", Ints({2}, {4, 5})}});
  auto y = Evaluate(&b);
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(y->shape(), (Shape{2, 2}));
  EXPECT_EQ(y->ToInt64Vector(), (std::vector<int64_t>{1, 1, 3, 3}));
  Built zero = Make(OpType::kMod, {{"a", Ints({2}, {5, 6})}, {"b", Ints({1}, {0})}});
  EXPECT_FALSE(Evaluate(&zero).ok());
}

TEST(ModOp, FloatNeedsFmod) {
  Tensor f(DType::kF32, {1});
  Built b = Make(OpType::kMod, {{"a", f}, {"b", f}});
  auto y = Evaluate(&b);
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("fmod must be 1"), std::string::npos);
}

TEST(ScatterNDOp, WritesSlicesAtIndicesIncludingNegativeOnes) {
  // data [3,2]; indices [[0],[-1]] replace rows 0 and 2.
  Built b = Make(OpType::kScatterND, {{"data", Ints({3, 2}, {1, 2, 3, 4, 5, 6})},
                                      {"indices", Ints({2, 1}, {0, -1})},
                                      {"updates", Ints({2, 2}, {10, 20, 30, 40})}});
  auto y = Evaluate(&b);
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(y->ToInt64Vector(), (std::vector<int64_t>{10, 20, 3, 4, 30, 40}));
}

TEST(ScatterNDOp, AddReductionAccumulatesDuplicates) {
  Built b = Make(OpType::kScatterND, {{"data", Ints({2, 2}, {1, 1, 1, 1})},
                                      {"indices", Ints({2, 2}, {0, 1, 0, 1})},
                                      {"updates", Ints({2}, {5, 7})}});
  b.node.attrs.Set("reduction", std::string("add"));
  auto y = Evaluate(&b);
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(y->ToInt64Vector(), (std::vector<int64_t>{1, 13, 1, 1}));
}

TEST(ScatterNDOp, OutOfRangeIndexAndWrongUpdatesShapeAreErrors) {
  Built range = Make(
      OpType::kScatterND,
      {{"data", Ints({2}, {1, 2})}, {"indices", Ints({1, 1}, {2})}, {"updates", Ints({1}, {9})}});
  EXPECT_FALSE(Evaluate(&range).ok());
  Built shape = Make(OpType::kScatterND, {{"data", Ints({2, 2}, {1, 2, 3, 4})},
                                          {"indices", Ints({1, 1}, {0})},
                                          {"updates", Ints({3}, {9, 9, 9})}});
  auto y = Evaluate(&shape);
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("(ScatterND): updates [3] should be [1,2]"),
            std::string::npos)
      << y.status().message();
}

}  // namespace
}  // namespace mixq
