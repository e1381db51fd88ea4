// The shipped reference models run in mixq exactly as they ran in PyTorch:
// logits of the first test images match the ones the training script saved.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/dataset.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "engine/runtime/executor.h"

namespace mixq {
namespace {

const std::string kSrc = MIXQ_SOURCE_DIR;

void ExpectLogitsMatchPyTorch(const std::string& name) {
  std::ifstream file(kSrc + "/models/" + name + ".logits8.json");
  ASSERT_TRUE(file) << name;
  const nlohmann::json expected = nlohmann::json::parse(file);
  const int64_t n = static_cast<int64_t>(expected.size());
  ASSERT_GT(n, 0);

  auto graph = ImportOnnx(kSrc + "/models/" + name + ".onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto spec = LoadDatasetSpec(kSrc + "/configs/datasets/fashion_mnist_test.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto dataset = Dataset::Open(*spec);
  ASSERT_TRUE(dataset.ok()) << dataset.status().ToString();

  auto specialised = SpecializeForBatch(*graph, n);
  ASSERT_TRUE(specialised.ok()) << specialised.status().ToString();
  auto model = CompiledModel::Compile(*specialised, ExecutorOptions{});
  ASSERT_TRUE(model.ok()) << model.status().ToString();

  Tensor batch(DType::kF32, (*model)->input_infos()[0].shape);
  std::vector<int64_t> labels;
  ASSERT_TRUE((*dataset)->Fill(0, n, &batch, &labels).ok());
  std::vector<Tensor> outputs = (*model)->MakeOutputs();
  ASSERT_TRUE((*model)->Run({&batch}, &outputs).ok());

  const Tensor& logits = outputs[0];
  ASSERT_EQ(logits.shape()[0], n);
  const int64_t classes = logits.shape()[1];
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(static_cast<int64_t>(expected[i].size()), classes);
    for (int64_t c = 0; c < classes; ++c) {
      const double want = expected[i][c].get<double>();
      const double got = logits.data<float>()[i * classes + c];
      EXPECT_NEAR(got, want, 1e-4 + 1e-3 * std::fabs(want))
          << name << " image " << i << " class " << c;
    }
  }
}

TEST(ReferenceModels, FmResnetLogitsMatchPyTorch) { ExpectLogitsMatchPyTorch("fm_resnet"); }
TEST(ReferenceModels, FmMobilenetLogitsMatchPyTorch) { ExpectLogitsMatchPyTorch("fm_mobilenet"); }

}  // namespace
}  // namespace mixq
