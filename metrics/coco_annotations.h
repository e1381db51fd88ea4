// COCO "instances" annotation files (instances_val2017.json and the like):
// the images, the categories and each annotation's box as a GroundTruth for
// DetectionStats. Segmentation masks, licenses and info are not read.
//
//   {"images": [{"id": 397133, "file_name": "000000397133.jpg",
//                "width": 640, "height": 427}, ...],
//    "annotations": [{"id": 1, "image_id": 397133, "category_id": 1,
//                     "bbox": [x, y, width, height], "area": 1035.7,
//                     "iscrowd": 0}, ...],
//    "categories": [{"id": 1, "name": "person"}, ...]}
//
// "area" may be left out (then the box's w * h), as may "iscrowd" (0) and an
// annotation's "id". Everything else is checked, and an error is a value
// naming the file and the offending entry: not JSON, a missing array, a
// duplicate image or category id, an annotation naming an image or a
// category that is not listed, a bbox that is not four finite numbers with
// width and height >= 0.
#ifndef MIXQ_METRICS_COCO_ANNOTATIONS_H_
#define MIXQ_METRICS_COCO_ANNOTATIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "metrics/detection.h"

namespace mixq {

struct CocoImage {
  int64_t id = 0;
  std::string file_name;
  int64_t width = 0;   // > 0
  int64_t height = 0;  // > 0
};

struct CocoCategory {
  int64_t id = 0;
  std::string name;
};

struct CocoAnnotations {
  std::vector<CocoImage> images;         // file order
  std::vector<CocoCategory> categories;  // file order
  // The annotations in file order; image_index is the image's COCO id, the
  // order pycocotools evaluates images in.
  std::vector<GroundTruth> ground_truths;
};

// The largest annotation file read: 1 GiB (COCO's train2017 instances are
// 448 MB). A larger plain file is refused from its size before it is read, a
// gzip one as soon as it inflates past it (the parsed JSON takes several
// times the text's size).
inline constexpr uint64_t kMaxCocoAnnotationBytes = uint64_t{1} << 30;

// Reads and checks the file at `path` (gzip or plain; common/file_bytes.h).
// NotFound for a missing file, InvalidArgument for one over `max_bytes` or
// malformed, each message starting with the path.
StatusOr<CocoAnnotations> ReadCocoAnnotations(const std::string& path,
                                              uint64_t max_bytes = kMaxCocoAnnotationBytes);

// The same on text already in memory; `source` names it in errors.
StatusOr<CocoAnnotations> ParseCocoAnnotations(const std::string& text, const std::string& source);

}  // namespace mixq

#endif  // MIXQ_METRICS_COCO_ANNOTATIONS_H_
