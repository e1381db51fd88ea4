// `mixq search`: the accuracy-aware search on this machine, in this process
// (LocalBackend): calibrates, then runs a strategy for one budget or a list
// of budgets (pareto), printing each step, and writes the summary, the chosen
// config and its QDQ export to an output folder. The distributed form runs
// the same strategies through the coordinator (`mixq run`, kind: search).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/engine_options.h"
#include "cli/input_shape_option.h"
#include "common/dataset.h"
#include "common/number_flag.h"
#include "common/sha256.h"
#include "common/table_format.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/onnx/qdq_export.h"
#include "engine/runtime/calibrator.h"
#include "engine/runtime/executor.h"
#include "search/local/local_backend.h"
#include "search/ranking_size.h"
#include "search/search_space.h"
#include "search/search_summary.h"
#include "search/strategy.h"

namespace mixq {
namespace {

namespace po = boost::program_options;

struct SearchCommandOptions {
  std::string model;
  std::string calibration_dataset;  // dataset YAML for calibration (e.g. the training set)
  int64_t calibration_samples = 300;
  std::string method = "minmax";  // scale method
  std::string calibration;        // an existing calibration file instead of calibrating
  std::string dataset;            // evaluation dataset YAML
  int64_t eval_count = -1;        // samples of the evaluation set (-1 = all)
  int64_t ranking_samples = 0;    // 0: sized from the smallest budget (ranking_size.h)
  std::string metric;             // top1 | top5 | map50 | map50_95 | miou; "" = the dataset task's
  std::vector<double> budgets = {1.0};   // absolute points; more than one = pareto
  std::string objective = "throughput";  // throughput (at --batch) | latency (batch 1)
  int64_t batch = 16;
  bool batch_given = false;  // --batch on the command line (it must agree with --input-shape)
  std::string strategy = "speed_aware";
  // --max-full-evaluations, --parallel, --reference-int8, --min-gain,
  // --confirm-rounds; max_drop is set per budget.
  SearchSettings settings;
  // --layers: exhaustive enumerates these layers only (names; empty = all).
  std::vector<std::string> layers;
  std::string output;  // output folder ("" = none)
  bool json = false;
  bool no_refine = false;  // --no-refine: settings.refine off
  EngineOptions engine;
  // --input-shape, over the evaluation dataset's input_shape, over the
  // calibration dataset's.
  InputShapes input_shapes;
};

using Clock = std::chrono::steady_clock;

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
          {"refinement_full_evaluations", o.refinement_full_evaluations},
          {"ranking_evaluations", o.ranking_evaluations},
          {"benchmarks", o.benchmarks},
          {"seconds", seconds}};
}

// The names --layers gives: a value that is a layer's whole name is taken
// as it is (an ONNX node name may contain a comma); any other is split at
// commas. The option may also be repeated.
std::vector<std::string> LayerNames(const SearchSpace& space,
                                    const std::vector<std::string>& values) {
  std::vector<std::string> names;
  for (const std::string& value : values) {
    const bool whole = std::any_of(space.layers.begin(), space.layers.end(),
                                   [&](const SearchLayer& l) { return l.name == value; });
    if (whole) {
      names.push_back(value);
    } else {
      for (const std::string& name : SplitList({value})) names.push_back(name);
    }
  }
  return names;
}

