// `mixq bench`: latency and throughput of a model per batch size, after
// warm-up, in this process.
#include <iomanip>
#include <nlohmann/json.hpp>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/engine_options.h"
#include "cli/input_shape_option.h"
#include "cli/quant_setup.h"
#include "common/number_flag.h"
#include "engine/onnx/qdq_import.h"
#include "engine/runtime/benchmark.h"
#include "engine/runtime/executor.h"

namespace mixq {
namespace {

namespace po = boost::program_options;

struct BenchCommandOptions {
  std::string model;
  std::vector<int64_t> batches = {1, 16};
  bool batches_given = false;  // --batch on the command line (it must agree with --input-shape)
  int warmup = 3;
  int min_iterations = 10;
  double min_seconds = 2.0;
  bool json = false;
  EngineOptions engine;
  QuantArgs quant;  // INT8 without quant.calibration: synthetic scales, said so in the report
  InputShapes input_shapes;  // --input-shape
};

Status RunBench(const BenchCommandOptions& options, std::ostream& out) {
  MIXQ_RETURN_IF_ERROR(ApplyEngineOptions(options.engine));
  if (options.batches.empty()) return InvalidArgument("--batch needs at least one batch size");
  MIXQ_ASSIGN_OR_RETURN(QdqModel model, ImportOnnxWithQdq(options.model));
  Graph& graph = model.graph;
  MIXQ_RETURN_IF_ERROR(ApplyInputShapes(options.input_shapes, {}, &graph).status());
  const std::vector<int64_t> batches =
      CommandBatches(graph, options.input_shapes, options.batches, options.batches_given);
  MIXQ_ASSIGN_OR_RETURN(ResolvedQuant quant, ResolveQuant(options.quant, options.model, graph, true,
                                                          options.engine.threads,
                                                          model.has_qdq ? &model.spec : nullptr));
  const std::string isa = EffectiveIsaName();
  nlohmann::json rows = nlohmann::json::array();
  if (!options.json) {
    out << "model " << options.model << "  precision " << quant.Summary() << "\n";
    out << "isa " << isa << "  threads "
        << (options.engine.threads ? std::to_string(options.engine.threads)
                                   : std::string("default"))
        << "  winograd " << (options.engine.winograd ? "on" : "off") << "\n";
    out << std::left << std::setw(7) << "batch" << std::right << std::setw(12)
        << std::string(SampleUnit(graph)) + "/s" << std::setw(12) << "median ms" << std::setw(10)
        << "p90 ms" << std::setw(8) << "iters"
        << "\n";
  }
  for (int64_t batch : batches) {
    BenchOptions bench;
    bench.batch = batch;
    bench.executor.threads = options.engine.threads;
    bench.executor.winograd = options.engine.winograd;
    bench.executor.quant = quant.spec;
    bench.warmup = options.warmup;
    bench.min_iterations = options.min_iterations;
    bench.min_seconds = options.min_seconds;
    MIXQ_ASSIGN_OR_RETURN(BenchResult r, Benchmark(graph, bench));
    if (options.json) {
      nlohmann::json row = {{"runtime", "mixq"},
                            {"model", options.model},
                            {"batch", r.batch},
                            {"threads", options.engine.threads},
                            {"isa", isa},
                            {"winograd", options.engine.winograd},
                            {"iterations", r.iterations},
                            {"images_per_second", r.images_per_second},
                            {"latency_ms_median", r.latency_ms_median},
                            {"latency_ms_p90", r.latency_ms_p90},
                            {"latency_ms_mean", r.latency_ms_mean},
                            {"compile_ms", r.compile_ms}};
      row.update(quant.ToJson());
      rows.push_back(row);
    } else {
      out << std::fixed << std::left << std::setw(7) << r.batch << std::right << std::setw(12)
          << std::setprecision(1) << r.images_per_second << std::setw(12) << std::setprecision(3)
          << r.latency_ms_median << std::setw(10) << r.latency_ms_p90 << std::setw(8)
          << r.iterations << "\n";
    }
  }
  if (options.json) out << rows.dump() << "\n";
  return Status::Ok();
}

}  // namespace

int BenchMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  BenchCommandOptions o;
  std::string batches = "1,16";
  po::options_description desc("mixq bench: latency and throughput");
  desc.add_options()("model", po::value<std::string>(&o.model)->required(), "ONNX model file")(
      "batch", po::value<std::string>(&batches)->default_value("1,16"),
      "comma-separated batch sizes")("warmup", IntegerFlag("warmup", &o.warmup, 0, kMaxRuns),
                                     "untimed runs per batch size")(
      "min-iterations", IntegerFlag("min-iterations", &o.min_iterations, 1, kMaxRuns),
      "timed runs per batch size, at least")(
      "min-seconds", RealFlag("min-seconds", &o.min_seconds, 0.0, kMaxTimedSeconds),
      "timed seconds per batch size, at least")("json", po::bool_switch(&o.json),
                                                "print a JSON list, one object per batch");
  AddEngineOptions(&desc, &o.engine);
  AddQuantOptions(&desc, &o.quant);
  AddInputShapeOption(&desc, &o.input_shapes);
  po::variables_map values;
  if (!ParseCommandLine("bench", desc, args, out, {}, &values)) return 0;
  o.batches = ParseIntList(batches, "--batch", 1, kMaxBatch);
  o.batches_given = OptionGiven(values, "batch");
  return ExitCode("bench", RunBench(o, out), err);
}

}  // namespace mixq
