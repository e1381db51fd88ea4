// The compile memory limit (memory_limit.h): a model whose tensors do not fit
// ExecutorOptions::max_memory_bytes is refused with one line naming its
// largest tensor, before anything of that size is allocated; one that fits
// compiles and runs as before.
#include "engine/runtime/memory_limit.h"

#include <gtest/gtest.h>

#include "engine/runtime/executor.h"
#include "tests/engine/graph_builder.h"

namespace mixq {
namespace {

constexpr int64_t kFloats = 64 * 1024;  // 256 KiB of float32

// x -> Relu -> a, x -> Sigmoid -> b, a + b -> y: a and b are live at once,
// so the activations need 512 KiB besides the 512 KiB of x and y.
Graph TwoBranchGraph(testing::GraphBuilder* b) {
  b->Input("x", {1, kFloats});
  b->Op(OpType::kRelu, "a", {"x"}, {1, kFloats});
  b->Op(OpType::kSigmoid, "b", {"x"}, {1, kFloats});
  b->Op(OpType::kAdd, "y", {"a", "b"}, {1, kFloats});
  b->Output("y");
  b->graph().source = "two_branch.onnx";
  return b->graph();
}

TEST(MemoryLimit, ATensorOverTheLimitIsRefusedNamingIt) {
  testing::GraphBuilder b;
  b.Input("big", {1, 4 * kFloats});  // 1 MiB
  b.Op(OpType::kRelu, "out", {"big"}, {1, 4 * kFloats});
  b.Output("out");
  b.graph().source = "big.onnx";
  ExecutorOptions options;
  options.max_memory_bytes = 512 * 1024;
  auto model = CompiledModel::Compile(b.graph(), options);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
  const std::string& message = model.status().message();
  EXPECT_NE(message.find("big.onnx"), std::string::npos) << message;
  // Both tensors are 1 MiB; the smaller name is named.
  EXPECT_NE(message.find("'big' (float32 [1,262144], 1.0 MiB)"), std::string::npos) << message;
  EXPECT_NE(message.find("512.0 KiB"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(MemoryLimit, WeightsInputsAndOutputsTogetherOverTheLimitAreRefused) {
  testing::GraphBuilder b;
  Graph graph = TwoBranchGraph(&b);
  ExecutorOptions options;
  options.max_memory_bytes = 300 * 1024;  // each tensor fits, x and y together do not
  auto model = CompiledModel::Compile(graph, options);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(model.status().message().find("weights, inputs and outputs need 512.0 KiB"),
            std::string::npos)
      << model.status().message();
}

TEST(MemoryLimit, ActivationsOverWhatTheLimitLeavesAreRefused) {
  testing::GraphBuilder b;
  Graph graph = TwoBranchGraph(&b);
  ExecutorOptions options;
  options.max_memory_bytes = 800 * 1024;  // x and y fit; a and b besides them do not
  auto model = CompiledModel::Compile(graph, options);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
  const std::string& message = model.status().message();
  EXPECT_NE(message.find("two_branch.onnx: the activations need "), std::string::npos) << message;
  EXPECT_NE(message.find("memory limit 800.0 KiB"), std::string::npos) << message;
}

TEST(MemoryLimit, AModelWithinTheLimitCompilesAndRuns) {
  testing::GraphBuilder b;
  Graph graph = TwoBranchGraph(&b);
  Tensor x(DType::kF32, {1, kFloats});
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = (i % 7) - 3.0f;
  ExecutorOptions options;
  options.max_memory_bytes = 2 << 20;
  std::vector<Tensor> out = testing::RunGraph(graph, {&x}, options);
  ASSERT_EQ(out.size(), 1u);
  // x = -3: relu 0 + sigmoid(-3); x = 3: 3 + sigmoid(3).
  EXPECT_NEAR(out[0].data<float>()[0], 0.0474259f, 1e-5f);
  EXPECT_NEAR(out[0].data<float>()[6], 3.9525741f, 1e-5f);
}

TEST(MemoryLimit, TheDefaultIsHalfOfPhysicalMemory) {
  const size_t limit = DefaultMemoryLimit();
  EXPECT_GE(limit, size_t{256} << 20);
  // A default run (max_memory_bytes 0) compiles what fits under it.
  testing::GraphBuilder b;
  Graph graph = TwoBranchGraph(&b);
  EXPECT_TRUE(CompiledModel::Compile(graph, ExecutorOptions()).ok());
}

TEST(MemoryLimit, FormatBytes) {
  EXPECT_EQ(FormatBytes(512), "512 bytes");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(size_t{3} << 30), "3.0 GiB");
}

}  // namespace
}  // namespace mixq
