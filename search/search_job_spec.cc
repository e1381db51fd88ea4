#include "search/search_job_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <string_view>

#include "common/eval_metric.h"
#include "common/resource_limits.h"
#include "common/yaml_fields.h"
#include "engine/quant/scale_methods.h"
#include "search/strategy.h"

namespace mixq {
namespace {

class SearchParser : public YamlFields {
 public:
  explicit SearchParser(const JobSpec& job) : YamlFields(job.source), job_(job) {}

  bool Has(const std::string& key) const { return job_.search.count(key) > 0; }

  // The section's YAML; call only when Has(key).
  StatusOr<YAML::Node> Section(const std::string& key) const {
    auto it = job_.search.find(key);
    if (it == job_.search.end()) return Error("missing key '" + key + "'");
    try {
      return YAML::Load(it->second);
    } catch (const YAML::Exception& e) {
      return Error("'" + key + "': " + e.what());
    }
  }

  std::string Resolve(const std::string& value) const {
    const std::filesystem::path path(value);
    if (path.is_absolute() || job_.base_dir.empty()) return value;
    return (std::filesystem::path(job_.base_dir) / path).lexically_normal().string();
  }

  StatusOr<SearchJobSpec> Parse() const {
    SearchJobSpec s;
    s.job = job_;
    if (job_.kind != "search") return Error("'kind' must be search for a search job");
    // Evaluate-job keys that a search chooses itself.
    if (job_.configs != std::vector<std::string>{"fp32"}) {
      return Error("'configs' is not used by a search job (the strategy chooses the configs)");
    }
    if (job_.profile) return Error("'profile' is not used by a search job (it profiles itself)");
    if (job_.bench_batches != std::vector<int64_t>{1, 16}) {
      return Error("'benchmark.batches' is not used by a search job (see 'objective.batch')");
    }
    if (job_.parent_job_id != 0) return Error("'parent_job' is for sub-jobs, not a search job");
    s.calibration_dataset = job_.eval_dataset;
    s.calibration_file = job_.calibration_file;
    MIXQ_RETURN_IF_ERROR(ParseData(&s));
    MIXQ_RETURN_IF_ERROR(ParseCalibration(&s));
    MIXQ_RETURN_IF_ERROR(ParseBudget(&s));
    MIXQ_RETURN_IF_ERROR(ParseObjective(&s));
    MIXQ_RETURN_IF_ERROR(ParseStrategy(&s));
    MIXQ_RETURN_IF_ERROR(ParseLimits(&s));
    if (Has("metric")) {
      MIXQ_ASSIGN_OR_RETURN(YAML::Node metric, Section("metric"));
      MIXQ_ASSIGN_OR_RETURN(s.metric, String(metric, "metric"));
      // Whether it fits the dataset's task is checked with the dataset
      // (search_job.cc).
      if (!ParseEvalMetric(s.metric).ok()) {
        return Error("'metric' must be top1, top5, map50, map50_95 or miou, got '" + s.metric +
                     "'");
      }
    }
    if (Has("output")) {
      MIXQ_ASSIGN_OR_RETURN(YAML::Node output, Section("output"));
      MIXQ_ASSIGN_OR_RETURN(std::string out, String(output, "output"));
      s.output = Resolve(out);
    }
    if (s.job.count > 0 && s.ranking_samples > 0 && s.ranking_samples > s.job.count) {
      return Error("'data.ranking.samples' (" + std::to_string(s.ranking_samples) +
                   ") must not exceed 'data.evaluation.count' (" + std::to_string(s.job.count) +
                   "): the ranking subset is the start of the evaluation slice");
    }
    if (s.job.count == 0) return Error("'data.evaluation.count' must be >= 1 for a search job");
    return s;
  }

