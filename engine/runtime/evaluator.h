// Accuracy of a model on a labelled dataset slice: runs the compiled model
// batch by batch and counts top-1 and top-5 hits. The same routine serves
// `mixq eval` and, later, the workers' evaluate tasks; counts (not rates) are
// returned so that shard results can be summed exactly.
#ifndef MIXQ_ENGINE_RUNTIME_EVALUATOR_H_
#define MIXQ_ENGINE_RUNTIME_EVALUATOR_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/dataset.h"
#include "common/eval_metric.h"
#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/runtime/executor.h"
#include "metrics/detection.h"
#include "metrics/fidelity.h"
#include "metrics/segmentation.h"

namespace mixq {

struct EvalOptions {
  int64_t batch = 100;  // samples per forward pass
  int64_t begin = 0;    // first sample of the slice
  int64_t count = -1;   // samples in the slice; -1 = to the end of the dataset
  ExecutorOptions executor;
  // When set, receives the top-1 class of every sample of the slice, in
  // order (e.g. the FP32 model's, kept as the reference for agreement).
  std::vector<int32_t>* top1 = nullptr;
  // When set (one class per sample of the slice), EvalCounts::agree1 counts
  // the samples whose top-1 class equals it. InvalidArgument on a size mismatch.
  const std::vector<int32_t>* reference_top1 = nullptr;
  // When true, every batch also runs in FP32 (these executor options without
  // their quantised layers) on the same inputs, and EvalCounts::fidelity
  // compares each output with FP32's (metrics/fidelity.h). Then a model
  // whose first output is not [N, classes] is evaluated too (no top-1).
  bool fidelity = false;
  // Called after each batch with (samples done, samples total); may be empty.
  std::function<void(int64_t, int64_t)> progress;
};

struct EvalCounts {
  int64_t samples = 0;
  int64_t correct1 = 0;
  int64_t correct5 = 0;
  int64_t agree1 = -1;   // top-1 equal to reference_top1 (or, with fidelity, to
                         // FP32's beside it); -1 without either
  double seconds = 0.0;  // model execution and data preparation, not compilation
  // False when the first output is not [N, classes] (possible only with
  // `fidelity`): the counts above are then 0.
  bool classified = true;
  FidelityStats fidelity;  // with EvalOptions::fidelity: every output against FP32
  // A dataset whose `task` is detection or segmentation (common/task_spec.h)
  // is scored on it instead of top-1 (classified is then false).
  std::optional<DetectionStats> detection;
  std::optional<SegmentationStats> segmentation;
};

// `metric` of `counts` in points; InvalidArgument when the run did not
// measure it (a detection metric of a classification run), or when no
// sample counted (empty slice, no ground truth: COCO's -1).
StatusOr<double> MetricPoints(const EvalCounts& counts, EvalMetric metric);

// `graph` is an imported (unspecialised) graph whose first output has shape
// [N, classes] (any outputs with `fidelity` or a detection or segmentation
// dataset, engine/runtime/task_scorer.h); the dataset feeds each of its inputs by name
// (Dataset::CheckFits). Fails with InvalidArgument when the dataset does not
// fit the model's inputs or a label is outside [0, classes).
StatusOr<EvalCounts> Evaluate(const Graph& graph, const Dataset& dataset,
                              const EvalOptions& options);

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_EVALUATOR_H_
