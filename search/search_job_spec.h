// The typed, validated form of a `kind: search` job (schemas/job.md): which
// slices calibrate, rank and evaluate, how to calibrate, the metric, the
// budget(s), the objective, the target hardware, the strategy and its
// knobs, and the limits. JobSpec keeps the search sections as YAML text;
// this module reads them and refuses unknown keys and impossible values with
// the key's dotted path.
#ifndef MIXQ_SEARCH_SEARCH_JOB_SPEC_H_
#define MIXQ_SEARCH_SEARCH_JOB_SPEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/job_spec.h"
#include "search/strategy.h"

namespace mixq {

struct SearchJobSpec {
  JobSpec job;  // name, model, data.evaluation, hardware, seven_bit, benchmark.seconds
  // data.calibration: the slice the activation ranges come from.
  std::string calibration_dataset;  // resolved; default: the evaluation dataset
  int64_t calibration_begin = 0;
  int64_t calibration_samples = 300;
  // calibration: {method, percentile, file}; a file skips calibrating.
  // `method` is one name or a list: with several, the strategy runs once per
  // method (each with its own scales) and the best answer is kept.
  std::vector<std::string> calibration_methods = {"minmax"};
  double calibration_percentile = 99.99;
  std::string calibration_file;  // resolved; "" = calibrate
  // data.ranking: the first `samples` of the evaluation slice; 0 = auto,
  // sized from the smallest budget (ranking_size.h).
  int64_t ranking_samples = 0;
  // top1 | top5 | map50 | map50_95 | miou; "" = the dataset task's own
  // (common/eval_metric.h), checked against the dataset when the job runs.
  std::string metric;
  // budget: max_drop (one value, or a list for pareto); relative: the
  // values are percent of the FP32 accuracy instead of accuracy points.
  std::vector<double> budgets = {1.0};
  bool relative = false;
  // objective: throughput at `batch`, or latency (batch 1).
  std::string objective = "throughput";
  int64_t batch = 16;
  std::string strategy = "speed_aware";  // accuracy_aware | speed_aware | exhaustive | pareto
  // strategy.{parallel, exhaustive_benchmarks, reference_int8, min_gain,
  // confirm_rounds} and limits.max_full_evaluations, as the strategies take
  // them; max_drop is set per budget when the search runs.
  SearchSettings settings;
  // strategy.layers: the layers exhaustive enumerates, by name (distinct,
  // at most kMaxExhaustiveLayers; empty = every layer). Names are checked
  // against the model when the job runs, which sets
  // settings.exhaustive_layers from them (FindLayers()).
  std::vector<std::string> exhaustive_layers;
  double max_seconds = 0.0;  // 0 = no limit
  std::string output;        // resolved; "" = <db dir>/search-<job id>
};

// InvalidArgument naming the key path for a job that is not a valid search.
StatusOr<SearchJobSpec> ParseSearchJobSpec(const JobSpec& job);

// The budgets in accuracy points for an FP32 accuracy of `fp32_accuracy`.
std::vector<double> AbsoluteBudgets(const SearchJobSpec& spec, double fp32_accuracy);

}  // namespace mixq

#endif  // MIXQ_SEARCH_SEARCH_JOB_SPEC_H_
