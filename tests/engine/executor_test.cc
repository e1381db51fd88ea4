#include "engine/runtime/executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/passes/fusion.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/reference_ops.h"

namespace mixq {
namespace {

using testing::ExpectClose;
using testing::GraphBuilder;
using testing::RunGraph;

struct ConvCase {
  Shape x;
  int64_t oc;
  std::vector<int64_t> kernel, strides, dilations, pads;
  int64_t group = 1;
  bool bias = true;
};

Shape ConvOutShape(const ConvCase& c) {
  Shape y = {c.x[0], c.oc};
  size_t sp = c.kernel.size();
  for (size_t i = 0; i < sp; ++i) {
    int64_t range = (c.kernel[i] - 1) * c.dilations[i] + 1;
    y.push_back((c.x[i + 2] + c.pads[i] + c.pads[sp + i] - range) / c.strides[i] + 1);
  }
  return y;
}

// Adds Conv `name` reading `input` to the builder; returns the reference output.
Tensor AddConv(GraphBuilder* b, const std::string& name, const std::string& input, const Tensor& x,
               const ConvCase& c) {
  Shape w_shape = {c.oc, c.x[1] / c.group};
  w_shape.insert(w_shape.end(), c.kernel.begin(), c.kernel.end());
  const Tensor& w = b->Const(name + "_w", b->Random(w_shape, -0.5f, 0.5f));
  std::vector<std::string> inputs = {input, name + "_w"};
  const Tensor* bias = nullptr;
  if (c.bias) {
    bias = &b->Const(name + "_b", b->Random({c.oc}));
    inputs.push_back(name + "_b");
  }
  Node& node = b->Op(OpType::kConv, name, inputs, ConvOutShape(c));
  node.attrs.Set("kernel_shape", c.kernel);
  node.attrs.Set("strides", c.strides);
  node.attrs.Set("dilations", c.dilations);
  node.attrs.Set("pads", c.pads);
  node.attrs.Set("group", c.group);
  return ref::Conv(x, w, bias, ConvOutShape(c), c.strides, c.dilations, c.pads, c.group);
}

ConvCase Conv2d(Shape x, int64_t oc, int64_t k, int64_t stride = 1, int64_t pad = 0) {
  return {x, oc, {k, k}, {stride, stride}, {1, 1}, {pad, pad, pad, pad}};
}

TEST(Executor, ConvVariantsMatchReference) {
  std::vector<std::pair<std::string, ConvCase>> cases = {
      {"3x3 pad1", Conv2d({2, 16, 9, 9}, 32, 3, 1, 1)},
      {"stride2", Conv2d({2, 8, 11, 11}, 16, 3, 2, 1)},
      {"1x1 no bias", {{1, 32, 7, 7}, 64, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, false}},
      {"groups", {{2, 16, 8, 8}, 32, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 4}},
      {"depthwise", {{2, 32, 10, 10}, 32, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 32}},
      {"dilation", {{1, 8, 12, 12}, 16, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}}},
      {"asymmetric pads", {{1, 8, 9, 10}, 8, {3, 2}, {1, 2}, {1, 1}, {0, 1, 2, 0}}},
      {"odd channels", Conv2d({1, 3, 15, 15}, 5, 5, 2, 2)},
      {"1-D", {{2, 8, 20}, 16, {3}, {2}, {1}, {1, 2}}},
      {"3-D", {{1, 4, 5, 6, 6}, 8, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}}},
  };
  for (const auto& [label, c] : cases) {
    SCOPED_TRACE(label);
    GraphBuilder b;
    Tensor x = b.Input("x", c.x);
    Tensor want = AddConv(&b, "conv", "x", x, c);
    b.Output("conv");
    std::vector<Tensor> got = RunGraph(b.graph(), {&x});
    ASSERT_EQ(got.size(), 1u);
    ExpectClose(got[0], want);
  }
}

TEST(Executor, ConvDoesNotFallToReferenceImplementation) {
  GraphBuilder b;
  Tensor x = b.Input("x", {2, 64, 14, 14});
  AddConv(&b, "conv3x3", "x", x, Conv2d({2, 64, 14, 14}, 64, 3, 1, 1));
  b.Output("conv3x3");
  std::vector<std::string> lines;
  RunGraph(b.graph(), {&x}, {}, &lines);
  auto it = std::find_if(lines.begin(), lines.end(),
                         [](const std::string& l) { return l.find("conv3x3  convolution") == 0; });
  ASSERT_NE(it, lines.end());
  std::string impl = it->substr(std::string("conv3x3  convolution  ").size());
  EXPECT_NE(impl.rfind("ref", 0), 0u) << *it;
}

