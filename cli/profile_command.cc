// `mixq profile`: where the time of one forward pass goes, per quantizable
// layer, FP32 against the given config (all INT8 when none is given), as a
// table or JSON. The measurement is engine/runtime/layer_profile.h's
// ProfileLayers(); the sum of the groups is compared with the median of
// plain Run()s.
#include <algorithm>
#include <iomanip>
#include <nlohmann/json.hpp>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/engine_options.h"
#include "cli/input_shape_option.h"
#include "cli/quant_setup.h"
#include "common/number_flag.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/runtime/executor.h"
#include "engine/runtime/layer_profile.h"

namespace mixq {
namespace {

namespace po = boost::program_options;

struct ProfileCommandOptions {
  std::string model;
  int64_t batch = 1;
  bool batch_given = false;  // --batch on the command line (it must agree with --input-shape)
  int warmup = 3;            // untimed runs per model
  int runs = 20;             // profiled runs and plain runs per model; medians are reported
  bool json = false;
  EngineOptions engine;
  QuantArgs quant;           // config "" = all INT8; no calibration = synthetic scales
  InputShapes input_shapes;  // --input-shape
};

Status RunProfile(const ProfileCommandOptions& options, std::ostream& out) {
  MIXQ_RETURN_IF_ERROR(ApplyEngineOptions(options.engine));
  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(options.model));
  MIXQ_RETURN_IF_ERROR(ApplyInputShapes(options.input_shapes, {}, &graph).status());
  const int64_t batch =
      CommandBatches(graph, options.input_shapes, {options.batch}, options.batch_given)[0];
  QuantArgs args = options.quant;
  if (args.config.empty()) args.config = "int8";
  MIXQ_ASSIGN_OR_RETURN(ResolvedQuant quant,
                        ResolveQuant(args, options.model, graph, true, options.engine.threads));
  LayerProfileOptions profile_options;
  profile_options.batch = batch;
  profile_options.warmup = options.warmup;
  profile_options.runs = options.runs;
  profile_options.threads = options.engine.threads;
  profile_options.winograd = options.engine.winograd;
  MIXQ_ASSIGN_OR_RETURN(LayerProfile profile, ProfileLayers(graph, quant.spec, profile_options));
  const std::string isa = EffectiveIsaName();

  if (options.json) {
    nlohmann::json j = {{"model", options.model},
                        {"batch", batch},
                        {"threads", options.engine.threads},
                        {"isa", isa},
                        {"runs", options.runs}};
    j.update(LayerProfileToJson(profile));
    j["quant"] = quant.ToJson();
    out << j.dump() << "\n";
    return Status::Ok();
  }
  out << "model " << options.model << "  batch " << batch << "  isa " << isa << "  threads "
      << (options.engine.threads ? std::to_string(options.engine.threads) : "default") << "  runs "
      << options.runs << " (medians)\n";
  out << "config " << quant.Summary() << "\n";
  int width = 8;
  for (const LayerTime& t : profile.layers) {
    width = std::max(width, static_cast<int>(t.layer.size()) + 2);
  }
  out << std::left << std::setw(width) << "layer" << std::setw(6) << "prec" << std::right
      << std::setw(11) << "fp32 ms" << std::setw(11) << "config ms" << std::setw(12) << "reorder ms"
      << "\n";
  out << std::fixed << std::setprecision(4);
  for (const LayerTime& t : profile.layers) {
    out << std::left << std::setw(width) << t.layer << std::setw(6) << t.precision << std::right
        << std::setw(11) << t.fp32_ms << std::setw(11) << t.config_ms << std::setw(12)
        << t.reorder_ms << "\n";
  }
  out << std::left << std::setw(width + 6) << "sum of steps" << std::right << std::setw(11)
      << profile.fp32.sum_ms << std::setw(11) << profile.config.sum_ms << "\n";
  out << std::left << std::setw(width + 6) << "whole model (plain Run)" << std::right
      << std::setw(11) << profile.fp32.whole_ms << std::setw(11) << profile.config.whole_ms << "\n";
  out << std::left << std::setw(width + 6) << "sum / whole" << std::right << std::setprecision(3)
      << std::setw(11) << profile.fp32.SumOverWhole() << std::setw(11)
      << profile.config.SumOverWhole() << "\n";
  return Status::Ok();
}

}  // namespace

int ProfileMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ProfileCommandOptions o;
  po::options_description desc("mixq profile: per-layer FP32 and INT8 times");
  desc.add_options()("model", po::value<std::string>(&o.model)->required(), "ONNX model file")(
      "batch", IntegerFlag("batch", &o.batch, 1, kMaxBatch), "batch size")(
      "runs", IntegerFlag("runs", &o.runs, 1, kMaxRuns), "timed runs per model (medians)")(
      "warmup", IntegerFlag("warmup", &o.warmup, 0, kMaxRuns), "untimed runs per model")(
      "json", po::bool_switch(&o.json), "print one JSON object");
  AddEngineOptions(&desc, &o.engine);
  AddQuantOptions(&desc, &o.quant);
  AddInputShapeOption(&desc, &o.input_shapes);
  po::variables_map values;
  if (!ParseCommandLine("profile", desc, args, out, {}, &values)) return 0;
  o.batch_given = OptionGiven(values, "batch");
  return ExitCode("profile", RunProfile(o, out), err);
}

}  // namespace mixq
