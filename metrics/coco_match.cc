#include "metrics/coco_match.h"

#include <algorithm>
#include <numeric>

namespace mixq {
namespace {

// COCO's "all" area range is [0, 1e5^2].
constexpr double kMaxArea = 1e10;

// pycocotools caps the IoU a match must reach at 1 - 1e-10, so that a
// perfect match still passes a threshold of 1.
constexpr double kMaxRequiredIou = 1 - 1e-10;

}  // namespace

const std::array<double, kCocoIouThresholds>& CocoIouThresholds() {
  // numpy.linspace(0.5, 0.95, 10): start + i * ((stop - start) / 9), with the
  // last value set to stop.
  static const std::array<double, kCocoIouThresholds> thresholds = [] {
    std::array<double, kCocoIouThresholds> t{};
    const double step = (0.95 - 0.5) / (kCocoIouThresholds - 1);
    for (int i = 0; i < kCocoIouThresholds; ++i) t[i] = i * step + 0.5;
    t[kCocoIouThresholds - 1] = 0.95;
    return t;
  }();
  return thresholds;
}

double CocoRecallPoint(int r) {
  if (r == kCocoRecallPoints - 1) return 1.0;
  return r * (1.0 / (kCocoRecallPoints - 1));
}

double CocoBoxIou(const BoxXywh& det, const BoxXywh& gt, bool gt_is_crowd) {
  const double w = std::min(det.x + det.w, gt.x + gt.w) - std::max(det.x, gt.x);
  if (w <= 0) return 0;
  const double h = std::min(det.y + det.h, gt.y + gt.h) - std::max(det.y, gt.y);
  if (h <= 0) return 0;
  const double intersection = w * h;
  const double det_area = det.w * det.h;
  const double uni = gt_is_crowd ? det_area : det_area + gt.w * gt.h - intersection;
  return intersection / uni;
}

bool OutsideCocoAreaAll(double area) { return area < 0 || area > kMaxArea; }

ImageCategoryMatch MatchImageCategory(const std::vector<const GroundTruth*>& gts,
                                      const std::vector<const Detection*>& dets) {
  ImageCategoryMatch result;

  // Ground truths: non-ignored first, each group in the caller's order.
  std::vector<const GroundTruth*> gt_order(gts);
  const auto ignored = [](const GroundTruth* g) {
    return g->iscrowd || OutsideCocoAreaAll(g->area);
  };
  std::stable_partition(gt_order.begin(), gt_order.end(),
                        [&](const GroundTruth* g) { return !ignored(g); });
  std::vector<bool> gt_ignored(gt_order.size());
  for (size_t g = 0; g < gt_order.size(); ++g) {
    gt_ignored[g] = ignored(gt_order[g]);
    if (!gt_ignored[g]) ++result.num_ground_truths;
  }

  // Detections: by score, stable, the first kCocoMaxDetections.
  std::vector<const Detection*> det_order(dets);
  std::stable_sort(det_order.begin(), det_order.end(),
                   [](const Detection* a, const Detection* b) { return a->score > b->score; });
  if (det_order.size() > kCocoMaxDetections) det_order.resize(kCocoMaxDetections);

  const size_t n_gt = gt_order.size();
  std::vector<double> iou(det_order.size() * n_gt);
  for (size_t d = 0; d < det_order.size(); ++d) {
    for (size_t g = 0; g < n_gt; ++g) {
      iou[d * n_gt + g] = CocoBoxIou(det_order[d]->box, gt_order[g]->box, gt_order[g]->iscrowd);
    }
  }

  result.detections.resize(det_order.size());
  for (size_t d = 0; d < det_order.size(); ++d) {
    result.detections[d].score = det_order[d]->score;
    result.detections[d].rank = static_cast<int32_t>(d);
  }
  const auto& thresholds = CocoIouThresholds();
  std::vector<bool> gt_taken(n_gt);
  for (int t = 0; t < kCocoIouThresholds; ++t) {
    std::fill(gt_taken.begin(), gt_taken.end(), false);
    const uint16_t bit = static_cast<uint16_t>(1u << t);
    for (size_t d = 0; d < det_order.size(); ++d) {
      double best = std::min(thresholds[t], kMaxRequiredIou);
      int match = -1;
      for (size_t g = 0; g < n_gt; ++g) {
        // A crowd region absorbs any number of detections; others one each.
        if (gt_taken[g] && !gt_order[g]->iscrowd) continue;
        // Ignored ground truths come last: a match to a counted one is final.
        if (match >= 0 && !gt_ignored[match] && gt_ignored[g]) break;
        // `<`, not `<=`: on equal IoU the later ground truth wins, as in COCO.
        if (iou[d * n_gt + g] < best) continue;
        best = iou[d * n_gt + g];
        match = static_cast<int>(g);
      }
      MatchedDetection& out = result.detections[d];
      if (match >= 0) {
        gt_taken[match] = true;
        if (gt_ignored[match]) {
          out.ignored_mask |= bit;
        } else {
          out.tp_mask |= bit;
        }
      } else if (OutsideCocoAreaAll(det_order[d]->box.w * det_order[d]->box.h)) {
        out.ignored_mask |= bit;
      }
    }
  }
  return result;
}

}  // namespace mixq
