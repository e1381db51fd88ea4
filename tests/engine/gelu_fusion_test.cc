// engine/passes/gelu_fusion.cc: GELU written out in elementary ops, in the
// orderings exporters emit, becomes one Gelu node at specialisation; the
// fused graph computes what the unfused one does (run as built, without
// specialising), and near misses are left alone.
#include "engine/passes/gelu_fusion.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "tests/engine/elementwise_test_util.h"

namespace mixq::testing {
namespace {

const Shape kShape = {2, 3, 8};

// Builds a pattern on input x of kShape: every op's output has x's shape,
// every constant is a one-element tensor.
class Pattern {
 public:
  Pattern() {
    g_.Input("x", kShape);
    x_ = g_.Random(kShape, -4.f, 4.f);
  }
  std::string Scalar(float v) {
    Tensor t(DType::kF32, {1});
    t.data<float>()[0] = v;
    const std::string name = "c" + std::to_string(next_++);
    g_.Const(name, t);
    return name;
  }
  std::string Op(OpType op, std::vector<std::string> inputs) {
    const std::string name = std::string(OpTypeName(op)) + "_" + std::to_string(next_++);
    g_.Op(op, name, std::move(inputs), kShape);
    return name;
  }
  // The last op's output is the graph output.
  void Output(const std::string& y) { g_.Output(y); }
  const Graph& graph() { return g_.graph(); }
  const Tensor& x() const { return x_; }

