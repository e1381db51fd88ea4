// COCO's rules on cases small enough to compute by hand. Each expected AP is
// derived in the comment beside it from the definition in
// metrics/detection.h: 101 recall points, precision made non-increasing
// from the right, read at the first detection reaching each point.
#include "metrics/detection.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace mixq {
namespace {

constexpr double kExact = 1e-12;  // only COCO's eps (2e-16) in the division

GroundTruth Gt(int64_t image, int64_t category, BoxXywh box, bool crowd = false, double area = -1) {
  return {image, category, box, area < 0 ? box.w * box.h : area, crowd};
}

Detection Det(int64_t image, int64_t category, double score, BoxXywh box) {
  return {image, category, score, box};
}

DetectionStats OneImage(const std::vector<GroundTruth>& gts, const std::vector<Detection>& dets) {
  DetectionStats stats;
  const Status s = stats.AddImage(1, gts, dets);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return stats;
}

// Two ground truths; detections TP (IoU 1), FP, TP (IoU 0.62). At IoU 0.5:
// TP/FP 1,0,1 -> recall .5,.5,1, precision 1,.5,.67 -> envelope 1,.67,.67;
// points 0..0.50 read 1 (51 of them), 0.51..1 read 2/3 (50):
// AP50 = (51 + 50 * 2/3) / 101 = 253/303. Above 0.6 the third is an FP:
// recall stops at .5, so 51 points read 1 and 50 read 0: AP = 51/101.
// mAP@[.5:.95] = (3 * 253/303 + 7 * 51/101) / 10 = 61/101.
const std::vector<GroundTruth> kTwoGts = {Gt(1, 1, {0, 0, 10, 10}), Gt(1, 1, {50, 50, 10, 10})};
const std::vector<Detection> kThreeDets = {Det(1, 1, 0.9, {0, 0, 10, 10}),
                                           Det(1, 1, 0.8, {80, 80, 10, 10}),
                                           Det(1, 1, 0.7, {50, 50, 10, 6.2})};

TEST(DetectionStats, TwoGroundTruthsThreeDetections) {
  const DetectionStats stats = OneImage(kTwoGts, kThreeDets);
  EXPECT_NEAR(stats.Map50(), 253.0 / 303, kExact);
  EXPECT_NEAR(stats.Map50_95(), 61.0 / 101, kExact);
  const std::vector<CategoryAp> per = stats.PerCategory();
  ASSERT_EQ(per.size(), 1u);
  EXPECT_EQ(per[0].category_id, 1);
  EXPECT_EQ(per[0].num_ground_truths, 2);
  EXPECT_NEAR(per[0].ap50, 253.0 / 303, kExact);
}

TEST(DetectionStats, DetectionsInACrowdRegionAreIgnored) {
  // Two detections inside a crowd region, one ranked first: as FPs they
  // would lower every precision, and the crowd counted as a ground truth
  // would cap recall at 2/3. Ignored, the case above stands.
  std::vector<GroundTruth> gts = kTwoGts;
  gts.push_back(Gt(1, 1, {20, 20, 30, 30}, /*crowd=*/true));
  std::vector<Detection> dets = kThreeDets;
  dets.push_back(Det(1, 1, 0.95, {22, 22, 5, 5}));
  dets.push_back(Det(1, 1, 0.85, {30, 30, 5, 5}));
  const DetectionStats stats = OneImage(gts, dets);
  EXPECT_NEAR(stats.Map50(), 253.0 / 303, kExact);
  EXPECT_NEAR(stats.Map50_95(), 61.0 / 101, kExact);
  EXPECT_EQ(stats.PerCategory()[0].num_ground_truths, 2);
}

TEST(DetectionStats, CrowdIouIsIntersectionOverTheDetectionsArea) {
  // The first detection covers 36% of the crowd box: plain IoU 0.36 would
  // make it an FP ranked first (AP50 = 0.5: precision 0, then 1/2); over its
  // own area it is 1, so it is ignored and the TP after it gives AP50 = 1.
  const DetectionStats stats =
      OneImage({Gt(1, 1, {0, 0, 100, 100}, /*crowd=*/true), Gt(1, 1, {200, 200, 10, 10})},
               {Det(1, 1, 0.9, {0, 0, 60, 60}), Det(1, 1, 0.8, {200, 200, 10, 10})});
  EXPECT_NEAR(stats.Map50(), 1.0, kExact);
}

TEST(DetectionStats, KeepsTheFirstHundredDetectionsPerImageAndCategory) {
  // One ground truth found only by the lowest-scoring detection.
  const auto run = [](int false_positives, int other_category) {
    std::vector<Detection> dets;
    for (int i = 0; i < false_positives; ++i) {
      dets.push_back(Det(1, 1, 0.5 + i * 0.001, {500, 500, 10, 10}));
    }
    for (int i = 0; i < other_category; ++i) {
      dets.push_back(Det(1, 2, 0.9, {0, 0, 10, 10}));
    }
    dets.push_back(Det(1, 1, 0.1, {0, 0, 10, 10}));
    return OneImage({Gt(1, 1, {0, 0, 10, 10})}, dets).Map50();
  };
  // 100 FPs first: the TP is the 101st and is cut, AP 0.
  EXPECT_EQ(run(100, 0), 0.0);
  // 99 FPs: the TP is the 100th, precision 1/100 at recall 1 everywhere.
  EXPECT_NEAR(run(99, 0), 0.01, kExact);
  // The cut is per category: 100 detections of category 2 (no ground truth,
  // so no AP of its own) leave category 1's single TP alone.
  EXPECT_NEAR(run(0, 100), 1.0, kExact);
}

TEST(DetectionStats, EqualScoresRankInImageOrderThenWithinTheImage) {
  // An FP and a TP of equal score: FP first gives precision 0 then 1/2,
  // AP50 = 0.5; TP first gives AP50 = 1.
  const auto across_images = [](int64_t fp_image, int64_t tp_image) {
    DetectionStats stats;
    EXPECT_TRUE(stats.AddImage(fp_image, {}, {Det(fp_image, 1, 0.5, {0, 0, 10, 10})}).ok());
    EXPECT_TRUE(stats
                    .AddImage(tp_image, {Gt(tp_image, 1, {0, 0, 10, 10})},
                              {Det(tp_image, 1, 0.5, {0, 0, 10, 10})})
                    .ok());
    return stats.Map50();
  };
  EXPECT_NEAR(across_images(1, 2), 0.5, kExact);
  EXPECT_NEAR(across_images(2, 1), 1.0, kExact);

  const Detection fp = Det(1, 1, 0.5, {100, 100, 10, 10});
  const Detection tp = Det(1, 1, 0.5, {0, 0, 10, 10});
  EXPECT_NEAR(OneImage({Gt(1, 1, {0, 0, 10, 10})}, {fp, tp}).Map50(), 0.5, kExact);
  EXPECT_NEAR(OneImage({Gt(1, 1, {0, 0, 10, 10})}, {tp, fp}).Map50(), 1.0, kExact);
}

TEST(DetectionStats, EqualIouGoesToTheLaterGroundTruth) {
  // Detection a (0.9) overlaps both ground truths by IoU 90/110 = 0.82;
  // detection b (0.8) overlaps g1 by 1 and g2 by 80/120 = 0.67.
  // COCO gives a the later one, g2, leaving g1 to b: both TP up to 0.80
  // (AP 1, 7 thresholds); from 0.85 a is an FP ranked first and b a TP:
  // precision 0 then 1/2, recall 1/2, AP = 51 * 0.5 / 101 = 51/202.
  // Giving a the earlier g1 would leave b g2 at 0.67, an FP at 0.70..0.80
  // (AP 51/101 there): a smaller mean.
  const DetectionStats stats =
      OneImage({Gt(1, 1, {0, 0, 10, 10}), Gt(1, 1, {2, 0, 10, 10})},
               {Det(1, 1, 0.9, {1, 0, 10, 10}), Det(1, 1, 0.8, {0, 0, 10, 10})});
  EXPECT_NEAR(stats.Map50_95(), (7 + 3 * 51.0 / 202) / 10, kExact);
  EXPECT_NEAR(stats.Map50(), 1.0, kExact);
}

TEST(DetectionStats, AnIouOnAThresholdPassesIt) {
  // IoU 95/100 is the double 0.95, the last threshold, and a match needs
  // IoU >= threshold: TP at all ten. IoU 0.9 passes the ninth (numpy's
  // 0.8999999999999999) and fails 0.95: mAP@[.5:.95] = 9/10.
  const auto map50_95 = [](double h) {
    return OneImage({Gt(1, 1, {0, 0, 10, 10})}, {Det(1, 1, 0.9, {0, 0, 10, h})}).Map50_95();
  };
  EXPECT_NEAR(map50_95(9.5), 1.0, kExact);
  EXPECT_NEAR(map50_95(9.0), 0.9, kExact);
}

TEST(DetectionStats, GroundTruthAreaOutsideTheAllRangeIsIgnored) {
  // The second ground truth's annotation area is past 1e10, so it is
  // ignored: the detection on it is neither TP nor FP, and then an FP and a
  // TP out of one ground truth give precision 1/2 at recall 1: AP50 = 0.5.
  // Counted, it would be TP, FP, TP out of two: 253/303.
  const DetectionStats stats =
      OneImage({Gt(1, 1, {0, 0, 10, 10}), Gt(1, 1, {50, 50, 10, 10}, false, 2e10)},
               {Det(1, 1, 0.9, {50, 50, 10, 10}), Det(1, 1, 0.8, {80, 80, 10, 10}),
                Det(1, 1, 0.7, {0, 0, 10, 10})});
  EXPECT_NEAR(stats.Map50(), 0.5, kExact);
  EXPECT_EQ(stats.PerCategory()[0].num_ground_truths, 1);
}

TEST(DetectionStats, UnmatchedDetectionAreaOutsideTheAllRangeIsIgnored) {
  // The first detection's w * h is 2e10 and it matches nothing: ignored, so
  // the TP after it gives AP 1 (as an FP it would give 0.5).
  const DetectionStats stats =
      OneImage({Gt(1, 1, {0, 0, 10, 10})},
               {Det(1, 1, 0.9, {100, 100, 2e5, 1e5}), Det(1, 1, 0.8, {0, 0, 10, 10})});
  EXPECT_NEAR(stats.Map50(), 1.0, kExact);
}

TEST(DetectionStats, CategoriesWithoutCountedGroundTruthAreLeftOut) {
  // Category 1: AP 1. Category 2: detections only. Category 3: a crowd only.
  // The mean is over category 1 alone.
  const DetectionStats stats =
      OneImage({Gt(1, 1, {0, 0, 10, 10}), Gt(1, 3, {0, 0, 50, 50}, /*crowd=*/true)},
               {Det(1, 1, 0.9, {0, 0, 10, 10}), Det(1, 2, 0.9, {0, 0, 10, 10}),
                Det(1, 3, 0.9, {100, 100, 5, 5})});
  EXPECT_NEAR(stats.Map50(), 1.0, kExact);
  ASSERT_EQ(stats.PerCategory().size(), 1u);
  EXPECT_EQ(DetectionStats().Map50(), -1.0);
  EXPECT_EQ(DetectionStats().Map50_95(), -1.0);
}

TEST(DetectionStats, AddImageRefusesBadInputAndKeepsNothingOfIt) {
  DetectionStats stats = OneImage(kTwoGts, kThreeDets);
  const std::string before = stats.Serialize();
  const auto refused = [&](int64_t image, const std::vector<GroundTruth>& gts,
                           const std::vector<Detection>& dets, const std::string& words) {
    const Status s = stats.AddImage(image, gts, dets);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_NE(s.message().find(words), std::string::npos) << s.message();
  };
  refused(2, {}, {Det(2, 1, std::nan(""), {0, 0, 1, 1})}, "image 2: detection 0: score");
  refused(2, {Gt(2, 1, {0, 0, -1, 1})}, {}, "image 2: ground truth 0: box");
  refused(2, {}, {Det(3, 1, 0.5, {0, 0, 1, 1})}, "detection 0 names image 3");
  refused(1, {}, {}, "image 1 was already added");
  EXPECT_EQ(stats.Serialize(), before);
  EXPECT_EQ(stats.num_images(), 1);
}

TEST(DetectionStats, SerializesAsTheHeaderDocuments) {
  // detection.h's example: image 7, category 3, one ground truth and a
  // detection of IoU 0.72, TP at 0.50..0.70 (mask 0x1f).
  DetectionStats stats;
  ASSERT_TRUE(
      stats.AddImage(7, {Gt(7, 3, {0, 0, 10, 10})}, {Det(7, 3, 0.5, {0, 0, 10, 7.2})}).ok());
  const std::string expected = std::string("MQDS\x01\x64\x01\x0e\x01\x06\x01\x01", 12) +
                               std::string("\x00\x00\x00\x00\x00\x00\xe0\x3f", 8) +
                               std::string("\x0e\x00\x1f\x00", 4);
  EXPECT_EQ(stats.Serialize(), expected);
}

}  // namespace
}  // namespace mixq
