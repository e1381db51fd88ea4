// Calibrating 300 samples as 3 shards of 100 and merging must give the same
// statistics and scales, bit for bit, as one pass over all 300.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/quant/scale_methods.h"
#include "engine/quant/tensor_stats.h"

namespace mixq {
namespace {

constexpr int kSamples = 300;
constexpr int kElements = 512;

struct Sample {
  std::vector<float> relu;     // ReLU output: about half zeros, a long tail
  std::vector<float> signed_;  // a residual-style signed tensor
};

std::vector<Sample> MakeSamples() {
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.2f, 1.0f);
  std::exponential_distribution<float> tail(0.5f);
  std::vector<Sample> samples(kSamples);
  for (Sample& s : samples) {
    for (int i = 0; i < kElements; ++i) {
      const float pre = normal(rng) + (i % 97 == 0 ? tail(rng) : 0.0f);
      s.relu.push_back(pre > 0.0f ? pre : 0.0f);
      s.signed_.push_back(normal(rng) * 0.7f - 0.1f);
    }
  }
  return samples;
}

void Observe(const std::vector<Sample>& samples, int begin, int end, bool histogram,
             CalibrationStats* stats) {
  for (int i = begin; i < end; ++i) {
    const Sample& s = samples[static_cast<size_t>(i)];
    if (histogram) {
      ASSERT_TRUE(ObserveHistogram(s.relu.data(), kElements, &(*stats)["relu"]).ok());
      ASSERT_TRUE(ObserveHistogram(s.signed_.data(), kElements, &(*stats)["signed"]).ok());
    } else {
      ObserveRange(s.relu.data(), kElements, &(*stats)["relu"]);
      ObserveRange(s.signed_.data(), kElements, &(*stats)["signed"]);
    }
  }
}

bool SameBits(const QuantParams& a, const QuantParams& b) {
  return std::memcmp(&a.dequant_scale, &b.dequant_scale, sizeof(float)) == 0 &&
         std::memcmp(&a.threshold, &b.threshold, sizeof(float)) == 0 &&
         a.is_unsigned == b.is_unsigned;
}

TEST(ShardedCalibration, ThreeMergedShardsEqualOnePassBitForBit) {
  const std::vector<Sample> samples = MakeSamples();

  CalibrationStats whole;
  Observe(samples, 0, kSamples, false, &whole);
  ASSERT_TRUE(InitHistograms(kDefaultHistogramBins, &whole).ok());
  Observe(samples, 0, kSamples, true, &whole);

  // Pass 1 on each shard, merged in a different order than the shards ran.
  std::vector<CalibrationStats> shards(3);
  for (int k = 0; k < 3; ++k) Observe(samples, 100 * k, 100 * (k + 1), false, &shards[k]);
  CalibrationStats range;
  for (int k : {2, 0, 1}) ASSERT_TRUE(Merge(shards[k], &range).ok());
  ASSERT_TRUE(InitHistograms(kDefaultHistogramBins, &range).ok());
  // Pass 2: every shard starts from the merged range, sent as JSON as the
  // coordinator would, and its result comes back as JSON too.
  CalibrationStats merged;
  for (int k : {1, 2, 0}) {
    StatusOr<CalibrationStats> start =
        StatsFromJson(nlohmann::json::parse(StatsToJson(range).dump()));
    ASSERT_TRUE(start.ok());
    Observe(samples, 100 * k, 100 * (k + 1), true, &*start);
    StatusOr<CalibrationStats> back =
        StatsFromJson(nlohmann::json::parse(StatsToJson(*start).dump()));
    ASSERT_TRUE(back.ok());
    ASSERT_TRUE(Merge(*back, &merged).ok());
  }

  ASSERT_EQ(merged, whole);
  EXPECT_EQ(whole.at("relu").HistogramTotal(), int64_t{kSamples} * kElements);
  EXPECT_EQ(whole.at("relu").min, 0.0f);
  EXPECT_LT(whole.at("signed").min, 0.0f);

  for (ScaleMethod method :
       {ScaleMethod::kMinMax, ScaleMethod::kPercentile, ScaleMethod::kKl, ScaleMethod::kMse}) {
    ScaleOptions options;
    options.method = method;
    auto from_whole = ActivationQuantParams(whole, options);
    auto from_merged = ActivationQuantParams(merged, options);
    ASSERT_TRUE(from_whole.ok() && from_merged.ok()) << ScaleMethodName(method);
    for (const std::string name : {"relu", "signed"}) {
      EXPECT_TRUE(SameBits(from_whole->at(name), from_merged->at(name)))
          << ScaleMethodName(method) << " " << name;
      EXPECT_GT(from_whole->at(name).dequant_scale, 0.0f);
    }
    EXPECT_TRUE(from_whole->at("relu").is_unsigned);
    EXPECT_FALSE(from_whole->at("signed").is_unsigned);
  }
}

}  // namespace
}  // namespace mixq