TEST(Executor, ConvReluIsFusedAndCorrect) {
  GraphBuilder b;
  Tensor x = b.Input("x", {2, 16, 8, 8});
  Tensor conv = AddConv(&b, "conv", "x", x, Conv2d({2, 16, 8, 8}, 16, 3, 1, 1));
  b.Op(OpType::kRelu, "relu", {"conv"}, conv.shape());
  b.Output("relu");
  Graph fused = FusePostOps(b.graph());
  ASSERT_EQ(fused.nodes.size(), 1u);
  ASSERT_EQ(fused.nodes[0].post_ops.size(), 1u);
  EXPECT_EQ(fused.nodes[0].outputs[0], "relu");
  std::vector<std::string> lines;
  std::vector<Tensor> got = RunGraph(b.graph(), {&x}, {}, &lines);
  ExpectClose(got[0], ref::Relu(conv));
  // Only the input reorder, the conv and the output reorder remain.
  EXPECT_LE(lines.size(), 3u);
}

TEST(Executor, EltwiseNotFusedWhenProducerIsGraphOutput) {
  GraphBuilder b;
  Tensor x = b.Input("x", {1, 8, 6, 6});
  Tensor conv = AddConv(&b, "conv", "x", x, Conv2d({1, 8, 6, 6}, 8, 3, 1, 1));
  b.Op(OpType::kRelu, "relu", {"conv"}, conv.shape());
  b.Output("conv");
  b.Output("relu");
  EXPECT_EQ(FusePostOps(b.graph()).nodes.size(), 2u);
  std::vector<Tensor> got = RunGraph(b.graph(), {&x});
  ExpectClose(got[0], conv);
  ExpectClose(got[1], ref::Relu(conv));
}

TEST(Executor, ResidualAddBecomesSumPostOpWithRelu) {
  // a = conv1(x); c = conv2(a); y = relu(c + a): the Add folds into conv2.
  GraphBuilder b;
  Shape s = {2, 16, 8, 8};
  Tensor x = b.Input("x", s);
  Tensor a = AddConv(&b, "conv1", "x", x, Conv2d(s, 16, 3, 1, 1));
  Tensor c = AddConv(&b, "conv2", "conv1", a, Conv2d(s, 16, 3, 1, 1));
  b.Op(OpType::kAdd, "add", {"conv2", "conv1"}, s);
  b.Op(OpType::kRelu, "relu", {"add"}, s);
  b.Output("relu");
  Graph fused = FusePostOps(b.graph());
  ASSERT_EQ(fused.nodes.size(), 2u);
  const Node& conv2 = fused.nodes[1];
  ASSERT_EQ(conv2.post_ops.size(), 2u);
  EXPECT_EQ(conv2.post_ops[0].kind, PostOp::Kind::kSum);
  EXPECT_EQ(conv2.post_ops[0].sum_input, "conv1");
  EXPECT_EQ(conv2.post_ops[1].kind, PostOp::Kind::kEltwise);
  Tensor want = ref::Relu(ref::Binary(c, a, s, [](float p, float q) { return p + q; }));
  ExpectClose(RunGraph(b.graph(), {&x})[0], want);
  ExecutorOptions unfused;
  unfused.fuse_post_ops = false;
  ExpectClose(RunGraph(b.graph(), {&x}, unfused)[0], want);
}

