// From a detector's raw outputs to detections in the original images'
// pixels, ready for DetectionStats.
//
// The head is declared, not guessed (DetectionHeadSpec): the box format, an
// objectness column or not, the class count, and one of two layouts:
//
//   kCombined:         one output [N, B, 4 + (1 if objectness) + classes]
//                      (box, [objectness], class scores per row);
//   kBoxesAndScores:   boxes [N, B, 4] and scores [N, B, classes].
//
// For each image: every (box, class) pair whose score (the class
// probability, times the objectness where there is one) is above
// score_threshold is a candidate (so one box may stand for several classes,
// as COCO evaluation setups decode); the highest max_candidates go on;
// per-class greedy NMS drops a box whose IoU with a kept box of its class
// is above nms_iou_threshold; the highest max_detections of all classes are
// kept. Equal scores keep class order, then box order.
//
// Boxes are in the model input's pixels; each image's ImageTransform maps
// them back: original = (model - pad) * scale, clipped to the image's size
// when it is given. A box whose corners come out swapped gets width or
// height 0, and a box with a non-finite coordinate is dropped.
#ifndef MIXQ_METRICS_DETECTION_DECODE_H_
#define MIXQ_METRICS_DETECTION_DECODE_H_

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "common/tensor.h"
#include "metrics/detection.h"

namespace mixq {

enum class BoxFormat {
  kXyxy,    // x1, y1, x2, y2
  kCxcywh,  // centre x, centre y, width, height (YOLO)
};

enum class HeadLayout { kCombined, kBoxesAndScores };

struct DetectionHeadSpec {
  BoxFormat box_format = BoxFormat::kCxcywh;
  bool has_objectness = false;  // only with kCombined
  int64_t num_classes = 0;      // 1..kMaxDecodeClasses
  HeadLayout layout = HeadLayout::kCombined;
  // The category id of each class (COCO's 80 classes have ids 1..90 with
  // gaps); empty: the class index itself.
  std::vector<int64_t> category_ids;
};

inline constexpr int64_t kMaxDecodeClasses = 100000;

struct DecodeOptions {
  // Keep (box, class) pairs scoring above this: 0.001, as COCO mAP setups
  // evaluate (a higher one cuts the precision-recall curve short).
  double score_threshold = 0.001;
  // Same-class boxes overlapping a kept one by more than this IoU are dropped.
  double nms_iou_threshold = 0.65;
  // Detections kept per image after NMS: COCO's maxDets.
  int64_t max_detections = 100;
  // Candidates per image that enter NMS, the highest scoring (bounds its
  // quadratic cost at a low threshold; YOLO's max_nms).
  int64_t max_candidates = 30000;
};

// How one image's boxes map from the model input to the original image.
struct ImageTransform {
  double scale_x = 1;  // original pixels per model pixel (sx)
  double scale_y = 1;  // (sy)
  double pad_x = 0;    // letterbox padding, model pixels, subtracted first
  double pad_y = 0;
  // The original image's size; > 0 clips boxes to it, 0 leaves them.
  double width = 0;
  double height = 0;
};

// Decodes `outputs` (float32, shapes per `head.layout`, N images) into
// detections; image n gets `image_indices[n]` and `transforms[n]`.
// InvalidArgument naming what is wrong for a spec or options out of range
// (no classes, category_ids of another length, objectness with the two-output
// layout, thresholds outside [0, 1], counts < 1), outputs of the wrong number,
// dtype or shape, or N not matching image_indices / transforms.
StatusOr<std::vector<Detection>> DecodeDetections(const DetectionHeadSpec& head,
                                                  const std::vector<Tensor>& outputs,
                                                  const std::vector<int64_t>& image_indices,
                                                  const std::vector<ImageTransform>& transforms,
                                                  const DecodeOptions& options = {});

// Box IoU of two x1, y1, x2, y2 boxes (no +1), as NMS uses it; 0 when the
// union is empty.
double XyxyIou(const double* a, const double* b);

}  // namespace mixq

#endif  // MIXQ_METRICS_DETECTION_DECODE_H_