 private:
  GraphBuilder g_;
  Tensor x_;
  int next_ = 0;
};

double GeluErf(double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }
double GeluTanh(double v) {
  return 0.5 * v * (1 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
}

// How the 0.5 and x multiply a = 1 + Erf(...) or 1 + Tanh(...).
enum class Tail { kTimesXThenHalf, kHalfXTimesA, kHalfATimesX };

std::string AddTail(Pattern* p, const std::string& a, Tail tail) {
  switch (tail) {
    case Tail::kTimesXThenHalf:
      return p->Op(OpType::kMul, {p->Op(OpType::kMul, {"x", a}), p->Scalar(0.5f)});
    case Tail::kHalfXTimesA:
      return p->Op(OpType::kMul, {p->Op(OpType::kMul, {p->Scalar(0.5f), "x"}), a});
    default:
      return p->Op(OpType::kMul, {"x", p->Op(OpType::kMul, {a, p->Scalar(0.5f)})});
  }
}

// x * 0.5 * (1 + Erf(x / sqrt2)) with the given divisor (or multiplier),
// one-constant and tail.
std::string ErfGelu(Pattern* p, bool divide, float scale, float one, Tail tail) {
  const std::string scaled = p->Op(divide ? OpType::kDiv : OpType::kMul, {"x", p->Scalar(scale)});
  const std::string erf = p->Op(OpType::kErf, {scaled});
  return AddTail(p, p->Op(OpType::kAdd, {p->Scalar(one), erf}), tail);
}

// 0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3))), x^3 as Pow or
// as two Muls.
std::string TanhGelu(Pattern* p, bool pow, float coefficient, Tail tail) {
  std::string cube;
  if (pow) {
    cube = p->Op(OpType::kPow, {"x", p->Scalar(3.f)});
  } else {
    cube = p->Op(OpType::kMul, {p->Op(OpType::kMul, {"x", "x"}), "x"});
  }
  const std::string inner =
      p->Op(OpType::kAdd, {"x", p->Op(OpType::kMul, {p->Scalar(coefficient), cube})});
  const std::string t =
      p->Op(OpType::kTanh, {p->Op(OpType::kMul, {inner, p->Scalar(0.79788456f)})});
  return AddTail(p, p->Op(OpType::kAdd, {t, p->Scalar(1.f)}), tail);
}

// How the factored tanh form writes 0.044715 * x^2.
enum class Square { kCoefficientTimesXx, kCoefficientXTimesX, kXTimesXCoefficient, kPow };

// 0.5 * x * (1 + Tanh(x * sqrt(2/pi) * (1 + 0.044715 * x^2))): the factored
// ("fast") tanh GELU, the factors in the given order.
std::string FactoredTanhGelu(Pattern* p, Square square, float coefficient, bool scaled_x_first) {
  std::string sq;
  switch (square) {
    case Square::kCoefficientTimesXx:
      sq = p->Op(OpType::kMul, {p->Scalar(coefficient), p->Op(OpType::kMul, {"x", "x"})});
      break;
    case Square::kCoefficientXTimesX:
      sq = p->Op(OpType::kMul, {p->Op(OpType::kMul, {p->Scalar(coefficient), "x"}), "x"});
      break;
    case Square::kXTimesXCoefficient:
      sq = p->Op(OpType::kMul, {"x", p->Op(OpType::kMul, {"x", p->Scalar(coefficient)})});
      break;
    default:
      sq =
          p->Op(OpType::kMul, {p->Op(OpType::kPow, {"x", p->Scalar(2.f)}), p->Scalar(coefficient)});
  }
  const std::string scaled_x = p->Op(OpType::kMul, {"x", p->Scalar(0.7978845608f)});
  const std::string one_plus = p->Op(OpType::kAdd, {p->Scalar(1.f), sq});
  const std::string arg = scaled_x_first ? p->Op(OpType::kMul, {scaled_x, one_plus})
                                         : p->Op(OpType::kMul, {one_plus, scaled_x});
  const std::string t = p->Op(OpType::kTanh, {arg});
  return AddTail(p, p->Op(OpType::kAdd, {t, p->Scalar(1.f)}), Tail::kHalfXTimesA);
}

// Specialises the pattern's graph; checks it became one Gelu node (or was
// left as built) and that the result equals the unfused graph's and the
// reference.
void ExpectFused(Pattern* p, const std::string& y, bool fused, const std::string& approximate,
                 const std::function<double(double)>& reference) {
  p->Output(y);
  RunResult run = SpecializeAndRun(p->graph(), {&p->x()});
  std::vector<Tensor> unfused = RunGraph(p->graph(), {&p->x()});
  ASSERT_EQ(run.outputs.size(), 1u);
  ASSERT_EQ(unfused.size(), 1u);
  if (fused) {
    ASSERT_EQ(run.specialised.nodes.size(), 1u);
    const Node& gelu = run.specialised.nodes[0];
    EXPECT_EQ(gelu.op, OpType::kGelu);
    EXPECT_EQ(gelu.inputs, std::vector<std::string>{"x"});
    EXPECT_EQ(gelu.outputs, std::vector<std::string>{y});
    EXPECT_EQ(gelu.attrs.String("approximate", ""), approximate);
    EXPECT_EQ(run.specialised.constants.size(), 0u) << "the pattern's constants stay behind";
  } else {
    EXPECT_EQ(run.specialised.nodes.size(), p->graph().nodes.size());
  }
  ExpectClose(run.outputs[0], unfused[0], 1e-5f);
  ExpectClose(run.outputs[0],
              ref::Unary(p->x(), [&](float v) { return static_cast<float>(reference(v)); }), 1e-5f);
}

TEST(GeluFusion, ErfFormsBecomeOneGelu) {
  for (Tail tail : {Tail::kTimesXThenHalf, Tail::kHalfXTimesA, Tail::kHalfATimesX}) {
    for (bool divide : {true, false}) {
      SCOPED_TRACE(std::string(divide ? "x / 1.4142" : "x * 0.7071") + ", tail " +
                   std::to_string(static_cast<int>(tail)));
      Pattern p;
      const std::string y = ErfGelu(&p, divide, divide ? 1.4142135f : 0.70710678f, 1.f, tail);
      ExpectFused(&p, y, true, "none", GeluErf);
    }
  }
}

TEST(GeluFusion, TanhFormsBecomeOneGelu) {
  for (Tail tail : {Tail::kTimesXThenHalf, Tail::kHalfXTimesA, Tail::kHalfATimesX}) {
    for (bool pow : {true, false}) {
      SCOPED_TRACE(std::string(pow ? "Pow(x, 3)" : "x * x * x") + ", tail " +
                   std::to_string(static_cast<int>(tail)));
      Pattern p;
      const std::string y = TanhGelu(&p, pow, 0.044715f, tail);
      ExpectFused(&p, y, true, "tanh", GeluTanh);
    }
  }
}

TEST(GeluFusion, FactoredTanhFormsBecomeOneGelu) {
  for (Square square : {Square::kCoefficientTimesXx, Square::kCoefficientXTimesX,
                        Square::kXTimesXCoefficient, Square::kPow}) {
    for (bool scaled_x_first : {true, false}) {
      SCOPED_TRACE("square form " + std::to_string(static_cast<int>(square)) +
                   (scaled_x_first ? ", x * 0.798 first" : ", 1 + ... first"));
      Pattern p;
      const std::string y = FactoredTanhGelu(&p, square, 0.044715f, scaled_x_first);
      ExpectFused(&p, y, true, "tanh", GeluTanh);
    }
  }
}

TEST(GeluFusion, OtherConstantsAreLeftAlone) {
  {
    SCOPED_TRACE("0.6 in place of 0.5");
    Pattern p;
    const std::string scaled = p.Op(OpType::kDiv, {"x", p.Scalar(1.4142135f)});
    const std::string a = p.Op(OpType::kAdd, {p.Op(OpType::kErf, {scaled}), p.Scalar(1.f)});
    const std::string y = p.Op(OpType::kMul, {p.Op(OpType::kMul, {"x", a}), p.Scalar(0.6f)});
    ExpectFused(&p, y, false, "", [](double v) { return 1.2 * GeluErf(v); });
  }
  {
    SCOPED_TRACE("x / 1.5");
    Pattern p;
    const std::string y = ErfGelu(&p, true, 1.5f, 1.f, Tail::kTimesXThenHalf);
    ExpectFused(&p, y, false, "", [](double v) { return 0.5 * v * (1 + std::erf(v / 1.5)); });
  }
  {
    SCOPED_TRACE("2 + Erf");
    Pattern p;
    const std::string y = ErfGelu(&p, true, 1.4142135f, 2.f, Tail::kTimesXThenHalf);
    ExpectFused(&p, y, false, "",
                [](double v) { return 0.5 * v * (2 + std::erf(v / std::sqrt(2.0))); });
  }
  {
    SCOPED_TRACE("factored, 0.05 * x^2");
    Pattern p;
    const std::string y = FactoredTanhGelu(&p, Square::kCoefficientXTimesX, 0.05f, true);
    ExpectFused(&p, y, false, "", [](double v) {
      return 0.5 * v * (1 + std::tanh(0.7978845608028654 * v * (1 + 0.05 * v * v)));
    });
  }
  {
    SCOPED_TRACE("0.05 * x^3");
    Pattern p;
    const std::string y = TanhGelu(&p, true, 0.05f, Tail::kHalfXTimesA);
    ExpectFused(&p, y, false, "", [](double v) {
      return 0.5 * v * (1 + std::tanh(0.7978845608028654 * (v + 0.05 * v * v * v)));
    });
  }
}

TEST(GeluFusion, AnIntermediateUsedElsewhereKeepsThePattern) {
  // a = 1 + Erf(x / sqrt2) is also a graph output: removing it would lose it.
  Pattern p;
  const std::string scaled = p.Op(OpType::kDiv, {"x", p.Scalar(1.4142135f)});
  const std::string a = p.Op(OpType::kAdd, {p.Op(OpType::kErf, {scaled}), p.Scalar(1.f)});
  const std::string y = AddTail(&p, a, Tail::kTimesXThenHalf);
  p.Output(a);
  p.Output(y);
  auto specialised = Specialize(p.graph(), {{"x", kShape}});
  ASSERT_TRUE(specialised.ok()) << specialised.status().ToString();
  Graph graph = *specialised;
  EXPECT_EQ(FuseGelu(&graph), 0);
  EXPECT_EQ(graph.nodes.size(), p.graph().nodes.size());
}

}  // namespace
}  // namespace mixq::testing
