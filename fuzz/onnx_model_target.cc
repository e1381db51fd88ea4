// Fuzz target: an ONNX model's bytes, taken the way `mixq eval` and `mixq
// bench` take a model file: imported, specialised (model_run.h), compiled
// into the executor and run once on synthetic inputs, so that every kernel
// sees the shapes the importer accepted. About one input in four (picked by a
// hash of the bytes, so a run is deterministic) is also compiled with every
// quantizable layer INT8, on scales from a one-sample synthetic calibration
// (what `mixq bench --config int8` does without a calibration file), and run.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/sha256.h"
#include "engine/ir/graph.h"
#include "engine/quant/quant_spec.h"
#include "engine/runtime/executor.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/model_run.h"

namespace {

void RunInt8(const mixq::Graph& graph, const mixq::Graph& specialised, const std::string& sha) {
  auto int8 = mixq::fuzz::AllInt8WithSyntheticScales(graph, sha);
  if (!int8) return;
  auto spec = mixq::MakeQuantSpec(int8->config, int8->calibration, mixq::SevenBitWeights::kNone);
  if (!spec.ok()) {
    mixq::fuzz::CheckRefusal(spec.status(), "quant spec");
    return;
  }
  mixq::ExecutorOptions options = mixq::fuzz::FuzzExecutorOptions();
  options.quant = std::move(*spec);
  mixq::fuzz::CompileAndRun(specialised, options, "INT8");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mixq::fuzz::CatchEscapes([&] {
    std::optional<mixq::Graph> graph = mixq::fuzz::ImportForFuzzing(data, size);
    if (!graph) return;
    auto specialised = mixq::fuzz::SpecializeForFuzzing(*graph);
    if (!specialised.ok()) {
      mixq::fuzz::CheckRefusal(specialised.status(), "specialisation");
      return;
    }
    if (!mixq::fuzz::CompileAndRun(*specialised, mixq::fuzz::FuzzExecutorOptions(), "FP32")) {
      return;
    }
    const std::string sha =
        mixq::Sha256Hex(std::string_view(reinterpret_cast<const char*>(data), size));
    // The first hex digit of the hash: one input in four goes on to INT8.
    if (sha[0] < '4') RunInt8(*graph, *specialised, sha);
  });
  return 0;
}
