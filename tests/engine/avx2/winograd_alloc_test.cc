// mixq's Winograd step allocates nothing when a compiled model runs: its
// scratch is prepared by Compile(). It runs only where oneDNN picks the
// AVX2-width layout, so this test lives in avx2_tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/runtime/executor.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/run_allocations.h"

namespace mixq {
namespace {

// mixq's Winograd step works in scratch prepared by Compile(). (oneDNN's
// sgemm inside it mallocs its own packing workspace, about 16 KiB per call,
// as oneDNN's GEMM-based primitives do; operator new does not see that.)
TEST(ExecutorAllocation, WinogradRunAllocatesNothingAfterCompile) {
  testing::GraphBuilder b;
  const Shape s = {4, 32, 28, 28};
  Tensor x = b.Input("x", s);
  b.Const("w", b.Random({32, 32, 3, 3}, -0.5f, 0.5f));
  Node& conv = b.Op(OpType::kConv, "conv", {"x", "w"}, s);
  conv.attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  b.Op(OpType::kRelu, "relu", {"conv"}, s);
  b.Output("relu");
  ExecutorOptions options;
  options.threads = 2;
  auto model = CompiledModel::Compile(b.graph(), options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const std::vector<std::string> lines = (*model)->Describe();
  ASSERT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("mixq:winograd") != std::string::npos;
  })) << "the convolution should run on the Winograd kernel";
  testing::ExpectRunsAllocateNothing(model->get(), x);
}

}  // namespace
}  // namespace mixq
