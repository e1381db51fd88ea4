// Precision configs: which precision each quantizable layer (Conv, Gemm,
// MatMul, named after its ONNX node) runs in. A config is data that travels
// between coordinator, workers and the results DB, so it has one canonical
// JSON text and a SHA-256 hash of that text that identifies it.
//
// File format (schemas may document more):
//   {"model_sha256": "<64 hex>", "layers": {"conv1": "int8", "fc": "fp32"}}
// or a shorthand naming one precision for every layer: the bare word `int8`,
// the JSON string "int8", or {"layers": "int8"} (likewise fp32, bf16).
//
// Rules, chosen so that a typo can never silently change what is measured:
// - a config that lists layers must name EVERY quantizable layer of the model;
//   a missing layer is refused (naming it) rather than defaulted to fp32;
// - unknown layer names, unknown precisions and unknown top-level keys are
//   refused, naming them;
// - "model_sha256" is optional in a file; when present it must equal the
//   model's hash. The parsed config always carries the model's hash, so the
//   canonical form and hash bind the config to one model.
#ifndef MIXQ_COMMON_PRECISION_CONFIG_H_
#define MIXQ_COMMON_PRECISION_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace mixq {

enum class Precision { kFp32, kInt8, kBf16 };

const char* PrecisionName(Precision precision);  // "fp32", "int8", "bf16"
// InvalidArgument naming the word and the accepted ones.
StatusOr<Precision> ParsePrecision(const std::string& name);

struct PrecisionConfig {
  std::string model_sha256;
  std::map<std::string, Precision> layers;  // every quantizable layer

  // {"layers":{...},"model_sha256":"..."}: keys sorted, no whitespace.
  std::string Canonical() const;
  // Lower-case hex SHA-256 of Canonical().
  std::string Hash() const;
  // Number of layers set to `precision`.
  int Count(Precision precision) const;

  bool operator==(const PrecisionConfig& other) const {
    return model_sha256 == other.model_sha256 && layers == other.layers;
  }
};

// Every layer in `layer_names` at `precision`.
PrecisionConfig UniformPrecisionConfig(Precision precision,
                                       const std::vector<std::string>& layer_names,
                                       const std::string& model_sha256);

// Parses `json_text` (format and rules above) against the model's quantizable
// `layer_names` and its `model_sha256`. Errors are InvalidArgument.
StatusOr<PrecisionConfig> ParsePrecisionConfig(const std::string& json_text,
                                               const std::vector<std::string>& layer_names,
                                               const std::string& model_sha256);

}  // namespace mixq

#endif  // MIXQ_COMMON_PRECISION_CONFIG_H_
