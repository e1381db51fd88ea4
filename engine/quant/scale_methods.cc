#include "engine/quant/scale_methods.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace mixq {
namespace {

// Threshold at the upper edge of the first `bins` histogram bins, never past
// the range (the edge of the last bin is the range itself).
float EdgeOf(const TensorStats& stats, size_t bins) {
  if (bins >= stats.hist.size()) return stats.hist_range;
  return static_cast<float>(static_cast<double>(bins) * stats.bin_width());
}

float PercentileThreshold(const TensorStats& stats, double percentile) {
  const double target = static_cast<double>(stats.HistogramTotal()) * percentile / 100.0;
  int64_t cumulative = 0;
  for (size_t i = 0; i < stats.hist.size(); ++i) {
    cumulative += stats.hist[i];
    if (static_cast<double>(cumulative) >= target) return EdgeOf(stats, i + 1);
  }
  return stats.hist_range;
}

// KL(P || Q) for clipping after `clip` bins, with `levels` quantisation levels.
double KlDivergence(const std::vector<int64_t>& hist, size_t clip, size_t levels) {
  std::vector<double> p(hist.begin(), hist.begin() + clip);
  for (size_t i = clip; i < hist.size(); ++i) p[clip - 1] += static_cast<double>(hist[i]);
  // Q: the unclipped first `clip` bins merged into `levels` groups, each
  // group's mass spread evenly over the bins that are non-empty in P.
  std::vector<double> q(clip, 0.0);
  for (size_t level = 0; level < levels; ++level) {
    const size_t begin = level * clip / levels;
    const size_t end = (level + 1) * clip / levels;
    double mass = 0.0;
    size_t nonzero = 0;
    for (size_t i = begin; i < end; ++i) {
      mass += static_cast<double>(hist[i]);
      nonzero += p[i] > 0.0 ? 1 : 0;
    }
    for (size_t i = begin; i < end; ++i) q[i] = p[i] > 0.0 ? mass / nonzero : 0.0;
  }
  double p_total = 0.0;
  double q_total = 0.0;
  for (size_t i = 0; i < clip; ++i) {
    p_total += p[i];
    q_total += q[i];
  }
  if (p_total == 0.0) return 0.0;
  if (q_total == 0.0) return std::numeric_limits<double>::infinity();
  double kl = 0.0;
  for (size_t i = 0; i < clip; ++i) {
    if (p[i] == 0.0) continue;
    const double pi = p[i] / p_total;
    // Q is empty where P holds only folded outliers: that clip loses
    // everything there, so it must cost, not be skipped.
    const double qi = q[i] > 0.0 ? q[i] / q_total : 1e-12;
    kl += pi * std::log(pi / qi);
  }
  return kl;
}

float KlThreshold(const TensorStats& stats, size_t levels) {
  const size_t bins = stats.hist.size();
  if (bins <= levels) return stats.hist_range;  // too coarse to clip
  // The first bin is left out: values that small quantise to 0 or one step
  // at every candidate threshold, so they say nothing about the choice. Kept
  // in, the spike of exact zeros after a ReLU is smeared over its whole
  // quantisation group in Q, and the divergence grows with the threshold
  // for that reason alone: KL then clips ReLU outputs far too hard.
  std::vector<int64_t> hist = stats.hist;
  hist[0] = 0;
  size_t best = bins;
  double best_kl = std::numeric_limits<double>::infinity();
  for (size_t clip = levels; clip <= bins; ++clip) {
    const double kl = KlDivergence(hist, clip, levels);
    if (kl < best_kl) {
      best_kl = kl;
      best = clip;
    }
  }
  return EdgeOf(stats, best);
}

float MseThreshold(const TensorStats& stats, double max_q) {
  const size_t bins = stats.hist.size();
  const double width = stats.bin_width();
  // Suffix sums of n, n*c and n*c^2 give the clipping error of any T in O(1).
  std::vector<double> s0(bins + 1, 0.0), s1(bins + 1, 0.0), s2(bins + 1, 0.0);
  for (size_t i = bins; i-- > 0;) {
    const double n = static_cast<double>(stats.hist[i]);
    const double c = (static_cast<double>(i) + 0.5) * width;
    s0[i] = s0[i + 1] + n;
    s1[i] = s1[i + 1] + n * c;
    s2[i] = s2[i + 1] + n * c * c;
  }
  size_t best = bins;
  double best_error = std::numeric_limits<double>::infinity();
  for (size_t k = 1; k <= bins; ++k) {
    const double t = static_cast<double>(k) * width;
    const double step = t / max_q;
    const double clip_error = s2[k] - 2.0 * t * s1[k] + t * t * s0[k];
    const double round_error = (s0[0] - s0[k]) * step * step / 12.0;
    const double error = clip_error + round_error;
    if (error < best_error) {
      best_error = error;
      best = k;
    }
  }
  return EdgeOf(stats, best);
}

}  // namespace

