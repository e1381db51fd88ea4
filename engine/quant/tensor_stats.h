// Per-tensor calibration statistics, collected from the float32 activations
// of FP32 runs in two passes, and MERGEABLE: statistics from N workers, each
// on its own shard, merge into exactly (bit for bit) the statistics of one
// pass over all samples. That is what lets the coordinator spread calibration.
//
//   pass 1  ObserveRange() on every batch        -> min/max (finite values)
//           coordinator merges pass-1 stats of all shards
//   between InitHistogram() on the MERGED stats  -> shared range, zero counts
//   pass 2  ObserveHistogram() on every batch    -> integer counts of |x|
//           coordinator merges pass-2 stats of all shards
//
// Merging min/max is idempotent and histograms are integer counts over the
// same bins, so Merge is exact, commutative and associative. The histogram is
// of |x|: symmetric s8 and non-negative u8 tensors both clip at one threshold.
// Non-finite values are skipped by both passes and counted in pass 2.
#ifndef MIXQ_ENGINE_QUANT_TENSOR_STATS_H_
#define MIXQ_ENGINE_QUANT_TENSOR_STATS_H_

#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace mixq {

constexpr int kDefaultHistogramBins = 2048;

struct TensorStats {
  // Pass 1. min > max means "nothing finite seen yet".
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
  // Pass 2: hist[i] counts |x| in [i, i + 1) * hist_range / bins, the last bin
  // closed. Empty before InitHistogram().
  float hist_range = 0.0f;
  std::vector<int64_t> hist;
  int64_t nonfinite = 0;

  bool has_range() const { return min <= max; }
  bool has_histogram() const { return !hist.empty(); }
  // Width of one histogram bin.
  double bin_width() const { return static_cast<double>(hist_range) / hist.size(); }
  int64_t HistogramTotal() const;

  bool operator==(const TensorStats& other) const;
};

// Statistics of every observed tensor, by tensor name.
using CalibrationStats = std::map<std::string, TensorStats>;

// Pass 1: widens min/max with the finite values of x[0..n).
void ObserveRange(const float* x, int64_t n, TensorStats* stats);

// Fixes the histogram range to max(|min|, |max|) and zeroes `bins` counts.
// Call it on the merged pass-1 stats so that every shard shares the range.
// FailedPrecondition without a range; InvalidArgument for bins < 1.
Status InitHistogram(int bins, TensorStats* stats);
Status InitHistograms(int bins, CalibrationStats* stats);

// Pass 2: counts |x| of x[0..n). Values beyond the range (data not seen in
// pass 1) land in the last bin. FailedPrecondition without a histogram.
Status ObserveHistogram(const float* x, int64_t n, TensorStats* stats);

// Merges b into a. InvalidArgument if both have histograms that differ in
// range or bin count (they were not initialised from the same merged stats).
Status Merge(const TensorStats& b, TensorStats* a);
// Merges every tensor of `from` into `into`; tensors only in one side are kept.
Status Merge(const CalibrationStats& from, CalibrationStats* into);

// A float as a C99 hex-float string ("0x1.8p+1", "inf", "nan"): exact.
std::string HexFloat(float value);
// Parses HexFloat() text (decimal accepted too); InvalidArgument naming
// `where` otherwise.
StatusOr<float> ParseHexFloat(const nlohmann::json& value, const std::string& where);

// Exact JSON round trip: floats as C99 hex-float strings ("0x1.8p+1",
// "inf"), counts as integers. Format:
//   {"version": 1, "tensors": {"<name>": {"min": "...", "max": "...",
//    "hist_range": "...", "hist": [..], "nonfinite": 0}}}
nlohmann::json StatsToJson(const CalibrationStats& stats);
// InvalidArgument naming the tensor and key on malformed input.
StatusOr<CalibrationStats> StatsFromJson(const nlohmann::json& doc);

}  // namespace mixq

#endif  // MIXQ_ENGINE_QUANT_TENSOR_STATS_H_
