// What a dataset's samples are scored on (the `task` key of a dataset YAML,
// schemas/dataset.md): classification against labels (the default), COCO
// detection mAP against an annotation file, or segmentation mIoU against
// label masks. The fields that describe the detector's outputs sit here
// because the dataset file is where a user declares the metric; the
// scoring itself is engine/runtime/task_scorer.h, on metrics/.
#ifndef MIXQ_COMMON_TASK_SPEC_H_
#define MIXQ_COMMON_TASK_SPEC_H_

#include <cstdint>
#include <string>

namespace mixq {

struct TaskSpec {
  // kUnlabelled: images without labels, for the label-free fidelity of a
  // quantised config against FP32 (metrics/fidelity.h) and top-1 agreement.
  enum class Kind { kClassification, kDetection, kSegmentation, kUnlabelled };
  Kind kind = Kind::kClassification;
  // Detection: a COCO instances JSON; each sample is the image whose
  // `file_name` is the sample's file name under `images`.
  std::string annotations;
  // What messages call the annotation file when `annotations` is a copy (a
  // worker's cache names files by hash); empty: `annotations`.
  std::string annotations_name;
  // Segmentation: a folder of 8-bit label PNGs, `<image stem>.png`, each the
  // size of the model's output; pixels equal to `ignore_index` do not count.
  std::string masks;
  int64_t ignore_index = -1;  // -1: none
  // Detection: the model's classes (class k is the annotation file's k-th
  // category by id); segmentation: the classes of the output, background
  // included.
  int64_t classes = 0;
  // Detection: the head's layout (metrics/detection_decode.h).
  bool boxes_cxcywh = true;  // `boxes: cxcywh` (else xyxy)
  bool objectness = false;   // a column after the box, multiplying the class scores
  bool two_outputs = false;  // boxes [N,B,4] and scores [N,B,classes] apart
  double score_threshold = 0.001;
  double nms_iou = 0.65;
  int64_t max_detections = 100;
};

// "classification" | "detection" | "segmentation" | "unlabelled"
const char* TaskKindName(TaskSpec::Kind kind);

}  // namespace mixq

#endif  // MIXQ_COMMON_TASK_SPEC_H_
