// engine/ops/unary.cc: the unary math ops against plain <cmath> references,
// on float32 runtime data through the executor (oneDNN eltwise where oneDNN
// has the op, the host kernel otherwise) and folded on constants (int64 for
// the ops ONNX admits integers to, float32 and float64 for the others).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "engine/onnx/onnx_importer.h"
#include "tests/engine/elementwise_test_util.h"
#include "tests/engine/onnx_test_util.h"

namespace mixq::testing {
namespace {

double GeluErf(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double GeluTanh(double x) {
  return 0.5 * x *
         (1 + std::tanh(0.7978845608028654 /* sqrt(2 / pi) */ * (x + 0.044715 * x * x * x)));
}

struct UnaryCase {
  OpType op;
  std::function<double(double)> f;
  float lo = -3.f, hi = 3.f;  // input range
  std::string kind;           // the step that runs it: "eltwise" (oneDNN) or "host"
  Attributes attrs;
};

Attributes With(const std::string& name, AttrValue value, Attributes attrs = {}) {
  attrs.Set(name, std::move(value));
  return attrs;
}

std::vector<UnaryCase> Cases() {
  return {
      {OpType::kAbs, [](double v) { return std::fabs(v); }, -3, 3, "eltwise", {}},
      {OpType::kNeg, [](double v) { return -v; }, -3, 3, "eltwise", {}},
      {OpType::kSqrt, [](double v) { return std::sqrt(v); }, 0, 9, "eltwise", {}},
      {OpType::kReciprocal, [](double v) { return 1 / v; }, 0.2f, 5, "eltwise", {}},
      {OpType::kExp, [](double v) { return std::exp(v); }, -5, 5, "eltwise", {}},
      {OpType::kLog, [](double v) { return std::log(v); }, 0.05f, 20, "eltwise", {}},
      {OpType::kErf, [](double v) { return std::erf(v); }, -3, 3, "host", {}},
      {OpType::kFloor, [](double v) { return std::floor(v); }, -5, 5, "host", {}},
      {OpType::kCeil, [](double v) { return std::ceil(v); }, -5, 5, "host", {}},
      {OpType::kRound, [](double v) { return std::nearbyint(v); }, -5, 5, "eltwise", {}},
      {OpType::kSin, [](double v) { return std::sin(v); }, -7, 7, "host", {}},
      {OpType::kCos, [](double v) { return std::cos(v); }, -7, 7, "host", {}},
      {OpType::kElu, [](double v) { return v < 0 ? 0.75 * std::expm1(v) : v; }, -4, 4, "eltwise",
       With("alpha", 0.75f)},
      {OpType::kSelu, [](double v) { return 1.25 * (v > 0 ? v : 1.5 * std::expm1(v)); }, -4, 4,
       "eltwise", With("gamma", 1.25f, With("alpha", 1.5f))},
      {OpType::kSoftplus, [](double v) { return std::log1p(std::exp(v)); }, -20, 20, "eltwise", {}},
      {OpType::kGelu, GeluErf, -5, 5, "eltwise", {}},
      {OpType::kGelu, GeluTanh, -5, 5, "eltwise", With("approximate", std::string("tanh"))},
  };
}

// Random values in [lo, hi]; for Round also exact halves, which must go to
// the even neighbour (-2.5 -> -2, 0.5 -> 0, 1.5 -> 2).
Tensor InputFor(const UnaryCase& c, GraphBuilder* g, const Shape& shape) {
  Tensor x = g->Random(shape, c.lo, c.hi);
  if (c.op == OpType::kRound) {
    for (int64_t i = 0; i < x.size(); i += 2) x.data<float>()[i] = (i % 21 - 10) * 0.5f;
  }
  return x;
}

TEST(UnaryOps, MatchReferenceOnFloat32RuntimeData) {
  for (const UnaryCase& c : Cases()) {
    SCOPED_TRACE(std::string(OpTypeName(c.op)) + " " + c.attrs.String("approximate", ""));
    GraphBuilder g;
    g.Input("x", {2, 3, 4, 5});
    Tensor x = InputFor(c, &g, {2, 3, 4, 5});
    g.Op(c.op, "y", {"x"}, {2, 3, 4, 5}).attrs = c.attrs;
    g.Output("y");
    RunResult run = SpecializeAndRun(g.graph(), {&x});
    ASSERT_EQ(run.outputs.size(), 1u);
    ExpectClose(run.outputs[0], ref::Unary(x, [&](float v) { return static_cast<float>(c.f(v)); }),
                2e-5f);
    // One step (two for Selu: elu, then the gamma scaling), all of the kind.
    const std::vector<std::string> kinds = StepKinds(run, "y");
    EXPECT_EQ(kinds.size(), c.op == OpType::kSelu ? 2u : 1u);
    for (const std::string& kind : kinds) EXPECT_EQ(kind, c.kind);
  }
}

TEST(UnaryOps, FoldOnFloatConstantsInTheirType) {
  for (DType dtype : {DType::kF32, DType::kF64}) {
    for (const UnaryCase& c : Cases()) {
      SCOPED_TRACE(std::string(OpTypeName(c.op)) + " on " + DTypeName(dtype));
      GraphBuilder g;
      Tensor x32 = InputFor(c, &g, {3, 4});
      Tensor x(dtype, {3, 4});
      for (int64_t i = 0; i < x.size(); ++i) x.SetFromDouble(i, x32.data<float>()[i]);
      AddTypedConst(&g, "x", x);
      g.Op(c.op, "y", {"x"}, {3, 4}).attrs = c.attrs;
      g.Output("y");
      Tensor y = Fold(g.graph(), "y");
      ASSERT_EQ(y.dtype(), dtype);
      ASSERT_EQ(y.shape(), (Shape{3, 4}));
      for (int64_t i = 0; i < y.size(); ++i) {
        const double want = c.f(x.FloatAt(i));
        EXPECT_NEAR(y.FloatAt(i), want,
                    (dtype == DType::kF32 ? 1e-6 : 1e-12) * (1 + std::fabs(want)))
            << "at " << x.FloatAt(i);
      }
    }
  }
}

TEST(UnaryOps, AbsNegAndErfFoldOnInt64Constants) {
  const std::vector<double> values = {-7, 0, 3, -1, 12, -4000000000.0};
  struct Case {
    OpType op;
    std::function<double(double)> f;
  };
  for (const Case& c :
       std::vector<Case>{{OpType::kAbs, [](double v) { return std::fabs(v); }},
                         {OpType::kNeg, [](double v) { return -v; }},
                         {OpType::kErf, [](double v) { return std::trunc(std::erf(v)); }}}) {
    SCOPED_TRACE(OpTypeName(c.op));
    GraphBuilder g;
    AddTypedConst(&g, "x", Values(DType::kI64, {2, 3}, values));
    g.Op(c.op, "y", {"x"}, {2, 3});
    g.Output("y");
    Tensor y = Fold(g.graph(), "y");
    ASSERT_EQ(y.dtype(), DType::kI64);
    for (int64_t i = 0; i < y.size(); ++i) {
      EXPECT_EQ(y.IntAt(i), static_cast<int64_t>(c.f(values[i]))) << values[i];
    }
  }
}

TEST(UnaryOps, TypesOnnxDoesNotAdmitAreRefusedNamingTheNode) {
  GraphBuilder g;
  AddTypedConst(&g, "x", Values(DType::kI64, {2}, {4, 9}));
  g.Op(OpType::kSqrt, "root", {"x"}, {2});
  g.Output("root");
  auto specialised = Specialize(g.graph(), {});
  ASSERT_FALSE(specialised.ok());
  EXPECT_EQ(specialised.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(specialised.status().message().find("node 'root' (Sqrt): input 'x' has type int64"),
            std::string::npos)
      << specialised.status().message();

  GraphBuilder h;
  h.Input("x", {2});
  h.Op(OpType::kGelu, "gelu", {"x"}, {2}).attrs.Set("approximate", std::string("fast"));
  h.Output("gelu");
  auto refused = Specialize(h.graph(), {{"x", {2}}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("approximate 'fast'"), std::string::npos)
      << refused.status().message();
}

TEST(UnaryOps, OnnxImportFillsTheDefaultsOfGeluSeluAndElu) {
  // Gelu is an opset 20 op; without attributes it is the erf form.
  auto model = NewModel(20);
  AddInput(&model, "x", {2, 3});
  AddNode(&model, "Gelu", {"x"}, {"g"}, "gelu");
  AddNode(&model, "Selu", {"g"}, {"s"}, "selu");
  AddNode(&model, "Elu", {"s"}, {"y"}, "elu");
  AddOutput(&model, "y", {2, 3});
  auto graph = ImportOnnxFromBytes(Serialize(model), "m.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  ASSERT_EQ(graph->nodes.size(), 3u);
  EXPECT_EQ(graph->nodes[0].attrs.String("approximate", ""), "none");
  EXPECT_FLOAT_EQ(graph->nodes[1].attrs.Float("alpha", 0.f), 1.6732632f);
  EXPECT_FLOAT_EQ(graph->nodes[1].attrs.Float("gamma", 0.f), 1.0507010f);
  EXPECT_FLOAT_EQ(graph->nodes[2].attrs.Float("alpha", 0.f), 1.f);
}

TEST(UnaryOps, OnnxImportRefusesBroadcastingAlongAnAxis) {
  // Before opset 7, Greater(A, B, broadcast=1, axis=1) aligned B at axis 1.
  auto model = NewModel(6);
  AddInput(&model, "a", {2, 3, 4});
  AddInput(&model, "b", {3});
  auto* node = AddNode(&model, "Greater", {"a", "b"}, {"y"}, "greater");
  AddIntAttr(node, "broadcast", 1);
  AddIntAttr(node, "axis", 1);
  AddOutput(&model, "y", {2, 3, 4});
  auto graph = ImportOnnxFromBytes(Serialize(model), "m.onnx");
  ASSERT_FALSE(graph.ok());
  EXPECT_EQ(graph.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(graph.status().message().find("node 'greater' (Greater): broadcasting along 'axis'"),
            std::string::npos)
      << graph.status().message();
}

}  // namespace
}  // namespace mixq::testing
