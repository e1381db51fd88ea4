// Fixed input shapes against a model (engine/passes/input_shapes.h): names
// resolved, shapes checked against the declared ones with one-line errors,
// and a model with symbolic H and W specialised at two sizes, its output
// shapes following (what a reference computes from the convolution's
// arithmetic), while the batch stays each run's.
#include "engine/passes/input_shapes.h"

#include <gtest/gtest.h>

#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "tests/engine/onnx_test_util.h"

namespace mixq {
namespace {

// Inputs x [?,3,?,?] and m [?,4], and "raw" declared with no shape.
Graph TwoInputs() {
  Graph g;
  g.source = "two.onnx";
  g.inputs = {"x", "m", "raw"};
  g.values["x"] = {DType::kF32, {-1, 3, -1, -1}};
  g.values["m"] = {DType::kF32, {-1, 4}};
  return g;
}

TEST(InputShapes, ResolvesTheFirstInputAndNames) {
  const Graph g = TwoInputs();
  StatusOr<InputShapes> r = ResolveInputShapes(g, {{"", {2, 3, 8, 9}}, {"m", {5, 4}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (InputShapes{{"x", {2, 3, 8, 9}}, {"m", {5, 4}}}));
  // An input without a declared shape takes any.
  EXPECT_TRUE(ResolveInputShapes(g, {{"raw", {7}}}).ok());
}

TEST(InputShapes, RefusalsNameTheInputAndBothShapes) {
  const Graph g = TwoInputs();
  EXPECT_EQ(ResolveInputShapes(g, {{"images", {1}}}).status().message(),
            "'images' is not an input of the model (its inputs: 'x', 'm', 'raw')");
  EXPECT_EQ(ResolveInputShapes(g, {{"", {1, 3, 4, 4}}, {"x", {1, 3, 4, 4}}}).status().message(),
            "input 'x' is given twice (by name and as the first input)");
  EXPECT_EQ(ResolveInputShapes(g, {{"", {1, 4, 8, 8}}}).status().message(),
            "input 'x' is declared [?,3,?,?]; the given [1,4,8,8] does not fit (dim 1 is 3)");
  EXPECT_EQ(ResolveInputShapes(g, {{"m", {1, 4, 1}}}).status().message(),
            "input 'm' is declared [?,4]; the given [1,4,1] does not fit (it has 3 dims, the "
            "input 2)");
  EXPECT_EQ(ResolveInputShapes(g, {{"m", {0, 4}}}).status().code(), StatusCode::kInvalidArgument);
  Graph fixed = TwoInputs();
  EXPECT_FALSE(FixInputShapes({{"", {1, 4, 8, 8}}}, &fixed).ok());
  EXPECT_EQ(fixed.values.at("x").shape, (Shape{-1, 3, -1, -1}));  // unchanged on error
}

TEST(InputShapes, FixKeepsSymbolicBatchesAsDeclared) {
  Graph g = TwoInputs();
  ASSERT_TRUE(FixInputShapes({{"", {1, 3, 8, 9}}, {"m", {5, 4}}, {"raw", {2, 2}}}, &g).ok());
  EXPECT_EQ(g.values.at("x").shape, (Shape{-1, 3, 8, 9}));  // dim 0: each run's batch
  // A symbolic dim 0 of another input is the same batch (a text model's
  // attention mask beside its token ids).
  EXPECT_EQ(g.values.at("m").shape, (Shape{-1, 4}));
  EXPECT_EQ(g.values.at("raw").shape, (Shape{2, 2}));  // no declared shape: as given
  EXPECT_EQ(g.values.at("raw").dtype, DType::kF32);
  EXPECT_EQ(GivenBatch(g, {{"", {6, 3, 8, 9}}}), 6);
  EXPECT_EQ(GivenBatch(g, {{"x", {6, 3, 8, 9}}}), 6);
  EXPECT_EQ(GivenBatch(g, {{"m", {5, 4}}}), std::nullopt);
}

// x [N,3,H,W] -> Conv 4x3x3x3, stride 2, pad 1 -> Relu -> y [N,4,?,?].
std::string SymbolicConvModel() {
  auto model = testing::NewModel(13);
  auto* input = model.mutable_graph()->add_input();
  testing::AddValueInfo(input, "x", {-1, 3, -1, -1});
  testing::AddFloatInitializer(&model, "w", {4, 3, 3, 3}, std::vector<float>(108, 0.1f));
  auto* conv = testing::AddNode(&model, "Conv", {"x", "w"}, {"c"}, "conv");
  testing::AddIntsAttr(conv, "pads", {1, 1, 1, 1});
  testing::AddIntsAttr(conv, "strides", {2, 2});
  testing::AddNode(&model, "Relu", {"c"}, {"y"}, "relu");
  testing::AddOutput(&model, "y", {-1, 4, -1, -1});
  return testing::Serialize(model);
}

TEST(InputShapes, SymbolicHeightAndWidthSpecialiseAtEachFixedSize) {
  StatusOr<Graph> imported = ImportOnnxFromBytes(SymbolicConvModel(), "sym.onnx");
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  // Without fixed shapes there is nothing to specialise for.
  EXPECT_FALSE(SpecializeForBatch(*imported, 1).ok());
  for (const Shape& hw : {Shape{64, 48}, Shape{31, 17}}) {
    Graph g = *imported;
    ASSERT_TRUE(FixInputShapes({{"", {1, 3, hw[0], hw[1]}}}, &g).ok());
    StatusOr<Graph> specialised = SpecializeForBatch(g, 2);
    ASSERT_TRUE(specialised.ok()) << specialised.status().ToString();
    // (n + 2 * pad - kernel) / stride + 1
    const Shape expected = {2, 4, (hw[0] + 2 - 3) / 2 + 1, (hw[1] + 2 - 3) / 2 + 1};
    EXPECT_EQ(specialised->FindValue("y")->shape, expected);
  }
}

}  // namespace
}  // namespace mixq
