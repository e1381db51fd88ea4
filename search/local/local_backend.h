// A SearchBackend that measures in this process with the engine: full and
// ranking evaluations on dataset slices, benchmarks and per-layer profiles
// on this machine's hardware class (with any --max-isa cap). It is the
// search's single-machine form (`mixq search`) and the reference the
// distributed backend is checked against.
#ifndef MIXQ_SEARCH_LOCAL_LOCAL_BACKEND_H_
#define MIXQ_SEARCH_LOCAL_LOCAL_BACKEND_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/dataset.h"
#include "engine/ir/graph.h"
#include "engine/quant/calibration_file.h"
#include "engine/quant/quant_spec.h"
#include "engine/runtime/evaluator.h"
#include "search/strategy.h"

namespace mixq {

struct LocalBackendOptions {
  int64_t eval_begin = 0;  // the full evaluation set: [begin, begin + count)
  int64_t eval_count = -1;
  int64_t ranking_count = 300;  // the ranking subset: the first samples of the evaluation set
  // What the budget is in (engine/runtime/evaluator.h): top-1 by default;
  // the dataset's task must measure it.
  EvalMetric metric = EvalMetric::kTop1;
  int64_t batch = 16;  // benchmark and profile batch
  int64_t eval_batch = 100;
  int threads = 0;
  bool winograd = true;  // ExecutorOptions::winograd
  double bench_seconds = 1.0;
  int profile_runs = 10;
  SevenBitWeights seven_bit = SevenBitWeights::kNone;
  // Called with a line of progress (may be empty).
  std::function<void(const std::string&)> progress;
};

class LocalBackend final : public SearchBackend {
 public:
  // `graph` is the imported model; `space` its search space (same layers).
  LocalBackend(const Graph& graph, const SearchSpace& space, const std::string& model_sha256,
               Calibration calibration, const Dataset& dataset, LocalBackendOptions options);

  StatusOr<std::vector<double>> EvaluateFull(const std::vector<Mask>& masks) override;
  StatusOr<std::vector<double>> EvaluateRanking(const std::vector<Mask>& masks) override;
  StatusOr<std::vector<double>> Benchmark(const std::vector<Mask>& masks, int round) override;
  StatusOr<ProfileData> Profile() override;

 private:
  StatusOr<QuantSpec> SpecOf(const Mask& mask) const;
  StatusOr<double> Accuracy(const Mask& mask, int64_t begin, int64_t count);
  // Per-step median seconds of `mask`'s compiled model, and its steps' nodes.
  Status ProfileSteps(const Mask& mask, std::vector<double>* seconds,
                      std::vector<std::string>* nodes);

  const Graph& graph_;
  const SearchSpace& space_;
  std::string model_sha256_;
  Calibration calibration_;
  const Dataset& dataset_;
  LocalBackendOptions options_;
};

// Attributes the steps of a compiled model to the search space's layers:
// a step belongs to the layer named by its node, or to the layer before it
// in topological order (the ops that follow a layer up to the next one);
// steps before the first layer and the graph-output reorders belong to no
// layer (-1). `node_order` is the fused graph's node names in order.
std::vector<int> AttributeSteps(const SearchSpace& space,
                                const std::vector<std::string>& step_nodes,
                                const std::vector<std::string>& node_order);

}  // namespace mixq

#endif  // MIXQ_SEARCH_LOCAL_LOCAL_BACKEND_H_
