// engine/ops/reduce.cc and runtime/lower/reduce.cc: the reductions and
// arg-reductions against naive references on random data of ranks 1-5,
// random axis sets (negative, empty, as an input) and keepdims on and off:
// through the executor on float32 runtime data (host kernels, and global
// pooling on the producer's layout for spatial means and maxima) and
// through constant folding on int64 data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/ops/op_def.h"
#include "engine/passes/specialize.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/reference_ops.h"

namespace mixq {
namespace {

using testing::ExpectClose;
using testing::GraphBuilder;
using testing::SpecializeAndRun;

const OpType kReductions[] = {OpType::kReduceMean, OpType::kReduceSum,      OpType::kReduceMax,
                              OpType::kReduceMin,  OpType::kReduceProd,     OpType::kReduceL1,
                              OpType::kReduceL2,   OpType::kReduceSumSquare};

// Naive reduction in double: each input element goes into its output
// element. `axes` non-negative; the result has x's dtype.
Tensor RefReduce(OpType op, const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  Shape kept = x.shape();
  for (int64_t a : axes) kept[a] = 1;
  const int64_t outputs = NumElements(kept);
  const double init = op == OpType::kReduceMax    ? -std::numeric_limits<double>::infinity()
                      : op == OpType::kReduceMin  ? std::numeric_limits<double>::infinity()
                      : op == OpType::kReduceProd ? 1.0
                                                  : 0.0;
  std::vector<double> acc(outputs, init);
  const std::vector<int64_t> x_strides = ref::Strides(x.shape());
  const std::vector<int64_t> y_strides = ref::Strides(kept);
  for (int64_t i = 0; i < x.size(); ++i) {
    int64_t o = 0;
    for (size_t d = 0; d < x.shape().size(); ++d) {
      o += kept[d] == 1 ? 0 : (i / x_strides[d]) % x.shape()[d] * y_strides[d];
    }
    const double v = x.FloatAt(i);
    switch (op) {
      case OpType::kReduceMax:
        acc[o] = std::max(acc[o], v);
        break;
      case OpType::kReduceMin:
        acc[o] = std::min(acc[o], v);
        break;
      case OpType::kReduceProd:
        acc[o] *= v;
        break;
      case OpType::kReduceL1:
        acc[o] += std::fabs(v);
        break;
      case OpType::kReduceL2:
      case OpType::kReduceSumSquare:
        acc[o] += v * v;
        break;
      default:
        acc[o] += v;
    }
  }
  const int64_t count = outputs ? x.size() / outputs : 0;
  Shape y_shape;
  for (size_t d = 0; d < kept.size(); ++d) {
    if (keepdims || std::find(axes.begin(), axes.end(), static_cast<int64_t>(d)) == axes.end()) {
      y_shape.push_back(kept[d]);
    }
  }
  Tensor y(x.dtype(), y_shape);
  for (int64_t o = 0; o < outputs; ++o) {
    double v = acc[o];
    if (op == OpType::kReduceMean) v /= static_cast<double>(count);
    if (op == OpType::kReduceL2) v = std::sqrt(v);
    if (IsFloatingPoint(x.dtype())) {
      y.SetFromDouble(o, v);
    } else {
      y.SetFromInt(o, static_cast<int64_t>(v));  // truncation, as integer division
    }
  }
  return y;
}

// The index of the first (or last) extreme element along `axis`.
Tensor RefArg(bool is_max, const Tensor& x, int64_t axis, bool keepdims, bool last) {
  Shape y_shape = x.shape();
  const int64_t n = y_shape[axis];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= y_shape[d];
  for (size_t d = axis + 1; d < y_shape.size(); ++d) inner *= y_shape[d];
  if (keepdims) {
    y_shape[axis] = 1;
  } else {
    y_shape.erase(y_shape.begin() + axis);
  }
  Tensor y(DType::kI64, y_shape);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = 0;
      for (int64_t r = 0; r < n; ++r) {
        const double v = x.FloatAt((o * n + r) * inner + i);
        const double b = x.FloatAt((o * n + best) * inner + i);
        if (is_max ? (v > b || (last && v == b)) : (v < b || (last && v == b))) best = r;
      }
      y.data<int64_t>()[o * inner + i] = best;
    }
  }
  return y;
}

struct ReduceCase {
  Shape shape;
  std::vector<int64_t> axes;     // as written in the node, possibly negative or empty
  std::vector<int64_t> reduced;  // what they mean: non-negative
  bool keepdims = true;
  bool noop_with_empty_axes = false;
};

