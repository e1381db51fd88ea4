#include "engine/runtime/calibrator.h"

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/passes/specialize.h"
#include "engine/runtime/input_feed.h"

namespace mixq {
namespace {

// Writes samples [first, first + n) of the source into `batch`, one tensor
// per model input, already shaped for the batch.
using FillFn = std::function<Status(int64_t first, int64_t n, std::vector<Tensor>* batch)>;
// Consumes one observed float32 tensor.
using ObserveFn = std::function<Status(const std::string& name, const Tensor& value)>;

// FP32 models with every non-input calibration point as an extra output, by
// batch size (the full batch and, at most, one remainder), shared by both
// passes of one calibration so that each size compiles once.
class ObservedModels {
 public:
  struct Entry {
    std::unique_ptr<CompiledModel> model;
    std::vector<std::string> extra;  // the extra outputs, in output order
  };

  ObservedModels(const Graph& graph, const ExecutorOptions& options)
      : graph_(graph), options_(options) {
    options_.quant = QuantSpec();  // statistics always come from FP32
  }

  StatusOr<Entry*> Get(int64_t batch) {
    auto it = entries_.find(batch);
    if (it != entries_.end()) return &it->second;
    MIXQ_ASSIGN_OR_RETURN(Graph specialised, SpecializeForBatch(graph_, batch));
    ExecutorOptions executor = options_;
    const std::unordered_set<std::string> inputs(specialised.inputs.begin(),
                                                 specialised.inputs.end());
    Entry entry;
    for (const std::string& name : CalibrationPoints(specialised, executor)) {
      if (inputs.count(name) == 0) entry.extra.push_back(name);
    }
    executor.extra_outputs = entry.extra;
    MIXQ_ASSIGN_OR_RETURN(entry.model, CompiledModel::Compile(specialised, executor));
    return &entries_.emplace(batch, std::move(entry)).first->second;
  }

 private:
  const Graph& graph_;
  ExecutorOptions options_;
  std::map<int64_t, Entry> entries_;
};

// Runs the FP32 model over [begin, begin + count) in batches and hands every
// calibration point's value to `observe`. Float graph inputs are observed
// from the batch itself (they are what the model reads; integer inputs such
// as token ids are never quantized); the other points come back as extra
// outputs.
Status RunSlice(ObservedModels* models, int64_t begin, int64_t count, const FillFn& fill,
                const CalibratorOptions& options, const char* pass, const ObserveFn& observe) {
  if (options.batch <= 0) return InvalidArgument("calibration batch size must be positive");
  std::vector<Tensor> batch;
  std::vector<const Tensor*> batch_ptrs;
  std::vector<Tensor> outputs;
  int64_t buffers_batch = -1;  // the batch size `batch` and `outputs` are shaped for
  for (int64_t done = 0; done < count;) {
    const int64_t n = std::min(options.batch, count - done);
    MIXQ_ASSIGN_OR_RETURN(ObservedModels::Entry * entry, models->Get(n));
    CompiledModel& model = *entry->model;
    if (buffers_batch != n) {
      batch.clear();
      batch_ptrs.clear();
      for (const ValueInfo& info : model.input_infos()) batch.emplace_back(info.dtype, info.shape);
      for (const Tensor& t : batch) batch_ptrs.push_back(&t);
      outputs = model.MakeOutputs();
      buffers_batch = n;
    }
    MIXQ_RETURN_IF_ERROR(fill(begin + done, n, &batch));
    MIXQ_RETURN_IF_ERROR(model.Run(batch_ptrs, &outputs));
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].dtype() == DType::kF32) {
        MIXQ_RETURN_IF_ERROR(observe(model.input_names()[i], batch[i]));
      }
    }
    const size_t first_extra = outputs.size() - entry->extra.size();
    for (size_t i = 0; i < entry->extra.size(); ++i) {
      MIXQ_RETURN_IF_ERROR(observe(entry->extra[i], outputs[first_extra + i]));
    }
    done += n;
    if (options.progress) options.progress(pass, done, count);
  }
  return Status::Ok();
}

StatusOr<FillFn> DatasetFill(const Graph& graph, const Dataset& dataset, int64_t begin,
                             int64_t count) {
  MIXQ_ASSIGN_OR_RETURN(std::vector<ModelInput> inputs, ModelInputsOf(graph));
  MIXQ_RETURN_IF_ERROR(dataset.CheckFits(inputs, graph.source));
  if (begin < 0 || count <= 0 || begin + count > dataset.size()) {
    return OutOfRange("calibration samples [" + std::to_string(begin) + ", " +
                      std::to_string(begin + count) + ") are not a non-empty slice of the " +
                      std::to_string(dataset.size()) + " samples of '" + dataset.spec().source +
                      "'");
  }
  return FillFn(
      [&dataset, inputs = std::move(inputs)](int64_t first, int64_t n, std::vector<Tensor>* batch) {
        return dataset.Fill(first, n, inputs, batch, nullptr);
      });
}

// Sample i is drawn from its own generators seeded with (seed, i, input), so
// any slice and any batching sees the same values.
FillFn SyntheticFill(const Graph& graph, uint32_t seed) {
  return [seed, synthetic = SyntheticInputs(graph)](int64_t first, int64_t /*n*/,
                                                    std::vector<Tensor>* batch) {
    return synthetic.Fill(seed, first, batch);
  };
}

