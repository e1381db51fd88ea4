// Run() on a compiled model allocates no buffers: every tensor, scratch
// buffer, primitive and argument list is prepared by Compile()
// (run_allocations.h counts; the Winograd step's test is in avx2/).
#include <gtest/gtest.h>

#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "engine/runtime/executor.h"
#include "tests/engine/graph_builder.h"
#include "tests/engine/int8_test_util.h"
#include "tests/engine/run_allocations.h"

namespace mixq {
namespace {

using testing::ExpectRunsAllocateNothing;

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

}  // namespace
}  // namespace mixq
