#include "engine/quant/tensor_stats.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mixq {

std::string HexFloat(float value) {
  char text[48];
  std::snprintf(text, sizeof(text), "%a", static_cast<double>(value));
  return text;
}

StatusOr<float> ParseHexFloat(const nlohmann::json& value, const std::string& where) {
  if (!value.is_string()) return InvalidArgument(where + ": expected a hex-float string");
  const std::string text = value.get<std::string>();
  char* end = nullptr;
  const float parsed = std::strtof(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) {
    return InvalidArgument(where + ": '" + text + "' is not a float");
  }
  return parsed;
}

namespace {

bool SameBits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

StatusOr<TensorStats> TensorStatsFromJson(const nlohmann::json& doc, const std::string& where) {
  if (!doc.is_object()) return InvalidArgument(where + ": expected an object");
  for (const auto& item : doc.items()) {
    const std::string& key = item.key();
    if (key != "min" && key != "max" && key != "hist_range" && key != "hist" &&
        key != "nonfinite") {
      return InvalidArgument(where + ": unknown key '" + key + "'");
    }
  }
  TensorStats stats;
  for (const char* key : {"min", "max", "hist_range", "hist", "nonfinite"}) {
    if (!doc.contains(key)) return InvalidArgument(where + ": missing '" + key + "'");
  }
  MIXQ_ASSIGN_OR_RETURN(stats.min, ParseHexFloat(doc["min"], where + ".min"));
  MIXQ_ASSIGN_OR_RETURN(stats.max, ParseHexFloat(doc["max"], where + ".max"));
  MIXQ_ASSIGN_OR_RETURN(stats.hist_range, ParseHexFloat(doc["hist_range"], where + ".hist_range"));
  if (!doc["nonfinite"].is_number_integer()) {
    return InvalidArgument(where + ".nonfinite: expected an integer");
  }
  stats.nonfinite = doc["nonfinite"].get<int64_t>();
  if (!doc["hist"].is_array()) return InvalidArgument(where + ".hist: expected an array");
  for (const nlohmann::json& count : doc["hist"]) {
    if (!count.is_number_integer() || count.get<int64_t>() < 0) {
      return InvalidArgument(where + ".hist: counts must be non-negative integers");
    }
    stats.hist.push_back(count.get<int64_t>());
  }
  return stats;
}

}  // namespace

int64_t TensorStats::HistogramTotal() const {
  int64_t total = 0;
  for (int64_t count : hist) total += count;
  return total;
}

bool TensorStats::operator==(const TensorStats& other) const {
  return SameBits(min, other.min) && SameBits(max, other.max) &&
         SameBits(hist_range, other.hist_range) && hist == other.hist &&
         nonfinite == other.nonfinite;
}

void ObserveRange(const float* x, int64_t n, TensorStats* stats) {
  float lo = stats->min;
  float hi = stats->max;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  stats->min = lo;
  stats->max = hi;
}

Status InitHistogram(int bins, TensorStats* stats) {
  if (bins < 1) return InvalidArgument("histogram needs at least one bin");
  if (!stats->has_range()) {
    return FailedPrecondition("histogram before any range was observed (run pass 1 first)");
  }
  stats->hist_range = std::max(std::fabs(stats->min), std::fabs(stats->max));
  stats->hist.assign(static_cast<size_t>(bins), 0);
  stats->nonfinite = 0;
  return Status::Ok();
}

Status InitHistograms(int bins, CalibrationStats* stats) {
  for (auto& [name, tensor] : *stats) {
    MIXQ_RETURN_IF_ERROR(InitHistogram(bins, &tensor).WithContext("tensor '" + name + "'"));
  }
  return Status::Ok();
}

Status ObserveHistogram(const float* x, int64_t n, TensorStats* stats) {
  if (!stats->has_histogram()) {
    return FailedPrecondition("histogram pass before InitHistogram()");
  }
  const int64_t last = static_cast<int64_t>(stats->hist.size()) - 1;
  // A zero range means every finite value seen in pass 1 was 0: all in bin 0.
  const double bins_per_unit =
      stats->hist_range > 0.0f ? static_cast<double>(stats->hist.size()) / stats->hist_range : 0.0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) {
      ++stats->nonfinite;
      continue;
    }
    const double position = std::fabs(static_cast<double>(x[i])) * bins_per_unit;
    const int64_t bin =
        position >= static_cast<double>(last) ? last : static_cast<int64_t>(position);
    ++stats->hist[static_cast<size_t>(bin)];
  }
  return Status::Ok();
}

Status Merge(const TensorStats& b, TensorStats* a) {
  if (a->has_histogram() && b.has_histogram()) {
    if (!SameBits(a->hist_range, b.hist_range) || a->hist.size() != b.hist.size()) {
      return InvalidArgument("histograms over different ranges or bin counts cannot be merged (" +
                             HexFloat(a->hist_range) + " vs " + HexFloat(b.hist_range) +
                             "); initialise every shard from the same merged pass-1 stats");
    }
    for (size_t i = 0; i < a->hist.size(); ++i) a->hist[i] += b.hist[i];
  } else if (b.has_histogram()) {
    a->hist_range = b.hist_range;
    a->hist = b.hist;
  }
  a->min = std::min(a->min, b.min);
  a->max = std::max(a->max, b.max);
  a->nonfinite += b.nonfinite;
  return Status::Ok();
}

Status Merge(const CalibrationStats& from, CalibrationStats* into) {
  for (const auto& [name, stats] : from) {
    MIXQ_RETURN_IF_ERROR(Merge(stats, &(*into)[name]).WithContext("tensor '" + name + "'"));
  }
  return Status::Ok();
}

nlohmann::json StatsToJson(const CalibrationStats& stats) {
  nlohmann::json tensors = nlohmann::json::object();
  for (const auto& [name, s] : stats) {
    tensors[name] = {{"min", HexFloat(s.min)},
                     {"max", HexFloat(s.max)},
                     {"hist_range", HexFloat(s.hist_range)},
                     {"hist", s.hist},
                     {"nonfinite", s.nonfinite}};
  }
  return {{"version", 1}, {"tensors", tensors}};
}

StatusOr<CalibrationStats> StatsFromJson(const nlohmann::json& doc) {
  if (!doc.is_object() || !doc.contains("version") || doc["version"] != 1 ||
      !doc.contains("tensors") || !doc["tensors"].is_object()) {
    return InvalidArgument("calibration stats: expected {\"version\": 1, \"tensors\": {...}}");
  }
  CalibrationStats stats;
  for (const auto& item : doc["tensors"].items()) {
    MIXQ_ASSIGN_OR_RETURN(
        stats[item.key()],
        TensorStatsFromJson(item.value(), "calibration stats: tensor '" + item.key() + "'"));
  }
  return stats;
}

}  // namespace mixq
