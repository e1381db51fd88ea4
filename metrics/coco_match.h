// COCO's per-image step of bbox evaluation (detection.h states the rules):
// one image's ground truths and detections of one category in, each kept
// detection's outcome at the ten IoU thresholds out. DetectionStats::AddImage
// runs it per category; it is apart so that its rules read on their own.
#ifndef MIXQ_METRICS_COCO_MATCH_H_
#define MIXQ_METRICS_COCO_MATCH_H_

#include <array>
#include <cstdint>
#include <vector>

#include "metrics/detection.h"

namespace mixq {

// The IoU thresholds 0.50:0.05:0.95 as numpy's linspace makes them (the
// ninth is 0.8999999999999999, not 0.9), so that an IoU on a threshold falls
// on the same side as in pycocotools.
const std::array<double, kCocoIouThresholds>& CocoIouThresholds();

// Recall point r of 0..100: r * 0.01 as linspace makes it, 1.0 at r = 100.
double CocoRecallPoint(int r);

// COCO's box IoU (pycocotools' maskUtils.iou for boxes): intersection over
// union, or over the detection's area when the ground truth is a crowd; 0
// without overlap.
double CocoBoxIou(const BoxXywh& det, const BoxXywh& gt, bool gt_is_crowd);

// True when COCO's area range "all" ([0, 1e10]) leaves `area` out.
bool OutsideCocoAreaAll(double area);

struct MatchedDetection {
  double score = 0;
  int32_t rank = 0;           // place in the image's stable score order, < 100
  uint16_t tp_mask = 0;       // bit t: TP at threshold t
  uint16_t ignored_mask = 0;  // bit t: ignored at threshold t (else FP if not TP)
};

struct ImageCategoryMatch {
  int64_t num_ground_truths = 0;             // non-ignored
  std::vector<MatchedDetection> detections;  // at most 100, in rank order
};

// Matches one image's `dets` of one category to its `gts` (all of the same
// image and category, already validated). Deterministic; allocates only the
// result and an IoU matrix of kept detections by ground truths.
ImageCategoryMatch MatchImageCategory(const std::vector<const GroundTruth*>& gts,
                                      const std::vector<const Detection*>& dets);

}  // namespace mixq

#endif  // MIXQ_METRICS_COCO_MATCH_H_
