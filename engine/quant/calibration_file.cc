#include "engine/quant/calibration_file.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "common/json_text.h"

namespace mixq {

namespace {

constexpr int kCalibrationVersion = 1;

StatusOr<QuantParams> ParamsFromJson(const nlohmann::json& doc, const std::string& where) {
  if (!doc.is_object()) return InvalidArgument(where + ": expected an object");
  for (const auto& item : doc.items()) {
    if (item.key() != "scale" && item.key() != "unsigned" && item.key() != "threshold") {
      return InvalidArgument(where + "." + item.key() + ": unknown key");
    }
  }
  if (!doc.contains("scale")) return InvalidArgument(where + ".scale: missing");
  if (!doc.contains("unsigned") || !doc["unsigned"].is_boolean()) {
    return InvalidArgument(where + ".unsigned: expected true or false");
  }
  QuantParams params;
  MIXQ_ASSIGN_OR_RETURN(params.dequant_scale, ParseHexFloat(doc["scale"], where + ".scale"));
  if (!(params.dequant_scale > 0.0f) || !std::isfinite(params.dequant_scale)) {
    return InvalidArgument(where + ".scale: must be a positive finite number");
  }
  params.is_unsigned = doc["unsigned"].get<bool>();
  if (doc.contains("threshold")) {
    MIXQ_ASSIGN_OR_RETURN(params.threshold, ParseHexFloat(doc["threshold"], where + ".threshold"));
  }
  return params;
}

}  // namespace

nlohmann::json CalibrationToJson(const Calibration& calibration) {
  nlohmann::json tensors = nlohmann::json::object();
  for (const auto& [name, params] : calibration.activations) {
    tensors[name] = {{"scale", HexFloat(params.dequant_scale)},
                     {"unsigned", params.is_unsigned},
                     {"threshold", HexFloat(params.threshold)}};
  }
  nlohmann::json doc = {{"version", kCalibrationVersion},
                        {"model_sha256", calibration.model_sha256},
                        {"method", ScaleMethodName(calibration.scale.method)},
                        {"percentile", calibration.scale.percentile},
                        {"provenance", calibration.provenance},
                        {"tensors", tensors}};
  if (!calibration.stats.empty()) doc["stats"] = StatsToJson(calibration.stats);
  return doc;
}

StatusOr<Calibration> CalibrationFromJson(const nlohmann::json& doc) {
  if (!doc.is_object()) return InvalidArgument("calibration: expected a JSON object");
  static const char* const kKeys[] = {"version",    "model_sha256", "method", "percentile",
                                      "provenance", "tensors",      "stats"};
  for (const auto& item : doc.items()) {
    bool known = false;
    for (const char* key : kKeys) known = known || item.key() == key;
    if (!known) return InvalidArgument("calibration." + item.key() + ": unknown key");
  }
  if (!doc.contains("version") || !doc["version"].is_number_integer() ||
      doc["version"].get<int>() != kCalibrationVersion) {
    return InvalidArgument("calibration.version: expected " + std::to_string(kCalibrationVersion));
  }
  Calibration calibration;
  if (!doc.contains("model_sha256") || !doc["model_sha256"].is_string()) {
    return InvalidArgument("calibration.model_sha256: expected a string");
  }
  calibration.model_sha256 = doc["model_sha256"].get<std::string>();
  if (!doc.contains("method") || !doc["method"].is_string()) {
    return InvalidArgument("calibration.method: expected a string");
  }
  StatusOr<ScaleMethod> method = ParseScaleMethod(doc["method"].get<std::string>());
  if (!method.ok()) return method.status().WithContext("calibration.method");
  calibration.scale.method = *method;
  if (doc.contains("percentile")) {
    if (!doc["percentile"].is_number()) {
      return InvalidArgument("calibration.percentile: expected a number");
    }
    calibration.scale.percentile = doc["percentile"].get<double>();
  }
  if (doc.contains("provenance")) calibration.provenance = doc["provenance"];
  if (!doc.contains("tensors") || !doc["tensors"].is_object()) {
    return InvalidArgument("calibration.tensors: expected an object");
  }
  for (const auto& item : doc["tensors"].items()) {
    MIXQ_ASSIGN_OR_RETURN(QuantParams params,
                          ParamsFromJson(item.value(), "calibration.tensors." + item.key()));
    calibration.activations[item.key()] = params;
  }
  if (doc.contains("stats")) {
    StatusOr<CalibrationStats> stats = StatsFromJson(doc["stats"]);
    if (!stats.ok()) return stats.status().WithContext("calibration.stats");
    calibration.stats = std::move(*stats);
  }
  return calibration;
}

Status SaveCalibration(const Calibration& calibration, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Unavailable(path + ": cannot open for writing");
  out << CalibrationToJson(calibration).dump(1) << "\n";
  out.close();
  if (!out) return DataLoss(path + ": write failed");
  return Status::Ok();
}

StatusOr<Calibration> LoadCalibration(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open calibration file");
  std::stringstream text;
  text << in.rdbuf();
  MIXQ_ASSIGN_OR_RETURN(const nlohmann::json doc, ParseJsonStrict(text.str(), path));
  StatusOr<Calibration> calibration = CalibrationFromJson(doc);
  if (!calibration.ok()) return calibration.status().WithContext(path);
  return calibration;
}

}  // namespace mixq
