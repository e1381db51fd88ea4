#include "engine/quant/weight_scales.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

namespace mixq {
namespace {

Tensor MakeWeights(Shape shape, const std::vector<float>& values) {
  Tensor w(DType::kF32, std::move(shape));
  for (size_t i = 0; i < values.size(); ++i) w.data<float>()[i] = values[i];
  return w;
}

TEST(WeightScales, PerOutputChannelOfConvWeights) {
  // OIHW [3, 2, 1, 1]: channel maxima 2, 0.5 and 0 (an all-zero channel).
  const Tensor w = MakeWeights({3, 2, 1, 1}, {1.0f, -2.0f, 0.5f, -0.1f, 0.0f, 0.0f});
  StatusOr<WeightQuantParams> params = PerChannelWeightScales(w, WeightQuantOptions());
  ASSERT_TRUE(params.ok()) << params.status().ToString();
  EXPECT_EQ(params->qmax, 127);
  EXPECT_EQ(params->dequant_scales, (std::vector<float>{2.0f / 127, 0.5f / 127, 1.0f}));

  StatusOr<Tensor> q = QuantizeWeights(w, *params, 0);
  ASSERT_TRUE(q.ok());
  const int8_t* data = q->data<int8_t>();
  EXPECT_EQ(data[1], -127);
  EXPECT_EQ(data[2], 127);
  EXPECT_EQ(data[3], -25);  // -0.1 / (0.5 / 127) = -25.4
  EXPECT_EQ(data[4], 0);
}

// fuzz/regressions/qdq_model/subnormal-weights.onnx: a channel whose largest
// weight is subnormal got a scale that rounds to 0, and quantising it divided
// 0 by 0 (a NaN cast to int8: undefined behaviour).
TEST(WeightScales, SubnormalWeightsGetANonZeroScale) {
  const float tiny = std::numeric_limits<float>::denorm_min();
  const Tensor w = MakeWeights({2, 2}, {tiny, 0.0f, -3 * tiny, 1.0f});
  StatusOr<WeightQuantParams> params = PerChannelWeightScales(w, WeightQuantOptions());
  ASSERT_TRUE(params.ok()) << params.status().ToString();
  EXPECT_EQ(params->dequant_scales[0], std::numeric_limits<float>::min());
  EXPECT_EQ(params->dequant_scales[1], 1.0f / 127);
  StatusOr<Tensor> q = QuantizeWeights(w, *params, 0);
  ASSERT_TRUE(q.ok());
  const int8_t* data = q->data<int8_t>();
  EXPECT_EQ(data[0], 0);  // tiny / FLT_MIN rounds to 0
  EXPECT_EQ(data[1], 0);
  EXPECT_EQ(data[2], 0);
  EXPECT_EQ(data[3], 127);
}

TEST(WeightScales, SevenBitWeightsUse63) {
  const Tensor w = MakeWeights({2, 2}, {4.0f, -1.0f, 0.3f, -0.5f});
  WeightQuantOptions options;
  options.seven_bit = true;
  StatusOr<WeightQuantParams> params = PerChannelWeightScales(w, options);
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(params->qmax, 63);
  EXPECT_EQ(params->dequant_scales, (std::vector<float>{4.0f / 63, 0.5f / 63}));
  StatusOr<Tensor> q = QuantizeWeights(w, *params, 0);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(
      std::vector<int8_t>(q->data<int8_t>(), q->data<int8_t>() + 4),
      (std::vector<int8_t>{63, -16, 38, -63}));  // -1 / (4/63) = -15.75, 0.3 / (0.5/63) = 37.8
}

TEST(WeightScales, MatMulWeightsUseTheColumnAxis) {
  // [K=2, N=3]: output channels are columns.
  const Tensor w = MakeWeights({2, 3}, {1.0f, -6.0f, 0.0f, -3.0f, 2.0f, 0.5f});
  WeightQuantOptions options;
  options.channel_axis = 1;
  StatusOr<WeightQuantParams> params = PerChannelWeightScales(w, options);
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(params->dequant_scales, (std::vector<float>{3.0f / 127, 6.0f / 127, 0.5f / 127}));
}

TEST(WeightScales, RefusesBadInput) {
  WeightQuantOptions options;
  options.channel_axis = 2;
  EXPECT_EQ(PerChannelWeightScales(MakeWeights({2, 2}, {1, 2, 3, 4}), options).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(PerChannelWeightScales(Tensor(DType::kI8, {2}), WeightQuantOptions()).status().code(),
            StatusCode::kInvalidArgument);
  const Tensor nan = MakeWeights({2}, {1.0f, std::numeric_limits<float>::quiet_NaN()});
  EXPECT_EQ(PerChannelWeightScales(nan, WeightQuantOptions()).status().code(),
            StatusCode::kInvalidArgument);
  WeightQuantParams wrong;
  wrong.dequant_scales = {1.0f};
  EXPECT_FALSE(QuantizeWeights(MakeWeights({2, 2}, {1, 2, 3, 4}), wrong, 0).ok());
}

}  // namespace
}  // namespace mixq
