// The confusion matrix, mIoU and pixel accuracy on a case computed by hand;
// the ignore index; argmax from logits; exact merges; the serialized form.
#include "metrics/segmentation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "metrics/byte_codec.h"

namespace mixq {
namespace {

SegmentationStats Make(int64_t classes, std::optional<int64_t> ignore = 255) {
  StatusOr<SegmentationStats> stats = SegmentationStats::Create(classes, ignore);
  EXPECT_TRUE(stats.ok()) << stats.status().ToString();
  return std::move(stats).value();
}

// Pixel 6 is labelled 255 (ignored, though predicted 2). The rest, as
// (label, predicted): (0,0) (0,1) (1,1) (1,1) (2,2) (2,0) (0,0), so rows
// (labels) [2 1 0], [0 2 0], [1 0 1]. IoU per class, TP / (row + column -
// TP): 2/4, 2/3, 1/2; mIoU = 5/9; pixel accuracy 5/7.
const std::vector<int64_t> kLabels = {0, 0, 1, 1, 2, 2, 255, 0};
const std::vector<int64_t> kPredicted = {0, 1, 1, 1, 2, 0, 2, 0};

TEST(SegmentationStats, HandComputedMatrixAndMeanIou) {
  SegmentationStats stats = Make(3);
  ASSERT_TRUE(stats.Add(kPredicted.data(), kLabels.data(), 8).ok());
  const int64_t expected[3][3] = {{2, 1, 0}, {0, 2, 0}, {1, 0, 1}};
  for (int l = 0; l < 3; ++l) {
    for (int p = 0; p < 3; ++p) EXPECT_EQ(stats.count(l, p), expected[l][p]) << l << "," << p;
  }
  EXPECT_EQ(stats.total(), 7);  // the ignored pixel is not counted
  EXPECT_DOUBLE_EQ(stats.MeanIoU(), 5.0 / 9);
  EXPECT_DOUBLE_EQ(stats.PixelAccuracy(), 5.0 / 7);
  const std::vector<double> iou = stats.ClassIoU();
  EXPECT_DOUBLE_EQ(iou[1], 2.0 / 3);
}

TEST(SegmentationStats, ClassesWithoutUnionAreLeftOutOfTheMean) {
  // A fourth class seen nowhere: no IoU, so the mean stays 5/9 (counting it
  // as 0 would give 5/12).
  SegmentationStats stats = Make(4);
  ASSERT_TRUE(stats.Add(kPredicted.data(), kLabels.data(), 8).ok());
  EXPECT_DOUBLE_EQ(stats.MeanIoU(), 5.0 / 9);
  EXPECT_TRUE(std::isnan(stats.ClassIoU()[3]));
  // A class only predicted has IoU 0 and counts: (1/2 + 0) / 2.
  SegmentationStats predicted_only = Make(2);
  const std::vector<int64_t> labels = {0, 0};
  const std::vector<int64_t> predicted = {0, 1};
  ASSERT_TRUE(predicted_only.Add(predicted.data(), labels.data(), 2).ok());
  EXPECT_DOUBLE_EQ(predicted_only.MeanIoU(), 0.25);
  EXPECT_EQ(Make(2).MeanIoU(), -1.0);
  EXPECT_EQ(Make(2).PixelAccuracy(), -1.0);
}

TEST(SegmentationStats, RefusesLabelsAndPredictionsOutOfRangeNamingTheValue) {
  SegmentationStats stats = Make(4);
  const std::vector<int64_t> labels = {0, 1, 2, 5};
  const std::vector<int64_t> predicted = {0, 1, 2, 3};
  Status s = stats.Add(predicted.data(), labels.data(), 4);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "label 5 at pixel 3 is outside [0, 4) and not the ignore index 255");
  EXPECT_EQ(stats.total(), 0);  // nothing of the batch was counted

  const std::vector<int64_t> bad_prediction = {0, -1, 2, 3};
  s = stats.Add(bad_prediction.data(), predicted.data(), 4);
  EXPECT_EQ(s.message(), "prediction -1 at pixel 1 is outside [0, 4) and not the ignore index 255");

  // Without an ignore index, 255 is just out of range.
  SegmentationStats no_ignore = Make(3, std::nullopt);
  s = no_ignore.Add(kPredicted.data(), kLabels.data(), 8);
  EXPECT_EQ(s.message(), "label 255 at pixel 6 is outside [0, 3)");

