#include "engine/passes/specialize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/onnx/onnx_importer.h"
#include "tests/engine/onnx_test_util.h"

namespace mixq {
namespace {

using testing::AddFloatInitializer;
using testing::AddInput;
using testing::AddInt64Initializer;
using testing::AddIntsAttr;
using testing::AddNode;
using testing::AddOutput;
using testing::NewModel;
using testing::Serialize;

std::vector<OpType> Ops(const Graph& g) {
  std::vector<OpType> ops;
  for (const Node& n : g.nodes) ops.push_back(n.op);
  return ops;
}

// x[N,2,3,3] -> Conv(pad 1) -> x.view(x.size(0), -1) as PyTorch exports it
// -> Gemm. The batch is dynamic, so the Shape chain cannot fold at import.
onnx::ModelProto DynamicFlattenModel() {
  auto model = NewModel(13);
  AddInput(&model, "x", {-1, 2, 3, 3});
  AddFloatInitializer(&model, "w", {4, 2, 3, 3}, std::vector<float>(72, 0.1f));
  AddFloatInitializer(&model, "fc_w", {10, 36}, std::vector<float>(360, 0.01f));
  AddInt64Initializer(&model, "zero", {0});
  model.mutable_graph()->mutable_initializer()->rbegin()->clear_dims();  // a scalar index
  AddInt64Initializer(&model, "minus_one", {-1});
  AddInt64Initializer(&model, "axes", {0});
  auto* conv = AddNode(&model, "Conv", {"x", "w"}, {"c"}, "conv");
  AddIntsAttr(conv, "pads", {1, 1, 1, 1});
  AddNode(&model, "Shape", {"c"}, {"s"});
  auto* gather = AddNode(&model, "Gather", {"s", "zero"}, {"n"});
  testing::AddIntAttr(gather, "axis", 0);
  AddNode(&model, "Unsqueeze", {"n", "axes"}, {"n1"});
  auto* concat = AddNode(&model, "Concat", {"n1", "minus_one"}, {"shape"});
  testing::AddIntAttr(concat, "axis", 0);
  AddNode(&model, "Reshape", {"c", "shape"}, {"flat"}, "flatten");
  auto* fc = AddNode(&model, "Gemm", {"flat", "fc_w"}, {"y"}, "fc");
  testing::AddIntAttr(fc, "transB", 1);
  AddOutput(&model, "y", {-1, 10});
  return model;
}

TEST(Specialize, FoldsShapeChainForEachBatch) {
  auto graph = ImportOnnxFromBytes(Serialize(DynamicFlattenModel()), "flatten.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  // Imported: the chain is still there (its value depends on the batch).
  EXPECT_EQ(graph->nodes.size(), 7u);
  for (int64_t batch : {1, 16}) {
    auto g = SpecializeForBatch(*graph, batch);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(Ops(*g), (std::vector<OpType>{OpType::kConv, OpType::kReshape, OpType::kGemm}));
    const Node& reshape = g->nodes[1];
    EXPECT_EQ(reshape.name, "flatten");
    EXPECT_EQ(reshape.inputs, (std::vector<std::string>{"c"}));
    EXPECT_EQ(reshape.attrs.Ints("shape"), (Shape{batch, 36}));
    EXPECT_EQ(g->values.at("y").shape, (Shape{batch, 10}));
    EXPECT_EQ(g->values.at("c").shape, (Shape{batch, 4, 3, 3}));
    // Shape-only constants are gone; the weights stay.
    EXPECT_EQ(g->constants.count("shape"), 0u);
    EXPECT_EQ(g->constants.count("zero"), 0u);
    EXPECT_EQ(g->constants.count("w"), 1u);
  }
}

TEST(Specialize, IsDeterministic) {
  auto graph = ImportOnnxFromBytes(Serialize(DynamicFlattenModel()), "flatten.onnx");
  ASSERT_TRUE(graph.ok());
  auto a = SpecializeForBatch(*graph, 4);
  auto b = SpecializeForBatch(*graph, 4);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->nodes.size(), b->nodes.size());
  for (size_t i = 0; i < a->nodes.size(); ++i) {
    EXPECT_EQ(a->nodes[i].name, b->nodes[i].name);
    EXPECT_EQ(a->nodes[i].inputs, b->nodes[i].inputs);
    EXPECT_EQ(a->nodes[i].outputs, b->nodes[i].outputs);
    EXPECT_EQ(a->nodes[i].attrs.map(), b->nodes[i].attrs.map());
  }
}

TEST(Specialize, RejectsBadShapes) {
  auto graph = ImportOnnxFromBytes(Serialize(DynamicFlattenModel()), "flatten.onnx");
  ASSERT_TRUE(graph.ok());
  EXPECT_EQ(SpecializeForBatch(*graph, 0).status().code(), StatusCode::kInvalidArgument);
  auto wrong_channels = Specialize(*graph, {{"x", {2, 5, 3, 3}}});
  EXPECT_EQ(wrong_channels.status().code(), StatusCode::kInvalidArgument);
  auto unknown = Specialize(*graph, {{"nope", {1}}});
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("flatten.onnx"), std::string::npos);
  // Bigger spatial dims fit the Conv but not the Gemm after the flatten.
  auto wrong_gemm = Specialize(*graph, {{"x", {2, 2, 5, 5}}});
  EXPECT_EQ(wrong_gemm.status().code(), StatusCode::kInvalidArgument);
}

TEST(Specialize, FoldsBatchNormIntoConv) {
  const std::vector<float> w = {1, 2, 3, 4, 5, 6, 7, 8};  // [2,1,2,2]
  const std::vector<float> b = {0.5f, -1.f};
  const std::vector<float> gamma = {2.f, 0.5f}, beta = {0.1f, 0.2f};
  const std::vector<float> mean = {1.f, -3.f}, var = {4.f, 0.25f};
  const float eps = 1e-3f;
  auto model = NewModel(13);
  AddInput(&model, "x", {-1, 1, 3, 3});
  AddFloatInitializer(&model, "w", {2, 1, 2, 2}, w);
  AddFloatInitializer(&model, "b", {2}, b);
  AddFloatInitializer(&model, "gamma", {2}, gamma);
  AddFloatInitializer(&model, "beta", {2}, beta);
  AddFloatInitializer(&model, "mean", {2}, mean);
  AddFloatInitializer(&model, "var", {2}, var);
  AddNode(&model, "Conv", {"x", "w", "b"}, {"c"}, "conv");
  auto* bn =
      AddNode(&model, "BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"y"}, "bn");
  testing::AddFloatAttr(bn, "epsilon", eps);
  AddOutput(&model, "y", {-1, 2, 2, 2});
  auto graph = ImportOnnxFromBytes(Serialize(model), "bn.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto g = SpecializeForBatch(*graph, 2);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(Ops(*g), (std::vector<OpType>{OpType::kConv}));
  const Node& conv = g->nodes[0];
  EXPECT_EQ(conv.name, "conv");
  EXPECT_EQ(conv.outputs, (std::vector<std::string>{"y"}));
  const Tensor& fw = g->constants.at(conv.inputs[1]);
  const Tensor& fb = g->constants.at(conv.inputs[2]);
  ASSERT_EQ(fw.shape(), (Shape{2, 1, 2, 2}));
  for (int c = 0; c < 2; ++c) {
    const float s = gamma[c] / std::sqrt(var[c] + eps);
    for (int k = 0; k < 4; ++k) EXPECT_FLOAT_EQ(fw.data<float>()[c * 4 + k], w[c * 4 + k] * s);
    EXPECT_FLOAT_EQ(fb.data<float>()[c], (b[c] - mean[c]) * s + beta[c]);
  }
  EXPECT_EQ(g->values.at("y").shape, (Shape{2, 2, 2, 2}));
}

TEST(Specialize, KeepsBatchNormWhenConvOutputIsShared) {
  auto model = NewModel(13);
  AddInput(&model, "x", {1, 1, 3, 3});
  AddFloatInitializer(&model, "w", {2, 1, 2, 2}, std::vector<float>(8, 1.f));
  for (const char* p : {"gamma", "beta", "mean", "var"}) {
    AddFloatInitializer(&model, p, {2}, {1.f, 1.f});
  }
  AddNode(&model, "Conv", {"x", "w"}, {"c"}, "conv");
  AddNode(&model, "BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"bn_out"}, "bn");
  AddNode(&model, "Add", {"c", "bn_out"}, {"y"}, "add");
  AddOutput(&model, "y", {1, 2, 2, 2});
  auto graph = ImportOnnxFromBytes(Serialize(model), "shared.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto g = Specialize(*graph, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(Ops(*g), (std::vector<OpType>{OpType::kConv, OpType::kBatchNorm, OpType::kAdd}));
}

TEST(Specialize, FoldsBatchNormIntoGemmWithTransB) {
  auto model = NewModel(13);
  AddInput(&model, "x", {1, 2});
  AddFloatInitializer(&model, "w", {3, 2}, {1, 2, 3, 4, 5, 6});  // transB: [N=3, K=2]
  AddFloatInitializer(&model, "gamma", {3}, {1.f, 2.f, 3.f});
  AddFloatInitializer(&model, "beta", {3}, {0.f, 1.f, 0.f});
  AddFloatInitializer(&model, "mean", {3}, {1.f, 0.f, -1.f});
  AddFloatInitializer(&model, "var", {3}, {1.f, 1.f, 1.f});
  auto* gemm = AddNode(&model, "Gemm", {"x", "w"}, {"g"}, "fc");
  testing::AddIntAttr(gemm, "transB", 1);
  AddNode(&model, "BatchNormalization", {"g", "gamma", "beta", "mean", "var"}, {"y"}, "bn");
  AddOutput(&model, "y", {1, 3});
  auto graph = ImportOnnxFromBytes(Serialize(model), "gemm_bn.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto g = Specialize(*graph, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(Ops(*g), (std::vector<OpType>{OpType::kGemm}));
  const Tensor& fw = g->constants.at(g->nodes[0].inputs[1]);
  const Tensor& fb = g->constants.at(g->nodes[0].inputs[2]);
  const float gamma[3] = {1, 2, 3}, beta[3] = {0, 1, 0}, mean[3] = {1, 0, -1};
  for (int n = 0; n < 3; ++n) {
    const float s = gamma[n] / std::sqrt(1.f + 1e-5f);
    EXPECT_FLOAT_EQ(fw.data<float>()[n * 2], (n * 2 + 1) * s);
    EXPECT_FLOAT_EQ(fw.data<float>()[n * 2 + 1], (n * 2 + 2) * s);
    EXPECT_FLOAT_EQ(fb.data<float>()[n], beta[n] - mean[n] * s);
  }
}

TEST(Specialize, RemovesIdentityAndDropoutKeepingOutputNames) {
  auto model = NewModel(13);
  AddInput(&model, "x", {2, 3});
  AddFloatInitializer(&model, "ratio", {}, {0.5f});
  AddNode(&model, "Relu", {"x"}, {"r"}, "relu");
  AddNode(&model, "Dropout", {"r", "ratio"}, {"d"}, "drop");
  AddNode(&model, "Sigmoid", {"d"}, {"s"}, "sig");
  AddNode(&model, "Identity", {"s"}, {"y"}, "id");
  AddNode(&model, "Identity", {"x"}, {"x_copy"}, "id_input");
  AddOutput(&model, "y", {2, 3});
  AddOutput(&model, "x_copy", {2, 3});
  auto graph = ImportOnnxFromBytes(Serialize(model), "id.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto g = Specialize(*graph, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(Ops(*g), (std::vector<OpType>{OpType::kRelu, OpType::kSigmoid, OpType::kReshape}));
  EXPECT_EQ(g->nodes[1].inputs, (std::vector<std::string>{"r"}));
  EXPECT_EQ(g->nodes[1].outputs, (std::vector<std::string>{"y"}));  // renamed producer
  // An Identity of a graph input cannot be renamed away: it becomes a copy.
  EXPECT_EQ(g->nodes[2].name, "id_input");
  EXPECT_EQ(g->nodes[2].attrs.Ints("shape"), (Shape{2, 3}));
  EXPECT_EQ(g->outputs, (std::vector<std::string>{"y", "x_copy"}));
  EXPECT_EQ(g->values.count("s"), 0u);
  EXPECT_EQ(g->values.at("y").shape, (Shape{2, 3}));
}

TEST(Specialize, DropsNodesNoOutputNeeds) {
  auto model = NewModel(13);
  AddInput(&model, "x", {2, 3});
  AddNode(&model, "Relu", {"x"}, {"y"}, "used");
  AddNode(&model, "Tanh", {"x"}, {"unused"}, "dead");
  AddOutput(&model, "y", {2, 3});
  auto graph = ImportOnnxFromBytes(Serialize(model), "dead.onnx");
  ASSERT_TRUE(graph.ok());
  auto g = Specialize(*graph, {});
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->nodes.size(), 1u);
  EXPECT_EQ(g->nodes[0].name, "used");
  EXPECT_EQ(g->values.count("unused"), 0u);
}

TEST(Specialize, FoldsConstantArithmeticAndCast) {
  // Clip bounds computed from constants: (6 / 2) cast to float.
  auto model = NewModel(13);
  AddInput(&model, "x", {4});
  AddInt64Initializer(&model, "six", {6});
  AddInt64Initializer(&model, "two", {2});
  AddNode(&model, "Div", {"six", "two"}, {"three"});
  auto* cast = AddNode(&model, "Cast", {"three"}, {"three_f"});
  testing::AddIntAttr(cast, "to", onnx::TensorProto::FLOAT);
  AddNode(&model, "Squeeze", {"three_f"}, {"bound"});
  AddNode(&model, "Clip", {"x", "", "bound"}, {"y"}, "clip");
  AddOutput(&model, "y", {4});
  auto graph = ImportOnnxFromBytes(Serialize(model), "fold.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto g = Specialize(*graph, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(Ops(*g), (std::vector<OpType>{OpType::kClip}));
  EXPECT_EQ(g->nodes[0].attrs.Float("max", 0), 3.f);
  EXPECT_TRUE(std::isinf(g->nodes[0].attrs.Float("min", 0)));
  EXPECT_TRUE(g->constants.empty());
}

TEST(Specialize, EveryValueHasAConcreteShape) {
  auto graph = ImportOnnxFromBytes(Serialize(DynamicFlattenModel()), "flatten.onnx");
  ASSERT_TRUE(graph.ok());
  auto g = SpecializeForBatch(*graph, 3);
  ASSERT_TRUE(g.ok());
  for (const Node& node : g->nodes) {
    for (const auto& names : {node.inputs, node.outputs}) {
      for (const std::string& v : names) {
        if (v.empty()) continue;
        const ValueInfo* info = g->FindValue(v);
        ASSERT_NE(info, nullptr) << v;
        for (int64_t d : info->shape) EXPECT_GE(d, 0) << v;
      }
    }
  }
}

}  // namespace
}  // namespace mixq
