// The shape sub-graphs torch and tf2onnx export around dynamic dims, in
// ONNX models whose batch and spatial dims are symbolic: at import they
// cannot fold; Specialize() to fixed shapes must fold every shape op away
// (leaving only the ops that compute on data) and the model must match a
// reference, for two different input sizes.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "tests/engine/onnx_test_util.h"
#include "tests/engine/op_case.h"

namespace mixq {
namespace {

using testing::AddFloatInitializer;
using testing::AddInput;
using testing::AddInt64Initializer;
using testing::AddIntAttr;
using testing::AddIntsAttr;
using testing::AddNode;
using testing::AddOutput;
using testing::NewModel;

void AddStringAttr(onnx::NodeProto* node, const std::string& name, const std::string& value) {
  auto* attr = node->add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::STRING);
  attr->set_s(value);
}

// A 0-D int64 initializer (Gather with a scalar index drops the dim).
void AddScalarIndex(onnx::ModelProto* model, const std::string& name, int64_t value) {
  AddInt64Initializer(model, name, {value});
  model->mutable_graph()->mutable_initializer()->rbegin()->clear_dims();
}

std::set<OpType> OpsOf(const Graph& g) {
  std::set<OpType> ops;
  for (const Node& node : g.nodes) ops.insert(node.op);
  return ops;
}

// Imports `model` (symbolic dims), specialises it to `shapes` and runs it
// on `inputs`; `left` receives the ops that remain after folding.
std::vector<Tensor> RunSpecialised(const onnx::ModelProto& model,
                                   const std::vector<std::string>& names,
                                   const std::vector<Tensor>& inputs, std::set<OpType>* left) {
  auto graph = ImportOnnxFromBytes(testing::Serialize(model), "chain.onnx");
  EXPECT_TRUE(graph.ok()) << graph.status().ToString();
  if (!graph.ok()) return {};
  EXPECT_EQ(OpsOf(*graph).count(OpType::kShape), 1u) << "the chain must not fold at import";
  std::map<std::string, Shape> shapes;
  std::vector<const Tensor*> feeds;
  for (size_t i = 0; i < names.size(); ++i) {
    shapes[names[i]] = inputs[i].shape();
    feeds.push_back(&inputs[i]);
  }
  auto g = Specialize(*graph, shapes);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (!g.ok()) return {};
  *left = OpsOf(*g);
  return testing::RunGraph(*g, feeds);
}

TEST(ShapeSubgraphs, GatherUnsqueezeConcatReshapeFlattensPatches) {
  // ViT's patch flattening, x.flatten(2).transpose(1, 2), as torch exports
  // it with a dynamic batch and image size.
  auto model = NewModel(13);
  AddInput(&model, "x", {-1, 3, -1, -1});
  AddScalarIndex(&model, "i0", 0);
  AddScalarIndex(&model, "i1", 1);
  AddInt64Initializer(&model, "axes0", {0});
  AddInt64Initializer(&model, "minus_one", {-1});
  AddNode(&model, "Shape", {"x"}, {"s"});
  AddNode(&model, "Gather", {"s", "i0"}, {"n"});
  AddNode(&model, "Gather", {"s", "i1"}, {"c"});
  AddNode(&model, "Unsqueeze", {"n", "axes0"}, {"n1"});
  AddNode(&model, "Unsqueeze", {"c", "axes0"}, {"c1"});
  AddIntAttr(AddNode(&model, "Concat", {"n1", "c1", "minus_one"}, {"target"}), "axis", 0);
  AddNode(&model, "Reshape", {"x", "target"}, {"flat"});
  AddIntsAttr(AddNode(&model, "Transpose", {"flat"}, {"y"}), "perm", {0, 2, 1});
  AddOutput(&model, "y", {-1, -1, 3});
  for (const Shape& shape : {Shape{1, 3, 2, 2}, Shape{2, 3, 4, 5}}) {
    const Tensor x = testing::RandomFloats(shape);
    std::set<OpType> left;
    std::vector<Tensor> y = RunSpecialised(model, {"x"}, {x}, &left);
    EXPECT_EQ(left, (std::set<OpType>{OpType::kReshape, OpType::kTranspose}));
    const int64_t hw = shape[2] * shape[3];
    Tensor want(DType::kF32, {shape[0], hw, 3});
    for (int64_t n = 0; n < shape[0]; ++n) {
      for (int64_t p = 0; p < hw; ++p) {
        for (int64_t c = 0; c < 3; ++c) {
          want.data<float>()[(n * hw + p) * 3 + c] = x.data<float>()[(n * 3 + c) * hw + p];
        }
      }
    }
    ASSERT_EQ(y.size(), 1u);
    testing::ExpectSame(y[0], want, "patches of " + ShapeToString(shape));
  }
}

TEST(ShapeSubgraphs, ReshapeCopiesASymbolicDimBesideTheOneItInfers) {
  // Reshape(x, [0, -1, 3]) on x [N, 6, W], as exporters write attention's
  // head split: at import dim 0 is a copied symbolic dim, not a second -1.
  auto model = NewModel(13);
  AddInput(&model, "x", {-1, 6, -1});
  AddInt64Initializer(&model, "target", {0, -1, 3});
  AddNode(&model, "Reshape", {"x", "target"}, {"y"});
  AddOutput(&model, "y", {-1, -1, 3});
  auto graph = ImportOnnxFromBytes(testing::Serialize(model), "reshape.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  EXPECT_EQ(graph->values.at("y").shape, (Shape{-1, -1, 3}));
  const Tensor x = testing::RandomFloats({2, 6, 4});
  auto g = Specialize(*graph, {{"x", x.shape()}});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->values.at("y").shape, (Shape{2, 8, 3}));
  std::vector<Tensor> y = testing::RunGraph(*g, {&x});
  ASSERT_EQ(y.size(), 1u);
  Tensor want = x;
  want.Reshape({2, 8, 3});
  testing::ExpectSame(y[0], want, "reshaped");
}

// Nearest 2x of NCHW `x` (floor(o / 2) in every transformation the chains
// below use), plus `add` when given.
Tensor Upsample2x(const Tensor& x, const Tensor* add = nullptr) {
  const Shape& s = x.shape();
  Tensor y(DType::kF32, {s[0], s[1], 2 * s[2], 2 * s[3]});
  for (int64_t i = 0; i < y.size(); ++i) {
    const int64_t w = i % y.shape()[3], h = i / y.shape()[3] % y.shape()[2];
    const int64_t nc = i / (y.shape()[2] * y.shape()[3]);
    y.data<float>()[i] =
        x.data<float>()[(nc * s[2] + h / 2) * s[3] + w / 2] + (add ? add->data<float>()[i] : 0.f);
  }
  return y;
}

TEST(ShapeSubgraphs, SliceConcatGivesResizeSizes) {
  // F.interpolate(x, size=(2 * H, 2 * W), mode="nearest") with dynamic
  // dims: sizes = Concat(shape[0:2], shape[2:4] * 2).
  auto model = NewModel(13);
  AddInput(&model, "x", {-1, 2, -1, -1});
  AddInt64Initializer(&model, "zero", {0});
  AddInt64Initializer(&model, "two", {2});
  AddInt64Initializer(&model, "four", {4});
  AddInt64Initializer(&model, "twos", {2, 2});
  AddNode(&model, "Shape", {"x"}, {"s"});
  AddNode(&model, "Slice", {"s", "zero", "two"}, {"nc"});
  AddNode(&model, "Slice", {"s", "two", "four"}, {"hw"});
  AddNode(&model, "Mul", {"hw", "twos"}, {"hw2"});
  AddIntAttr(AddNode(&model, "Concat", {"nc", "hw2"}, {"sizes"}), "axis", 0);
  auto* resize = AddNode(&model, "Resize", {"x", "", "", "sizes"}, {"y"});
  AddStringAttr(resize, "coordinate_transformation_mode", "asymmetric");
  AddStringAttr(resize, "nearest_mode", "floor");
  AddOutput(&model, "y", {-1, 2, -1, -1});
  for (const Shape& shape : {Shape{1, 2, 3, 4}, Shape{3, 2, 5, 2}}) {
    const Tensor x = testing::RandomFloats(shape);
    std::set<OpType> left;
    std::vector<Tensor> y = RunSpecialised(model, {"x"}, {x}, &left);
    EXPECT_EQ(left, std::set<OpType>{OpType::kResize});
    ASSERT_EQ(y.size(), 1u);
    testing::ExpectSame(y[0], Upsample2x(x), "sizes chain for " + ShapeToString(shape));
  }
}

TEST(ShapeSubgraphs, GatherMulCastDivGiveResizeScales) {
  // An FPN top-down step: upsample x to its skip connection's size with
  // scales computed from both shapes, then add the skip.
  auto model = NewModel(13);
  AddInput(&model, "x", {-1, 2, -1, -1});
  AddInput(&model, "skip", {-1, 2, -1, -1});
  AddInt64Initializer(&model, "hw_index", {2, 3});
  AddFloatInitializer(&model, "ones", {2}, {1.f, 1.f});
  AddNode(&model, "Shape", {"x"}, {"sx"});
  AddNode(&model, "Shape", {"skip"}, {"sk"});
  AddNode(&model, "Gather", {"sx", "hw_index"}, {"hw_x"});
  AddNode(&model, "Gather", {"sk", "hw_index"}, {"hw_skip"});
  AddNode(&model, "Mul", {"hw_x", "hw_x"}, {"hw_x_squared"});
  AddIntAttr(AddNode(&model, "Cast", {"hw_skip"}, {"hw_skip_f"}), "to", 1);
  AddIntAttr(AddNode(&model, "Cast", {"hw_x_squared"}, {"hw_x_squared_f"}), "to", 1);
  AddIntAttr(AddNode(&model, "Cast", {"hw_x"}, {"hw_x_f"}), "to", 1);
  // (skip / x^2) * x = skip / x, by way of a Mul and two Divs.
  AddNode(&model, "Div", {"hw_skip_f", "hw_x_squared_f"}, {"per_x"});
  AddNode(&model, "Mul", {"per_x", "hw_x_f"}, {"ratio"});
  AddIntAttr(AddNode(&model, "Concat", {"ones", "ratio"}, {"scales"}), "axis", 0);
  AddNode(&model, "Resize", {"x", "", "scales"}, {"up"});
  AddNode(&model, "Add", {"up", "skip"}, {"y"});
  AddOutput(&model, "y", {-1, 2, -1, -1});
  for (const Shape& shape : {Shape{1, 2, 3, 4}, Shape{2, 2, 4, 4}}) {
    const Tensor x = testing::RandomFloats(shape, 1);
    const Tensor skip = testing::RandomFloats({shape[0], 2, 2 * shape[2], 2 * shape[3]}, 2);
    std::set<OpType> left;
    std::vector<Tensor> y = RunSpecialised(model, {"x", "skip"}, {x, skip}, &left);
    EXPECT_EQ(left, (std::set<OpType>{OpType::kResize, OpType::kAdd}));
    ASSERT_EQ(y.size(), 1u);
    testing::ExpectSame(y[0], Upsample2x(x, &skip), "scales chain for " + ShapeToString(shape));
  }
}

TEST(ShapeSubgraphs, ConstantOfShapeMulExpandsTheClassToken) {
  // ViT: cls_token.expand(x.shape[0], 1, D), concatenated before the
  // patches, and the class token read back at run time (x[:, 0]).
  const int64_t d = 4;
  auto model = NewModel(13);
  AddInput(&model, "x", {-1, -1, d});
  std::vector<float> cls_values = {0.5f, -1.f, 2.f, 3.5f};
  AddFloatInitializer(&model, "cls", {1, 1, d}, cls_values);
  AddInt64Initializer(&model, "rank", {3});
  AddInt64Initializer(&model, "first", {0});
  AddInt64Initializer(&model, "one_one", {1, 1});
  AddScalarIndex(&model, "token0", 0);
  auto* ones = AddNode(&model, "ConstantOfShape", {"rank"}, {"ones"});
  auto* value = ones->add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(onnx::TensorProto::INT64);
  value->mutable_t()->add_dims(1);
  value->mutable_t()->add_int64_data(1);
  AddNode(&model, "Shape", {"x"}, {"s"});
  AddNode(&model, "Gather", {"s", "first"}, {"n"});
  AddIntAttr(AddNode(&model, "Concat", {"n", "one_one"}, {"n11"}), "axis", 0);
  AddNode(&model, "Mul", {"ones", "n11"}, {"target"});
  AddNode(&model, "Expand", {"cls", "target"}, {"cls_n"});
  AddIntAttr(AddNode(&model, "Concat", {"cls_n", "x"}, {"tokens"}), "axis", 1);
  AddIntAttr(AddNode(&model, "Gather", {"tokens", "token0"}, {"y"}), "axis", 1);
  AddOutput(&model, "tokens", {-1, -1, d});
  AddOutput(&model, "y", {-1, d});
  for (const Shape& shape : {Shape{2, 3, d}, Shape{5, 7, d}}) {
    const Tensor x = testing::RandomFloats(shape);
    std::set<OpType> left;
    std::vector<Tensor> out = RunSpecialised(model, {"x"}, {x}, &left);
    // Expand folds (its input and shape are constants); the token concat
    // and the runtime Gather remain.
    EXPECT_EQ(left, (std::set<OpType>{OpType::kConcat, OpType::kGather}));
    ASSERT_EQ(out.size(), 2u);
    const int64_t n = shape[0], t = shape[1];
    Tensor tokens(DType::kF32, {n, t + 1, d});
    Tensor y(DType::kF32, {n, d});
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t k = 0; k < d; ++k) {
        tokens.data<float>()[(i * (t + 1)) * d + k] = cls_values[k];
        y.data<float>()[i * d + k] = cls_values[k];
        for (int64_t j = 0; j < t; ++j) {
          tokens.data<float>()[(i * (t + 1) + j + 1) * d + k] =
              x.data<float>()[(i * t + j) * d + k];
        }
      }
    }
    testing::ExpectSame(out[0], tokens, "tokens for " + ShapeToString(shape));
    testing::ExpectSame(out[1], y, "class token for " + ShapeToString(shape));
  }
}

}  // namespace
}  // namespace mixq
