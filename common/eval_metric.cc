#include "common/eval_metric.h"

namespace mixq {

StatusOr<EvalMetric> ParseEvalMetric(const std::string& name) {
  for (EvalMetric m : {EvalMetric::kTop1, EvalMetric::kTop5, EvalMetric::kMap50,
                       EvalMetric::kMap50_95, EvalMetric::kMiou}) {
    if (name == EvalMetricName(m)) return m;
  }
  return InvalidArgument("unknown metric '" + name + "' (top1, top5, map50, map50_95, miou)");
}

const char* EvalMetricName(EvalMetric metric) {
  switch (metric) {
    case EvalMetric::kTop5:
      return "top5";
    case EvalMetric::kMap50:
      return "map50";
    case EvalMetric::kMap50_95:
      return "map50_95";
    case EvalMetric::kMiou:
      return "miou";
    case EvalMetric::kTop1:
      break;
  }
  return "top1";
}

TaskSpec::Kind EvalMetricTask(EvalMetric metric) {
  switch (metric) {
    case EvalMetric::kMap50:
    case EvalMetric::kMap50_95:
      return TaskSpec::Kind::kDetection;
    case EvalMetric::kMiou:
      return TaskSpec::Kind::kSegmentation;
    case EvalMetric::kTop1:
    case EvalMetric::kTop5:
      break;
  }
  return TaskSpec::Kind::kClassification;
}

EvalMetric DefaultEvalMetric(TaskSpec::Kind task) {
  switch (task) {
    case TaskSpec::Kind::kDetection:
      return EvalMetric::kMap50_95;
    case TaskSpec::Kind::kSegmentation:
      return EvalMetric::kMiou;
    case TaskSpec::Kind::kClassification:
    case TaskSpec::Kind::kUnlabelled:
      break;
  }
  return EvalMetric::kTop1;
}

StatusOr<EvalMetric> ResolveEvalMetric(const std::string& name, TaskSpec::Kind task,
                                       const std::string& option, const std::string& dataset) {
  EvalMetric metric = DefaultEvalMetric(task);
  if (!name.empty()) {
    MIXQ_ASSIGN_OR_RETURN(metric, ParseEvalMetric(name));
  }
  if (EvalMetricTask(metric) != task) {
    return InvalidArgument(option + " " + EvalMetricName(metric) + " scores a " +
                           TaskKindName(EvalMetricTask(metric)) + " dataset; '" + dataset +
                           "' is a " + TaskKindName(task) + " dataset (its 'task')");
  }
  return metric;
}

std::string EvalMetricColumn(EvalMetric metric) {
  switch (metric) {
    case EvalMetric::kTop5:
      return "top-5 %";
    case EvalMetric::kMap50:
      return "mAP@.5 %";
    case EvalMetric::kMap50_95:
      return "mAP %";
    case EvalMetric::kMiou:
      return "mIoU %";
    case EvalMetric::kTop1:
      break;
  }
  return "top-1 %";
}

}  // namespace mixq
