#include "cli/search_command.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/dataset.h"
#include "common/sha256.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/onnx/qdq_export.h"
#include "engine/runtime/calibrator.h"
#include "engine/runtime/executor.h"
#include "engine/runtime/isa.h"
#include "search/local/local_backend.h"
#include "search/search_space.h"
#include "search/search_summary.h"
#include "search/strategy.h"

namespace mixq {

namespace {

using Clock = std::chrono::steady_clock;

std::string Fixed(double v, int digits) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.*f", digits, v);
  return text;
}

nlohmann::json OutcomeJson(const SearchSpace& space, const SearchOutcome& o, double budget,
                           double seconds) {
  return {{"budget", budget},
          {"met", o.met},
          {"verdict", o.verdict},
          {"chosen", DescribeMask(space, o.chosen)},
          {"fp32_layers", Fp32Layers(space, o.chosen)},
          {"fp32_accuracy", o.fp32_accuracy},
          {"int8_accuracy", o.int8_accuracy},
          {"chosen_accuracy", o.chosen_accuracy},
          {"chosen_drop", o.fp32_accuracy - o.chosen_accuracy},
          {"fp32_ms", o.fp32_ms},
          {"int8_ms", o.int8_ms},
          {"chosen_ms", o.chosen_ms},
          {"speedup", o.fp32_ms / o.chosen_ms},
          {"int8_speedup", o.fp32_ms / o.int8_ms},
          {"full_evaluations", o.full_evaluations},
          {"ranking_evaluations", o.ranking_evaluations},
          {"benchmarks", o.benchmarks},
          {"seconds", seconds}};
}

}  // namespace