// A random shape of rank 1-5 (dims 1-4) and a random subset of its axes,
// each spelled negative half of the time.
ReduceCase RandomCase(std::mt19937* rng) {
  ReduceCase c;
  const int rank = std::uniform_int_distribution<int>(1, 5)(*rng);
  for (int d = 0; d < rank; ++d) c.shape.push_back(std::uniform_int_distribution<int>(1, 4)(*rng));
  for (int d = 0; d < rank; ++d) {
    if ((*rng)() % 2) {
      c.reduced.push_back(d);
      c.axes.push_back((*rng)() % 2 ? d - rank : d);
    }
  }
  std::shuffle(c.axes.begin(), c.axes.end(), *rng);
  c.keepdims = (*rng)() % 2;
  if (c.axes.empty()) {
    c.noop_with_empty_axes = (*rng)() % 2;
    if (!c.noop_with_empty_axes) {
      for (int d = 0; d < rank; ++d) c.reduced.push_back(d);
    }
  }
  return c;
}

std::string Describe(OpType op, const ReduceCase& c) {
  return std::string(OpTypeName(op)) + " of " + ShapeToString(c.shape) + " over " +
         ShapeToString(c.axes) + (c.keepdims ? " keepdims" : "") +
         (c.noop_with_empty_axes ? " noop_with_empty_axes" : "");
}

// y = op(x) for a graph input x; axes as an attribute, or as a constant
// int64 input (the opset 18 form) when `axes_input`.
Node& AddReduce(GraphBuilder* b, OpType op, const ReduceCase& c, bool axes_input) {
  std::vector<std::string> inputs = {"x"};
  if (axes_input) {
    Tensor axes(DType::kI64, {static_cast<int64_t>(c.axes.size())});
    for (size_t i = 0; i < c.axes.size(); ++i) axes.SetFromInt(i, c.axes[i]);
    b->Const("axes", std::move(axes));
    b->graph().values["axes"].dtype = DType::kI64;
    inputs.push_back("axes");
  }
  Node& node = b->Op(op, "y", inputs, {});
  if (!axes_input && !c.axes.empty()) node.attrs.Set("axes", c.axes);
  node.attrs.Set("keepdims", int64_t{c.keepdims});
  node.attrs.Set("noop_with_empty_axes", int64_t{c.noop_with_empty_axes});
  b->Output("y");
  return node;
}

TEST(ReduceOps, MatchTheReferenceThroughTheExecutor) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 60; ++trial) {
    const ReduceCase c = RandomCase(&rng);
    for (OpType op : kReductions) {
      GraphBuilder b;
      Tensor x = b.Input("x", c.shape);
      AddReduce(&b, op, c, trial % 2 == 1);
      SCOPED_TRACE(Describe(op, c));
      std::vector<Tensor> got = SpecializeAndRun(b.graph(), {{"x", c.shape}}, {&x});
      ASSERT_EQ(got.size(), 1u);
      ExpectClose(got[0], RefReduce(op, x, c.reduced, c.keepdims), 1e-5f);
    }
  }
}

TEST(ReduceOps, FoldInt64DataExactly) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 40; ++trial) {
    const ReduceCase c = RandomCase(&rng);
    for (OpType op : kReductions) {
      // Products of up to 1024 factors stay exact with factors -1 and 1;
      // the other reductions see -5..5.
      const int64_t lo = op == OpType::kReduceProd ? -1 : -5;
      const int64_t hi = op == OpType::kReduceProd ? 1 : 5;
      Tensor data(DType::kI64, c.shape);
      for (int64_t i = 0; i < data.size(); ++i) {
        int64_t v = std::uniform_int_distribution<int64_t>(lo, hi)(rng);
        if (op == OpType::kReduceProd && v == 0) v = 1;
        data.SetFromInt(i, v);
      }
      GraphBuilder b;
      b.Input("unused", {1});
      b.Const("data", data);
      b.graph().values["data"].dtype = DType::kI64;
      Node& node = b.Op(op, "y", {"data"}, {});
      if (!c.axes.empty()) node.attrs.Set("axes", c.axes);
      node.attrs.Set("keepdims", int64_t{c.keepdims});
      node.attrs.Set("noop_with_empty_axes", int64_t{c.noop_with_empty_axes});
      b.Output("y");
      auto specialised = Specialize(b.graph(), {{"unused", {1}}});
      ASSERT_TRUE(specialised.ok()) << Describe(op, c) << ": " << specialised.status().message();
      EXPECT_TRUE(specialised->nodes.empty()) << Describe(op, c) << " was not folded";
      ASSERT_TRUE(specialised->IsConstant("y")) << Describe(op, c);
      const Tensor& got = specialised->constants.at("y");
      const Tensor want = RefReduce(op, data, c.reduced, c.keepdims);
      ASSERT_EQ(got.dtype(), DType::kI64) << Describe(op, c);
      ASSERT_EQ(got.shape(), want.shape()) << Describe(op, c);
      for (int64_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got.IntAt(i), want.IntAt(i)) << Describe(op, c) << " element " << i;
      }
    }
  }
}