Status RunSearch(const SearchCommandOptions& options, std::ostream& out) {
  MIXQ_RETURN_IF_ERROR(ApplyEngineOptions(options.engine));
  if (!(options.settings.min_gain >= 0.0 && options.settings.min_gain < 1.0)) {
    return InvalidArgument("--min-gain must be in [0, 1) (a fraction of the time)");
  }
  if (options.settings.confirm_rounds < 0 || options.settings.confirm_rounds > kMaxConfirmRounds) {
    return InvalidArgument("--confirm-rounds must be in [0, " + std::to_string(kMaxConfirmRounds) +
                           "]");
  }
  if (options.budgets.empty()) return InvalidArgument("--budget needs at least one value");
  for (double b : options.budgets) {
    if (!(b >= 0.0)) return InvalidArgument("--budget values must be >= 0 (accuracy points)");
  }

  if (options.objective != "throughput" && options.objective != "latency") {
    return InvalidArgument("--objective must be throughput or latency");
  }
  const std::vector<std::string>& strategies = StrategyNames();
  if (std::find(strategies.begin(), strategies.end(), options.strategy) == strategies.end()) {
    return InvalidArgument("unknown strategy '" + options.strategy +
                           "' (accuracy_aware, speed_aware, exhaustive)");
  }
  if (!options.layers.empty() && (options.strategy != "exhaustive" || options.budgets.size() > 1)) {
    return InvalidArgument("--layers is for --strategy exhaustive (with one --budget)");
  }
  if (options.calibration.empty() == options.calibration_dataset.empty()) {
    return InvalidArgument(
        "give --calibration-dataset D.yaml (calibrate now) or --calibration F (a file from "
        "mixq calibrate)");
  }
  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(options.model));
  MIXQ_ASSIGN_OR_RETURN(std::string model_sha256, Sha256File(options.model));
  const SearchSpace space = BuildSearchSpace(graph);
  MIXQ_ASSIGN_OR_RETURN(const std::vector<int> exhaustive_layers,
                        FindLayers(space, LayerNames(space, options.layers), "--layers"));
  MIXQ_ASSIGN_OR_RETURN(DatasetSpec eval_spec, LoadDatasetSpec(options.dataset));
  // The budget is in the points of the dataset task's metric: top-1 by
  // default, mAP@[.5:.95] for a detection set, mIoU for a segmentation set.
  MIXQ_ASSIGN_OR_RETURN(
      const EvalMetric metric,
      ResolveEvalMetric(options.metric, eval_spec.task.kind, "--metric", options.dataset));
  DatasetSpec cal_spec;
  if (!options.calibration_dataset.empty()) {
    MIXQ_ASSIGN_OR_RETURN(cal_spec, LoadDatasetSpec(options.calibration_dataset));
  }
  MIXQ_ASSIGN_OR_RETURN(const InputShapes input_shapes,
                        ApplyInputShapes(options.input_shapes,
                                         {{eval_spec.source, eval_spec.input_shapes},
                                          {cal_spec.source, cal_spec.input_shapes}},
                                         &graph));
  // Latency is measured at batch 1 whatever the shapes say.
  const int64_t batch =
      options.objective == "latency"
          ? 1
          : CommandBatches(graph, options.input_shapes, {options.batch}, options.batch_given)[0];
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
  const int64_t slice =
      options.eval_count >= 0 ? std::min(options.eval_count, eval_set->size()) : eval_set->size();
  backend_options.ranking_count = options.ranking_samples > 0
                                      ? std::min(options.ranking_samples, slice)
                                      : RankingSamplesForBudgets(options.budgets, slice);
  note("ranking subset: the first " + std::to_string(backend_options.ranking_count) +
       " samples (one sample = " + Fixed(RankingResolution(backend_options.ranking_count), 3) +
       " points" + (options.ranking_samples > 0 ? ")" : ", sized from the budget)"));
  backend_options.metric = metric;
  backend_options.batch = batch;
  backend_options.threads = options.engine.threads;
  backend_options.winograd = options.engine.winograd;
  backend_options.progress = note;
  LocalBackend backend(graph, space, model_sha256, calibration, *eval_set, backend_options);

  SearchSettings settings = options.settings;
  settings.ranking_resolution = RankingResolution(backend_options.ranking_count);
  settings.refine = !options.no_refine;
  settings.screen = backend_options.ranking_count < slice;
  settings.exhaustive_layers = exhaustive_layers;
  StepObserver observer = [&](const SearchStep& step, const SearchOutcome& so_far) {
    if (step.kind != "full" && step.kind != "answer") return;
    std::string line = step.kind + " #" + std::to_string(so_far.full_evaluations) + ": " +
                       DescribeMask(space, step.mask) + "  " + EvalMetricName(metric) + " " +
                       Fixed(step.accuracy, 2) + " %  drop " + Fixed(step.drop, 2);
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
      qdq.input_shapes = input_shapes;
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
    out << RenderTable(
        SearchSummaryTable(space, {{hardware, outcomes[i]}}, EvalMetricColumn(metric)),
        TableFormat::kTable, TerminalWidth());
    out << VerdictLine({hardware, outcomes[i]}) << "\n";
  }
  out << "wall time " << Fixed(seconds, 1) << " s";
  if (!options.output.empty()) out << "; outputs in " << options.output;
  out << "\n";
  return Status::Ok();
}

}  // namespace

int SearchMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  SearchCommandOptions o;
  std::string budgets = "1.0";
  po::options_description desc(
      "mixq search: the fastest FP32/INT8 config within an accuracy budget, on this machine");
  desc.add_options()("model", po::value<std::string>(&o.model)->required(), "ONNX model file")(
      "dataset", po::value<std::string>(&o.dataset)->required(), "evaluation dataset YAML")(
      "count", IntegerFlag("count", &o.eval_count, kSampleCount), "evaluation samples (-1 = all)")(
      "calibration-dataset", po::value<std::string>(&o.calibration_dataset),
      "dataset YAML to calibrate on (disjoint from evaluation)")(
      "calibration-samples",
      IntegerFlag("calibration-samples", &o.calibration_samples, 1, kMaxSamples),
      "calibration samples")("method", po::value<std::string>(&o.method)->default_value("minmax"),
                             "scale method: minmax|percentile|kl|mse")(
      "calibration", po::value<std::string>(&o.calibration),
      "an existing calibration file instead of --calibration-dataset")(
      "ranking-samples", IntegerFlag("ranking-samples", &o.ranking_samples, 0, kMaxSamples),
      "samples of the ranking subset (the first of the evaluation set); 0 (default): sized "
      "from the smallest budget, one sample at most a quarter of it, at least 300")(
      "metric", po::value<std::string>(&o.metric),
      "top1|top5 (classification), map50|map50_95 (detection), miou (segmentation); default: "
      "top1, map50_95 or miou by the dataset's task")(
      "budget", po::value<std::string>(&budgets)->default_value("1.0"),
      "max accuracy drop in points; a list (0.1,0.3,1) = pareto")(
      "objective", po::value<std::string>(&o.objective)->default_value("throughput"),
      "throughput (at --batch) | latency (batch 1)")(
      "batch", IntegerFlag("batch", &o.batch, 1, kMaxBatch), "batch for throughput")(
      "strategy", po::value<std::string>(&o.strategy)->default_value("speed_aware"),
      "speed_aware|accuracy_aware|exhaustive")(
      "max-full-evaluations",
      IntegerFlag("max-full-evaluations", &o.settings.max_full_evaluations, 2, kMaxFullEvaluations),
      "limit on full evaluations (FP32 and all-INT8 included)")(
      "parallel", IntegerFlag("parallel", &o.settings.parallel, 1, kMaxParallel),
      "speed_aware: configs verified per round")(
      "min-gain", RealFlag("min-gain", &o.settings.min_gain, 0.0, 0.99),
      "speed_aware: verify a config only if predicted this fraction faster than the best "
      "verified")("confirm-rounds",
                  IntegerFlag("confirm-rounds", &o.settings.confirm_rounds, 0, kMaxConfirmRounds),
                  "head-to-head rounds at the end: the answer, its close rivals, FP32 and "
                  "all-INT8 benchmarked again together (0 = none)")(
      "layers", po::value<std::vector<std::string>>(&o.layers)->composing(),
      "exhaustive: enumerate only these layers (names, comma-separated or the option repeated; "
      "at most 16), every other layer INT8")(
      "reference-int8", po::bool_switch(&o.settings.reference_int8),
      "speed_aware: evaluate all-INT8 in full even when not needed (for the summary)")(
      "no-refine", po::bool_switch(&o.no_refine),
      "skip the final refinement (the answer's neighbours timed head to head and the faster "
      "ones verified)")("output,o", po::value<std::string>(&o.output),
                        "output folder (summary, config, QDQ)")("json", po::bool_switch(&o.json),
                                                                "print one JSON object");
  AddEngineOptions(&desc, &o.engine);
  AddInputShapeOption(&desc, &o.input_shapes);
  po::variables_map values;
  if (!ParseCommandLine("search", desc, args, out, {}, &values)) return 0;
  o.batch_given = OptionGiven(values, "batch");
  o.budgets = ParseDoubleList(budgets, "--budget", 0.0, 100.0);
  return ExitCode("search", RunSearch(o, out), err);
}

}  // namespace mixq
