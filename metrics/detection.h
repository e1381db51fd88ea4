// COCO bounding-box evaluation as statistics that merge exactly.
//
// The numbers are COCO's as pycocotools' COCOeval computes them for iouType
// "bbox", area range "all" and maxDets 100 (stats[0] is Map50_95(), stats[1]
// Map50()):
//
//  * per image and category, detections are sorted by score (stable: equal
//    scores keep the caller's order) and cut to the first 100;
//  * at each IoU threshold 0.50, 0.55, ..., 0.95 (numpy's linspace values),
//    each detection in turn takes the unmatched ground truth of best IoU
//    (>= the threshold; on equal IoU the later ground truth), non-ignored
//    ground truths before ignored ones. Crowd ground truths are ignored ones
//    that any number of detections may match, with IoU = intersection over
//    the detection's area; a detection matched to an ignored ground truth is
//    ignored (neither TP nor FP), and ignored ground truths are not counted.
//    Ground truths whose area is outside [0, 1e10] are ignored too, as are
//    unmatched detections whose w*h is (COCO's "all" range);
//  * per category, all images' detections sorted by score, equal scores in
//    image order and then in their order within the image; cumulative TP and
//    FP give precision and recall; precision is made non-increasing from the
//    right and read at the 101 recall points 0, 0.01, ..., 1 (the first
//    detection reaching each, 0 past the highest recall); AP is the mean of
//    the 101; a category without a non-ignored ground truth has no AP and is
//    left out of the means.
//
// Boxes are x, y, width, height in pixels, and COCO's IoU adds no +1.
//
// What crosses a process boundary is not the detections but what the
// accumulation needs of them: per category the count of non-ignored ground
// truths, and per kept detection its score, image, rank within the image and,
// for each threshold, whether it was a TP, an FP or ignored. Those merge by
// concatenation and are read in one canonical order (score descending, then
// image index, then rank), so a sharded evaluation gives bit for bit the
// numbers of one process, whatever order the shards are merged in.
//
// A DetectionStats is a value: not safe for concurrent mutation, safe for
// concurrent const use.
#ifndef MIXQ_METRICS_DETECTION_H_
#define MIXQ_METRICS_DETECTION_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace mixq {

struct BoxXywh {
  double x = 0;  // left
  double y = 0;  // top
  double w = 0;  // width, >= 0
  double h = 0;  // height, >= 0
};

// `image_index` is any integer that puts images in the order COCO sorts them
// (COCO's image id does): it breaks ties between equal scores across images.
struct GroundTruth {
  int64_t image_index = 0;
  int64_t category_id = 0;
  BoxXywh box;
  // The annotation's area (for COCO the mask's, not the box's): it only
  // decides the area range, and "all" ignores a ground truth outside [0, 1e10].
  double area = 0;
  bool iscrowd = false;
};

struct Detection {
  int64_t image_index = 0;
  int64_t category_id = 0;
  double score = 0;
  BoxXywh box;
};

// One category's result. ap50 is its AP at IoU 0.5, ap50_95 the mean of its
// APs at the ten thresholds.
struct CategoryAp {
  int64_t category_id = 0;
  int64_t num_ground_truths = 0;  // non-ignored
  double ap50 = 0;
  double ap50_95 = 0;
};

// COCO's evaluation parameters (bbox, area "all"), fixed.
inline constexpr int kCocoMaxDetections = 100;
inline constexpr int kCocoIouThresholds = 10;
inline constexpr int kCocoRecallPoints = 101;

// What Parse() accepts, checked before anything is allocated: at most 2^26
// images and 2^20 categories; a category's entries are bounded by the images
// times kCocoMaxDetections, and every count by the bytes left to hold it.
inline constexpr uint64_t kMaxDetectionStatsImages = uint64_t{1} << 26;
inline constexpr uint64_t kMaxDetectionStatsCategories = uint64_t{1} << 20;

class DetectionStats {
 public:
  DetectionStats() = default;