TEST(ReduceOps, LargeReductionsSplitOverThreadsMatchTheReference) {
  // Shapes that take the whole-tensor split, the row lanes, the inner
  // blocks and the general walk with several threads.
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{300, 1000}, {0, 1}}, {{257, 515}, {1}}, {{64, 200, 33}, {1}}, {{6, 50, 7, 40}, {0, 2}}};
  for (const auto& [shape, axes] : cases) {
    for (OpType op : {OpType::kReduceSum, OpType::kReduceMax, OpType::kReduceL2}) {
      ReduceCase c{shape, axes, axes, false, false};
      GraphBuilder b;
      Tensor x = b.Input("x", shape);
      AddReduce(&b, op, c, false);
      SCOPED_TRACE(Describe(op, c));
      ExecutorOptions options;
      options.threads = 2;
      std::vector<Tensor> got = SpecializeAndRun(b.graph(), {{"x", shape}}, {&x}, options);
      ASSERT_EQ(got.size(), 1u);
      ExpectClose(got[0], RefReduce(op, x, axes, false), 1e-4f);
    }
  }
}

// A 1x1 convolution y = conv(x) with OC output channels: a producer whose
// output oneDNN keeps blocked.
Tensor AddPointwiseConv(GraphBuilder* b, const Tensor& x, int64_t oc) {
  const Tensor& w = b->Const("w", b->Random({oc, x.shape()[1], 1, 1}, -0.5f, 0.5f));
  Shape y_shape = x.shape();
  y_shape[1] = oc;
  Node& conv = b->Op(OpType::kConv, "conv", {"x", "w"}, y_shape);
  conv.attrs.Set("kernel_shape", std::vector<int64_t>{1, 1});
  conv.attrs.Set("strides", std::vector<int64_t>{1, 1});
  conv.attrs.Set("dilations", std::vector<int64_t>{1, 1});
  conv.attrs.Set("pads", std::vector<int64_t>{0, 0, 0, 0});
  conv.attrs.Set("group", int64_t{1});
  return ref::Conv(x, w, nullptr, y_shape, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1);
}

TEST(ReduceOps, SpatialMeanOfABlockedConvOutputPoolsWithoutAReorder) {
  for (OpType op : {OpType::kReduceMean, OpType::kReduceMax}) {
    for (bool keepdims : {true, false}) {
      GraphBuilder b;
      Tensor x = b.Input("x", {2, 8, 9, 7});
      const Tensor conv = AddPointwiseConv(&b, x, 32);
      Node& reduce = b.Op(op, "y", {"conv"}, {});
      reduce.attrs.Set("axes", std::vector<int64_t>{-2, -1});
      reduce.attrs.Set("keepdims", int64_t{keepdims});
      b.Output("y");
      std::vector<std::string> lines;
      std::vector<Tensor> got = SpecializeAndRun(b.graph(), {{"x", x.shape()}}, {&x}, {}, &lines);
      ASSERT_EQ(got.size(), 1u);
      ExpectClose(got[0], RefReduce(op, conv, {2, 3}, keepdims), 1e-5f);
      // The node is one pooling step reading the convolution's output as
      // it is (keepdims=0 adds the reorder of the small [N, C] result).
      int pooling = 0, reorders = 0;
      for (const std::string& l : lines) {
        if (l.rfind("y ", 0) != 0) continue;
        pooling += l.find("pooling") != std::string::npos;
        reorders += l.find("reorder") != std::string::npos;
      }
      EXPECT_EQ(pooling, 1) << ::testing::PrintToString(lines);
      EXPECT_LE(reorders, keepdims ? 0 : 1) << ::testing::PrintToString(lines);
    }
  }
}

