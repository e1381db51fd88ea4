// Helpers for INT8 executor tests: minmax activation parameters from an FP32
// run that exposes every calibration point, all-INT8 specs, relative error.
#ifndef MIXQ_TESTS_ENGINE_INT8_TEST_UTIL_H_
#define MIXQ_TESTS_ENGINE_INT8_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engine/quant/scale_methods.h"
#include "engine/quant/tensor_stats.h"
#include "engine/quant/weight_scales.h"
#include "engine/runtime/executor.h"

namespace mixq::testing {

// Min/max statistics of every calibration point of `graph` over `runs` (the
// graph's inputs, in order, for each run).
inline CalibrationStats MinMaxStatsOfRuns(const Graph& graph,
                                          const std::vector<std::vector<const Tensor*>>& runs) {
  ExecutorOptions options;
  options.extra_outputs = CalibrationPoints(graph, options);
  CalibrationStats stats;
  auto model = CompiledModel::Compile(graph, options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  if (!model.ok()) return stats;
  std::vector<Tensor> outputs = (*model)->MakeOutputs();
  const size_t first = graph.outputs.size();
  for (const std::vector<const Tensor*>& feeds : runs) {
    Status status = (*model)->Run(feeds, &outputs);
    EXPECT_TRUE(status.ok()) << status.ToString();
    for (size_t i = 0; i < options.extra_outputs.size(); ++i) {
      const Tensor& t = outputs[first + i];
      ObserveRange(t.data<float>(), t.size(), &stats[options.extra_outputs[i]]);
    }
  }
  return stats;
}

// Runs of a one-input graph, one per tensor of `inputs`.
inline std::vector<std::vector<const Tensor*>> OneInputRuns(
    const std::vector<const Tensor*>& inputs) {
  std::vector<std::vector<const Tensor*>> runs;
  for (const Tensor* x : inputs) runs.push_back({x});
  return runs;
}

// The same over the batches in `inputs` (one input tensor per run).
inline CalibrationStats MinMaxStats(const Graph& graph, const std::vector<const Tensor*>& inputs) {
  return MinMaxStatsOfRuns(graph, OneInputRuns(inputs));
}

// Minmax parameters of every calibration point over `runs`.
inline std::map<std::string, QuantParams> MinMaxParamsOfRuns(
    const Graph& graph, const std::vector<std::vector<const Tensor*>>& runs) {
  ScaleOptions options;
  options.method = ScaleMethod::kMinMax;
  auto params = ActivationQuantParams(MinMaxStatsOfRuns(graph, runs), options);
  EXPECT_TRUE(params.ok()) << params.status().ToString();
  return params.ok() ? *params : std::map<std::string, QuantParams>{};
}

inline std::map<std::string, QuantParams> MinMaxParams(const Graph& graph,
                                                       const std::vector<const Tensor*>& inputs) {
  return MinMaxParamsOfRuns(graph, OneInputRuns(inputs));
}

// oneDNN's ISAs from avx512_core_vnni up (bf16, amx) all have VNNI.
inline bool HasVnni(const std::string& isa) {
  for (const char* name : {"vnni", "bf16", "amx"}) {
    if (isa.find(name) != std::string::npos) return true;
  }
  return false;
}

// Every quantizable layer INT8, with `params`. Without VNNI the weights are
// 7-bit: the tests' uniform weights and full-range inputs would saturate
// (seven_bit_weights_test.cc shows that on its own).
inline QuantSpec AllInt8(const Graph& graph, std::map<std::string, QuantParams> params) {
  QuantSpec spec;
  if (!HasVnni(EffectiveIsaName())) spec.seven_bit = SevenBitWeights::kAll;
  for (const std::string& name : graph.QuantizableLayers()) spec.layers[name] = Precision::kInt8;
  spec.activations = std::move(params);
  return spec;
}

// ||a - e|| / ||e||.
inline double RelativeError(const Tensor& actual, const Tensor& expected) {
  EXPECT_EQ(actual.shape(), expected.shape());
  double num = 0, den = 0;
  for (int64_t i = 0; i < expected.size(); ++i) {
    const double d = actual.data<float>()[i] - expected.data<float>()[i];
    num += d * d;
    den += static_cast<double>(expected.data<float>()[i]) * expected.data<float>()[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

// Fake quantisation, for references of INT8 layers: what an activation
// becomes when quantised with `p` (u8 or s8, saturating) and read back.
inline Tensor FakeQuantize(const Tensor& x, const QuantParams& p) {
  const float lo = p.is_unsigned ? 0.f : -128.f, hi = p.is_unsigned ? 255.f : 127.f;
  Tensor y(x);
  for (int64_t i = 0; i < y.size(); ++i) {
    const float q = std::nearbyint(x.data<float>()[i] / p.dequant_scale);
    y.data<float>()[i] = std::min(hi, std::max(lo, q)) * p.dequant_scale;
  }
  return y;
}

// Weights quantised per channel of `axis` (as the INT8 lowerings do) and
// read back; their scales in `scales`.
inline Tensor FakeQuantizeWeights(const Tensor& w, int axis, bool seven_bit,
                                  std::vector<float>* scales) {
  auto params = PerChannelWeightScales(w, {axis, seven_bit});
  EXPECT_TRUE(params.ok()) << params.status().ToString();
  if (!params.ok()) return w;
  auto q = QuantizeWeights(w, *params, axis);
  EXPECT_TRUE(q.ok()) << q.status().ToString();
  if (!q.ok()) return w;
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < w.rank(); ++d) inner *= w.shape()[static_cast<size_t>(d)];
  const int64_t channels = w.shape()[static_cast<size_t>(axis)];
  Tensor y(w);
  for (int64_t i = 0; i < y.size(); ++i) {
    y.data<float>()[i] = static_cast<float>(q->data<int8_t>()[i]) *
                         params->dequant_scales[static_cast<size_t>((i / inner) % channels)];
  }
  *scales = params->dequant_scales;
  return y;
}

}  // namespace mixq::testing

#endif  // MIXQ_TESTS_ENGINE_INT8_TEST_UTIL_H_