 private:
  Status ParseData(SearchJobSpec* s) const {
    if (Has("data.calibration")) {
      MIXQ_ASSIGN_OR_RETURN(YAML::Node cal, Section("data.calibration"));
      MIXQ_RETURN_IF_ERROR(CheckKeys(cal, "data.calibration.", {"dataset", "begin", "samples"}));
      if (cal["dataset"]) {
        MIXQ_ASSIGN_OR_RETURN(std::string ds, String(cal["dataset"], "data.calibration.dataset"));
        s->calibration_dataset = Resolve(ds);
      }
      if (cal["begin"]) {
        MIXQ_ASSIGN_OR_RETURN(s->calibration_begin, Int(cal["begin"], "data.calibration.begin", 0));
      }
      if (cal["samples"]) {
        MIXQ_ASSIGN_OR_RETURN(s->calibration_samples,
                              Int(cal["samples"], "data.calibration.samples", 1));
      }
    }
    if (Has("data.ranking")) {
      MIXQ_ASSIGN_OR_RETURN(YAML::Node ranking, Section("data.ranking"));
      MIXQ_RETURN_IF_ERROR(CheckKeys(ranking, "data.ranking.", {"samples"}));
      const YAML::Node samples = ranking["samples"];
      if (samples && !(samples.IsScalar() && samples.Scalar() == "auto")) {
        MIXQ_ASSIGN_OR_RETURN(s->ranking_samples, Int(samples, "data.ranking.samples", 1));
      }
    }
    return Status::Ok();
  }

  Status ParseCalibration(SearchJobSpec* s) const {
    if (!Has("calibration")) return Status::Ok();
    MIXQ_ASSIGN_OR_RETURN(YAML::Node cal, Section("calibration"));
    MIXQ_RETURN_IF_ERROR(
        CheckKeys(cal, "calibration.", {"method", "samples", "percentile", "file"}));
    if (cal["method"]) {
      const YAML::Node method = cal["method"];
      s->calibration_methods.clear();
      if (method.IsSequence()) {
        if (method.size() == 0) return Error("'calibration.method' must not be an empty list");
        for (size_t i = 0; i < method.size(); ++i) {
          MIXQ_ASSIGN_OR_RETURN(std::string name,
                                String(method[i], "calibration.method[" + std::to_string(i) + "]"));
          s->calibration_methods.push_back(name);
        }
      } else {
        MIXQ_ASSIGN_OR_RETURN(std::string name, String(method, "calibration.method"));
        s->calibration_methods.push_back(name);
      }
      for (size_t i = 0; i < s->calibration_methods.size(); ++i) {
        const std::string& name = s->calibration_methods[i];
        if (!ParseScaleMethod(name).ok()) {
          return Error(
              "'calibration.method' must be minmax, percentile, kl or mse (or a list "
              "of them), got '" +
              name + "'");
        }
        if (std::find(s->calibration_methods.begin(), s->calibration_methods.begin() + i, name) !=
            s->calibration_methods.begin() + i) {
          return Error("'calibration.method' lists '" + name + "' twice");
        }
      }
    }
    if (cal["samples"]) {
      MIXQ_ASSIGN_OR_RETURN(s->calibration_samples, Int(cal["samples"], "calibration.samples", 1));
    }
    if (cal["percentile"]) {
      MIXQ_ASSIGN_OR_RETURN(s->calibration_percentile,
                            Number(cal["percentile"], "calibration.percentile"));
      if (!(s->calibration_percentile > 0 && s->calibration_percentile <= 100)) {
        return Error("'calibration.percentile' must be in (0, 100]");
      }
    }
    if (cal["file"]) {
      MIXQ_ASSIGN_OR_RETURN(std::string file, String(cal["file"], "calibration.file"));
      s->calibration_file = Resolve(file);
    }
    if (!s->calibration_file.empty() && s->calibration_methods.size() > 1) {
      return Error(
          "'calibration.method' lists several methods but 'calibration.file' gives "
          "the scales: use one of them");
    }
    return Status::Ok();
  }

