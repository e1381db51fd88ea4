// Small ONNX models whose inputs have symbolic height and width, as models
// from other frameworks declare them, for the tests of fixed input shapes
// (--input-shape, input_shape) in the engine, worker, command-line and
// distributed tests, and the counts they are checked against.
#ifndef MIXQ_TESTS_ENGINE_SYMBOLIC_MODELS_H_
#define MIXQ_TESTS_ENGINE_SYMBOLIC_MODELS_H_

#include <random>
#include <string>
#include <vector>

#include "common/dataset.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/passes/input_shapes.h"
#include "engine/runtime/evaluator.h"
#include "tests/common/shipped_files.h"
#include "tests/engine/onnx_test_util.h"

namespace mixq::testing {

// x [N,1,H,W] -> Conv 4x1x3x3 (pad 1) -> Relu -> GlobalAveragePool ->
// Flatten -> Gemm 10x4 -> y [N,10]: a classifier of any image size, with
// fixed-seed random weights. Serialized ModelProto.
inline std::string SymbolicClassifier() {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.f, 1.f);
  auto random = [&](size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
  };
  auto model = NewModel(13);
  AddInput(&model, "x", {-1, 1, -1, -1});
  AddFloatInitializer(&model, "w", {4, 1, 3, 3}, random(36));
  AddFloatInitializer(&model, "fc_w", {10, 4}, random(40));
  AddFloatInitializer(&model, "fc_b", {10}, random(10));
  auto* conv = AddNode(&model, "Conv", {"x", "w"}, {"c"}, "conv");
  AddIntsAttr(conv, "pads", {1, 1, 1, 1});
  AddNode(&model, "Relu", {"c"}, {"r"}, "relu");
  AddNode(&model, "GlobalAveragePool", {"r"}, {"p"}, "pool");
  AddNode(&model, "Flatten", {"p"}, {"f"}, "flatten");
  auto* fc = AddNode(&model, "Gemm", {"f", "fc_w", "fc_b"}, {"y"}, "fc");
  AddIntAttr(fc, "transB", 1);
  AddOutput(&model, "y", {-1, 10});
  return Serialize(model);
}

// Evaluate() in this process of the SymbolicClassifier() file at `path`,
// its input fixed to [1,1,28,28], over the first `count` Fashion-MNIST test
// samples at `batch`, one thread: what every other way of running it must
// count.
inline StatusOr<EvalCounts> FixedClassifierCounts(const std::string& path, int64_t count,
                                                  int64_t batch) {
  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(path));
  MIXQ_RETURN_IF_ERROR(FixInputShapes({{"", {1, 1, 28, 28}}}, &graph));
  MIXQ_ASSIGN_OR_RETURN(DatasetSpec spec, LoadDatasetSpec(test::kFashionMnistTest));
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> dataset, Dataset::Open(spec));
  EvalOptions options;
  options.count = count;
  options.batch = batch;
  options.executor.threads = 1;
  return Evaluate(graph, *dataset, options);
}

}  // namespace mixq::testing

#endif  // MIXQ_TESTS_ENGINE_SYMBOLIC_MODELS_H_