const char* ScaleMethodName(ScaleMethod method) {
  switch (method) {
    case ScaleMethod::kMinMax:
      return "minmax";
    case ScaleMethod::kPercentile:
      return "percentile";
    case ScaleMethod::kKl:
      return "kl";
    case ScaleMethod::kMse:
      return "mse";
  }
  return "?";
}

StatusOr<ScaleMethod> ParseScaleMethod(const std::string& name) {
  for (ScaleMethod m :
       {ScaleMethod::kMinMax, ScaleMethod::kPercentile, ScaleMethod::kKl, ScaleMethod::kMse}) {
    if (name == ScaleMethodName(m)) return m;
  }
  return InvalidArgument("unknown scale method '" + name +
                         "' (expected minmax, percentile, kl or mse)");
}

StatusOr<float> ClipThreshold(const TensorStats& stats, bool is_unsigned,
                              const ScaleOptions& options) {
  if (!stats.has_range()) return FailedPrecondition("no range observed (pass 1 missing)");
  if (options.method == ScaleMethod::kMinMax) {
    return is_unsigned ? stats.max : std::max(std::fabs(stats.min), std::fabs(stats.max));
  }
  if (!stats.has_histogram()) {
    return FailedPrecondition(std::string("method '") + ScaleMethodName(options.method) +
                              "' needs the pass-2 histogram");
  }
  if (stats.HistogramTotal() == 0 || stats.hist_range == 0.0f) return stats.hist_range;
  switch (options.method) {
    case ScaleMethod::kPercentile:
      if (!(options.percentile > 0.0 && options.percentile <= 100.0)) {
        return InvalidArgument("percentile must be in (0, 100], got " +
                               std::to_string(options.percentile));
      }
      return PercentileThreshold(stats, options.percentile);
    case ScaleMethod::kKl:
      return KlThreshold(stats, is_unsigned ? 256 : 128);
    case ScaleMethod::kMse:
      return MseThreshold(stats, is_unsigned ? 255.0 : 127.0);
    case ScaleMethod::kMinMax:
      break;
  }
  return Internal("unhandled scale method");
}

StatusOr<QuantParams> ActivationQuantParams(const TensorStats& stats, const ScaleOptions& options) {
  QuantParams params;
  params.is_unsigned = stats.has_range() && stats.min >= 0.0f;
  MIXQ_ASSIGN_OR_RETURN(params.threshold, ClipThreshold(stats, params.is_unsigned, options));
  params.dequant_scale =
      params.threshold > 0.0f ? params.threshold / (params.is_unsigned ? 255.0f : 127.0f) : 1.0f;
  return params;
}

StatusOr<std::map<std::string, QuantParams>> ActivationQuantParams(
    const CalibrationStats& stats, const ScaleOptions& options,
    const std::vector<std::string>& full_range) {
  ScaleOptions minmax = options;
  minmax.method = ScaleMethod::kMinMax;
  std::map<std::string, QuantParams> params;
  for (const auto& [name, tensor] : stats) {
    const bool exact = std::find(full_range.begin(), full_range.end(), name) != full_range.end();
    StatusOr<QuantParams> one = ActivationQuantParams(tensor, exact ? minmax : options);
    if (!one.ok()) return one.status().WithContext("tensor '" + name + "'");
    params[name] = *one;
  }
  return params;
}

}  // namespace mixq
