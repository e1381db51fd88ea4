#include "cli/quant_setup.h"

#include <utility>
#include <vector>

#include "common/sha256.h"
#include "engine/passes/specialize.h"
#include "engine/quant/calibration_file.h"
#include "engine/runtime/calibrator.h"
#include "engine/runtime/executor.h"

namespace mixq {
namespace {

// Synthetic calibration is for timing only: a few samples are enough.
constexpr int64_t kSyntheticSamples = 32;
constexpr int64_t kSyntheticBatch = 8;
constexpr uint32_t kSyntheticSeed = 1234;

// Every tensor the executor may quantise must have a scale.
Status CheckCoversCalibrationPoints(const Graph& graph, const QuantSpec& spec,
                                    const std::string& calibration) {
  MIXQ_ASSIGN_OR_RETURN(Graph specialised, SpecializeForBatch(graph, 1));
  for (const std::string& name : CalibrationPoints(specialised, ExecutorOptions())) {
    if (spec.activations.count(name) == 0) {
      return FailedPrecondition("calibration '" + calibration + "' has no scale for tensor '" +
                                name + "' of the model (made for another graph?)");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string ResolvedQuant::PrecisionLabel() const {
  const int int8 = config.Count(Precision::kInt8);
  if (int8 == 0) return "fp32";
  return int8 == static_cast<int>(config.layers.size()) ? "int8" : "mixed";
}

std::string ResolvedQuant::Summary() const {
  std::string line = PrecisionLabel() + " (" + std::to_string(config.Count(Precision::kInt8)) +
                     "/" + std::to_string(config.layers.size()) + " layers int8, config " +
                     config.Hash().substr(0, 12) + ")";
  if (synthetic) line += ", calibration: SYNTHETIC inputs (timing only, not accuracy)";
  return line;
}

nlohmann::json ResolvedQuant::ToJson() const {
  return {{"precision", PrecisionLabel()},
          {"config_hash", config.Hash()},
          {"int8_layers", config.Count(Precision::kInt8)},
          {"layers", config.layers.size()},
          {"calibration", calibration},
          {"calibration_synthetic", synthetic},
          {"seven_bit", SevenBitWeightsName(spec.seven_bit)}};
}

StatusOr<ResolvedQuant> ResolveQuant(const QuantArgs& args, const std::string& model_path,
                                     const Graph& graph, bool allow_synthetic, int threads,
                                     const QuantSpec* embedded) {
  MIXQ_ASSIGN_OR_RETURN(SevenBitWeights seven_bit, ParseSevenBitWeights(args.seven_bit));
  MIXQ_ASSIGN_OR_RETURN(std::string model_sha256, Sha256File(model_path));
  if (embedded != nullptr && args.config.empty()) {
    if (!args.calibration.empty()) {
      return InvalidArgument(
          "the model is a QDQ model and carries its own scales: "
          "--calibration applies only with --config");
    }
    ResolvedQuant resolved;
    resolved.config =
        UniformPrecisionConfig(Precision::kFp32, graph.QuantizableLayers(), model_sha256);
    for (const auto& [layer, precision] : embedded->layers)
      resolved.config.layers[layer] = precision;
    resolved.spec = *embedded;
    resolved.calibration = resolved.config.Count(Precision::kInt8) > 0 ? "embedded (QDQ)" : "";
    return resolved;
  }
  if (args.config.empty() && !args.calibration.empty()) {
    return InvalidArgument("--calibration needs --config (e.g. --config int8)");
  }
  ResolvedQuant resolved;
  if (args.config.empty()) {
    resolved.config =
        UniformPrecisionConfig(Precision::kFp32, graph.QuantizableLayers(), model_sha256);
  } else {
    MIXQ_ASSIGN_OR_RETURN(resolved.config, LoadPrecisionConfig(args.config, graph, model_sha256));
  }

  Calibration calibration;
  calibration.model_sha256 = model_sha256;
  const bool needs_scales = resolved.config.Count(Precision::kInt8) > 0;
  if (!args.calibration.empty()) {
    MIXQ_ASSIGN_OR_RETURN(calibration, LoadCalibration(args.calibration));
    resolved.calibration = args.calibration;
  } else if (needs_scales) {
    if (!allow_synthetic) {
      return InvalidArgument(
          "the config has INT8 layers: give --calibration F (from mixq "
          "calibrate); synthetic scales are for bench and profile only");
    }
    CalibratorOptions options;
    options.batch = kSyntheticBatch;
    options.executor.threads = threads;
    MIXQ_ASSIGN_OR_RETURN(calibration, CalibrateSynthetic(graph, kSyntheticSamples, kSyntheticSeed,
                                                          ScaleOptions(), model_sha256, options));
    resolved.calibration = "synthetic";
    resolved.synthetic = true;
  }
  StatusOr<QuantSpec> spec = MakeQuantSpec(resolved.config, calibration, seven_bit);
  if (!spec.ok()) {
    // The config's own refusals (BF16 layers) are not the calibration's.
    if (spec.status().code() == StatusCode::kUnimplemented) {
      return spec.status().WithContext("--config " + args.config);
    }
    return spec.status().WithContext(args.calibration.empty() ? std::string("calibration")
                                                              : "'" + args.calibration + "'");
  }
  resolved.spec = std::move(*spec);
  if (needs_scales) {
    MIXQ_RETURN_IF_ERROR(CheckCoversCalibrationPoints(graph, resolved.spec, resolved.calibration));
  }
  return resolved;
}

}  // namespace mixq