TEST(Executor, ResidualFromGraphInputAndLaterReaderIsCopied) {
  // y = relu(conv(x) + x) and z = x * 2 after it: x must survive the sum.
  GraphBuilder b;
  Shape s = {1, 8, 6, 6};
  Tensor x = b.Input("x", s);
  Tensor c = AddConv(&b, "conv", "x", x, Conv2d(s, 8, 3, 1, 1));
  b.Op(OpType::kAdd, "add", {"x", "conv"}, s);
  b.Op(OpType::kRelu, "relu", {"add"}, s);
  Tensor two(DType::kF32, {1});
  two.data<float>()[0] = 2.f;
  b.Const("two", two);
  b.Op(OpType::kMul, "mul", {"x", "two"}, s);
  b.Output("relu");
  b.Output("mul");
  ASSERT_EQ(FusePostOps(b.graph()).nodes[0].post_ops.size(), 2u);
  std::vector<Tensor> got = RunGraph(b.graph(), {&x});
  ExpectClose(got[0], ref::Relu(ref::Binary(c, x, s, [](float p, float q) { return p + q; })));
  ExpectClose(got[1], ref::Unary(x, [](float v) { return 2 * v; }));
}

TEST(Executor, GemmAllCombinations) {
  const int64_t m = 5, k = 7, n = 6;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (float alpha : {1.f, 0.5f})
        for (float beta : {1.f, 2.f})
          for (int c_kind = 0; c_kind < 6; ++c_kind)
            for (int b_const = 0; b_const < 2; ++b_const) {
              // c_kind: none, [N], [1,N], [M,N], [M,1], scalar.
              SCOPED_TRACE("ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) +
                           " alpha=" + std::to_string(alpha) + " beta=" + std::to_string(beta) +
                           " c=" + std::to_string(c_kind) + " bconst=" + std::to_string(b_const));
              GraphBuilder g;
              Tensor a = g.Input("a", ta ? Shape{k, m} : Shape{m, k});
              Shape b_shape = tb ? Shape{n, k} : Shape{k, n};
              Tensor bt = b_const ? g.Const("b", g.Random(b_shape)) : g.Input("b", b_shape);
              std::vector<std::string> inputs = {"a", "b"};
              const Shape c_shapes[] = {{}, {n}, {1, n}, {m, n}, {m, 1}, {1}};
              Tensor ct;
              if (c_kind > 0) {
                ct = g.Const("c", g.Random(c_shapes[c_kind]));
                inputs.push_back("c");
              }
              Node& node = g.Op(OpType::kGemm, "gemm", inputs, {m, n});
              node.attrs.Set("transA", int64_t{ta});
              node.attrs.Set("transB", int64_t{tb});
              node.attrs.Set("alpha", alpha);
              node.attrs.Set("beta", beta);
              g.Output("gemm");
              std::vector<const Tensor*> feeds = {&a};
              if (!b_const) feeds.push_back(&bt);
              Tensor want = ref::Gemm(a, bt, c_kind ? &ct : nullptr, alpha, beta, ta, tb);
              std::vector<Tensor> got = RunGraph(g.graph(), feeds);
              ASSERT_EQ(got.size(), 1u);
              ExpectClose(got[0], want);
            }
}

TEST(Executor, GemmWithComputedBias) {
  GraphBuilder g;
  Tensor a = g.Input("a", {4, 8});
  Tensor c = g.Input("c", {4, 3});
  Tensor w = g.Const("w", g.Random({8, 3}));
  g.Op(OpType::kGemm, "gemm", {"a", "w", "c"}, {4, 3});
  g.Op(OpType::kRelu, "relu", {"gemm"}, {4, 3});
  g.Output("relu");
  ExpectClose(RunGraph(g.graph(), {&a, &c})[0], ref::Relu(ref::Gemm(a, w, &c, 1, 1, 0, 0)));
}

