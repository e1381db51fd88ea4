// Fuzz target: a QDQ model's bytes (ONNX Runtime's quantisation format, or
// what `mixq export` writes), taken the way `mixq eval` and `mixq bench` take
// one: imported, its Q/DQ annotations turned into a QuantSpec, specialised
// for batch 1, compiled as INT8 with that spec and run once on synthetic
// inputs.
//
// Property: a model without Q/DQ nodes that imports and compiles is exported
// as QDQ (every quantizable layer INT8, scales from a one-sample synthetic
// calibration) and imported again; the spec read back must name the same
// INT8 layers and carry the calibration's scales bit for bit, as the export
// promises (qdq_export.h). The export refuses models that are quantised
// already, so the round trip starts from float models.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/precision_config.h"
#include "common/sha256.h"
#include "engine/ir/graph.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/onnx/qdq_export.h"
#include "engine/onnx/qdq_import.h"
#include "engine/quant/quant_spec.h"
#include "engine/runtime/executor.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/model_run.h"

namespace {

// The export -> import round trip of a float model (see the file comment).
void ExportRoundTrip(const std::string& bytes, const mixq::Graph& graph) {
  const std::string sha = mixq::Sha256Hex(bytes);
  auto int8 = mixq::fuzz::AllInt8WithSyntheticScales(graph, sha);
  if (!int8) return;
  const mixq::PrecisionConfig& config = int8->config;
  const mixq::Calibration& calibration = int8->calibration;
  auto exported = mixq::ExportQdq(bytes, "fuzz.onnx", config, calibration, {});
  if (!exported.ok()) {
    mixq::fuzz::CheckRefusal(exported.status(), "QDQ export");
    return;
  }
  auto graph_again = mixq::ImportOnnxFromBytes(*exported, "exported.onnx");
  MIXQ_FUZZ_CHECK(graph_again.ok(),
                  "an exported QDQ model does not import: " + graph_again.status().message());
  auto again = mixq::QdqToQuantSpec(std::move(*graph_again));
  MIXQ_FUZZ_CHECK(again.ok(),
                  "an exported QDQ model's annotations are refused: " + again.status().message());
  MIXQ_FUZZ_CHECK(again->spec.layers == config.layers,
                  "the exported QDQ model reads back with other INT8 layers");
  for (const auto& [tensor, params] : again->spec.activations) {
    auto it = calibration.activations.find(tensor);
    MIXQ_FUZZ_CHECK(it != calibration.activations.end(),
                    "the exported QDQ model quantises '" + tensor + "', which has no scale");
    MIXQ_FUZZ_CHECK(params.dequant_scale == it->second.dequant_scale &&
                        params.is_unsigned == it->second.is_unsigned,
                    "the exported QDQ model reads back another scale for '" + tensor + "'");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mixq::fuzz::CatchEscapes([&] {
    std::optional<mixq::Graph> graph = mixq::fuzz::ImportForFuzzing(data, size);
    if (!graph) return;
    auto model = mixq::QdqToQuantSpec(*graph);
    if (!model.ok()) {
      mixq::fuzz::CheckRefusal(model.status(), "QDQ import");
      return;
    }
    auto specialised = mixq::fuzz::SpecializeForFuzzing(model->graph);
    if (!specialised.ok()) {
      mixq::fuzz::CheckRefusal(specialised.status(), "specialisation");
      return;
    }
    mixq::ExecutorOptions options = mixq::fuzz::FuzzExecutorOptions();
    options.quant = model->spec;
    if (!mixq::fuzz::CompileAndRun(*specialised, options, "QDQ")) return;
    if (!model->has_qdq)
      ExportRoundTrip(std::string(reinterpret_cast<const char*>(data), size), model->graph);
  });
  return 0;
}
