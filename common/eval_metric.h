// The metrics an evaluation is scored on and a search budgets in, by name,
// with the dataset task each scores (common/task_spec.h). Reading them from
// a run is the engine's (engine/runtime/evaluator.h MetricPoints) or, for a
// job, the coordinator's merged rows.
#ifndef MIXQ_COMMON_EVAL_METRIC_H_
#define MIXQ_COMMON_EVAL_METRIC_H_

#include <string>

#include "common/status.h"
#include "common/task_spec.h"

namespace mixq {

// The number a search budgets, in points (percent):
// top-1 or top-5 of a classification dataset, COCO box mAP@0.5 or
// mAP@[.5:.95] of a detection dataset, mIoU of a segmentation dataset.
enum class EvalMetric { kTop1, kTop5, kMap50, kMap50_95, kMiou };

// "top1" | "top5" | "map50" | "map50_95" | "miou"; InvalidArgument listing
// them otherwise.
StatusOr<EvalMetric> ParseEvalMetric(const std::string& name);
const char* EvalMetricName(EvalMetric metric);
// The dataset task a metric scores (common/task_spec.h).
TaskSpec::Kind EvalMetricTask(EvalMetric metric);
// The task's own metric when none is named: top-1, mAP@[.5:.95] (COCO's
// primary number), mIoU.
EvalMetric DefaultEvalMetric(TaskSpec::Kind task);
// A table's heading for the metric's column, e.g. "top-1 %", "mIoU %".
std::string EvalMetricColumn(EvalMetric metric);
// The metric `name` ("" = the task's own) for a dataset of `task`;
// InvalidArgument for an unknown name, or one line naming both when the
// metric scores another task, e.g. "--metric miou scores a segmentation
// dataset; 'd.yaml' is a detection dataset (its 'task')" (`option` names the
// setting: "--metric", "'metric'").
StatusOr<EvalMetric> ResolveEvalMetric(const std::string& name, TaskSpec::Kind task,
                                       const std::string& option, const std::string& dataset);

}  // namespace mixq

#endif  // MIXQ_COMMON_EVAL_METRIC_H_
