// LogSoftmax as ONNX models write it, imported and run on oneDNN's
// logsoftmax_forward, against a naive reference: before opset 13 the input
// is coerced to 2-D around `axis` (default 1), from opset 13 only `axis`
// (default -1) is normalised.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "engine/onnx/onnx_importer.h"
#include "tests/engine/elementwise_test_util.h"
#include "tests/engine/onnx_test_util.h"

namespace mixq::testing {
namespace {

struct LogSoftmaxCase {
  int64_t opset;
  std::optional<int64_t> axis;  // as written; none: the opset's default
  int64_t normalised_from;      // the reference's axis
  bool coerce_2d;               // the reference normalises every dim from that axis on
};

TEST(LogSoftmaxOp, OpsetsBefore13CoerceTo2dAndLaterOnesNormaliseOneAxis) {
  const Shape shape = {2, 3, 4, 5};
  const std::vector<LogSoftmaxCase> cases = {
      {11, 1, 1, true},  // over C*H*W, not over C alone
      {11, std::nullopt, 1, true},
      {11, -1, 3, true},
      {1, 2, 2, true},
      {13, -1, 3, false},
      {13, 1, 1, false},  // over C alone
      {13, std::nullopt, 3, false},
  };
  for (const LogSoftmaxCase& c : cases) {
    SCOPED_TRACE("opset " + std::to_string(c.opset) + " axis " +
                 (c.axis ? std::to_string(*c.axis) : std::string("default")));
    onnx::ModelProto model = NewModel(c.opset);
    AddInput(&model, "x", shape);
    AddOutput(&model, "y", shape);
    onnx::NodeProto* node = AddNode(&model, "LogSoftmax", {"x"}, {"y"}, "log_softmax");
    if (c.axis) AddIntAttr(node, "axis", *c.axis);
    auto graph = ImportOnnxFromBytes(Serialize(model), "log_softmax.onnx");
    ASSERT_TRUE(graph.ok()) << graph.status().ToString();
    // Values up to +-40 with one large outlier: exp() of them would
    // overflow without the max subtracted first.
    GraphBuilder b;
    Tensor x = b.Random(shape, -40.f, 40.f);
    x.data<float>()[7] = 1000.f;
    RunResult run = SpecializeAndRun(*graph, {&x});
    ASSERT_EQ(run.outputs.size(), 1u);
    ExpectClose(run.outputs[0], ref::LogSoftmax(x, c.normalised_from, c.coerce_2d), 1e-5f);
    EXPECT_TRUE(RunsOn(run, "log_softmax", "logsoftmax"))
        << ::testing::PrintToString(StepKinds(run, "log_softmax"));
  }
}

// oneDNN 2.6's lrn_forward gets rank 6 wrong; its logsoftmax_forward does not.
TEST(LogSoftmaxOp, Rank6BothSemantics) {
  const Shape shape = {2, 3, 2, 4, 3, 5};
  for (int64_t coerce_2d : {0, 1}) {
    for (int64_t axis : {1, 3, 5}) {
      SCOPED_TRACE("coerce_2d " + std::to_string(coerce_2d) + " axis " + std::to_string(axis));
      GraphBuilder b;
      Tensor x = b.Input("x", shape);
      Node& node = b.Op(OpType::kLogSoftmax, "ls", {"x"}, shape);
      node.attrs.Set("axis", axis);
      node.attrs.Set("coerce_2d", coerce_2d);
      b.Output("ls");
      RunResult run = SpecializeAndRun(b.graph(), {&x});
      ASSERT_EQ(run.outputs.size(), 1u);
      ExpectClose(run.outputs[0], ref::LogSoftmax(x, axis, coerce_2d != 0), 1e-5f);
    }
  }
}

TEST(LogSoftmaxOp, ReadsABlockedProducerAndFeedsAConsumer) {
  // A 1x1 convolution before it (a blocked output) and a Neg after it.
  GraphBuilder b;
  const Shape shape = {2, 8, 3, 3};
  Tensor x = b.Input("x", shape);
  Tensor w(DType::kF32, {8, 8, 1, 1});
  for (int64_t ch = 0; ch < 8; ++ch) w.data<float>()[ch * 8 + ch] = 2.f;
  b.Const("w", w);
  b.Op(OpType::kConv, "conv", {"x", "w"}, shape)
      .attrs.Set("kernel_shape", std::vector<int64_t>{1, 1});
  Node& node = b.Op(OpType::kLogSoftmax, "ls", {"conv"}, shape);
  node.attrs.Set("axis", int64_t{1});
  b.Op(OpType::kNeg, "neg", {"ls"}, shape);
  b.Output("neg");
  RunResult run = SpecializeAndRun(b.graph(), {&x});
  ASSERT_EQ(run.outputs.size(), 1u);
  Tensor doubled = x;
  for (int64_t i = 0; i < doubled.size(); ++i) doubled.data<float>()[i] *= 2.f;
  Tensor want = ref::LogSoftmax(doubled, 1, false);
  for (int64_t i = 0; i < want.size(); ++i) want.data<float>()[i] = -want.data<float>()[i];
  ExpectClose(run.outputs[0], want, 1e-5f);
}

}  // namespace
}  // namespace mixq::testing
