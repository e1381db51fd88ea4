// Run() on a compiled model allocates no buffers: every tensor, scratch
// buffer, primitive and argument list is prepared by Compile(). The global
// operator new of this test binary counts allocations while a flag is up.
// oneDNN itself makes a few small allocations per primitive execution (the
// argument map of its execution context: 6-7 per primitive here, at most a
// couple of hundred bytes each); those are bounded here, not forbidden.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

#include "tests/worker/graph_builder.h"
#include "tests/worker/int8_test_util.h"
#include "worker/executor.h"
#include "worker/onnx_importer.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
std::atomic<std::size_t> g_largest{0};
}  // namespace

// This replacement pair allocates with malloc and frees with free, which GCC's
// -Wmismatched-new-delete cannot see through.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1);
    std::size_t prev = g_largest.load();
    while (size > prev && !g_largest.compare_exchange_weak(prev, size)) {
    }
  }
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace mixq {
namespace {

// Runs `model` three times after a first run and bounds what they allocate.
void ExpectRunsAllocateNothing(CompiledModel* model, const Tensor& input) {
  std::vector<Tensor> outputs = model->MakeOutputs();
  const std::vector<const Tensor*> inputs = {&input};
  ASSERT_TRUE(model->Run(inputs, &outputs).ok());  // first run may warm caches
  g_allocations = 0;
  g_largest = 0;
  g_counting = true;
  bool ok = true;
  for (int i = 0; i < 3; ++i) ok = ok && model->Run(inputs, &outputs).ok();
  g_counting = false;
  EXPECT_TRUE(ok);
  const long steps = static_cast<long>(model->Describe().size());
  // No buffer-sized allocation: activations here are >= 4 x 16 x 14 x 14 floats.
  EXPECT_LE(g_largest.load(), 256u);
  // Bookkeeping only: a handful per primitive execution, not per element.
  EXPECT_LE(g_allocations.load(), 3 * steps * 8) << "steps " << steps;
}

void ExpectRunAllocatesNothing(bool int8) {
  auto graph = ImportOnnx(std::string(MIXQ_SOURCE_DIR) + "/models/fm_mobilenet.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto specialised = SpecializeForBatch(*graph, 4);
  ASSERT_TRUE(specialised.ok()) << specialised.status().ToString();
  Tensor input(DType::kF32, specialised->values.at(specialised->inputs[0]).shape);
  for (int64_t i = 0; i < input.size(); ++i) input.data<float>()[i] = 0.001f * (i % 997);
  ExecutorOptions options;
  if (int8) {
    options.quant = testing::AllInt8(*specialised, testing::MinMaxParams(*specialised, {&input}));
  }
  auto model = CompiledModel::Compile(*specialised, options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ExpectRunsAllocateNothing(model->get(), input);
}

TEST(ExecutorAllocation, RunAllocatesNothingAfterCompile) { ExpectRunAllocatesNothing(false); }

TEST(ExecutorAllocation, Int8RunAllocatesNothingAfterCompile) { ExpectRunAllocatesNothing(true); }

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
  ExpectRunsAllocateNothing(model->get(), x);
}

}  // namespace
}  // namespace mixq
