// The calibration runner: runs a model in FP32 over a dataset slice, batch by
// batch, with every calibration point (executor.h's CalibrationPoints()) made
// an extra output, and feeds those tensors to the two-pass statistics of
// tensor_stats.h. The passes are separate calls so that distributed workers
// can run them on their own shards and the coordinator can merge in between:
//
//   worker k:     CollectRanges(shard k)              -> stats_k
//   coordinator:  merged = Merge(stats_*); InitHistograms(&merged)
//   worker k:     CollectHistograms(shard k, merged)  -> hist_k
//   coordinator:  Merge(hist_*) -> ActivationQuantParams()
//
// Calibrate() does all of it in one process. The same samples always land in
// the same batches (batch boundaries at begin + i * batch), so a run is
// deterministic. The model always runs FP32 here, whatever options.executor's
// quant spec says.
#ifndef MIXQ_ENGINE_RUNTIME_CALIBRATOR_H_
#define MIXQ_ENGINE_RUNTIME_CALIBRATOR_H_

#include <cstdint>
#include <functional>
#include <string>

#include "common/dataset.h"
#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/quant/calibration_file.h"
#include "engine/quant/scale_methods.h"
#include "engine/quant/tensor_stats.h"
#include "engine/runtime/executor.h"

namespace mixq {

struct CalibratorOptions {
  int64_t batch = 100;               // samples per forward pass
  int bins = kDefaultHistogramBins;  // histogram bins (Calibrate() only)
  ExecutorOptions executor;          // threads; quant and extra_outputs are overridden
  // Called after each batch with (pass name "ranges"/"histograms", samples
  // done in that pass, samples in that pass); may be empty.
  std::function<void(const char*, int64_t, int64_t)> progress;
};

// Pass 1 over samples [begin, begin + count) of `dataset`: min/max of every
// calibration point of `graph` (imported, unspecialised; the dataset feeds
// its inputs by name, Dataset::CheckFits).
// InvalidArgument when the dataset does not fit the model; OutOfRange for a
// slice outside the dataset.
StatusOr<CalibrationStats> CollectRanges(const Graph& graph, const Dataset& dataset, int64_t begin,
                                         int64_t count, const CalibratorOptions& options);

// Pass 2: histograms over the same slice, starting from `initialised`
// (merged pass-1 stats after InitHistograms()). FailedPrecondition when a
// calibration point has no histogram in `initialised`.
StatusOr<CalibrationStats> CollectHistograms(const Graph& graph, const Dataset& dataset,
                                             int64_t begin, int64_t count,
                                             const CalibrationStats& initialised,
                                             const CalibratorOptions& options);

// What Calibrate() writes into the calibration besides scales.
struct CalibrationSource {
  std::string model_sha256;  // Sha256File() of the model
  std::string dataset;       // the dataset YAML path, for provenance
};

// Both passes over [begin, begin + count), then activation parameters by
// `scale`. Provenance: dataset, begin, samples, batch, bins, method,
// percentile, mixq version, model_sha256.
StatusOr<Calibration> Calibrate(const Graph& graph, const Dataset& dataset, int64_t begin,
                                int64_t count, const ScaleOptions& scale,
                                const CalibrationSource& source, const CalibratorOptions& options);

// Calibration on `samples` fixed-seed random inputs (input_feed.h's
// SyntheticInputs: standard normal floats, valid integer inputs; seed
// `seed`) instead of data: good for timing INT8 only (bench --config int8
// without a calibration file); the provenance says "synthetic". With minmax
// only the range pass runs (the stats then have no histograms).
StatusOr<Calibration> CalibrateSynthetic(const Graph& graph, int64_t samples, uint32_t seed,
                                         const ScaleOptions& scale, const std::string& model_sha256,
                                         const CalibratorOptions& options);

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_CALIBRATOR_H_
