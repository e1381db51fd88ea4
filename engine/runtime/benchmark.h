// Speed of a compiled model: latency per batch and throughput after warm-up,
// on synthetic inputs (speed does not depend on the values for FP32; INT8
// saturation effects are accuracy questions, measured by evaluation).
#ifndef MIXQ_ENGINE_RUNTIME_BENCHMARK_H_
#define MIXQ_ENGINE_RUNTIME_BENCHMARK_H_

#include <cstdint>

#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/runtime/executor.h"

namespace mixq {

struct BenchOptions {
  int64_t batch = 1;
  ExecutorOptions executor;
  int warmup = 3;            // untimed runs after compilation
  int min_iterations = 10;   // timed runs: at least this many ...
  double min_seconds = 2.0;  // ... and at least this long
  int max_iterations = 10000;
};

struct BenchResult {
  int64_t batch = 0;
  int threads = 0;  // as requested; 0 = runtime default
  int iterations = 0;
  double latency_ms_median = 0.0;
  double latency_ms_p90 = 0.0;
  double latency_ms_mean = 0.0;
  double images_per_second = 0.0;  // batch / mean latency
  double compile_ms = 0.0;
};

// Specialises `graph` for options.batch, compiles and times it.
StatusOr<BenchResult> Benchmark(const Graph& graph, const BenchOptions& options);

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_BENCHMARK_H_
