#include "metrics/detection_decode.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

namespace mixq {
namespace {

// Where one image's values sit in the output tensors.
struct HeadView {
  int64_t images = 0;
  int64_t boxes = 0;
  const float* box_data = nullptr;  // row b of image n at (n * boxes + b) * box_stride
  int64_t box_stride = 0;
  const float* score_data = nullptr;  // class scores, same indexing with score_stride
  int64_t score_stride = 0;
  int64_t objectness_offset = -1;  // from a box row's start; -1: none
};

struct Candidate {
  float score = 0;
  int64_t class_index = 0;
  int64_t box = 0;
  double xyxy[4] = {0, 0, 0, 0};
};

// Score descending, then class, then box: a total order, so the result does
// not depend on how a sort treats ties.
bool Before(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.class_index != b.class_index) return a.class_index < b.class_index;
  return a.box < b.box;
}

bool InUnitRange(double v) { return v >= 0 && v <= 1; }

Status CheckSpec(const DetectionHeadSpec& head, const DecodeOptions& options) {
  if (head.num_classes < 1 || head.num_classes > kMaxDecodeClasses) {
    return InvalidArgument("detection head: class count " + std::to_string(head.num_classes) +
                           " is outside [1, " + std::to_string(kMaxDecodeClasses) + "]");
  }
  if (!head.category_ids.empty() &&
      static_cast<int64_t>(head.category_ids.size()) != head.num_classes) {
    return InvalidArgument("detection head: " + std::to_string(head.category_ids.size()) +
                           " category ids for " + std::to_string(head.num_classes) + " classes");
  }
  if (head.has_objectness && head.layout == HeadLayout::kBoxesAndScores) {
    return InvalidArgument(
        "detection head: objectness needs the combined layout (one output holding it)");
  }
  if (!InUnitRange(options.score_threshold) || !InUnitRange(options.nms_iou_threshold)) {
    return InvalidArgument("decode options: score and NMS IoU thresholds must be in [0, 1]");
  }
  if (options.max_detections < 1 || options.max_candidates < 1) {
    return InvalidArgument("decode options: max_detections and max_candidates must be >= 1");
  }
  return Status::Ok();
}

Status CheckOutput(const Tensor& t, const char* name, int64_t last_dim, const std::string& want) {
  if (t.dtype() != DType::kF32 || t.rank() != 3 || t.shape()[2] != last_dim) {
    return InvalidArgument(std::string("detection head: ") + name + " must be float32 " + want +
                           ", not " + DTypeName(t.dtype()) + " " + ShapeToString(t.shape()));
  }
  return Status::Ok();
}

StatusOr<HeadView> ViewOutputs(const DetectionHeadSpec& head, const std::vector<Tensor>& outputs) {
  HeadView view;
  const int64_t classes = head.num_classes;
  if (head.layout == HeadLayout::kCombined) {
    if (outputs.size() != 1) {
      return InvalidArgument("detection head: the combined layout has one output, not " +
                             std::to_string(outputs.size()));
    }
    const int64_t row = 4 + (head.has_objectness ? 1 : 0) + classes;
    const std::string want = "[N, boxes, " + std::to_string(row) + "] (4 box" +
                             (head.has_objectness ? " + 1 objectness" : "") + " + " +
                             std::to_string(classes) + " classes)";
    MIXQ_RETURN_IF_ERROR(CheckOutput(outputs[0], "the output", row, want));
    view.box_data = outputs[0].data<float>();
    view.box_stride = row;
    view.score_data = view.box_data + 4 + (head.has_objectness ? 1 : 0);
    view.score_stride = row;
    view.objectness_offset = head.has_objectness ? 4 : -1;
  } else {
    if (outputs.size() != 2) {
      return InvalidArgument("detection head: the boxes-and-scores layout has two outputs, not " +
                             std::to_string(outputs.size()));
    }
    MIXQ_RETURN_IF_ERROR(CheckOutput(outputs[0], "boxes", 4, "[N, boxes, 4]"));
    MIXQ_RETURN_IF_ERROR(
        CheckOutput(outputs[1], "scores", classes, "[N, boxes, " + std::to_string(classes) + "]"));
    if (outputs[0].shape()[0] != outputs[1].shape()[0] ||
        outputs[0].shape()[1] != outputs[1].shape()[1]) {
      return InvalidArgument("detection head: boxes " + ShapeToString(outputs[0].shape()) +
                             " and scores " + ShapeToString(outputs[1].shape()) +
                             " differ in images or boxes");
    }
    view.box_data = outputs[0].data<float>();
    view.box_stride = 4;
    view.score_data = outputs[1].data<float>();
    view.score_stride = classes;
  }
  view.images = outputs[0].shape()[0];
  view.boxes = outputs[0].shape()[1];
  return view;
}

Status CheckTransform(const ImageTransform& t, size_t n) {
  const bool ok = std::isfinite(t.scale_x) && t.scale_x > 0 && std::isfinite(t.scale_y) &&
                  t.scale_y > 0 && std::isfinite(t.pad_x) && std::isfinite(t.pad_y) &&
                  std::isfinite(t.width) && t.width >= 0 && std::isfinite(t.height) &&
                  t.height >= 0;
  if (!ok) {
    return InvalidArgument("image transform " + std::to_string(n) +
                           ": scales must be finite and > 0, pads finite, sizes finite and >= 0");
  }
  return Status::Ok();
}

// Every candidate of image n above the threshold, highest first, at most
// max_candidates.
std::vector<Candidate> Candidates(const DetectionHeadSpec& head, const HeadView& view, int64_t n,
                                  const DecodeOptions& options) {
  std::vector<Candidate> out;
  for (int64_t b = 0; b < view.boxes; ++b) {
    const float* box = view.box_data + (n * view.boxes + b) * view.box_stride;
    const float* scores = view.score_data + (n * view.boxes + b) * view.score_stride;
    Candidate c;
    if (head.box_format == BoxFormat::kXyxy) {
      for (int i = 0; i < 4; ++i) c.xyxy[i] = box[i];
    } else {
      c.xyxy[0] = box[0] - box[2] / 2.0;
      c.xyxy[1] = box[1] - box[3] / 2.0;
      c.xyxy[2] = box[0] + box[2] / 2.0;
      c.xyxy[3] = box[1] + box[3] / 2.0;
    }
    if (!std::all_of(c.xyxy, c.xyxy + 4, [](double v) { return std::isfinite(v); })) continue;
    const float objectness = view.objectness_offset >= 0 ? box[view.objectness_offset] : 1.0f;
    c.box = b;
    for (int64_t k = 0; k < head.num_classes; ++k) {
      // In float32, as the model's own post-processing multiplies.
      c.score = scores[k] * objectness;
      if (!(c.score > options.score_threshold)) continue;  // NaN is never above
      c.class_index = k;
      out.push_back(c);
    }
  }
  std::sort(out.begin(), out.end(), Before);
  if (static_cast<int64_t>(out.size()) > options.max_candidates) {
    out.resize(options.max_candidates);
  }
  return out;
}

// Greedy per-class NMS over candidates sorted by Before; keeps that order.
std::vector<Candidate> PerClassNms(const std::vector<Candidate>& sorted, double iou_threshold) {
  std::vector<Candidate> kept;
  std::map<int64_t, std::vector<size_t>> kept_by_class;  // indices into kept
  for (const Candidate& c : sorted) {
    std::vector<size_t>& same_class = kept_by_class[c.class_index];
    const bool suppressed = std::any_of(same_class.begin(), same_class.end(), [&](size_t k) {
      return XyxyIou(kept[k].xyxy, c.xyxy) > iou_threshold;
    });
    if (suppressed) continue;
    same_class.push_back(kept.size());
    kept.push_back(c);
  }
  return kept;
}

Detection ToDetection(const Candidate& c, const DetectionHeadSpec& head, int64_t image_index,
                      const ImageTransform& t) {
  double x1 = (c.xyxy[0] - t.pad_x) * t.scale_x;
  double y1 = (c.xyxy[1] - t.pad_y) * t.scale_y;
  double x2 = (c.xyxy[2] - t.pad_x) * t.scale_x;
  double y2 = (c.xyxy[3] - t.pad_y) * t.scale_y;
  if (t.width > 0) {
    x1 = std::clamp(x1, 0.0, t.width);
    x2 = std::clamp(x2, 0.0, t.width);
  }
  if (t.height > 0) {
    y1 = std::clamp(y1, 0.0, t.height);
    y2 = std::clamp(y2, 0.0, t.height);
  }
  Detection d;
  d.image_index = image_index;
  d.category_id = head.category_ids.empty() ? c.class_index : head.category_ids[c.class_index];
  d.score = c.score;
  d.box = {x1, y1, std::max(0.0, x2 - x1), std::max(0.0, y2 - y1)};
  return d;
}

}  // namespace

