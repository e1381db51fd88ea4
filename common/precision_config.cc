#include "common/precision_config.h"

#include <nlohmann/json.hpp>
#include <set>

#include "common/json_text.h"
#include "common/sha256.h"

namespace mixq {
namespace {

std::string JoinQuoted(const std::vector<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) {
    if (!joined.empty()) joined += ", ";
    joined += "'" + name + "'";
  }
  return joined;
}

// The shorthand word if `text` is one: a bare word or a JSON string.
bool ParseShorthand(const nlohmann::json& doc, std::string* word) {
  if (!doc.is_string()) return false;
  *word = doc.get<std::string>();
  return true;
}

StatusOr<PrecisionConfig> FromLayerMap(const nlohmann::json& layers,
                                       const std::vector<std::string>& layer_names,
                                       const std::string& model_sha256) {
  if (!layers.is_object()) {
    return InvalidArgument("precision config: \"layers\" must be an object or a precision word");
  }
  const std::set<std::string> known(layer_names.begin(), layer_names.end());
  PrecisionConfig config;
  config.model_sha256 = model_sha256;
  std::vector<std::string> unknown;
  for (const auto& [name, value] : layers.items()) {
    if (known.count(name) == 0) {
      unknown.push_back(name);
      continue;
    }
    if (!value.is_string()) {
      return InvalidArgument("precision config: layer '" + name + "': precision must be a string");
    }
    StatusOr<Precision> precision = ParsePrecision(value.get<std::string>());
    if (!precision.ok())
      return precision.status().WithContext("precision config: layer '" + name + "'");
    config.layers[name] = *precision;
  }
  if (!unknown.empty()) {
    return InvalidArgument("precision config: unknown layer(s) " + JoinQuoted(unknown) +
                           "; the model's quantizable layers are " + JoinQuoted(layer_names));
  }
  std::vector<std::string> missing;
  for (const std::string& name : layer_names) {
    if (config.layers.count(name) == 0) missing.push_back(name);
  }
  if (!missing.empty()) {
    return InvalidArgument("precision config: layer(s) " + JoinQuoted(missing) +
                           " not set; name every layer or use a shorthand (\"int8\", \"fp32\")");
  }
  return config;
}

}  // namespace

const char* PrecisionName(Precision precision) {
  switch (precision) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kInt8:
      return "int8";
    case Precision::kBf16:
      return "bf16";
  }
  return "?";
}

StatusOr<Precision> ParsePrecision(const std::string& name) {
  for (Precision p : {Precision::kFp32, Precision::kInt8, Precision::kBf16}) {
    if (name == PrecisionName(p)) return p;
  }
  return InvalidArgument("unknown precision '" + name + "' (expected fp32, int8 or bf16)");
}

std::string PrecisionConfig::Canonical() const {
  // nlohmann's default object is a std::map: keys come out sorted.
  nlohmann::json doc;
  doc["model_sha256"] = model_sha256;
  doc["layers"] = nlohmann::json::object();
  for (const auto& [name, precision] : layers) doc["layers"][name] = PrecisionName(precision);
  return doc.dump();
}

std::string PrecisionConfig::Hash() const { return Sha256Hex(Canonical()); }

int PrecisionConfig::Count(Precision precision) const {
  int count = 0;
  for (const auto& entry : layers) count += entry.second == precision ? 1 : 0;
  return count;
}

PrecisionConfig UniformPrecisionConfig(Precision precision,
                                       const std::vector<std::string>& layer_names,
                                       const std::string& model_sha256) {
  PrecisionConfig config;
  config.model_sha256 = model_sha256;
  for (const std::string& name : layer_names) config.layers[name] = precision;
  return config;
}

StatusOr<PrecisionConfig> ParsePrecisionConfig(const std::string& json_text,
                                               const std::vector<std::string>& layer_names,
                                               const std::string& model_sha256) {
  nlohmann::json doc;
  // A bare word (int8, fp32) is the shorthand for one precision everywhere;
  // any other text must be JSON.
  const size_t begin = json_text.find_first_not_of(" \t\r\n");
  const size_t end = json_text.find_last_not_of(" \t\r\n");
  const std::string trimmed =
      begin == std::string::npos ? "" : json_text.substr(begin, end - begin + 1);
  const bool bare_word =
      !trimmed.empty() && trimmed.find_first_not_of(
                              "abcdefghijklmnopqrstuvwxyz"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == std::string::npos;
  if (bare_word && trimmed != "true" && trimmed != "false" && trimmed != "null" &&
      trimmed.find_first_not_of("0123456789-") != std::string::npos) {
    doc = trimmed;
  } else {
    MIXQ_ASSIGN_OR_RETURN(doc, ParseJsonStrict(json_text, "precision config"));
  }
  std::string word;
  if (ParseShorthand(doc, &word)) {
    StatusOr<Precision> precision = ParsePrecision(word);
    if (!precision.ok()) return precision.status().WithContext("precision config");
    return UniformPrecisionConfig(*precision, layer_names, model_sha256);
  }
  if (!doc.is_object()) {
    return InvalidArgument("precision config: expected an object or a precision word");
  }
  for (const auto& item : doc.items()) {
    if (item.key() != "model_sha256" && item.key() != "layers") {
      return InvalidArgument("precision config: unknown key '" + item.key() +
                             "' (expected model_sha256, layers)");
    }
  }
  if (doc.contains("model_sha256")) {
    const nlohmann::json& sha = doc["model_sha256"];
    if (!sha.is_string() || sha.get<std::string>() != model_sha256) {
      return InvalidArgument("precision config: model_sha256 " + sha.dump() +
                             " is not this model's (" + model_sha256 + ")");
    }
  }
  if (!doc.contains("layers")) return InvalidArgument("precision config: missing \"layers\"");
  if (ParseShorthand(doc["layers"], &word)) {
    StatusOr<Precision> precision = ParsePrecision(word);
    if (!precision.ok()) return precision.status().WithContext("precision config: layers");
    return UniformPrecisionConfig(*precision, layer_names, model_sha256);
  }
  return FromLayerMap(doc["layers"], layer_names, model_sha256);
}

}  // namespace mixq
