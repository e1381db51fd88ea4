// The --config, --calibration and --seven-bit options that eval, bench and
// profile share: turns them into the PrecisionConfig and QuantSpec to run,
// refusing (one clear message) configs for another model, unknown or missing
// layers, calibrations of another model and INT8 without scales. When a
// command allows it, INT8 without --calibration is calibrated on synthetic
// inputs (timing only) and the result says so.
#ifndef MIXQ_CLI_QUANT_SETUP_H_
#define MIXQ_CLI_QUANT_SETUP_H_

#include <nlohmann/json.hpp>
#include <string>

#include "common/precision_config.h"
#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/quant/quant_spec.h"

namespace mixq {

struct QuantArgs {
  std::string config;              // file, or int8 / fp32 / bf16; "" = all FP32
  std::string calibration;         // calibration file from `mixq calibrate`; "" = none
  std::string seven_bit = "none";  // none | first | all
};

struct ResolvedQuant {
  PrecisionConfig config;
  QuantSpec spec;
  std::string calibration;  // the file, "synthetic", or "" when no INT8 layer needs one
  bool synthetic = false;   // scales from synthetic inputs: good for speed, not accuracy

  // "fp32", "int8" or "mixed".
  std::string PrecisionLabel() const;
  // One line for tables, e.g. "int8 (12/12 layers int8, config 3fa2c1d0e9b8)".
  std::string Summary() const;
  // Keys precision, config_hash, int8_layers, layers, calibration,
  // calibration_synthetic, seven_bit for JSON reports.
  nlohmann::json ToJson() const;
};

// Resolves `args` for the model at `model_path` (imported as `graph`). With
// `allow_synthetic`, INT8 layers without --calibration are calibrated on
// synthetic inputs with `threads` oneDNN threads; otherwise that is refused.
// `embedded` is the spec of a QDQ model (ImportOnnxWithQdq): it is used when
// no --config is given (--calibration is then refused: the model carries its
// scales).
StatusOr<ResolvedQuant> ResolveQuant(const QuantArgs& args, const std::string& model_path,
                                     const Graph& graph, bool allow_synthetic, int threads,
                                     const QuantSpec* embedded = nullptr);

}  // namespace mixq

#endif  // MIXQ_CLI_QUANT_SETUP_H_
