// engine/ops/generate.cc: ConstantOfShape and Range, through their shape
// rules, their host kernels and the executor (a non-float32 graph output is
// converted to float32 by a host step).
#include <gtest/gtest.h>

#include "engine/ops/op_def.h"
#include "engine/passes/shape_inference.h"
#include "engine/passes/specialize.h"
#include "tests/engine/graph_builder.h"

namespace mixq {
namespace {

Tensor Scalar(DType dtype, double v) {
  Tensor t(dtype, {});
  t.SetFromDouble(0, v);
  return t;
}

// Infers `node` (inputs are constants of `graph`) and runs its host kernel.
std::vector<Tensor> Evaluate(Graph* graph, Node node) {
  auto inferred = InferNodeShapes(graph, &node, true);
  EXPECT_TRUE(inferred.ok()) << inferred.status().message();
  std::vector<const Tensor*> inputs;
  for (const std::string& in : node.inputs) inputs.push_back(&graph->constants.at(in));
  std::vector<ValueInfo> infos;
  for (const std::string& out : node.outputs) infos.push_back(graph->values.at(out));
  auto outputs = RunHostKernel(node, inputs, infos, SerialParallelism());
  EXPECT_TRUE(outputs.ok()) << outputs.status().message();
  return outputs.ok() ? std::move(*outputs) : std::vector<Tensor>{};
}

Node MakeNode(OpType op, std::vector<std::string> inputs) {
  Node node;
  node.name = "n";
  node.op = op;
  node.inputs = std::move(inputs);
  node.outputs = {"y"};
  return node;
}

void AddConstant(Graph* graph, const std::string& name, Tensor t) {
  graph->values[name] = {t.dtype(), t.shape()};
  graph->constants[name] = std::move(t);
}

TEST(RangeOp, CountsByCeilingInBothDirections) {
  struct Case {
    DType dtype;
    double start, limit, delta;
    std::vector<double> want;
  };
  const std::vector<Case> cases = {
      {DType::kI64, 1, 6, 2, {1, 3, 5}},
      {DType::kI32, 10, 4, -3, {10, 7}},
      {DType::kI64, 3, 3, 1, {}},
      {DType::kI64, 5, 1, 1, {}},
      {DType::kF32, 0.5, 2.0, 0.5, {0.5, 1.0, 1.5}},
  };
  for (const Case& c : cases) {
    Graph graph;
    AddConstant(&graph, "s", Scalar(c.dtype, c.start));
    AddConstant(&graph, "l", Scalar(c.dtype, c.limit));
    AddConstant(&graph, "d", Scalar(c.dtype, c.delta));
    std::vector<Tensor> out = Evaluate(&graph, MakeNode(OpType::kRange, {"s", "l", "d"}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].dtype(), c.dtype);
    ASSERT_EQ(out[0].shape(), Shape{static_cast<int64_t>(c.want.size())})
        << c.start << ".." << c.limit << " step " << c.delta;
    for (size_t i = 0; i < c.want.size(); ++i) EXPECT_DOUBLE_EQ(out[0].FloatAt(i), c.want[i]);
  }
}

TEST(RangeOp, ZeroDeltaIsRefusedNamingTheNode) {
  Graph graph;
  graph.source = "m.onnx";
  AddConstant(&graph, "s", Scalar(DType::kI64, 0));
  AddConstant(&graph, "l", Scalar(DType::kI64, 4));
  AddConstant(&graph, "d", Scalar(DType::kI64, 0));
  Node node = MakeNode(OpType::kRange, {"s", "l", "d"});
  auto inferred = InferNodeShapes(&graph, &node, true);
  ASSERT_FALSE(inferred.ok());
  EXPECT_NE(inferred.status().message().find("m.onnx: node 'n' (Range): delta must be non-zero"),
            std::string::npos)
      << inferred.status().message();
}

TEST(ConstantOfShapeOp, FillsTheShapeWithTheValueInItsType) {
  Graph graph;
  Tensor shape(DType::kI64, {3});
  shape.SetFromInt(0, 2);
  shape.SetFromInt(1, 1);
  shape.SetFromInt(2, 3);
  AddConstant(&graph, "shape", shape);
  Node node = MakeNode(OpType::kConstantOfShape, {"shape"});
  node.attrs.Set("value", 7.f);
  node.attrs.Set("value_dtype", static_cast<int64_t>(DType::kI32));
  std::vector<Tensor> out = Evaluate(&graph, node);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dtype(), DType::kI32);
  EXPECT_EQ(out[0].shape(), (Shape{2, 1, 3}));
  for (int64_t i = 0; i < out[0].size(); ++i) EXPECT_EQ(out[0].data<int32_t>()[i], 7);
}

TEST(ConstantOfShapeOp, RuntimeShapeWaitsWhileSymbolicAndFailsWhenConcrete) {
  Graph graph;
  graph.values["shape"] = {DType::kI64, {2}};
  Node node = MakeNode(OpType::kConstantOfShape, {"shape"});
  auto symbolic = InferNodeShapes(&graph, &node, false);
  ASSERT_TRUE(symbolic.ok());
  EXPECT_FALSE(*symbolic);
  auto concrete = InferNodeShapes(&graph, &node, true);
  EXPECT_FALSE(concrete.ok());
}

TEST(HostOutputs, AnIntegerGraphOutputComesOutAsFloat32) {
  // y = Range(2, 11, 3) folds at specialisation; the executor still has to
  // hand the int64 constant out as the float32 graph output.
  testing::GraphBuilder b;
  Tensor x = b.Input("x", {1, 2});
  b.Const("s", Scalar(DType::kI64, 2));
  b.Const("l", Scalar(DType::kI64, 11));
  b.Const("d", Scalar(DType::kI64, 3));
  for (const char* name : {"s", "l", "d"}) b.graph().values[name].dtype = DType::kI64;
  b.Op(OpType::kRange, "y", {"s", "l", "d"}, {3});
  b.graph().values["y"].dtype = DType::kI64;
  b.Op(OpType::kRelu, "r", {"x"}, {1, 2});
  b.Output("y");
  b.Output("r");
  auto specialised = Specialize(b.graph(), {{"x", {1, 2}}});
  ASSERT_TRUE(specialised.ok()) << specialised.status().message();
  std::vector<Tensor> out = testing::RunGraph(*specialised, {&x});
  ASSERT_EQ(out.size(), 2u);
  ASSERT_EQ(out[0].dtype(), DType::kF32);
  ASSERT_EQ(out[0].shape(), Shape{3});
  EXPECT_EQ(out[0].data<float>()[0], 2.f);
  EXPECT_EQ(out[0].data<float>()[1], 5.f);
  EXPECT_EQ(out[0].data<float>()[2], 8.f);
}

}  // namespace
}  // namespace mixq
