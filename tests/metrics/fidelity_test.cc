// Label-free fidelity (metrics/fidelity.h) and the order-free sums under it
// (metrics/exact_sum.h): hand-computed SQNR and cosine, and shards merged in
// any order giving the bits of one pass.
#include "metrics/fidelity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "metrics/exact_sum.h"

namespace mixq {
namespace {

Tensor Make(const Shape& shape, const std::vector<float>& values) {
  Tensor t(DType::kF32, shape);
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

TEST(ExactSum, TheOrderOfTermsDoesNotChangeTheBits) {
  // In doubles, (1e20 + 1) - 1e20 is 0 but 1e20 - 1e20 + 1 is 1.
  ExactSum a, b;
  for (double v : {1e20, 1.0, -1e20}) a.Add(v);
  for (double v : {1e20, -1e20, 1.0}) b.Add(v);
  EXPECT_EQ(a.Value(), 1.0);
  EXPECT_EQ(b.Value(), 1.0);
  EXPECT_TRUE(a == b);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> mantissa(-1, 1);
  std::uniform_int_distribution<int> exponent(-200, 200);
  std::vector<double> terms(5000);
  for (double& t : terms) t = std::ldexp(mantissa(rng), exponent(rng));
  ExactSum forward, shuffled, merged, left, right;
  for (double t : terms) forward.Add(t);
  std::shuffle(terms.begin(), terms.end(), rng);
  for (double t : terms) shuffled.Add(t);
  for (size_t i = 0; i < terms.size(); ++i) (i % 3 ? left : right).Add(terms[i]);
  merged.Merge(right);
  merged.Merge(left);
  EXPECT_TRUE(forward == shuffled);
  EXPECT_TRUE(forward == merged);
  EXPECT_EQ(forward.Value(), merged.Value());
}

TEST(ExactSum, NonFiniteTermsAndOverflowMakeItInvalidNotWrong) {
  ExactSum s;
  s.Add(1.0);
  s.Add(std::numeric_limits<double>::infinity());
  EXPECT_FALSE(s.valid());
  EXPECT_TRUE(std::isnan(s.Value()));
  ExactSum big;
  big.Add(std::ldexp(1.0, 400));
  EXPECT_FALSE(big.valid());
  ExactSum tiny;  // below 2^-320: dropped, the same way in any order
  tiny.Add(std::ldexp(1.0, -400));
  EXPECT_TRUE(tiny.valid());
  EXPECT_EQ(tiny.Value(), 0.0);
}

TEST(FidelityStats, HandComputedSqnrAndCosine) {
  FidelityStats stats;
  // Sample 0: ref (1, 0), out (1, 1): signal 1, noise 1, cos 1/sqrt(2).
  // Sample 1: ref (0, 2), out (0, 2): signal 4, noise 0, cos 1.
  ASSERT_TRUE(stats.Add({"y"}, {Make({2, 2}, {1, 0, 0, 2})}, {Make({2, 2}, {1, 1, 0, 2})}).ok());
  ASSERT_EQ(stats.outputs().size(), 1u);
  const OutputFidelity& f = stats.outputs()[0];
  EXPECT_EQ(f.samples, 2);
  EXPECT_DOUBLE_EQ(f.signal.Value(), 5.0);
  EXPECT_DOUBLE_EQ(f.noise.Value(), 1.0);
  EXPECT_DOUBLE_EQ(f.SqnrDb(), 10 * std::log10(5.0));
  EXPECT_DOUBLE_EQ(f.MeanCosine(), (1 / std::sqrt(2.0) + 1) / 2);

  FidelityStats same;
  ASSERT_TRUE(same.Add({"y"}, {Make({1, 3}, {1, 2, 3})}, {Make({1, 3}, {1, 2, 3})}).ok());
  EXPECT_TRUE(std::isinf(same.outputs()[0].SqnrDb()));
  EXPECT_EQ(same.outputs()[0].MeanCosine(), 1.0);
  FidelityStats zeros;  // both all zero: cos 1; one all zero: cos 0
  ASSERT_TRUE(zeros.Add({"y"}, {Make({2, 2}, {0, 0, 1, 1})}, {Make({2, 2}, {0, 0, 0, 0})}).ok());
  EXPECT_DOUBLE_EQ(zeros.outputs()[0].MeanCosine(), 0.5);
}

TEST(FidelityStats, ShardsMergedInAnyOrderGiveOnePassesBits) {
  std::mt19937 rng(3);
  std::normal_distribution<float> value(0, 3);
  const int samples = 60, width = 17;
  std::vector<float> ref(samples * width), out(samples * width);
  for (int i = 0; i < samples * width; ++i) {
    ref[i] = value(rng);
    out[i] = ref[i] + 0.05f * value(rng);
  }
  auto slice = [&](const std::vector<float>& v, int begin, int end) {
    return Make({end - begin, width},
                std::vector<float>(v.begin() + begin * width, v.begin() + end * width));
  };
  FidelityStats whole;
  for (int b = 0; b < samples; b += 7) {  // batches of 7
    const int e = std::min(samples, b + 7);
    ASSERT_TRUE(whole.Add({"logits"}, {slice(ref, b, e)}, {slice(out, b, e)}).ok());
  }
  const std::vector<std::pair<int, int>> shards = {{0, 25}, {25, 26}, {26, 60}};
  std::vector<FidelityStats> parts(shards.size());
  for (size_t s = 0; s < shards.size(); ++s) {
    ASSERT_TRUE(parts[s]
                    .Add({"logits"}, {slice(ref, shards[s].first, shards[s].second)},
                         {slice(out, shards[s].first, shards[s].second)})
                    .ok());
  }
  for (const std::vector<int>& order :
       std::vector<std::vector<int>>{{0, 1, 2}, {2, 0, 1}, {1, 2, 0}}) {
    FidelityStats merged;
    for (int s : order) {
      // Through the wire format, as a coordinator receives them.
      StatusOr<FidelityStats> parsed = FidelityStats::Parse(parts[s].Serialize(), "shard");
      ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
      ASSERT_TRUE(merged.Merge(*parsed).ok());
    }
    EXPECT_EQ(merged.Serialize(), whole.Serialize());
    EXPECT_EQ(merged.outputs()[0].SqnrDb(), whole.outputs()[0].SqnrDb());
    EXPECT_EQ(merged.outputs()[0].MeanCosine(), whole.outputs()[0].MeanCosine());
  }
  EXPECT_GT(whole.outputs()[0].SqnrDb(), 20.0);  // noise 1/60 of the signal: ~35.6 dB
  EXPECT_LT(whole.outputs()[0].SqnrDb(), 40.0);
}

TEST(FidelityStats, RefusesMismatchedOutputsAndCorruptBytes) {
  FidelityStats stats;
  EXPECT_FALSE(stats.Add({"y"}, {Make({1, 2}, {1, 2})}, {Make({2, 1}, {1, 2})}).ok());
  ASSERT_TRUE(stats.Add({"y"}, {Make({1, 2}, {1, 2})}, {Make({1, 2}, {1, 2})}).ok());
  EXPECT_FALSE(stats.Add({"z"}, {Make({1, 2}, {1, 2})}, {Make({1, 2}, {1, 2})}).ok());
  FidelityStats other;
  ASSERT_TRUE(other.Add({"z"}, {Make({1, 2}, {1, 2})}, {Make({1, 2}, {1, 2})}).ok());
  EXPECT_FALSE(stats.Merge(other).ok());
  const std::string bytes = stats.Serialize();
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(FidelityStats::Parse(bytes.substr(0, cut), "cut").ok()) << cut;
  }
  std::string bad = bytes;
  bad[4] = 2;  // version
  EXPECT_FALSE(FidelityStats::Parse(bad, "bad").ok());
  EXPECT_FALSE(FidelityStats::Parse(bytes + "x", "trailing").ok());
}

}  // namespace
}  // namespace mixq