double XyxyIou(const double* a, const double* b) {
  const double w = std::max(0.0, std::min(a[2], b[2]) - std::max(a[0], b[0]));
  const double h = std::max(0.0, std::min(a[3], b[3]) - std::max(a[1], b[1]));
  const double intersection = w * h;
  const double area_a = std::max(0.0, a[2] - a[0]) * std::max(0.0, a[3] - a[1]);
  const double area_b = std::max(0.0, b[2] - b[0]) * std::max(0.0, b[3] - b[1]);
  const double uni = area_a + area_b - intersection;
  return uni > 0 ? intersection / uni : 0;
}

StatusOr<std::vector<Detection>> DecodeDetections(const DetectionHeadSpec& head,
                                                  const std::vector<Tensor>& outputs,
                                                  const std::vector<int64_t>& image_indices,
                                                  const std::vector<ImageTransform>& transforms,
                                                  const DecodeOptions& options) {
  MIXQ_RETURN_IF_ERROR(CheckSpec(head, options));
  MIXQ_ASSIGN_OR_RETURN(const HeadView view, ViewOutputs(head, outputs));
  if (static_cast<int64_t>(image_indices.size()) != view.images ||
      static_cast<int64_t>(transforms.size()) != view.images) {
    return InvalidArgument("detection head: outputs hold " + std::to_string(view.images) +
                           " images, but " + std::to_string(image_indices.size()) +
                           " image indices and " + std::to_string(transforms.size()) +
                           " transforms were given");
  }
  for (size_t n = 0; n < transforms.size(); ++n) {
    MIXQ_RETURN_IF_ERROR(CheckTransform(transforms[n], n));
  }
  std::vector<Detection> detections;
  for (int64_t n = 0; n < view.images; ++n) {
    std::vector<Candidate> kept =
        PerClassNms(Candidates(head, view, n, options), options.nms_iou_threshold);
    // NMS kept the candidates' order, highest score first.
    if (static_cast<int64_t>(kept.size()) > options.max_detections) {
      kept.resize(options.max_detections);
    }
    for (const Candidate& c : kept) {
      detections.push_back(ToDetection(c, head, image_indices[n], transforms[n]));
    }
  }
  return detections;
}

}  // namespace mixq
