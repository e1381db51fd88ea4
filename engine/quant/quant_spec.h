// What INT8 execution needs besides the graph: the precision of each
// quantizable layer (a PrecisionConfig's layers), the quantisation parameters
// of each activation tensor (from a calibration) and how weights are
// quantised. The executor reads it at compile time; an empty spec runs FP32.
//
// Activation parameters are keyed by tensor (value) name as it appears in the
// fused graph: the outputs of quantizable layers after their fused post-ops
// and of the ops between them, and graph inputs (CalibrationPoints() in
// executor.h lists them). Weight scales are not part of the spec: the
// executor derives them from the weights (symmetric, per output channel).
#ifndef MIXQ_ENGINE_QUANT_QUANT_SPEC_H_
#define MIXQ_ENGINE_QUANT_QUANT_SPEC_H_

#include <map>
#include <string>

#include "common/precision_config.h"
#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/quant/calibration_file.h"
#include "engine/quant/scale_methods.h"

namespace mixq {

// Non-VNNI CPUs multiply u8 x s8 through saturating s16 pair sums
// (vpmaddubsw); 7-bit weights ([-63, 63]) keep those sums exact.
enum class SevenBitWeights {
  kNone,        // [-127, 127] everywhere
  kFirstLayer,  // 7-bit for the first quantizable layer (raw, full-range input)
  kAll,         // 7-bit for every INT8 layer
};

const char* SevenBitWeightsName(SevenBitWeights mode);  // "none", "first", "all"
StatusOr<SevenBitWeights> ParseSevenBitWeights(const std::string& name);

struct QuantSpec {
  // Precision per quantizable layer name; layers not listed run FP32.
  std::map<std::string, Precision> layers;
  // Quantisation parameters per activation tensor name.
  std::map<std::string, QuantParams> activations;
  SevenBitWeights seven_bit = SevenBitWeights::kNone;

  bool AnyInt8() const;
};

// The spec for running `config` with `calibration`'s activation scales.
// FailedPrecondition when the calibration was made for another model (its
// model_sha256 differs from the config's) or when the config has INT8 layers
// and the calibration no activation scales.
StatusOr<QuantSpec> MakeQuantSpec(const PrecisionConfig& config, const Calibration& calibration,
                                  SevenBitWeights seven_bit);

// A --config argument for `graph` (whose file hashes to `model_sha256`): the
// shorthands `int8`, `fp32`, `bf16` (unless a file of that name exists) or a
// config file (precision_config.h's format and rules: unknown or missing
// layers and another model's hash are refused). Errors name the argument.
StatusOr<PrecisionConfig> LoadPrecisionConfig(const std::string& argument, const Graph& graph,
                                              const std::string& model_sha256);

}  // namespace mixq

#endif  // MIXQ_ENGINE_QUANT_QUANT_SPEC_H_
