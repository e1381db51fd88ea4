// Test helper: a min/max calibration of a model computed directly from FP32
// runs on Fashion-MNIST test images (ExecutorOptions::extra_outputs =
// CalibrationPoints()), independent of mixq's calibration module, so QDQ
// tests have realistic activation scales without `mixq calibrate`.
#ifndef MIXQ_TESTS_ENGINE_MINMAX_CALIBRATION_H_
#define MIXQ_TESTS_ENGINE_MINMAX_CALIBRATION_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "common/dataset.h"
#include "engine/ir/graph.h"
#include "engine/passes/specialize.h"
#include "engine/quant/calibration_file.h"
#include "engine/runtime/executor.h"

namespace mixq::test {

// Samples [begin, begin + count) of `dataset`, one batch.
inline Calibration MinMaxCalibration(const Graph& graph, const Dataset& dataset, int64_t begin,
                                     int64_t count) {
  Calibration calibration;
  auto specialised = SpecializeForBatch(graph, count);
  EXPECT_TRUE(specialised.ok()) << specialised.status().ToString();
  if (!specialised.ok()) return calibration;
  ExecutorOptions options;
  options.extra_outputs = CalibrationPoints(*specialised, options);
  auto model = CompiledModel::Compile(*specialised, options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return calibration;
  Tensor batch(DType::kF32, (*model)->input_infos()[0].shape);
  EXPECT_TRUE(dataset.Fill(begin, count, &batch, nullptr).ok());
  std::vector<Tensor> outputs = (*model)->MakeOutputs();
  EXPECT_TRUE((*model)->Run({&batch}, &outputs).ok());
  const size_t first_extra = outputs.size() - options.extra_outputs.size();
  for (size_t k = 0; k < options.extra_outputs.size(); ++k) {
    const Tensor& t = outputs[first_extra + k];
    float lo = 0.0f;
    float hi = 0.0f;
    for (int64_t i = 0; i < t.size(); ++i) {
      lo = std::min(lo, t.data<float>()[i]);
      hi = std::max(hi, t.data<float>()[i]);
    }
    QuantParams p;
    p.is_unsigned = lo >= 0.0f;
    p.threshold = std::max(hi, -lo);
    p.dequant_scale = p.threshold > 0 ? p.threshold / (p.is_unsigned ? 255.0f : 127.0f) : 1.0f;
    calibration.activations[options.extra_outputs[k]] = p;
  }
  calibration.provenance = {
      {"tool", "tests/engine/minmax_calibration.h"}, {"begin", begin}, {"samples", count}};
  return calibration;
}

}  // namespace mixq::test

#endif  // MIXQ_TESTS_ENGINE_MINMAX_CALIBRATION_H_
