#include "worker/quant_spec.h"

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

}  // namespace mixq