Status RunSearchCommand(const SearchCommandOptions& options, std::ostream& out) {
  if (options.engine.threads < 0) return InvalidArgument("--threads must be >= 0");
  if (!options.engine.max_isa.empty()) MIXQ_RETURN_IF_ERROR(SetMaxIsa(options.engine.max_isa));
  if (!(options.min_gain >= 0.0 && options.min_gain < 1.0)) {
    return InvalidArgument("--min-gain must be in [0, 1) (a fraction of the time)");
  }
  if (options.confirm_rounds < 0 || options.confirm_rounds > kMaxConfirmRounds) {
    return InvalidArgument("--confirm-rounds must be in [0, " + std::to_string(kMaxConfirmRounds) +
                           "]");
  }
  if (options.budgets.empty()) return InvalidArgument("--budget needs at least one value");
  for (double b : options.budgets) {
    if (!(b >= 0.0)) return InvalidArgument("--budget values must be >= 0 (accuracy points)");
  }
  if (options.metric != "top1" && options.metric != "top5") {
    return InvalidArgument("--metric must be top1 or top5");
  }
  if (options.objective != "throughput" && options.objective != "latency") {
    return InvalidArgument("--objective must be throughput or latency");
  }
  const std::vector<std::string>& strategies = StrategyNames();
  if (std::find(strategies.begin(), strategies.end(), options.strategy) == strategies.end()) {
    return InvalidArgument("unknown strategy '" + options.strategy +
                           "' (accuracy_aware, speed_aware, exhaustive)");
  }
  if (options.calibration.empty() == options.calibration_dataset.empty()) {
    return InvalidArgument(
        "give --calibration-dataset D.yaml (calibrate now) or --calibration F (a file from "
        "mixq calibrate)");
  }
  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(options.model));
  MIXQ_ASSIGN_OR_RETURN(std::string model_sha256, Sha256File(options.model));
  const SearchSpace space = BuildSearchSpace(graph);
  MIXQ_ASSIGN_OR_RETURN(DatasetSpec eval_spec, LoadDatasetSpec(options.dataset));
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> eval_set, Dataset::Open(eval_spec));
  const std::string isa = EffectiveIsaName();
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  auto note = [&](const std::string& line) {
    std::fprintf(stderr, "[%7.1f s] %s\n", elapsed(), line.c_str());
  };

  Calibration calibration;
  if (!options.calibration.empty()) {
    MIXQ_ASSIGN_OR_RETURN(calibration, LoadCalibration(options.calibration));
    if (calibration.model_sha256 != model_sha256) {
      return InvalidArgument("'" + options.calibration + "' calibrates another model");
    }
  } else {
    MIXQ_ASSIGN_OR_RETURN(DatasetSpec cal_spec, LoadDatasetSpec(options.calibration_dataset));
    MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> cal_set, Dataset::Open(cal_spec));
    ScaleOptions scale;
    MIXQ_ASSIGN_OR_RETURN(scale.method, ParseScaleMethod(options.method));
    CalibratorOptions calibrator;
    calibrator.executor.threads = options.engine.threads;
    calibrator.executor.winograd = options.engine.winograd;
    note("calibrating (" + options.method + ", " + std::to_string(options.calibration_samples) +
         " samples of " + options.calibration_dataset + ")");
    MIXQ_ASSIGN_OR_RETURN(calibration,
                          Calibrate(graph, *cal_set, 0, options.calibration_samples, scale,
                                    {model_sha256, options.calibration_dataset}, calibrator));
  }

  LocalBackendOptions backend_options;
  backend_options.eval_count = options.eval_count;
  backend_options.ranking_count = options.ranking_samples;
  backend_options.top5 = options.metric == "top5";
  backend_options.batch = options.objective == "latency" ? 1 : options.batch;
  backend_options.threads = options.engine.threads;
  backend_options.winograd = options.engine.winograd;
  backend_options.progress = note;
  LocalBackend backend(graph, space, model_sha256, calibration, *eval_set, backend_options);

  SearchSettings settings;
  settings.max_full_evaluations = options.max_full_evaluations;
  settings.parallel = options.parallel;
  settings.reference_int8 = options.reference_int8;
  settings.min_gain = options.min_gain;
  settings.confirm_rounds = options.confirm_rounds;
  StepObserver observer = [&](const SearchStep& step, const SearchOutcome& so_far) {
    if (step.kind != "full" && step.kind != "answer") return;
    std::string line = step.kind + " #" + std::to_string(so_far.full_evaluations) + ": " +
                       DescribeMask(space, step.mask) + "  acc " + Fixed(step.accuracy, 2) +
                       " %  drop " + Fixed(step.drop, 2);
    if (!std::isnan(step.predicted_drop))
      line += " (predicted " + Fixed(step.predicted_drop, 2) + ")";
    note(line + "  [" + step.reason + "]");
  };

  std::vector<SearchOutcome> outcomes;
  int distinct_full = 0;
  if (options.budgets.size() == 1) {
    settings.max_drop = options.budgets[0];
    MIXQ_ASSIGN_OR_RETURN(SearchOutcome outcome,
                          RunStrategy(options.strategy, space, settings, &backend, observer));
    distinct_full = outcome.full_evaluations;
    outcomes.push_back(std::move(outcome));
  } else {
    MIXQ_ASSIGN_OR_RETURN(
        outcomes, RunPareto(space, options.budgets, settings, &backend, &distinct_full, observer));
  }
  const double seconds = elapsed();
  std::vector<double> budgets = options.budgets;
  std::sort(budgets.begin(), budgets.end());
  if (options.budgets.size() == 1) budgets = options.budgets;

  const std::string hardware = isa;
  if (!options.output.empty()) {
    for (size_t i = 0; i < outcomes.size(); ++i) {
      const std::string dir = outcomes.size() == 1
                                  ? options.output
                                  : options.output + "/budget-" + Fixed(budgets[i], 2);
      MIXQ_ASSIGN_OR_RETURN(
          std::vector<std::string> files,
          WriteSearchOutputs(dir, space, model_sha256, {{hardware, outcomes[i]}}));
      (void)files;
      MIXQ_RETURN_IF_ERROR(SaveCalibration(calibration, dir + "/calibration.json"));
      QdqExportOptions qdq;
      MIXQ_RETURN_IF_ERROR(ExportQdqFile(options.model,
                                         space.ToConfig(outcomes[i].chosen, model_sha256),
                                         calibration, qdq, dir + "/model.qdq.onnx"));
    }
  }

  if (options.json) {
    nlohmann::json results = nlohmann::json::array();
    for (size_t i = 0; i < outcomes.size(); ++i) {
      results.push_back(OutcomeJson(space, outcomes[i], budgets[i], seconds));
    }
    out << nlohmann::json{{"model", options.model},
                          {"strategy", options.budgets.size() > 1 ? "pareto" : options.strategy},
                          {"isa", isa},
                          {"objective", options.objective},
                          {"batch", backend_options.batch},
                          {"layers", space.size()},
                          {"distinct_full_evaluations", distinct_full},
                          {"seconds", seconds},
                          {"results", results}}
               .dump()
        << "\n";
    return Status::Ok();
  }
  out << "model " << options.model << "  strategy "
      << (options.budgets.size() > 1 ? "pareto" : options.strategy) << "  isa " << isa
      << "  objective " << options.objective << " (batch " << backend_options.batch << ")\n";
  for (size_t i = 0; i < outcomes.size(); ++i) {
    out << "\nbudget " << Fixed(budgets[i], 2) << " points: " << outcomes[i].verdict << "\n";
    out << RenderTable(SearchSummaryTable(space, {{hardware, outcomes[i]}}), TableFormat::kTable,
                       TerminalWidth());
    out << VerdictLine({hardware, outcomes[i]}) << "\n";
  }
  out << "wall time " << Fixed(seconds, 1) << " s";
  if (!options.output.empty()) out << "; outputs in " << options.output;
  out << "\n";
  return Status::Ok();
}

}  // namespace mixq