TEST(Executor, MatMulShapes) {
  struct Case {
    Shape a, b, y;
    bool b_const;
  };
  std::vector<Case> cases = {
      {{5, 7}, {7, 3}, {5, 3}, true},
      {{5, 7}, {7, 3}, {5, 3}, false},
      {{2, 3, 4, 5}, {2, 3, 5, 6}, {2, 3, 4, 6}, false},
      {{2, 1, 4, 5}, {3, 5, 6}, {2, 3, 4, 6}, false},
      {{2, 3, 4, 5}, {5, 6}, {2, 3, 4, 6}, true},
      {{3, 4, 5}, {5}, {3, 4}, true},
      {{5}, {2, 5, 4}, {2, 4}, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(ShapeToString(c.a) + " x " + ShapeToString(c.b));
    GraphBuilder g;
    Tensor a = g.Input("a", c.a);
    Tensor bt = c.b_const ? g.Const("b", g.Random(c.b)) : g.Input("b", c.b);
    g.Op(OpType::kMatMul, "mm", {"a", "b"}, c.y);
    g.Output("mm");
    std::vector<const Tensor*> feeds = {&a};
    if (!c.b_const) feeds.push_back(&bt);
    ExpectClose(RunGraph(g.graph(), feeds)[0], ref::MatMul(a, bt, c.y));
  }
}

struct PoolCase {
  std::string label;
  OpType op;
  Shape x, y;
  std::vector<int64_t> kernel, strides, pads;
  int64_t ceil = 0, include_pad = 0;
};

TEST(Executor, PoolingMatchesReference) {
  std::vector<PoolCase> cases = {
      {"max 3x3/2", OpType::kMaxPool, {2, 16, 9, 9}, {2, 16, 5, 5}, {3, 3}, {2, 2}, {1, 1, 1, 1}},
      {"avg exclude pad",
       OpType::kAveragePool,
       {2, 8, 7, 7},
       {2, 8, 7, 7},
       {3, 3},
       {1, 1},
       {1, 1, 1, 1}},
      {"avg include pad",
       OpType::kAveragePool,
       {2, 8, 7, 7},
       {2, 8, 7, 7},
       {3, 3},
       {1, 1},
       {1, 1, 1, 1},
       0,
       1},
      {"max ceil", OpType::kMaxPool, {1, 8, 8, 8}, {1, 8, 4, 4}, {3, 3}, {2, 2}, {0, 0, 0, 0}, 1},
      {"avg ceil exclude",
       OpType::kAveragePool,
       {1, 8, 8, 8},
       {1, 8, 4, 4},
       {3, 3},
       {2, 2},
       {0, 0, 0, 0},
       1},
      {"avg asymmetric",
       OpType::kAveragePool,
       {1, 3, 6, 6},
       {1, 3, 4, 3},
       {2, 2},
       {2, 2},
       {1, 0, 1, 0},
       0,
       1},
      {"max 1-D", OpType::kMaxPool, {2, 4, 10}, {2, 4, 5}, {2}, {2}, {0, 0}},
  };
  for (const PoolCase& c : cases) {
    SCOPED_TRACE(c.label);
    GraphBuilder g;
    Tensor x = g.Input("x", c.x);
    Node& node = g.Op(c.op, "pool", {"x"}, c.y);
    node.attrs.Set("kernel_shape", c.kernel);
    node.attrs.Set("strides", c.strides);
    node.attrs.Set("pads", c.pads);
    node.attrs.Set("ceil_mode", c.ceil);
    node.attrs.Set("count_include_pad", c.include_pad);
    g.Output("pool");
    Tensor want = ref::Pool(x, c.y, c.kernel, c.strides, c.pads, c.op == OpType::kMaxPool,
                            c.include_pad != 0);
    ExpectClose(RunGraph(g.graph(), {&x})[0], want);
  }
}

TEST(Executor, AvgPoolCeilOverhangWithIncludedPaddingIsUnimplemented) {
  GraphBuilder g;
  g.Input("x", {1, 8, 8, 8});
  Node& node = g.Op(OpType::kAveragePool, "pool", {"x"}, {1, 8, 4, 4});
  node.attrs.Set("kernel_shape", std::vector<int64_t>{3, 3});
  node.attrs.Set("strides", std::vector<int64_t>{2, 2});
  node.attrs.Set("count_include_pad", int64_t{1});
  g.Output("pool");
  auto model = CompiledModel::Compile(g.graph(), {});
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(model.status().message().find("'pool'"), std::string::npos);
}

TEST(Executor, GlobalPoolsAfterConv) {
  for (OpType op : {OpType::kGlobalAveragePool, OpType::kGlobalMaxPool}) {
    GraphBuilder g;
    Tensor x = g.Input("x", {2, 8, 7, 7});
    Tensor c = AddConv(&g, "conv", "x", x, Conv2d({2, 8, 7, 7}, 16, 3, 1, 1));
    g.Op(op, "gp", {"conv"}, {2, 16, 1, 1});
    g.Output("gp");
    Tensor want = ref::Pool(c, {2, 16, 1, 1}, {7, 7}, {1, 1}, {0, 0, 0, 0},
                            op == OpType::kGlobalMaxPool, false);
    ExpectClose(RunGraph(g.graph(), {&x})[0], want);
  }
}

TEST(Executor, EltwiseOpsStandaloneAndFused) {
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    OpType op;
    float alpha, beta;
    std::function<float(float)> f;
  };
  std::vector<Case> cases = {
      {OpType::kRelu, 0, 0, [](float v) { return std::max(v, 0.f); }},
      {OpType::kLeakyRelu, 0.1f, 0, [](float v) { return v > 0 ? v : 0.1f * v; }},
      {OpType::kClip, 0.f, 6.f, [](float v) { return std::min(std::max(v, 0.f), 6.f); }},
      {OpType::kClip, -inf, 0.5f, [](float v) { return std::min(v, 0.5f); }},
      {OpType::kSigmoid, 0, 0, [](float v) { return 1.f / (1.f + std::exp(-v)); }},
      {OpType::kHardSigmoid, 0.2f, 0.5f,
       [](float v) { return std::max(0.f, std::min(1.f, 0.2f * v + 0.5f)); }},
      {OpType::kHardSwish, 0, 0,
       [](float v) { return v * std::max(0.f, std::min(1.f, v / 6.f + 0.5f)); }},
      {OpType::kTanh, 0, 0, [](float v) { return std::tanh(v); }},
  };
  for (const Case& c : cases) {
    for (bool fuse : {true, false}) {
      SCOPED_TRACE(std::string(OpTypeName(c.op)) + (fuse ? " fused" : " unfused"));
      GraphBuilder g;
      Tensor x = g.Input("x", {2, 8, 6, 6});
      Tensor conv = AddConv(&g, "conv", "x", x, Conv2d({2, 8, 6, 6}, 16, 3, 1, 1));
      Node& n1 = g.Op(c.op, "on_conv", {"conv"}, conv.shape());
      Node& n2 = g.Op(c.op, "on_input", {"x"}, x.shape());
      for (Node* n : {&g.graph().nodes[1], &g.graph().nodes[2]}) {
        if (c.op == OpType::kClip) {
          n->attrs.Set("min", c.alpha);
          n->attrs.Set("max", c.beta);
        } else {
          n->attrs.Set("alpha", c.alpha);
          n->attrs.Set("beta", c.beta);
        }
      }
      (void)n1;
      (void)n2;
      g.Output("on_conv");
      g.Output("on_input");
      ExecutorOptions options;
      options.fuse_post_ops = fuse;
      std::vector<Tensor> got = RunGraph(g.graph(), {&x}, options);
      ASSERT_EQ(got.size(), 2u);
      ExpectClose(got[0], ref::Unary(conv, c.f));
      ExpectClose(got[1], ref::Unary(x, c.f));
    }
  }
}