  EXPECT_FALSE(SegmentationStats::Create(3, 2).ok());  // the ignore index is a class
  EXPECT_FALSE(SegmentationStats::Create(0, 255).ok());
  EXPECT_FALSE(SegmentationStats::Create(kMaxSegmentationClasses + 1, 255).ok());
}

TEST(SegmentationStats, ArgmaxOfLogitsAgainstLabels) {
  // [1, 3, 2, 2] logits; per pixel the channel values (c0, c1, c2):
  //   p0: (1, 5, 2) -> 1   p1: (3, 3, 0) -> 0 (first of equal maxima)
  //   p2: (NaN, 0, 1) -> 2  p3: (-1, -2, -3) -> 0
  Tensor logits(DType::kF32, {1, 3, 2, 2});
  const float nan = std::nanf("");
  const std::vector<float> values = {1, 3, nan, -1,   // c0 over p0..p3
                                     5, 3, 0,   -2,   // c1
                                     2, 0, 1,   -3};  // c2
  std::copy(values.begin(), values.end(), logits.data<float>());
  Tensor labels(DType::kU8, {1, 1, 2, 2});
  const std::vector<uint8_t> label_values = {1, 0, 255, 2};
  std::copy(label_values.begin(), label_values.end(), labels.data<uint8_t>());

  SegmentationStats stats = Make(3);
  ASSERT_TRUE(stats.AddArgmax(logits, labels).ok());
  EXPECT_EQ(stats.total(), 3);
  EXPECT_EQ(stats.count(1, 1), 1);
  EXPECT_EQ(stats.count(0, 0), 1);
  EXPECT_EQ(stats.count(2, 0), 1);  // p3 labelled 2, predicted 0

  // Against the FP32 model's argmax: the same logits agree everywhere,
  // the NaN pixel included.
  SegmentationStats agreement = Make(3, std::nullopt);
  ASSERT_TRUE(agreement.AddArgmaxAgreement(logits, logits).ok());
  EXPECT_EQ(agreement.total(), 4);
  EXPECT_EQ(agreement.PixelAccuracy(), 1.0);

  Tensor wrong(DType::kI64, {1, 2, 2});
  EXPECT_EQ(Make(4).AddArgmax(logits, wrong).message(),
            "logits [1,3,2,2] has 3 channels, not the 4 classes");
  Tensor misfit(DType::kI64, {1, 3, 2});
  EXPECT_NE(stats.AddArgmax(logits, misfit).message().find("do not fit logits"), std::string::npos);
  Tensor floats(DType::kF32, {1, 2, 2});
  EXPECT_NE(stats.AddArgmax(logits, floats).message().find("labels must be int64"),
            std::string::npos);
}

TEST(SegmentationStats, ShardsMergeToTheSameCounts) {
  std::mt19937 rng(5);
  const int64_t n = 5000;
  std::vector<int64_t> labels(n);
  std::vector<int64_t> predicted(n);
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = rng() % 10 == 0 ? 255 : rng() % 6;
    predicted[i] = rng() % 3 == 0 ? rng() % 6 : (labels[i] == 255 ? 0 : labels[i]);
  }
  SegmentationStats whole = Make(6);
  ASSERT_TRUE(whole.Add(predicted.data(), labels.data(), n).ok());
  SegmentationStats shards[3] = {Make(6), Make(6), Make(6)};
  const int64_t cuts[] = {0, 1234, 4000, n};
  for (int s = 0; s < 3; ++s) {
    ASSERT_TRUE(shards[s]
                    .Add(predicted.data() + cuts[s], labels.data() + cuts[s], cuts[s + 1] - cuts[s])
                    .ok());
  }
  SegmentationStats merged = Make(6);
  for (int s : {2, 0, 1}) ASSERT_TRUE(merged.Merge(shards[s]).ok());
  EXPECT_EQ(merged.Serialize(), whole.Serialize());
  EXPECT_EQ(merged.MeanIoU(), whole.MeanIoU());
  EXPECT_GT(whole.MeanIoU(), 0.3);
  EXPECT_LT(whole.MeanIoU(), 0.9);