  // Matches one image's detections to its ground truths, category by
  // category, and keeps what accumulation needs. Every gt and detection must
  // carry `image_index`; boxes must be finite with w, h >= 0, areas finite,
  // scores finite. An image may be added once: its index is recorded even
  // when it has neither (it then changes no number), and a repeat is refused.
  // InvalidArgument naming the image and the entry otherwise, and then
  // nothing of the image is kept.
  Status AddImage(int64_t image_index, const std::vector<GroundTruth>& gts,
                  const std::vector<Detection>& dets);

  // AddImage for every image that a gt or a detection names, in ascending
  // image order. Stops at the first refused image, keeping those before it.
  Status AddImages(const std::vector<GroundTruth>& gts, const std::vector<Detection>& dets);

  // Adds another shard's statistics. The two must be different objects
  // holding disjoint images (InvalidArgument naming the first shared one, and
  // nothing changes), so a shard counted twice is an error rather than a
  // silently different mAP.
  Status Merge(const DetectionStats& other);

  // COCO's mAP@0.5 and mAP@[.5:.95]: the mean over categories that have a
  // non-ignored ground truth of their AP; -1 when there is none (as COCO).
  double Map50() const;
  double Map50_95() const;
  // The categories with a non-ignored ground truth, ascending by id.
  std::vector<CategoryAp> PerCategory() const;

  int64_t num_images() const { return static_cast<int64_t>(images_.size()); }
  // The images added, ascending (e.g. to check a shard's are its own).
  const std::set<int64_t>& images() const { return images_; }

  // The statistics as a compact binary string (grammar below; byte_codec.h
  // gives the primitives). Equal statistics serialize to equal strings,
  // whatever order they were added or merged in.
  //
  //   stats    := "MQDS" version:byte(=1) max_detections:varint(=100)
  //               n_images:varint image:zigzag*n_images       (ascending)
  //               n_categories:varint category*n_categories  (ascending id)
  //   category := id:zigzag num_ground_truths:varint n_entries:varint
  //               entry*n_entries                  (canonical order, above)
  //   entry    := score:f64-le image:zigzag rank:varint tp:varint ignored:varint
  //
  // tp and ignored are bit masks over the ten IoU thresholds (bit 0 = 0.50);
  // a detection in neither is an FP at that threshold. Example: one image 7,
  // category 3 with one ground truth and one detection (score 0.5) that is a
  // TP at 0.50..0.70 and an FP above: "MQDS" 01 64 | 01 0e | 01 06 01 01
  // 000000000000e03f 0e 00 1f 00.
  std::string Serialize() const;

  // The inverse of Serialize(). DataLoss starting with `source` for anything
  // else: a wrong magic or version, truncation, trailing bytes, a count the
  // input cannot hold or past the limits above, entries out of canonical
  // order or repeated, an entry naming an image not listed, a rank >= 100,
  // masks with bits past the ten thresholds or in both, a non-finite score.
  static StatusOr<DetectionStats> Parse(const std::string& bytes, const std::string& source);

 private:
  // One kept detection. `rank` is its place in the image's score order.
  struct Entry {
    double score = 0;
    int64_t image_index = 0;
    int32_t rank = 0;
    uint16_t tp_mask = 0;
    uint16_t ignored_mask = 0;
  };
  struct Category {
    int64_t num_ground_truths = 0;
    std::vector<Entry> entries;  // any order; read through SortedEntries()
  };

  // True when a comes first in the canonical order.
  static bool Before(const Entry& a, const Entry& b);
  static std::vector<Entry> SortedEntries(const Category& category);
  // AP at each threshold of one category; its entries sorted.
  static std::vector<double> ThresholdAps(int64_t num_ground_truths,
                                          const std::vector<Entry>& sorted);

  std::set<int64_t> images_;
  std::map<int64_t, Category> categories_;
};

}  // namespace mixq

#endif  // MIXQ_METRICS_DETECTION_H_
