// engine/ops/logic.cc: comparisons, And/Or/Not and Where against a naive
// reference. At run time their bool values live between host steps (a
// comparison of float32 inputs feeds Not/And/Or/Where) and bool graph
// outputs come out as float32 0 and 1; on constants they fold (int64 and
// bool inputs).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/engine/elementwise_test_util.h"

namespace mixq::testing {
namespace {

struct CompareCase {
  OpType op;
  BroadcastFn f;
};

std::vector<CompareCase> Comparisons() {
  return {
      {OpType::kEqual, [](const std::vector<double>& v) { return v[0] == v[1]; }},
      {OpType::kGreater, [](const std::vector<double>& v) { return v[0] > v[1]; }},
      {OpType::kGreaterOrEqual, [](const std::vector<double>& v) { return v[0] >= v[1]; }},
      {OpType::kLess, [](const std::vector<double>& v) { return v[0] < v[1]; }},
      {OpType::kLessOrEqual, [](const std::vector<double>& v) { return v[0] <= v[1]; }},
  };
}

// Values from a small set, so that equal pairs are common.
Tensor Coarse(GraphBuilder* g, const Shape& shape) {
  Tensor t = g->Random(shape, -2.f, 2.f);
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = std::round(t.data<float>()[i]);
  return t;
}

TEST(LogicOps, ComparisonsOnFloat32RuntimeDataWithBroadcasting) {
  for (const CompareCase& c : Comparisons()) {
    SCOPED_TRACE(OpTypeName(c.op));
    GraphBuilder g;
    g.Input("a", {2, 3, 4});
    g.Input("b", {3, 1});
    const Tensor a = Coarse(&g, {2, 3, 4});
    const Tensor b = Coarse(&g, {3, 1});
    const Tensor k = g.Const("k", Coarse(&g, {4}));
    g.Op(c.op, "ab", {"a", "b"}, {2, 3, 4});
    g.Op(c.op, "kb", {"k", "b"}, {3, 4});
    g.Output("ab");
    g.Output("kb");
    RunResult run = SpecializeAndRun(g.graph(), {&a, &b});
    ASSERT_EQ(run.outputs.size(), 2u);
    ExpectClose(run.outputs[0], BroadcastReference({&a, &b}, {2, 3, 4}, DType::kF32, c.f), 0.f);
    ExpectClose(run.outputs[1], BroadcastReference({&k, &b}, {3, 4}, DType::kF32, c.f), 0.f);
    EXPECT_TRUE(RunsOn(run, "ab", "host"));
  }
}

TEST(LogicOps, BoolValuesFlowBetweenHostStepsIntoWhere) {
  // p = a > 0, q = b < 0.2 (b broadcast), then And, Or, Not and
  // y = Where(Not(And(p, q)), a, z) with z broadcast along another axis.
  GraphBuilder g;
  g.Input("a", {2, 3, 4});
  g.Input("b", {3, 1});
  g.Input("z", {4});
  const Tensor a = g.Random({2, 3, 4});
  const Tensor b = g.Random({3, 1});
  const Tensor z = g.Random({4});
  Tensor zero(DType::kF32, {});
  Tensor fifth(DType::kF32, {1});
  fifth.data<float>()[0] = 0.2f;
  g.Const("zero", zero);
  g.Const("fifth", fifth);
  g.Op(OpType::kGreater, "p", {"a", "zero"}, {2, 3, 4});
  g.Op(OpType::kLess, "q", {"b", "fifth"}, {3, 1});
  g.Op(OpType::kAnd, "and", {"p", "q"}, {2, 3, 4});
  g.Op(OpType::kOr, "or", {"p", "q"}, {2, 3, 4});
  g.Op(OpType::kNot, "not", {"and"}, {2, 3, 4});
  g.Op(OpType::kWhere, "y", {"not", "a", "z"}, {2, 3, 4});
  for (const char* out : {"and", "or", "not", "y"}) g.Output(out);
  RunResult run = SpecializeAndRun(g.graph(), {&a, &b, &z});
  ASSERT_EQ(run.outputs.size(), 4u);
  auto p = [](double v) { return v > 0; };
  auto q = [](double v) { return v < 0.2f; };
  const Shape s = {2, 3, 4};
  ExpectClose(run.outputs[0],
              BroadcastReference({&a, &b}, s, DType::kF32,
                                 [&](const std::vector<double>& v) { return p(v[0]) && q(v[1]); }),
              0.f);
  ExpectClose(run.outputs[1],
              BroadcastReference({&a, &b}, s, DType::kF32,
                                 [&](const std::vector<double>& v) { return p(v[0]) || q(v[1]); }),
              0.f);
  ExpectClose(
      run.outputs[2],
      BroadcastReference({&a, &b}, s, DType::kF32,
                         [&](const std::vector<double>& v) { return !(p(v[0]) && q(v[1])); }),
      0.f);
  ExpectClose(run.outputs[3],
              BroadcastReference({&a, &b, &z}, s, DType::kF32,
                                 [&](const std::vector<double>& v) {
                                   return !(p(v[0]) && q(v[1])) ? v[0] : v[2];
                                 }),
              0.f);
}

TEST(LogicOps, WhereBroadcastsAllThreeOperands) {
  // condition [3,1], X [1,4], Y [2,1,1]: the output is [2,3,4].
  GraphBuilder g;
  g.Input("x", {1, 4});
  g.Input("y", {2, 1, 1});
  const Tensor x = g.Random({1, 4});
  const Tensor y = g.Random({2, 1, 1});
  const Tensor cond = Values(DType::kBool, {3, 1}, {1, 0, 1});
  AddTypedConst(&g, "cond", cond);
  g.Op(OpType::kWhere, "w", {"cond", "x", "y"}, {2, 3, 4});
  g.Output("w");
  RunResult run = SpecializeAndRun(g.graph(), {&x, &y});
  ASSERT_EQ(run.outputs.size(), 1u);
  ExpectClose(run.outputs[0],
              BroadcastReference({&cond, &x, &y}, {2, 3, 4}, DType::kF32,
                                 [](const std::vector<double>& v) { return v[0] ? v[1] : v[2]; }),
              0.f);
}

TEST(LogicOps, WhereWalksLongRowsOfAnAttentionMaskBroadcast) {
  // masked_fill of attention scores: condition [2,1,1,40] (a padding mask)
  // over scores [2,4,57,40], Y a scalar; and a row-broadcast X [57,1]. Rows
  // of 40 elements go by fixed steps (1, or 0 for X), and with two threads a chunk
  // (16384 elements) ends inside a row.
  const Shape out = {2, 4, 57, 40};
  for (int threads : {1, 2}) {
    SCOPED_TRACE(std::to_string(threads) + " thread(s)");
    GraphBuilder g;
    g.Input("scores", out);
    g.Input("column", {57, 1});
    const Tensor scores = g.Random(out);
    const Tensor column = g.Random({57, 1});
    std::vector<double> mask(80);
    for (size_t i = 0; i < mask.size(); ++i) mask[i] = (i % 40) < (i < 40 ? 40u : 23u);
    const Tensor cond = Values(DType::kBool, {2, 1, 1, 40}, mask);
    AddTypedConst(&g, "cond", cond);
    const Tensor fill = Values(DType::kF32, {}, {-1e4});
    AddTypedConst(&g, "fill", fill);
    g.Op(OpType::kWhere, "masked", {"cond", "scores", "fill"}, out);
    g.Op(OpType::kWhere, "rows", {"cond", "column", "scores"}, out);
    g.Output("masked");
    g.Output("rows");
    ExecutorOptions options;
    options.threads = threads;
    RunResult run = SpecializeAndRun(g.graph(), {&scores, &column}, options);
    ASSERT_EQ(run.outputs.size(), 2u);
    auto select = [](const std::vector<double>& v) { return v[0] ? v[1] : v[2]; };
    ExpectClose(run.outputs[0],
                BroadcastReference({&cond, &scores, &fill}, out, DType::kF32, select), 0.f);
    ExpectClose(run.outputs[1],
                BroadcastReference({&cond, &column, &scores}, out, DType::kF32, select), 0.f);
  }
}

TEST(LogicOps, FoldOnInt64AndBoolConstants) {
  const Tensor a = Values(DType::kI64, {2, 3}, {5, -1, 7, 0, 3, -1});
  const Tensor b = Values(DType::kI64, {3}, {5, 0, 7});
  for (const CompareCase& c : Comparisons()) {
    SCOPED_TRACE(OpTypeName(c.op));
    GraphBuilder g;
    AddTypedConst(&g, "a", a);
    AddTypedConst(&g, "b", b);
    g.Op(c.op, "y", {"a", "b"}, {2, 3});
    g.Output("y");
    Tensor y = Fold(g.graph(), "y");
    ASSERT_EQ(y.dtype(), DType::kBool);
    ExpectSameValues(y, BroadcastReference({&a, &b}, {2, 3}, DType::kBool, c.f));
  }
  // And, Or, Not on bool constants; Where selecting int64 values.
  const Tensor p = Values(DType::kBool, {2, 2}, {1, 0, 1, 1});
  const Tensor q = Values(DType::kBool, {2}, {0, 1});
  GraphBuilder g;
  AddTypedConst(&g, "p", p);
  AddTypedConst(&g, "q", q);
  AddTypedConst(&g, "a", Values(DType::kI64, {2, 2}, {10, 20, 30, 40}));
  AddTypedConst(&g, "b", Values(DType::kI64, {1}, {-1}));
  g.Op(OpType::kAnd, "and", {"p", "q"}, {2, 2});
  g.Op(OpType::kOr, "or", {"p", "q"}, {2, 2});
  g.Op(OpType::kNot, "not", {"q"}, {2});
  g.Op(OpType::kWhere, "where", {"not", "a", "b"}, {2, 2});
  for (const char* out : {"and", "or", "not", "where"}) g.Output(out);
  ExpectSameValues(Fold(g.graph(), "and"), Values(DType::kBool, {2, 2}, {0, 0, 0, 1}));
  ExpectSameValues(Fold(g.graph(), "or"), Values(DType::kBool, {2, 2}, {1, 1, 1, 1}));
  ExpectSameValues(Fold(g.graph(), "not"), Values(DType::kBool, {2}, {1, 0}));
  Tensor where = Fold(g.graph(), "where");
  ASSERT_EQ(where.dtype(), DType::kI64);
  ExpectSameValues(where, Values(DType::kI64, {2, 2}, {10, -1, 30, -1}));
}

TEST(LogicOps, AndRefusesNonBoolInputs) {
  GraphBuilder g;
  g.Input("x", {2});
  g.Op(OpType::kAnd, "both", {"x", "x"}, {2});
  g.Output("both");
  auto refused = Specialize(g.graph(), {{"x", {2}}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("node 'both' (And): input 'x' has type float32"),
            std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace mixq::testing
