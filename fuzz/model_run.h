// What the model targets (onnx_model, qdq_model) share: the executor options
// a fuzzed model compiles with (one thread, a memory limit far below the
// default, so that a model declaring huge tensors is refused instead of
// filling the fuzzer's -rss_limit_mb), the shapes it is specialised for, and
// one compile-and-run on synthetic inputs, the way `mixq bench` runs a model.
// model_run.cc also defines the targets' LLVMFuzzerInitialize: quiet,
// single-threaded oneDNN, set before the first primitive reads the
// environment.
#ifndef MIXQ_FUZZ_MODEL_RUN_H_
#define MIXQ_FUZZ_MODEL_RUN_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/precision_config.h"
#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/quant/calibration_file.h"
#include "engine/runtime/executor.h"

namespace mixq::fuzz {

// The compile memory limit of fuzzed models.
constexpr size_t kModelMemoryLimit = size_t{256} << 20;

// One oneDNN thread (a run is cheap and repeatable) and kModelMemoryLimit.
ExecutorOptions FuzzExecutorOptions();

// The model in `bytes` (ImportOnnxFromBytes()); nullopt after
// CheckRefusal() when the importer refuses it.
std::optional<Graph> ImportForFuzzing(const uint8_t* data, size_t size);

// Every quantizable layer of `graph` (imported, unspecialised; its file
// hashes to `sha`) INT8, with scales from a one-sample synthetic calibration
// (what `mixq bench --config int8` does without a calibration file).
struct AllInt8 {
  PrecisionConfig config;
  Calibration calibration;
};
// nullopt when `graph` has no quantizable layer, or after CheckRefusal()
// when the calibration is refused.
std::optional<AllInt8> AllInt8WithSyntheticScales(const Graph& graph, const std::string& sha);

// `graph` specialised as the model declares it when every input shape is
// static, else for batch 1 (SpecializeForBatch(), what eval and bench do).
StatusOr<Graph> SpecializeForFuzzing(const Graph& graph);

// Compiles `specialised` with `options` and runs it once on synthetic inputs
// (input_feed.h). A refusal goes through CheckRefusal() naming `what`; true
// when the model compiled and ran.
bool CompileAndRun(const Graph& specialised, const ExecutorOptions& options,
                   const std::string& what);

}  // namespace mixq::fuzz

#endif  // MIXQ_FUZZ_MODEL_RUN_H_
