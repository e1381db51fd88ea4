#include "cli/calibrate_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/input_shape_option.h"
#include "common/dataset.h"
#include "common/number_flag.h"
#include "common/sha256.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/runtime/calibrator.h"
#include "engine/runtime/executor.h"

namespace mixq {

Status RunCalibrateCommand(const CalibrateCommandOptions& options, std::ostream& out) {
  MIXQ_RETURN_IF_ERROR(ApplyEngineOptions(options.engine));
  if (options.output.empty()) return InvalidArgument("-o/--output is required");
  ScaleOptions scale;
  MIXQ_ASSIGN_OR_RETURN(scale.method, ParseScaleMethod(options.method));
  scale.percentile = options.percentile;
  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(options.model));
  MIXQ_ASSIGN_OR_RETURN(std::string model_sha256, Sha256File(options.model));
  if (options.dataset.empty() == !options.synthetic) {
    return InvalidArgument("give --dataset D.yaml, or --synthetic for timing-only scales");
  }
  std::unique_ptr<Dataset> dataset;
  DatasetSpec spec;
  if (!options.synthetic) {
    MIXQ_ASSIGN_OR_RETURN(spec, LoadDatasetSpec(options.dataset));
    MIXQ_ASSIGN_OR_RETURN(dataset, Dataset::Open(spec));
  }
  MIXQ_ASSIGN_OR_RETURN(const InputShapes input_shapes,
                        ApplyInputShapes(options.input_shapes,
                                         {{options.job_file, options.job_input_shapes},
                                          {spec.source, spec.input_shapes}},
                                         &graph));

  CalibratorOptions calibrator;
  calibrator.batch =
      CommandBatches(graph, options.input_shapes, {options.batch}, options.batch_given)[0];
  calibrator.executor.threads = options.engine.threads;
  calibrator.executor.winograd = options.engine.winograd;
  int last_quarter = -1;
  std::string last_pass;
  if (options.progress) {
    // A line per quarter of each pass keeps logs short.
    calibrator.progress = [&](const char* pass, int64_t done, int64_t total) {
      const int quarter = static_cast<int>(4 * done / std::max<int64_t>(total, 1));
      if (pass == last_pass && quarter == last_quarter) return;
      last_pass = pass;
      last_quarter = quarter;
      std::fprintf(stderr, "calibrate %s: pass %s %lld/%lld\n", options.model.c_str(), pass,
                   static_cast<long long>(done), static_cast<long long>(total));
    };
  }
  const auto start = std::chrono::steady_clock::now();
  constexpr uint32_t kSyntheticSeed = 1;
  MIXQ_ASSIGN_OR_RETURN(Calibration calibration,
                        options.synthetic
                            ? CalibrateSynthetic(graph, options.samples, kSyntheticSeed, scale,
                                                 model_sha256, calibrator)
                            : Calibrate(graph, *dataset, options.begin, options.samples, scale,
                                        {model_sha256, options.dataset}, calibrator));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!input_shapes.empty()) calibration.provenance["input_shape"] = InputShapesText(input_shapes);
  MIXQ_RETURN_IF_ERROR(SaveCalibration(calibration, options.output));

  int u8 = 0;
  for (const auto& [name, params] : calibration.activations) u8 += params.is_unsigned;
  const int tensors = static_cast<int>(calibration.activations.size());
  const std::string isa = EffectiveIsaName();
  if (options.json) {
    out << nlohmann::json{{"model", options.model},
                          {"model_sha256", model_sha256},
                          {"dataset", options.synthetic ? "synthetic" : options.dataset},
                          {"begin", options.begin},
                          {"samples", options.samples},
                          {"method", ScaleMethodName(scale.method)},
                          {"percentile", scale.percentile},
                          {"output", options.output},
                          {"tensors", tensors},
                          {"u8", u8},
                          {"s8", tensors - u8},
                          {"seconds", seconds},
                          {"isa", isa}}
               .dump()
        << "\n";
    return Status::Ok();
  }
  out << "model       " << options.model << "\n";
  out << "dataset     " << (options.synthetic ? "SYNTHETIC (timing only)" : options.dataset) << " ("
      << options.samples << " samples from " << options.begin << ")\n";
  out << "method      " << ScaleMethodName(scale.method);
  if (scale.method == ScaleMethod::kPercentile) out << " " << scale.percentile;
  out << "\n";
  out << "tensors     " << tensors << " (" << u8 << " u8, " << tensors - u8 << " s8)\n";
  out << "isa         " << isa << "\n";
  out << "time        " << std::fixed << std::setprecision(2) << seconds << " s\n";
  out << "wrote       " << options.output << "\n";
  return Status::Ok();
}

int CalibrateMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  namespace po = boost::program_options;
  CalibrateCommandOptions o;
  bool quiet = false;
  po::options_description desc("mixq calibrate: INT8 activation scales from a dataset slice");
  desc.add_options()("model", po::value<std::string>(&o.model)->required(), "ONNX model file")(
      "dataset", po::value<std::string>(&o.dataset),
      "dataset YAML; a slice disjoint from the evaluation set")(
      "synthetic", po::bool_switch(&o.synthetic),
      "random inputs instead of a dataset: scales for timing and export tests, not accuracy")(
      "output,o", po::value<std::string>(&o.output)->required(), "calibration file to write")(
      "method", po::value<std::string>(&o.method)->default_value("minmax"),
      "minmax|percentile|kl|mse")("percentile",
                                  RealFlag("percentile", &o.percentile, kMinPercentile, 100.0),
                                  "for --method percentile")(
      "samples", IntegerFlag("samples", &o.samples, 1, kMaxSamples), "calibration samples")(
      "begin", IntegerFlag("begin", &o.begin, 0, kMaxSamples), "first sample")(
      "batch", IntegerFlag("batch", &o.batch, 1, kMaxBatch), "samples per forward pass")(
      "json", po::bool_switch(&o.json), "print one JSON object")("quiet,q", po::bool_switch(&quiet),
                                                                 "no progress on stderr");
  AddEngineOptions(&desc, &o.engine);
  AddInputShapeOption(&desc, &o.input_shapes);
  po::variables_map values;
  if (!ParseCommandLine("calibrate", desc, args, out, {}, &values)) return 0;
  o.batch_given = OptionGiven(values, "batch");
  o.progress = !quiet;
  return ExitCode("calibrate", RunCalibrateCommand(o, out), err);
}

}  // namespace mixq
