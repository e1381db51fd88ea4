// ExecutorOptions.threads reaches oneDNN's OpenMP runtime: Compile() and Run()
// set the thread count the caller asked for.
#include <gtest/gtest.h>
#include <omp.h>

#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "engine/runtime/executor.h"

namespace mixq {
namespace {

TEST(ExecutorThreads, ThreadsOptionSetsOpenMpThreadCount) {
  auto graph = ImportOnnx(std::string(MIXQ_SOURCE_DIR) + "/models/fm_resnet.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto specialised = SpecializeForBatch(*graph, 2);
  ASSERT_TRUE(specialised.ok()) << specialised.status().ToString();
  for (int threads : {1, 2, 1}) {
    ExecutorOptions options;
    options.threads = threads;
    auto model = CompiledModel::Compile(*specialised, options);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    omp_set_num_threads(threads == 1 ? 2 : 1);  // something else changed it meanwhile
    Tensor input(DType::kF32, (*model)->input_infos()[0].shape);
    std::vector<Tensor> outputs = (*model)->MakeOutputs();
    ASSERT_TRUE((*model)->Run({&input}, &outputs).ok());
    EXPECT_EQ(omp_get_max_threads(), threads);
  }
}

}  // namespace
}  // namespace mixq
