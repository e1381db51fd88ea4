#include "engine/runtime/benchmark.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "engine/passes/specialize.h"
#include "engine/runtime/input_feed.h"

namespace mixq {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

StatusOr<BenchResult> Benchmark(const Graph& graph, const BenchOptions& options) {
  if (options.batch <= 0) return InvalidArgument("batch size must be positive");
  auto t0 = Clock::now();
  MIXQ_ASSIGN_OR_RETURN(Graph specialised, SpecializeForBatch(graph, options.batch));
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<CompiledModel> model,
                        CompiledModel::Compile(specialised, options.executor));
  BenchResult result;
  result.compile_ms = Ms(Clock::now() - t0);
  result.batch = options.batch;
  result.threads = options.executor.threads;

  std::vector<Tensor> inputs;
  for (const ValueInfo& info : model->input_infos()) inputs.emplace_back(info.dtype, info.shape);
  MIXQ_RETURN_IF_ERROR(SyntheticInputs(specialised).Fill(1234, 0, &inputs));
  std::vector<const Tensor*> input_ptrs;
  for (const Tensor& t : inputs) input_ptrs.push_back(&t);
  std::vector<Tensor> outputs = model->MakeOutputs();

  for (int i = 0; i < options.warmup; ++i) MIXQ_RETURN_IF_ERROR(model->Run(input_ptrs, &outputs));

  std::vector<double> latencies;
  auto start = Clock::now();
  while (static_cast<int>(latencies.size()) < options.max_iterations) {
    auto a = Clock::now();
    MIXQ_RETURN_IF_ERROR(model->Run(input_ptrs, &outputs));
    auto b = Clock::now();
    latencies.push_back(Ms(b - a));
    if (static_cast<int>(latencies.size()) >= options.min_iterations &&
        Ms(b - start) >= options.min_seconds * 1000.0) {
      break;
    }
  }
  result.iterations = static_cast<int>(latencies.size());
  result.latency_ms_mean =
      std::accumulate(latencies.begin(), latencies.end(), 0.0) / latencies.size();
  std::sort(latencies.begin(), latencies.end());
  auto quantile = [&](double q) {
    size_t idx = static_cast<size_t>(std::ceil(q * latencies.size())) - 1;
    return latencies[std::min(idx, latencies.size() - 1)];
  };
  result.latency_ms_median =
      latencies.size() % 2
          ? latencies[latencies.size() / 2]
          : 0.5 * (latencies[latencies.size() / 2 - 1] + latencies[latencies.size() / 2]);
  result.latency_ms_p90 = quantile(0.9);
  result.images_per_second = options.batch * 1000.0 / result.latency_ms_mean;
  return result;
}

}  // namespace mixq