TEST(Executor, BinaryBroadcastingBothDirections) {
  struct Case {
    OpType op;
    Shape a, b, y;
    bool a_const, b_const;
  };
  auto fn = [](OpType op) -> std::function<float(float, float)> {
    switch (op) {
      case OpType::kSub:
        return [](float p, float q) { return p - q; };
      case OpType::kMul:
        return [](float p, float q) { return p * q; };
      case OpType::kDiv:
        return [](float p, float q) { return p / q; };
      default:
        return [](float p, float q) { return p + q; };
    }
  };
  std::vector<Case> cases = {
      {OpType::kAdd, {2, 8, 4, 4}, {1, 8, 1, 1}, {2, 8, 4, 4}, false, true},
      {OpType::kAdd, {8, 1, 1}, {2, 8, 4, 4}, {2, 8, 4, 4}, true, false},
      {OpType::kSub, {8, 1, 1}, {2, 8, 4, 4}, {2, 8, 4, 4}, false, false},
      {OpType::kSub, {2, 8, 4, 4}, {4}, {2, 8, 4, 4}, false, true},
      {OpType::kDiv, {1}, {2, 8, 4, 4}, {2, 8, 4, 4}, true, false},
      {OpType::kDiv, {2, 8, 4, 4}, {2, 8, 4, 4}, {2, 8, 4, 4}, false, false},
      {OpType::kMul, {4, 1}, {1, 5}, {4, 5}, false, false},
      {OpType::kSub, {4, 1}, {1, 5}, {4, 5}, false, false},
      {OpType::kMul, {3, 5}, {3, 5}, {3, 5}, false, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(OpTypeName(c.op)) + ShapeToString(c.a) + ShapeToString(c.b));
    GraphBuilder g;
    std::vector<const Tensor*> feeds;
    // Divisors stay away from zero.
    Tensor a = c.a_const ? g.Const("a", g.Random(c.a, 0.5f, 2.f)) : g.Input("a", c.a);
    Tensor b = c.b_const ? g.Const("b", g.Random(c.b, 0.5f, 2.f)) : g.Random(c.b, 0.5f, 2.f);
    if (!c.b_const) {
      g.graph().inputs.push_back("b");
      g.graph().values["b"] = {DType::kF32, c.b};
    }
    if (!c.a_const) feeds.push_back(&a);
    if (!c.b_const) feeds.push_back(&b);
    g.Op(c.op, "bin", {"a", "b"}, c.y);
    g.Output("bin");
    ExpectClose(RunGraph(g.graph(), feeds)[0], ref::Binary(a, b, c.y, fn(c.op)));
  }
}