  Status ParseBudget(SearchJobSpec* s) const {
    if (!Has("budget")) return Status::Ok();
    MIXQ_ASSIGN_OR_RETURN(YAML::Node budget, Section("budget"));
    MIXQ_RETURN_IF_ERROR(CheckKeys(budget, "budget.", {"max_drop", "relative"}));
    if (budget["max_drop"]) {
      const YAML::Node drop = budget["max_drop"];
      s->budgets.clear();
      if (drop.IsSequence()) {
        if (drop.size() == 0) return Error("'budget.max_drop' must not be an empty list");
        for (size_t i = 0; i < drop.size(); ++i) {
          MIXQ_ASSIGN_OR_RETURN(double b,
                                Number(drop[i], "budget.max_drop[" + std::to_string(i) + "]"));
          s->budgets.push_back(b);
        }
      } else {
        MIXQ_ASSIGN_OR_RETURN(double b, Number(drop, "budget.max_drop"));
        s->budgets.push_back(b);
      }
      for (double b : s->budgets) {
        if (!(b >= 0.0 && b <= 100.0)) {
          return Error("'budget.max_drop' values must be in [0, 100] (accuracy points)");
        }
      }
    }
    if (budget["relative"]) {
      MIXQ_ASSIGN_OR_RETURN(s->relative, Bool(budget["relative"], "budget.relative"));
    }
    return Status::Ok();
  }

  Status ParseObjective(SearchJobSpec* s) const {
    if (!Has("objective")) return Status::Ok();
    MIXQ_ASSIGN_OR_RETURN(YAML::Node objective, Section("objective"));
    MIXQ_RETURN_IF_ERROR(CheckKeys(objective, "objective.", {"measure", "batch"}));
    if (objective["measure"]) {
      MIXQ_ASSIGN_OR_RETURN(s->objective, String(objective["measure"], "objective.measure"));
      if (s->objective != "throughput" && s->objective != "latency") {
        return Error("'objective.measure' must be throughput or latency, got '" + s->objective +
                     "'");
      }
    }
    if (objective["batch"]) {
      MIXQ_ASSIGN_OR_RETURN(s->batch, Int(objective["batch"], "objective.batch", 1, kMaxBatch));
    }
    if (s->objective == "latency") {
      if (objective["batch"] && s->batch != 1) {
        return Error("'objective.batch' must be 1 (or left out) for latency");
      }
      s->batch = 1;
    }
    return Status::Ok();
  }

  Status ParseStrategy(SearchJobSpec* s) const {
    if (Has("strategy")) {
      MIXQ_ASSIGN_OR_RETURN(YAML::Node strategy, Section("strategy"));
      MIXQ_RETURN_IF_ERROR(CheckKeys(strategy, "strategy.",
                                     {"name", "parallel", "exhaustive_benchmarks", "reference_int8",
                                      "min_gain", "confirm_rounds", "refine", "layers"}));
      if (strategy["name"]) {
        MIXQ_ASSIGN_OR_RETURN(s->strategy, String(strategy["name"], "strategy.name"));
      }
      if (strategy["parallel"]) {
        MIXQ_ASSIGN_OR_RETURN(int64_t p, Int(strategy["parallel"], "strategy.parallel", 1));
        if (p > kMaxParallel) {
          return Error("'strategy.parallel' must be <= " + std::to_string(kMaxParallel));
        }
        s->settings.parallel = static_cast<int>(p);
      }
      if (strategy["exhaustive_benchmarks"]) {
        MIXQ_ASSIGN_OR_RETURN(
            int64_t e, Int(strategy["exhaustive_benchmarks"], "strategy.exhaustive_benchmarks", 0));
        s->settings.exhaustive_benchmarks = static_cast<int>(std::min<int64_t>(e, 1 << 20));
      }
      if (strategy["min_gain"]) {
        MIXQ_ASSIGN_OR_RETURN(s->settings.min_gain,
                              Number(strategy["min_gain"], "strategy.min_gain"));
        if (!(s->settings.min_gain >= 0.0 && s->settings.min_gain < 1.0)) {
          return Error("'strategy.min_gain' must be in [0, 1) (a fraction of the time)");
        }
      }
      if (strategy["confirm_rounds"]) {
        MIXQ_ASSIGN_OR_RETURN(int64_t r,
                              Int(strategy["confirm_rounds"], "strategy.confirm_rounds", 0));
        if (r > kMaxConfirmRounds) {
          return Error("'strategy.confirm_rounds' must be <= " + std::to_string(kMaxConfirmRounds));
        }
        s->settings.confirm_rounds = static_cast<int>(r);
      }
      if (strategy["reference_int8"]) {
        MIXQ_ASSIGN_OR_RETURN(s->settings.reference_int8,
                              Bool(strategy["reference_int8"], "strategy.reference_int8"));
      }
      if (strategy["refine"]) {
        MIXQ_ASSIGN_OR_RETURN(s->settings.refine, Bool(strategy["refine"], "strategy.refine"));
      }
      if (strategy["layers"]) MIXQ_RETURN_IF_ERROR(ParseLayers(strategy["layers"], s));
    }
    const std::vector<std::string>& names = StrategyNames();
    if (s->strategy != "pareto" &&
        std::find(names.begin(), names.end(), s->strategy) == names.end()) {
      return Error(
          "'strategy.name' must be accuracy_aware, speed_aware, exhaustive or pareto, "
          "got '" +
          s->strategy + "'");
    }
    if (s->strategy == "pareto" && s->budgets.size() < 2) {
      return Error("'budget.max_drop' must be a list of at least two budgets for pareto");
    }
    if (s->strategy != "pareto" && s->budgets.size() != 1) {
      return Error("'budget.max_drop' must be one value for " + s->strategy +
                   " (a list is for strategy pareto)");
    }
    if (!s->exhaustive_layers.empty() && s->strategy != "exhaustive") {
      return Error("'strategy.layers' is for strategy exhaustive, not " + s->strategy);
    }
    return Status::Ok();
  }

