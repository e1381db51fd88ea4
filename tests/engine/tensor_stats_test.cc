#include "engine/quant/tensor_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace mixq {
namespace {

TEST(TensorStats, RangeSkipsNonFiniteAndHistogramCountsThem) {
  const std::vector<float> x = {-2.0f, 1.0f, std::nanf(""), std::numeric_limits<float>::infinity(),
                                3.0f};
  TensorStats stats;
  ObserveRange(x.data(), static_cast<int64_t>(x.size()), &stats);
  EXPECT_EQ(stats.min, -2.0f);
  EXPECT_EQ(stats.max, 3.0f);
  ASSERT_TRUE(InitHistogram(3, &stats).ok());
  EXPECT_EQ(stats.hist_range, 3.0f);
  ASSERT_TRUE(ObserveHistogram(x.data(), static_cast<int64_t>(x.size()), &stats).ok());
  // |x| = 2, 1, 3 over [0, 3] in 3 bins: [0,1) [1,2) [2,3].
  EXPECT_EQ(stats.hist, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(stats.nonfinite, 2);
}

TEST(TensorStats, HistogramBeforeRangeOrInitIsRefused) {
  TensorStats stats;
  EXPECT_EQ(InitHistogram(16, &stats).code(), StatusCode::kFailedPrecondition);
  const float x = 1.0f;
  EXPECT_EQ(ObserveHistogram(&x, 1, &stats).code(), StatusCode::kFailedPrecondition);
  ObserveRange(&x, 1, &stats);
  EXPECT_EQ(InitHistogram(0, &stats).code(), StatusCode::kInvalidArgument);
}

TEST(TensorStats, MergingHistogramsOverDifferentRangesIsRefused) {
  TensorStats a, b;
  const float one = 1.0f, two = 2.0f;
  ObserveRange(&one, 1, &a);
  ObserveRange(&two, 1, &b);
  ASSERT_TRUE(InitHistogram(8, &a).ok());
  ASSERT_TRUE(InitHistogram(8, &b).ok());
  EXPECT_EQ(Merge(b, &a).code(), StatusCode::kInvalidArgument);
}

TEST(TensorStats, JsonRoundTripIsExact) {
  CalibrationStats stats;
  TensorStats& odd = stats["conv1/out"];
  odd.min = -0.0f;
  odd.max = 0.1f;
  odd.hist_range = std::numeric_limits<float>::denorm_min();
  odd.hist = {0, 1, int64_t{1} << 40, 7};
  odd.nonfinite = 3;
  stats["never_seen"] = TensorStats();  // min = +inf, max = -inf
  stats["third"].min = 1.0f / 3.0f;
  stats["third"].max = std::nextafter(1.0f, 2.0f);

  const std::string text = StatsToJson(stats).dump();
  StatusOr<CalibrationStats> back = StatsFromJson(nlohmann::json::parse(text));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, stats);
  EXPECT_TRUE(std::signbit(back->at("conv1/out").min));
  EXPECT_EQ(back->at("never_seen").min, std::numeric_limits<float>::infinity());
  EXPECT_EQ(StatsToJson(*back).dump(), text);
}

TEST(TensorStats, MalformedJsonNamesTensorAndKey) {
  nlohmann::json doc = StatsToJson({{"relu1", TensorStats()}});
  doc["tensors"]["relu1"]["max"] = "twelve";
  StatusOr<CalibrationStats> bad = StatsFromJson(doc);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("relu1"), std::string::npos);
  EXPECT_NE(bad.status().message().find("max"), std::string::npos);

  doc = StatsToJson({{"relu1", TensorStats()}});
  doc["tensors"]["relu1"]["hist"] = {1, -1};
  EXPECT_FALSE(StatsFromJson(doc).ok());
  doc = StatsToJson({{"relu1", TensorStats()}});
  doc["tensors"]["relu1"].erase("nonfinite");
  EXPECT_FALSE(StatsFromJson(doc).ok());
  EXPECT_FALSE(StatsFromJson(nlohmann::json::array()).ok());
}

}  // namespace
}  // namespace mixq