  EXPECT_EQ(merged.Merge(Make(5)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(merged.Merge(Make(6, std::nullopt)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(merged.Serialize(), whole.Serialize());
}

TEST(SegmentationSerialization, MatchesTheHeaderAndRoundTrips) {
  // segmentation.h's example: counts [[3, 1], [0, 2]], ignore 255.
  SegmentationStats stats = Make(2);
  const std::vector<int64_t> labels = {0, 0, 0, 0, 1, 1};
  const std::vector<int64_t> predicted = {0, 0, 0, 1, 1, 1};
  ASSERT_TRUE(stats.Add(predicted.data(), labels.data(), 6).ok());
  const std::string bytes = stats.Serialize();
  EXPECT_EQ(bytes, std::string("MQSS\x01\x02\x01\xfe\x03\x03\x01\x00\x02", 13));
  StatusOr<SegmentationStats> parsed = SegmentationStats::Parse(bytes, "w");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->Serialize(), bytes);
  EXPECT_EQ(parsed->ignore_index(), 255);
  EXPECT_EQ(parsed->MeanIoU(), stats.MeanIoU());

  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_EQ(SegmentationStats::Parse(bytes.substr(0, cut), "w").status().code(),
              StatusCode::kDataLoss)
        << cut;
  }
}

// Counts as large as int64 allows (Parse takes any whose sum fits): a
// class's row plus its column can pass int64 where the union, each cell
// once, does not. Counts [[5, 1], [1, 0]] x 2^60: IoU 5/7 and 0/2. The sum
// of row and column overflowed, which UBSan (scripts/test --sanitize)
// reports; unsanitized, the wrapped arithmetic happened to give these numbers.
TEST(SegmentationSerialization, CountsNearInt64GiveIouWithoutOverflow) {
  const uint64_t unit = uint64_t{1} << 60;
  ByteWriter out;
  out.PutBytes("MQSS");
  out.PutByte(1);
  out.PutVarint(2);
  out.PutByte(0);
  for (uint64_t count : {5 * unit, unit, unit, uint64_t{0}}) out.PutVarint(count);
  StatusOr<SegmentationStats> stats = SegmentationStats::Parse(out.bytes(), "w");
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  const std::vector<double> iou = stats->ClassIoU();
  ASSERT_EQ(iou.size(), 2u);
  EXPECT_EQ(iou[0], 5.0 / 7.0);
  EXPECT_EQ(iou[1], 0.0);
  EXPECT_EQ(stats->MeanIoU(), 5.0 / 14.0);
  EXPECT_EQ(stats->PixelAccuracy(), 5.0 / 7.0);
}

std::string SegParseError(const std::string& bytes) {
  const StatusOr<SegmentationStats> parsed = SegmentationStats::Parse(bytes, "w");
  if (parsed.ok()) return "parsed";
  EXPECT_EQ(parsed.status().code(), StatusCode::kDataLoss);
  return parsed.status().message();
}

TEST(SegmentationSerialization, RefusesMalformedStatistics) {
  const auto header = [](uint64_t classes, int64_t ignore) {
    ByteWriter w;
    w.PutBytes("MQSS");
    w.PutByte(1);
    w.PutVarint(classes);
    w.PutByte(1);
    w.PutSignedVarint(ignore);
    return w;
  };
  ByteWriter many = header(kMaxSegmentationClasses + 1, 255);
  EXPECT_NE(SegParseError(many.Release()).find("class count 1025 is more than 1024"),
            std::string::npos);
  // 1024 classes declared, but a million cells cannot fit in what is left.
  ByteWriter short_input = header(1024, -1);
  EXPECT_NE(SegParseError(short_input.Release()).find("matrix cell count 1048576 is more than"),
            std::string::npos);
  ByteWriter inside = header(3, 1);
  EXPECT_NE(SegParseError(inside.Release()).find("ignore index 1 is a class"), std::string::npos);
  ByteWriter overflow = header(1, 255);
  overflow.PutVarint(uint64_t{1} << 63);
  EXPECT_NE(SegParseError(overflow.Release()).find("is more than 9223372036854775807"),
            std::string::npos);
  ByteWriter sum = header(2, 255);
  for (int i = 0; i < 4; ++i) sum.PutVarint(uint64_t{1} << 62);
  EXPECT_NE(SegParseError(sum.Release()).find("sum overflows int64"), std::string::npos);
  ByteWriter trailing = header(1, 255);
  trailing.PutVarint(3);
  trailing.PutByte(0);
  EXPECT_NE(SegParseError(trailing.Release()).find("1 trailing bytes"), std::string::npos);
  EXPECT_NE(SegParseError("MQDS\x01").find("no MQSS magic"), std::string::npos);
}

}  // namespace
}  // namespace mixq