  // strategy.layers: a list of distinct layer names; whether the model has
  // them is checked when the job runs (the model is not read here).
  Status ParseLayers(const YAML::Node& layers, SearchJobSpec* s) const {
    if (!layers.IsSequence()) {
      return Error("'strategy.layers' must be a list of layer names");
    }
    if (layers.size() == 0) {
      return Error("'strategy.layers' must not be an empty list (leave it out for every layer)");
    }
    if (layers.size() > static_cast<size_t>(kMaxExhaustiveLayers)) {
      return Error("'strategy.layers' names " + std::to_string(layers.size()) +
                   " layers; exhaustive enumerates at most " +
                   std::to_string(kMaxExhaustiveLayers) + " (2^" +
                   std::to_string(kMaxExhaustiveLayers) + " configs)");
    }
    for (size_t i = 0; i < layers.size(); ++i) {
      const std::string path = "strategy.layers[" + std::to_string(i) + "]";
      MIXQ_ASSIGN_OR_RETURN(std::string name, String(layers[i], path));
      if (std::find(s->exhaustive_layers.begin(), s->exhaustive_layers.end(), name) !=
          s->exhaustive_layers.end()) {
        return Error("'" + path + "': layer '" + name + "' is listed twice");
      }
      s->exhaustive_layers.push_back(name);
    }
    return Status::Ok();
  }

  Status ParseLimits(SearchJobSpec* s) const {
    if (!Has("limits")) return Status::Ok();
    MIXQ_ASSIGN_OR_RETURN(YAML::Node limits, Section("limits"));
    MIXQ_RETURN_IF_ERROR(CheckKeys(limits, "limits.", {"max_full_evaluations", "max_seconds"}));
    if (limits["max_full_evaluations"]) {
      // FP32 and all-INT8 are always evaluated.
      MIXQ_ASSIGN_OR_RETURN(int64_t n,
                            Int(limits["max_full_evaluations"], "limits.max_full_evaluations", 2));
      s->settings.max_full_evaluations =
          static_cast<int>(std::min<int64_t>(n, kMaxFullEvaluations));
    }
    if (limits["max_seconds"]) {
      MIXQ_ASSIGN_OR_RETURN(s->max_seconds, Number(limits["max_seconds"], "limits.max_seconds"));
      if (!(s->max_seconds > 0)) return Error("'limits.max_seconds' must be > 0");
    }
    return Status::Ok();
  }

  const JobSpec& job_;
};

}  // namespace

StatusOr<SearchJobSpec> ParseSearchJobSpec(const JobSpec& job) {
  try {
    return SearchParser(job).Parse();
  } catch (const YAML::Exception& e) {
    return InvalidArgument(job.source + ": " + e.what());
  }
}

std::vector<double> AbsoluteBudgets(const SearchJobSpec& spec, double fp32_accuracy) {
  std::vector<double> out;
  for (double b : spec.budgets) out.push_back(spec.relative ? fp32_accuracy * b / 100.0 : b);
  return out;
}

}  // namespace mixq
