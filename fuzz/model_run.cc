#include "fuzz/model_run.h"

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/tensor.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "engine/runtime/calibrator.h"
#include "engine/runtime/input_feed.h"
#include "fuzz/fuzz_check.h"

namespace mixq::fuzz {

ExecutorOptions FuzzExecutorOptions() {
  ExecutorOptions options;
  options.threads = 1;
  options.max_memory_bytes = kModelMemoryLimit;
  return options;
}

std::optional<Graph> ImportForFuzzing(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto graph = ImportOnnxFromBytes(bytes, "fuzz.onnx");
  if (!graph.ok()) {
    CheckRefusal(graph.status(), "ONNX import");
    return std::nullopt;
  }
  return std::move(*graph);
}

std::optional<AllInt8> AllInt8WithSyntheticScales(const Graph& graph, const std::string& sha) {
  const std::vector<std::string> layers = graph.QuantizableLayers();
  if (layers.empty()) return std::nullopt;
  CalibratorOptions calibrator;
  calibrator.batch = 1;
  calibrator.executor = FuzzExecutorOptions();
  auto calibration = CalibrateSynthetic(graph, 1, 1, ScaleOptions(), sha, calibrator);
  if (!calibration.ok()) {
    CheckRefusal(calibration.status(), "synthetic calibration");
    return std::nullopt;
  }
  return AllInt8{UniformPrecisionConfig(Precision::kInt8, layers, sha), std::move(*calibration)};
}

StatusOr<Graph> SpecializeForFuzzing(const Graph& graph) {
  for (const std::string& input : graph.inputs) {
    const ValueInfo* info = graph.FindValue(input);
    bool is_static = info != nullptr;
    for (int64_t d : is_static ? info->shape : Shape{}) is_static = is_static && d >= 0;
    if (!is_static) return SpecializeForBatch(graph, 1);
  }
  return Specialize(graph, {});
}

bool CompileAndRun(const Graph& specialised, const ExecutorOptions& options,
                   const std::string& what) {
  auto model = CompiledModel::Compile(specialised, options);
  if (!model.ok()) {
    CheckRefusal(model.status(), what + " compile");
    return false;
  }
  // Compile() checked every input and output against the memory limit, so
  // these allocations are bounded.
  std::vector<Tensor> inputs;
  for (const ValueInfo& info : (*model)->input_infos()) inputs.emplace_back(info.dtype, info.shape);
  Status filled = SyntheticInputs(specialised).Fill(1234, 0, &inputs);
  MIXQ_FUZZ_CHECK(filled.ok(), what + ": synthetic inputs refused: " + filled.message());
  std::vector<const Tensor*> input_ptrs;
  for (const Tensor& t : inputs) input_ptrs.push_back(&t);
  std::vector<Tensor> outputs = (*model)->MakeOutputs();
  Status ran = (*model)->Run(input_ptrs, &outputs);
  if (!ran.ok()) {
    CheckRefusal(ran, what + " run");
    return false;
  }
  return true;
}

}  // namespace mixq::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  setenv("OMP_NUM_THREADS", "1", 1);
  setenv("ONEDNN_VERBOSE", "0", 1);
  return 0;
}
