// Weight quantisation parameters: symmetric s8 scales per output channel
// (no zero point), dequant_scale[c] = max|w[c, ...]| / qmax, real = q * scale.
// qmax is 127, or 63 for 7-bit weights: CPUs without VNNI multiply u8 x s8
// with vpmaddubsw, whose s16 pair sums saturate; 7-bit weights keep them in
// range at a small cost in resolution.
#ifndef MIXQ_ENGINE_QUANT_WEIGHT_SCALES_H_
#define MIXQ_ENGINE_QUANT_WEIGHT_SCALES_H_

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "common/tensor.h"

namespace mixq {

struct WeightQuantOptions {
  // Conv OIHW and Gemm (transB=1) [N, K]: 0; ConvTranspose [C_in, C_out / group, ...]
  // and Gemm [K, N]: 1; MatMul [..., K, N]: the last.
  int channel_axis = 0;
  bool seven_bit = false;  // [-63, 63] instead of [-127, 127]
};

struct WeightQuantParams {
  std::vector<float> dequant_scales;  // one per output channel; 1 for all-zero channels
  int qmax = 127;                     // 127 or 63
};

// Per-channel scales of float32 weights `w`. InvalidArgument for another
// dtype, an axis out of range or a non-finite weight.
StatusOr<WeightQuantParams> PerChannelWeightScales(const Tensor& w,
                                                   const WeightQuantOptions& options);

// round(w / scale) clamped to [-qmax, qmax], same shape, dtype int8.
StatusOr<Tensor> QuantizeWeights(const Tensor& w, const WeightQuantParams& params,
                                 int channel_axis);

}  // namespace mixq

#endif  // MIXQ_ENGINE_QUANT_WEIGHT_SCALES_H_
