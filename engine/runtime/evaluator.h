// Accuracy of a model on a labelled dataset slice: runs the compiled model
// batch by batch and counts top-1 and top-5 hits. The same routine serves
// `mixq eval` and, later, the workers' evaluate tasks; counts (not rates) are
// returned so that shard results can be summed exactly.
#ifndef MIXQ_ENGINE_RUNTIME_EVALUATOR_H_
#define MIXQ_ENGINE_RUNTIME_EVALUATOR_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "common/dataset.h"
#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/runtime/executor.h"

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
  // Called after each batch with (samples done, samples total); may be empty.
  std::function<void(int64_t, int64_t)> progress;
};

struct EvalCounts {
  int64_t samples = 0;
  int64_t correct1 = 0;
  int64_t correct5 = 0;
  int64_t agree1 = -1;   // top-1 equal to reference_top1; -1 without a reference
  double seconds = 0.0;  // model execution and data preparation, not compilation
};

// `graph` is an imported (unspecialised) graph whose first output has shape
// [N, classes]; the dataset feeds each of its inputs by name
// (Dataset::CheckFits). Fails with InvalidArgument when the dataset does not
// fit the model's inputs or a label is outside [0, classes).
StatusOr<EvalCounts> Evaluate(const Graph& graph, const Dataset& dataset,
                              const EvalOptions& options);

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_EVALUATOR_H_
