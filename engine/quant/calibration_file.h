// A calibration as a file: the activation quantisation parameters a scale
// method derived from merged statistics, the statistics themselves (so a
// calibration can be re-derived with another method without running the
// model again), and provenance. `mixq calibrate` writes it; eval, bench,
// profile and export read it. Floats are hex-float strings: exact.
//
//   {"version": 1, "model_sha256": "<64 hex>",
//    "method": "kl", "percentile": 99.99,
//    "provenance": {"dataset": "...", "begin": 0, "samples": 300, ...},
//    "tensors": {"<value>": {"scale": "0x1.2p-7", "unsigned": true,
//                            "threshold": "0x1.2p+1"}},
//    "stats": <StatsToJson()>}                 // optional
#ifndef MIXQ_ENGINE_QUANT_CALIBRATION_FILE_H_
#define MIXQ_ENGINE_QUANT_CALIBRATION_FILE_H_

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "engine/quant/scale_methods.h"
#include "engine/quant/tensor_stats.h"

namespace mixq {

struct Calibration {
  std::string model_sha256;
  ScaleOptions scale;                                    // the method that made `activations`
  nlohmann::json provenance = nlohmann::json::object();  // free-form: dataset, slice, tool
  std::map<std::string, QuantParams> activations;        // by tensor name
  CalibrationStats stats;                                // may be empty
};

nlohmann::json CalibrationToJson(const Calibration& calibration);
// InvalidArgument naming the key on malformed input.
StatusOr<Calibration> CalibrationFromJson(const nlohmann::json& doc);

// File I/O; errors name the file.
Status SaveCalibration(const Calibration& calibration, const std::string& path);
StatusOr<Calibration> LoadCalibration(const std::string& path);

}  // namespace mixq

#endif  // MIXQ_ENGINE_QUANT_CALIBRATION_FILE_H_
