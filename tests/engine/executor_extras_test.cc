// Executor services for calibration and profiling: calibration points follow
// fusion, extra outputs expose intermediate values exactly, and a profiled
// run times every step while computing the same result.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/runtime/executor.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/reference_ops.h"

namespace mixq {
namespace {

using testing::GraphBuilder;

// x -> conv -> relu -> maxpool -> y
Graph ConvReluPool(GraphBuilder* b, Tensor* x) {
  *x = b->Input("x", {1, 3, 8, 8});
  b->Const("w", b->Random({4, 3, 3, 3}));
  b->Const("bias", b->Random({4}));
  Node& conv = b->Op(OpType::kConv, "conv", {"x", "w", "bias"}, {1, 4, 6, 6});
  conv.attrs.Set("strides", std::vector<int64_t>{1, 1});
  b->Op(OpType::kRelu, "relu", {"conv"}, {1, 4, 6, 6});
  Node& pool = b->Op(OpType::kMaxPool, "pool", {"relu"}, {1, 4, 3, 3});
  pool.attrs.Set("kernel_shape", std::vector<int64_t>{2, 2});
  pool.attrs.Set("strides", std::vector<int64_t>{2, 2});
  b->Output("pool");
  return b->graph();
}

TEST(ExecutorExtras, CalibrationPointsSeeFusedOutputs) {
  GraphBuilder b;
  Tensor x;
  Graph graph = ConvReluPool(&b, &x);
  std::vector<std::string> fused = CalibrationPoints(graph, {});
  EXPECT_EQ(fused, (std::vector<std::string>{"x", "relu", "pool"}));
  ExecutorOptions unfused;
  unfused.fuse_post_ops = false;
  EXPECT_EQ(CalibrationPoints(graph, unfused),
            (std::vector<std::string>{"x", "conv", "relu", "pool"}));
}

TEST(ExecutorExtras, ExtraOutputsExposeIntermediateValues) {
  GraphBuilder b;
  Tensor x;
  Graph graph = ConvReluPool(&b, &x);
  ExecutorOptions options;
  options.extra_outputs = {"relu"};
  auto model = CompiledModel::Compile(graph, options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ASSERT_EQ((*model)->output_names(), (std::vector<std::string>{"pool", "relu"}));
  std::vector<Tensor> outputs = (*model)->MakeOutputs();
  ASSERT_TRUE((*model)->Run({&x}, &outputs).ok());
  // The exposed ReLU output is non-negative and its 2x2 maxima are the pool output.
  const Tensor& relu = outputs[1];
  const Tensor& pool = outputs[0];
  for (int64_t i = 0; i < relu.size(); ++i) EXPECT_GE(relu.data<float>()[i], 0.f);
  for (int c = 0; c < 4; ++c) {
    for (int oy = 0; oy < 3; ++oy) {
      for (int ox = 0; ox < 3; ++ox) {
        float m = -1.f;
        for (int dy = 0; dy < 2; ++dy) {
          for (int dx = 0; dx < 2; ++dx) {
            m = std::max(m, relu.data<float>()[(c * 6 + oy * 2 + dy) * 6 + ox * 2 + dx]);
          }
        }
        EXPECT_EQ(pool.data<float>()[(c * 3 + oy) * 3 + ox], m);
      }
    }
  }
}

TEST(ExecutorExtras, ExtraOutputOfAResidualIsNotOverwrittenBySum) {
  // y = relu(conv2(x) + s), s = conv1(x): the sum is fused into conv2 and
  // would reuse s's buffer in place, but s is observed.
  GraphBuilder b;
  Tensor x = b.Input("x", {1, 4, 6, 6});
  b.Const("w1", b.Random({4, 4, 1, 1}));
  b.Const("w2", b.Random({4, 4, 1, 1}));
  b.Op(OpType::kConv, "s", {"x", "w1"}, {1, 4, 6, 6});
  b.Op(OpType::kConv, "c2", {"x", "w2"}, {1, 4, 6, 6});
  b.Op(OpType::kAdd, "sum", {"c2", "s"}, {1, 4, 6, 6});
  b.Op(OpType::kRelu, "y", {"sum"}, {1, 4, 6, 6});
  b.Output("y");
  std::vector<Tensor> reference = testing::RunGraph(b.graph(), {&x}, [] {
    ExecutorOptions o;
    o.fuse_post_ops = false;
    o.extra_outputs = {"s"};
    return o;
  }());
  ExecutorOptions options;
  options.extra_outputs = {"s"};
  std::vector<Tensor> fused = testing::RunGraph(b.graph(), {&x}, options);
  ASSERT_EQ(fused.size(), 2u);
  bool any_negative = false;
  for (int64_t i = 0; i < fused[1].size(); ++i) {
    EXPECT_NEAR(fused[1].data<float>()[i], reference[1].data<float>()[i], 1e-5);
    any_negative = any_negative || fused[1].data<float>()[i] < 0.f;
  }
  EXPECT_TRUE(any_negative);  // s is signed; relu(sum) is not
}

TEST(ExecutorExtras, UnknownExtraOutputIsRefused) {
  GraphBuilder b;
  Tensor x;
  Graph graph = ConvReluPool(&b, &x);
  ExecutorOptions options;
  options.extra_outputs = {"nope"};
  auto model = CompiledModel::Compile(graph, options);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("nope"), std::string::npos);
}

TEST(ExecutorExtras, ProfiledRunTimesEveryStepAndMatchesRun) {
  GraphBuilder b;
  Tensor x;
  Graph graph = ConvReluPool(&b, &x);
  auto model = CompiledModel::Compile(graph, {});
  ASSERT_TRUE(model.ok());
  std::vector<Tensor> plain = (*model)->MakeOutputs();
  std::vector<Tensor> profiled = (*model)->MakeOutputs();
  ASSERT_TRUE((*model)->Run({&x}, &plain).ok());
  std::vector<double> seconds;
  ASSERT_TRUE((*model)->RunProfiled({&x}, &profiled, &seconds).ok());
  ASSERT_EQ(seconds.size(), (*model)->steps().size());
  for (double s : seconds) EXPECT_GT(s, 0.0);
  for (int64_t i = 0; i < plain[0].size(); ++i) {
    EXPECT_EQ(plain[0].data<float>()[i], profiled[0].data<float>()[i]);
  }
  bool has_conv = false;
  for (const StepInfo& step : (*model)->steps()) {
    has_conv = has_conv || (step.node == "conv" && step.kind == "convolution");
  }
  EXPECT_TRUE(has_conv);
}

}  // namespace
}  // namespace mixq