TEST(Executor, BinaryOnBlockedConvOutputs) {
  // conv1 - conv2 (both blocked), then times a per-channel constant.
  GraphBuilder g;
  Shape s = {2, 8, 6, 6};
  Tensor x = g.Input("x", s);
  Tensor c1 = AddConv(&g, "c1", "x", x, Conv2d(s, 16, 3, 1, 1));
  Tensor c2 = AddConv(&g, "c2", "x", x, Conv2d(s, 16, 1));
  Shape y = c1.shape();
  g.Op(OpType::kSub, "sub", {"c1", "c2"}, y);
  const Tensor& k = g.Const("k", g.Random({16, 1, 1}));
  g.Op(OpType::kMul, "mul", {"k", "sub"}, y);
  g.Output("mul");
  Tensor sub = ref::Binary(c1, c2, y, [](float p, float q) { return p - q; });
  ExpectClose(RunGraph(g.graph(), {&x})[0],
              ref::Binary(k, sub, y, [](float p, float q) { return p * q; }));
}

TEST(Executor, ReshapeAfterBlockedConvThenGemm) {
  GraphBuilder g;
  Tensor x = g.Input("x", {2, 8, 5, 5});
  Tensor c = AddConv(&g, "conv", "x", x, Conv2d({2, 8, 5, 5}, 16, 3, 1, 1));
  g.Op(OpType::kReshape, "flat", {"conv"}, {2, 16 * 25});
  const Tensor& w = g.Const("w", g.Random({10, 16 * 25}));
  const Tensor& bias = g.Const("bias", g.Random({10}));
  Node& gemm = g.Op(OpType::kGemm, "fc", {"flat", "w", "bias"}, {2, 10});
  gemm.attrs.Set("transB", int64_t{1});
  g.Output("flat");
  g.Output("fc");
  std::vector<Tensor> got = RunGraph(g.graph(), {&x});
  Tensor flat = c;
  flat.Reshape({2, 16 * 25});
  ExpectClose(got[0], flat);
  ExpectClose(got[1], ref::Gemm(flat, w, &bias, 1, 1, false, true));
}

TEST(Executor, TransposeOfInputAndOfBlockedConv) {
  GraphBuilder g;
  Tensor x = g.Input("x", {2, 8, 4, 5});
  Tensor c = AddConv(&g, "conv", "x", x, Conv2d({2, 8, 4, 5}, 16, 3, 1, 1));
  g.Op(OpType::kTranspose, "t1", {"conv"}, {2, 4, 5, 16})
      .attrs.Set("perm", std::vector<int64_t>{0, 2, 3, 1});
  g.Op(OpType::kTranspose, "t2", {"x"}, {5, 8, 2, 4})
      .attrs.Set("perm", std::vector<int64_t>{3, 1, 0, 2});
  g.Output("t1");
  g.Output("t2");
  std::vector<Tensor> got = RunGraph(g.graph(), {&x});
  ExpectClose(got[0], ref::Transpose(c, {0, 2, 3, 1}));
  ExpectClose(got[1], ref::Transpose(x, {3, 1, 0, 2}));
}

