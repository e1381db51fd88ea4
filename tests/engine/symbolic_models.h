// Small ONNX models whose inputs have symbolic height and width, as models
// from other frameworks declare them, for the tests of fixed input shapes
// (--input-shape, input_shape) in the worker and distributed tests.
#ifndef MIXQ_TESTS_ENGINE_SYMBOLIC_MODELS_H_
#define MIXQ_TESTS_ENGINE_SYMBOLIC_MODELS_H_

#include <random>
#include <string>
#include <vector>

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

}  // namespace mixq::testing

#endif  // MIXQ_TESTS_ENGINE_SYMBOLIC_MODELS_H_
