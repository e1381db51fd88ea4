// The shipped reference models run in mixq exactly as they ran in PyTorch:
// logits of the first test images (sequences, for the text model) match the
// ones the training script saved.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/dataset.h"
#include "common/npy_reader.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "engine/runtime/executor.h"

namespace mixq {
namespace {

const std::string kSrc = MIXQ_SOURCE_DIR;

// <name>.logits8.json: PyTorch's logits of the first test samples.
nlohmann::json LoadExpectedLogits(const std::string& name) {
  std::ifstream file(kSrc + "/models/" + name + ".logits8.json");
  if (!file) return nlohmann::json::array();
  return nlohmann::json::parse(file);
}

void ExpectLogitsNear(const Tensor& logits, const nlohmann::json& expected,
                      const std::string& name) {
  const int64_t n = static_cast<int64_t>(expected.size());
  ASSERT_EQ(logits.shape()[0], n);
  const int64_t classes = logits.shape()[1];
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(static_cast<int64_t>(expected[i].size()), classes);
    for (int64_t c = 0; c < classes; ++c) {
      const double want = expected[i][c].get<double>();
      const double got = logits.data<float>()[i * classes + c];
      EXPECT_NEAR(got, want, 1e-4 + 1e-3 * std::fabs(want))
          << name << " sample " << i << " class " << c;
    }
  }
}

void ExpectLogitsMatchPyTorch(const std::string& name) {
  const nlohmann::json expected = LoadExpectedLogits(name);
  const int64_t n = static_cast<int64_t>(expected.size());
  ASSERT_GT(n, 0) << name;

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
  ExpectLogitsNear(outputs[0], expected, name);
}

TEST(ReferenceModels, FmResnetLogitsMatchPyTorch) { ExpectLogitsMatchPyTorch("fm_resnet"); }
TEST(ReferenceModels, FmMobilenetLogitsMatchPyTorch) { ExpectLogitsMatchPyTorch("fm_mobilenet"); }

// Rows [0, n) of an int32 NPY set file as the int64 tensor the exported
// text model takes.
Tensor FirstRowsAsInt64(const RawArray& array, int64_t n) {
  const int64_t row = array.shape[1];
  Tensor out(DType::kI64, {n, row});
  const auto* src = reinterpret_cast<const int32_t*>(array.data.data());
  for (int64_t i = 0; i < n * row; ++i) out.data<int64_t>()[i] = src[i];
  return out;
}

// models/text_bert.onnx (a BERT-style encoder; int64 input_ids and
// attention_mask) on the first test sequences, whose padding is masked.
TEST(ReferenceModels, TextBertLogitsMatchPyTorch) {
  const nlohmann::json expected = LoadExpectedLogits("text_bert");
  const int64_t n = static_cast<int64_t>(expected.size());
  ASSERT_GT(n, 0);
  auto graph = ImportOnnx(kSrc + "/models/text_bert.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  auto specialised = SpecializeForBatch(*graph, n);
  ASSERT_TRUE(specialised.ok()) << specialised.status().ToString();
  auto model = CompiledModel::Compile(*specialised, ExecutorOptions{});
  ASSERT_TRUE(model.ok()) << model.status().ToString();

  std::map<std::string, Tensor> by_name;
  for (const char* name : {"input_ids", "attention_mask"}) {
    auto array = ReadNpy(kSrc + "/models/text_bert.test." + name + ".npy");
    ASSERT_TRUE(array.ok()) << array.status().ToString();
    ASSERT_EQ(array->dtype, DType::kI32) << name;
    ASSERT_EQ(array->shape.size(), 2u) << name;
    ASSERT_GE(array->shape[0], n) << name;
    by_name[name] = FirstRowsAsInt64(*array, n);
  }
  // Some of the sequences compared are padded, so the mask matters.
  const Tensor& mask = by_name["attention_mask"];
  ASSERT_LT(std::count(mask.data<int64_t>(), mask.data<int64_t>() + mask.size(), 1), mask.size());

  ASSERT_EQ(specialised->inputs.size(), 2u);
  std::vector<const Tensor*> inputs;
  for (const std::string& name : specialised->inputs) {
    ASSERT_EQ(by_name.count(name), 1u) << name;
    inputs.push_back(&by_name[name]);
  }
  std::vector<Tensor> outputs = (*model)->MakeOutputs();
  ASSERT_TRUE((*model)->Run(inputs, &outputs).ok());
  ExpectLogitsNear(outputs[0], expected, "text_bert");
}

}  // namespace
}  // namespace mixq