TEST(Executor, ConcatOfConvsAndOfInputs) {
  GraphBuilder g;
  Shape s = {2, 8, 6, 6};
  Tensor x = g.Input("x", s);
  Tensor c1 = AddConv(&g, "c1", "x", x, Conv2d(s, 16, 3, 1, 1));
  Tensor c2 = AddConv(&g, "c2", "x", x, Conv2d(s, 8, 1));
  g.Op(OpType::kConcat, "cat", {"c1", "c2"}, {2, 24, 6, 6}).attrs.Set("axis", int64_t{1});
  g.Op(OpType::kConcat, "cat2", {"x", "x"}, {2, 8, 12, 6}).attrs.Set("axis", int64_t{2});
  g.Output("cat");
  g.Output("cat2");
  std::vector<Tensor> got = RunGraph(g.graph(), {&x});
  ExpectClose(got[0], ref::Concat({&c1, &c2}, 1));
  ExpectClose(got[1], ref::Concat({&x, &x}, 2));
}

TEST(Executor, SoftmaxBothSemantics) {
  for (int coerce = 0; coerce < 2; ++coerce) {
    SCOPED_TRACE(coerce);
    GraphBuilder g;
    Tensor x = g.Input("x", {2, 3, 4, 5});
    Node& n = g.Op(OpType::kSoftmax, "sm", {"x"}, {2, 3, 4, 5});
    n.attrs.Set("axis", int64_t{1});
    n.attrs.Set("coerce_2d", int64_t{coerce});
    g.Output("sm");
    ExpectClose(RunGraph(g.graph(), {&x})[0], ref::Softmax(x, 1, coerce != 0));
  }
}

TEST(Executor, StandaloneBatchNorm) {
  GraphBuilder g;
  Shape s = {2, 8, 5, 5};
  Tensor x = g.Input("x", s);
  Tensor c = AddConv(&g, "conv", "x", x, Conv2d(s, 16, 3, 1, 1));
  const Tensor& scale = g.Const("scale", g.Random({16}));
  const Tensor& bias = g.Const("bias", g.Random({16}));
  const Tensor& mean = g.Const("mean", g.Random({16}));
  const Tensor& var = g.Const("var", g.Random({16}, 0.5f, 2.f));
  g.Op(OpType::kBatchNorm, "bn", {"conv", "scale", "bias", "mean", "var"}, c.shape())
      .attrs.Set("epsilon", 1e-3f);
  g.Output("bn");
  ExpectClose(RunGraph(g.graph(), {&x})[0], ref::BatchNorm(c, scale, bias, mean, var, 1e-3f));
}

// A ResNet bottleneck with a projection shortcut followed by an identity
// bottleneck; returns the reference output.
Tensor BuildResNetBlocks(GraphBuilder* g, const Tensor& x) {
  Shape s = x.shape();
  Tensor a1 = ref::Relu(AddConv(g, "b1_c1", "x", x, Conv2d(s, 8, 1)));
  g->Op(OpType::kRelu, "b1_r1", {"b1_c1"}, a1.shape());
  Tensor a2 = ref::Relu(AddConv(g, "b1_c2", "b1_r1", a1, Conv2d(a1.shape(), 8, 3, 2, 1)));
  g->Op(OpType::kRelu, "b1_r2", {"b1_c2"}, a2.shape());
  Tensor a3 = AddConv(g, "b1_c3", "b1_r2", a2, Conv2d(a2.shape(), 32, 1));
  Tensor ds = AddConv(g, "b1_ds", "x", x, Conv2d(s, 32, 1, 2));
  Shape s2 = a3.shape();
  auto add = [](float p, float q) { return p + q; };
  Tensor o1 = ref::Relu(ref::Binary(a3, ds, s2, add));
  g->Op(OpType::kAdd, "b1_add", {"b1_c3", "b1_ds"}, s2);
  g->Op(OpType::kRelu, "b1_out", {"b1_add"}, s2);
  Tensor b1 = ref::Relu(AddConv(g, "b2_c1", "b1_out", o1, Conv2d(s2, 8, 1)));
  g->Op(OpType::kRelu, "b2_r1", {"b2_c1"}, b1.shape());
  Tensor b2 = ref::Relu(AddConv(g, "b2_c2", "b2_r1", b1, Conv2d(b1.shape(), 8, 3, 1, 1)));
  g->Op(OpType::kRelu, "b2_r2", {"b2_c2"}, b2.shape());
  Tensor b3 = AddConv(g, "b2_c3", "b2_r2", b2, Conv2d(b2.shape(), 32, 1));
  g->Op(OpType::kAdd, "b2_add", {"b1_out", "b2_c3"}, s2);
  g->Op(OpType::kRelu, "b2_out", {"b2_add"}, s2);
  g->Output("b2_out");
  return ref::Relu(ref::Binary(o1, b3, s2, add));
}

