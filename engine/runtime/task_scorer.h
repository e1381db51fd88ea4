// Scores a detector's or a segmenter's outputs on a dataset whose `task`
// (common/task_spec.h) says how: COCO mAP against the annotation file
// (metrics/detection.h, boxes decoded by metrics/detection_decode.h and
// mapped back to each image's own size), or the confusion matrix of the
// output's per-pixel argmax against the sample's label mask
// (metrics/segmentation.h). Evaluate() feeds it batch by batch; the
// statistics merge exactly across shards.
#ifndef MIXQ_ENGINE_RUNTIME_TASK_SCORER_H_
#define MIXQ_ENGINE_RUNTIME_TASK_SCORER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/dataset.h"
#include "common/status.h"
#include "common/tensor.h"
#include "metrics/detection.h"
#include "metrics/detection_decode.h"
#include "metrics/segmentation.h"

namespace mixq {

class TaskScorer {
 public:
  // For `dataset` (a detection or segmentation task) fed to a model whose
  // image input is `input_height` x `input_width`. Reads the annotation file
  // now: InvalidArgument naming it when it does not parse, when an image of
  // the dataset has no entry in it, or when the task's classes and the
  // file's categories disagree.
  static StatusOr<std::unique_ptr<TaskScorer>> Make(const Dataset& dataset, int64_t input_height,
                                                    int64_t input_width);

  // The outputs of samples [first, first + n) (n = dim 0). Errors name the
  // sample's mask file (wrong size, a label outside the classes).
  Status Add(int64_t first, const std::vector<Tensor>& outputs);

  // One of the two is set, per the task.
  const std::optional<DetectionStats>& detection() const { return detection_; }
  const std::optional<SegmentationStats>& segmentation() const { return segmentation_; }

  TaskScorer(const Dataset& dataset) : dataset_(dataset) {}

 private:
  Status AddDetections(int64_t first, const std::vector<Tensor>& outputs);
  Status AddMasks(int64_t first, const std::vector<Tensor>& outputs);

  const Dataset& dataset_;
  // Detection.
  DetectionHeadSpec head_;
  DecodeOptions decode_;
  int64_t input_height_ = 0, input_width_ = 0;
  std::vector<std::vector<GroundTruth>> truths_;  // per sample
  std::vector<ImageTransform> transforms_;        // per sample
  std::optional<DetectionStats> detection_;
  // Segmentation.
  std::optional<SegmentationStats> segmentation_;
};

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_TASK_SCORER_H_
