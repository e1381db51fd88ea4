#include "engine/quant/scale_methods.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace mixq {
namespace {

// Both passes over one buffer.
TensorStats Calibrate(const std::vector<float>& x) {
  TensorStats stats;
  ObserveRange(x.data(), static_cast<int64_t>(x.size()), &stats);
  EXPECT_TRUE(InitHistogram(kDefaultHistogramBins, &stats).ok());
  EXPECT_TRUE(ObserveHistogram(x.data(), static_cast<int64_t>(x.size()), &stats).ok());
  return stats;
}

float Threshold(const TensorStats& stats, ScaleMethod method, double percentile = 99.99) {
  ScaleOptions options;
  options.method = method;
  options.percentile = percentile;
  StatusOr<QuantParams> params = ActivationQuantParams(stats, options);
  EXPECT_TRUE(params.ok()) << params.status().ToString();
  return params.ok() ? params->threshold : -1.0f;
}

std::vector<float> Gaussian(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = normal(rng);
  return x;
}

TEST(ScaleMethods, UniformNonNegativeIsU8AndNoMethodClipsMuch) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<float> x(200000);
  for (float& v : x) v = uniform(rng);
  const TensorStats stats = Calibrate(x);

  ScaleOptions minmax;
  StatusOr<QuantParams> params = ActivationQuantParams(stats, minmax);
  ASSERT_TRUE(params.ok());
  EXPECT_TRUE(params->is_unsigned);
  EXPECT_EQ(params->threshold, stats.max);
  EXPECT_EQ(params->dequant_scale, stats.max / 255.0f);
  // Clipping a uniform distribution only loses: KL and MSE keep almost all.
  EXPECT_GT(Threshold(stats, ScaleMethod::kKl), 0.95f * stats.max);
  EXPECT_GT(Threshold(stats, ScaleMethod::kMse), 0.95f * stats.max);
  EXPECT_GT(Threshold(stats, ScaleMethod::kPercentile), 0.999f * stats.max);
}

TEST(ScaleMethods, SignedTensorIsS8WithScaleOver127) {
  const std::vector<float> x = {-3.0f, 0.5f, 2.0f};
  const TensorStats stats = Calibrate(x);
  StatusOr<QuantParams> params = ActivationQuantParams(stats, ScaleOptions());
  ASSERT_TRUE(params.ok());
  EXPECT_FALSE(params->is_unsigned);
  EXPECT_EQ(params->threshold, 3.0f);
  EXPECT_EQ(params->dequant_scale, 3.0f / 127.0f);
}

TEST(ScaleMethods, PercentileOnAKnownHistogram) {
  TensorStats stats;
  stats.min = 0.0f;
  stats.max = 100.0f;
  stats.hist_range = 100.0f;
  stats.hist.assign(100, 1);  // one value per unit bin
  EXPECT_EQ(Threshold(stats, ScaleMethod::kPercentile, 50.0), 50.0f);
  EXPECT_EQ(Threshold(stats, ScaleMethod::kPercentile, 90.5), 91.0f);
  EXPECT_EQ(Threshold(stats, ScaleMethod::kPercentile, 100.0), 100.0f);
}

TEST(ScaleMethods, OutliersAreClippedByHistogramMethodsNotByMinMax) {
  // A million N(0, 1) values and two at +-30 sigma. MSE weighs the outliers'
  // squared clipping error 2 (30 - T)^2 against the rounding error
  // 1e6 (T / 127)^2 / 12: its optimum is near T = 8.4, far below 30.
  std::vector<float> x = Gaussian(1000000, 11);
  x.push_back(30.0f);
  x.push_back(-30.0f);
  const TensorStats stats = Calibrate(x);
  EXPECT_EQ(Threshold(stats, ScaleMethod::kMinMax), 30.0f);
  const float percentile = Threshold(stats, ScaleMethod::kPercentile);
  const float kl = Threshold(stats, ScaleMethod::kKl);
  const float mse = Threshold(stats, ScaleMethod::kMse);
  EXPECT_GT(percentile, 3.0f);  // 99.99 % of |N(0,1)| lies below 3.9
  EXPECT_LT(percentile, 5.0f);
  EXPECT_GT(kl, 1.8f);
  EXPECT_LT(kl, 8.0f);
  EXPECT_GT(mse, 6.0f);
  EXPECT_LT(mse, 11.0f);
}

TEST(ScaleMethods, KlOnAGaussianClipsBetweenTwoAndAHalfAndFiveSigma) {
  const std::vector<float> x = Gaussian(1000000, 3);
  const TensorStats stats = Calibrate(x);
  ASSERT_GT(stats.hist_range, 4.5f);  // the max of a million samples
  const float kl = Threshold(stats, ScaleMethod::kKl);
  EXPECT_GT(kl, 2.5f);
  EXPECT_LT(kl, 0.97f * stats.hist_range);  // it does clip the sparse tail
}

