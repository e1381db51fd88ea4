// engine/passes/layer_norm_fusion.cc: the LayerNorm torch exports for
// opsets < 17 becomes one LayerNormalization node whose outputs (through the
// executor) match the unfused graph's and a LayerNorm computed here;
// variants that are not a LayerNorm over trailing axes are left alone.
#include "engine/passes/layer_norm_fusion.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/passes/constant_folding.h"
#include "engine/passes/specialize.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/reference_norm.h"

namespace mixq {
namespace {

using testing::ExpectClose;
using testing::GraphBuilder;
using testing::RunGraph;

struct Pattern {
  Shape shape = {2, 5, 16};
  std::vector<int64_t> axes = {-1};  // of both means
  std::vector<int64_t> var_axes;     // of the variance's mean, when it differs
  bool mul_square = false;           // Mul(d, d) instead of Pow(d, 2)
  float exponent = 2.f;
  bool axes_input = false;  // opset 18: axes as a constant input
  bool scale = true, bias = true;
  Shape param_shape;      // of scale and bias; default: the normalised dims
  bool expose_d = false;  // d is also a graph output
  // d / std, d * (numerator / std) as torch writes rsqrt, or
  // Reciprocal(std) * d
  enum class Divide { kDiv, kRsqrt, kReciprocal } divide = Divide::kDiv;
  float numerator = 1.f;      // of kRsqrt
  bool centre_twice = false;  // the division reads a second x - mean (x.var())
};

Tensor Scalar(float v) {
  Tensor t(DType::kF32, {});
  t.data<float>()[0] = v;
  return t;
}

// A ReduceMean of `in` into `out` over `axes` with keepdims=1.
void AddMean(GraphBuilder* b, const Pattern& p, const std::string& in, const std::string& out,
             const std::vector<int64_t>& axes) {
  std::vector<std::string> inputs = {in};
  if (p.axes_input) {
    Tensor t(DType::kI64, {static_cast<int64_t>(axes.size())});
    for (size_t i = 0; i < axes.size(); ++i) t.SetFromInt(i, axes[i]);
    b->Const(out + "_axes", std::move(t));
    b->graph().values[out + "_axes"].dtype = DType::kI64;
    inputs.push_back(out + "_axes");
  }
  Shape shape = p.shape;
  for (int64_t a : axes) shape[a < 0 ? a + static_cast<int64_t>(shape.size()) : a] = 1;
  Node& node = b->Op(OpType::kReduceMean, out, inputs, shape);
  if (!p.axes_input) node.attrs.Set("axes", axes);
  node.attrs.Set("keepdims", int64_t{1});
}

// The decomposed LayerNorm of graph input "x" into output "y", as torch
// writes it; the scale and bias constants are returned through the pointers.
GraphBuilder BuildPattern(const Pattern& p, Tensor* x, Tensor* scale, Tensor* bias) {
  GraphBuilder b;
  *x = b.Input("x", p.shape);
  const Shape& s = p.shape;
  AddMean(&b, p, "x", "mean", p.axes);
  b.Op(OpType::kSub, "d", {"x", "mean"}, s);
  if (p.mul_square) {
    b.Op(OpType::kMul, "sq", {"d", "d"}, s);
  } else {
    b.Const("two", Scalar(p.exponent));
    b.Op(OpType::kPow, "sq", {"d", "two"}, s);
  }
  AddMean(&b, p, "sq", "var", p.var_axes.empty() ? p.axes : p.var_axes);
  const Shape& stats = b.graph().values.at("var").shape;
  b.Const("eps", Scalar(1e-5f));
  b.Op(OpType::kAdd, "var_eps", {"var", "eps"}, stats);
  b.Op(OpType::kSqrt, "std", {"var_eps"}, stats);
  std::string centred = "d";
  if (p.centre_twice) {
    AddMean(&b, p, "x", "mean2", p.axes);
    b.Op(OpType::kSub, "d2", {"x", "mean2"}, s);
    centred = "d2";
  }
  switch (p.divide) {
    case Pattern::Divide::kDiv:
      b.Op(OpType::kDiv, "normed", {centred, "std"}, s);
      break;
    case Pattern::Divide::kRsqrt:
      b.Const("numerator", Scalar(p.numerator));
      b.Op(OpType::kDiv, "inv_std", {"numerator", "std"}, stats);
      b.Op(OpType::kMul, "normed", {centred, "inv_std"}, s);
      break;
    case Pattern::Divide::kReciprocal:
      b.Op(OpType::kReciprocal, "inv_std", {"std"}, stats);
      b.Op(OpType::kMul, "normed", {"inv_std", centred}, s);
      break;
  }
  std::string last = "normed";
  Shape param_shape = p.param_shape;
  if (param_shape.empty()) param_shape = {s.back()};
  if (p.scale) {
    *scale = b.Const("gamma", b.Random(param_shape, 0.5f, 1.5f));
    b.Op(OpType::kMul, "scaled", {"gamma", last}, s);  // the constant first: either order
    last = "scaled";
  }
  if (p.bias) {
    *bias = b.Const("beta", b.Random(param_shape));
    b.Op(OpType::kAdd, "y", {last, "beta"}, s);
    last = "y";
  }
  b.graph().nodes.back().outputs[0] = "y";
  b.graph().values["y"] = {DType::kF32, s};
  b.Output("y");
  if (p.expose_d) b.Output("d");
  return b;
}

// The executor's output for the pattern as built (shape inference
// normalises the reductions' axes, as Specialize() would, without fusing).
std::vector<Tensor> RunUnfused(const Graph& graph, const Tensor& x) {
  Graph unfused = graph;
  Status status = PropagateShapes(&unfused, true);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return status.ok() ? RunGraph(unfused, {&x}) : std::vector<Tensor>{};
}

// Fuses `p` and checks one LayerNormalization over the last `dims` dims
// producing "y", whose executor output matches the unfused graph's and the
// reference.
void ExpectFusedAndRight(const Pattern& p, int64_t dims) {
  Tensor x, scale, bias;
  GraphBuilder b = BuildPattern(p, &x, &scale, &bias);
  Graph& g = b.graph();
  const std::vector<Tensor> unfused = RunUnfused(g, x);
  ASSERT_EQ(unfused.size(), 1u);
  ASSERT_EQ(FuseLayerNorms(&g), 1);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& ln = g.nodes[0];
  EXPECT_EQ(ln.op, OpType::kLayerNormalization);
  EXPECT_EQ(ln.inputs[0], "x");
  EXPECT_EQ(ln.inputs.size(), p.bias ? 3u : 2u);
  EXPECT_EQ(ln.outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(ln.attrs.Int("axis", -1), x.rank() - dims);
  EXPECT_FLOAT_EQ(ln.attrs.Float("epsilon", 0.f), 1e-5f);
  std::vector<Tensor> got = RunGraph(g, {&x});
  ASSERT_EQ(got.size(), 1u);
  ExpectClose(got[0], unfused[0], 1e-5f);
  ExpectClose(got[0],
              ref::LayerNorm(x, x.rank() - dims, p.scale ? &scale : nullptr,
                             p.bias ? &bias : nullptr, 1e-5f),
              1e-4f);
}

TEST(LayerNormFusion, TorchPatternsBecomeOneLayerNormalization) {
  Pattern torch;  // Pow(d, 2), axes attribute, scale and bias
  Pattern mul_square;
  mul_square.mul_square = true;
  mul_square.axes_input = true;
  Pattern two_axes;  // params with leading ones beyond the normalised rank
  two_axes.shape = {2, 3, 4, 6};
  two_axes.axes = {2, -1};
  two_axes.param_shape = {1, 1, 4, 6};
  Pattern no_scale;
  no_scale.scale = false;
  Pattern neither = no_scale;
  neither.bias = false;
  Pattern rsqrt;  // torch.rsqrt: d * (1 / sqrt(v + eps))
  rsqrt.divide = Pattern::Divide::kRsqrt;
  Pattern reciprocal;  // Reciprocal(sqrt(v + eps)) * d
  reciprocal.divide = Pattern::Divide::kReciprocal;
  const std::vector<std::pair<const char*, Pattern>> cases = {
      {"torch", torch},          {"Mul(d, d), axes input", mul_square}, {"two axes", two_axes},
      {"no scale", no_scale},    {"neither scale nor bias", neither},   {"rsqrt", rsqrt},
      {"Reciprocal", reciprocal}};
  for (const auto& [what, p] : cases) {
    SCOPED_TRACE(what);
    ExpectFusedAndRight(p, static_cast<int64_t>(p.axes.size()));
  }
}

// Specialize() turns `p` into one LayerNormalization computing what the
// unfused graph and the reference compute; FuseLayerNorms() alone fuses it
// or not as `fused_alone` says.
void ExpectSpecializeFuses(const Pattern& p, bool fused_alone) {
  Tensor x, scale, bias;
  GraphBuilder b = BuildPattern(p, &x, &scale, &bias);
  Graph alone = b.graph();
  EXPECT_EQ(FuseLayerNorms(&alone), fused_alone ? 1 : 0);
  auto specialised = Specialize(b.graph(), {{"x", p.shape}});
  ASSERT_TRUE(specialised.ok()) << specialised.status().ToString();
  ASSERT_EQ(specialised->nodes.size(), 1u);
  EXPECT_EQ(specialised->nodes[0].op, OpType::kLayerNormalization);
  std::vector<Tensor> got = RunGraph(*specialised, {&x});
  ASSERT_EQ(got.size(), 1u);
  ExpectClose(got[0], RunUnfused(b.graph(), x)[0], 1e-5f);
  ExpectClose(got[0], ref::LayerNorm(x, x.rank() - 1, &scale, &bias, 1e-5f), 1e-4f);
}

TEST(LayerNormFusion, SpecializeFusesThePattern) {
  Pattern p;
  p.axes_input = true;
  ExpectSpecializeFuses(p, true);
}

TEST(LayerNormFusion, SpecializeFusesALayerNormThatCentresXTwice) {
  // torch's x.var(unbiased=False) beside x.mean(): two equal ReduceMeans and
  // Subs, which the pattern alone does not take (d would feed the variance
  // only) and Specialize() merges first.
  Pattern p;
  p.centre_twice = true;
  ExpectSpecializeFuses(p, false);
}

TEST(LayerNormFusion, VariantsThatAreNotALayerNormAreLeftAlone) {
  Pattern middle_axis;  // normalising a non-trailing axis
  middle_axis.axes = {1};
  Pattern cube;  // a different exponent
  cube.exponent = 3.f;
  Pattern mixed_axes;  // the variance over other axes than the mean
  mixed_axes.shape = {2, 3, 4};
  mixed_axes.axes = {-1};
  mixed_axes.var_axes = {1, 2};
  Pattern exposed;  // an intermediate value is needed elsewhere
  exposed.expose_d = true;
  Pattern half_rsqrt;  // d * (2 / std): twice a LayerNorm
  half_rsqrt.divide = Pattern::Divide::kRsqrt;
  half_rsqrt.numerator = 2.f;
  for (const Pattern& p : {middle_axis, cube, mixed_axes, exposed, half_rsqrt}) {
    Tensor x, scale, bias;
    GraphBuilder b = BuildPattern(p, &x, &scale, &bias);
    const size_t nodes = b.graph().nodes.size();
    EXPECT_EQ(FuseLayerNorms(&b.graph()), 0);
    EXPECT_EQ(b.graph().nodes.size(), nodes);
    // Nor does Specialize() fuse them.
    auto specialised = Specialize(b.graph(), {{"x", p.shape}});
    ASSERT_TRUE(specialised.ok()) << specialised.status().ToString();
    for (const Node& n : specialised->nodes) EXPECT_NE(n.op, OpType::kLayerNormalization);
  }
}

TEST(LayerNormFusion, AScaleThatBroadcastsOverOtherAxesStaysAMul) {
  // gamma of [5, 1] scales per row of the normalised [.., 5, 16]: not a
  // LayerNorm parameter, so the LayerNorm is fused without it.
  Pattern p;
  p.param_shape = {5, 1};
  p.bias = false;
  Tensor x, scale, bias;
  GraphBuilder b = BuildPattern(p, &x, &scale, &bias);
  ASSERT_EQ(FuseLayerNorms(&b.graph()), 1);
  ASSERT_EQ(b.graph().nodes.size(), 2u);
  EXPECT_EQ(b.graph().nodes[0].op, OpType::kLayerNormalization);
  EXPECT_EQ(b.graph().nodes[1].op, OpType::kMul);
  std::vector<Tensor> got = RunGraph(b.graph(), {&x});
  Tensor want = ref::LayerNorm(x, x.rank() - 1, nullptr, nullptr, 1e-5f);
  for (int64_t i = 0; i < want.size(); ++i) {
    want.data<float>()[i] *= scale.data<float>()[(i / 16) % 5];
  }
  ExpectClose(got[0], want, 1e-4f);
}

}  // namespace
}  // namespace mixq
