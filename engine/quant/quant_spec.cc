#include "engine/quant/quant_spec.h"

#include <sys/stat.h>

#include <string>
#include <vector>

#include "common/file_bytes.h"

namespace mixq {

const char* SevenBitWeightsName(SevenBitWeights mode) {
  switch (mode) {
    case SevenBitWeights::kNone:
      return "none";
    case SevenBitWeights::kFirstLayer:
      return "first";
    case SevenBitWeights::kAll:
      return "all";
  }
  return "none";
}

StatusOr<SevenBitWeights> ParseSevenBitWeights(const std::string& name) {
  for (SevenBitWeights mode :
       {SevenBitWeights::kNone, SevenBitWeights::kFirstLayer, SevenBitWeights::kAll}) {
    if (name == SevenBitWeightsName(mode)) return mode;
  }
  return InvalidArgument("unknown 7-bit weight mode '" + name + "' (none, first, all)");
}

bool QuantSpec::AnyInt8() const {
  for (const auto& [name, precision] : layers) {
    if (precision == Precision::kInt8) return true;
  }
  return false;
}

StatusOr<QuantSpec> MakeQuantSpec(const PrecisionConfig& config, const Calibration& calibration,
                                  SevenBitWeights seven_bit) {
  if (calibration.model_sha256 != config.model_sha256) {
    return FailedPrecondition("the calibration is for another model (model_sha256 " +
                              calibration.model_sha256.substr(0, 12) + "..., the model is " +
                              config.model_sha256.substr(0, 12) + "...)");
  }
  // BF16 is a precision config files may name, but no kernel runs it yet:
  // running such a config as FP32 would file FP32 numbers under its hash.
  if (const int bf16 = config.Count(Precision::kBf16); bf16 > 0) {
    return Unimplemented("the config has " + std::to_string(bf16) +
                         " BF16 layer(s): mixq runs FP32 and INT8 layers only");
  }
  QuantSpec spec;
  spec.layers = config.layers;
  spec.activations = calibration.activations;
  spec.seven_bit = seven_bit;
  if (spec.AnyInt8() && spec.activations.empty()) {
    return FailedPrecondition("the config has INT8 layers but the calibration has no scales");
  }
  return spec;
}

StatusOr<PrecisionConfig> LoadPrecisionConfig(const std::string& argument, const Graph& graph,
                                              const std::string& model_sha256) {
  const std::vector<std::string> layers = graph.QuantizableLayers();
  struct stat info;
  const bool is_file = ::stat(argument.c_str(), &info) == 0 && S_ISREG(info.st_mode);
  if (!is_file) {
    if (ParsePrecision(argument).ok()) {
      return ParsePrecisionConfig(argument, layers, model_sha256);
    }
    return NotFound("config '" + argument +
                    "': no such file (and not one of the shorthands int8, fp32, bf16)");
  }
  MIXQ_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(argument));
  StatusOr<PrecisionConfig> config =
      ParsePrecisionConfig(std::string(bytes.begin(), bytes.end()), layers, model_sha256);
  if (!config.ok()) return config.status().WithContext("config '" + argument + "'");
  return config;
}

}  // namespace mixq