TEST(ScaleMethods, KlIsNotFooledByTheZeroSpikeOfAReluOutput) {
  // ReLU of a Gaussian: half the values exactly 0, the rest a half-normal.
  // The clip must fall in the tail of the non-zero half (TensorRT-style KL
  // lands around 3-4 sigma for a Gaussian), not near the spike.
  std::vector<float> x = Gaussian(200000, 11);
  for (float& v : x) v = std::max(v, 0.0f);
  TensorStats stats = Calibrate(x);
  const float kl = Threshold(stats, ScaleMethod::kKl);
  EXPECT_GT(kl, 2.5f);
  EXPECT_LT(kl, stats.max);
}

TEST(ScaleMethods, GraphInputsKeepTheirFullRange) {
  // An input with a spike (a background value) that fools histogram methods.
  std::vector<float> x(100000, -0.8f);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-0.8f, 2.0f);
  for (size_t i = 0; i < x.size() / 5; ++i) x[i] = uniform(rng);
  CalibrationStats stats = {{"input", Calibrate(x)}, {"hidden", Calibrate(x)}};
  ScaleOptions options;
  options.method = ScaleMethod::kKl;
  StatusOr<std::map<std::string, QuantParams>> params =
      ActivationQuantParams(stats, options, {"input"});
  ASSERT_TRUE(params.ok());
  EXPECT_FLOAT_EQ(params->at("input").threshold, stats["input"].max);
  EXPECT_LT(params->at("hidden").threshold, stats["hidden"].max);
}

TEST(ScaleMethods, MseClipsLessForU8ThanItsRoundingStepAllows) {
  // A half-normal (ReLU of a Gaussian with no zeros) quantised to u8 has a
  // finer step than s8, so the MSE-optimal threshold is at least as large.
  std::vector<float> x = Gaussian(300000, 5);
  for (float& v : x) v = std::fabs(v);
  const TensorStats u8 = Calibrate(x);
  std::vector<float> mirrored = x;
  mirrored.push_back(-u8.max);  // same |x| histogram range, but signed
  const TensorStats s8 = Calibrate(mirrored);
  const float t_u8 = Threshold(u8, ScaleMethod::kMse);
  const float t_s8 = Threshold(s8, ScaleMethod::kMse);
  EXPECT_GE(t_u8, t_s8);
  EXPECT_GT(t_s8, 2.0f);
  EXPECT_LT(t_s8, u8.max);
}

TEST(ScaleMethods, AllZeroTensorGetsUnitScale) {
  const std::vector<float> x(100, 0.0f);
  const TensorStats stats = Calibrate(x);
  for (ScaleMethod m :
       {ScaleMethod::kMinMax, ScaleMethod::kPercentile, ScaleMethod::kKl, ScaleMethod::kMse}) {
    ScaleOptions options;
    options.method = m;
    StatusOr<QuantParams> params = ActivationQuantParams(stats, options);
    ASSERT_TRUE(params.ok()) << ScaleMethodName(m);
    EXPECT_EQ(params->threshold, 0.0f);
    EXPECT_EQ(params->dequant_scale, 1.0f);
  }
}

TEST(ScaleMethods, MissingStatisticsAndBadOptionsAreRefused) {
  TensorStats range_only;
  const float v = 2.0f;
  ObserveRange(&v, 1, &range_only);
  ScaleOptions kl;
  kl.method = ScaleMethod::kKl;
  EXPECT_EQ(ActivationQuantParams(range_only, kl).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ActivationQuantParams(TensorStats(), ScaleOptions()).status().code(),
            StatusCode::kFailedPrecondition);

  const TensorStats stats = Calibrate({1.0f, 2.0f});
  ScaleOptions bad;
  bad.method = ScaleMethod::kPercentile;
  bad.percentile = 120.0;
  EXPECT_EQ(ActivationQuantParams(stats, bad).status().code(), StatusCode::kInvalidArgument);

  CalibrationStats named = {{"conv3/out", range_only}};
  auto all = ActivationQuantParams(named, kl);
  ASSERT_FALSE(all.ok());
  EXPECT_NE(all.status().message().find("conv3/out"), std::string::npos);
}

TEST(ScaleMethods, NamesRoundTrip) {
  for (ScaleMethod m :
       {ScaleMethod::kMinMax, ScaleMethod::kPercentile, ScaleMethod::kKl, ScaleMethod::kMse}) {
    StatusOr<ScaleMethod> parsed = ParseScaleMethod(ScaleMethodName(m));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, m);
  }
  EXPECT_EQ(ParseScaleMethod("entropy").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mixq