TEST(ReduceOps, NoopWithEmptyAxesCopiesAndDuplicateAxesAreRefused) {
  GraphBuilder b;
  Tensor x = b.Input("x", {2, 3});
  ReduceCase c{{2, 3}, {}, {}, true, true};
  AddReduce(&b, OpType::kReduceSum, c, true);
  std::vector<Tensor> got = SpecializeAndRun(b.graph(), {{"x", {2, 3}}}, {&x});
  ASSERT_EQ(got.size(), 1u);
  ExpectClose(got[0], x, 0.f);

  GraphBuilder twice;
  twice.Input("x", {2, 3});
  AddReduce(&twice, OpType::kReduceSum, ReduceCase{{2, 3}, {1, -1}, {1}, true, false}, false);
  auto refused = Specialize(twice.graph(), {{"x", {2, 3}}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("name an axis twice"), std::string::npos)
      << refused.status().message();
}

struct ArgCase {
  Shape shape;
  int64_t axis;
  bool keepdims, last;
};

ArgCase RandomArgCase(std::mt19937* rng) {
  ArgCase c;
  const int rank = std::uniform_int_distribution<int>(1, 4)(*rng);
  for (int d = 0; d < rank; ++d) c.shape.push_back(std::uniform_int_distribution<int>(1, 5)(*rng));
  c.axis = std::uniform_int_distribution<int>(-rank, rank - 1)(*rng);
  c.keepdims = (*rng)() % 2;
  c.last = (*rng)() % 2;
  return c;
}

int64_t PositiveAxis(const ArgCase& c) {
  return c.axis < 0 ? c.axis + static_cast<int64_t>(c.shape.size()) : c.axis;
}

Node& AddArg(GraphBuilder* b, OpType op, const std::string& input, const ArgCase& c) {
  Node& node = b->Op(op, "y", {input}, {});
  node.attrs.Set("axis", c.axis);
  node.attrs.Set("keepdims", int64_t{c.keepdims});
  node.attrs.Set("select_last_index", int64_t{c.last});
  b->Output("y");
  return node;
}

TEST(ArgOps, MatchTheReferenceWithTiesThroughTheExecutor) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 80; ++trial) {
    const ArgCase c = RandomArgCase(&rng);
    const OpType op = trial % 2 ? OpType::kArgMax : OpType::kArgMin;
    GraphBuilder b;
    Tensor x = b.Input("x", c.shape);
    // Few distinct values: ties are common, so first and last index differ.
    for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = static_cast<float>(rng() % 3);
    AddArg(&b, op, "x", c);
    std::vector<Tensor> got = SpecializeAndRun(b.graph(), {{"x", c.shape}}, {&x});
    ASSERT_EQ(got.size(), 1u);
    const Tensor want = RefArg(op == OpType::kArgMax, x, PositiveAxis(c), c.keepdims, c.last);
    // The int64 graph output comes out as float32.
    ASSERT_EQ(got[0].dtype(), DType::kF32);
    ASSERT_EQ(got[0].shape(), want.shape()) << ShapeToString(c.shape) << " axis " << c.axis;
    for (int64_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[0].data<float>()[i], static_cast<float>(want.IntAt(i)))
          << OpTypeName(op) << " of " << ShapeToString(c.shape) << " axis " << c.axis
          << (c.last ? " last" : " first") << ", element " << i;
    }
  }
}

TEST(ArgOps, FoldInt64Data) {
  std::mt19937 rng(9);
  for (int trial = 0; trial < 40; ++trial) {
    const ArgCase c = RandomArgCase(&rng);
    const OpType op = trial % 2 ? OpType::kArgMax : OpType::kArgMin;
    Tensor data(DType::kI64, c.shape);
    for (int64_t i = 0; i < data.size(); ++i) data.SetFromInt(i, static_cast<int64_t>(rng() % 4));
    GraphBuilder b;
    b.Input("unused", {1});
    b.Const("data", data);
    b.graph().values["data"].dtype = DType::kI64;
    AddArg(&b, op, "data", c);
    auto specialised = Specialize(b.graph(), {{"unused", {1}}});
    ASSERT_TRUE(specialised.ok()) << specialised.status().message();
    ASSERT_TRUE(specialised->IsConstant("y"));
    const Tensor& got = specialised->constants.at("y");
    const Tensor want = RefArg(op == OpType::kArgMax, data, PositiveAxis(c), c.keepdims, c.last);
    ASSERT_EQ(got.shape(), want.shape());
    for (int64_t i = 0; i < want.size(); ++i) EXPECT_EQ(got.IntAt(i), want.IntAt(i));
  }
}

}  // namespace
}  // namespace mixq
