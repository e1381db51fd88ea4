// Scale methods: from a tensor's calibration statistics to its INT8
// quantisation parameters. Each method picks a clipping threshold T on |x|;
// the tensor is then u8 when it is non-negative (min >= 0, e.g. after ReLU)
// and s8 otherwise, and dequant_scale = T / 255 (u8) or T / 127 (s8).
//
// The convention is named in the type: real = q * dequant_scale. oneDNN's
// output scales and ncnn's tables use the inverse (q = real * scale).
//
// Methods (minmax needs pass 1 only; the others the pass-2 histogram):
//   minmax      T = max|x| (max for non-negative tensors).
//   percentile  T = upper edge of the bin where the cumulative count of |x|
//               reaches `percentile` % (default 99.99).
//   kl          entropy calibration as TensorRT's entropy calibrator
//               describes it: among clipping points i (in bins, from the
//               number of levels to the bin count) choose the one minimising
//               KL(P || Q), P the histogram clipped at i with the outliers
//               folded into its last bin, Q the first i bins quantised to 128
//               (s8) or 256 (u8) levels and expanded back over P's non-empty
//               bins.
//   mse         T minimising the expected squared error per element computed
//               from the histogram (bin centres): clipping error (c - T)^2
//               above T, the uniform rounding error step^2 / 12 below it.
// A tensor whose values are all 0 gets T = 0 and dequant_scale = 1 (any
// scale represents it exactly; 0 would divide by zero when quantising).
#ifndef MIXQ_ENGINE_QUANT_SCALE_METHODS_H_
#define MIXQ_ENGINE_QUANT_SCALE_METHODS_H_

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/quant/tensor_stats.h"

namespace mixq {

enum class ScaleMethod { kMinMax, kPercentile, kKl, kMse };

const char* ScaleMethodName(ScaleMethod method);  // "minmax", "percentile", "kl", "mse"
StatusOr<ScaleMethod> ParseScaleMethod(const std::string& name);

struct ScaleOptions {
  ScaleMethod method = ScaleMethod::kMinMax;
  double percentile = 99.99;  // for kPercentile, in (0, 100]
};

struct QuantParams {
  float dequant_scale = 1.0f;  // real = q * dequant_scale
  bool is_unsigned = false;    // u8 in [0, 255], else s8 in [-127, 127]
  float threshold = 0.0f;      // the clipping threshold T
};

// The clipping threshold T >= 0 for `stats`, which is unsigned when
// `is_unsigned`. FailedPrecondition without the statistics a method needs,
// InvalidArgument for a percentile outside (0, 100].
StatusOr<float> ClipThreshold(const TensorStats& stats, bool is_unsigned,
                              const ScaleOptions& options);

// Activation parameters: u8 when min >= 0, s8 otherwise.
StatusOr<QuantParams> ActivationQuantParams(const TensorStats& stats, const ScaleOptions& options);
// The same for every tensor; errors name the tensor. Tensors listed in
// `full_range` (the graph inputs) always use minmax: a model's input is data
// with a range of its own (pixels), and clipping it is never wanted - a
// histogram method fooled by the input's spikes (a background value) clips
// real signal.
StatusOr<std::map<std::string, QuantParams>> ActivationQuantParams(
    const CalibrationStats& stats, const ScaleOptions& options,
    const std::vector<std::string>& full_range = {});

}  // namespace mixq

#endif  // MIXQ_ENGINE_QUANT_SCALE_METHODS_H_
