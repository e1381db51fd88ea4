// Naive LayerNormalization, InstanceNormalization and LRN in double, for the
// normalisation and LayerNorm-fusion tests. Row-major float tensors.
#ifndef MIXQ_TESTS_ENGINE_REFERENCE_NORM_H_
#define MIXQ_TESTS_ENGINE_REFERENCE_NORM_H_

#include <algorithm>
#include <cmath>
#include <functional>

#include "common/tensor.h"

namespace mixq::ref {

// Normalises each run of n elements of x (mean 0, variance 1 with epsilon)
// and stores affine(row, i, value) as element i of that row of the result;
// calls stats(row, mean, inv_std) per row when given.
inline Tensor NormalizeRows(const Tensor& x, int64_t n, float epsilon,
                            const std::function<double(int64_t, int64_t, double)>& affine,
                            const std::function<void(int64_t, double, double)>& stats = {}) {
  Tensor y(DType::kF32, x.shape());
  for (int64_t r = 0; n > 0 && r < x.size() / n; ++r) {
    const float* row = x.data<float>() + r * n;
    double sum = 0, squares = 0;
    for (int64_t i = 0; i < n; ++i) sum += row[i];
    const double mean = sum / n;
    for (int64_t i = 0; i < n; ++i) squares += (row[i] - mean) * (row[i] - mean);
    const double inv_std = 1.0 / std::sqrt(squares / n + epsilon);
    for (int64_t i = 0; i < n; ++i) {
      y.data<float>()[r * n + i] = static_cast<float>(affine(r, i, (row[i] - mean) * inv_std));
    }
    if (stats) stats(r, mean, inv_std);
  }
  return y;
}

// LayerNormalization over x's dims from `axis` on. A scale or bias (either
// may be null) with fewer elements than the normalised dims repeats along
// them (it broadcasts from the last dims). `mean` and `inv_std`, when not
// null, get the statistics shaped as x with the normalised dims 1.
inline Tensor LayerNorm(const Tensor& x, int64_t axis, const Tensor* scale, const Tensor* bias,
                        float epsilon, Tensor* mean = nullptr, Tensor* inv_std = nullptr) {
  int64_t n = 1;
  Shape stats_shape = x.shape();
  for (int64_t d = axis; d < x.rank(); ++d) {
    n *= x.shape()[d];
    stats_shape[d] = 1;
  }
  if (mean) *mean = Tensor(DType::kF32, stats_shape);
  if (inv_std) *inv_std = Tensor(DType::kF32, stats_shape);
  auto param = [](const Tensor* p, int64_t i, double fallback) {
    return p ? p->data<float>()[i % p->size()] : fallback;
  };
  return NormalizeRows(
      x, n, epsilon,
      [&](int64_t, int64_t i, double v) { return v * param(scale, i, 1) + param(bias, i, 0); },
      [&](int64_t r, double m, double inv) {
        if (mean) mean->data<float>()[r] = static_cast<float>(m);
        if (inv_std) inv_std->data<float>()[r] = static_cast<float>(inv);
      });
}

// InstanceNormalization of x [N, C, spatial...] with per-channel scale and bias.
inline Tensor InstanceNorm(const Tensor& x, const Tensor& scale, const Tensor& bias,
                           float epsilon) {
  const int64_t channels = x.shape()[1];
  return NormalizeRows(
      x, x.size() / (x.shape()[0] * channels), epsilon, [&](int64_t r, int64_t, double v) {
        return v * scale.data<float>()[r % channels] + bias.data<float>()[r % channels];
      });
}

// LRN as ONNX defines it: x / (bias + alpha / size * square_sum)^beta, where
// square_sum at channel c sums x^2 over the channels from
// c - floor((size - 1) / 2) to c + ceil((size - 1) / 2) (those that exist).
inline Tensor Lrn(const Tensor& x, int64_t size, double alpha, double beta, double bias) {
  Tensor y(DType::kF32, x.shape());
  const int64_t channels = x.shape()[1];
  const int64_t plane = x.size() / (x.shape()[0] * channels);
  const auto lo = static_cast<int64_t>(std::floor((size - 1) / 2.0));
  const auto hi = static_cast<int64_t>(std::ceil((size - 1) / 2.0));
  for (int64_t i = 0; i < x.size(); ++i) {
    const int64_t c = (i / plane) % channels;
    double square_sum = 0;
    for (int64_t k = std::max<int64_t>(0, c - lo); k <= std::min(channels - 1, c + hi); ++k) {
      const double v = x.data<float>()[i + (k - c) * plane];
      square_sum += v * v;
    }
    y.data<float>()[i] =
        static_cast<float>(x.data<float>()[i] / std::pow(bias + alpha / size * square_sum, beta));
  }
  return y;
}

}  // namespace mixq::ref

#endif  // MIXQ_TESTS_ENGINE_REFERENCE_NORM_H_
