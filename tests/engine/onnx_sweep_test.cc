// Imports every model of ONNX's backend test suite whose ops mixq supports,
// specialises it to the shapes of its reference inputs and checks every
// output shape against the reference outputs. This exercises shape
// inference, attribute normalisation and Specialize on a few hundred real
// models written by ONNX's own exporters.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/ir/graph.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "tests/engine/onnx_test_util.h"

namespace mixq {
namespace {

struct SweepResult {
  int imported = 0;
  int unsupported = 0;
  std::vector<std::string> failures;
};

std::vector<std::string> DataFiles(const std::filesystem::path& dir, const std::string& prefix) {
  std::vector<std::string> files;
  for (int i = 0;; ++i) {
    auto path = dir / (prefix + std::to_string(i) + ".pb");
    if (!std::filesystem::exists(path)) break;
    files.push_back(path.string());
  }
  return files;
}

void CheckModel(const std::filesystem::path& dir, SweepResult* result) {
  const std::string model_path = (dir / "model.onnx").string();
  const std::string name = dir.filename().string();
  const auto data_dir = dir / "test_data_set_0";
  std::vector<std::string> inputs;
  auto frozen = testing::FreezeParameterInputs(model_path, DataFiles(data_dir, "input_"), &inputs);
  if (!frozen.ok()) return;
  auto graph = ImportOnnxFromBytes(*frozen, model_path);
  if (!graph.ok()) {
    if (graph.status().code() == StatusCode::kUnimplemented) {
      ++result->unsupported;
    } else {
      result->failures.push_back(name + ": import: " + graph.status().ToString());
    }
    return;
  }
  ++result->imported;
  const auto outputs = DataFiles(data_dir, "output_");
  if (inputs.size() != graph->inputs.size()) {
    // Some tests feed initializers as inputs too; only non-initializer
    // inputs are graph inputs here.
    if (inputs.size() < graph->inputs.size()) {
      result->failures.push_back(name + ": fewer reference inputs than graph inputs");
    }
    return;
  }
  std::map<std::string, Shape> shapes;
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto tensor = ReadTensorProtoFile(inputs[i]);
    if (!tensor.ok()) {
      result->failures.push_back(name + ": " + tensor.status().ToString());
      return;
    }
    shapes[graph->inputs[i]] = tensor->shape();
  }
  auto specialised = Specialize(*graph, shapes);
  if (!specialised.ok()) {
    result->failures.push_back(name + ": specialise: " + specialised.status().ToString());
    return;
  }
  for (size_t i = 0; i < outputs.size() && i < specialised->outputs.size(); ++i) {
    auto expected = ReadTensorProtoFile(outputs[i]);
    if (!expected.ok()) continue;  // e.g. a string or complex output
    const ValueInfo* info = specialised->FindValue(specialised->outputs[i]);
    if (info == nullptr) {
      result->failures.push_back(name + ": output " + specialised->outputs[i] + " has no info");
    } else if (info->shape != expected->shape()) {
      result->failures.push_back(name + ": output " + specialised->outputs[i] + " is " +
                                 ShapeToString(info->shape) + ", reference " +
                                 ShapeToString(expected->shape()));
    }
  }
}

SweepResult Sweep(const std::string& root) {
  std::vector<std::filesystem::path> dirs;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    if (std::filesystem::exists(entry.path() / "model.onnx")) dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());
  SweepResult result;
  for (const auto& dir : dirs) CheckModel(dir, &result);
  return result;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

TEST(OnnxSweep, NodeTestsImportWithReferenceOutputShapes) {
  const SweepResult result = Sweep(testing::kOnnxNodeDir);
  EXPECT_TRUE(result.failures.empty()) << Join(result.failures);
  // The suite has ~900 models; the supported op set covers a few hundred.
  EXPECT_GT(result.imported, 160) << "unsupported: " << result.unsupported;
}

TEST(OnnxSweep, PytorchConvertedImportWithReferenceOutputShapes) {
  const SweepResult result = Sweep(testing::kOnnxPytorchDir);
  EXPECT_TRUE(result.failures.empty()) << Join(result.failures);
  EXPECT_GT(result.imported, 50) << "unsupported: " << result.unsupported;
}

}  // namespace
}  // namespace mixq
