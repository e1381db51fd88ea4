// Fuzz target: a precision config file and a calibration file, the JSON a
// user writes or a peer sends. The first byte picks the reader; the rest is
// the file's text. Beyond not crashing, each accepted file must survive its
// own round trip: a config's canonical text parses to the same hash, and a
// calibration written back out reads in to the same JSON.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/json_text.h"
#include "common/precision_config.h"
#include "engine/quant/calibration_file.h"
#include "fuzz/fuzz_check.h"

namespace {

const char kModelSha[] = "3f6b1c0e8a2d4f5e6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b";

void ConfigRoundTrip(const std::string& text) {
  // Layer names as users' models have them, including ones that look like
  // JSON syntax and a non-ASCII one.
  const std::vector<std::string> layers = {"conv1", "layer1.0/conv", "fc", "a\"b", "é"};
  auto config = mixq::ParsePrecisionConfig(text, layers, kModelSha);
  if (!config.ok()) {
    mixq::fuzz::CheckRefusal(config.status(), "precision config");
    return;
  }
  auto again = mixq::ParsePrecisionConfig(config->Canonical(), layers, kModelSha);
  MIXQ_FUZZ_CHECK(again.ok(), "canonical config text refused: " + again.status().message());
  MIXQ_FUZZ_CHECK(again->Hash() == config->Hash(), "canonical text parses to another hash");
}

void CalibrationRoundTrip(const std::string& text) {
  auto doc = mixq::ParseJsonStrict(text, "fuzz.json");
  if (!doc.ok()) {
    mixq::fuzz::CheckRefusal(doc.status(), "calibration JSON");
    return;
  }
  auto calibration = mixq::CalibrationFromJson(*doc);
  if (!calibration.ok()) {
    mixq::fuzz::CheckRefusal(calibration.status(), "calibration");
    return;
  }
  nlohmann::json written = mixq::CalibrationToJson(*calibration);
  auto again = mixq::CalibrationFromJson(written);
  MIXQ_FUZZ_CHECK(again.ok(), "a calibration's own JSON is refused: " + again.status().message());
  MIXQ_FUZZ_CHECK(mixq::CalibrationToJson(*again) == written,
                  "calibration JSON round trip differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  mixq::fuzz::CatchEscapes([&] {
    if (data[0] & 1) {
      CalibrationRoundTrip(text);
    } else {
      ConfigRoundTrip(text);
    }
  });
  return 0;
}
