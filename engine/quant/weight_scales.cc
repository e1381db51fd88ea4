#include "engine/quant/weight_scales.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

namespace mixq {
namespace {

// Row-major index arithmetic: element i belongs to channel (i / inner) % channels.
struct ChannelLayout {
  int64_t channels = 0;
  int64_t inner = 1;
};

StatusOr<ChannelLayout> LayoutOf(const Tensor& w, int axis) {
  if (w.dtype() != DType::kF32) {
    return InvalidArgument(std::string("weights must be float32, got ") + DTypeName(w.dtype()));
  }
  if (axis < 0 || axis >= w.rank()) {
    return InvalidArgument("channel axis " + std::to_string(axis) + " out of range for weights " +
                           ShapeToString(w.shape()));
  }
  ChannelLayout layout;
  layout.channels = w.shape()[static_cast<size_t>(axis)];
  for (int64_t d = axis + 1; d < w.rank(); ++d) layout.inner *= w.shape()[static_cast<size_t>(d)];
  return layout;
}

}  // namespace

StatusOr<WeightQuantParams> PerChannelWeightScales(const Tensor& w,
                                                   const WeightQuantOptions& options) {
  MIXQ_ASSIGN_OR_RETURN(ChannelLayout layout, LayoutOf(w, options.channel_axis));
  WeightQuantParams params;
  params.qmax = options.seven_bit ? 63 : 127;
  std::vector<float> max_abs(static_cast<size_t>(layout.channels), 0.0f);
  const float* data = w.data<float>();
  for (int64_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(data[i])) {
      return InvalidArgument("non-finite weight at flat index " + std::to_string(i));
    }
    float& m = max_abs[static_cast<size_t>((i / layout.inner) % layout.channels)];
    m = std::max(m, std::fabs(data[i]));
  }
  params.dequant_scales.reserve(max_abs.size());
  for (float m : max_abs) {
    // A channel of subnormal weights would get a scale that rounds to 0 (and
    // 0 / 0 in QuantizeWeights); the smallest normal scale keeps its
    // quantised values within qmax.
    const float scale = m / static_cast<float>(params.qmax);
    params.dequant_scales.push_back(m > 0.0f ? std::max(scale, FLT_MIN) : 1.0f);
  }
  return params;
}

StatusOr<Tensor> QuantizeWeights(const Tensor& w, const WeightQuantParams& params,
                                 int channel_axis) {
  MIXQ_ASSIGN_OR_RETURN(ChannelLayout layout, LayoutOf(w, channel_axis));
  if (static_cast<int64_t>(params.dequant_scales.size()) != layout.channels) {
    return InvalidArgument("weights have " + std::to_string(layout.channels) + " channels but " +
                           std::to_string(params.dequant_scales.size()) + " scales were given");
  }
  Tensor q(DType::kI8, w.shape());
  const float* data = w.data<float>();
  int8_t* out = q.data<int8_t>();
  const float qmax = static_cast<float>(params.qmax);
  for (int64_t i = 0; i < w.size(); ++i) {
    const float scale =
        params.dequant_scales[static_cast<size_t>((i / layout.inner) % layout.channels)];
    out[i] = static_cast<int8_t>(std::clamp(std::nearbyint(data[i] / scale), -qmax, qmax));
  }
  return q;
}

}  // namespace mixq