StatusOr<CalibrationStats> Ranges(ObservedModels* models, int64_t begin, int64_t count,
                                  const FillFn& fill, const CalibratorOptions& options) {
  CalibrationStats stats;
  MIXQ_RETURN_IF_ERROR(RunSlice(models, begin, count, fill, options, "ranges",
                                [&stats](const std::string& name, const Tensor& value) {
                                  ObserveRange(value.data<float>(), value.size(), &stats[name]);
                                  return Status::Ok();
                                }));
  return stats;
}

StatusOr<CalibrationStats> Histograms(ObservedModels* models, int64_t begin, int64_t count,
                                      const FillFn& fill, const CalibrationStats& initialised,
                                      const CalibratorOptions& options) {
  CalibrationStats stats = initialised;
  MIXQ_RETURN_IF_ERROR(RunSlice(
      models, begin, count, fill, options, "histograms",
      [&stats](const std::string& name, const Tensor& value) -> Status {
        auto it = stats.find(name);
        if (it == stats.end() || !it->second.has_histogram()) {
          return FailedPrecondition("calibration tensor '" + name +
                                    "' has no initialised histogram (run the range pass and "
                                    "InitHistograms first)");
        }
        return ObserveHistogram(value.data<float>(), value.size(), &it->second)
            .WithContext("tensor '" + name + "'");
      }));
  return stats;
}

// Both passes, or with `ranges_only` (enough for minmax) the first alone.
StatusOr<Calibration> TwoPasses(const Graph& graph, int64_t begin, int64_t count,
                                const FillFn& fill, const ScaleOptions& scale,
                                const CalibratorOptions& options, bool ranges_only = false) {
  ObservedModels models(graph, options.executor);
  MIXQ_ASSIGN_OR_RETURN(CalibrationStats ranges, Ranges(&models, begin, count, fill, options));
  Calibration calibration;
  if (ranges_only) {
    calibration.stats = std::move(ranges);
  } else {
    MIXQ_RETURN_IF_ERROR(InitHistograms(options.bins, &ranges));
    MIXQ_ASSIGN_OR_RETURN(calibration.stats,
                          Histograms(&models, begin, count, fill, ranges, options));
  }
  MIXQ_ASSIGN_OR_RETURN(calibration.activations,
                        ActivationQuantParams(calibration.stats, scale, graph.inputs));
  calibration.scale = scale;
  return calibration;
}

nlohmann::json BaseProvenance(int64_t begin, int64_t count, const ScaleOptions& scale,
                              const std::string& model_sha256, const CalibratorOptions& options) {
  return {{"begin", begin},
          {"samples", count},
          {"batch", options.batch},
          {"bins", options.bins},
          {"method", ScaleMethodName(scale.method)},
          {"percentile", scale.percentile},
          {"mixq_version", MIXQ_VERSION},
          {"model_sha256", model_sha256}};
}

}  // namespace

StatusOr<CalibrationStats> CollectRanges(const Graph& graph, const Dataset& dataset, int64_t begin,
                                         int64_t count, const CalibratorOptions& options) {
  MIXQ_ASSIGN_OR_RETURN(FillFn fill, DatasetFill(graph, dataset, begin, count));
  ObservedModels models(graph, options.executor);
  return Ranges(&models, begin, count, fill, options);
}

StatusOr<CalibrationStats> CollectHistograms(const Graph& graph, const Dataset& dataset,
                                             int64_t begin, int64_t count,
                                             const CalibrationStats& initialised,
                                             const CalibratorOptions& options) {
  MIXQ_ASSIGN_OR_RETURN(FillFn fill, DatasetFill(graph, dataset, begin, count));
  ObservedModels models(graph, options.executor);
  return Histograms(&models, begin, count, fill, initialised, options);
}

StatusOr<Calibration> Calibrate(const Graph& graph, const Dataset& dataset, int64_t begin,
                                int64_t count, const ScaleOptions& scale,
                                const CalibrationSource& source, const CalibratorOptions& options) {
  MIXQ_ASSIGN_OR_RETURN(FillFn fill, DatasetFill(graph, dataset, begin, count));
  MIXQ_ASSIGN_OR_RETURN(Calibration calibration,
                        TwoPasses(graph, begin, count, fill, scale, options));
  calibration.model_sha256 = source.model_sha256;
  calibration.provenance = BaseProvenance(begin, count, scale, source.model_sha256, options);
  calibration.provenance["dataset"] = source.dataset;
  calibration.provenance["synthetic"] = false;
  return calibration;
}

StatusOr<Calibration> CalibrateSynthetic(const Graph& graph, int64_t samples, uint32_t seed,
                                         const ScaleOptions& scale, const std::string& model_sha256,
                                         const CalibratorOptions& options) {
  if (samples <= 0) return InvalidArgument("synthetic calibration needs at least one sample");
  // Synthetic scales only ever time INT8, so minmax skips the histogram pass.
  MIXQ_ASSIGN_OR_RETURN(Calibration calibration,
                        TwoPasses(graph, 0, samples, SyntheticFill(graph, seed), scale, options,
                                  scale.method == ScaleMethod::kMinMax));
  calibration.model_sha256 = model_sha256;
  calibration.provenance = BaseProvenance(0, samples, scale, model_sha256, options);
  std::string what = "synthetic: standard normal inputs, seed " + std::to_string(seed);
  const bool integer_inputs =
      std::any_of(graph.inputs.begin(), graph.inputs.end(), [&graph](const std::string& name) {
        const ValueInfo* info = graph.FindValue(name);
        return info != nullptr && info->dtype != DType::kF32;
      });
  if (integer_inputs) what += " (integer inputs: valid Gather indices, else 1)";
  calibration.provenance["dataset"] = what;
  calibration.provenance["synthetic"] = true;
  return calibration;
}

}  // namespace mixq