TEST(Executor, ResNetBlocksFusedEqualUnfusedAndReference) {
  GraphBuilder g;
  Tensor x = g.Input("x", {2, 16, 10, 10});
  Tensor want = BuildResNetBlocks(&g, x);
  Graph fused = FusePostOps(g.graph());
  int sums = 0;
  for (const Node& n : fused.nodes) {
    EXPECT_EQ(n.op, OpType::kConv) << n.name;
    for (const PostOp& p : n.post_ops) sums += p.kind == PostOp::Kind::kSum;
  }
  EXPECT_EQ(sums, 2);
  std::vector<std::string> lines;
  std::vector<Tensor> got = RunGraph(g.graph(), {&x}, {}, &lines);
  ExpectClose(got[0], want);
  // Between the input and output reorders there are only convolutions.
  int reorders = 0;
  for (const std::string& l : lines) reorders += l.find("  reorder  ") != std::string::npos;
  EXPECT_LE(reorders, 2) << ::testing::PrintToString(lines);
  ExecutorOptions unfused;
  unfused.fuse_post_ops = false;
  ExpectClose(RunGraph(g.graph(), {&x}, unfused)[0], got[0], 1e-5f);
}

TEST(Executor, RunTwiceGivesIdenticalOutputs) {
  GraphBuilder g;
  Tensor x = g.Input("x", {2, 16, 10, 10});
  BuildResNetBlocks(&g, x);
  ExecutorOptions options;
  options.threads = 2;
  auto model = CompiledModel::Compile(g.graph(), options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<Tensor> first = (*model)->MakeOutputs(), second = (*model)->MakeOutputs();
  ASSERT_TRUE((*model)->Run({&x}, &first).ok());
  ASSERT_TRUE((*model)->Run({&x}, &second).ok());
  ASSERT_EQ(first[0].bytes(), second[0].bytes());
  EXPECT_EQ(std::memcmp(first[0].raw(), second[0].raw(), first[0].bytes()), 0);
  // A different input changes the output: the input is really rebound.
  Tensor x2 = g.Random(x.shape());
  ASSERT_TRUE((*model)->Run({&x2}, &second).ok());
  EXPECT_NE(std::memcmp(first[0].raw(), second[0].raw(), first[0].bytes()), 0);
}

TEST(Executor, RejectsBadInputsAndUnsupportedOps) {
  GraphBuilder g;
  Tensor x = g.Input("x", {1, 4});
  g.Op(OpType::kRelu, "relu", {"x"}, {1, 4});
  g.Output("relu");
  auto model = CompiledModel::Compile(g.graph(), {});
  ASSERT_TRUE(model.ok());
  std::vector<Tensor> out = (*model)->MakeOutputs();
  Tensor wrong(DType::kF32, {1, 5});
  EXPECT_EQ((*model)->Run({&wrong}, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*model)->Run({}, &out).code(), StatusCode::kInvalidArgument);

  GraphBuilder h;
  h.Input("x", {1, 4});
  h.Op(OpType::kShape, "shape_node", {"x"}, {2});
  h.Output("shape_node");
  auto bad = CompiledModel::Compile(h.graph(), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(bad.status().message().find("shape_node"), std::string::npos);
}

TEST(Executor, EffectiveIsaNameIsKnown) {
  const std::string isa = EffectiveIsaName();
  const std::vector<std::string> known = {"sse41",
                                          "avx",
                                          "avx2",
                                          "avx2_vnni",
                                          "avx512_core",
                                          "avx512_core_vnni",
                                          "avx512_core_bf16",
                                          "avx512_core_amx",
                                          "avx512_mic",
                                          "avx512_mic_4ops"};
  EXPECT_NE(std::find(known.begin(), known.end(), isa), known.end()) << isa;
}

}  // namespace
}  // namespace mixq
