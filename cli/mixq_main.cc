// `mixq`: the command line. Parses each command's options with
// Boost.Program_options into its options struct and runs it; every error
// ends as one line on stderr and a non-zero exit (1: the work failed,
// 2: the command line was wrong).
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/calibrate_command.h"
#include "cli/engine_commands.h"
#include "cli/export_command.h"
#include "cli/profile_command.h"
#include "cli/query_cli.h"
#include "cli/run_command_cli.h"
#include "cli/search_command.h"

namespace po = boost::program_options;

namespace {

const char kUsage[] =
    "mixq - fastest per-layer FP32/INT8 mix of a neural network within an accuracy budget\n"
    "\n"
    "usage: mixq <command> [options]      (mixq <command> --help for its options)\n"
    "\n"
    "commands:\n"
    "  eval    accuracy (top-1, top-5) of an ONNX model on a labelled dataset\n"
    "  bench   latency and throughput of an ONNX model per batch size\n"
    "  calibrate  INT8 activation scales from FP32 runs on a dataset slice\n"
    "  profile per-layer FP32 and INT8 times\n"
    "  export  a precision config and calibration as a QDQ ONNX model\n"
    "  search  the fastest FP32/INT8 config within an accuracy budget, on this machine\n"
    "  version print the version\n";

// The run/submit/status/cancel and query modules own their usage lines.
void PrintUsage(std::ostream& out) {
  out << kUsage << mixq::kRunCommandsUsage << mixq::kQueryCommandsUsage;
}

std::vector<int64_t> ParseIntList(const std::string& text, const std::string& flag) {
  std::vector<int64_t> values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      long long v = std::stoll(item, &used);
      if (used != item.size() || v <= 0) throw std::invalid_argument(item);
      values.push_back(v);
    } catch (const std::exception&) {
      throw po::error(flag + ": '" + item + "' is not a positive integer");
    }
  }
  if (values.empty()) throw po::error(flag + " needs at least one value");
  return values;
}

void AddEngineOptions(po::options_description* desc, mixq::EngineOptions* engine) {
  desc->add_options()("threads", po::value<int>(&engine->threads)->default_value(0),
                      "oneDNN (OpenMP) threads; 0 = OpenMP's default, one per logical CPU")(
      "max-isa", po::value<std::string>(&engine->max_isa),
      "cap oneDNN's ISA: sse41|avx|avx2|avx2_vnni|avx512_core|avx512_core_vnni|"
      "avx512_core_bf16|avx512_core_amx")(
      "winograd",
      po::value<std::string>()->default_value("on")->notifier([engine](const std::string& v) {
        if (v != "on" && v != "off") throw po::error("--winograd: '" + v + "' is not on or off");
        engine->winograd = v == "on";
      }),
      "FP32 3x3 stride-1 convolutions by mixq's Winograd F(4x4,3x3) kernel where it applies: "
      "on|off (off: oneDNN's direct convolution)");
}

void AddQuantOptions(po::options_description* desc, mixq::QuantArgs* quant) {
  desc->add_options()("config", po::value<std::string>(&quant->config),
                      "precision config: a JSON file, or int8 / fp32 for every layer")(
      "calibration", po::value<std::string>(&quant->calibration),
      "calibration file from mixq calibrate (needed for INT8 layers)")(
      "seven-bit", po::value<std::string>(&quant->seven_bit)->default_value("none"),
      "7-bit weights for non-VNNI CPUs: none|first|all");
}

// Parses `args` against `desc`; returns false after printing help.
bool Parse(const std::string& command, po::options_description& desc,
           const std::vector<std::string>& args) {
  desc.add_options()("help,h", "show this help");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: mixq " << command << " [options]\n" << desc;
    return false;
  }
  po::notify(vm);
  return true;
}

int Fail(const std::string& command, const mixq::Status& status) {
  std::cerr << "mixq " << command << ": " << status.message() << "\n";
  return 1;
}

int Eval(const std::vector<std::string>& args) {
  mixq::EvalCommandOptions o;
  bool quiet = false;
  po::options_description desc("mixq eval: accuracy of a model on a dataset");
  desc.add_options()("model", po::value<std::string>(&o.model)->required(), "ONNX model file")(
      "dataset", po::value<std::string>(&o.dataset)->required(),
      "dataset YAML (schemas/dataset.md)")(
      "batch", po::value<int64_t>(&o.batch)->default_value(100), "samples per forward pass")(
      "begin", po::value<int64_t>(&o.begin)->default_value(0), "first sample")(
      "count", po::value<int64_t>(&o.count)->default_value(-1), "samples to evaluate; -1 = all")(
      "json", po::bool_switch(&o.json), "print one JSON object")("quiet,q", po::bool_switch(&quiet),
                                                                 "no progress on stderr");
  AddEngineOptions(&desc, &o.engine);
  AddQuantOptions(&desc, &o.quant);
  if (!Parse("eval", desc, args)) return 0;
  o.progress = !quiet;
  mixq::Status s = mixq::RunEvalCommand(o, std::cout);
  return s.ok() ? 0 : Fail("eval", s);
}

int Bench(const std::vector<std::string>& args) {
  mixq::BenchCommandOptions o;
  std::string batches = "1,16";
  po::options_description desc("mixq bench: latency and throughput");
  desc.add_options()("model", po::value<std::string>(&o.model)->required(), "ONNX model file")(
      "batch", po::value<std::string>(&batches)->default_value("1,16"),
      "comma-separated batch sizes")("warmup", po::value<int>(&o.warmup)->default_value(3),
                                     "untimed runs per batch size")(
      "min-iterations", po::value<int>(&o.min_iterations)->default_value(10),
      "timed runs per batch size, at least")("min-seconds",
                                             po::value<double>(&o.min_seconds)->default_value(2.0),
                                             "timed seconds per batch size, at least")(
      "json", po::bool_switch(&o.json), "print a JSON list, one object per batch");
  AddEngineOptions(&desc, &o.engine);
  AddQuantOptions(&desc, &o.quant);
  if (!Parse("bench", desc, args)) return 0;
  o.batches = ParseIntList(batches, "--batch");
  mixq::Status s = mixq::RunBenchCommand(o, std::cout);
  return s.ok() ? 0 : Fail("bench", s);
}

int Calibrate(const std::vector<std::string>& args) {
  mixq::CalibrateCommandOptions o;
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
                                  po::value<double>(&o.percentile)->default_value(99.99),
                                  "for --method percentile")(
      "samples", po::value<int64_t>(&o.samples)->default_value(300), "calibration samples")(
      "begin", po::value<int64_t>(&o.begin)->default_value(0), "first sample")(
      "batch", po::value<int64_t>(&o.batch)->default_value(100), "samples per forward pass")(
      "json", po::bool_switch(&o.json), "print one JSON object")("quiet,q", po::bool_switch(&quiet),
                                                                 "no progress on stderr");
  AddEngineOptions(&desc, &o.engine);
  if (!Parse("calibrate", desc, args)) return 0;
  o.progress = !quiet;
  mixq::Status s = mixq::RunCalibrateCommand(o, std::cout);
  return s.ok() ? 0 : Fail("calibrate", s);
}

std::vector<double> ParseDoubleList(const std::string& text, const std::string& flag) {
  std::vector<double> values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const double v = std::stod(item, &used);
      if (used != item.size() || !(v >= 0.0)) throw std::invalid_argument(item);
      values.push_back(v);
    } catch (const std::exception&) {
      throw po::error(flag + ": '" + item + "' is not a number >= 0");
    }
  }
  if (values.empty()) throw po::error(flag + " needs at least one value");
  return values;
}

int Search(const std::vector<std::string>& args) {
  mixq::SearchCommandOptions o;
  std::string budgets = "1.0";
  po::options_description desc(
      "mixq search: the fastest FP32/INT8 config within an accuracy budget, on this machine");
  desc.add_options()("model", po::value<std::string>(&o.model)->required(), "ONNX model file")(
      "dataset", po::value<std::string>(&o.dataset)->required(), "evaluation dataset YAML")(
      "count", po::value<int64_t>(&o.eval_count)->default_value(-1),
      "evaluation samples (-1 = all)")("calibration-dataset",
                                       po::value<std::string>(&o.calibration_dataset),
                                       "dataset YAML to calibrate on (disjoint from evaluation)")(
      "calibration-samples", po::value<int64_t>(&o.calibration_samples)->default_value(300),
      "calibration samples")("method", po::value<std::string>(&o.method)->default_value("minmax"),
                             "scale method: minmax|percentile|kl|mse")(
      "calibration", po::value<std::string>(&o.calibration),
      "an existing calibration file instead of --calibration-dataset")(
      "ranking-samples", po::value<int64_t>(&o.ranking_samples)->default_value(300),
      "samples of the ranking subset (the first of the evaluation set)")(
      "metric", po::value<std::string>(&o.metric)->default_value("top1"), "top1|top5")(
      "budget", po::value<std::string>(&budgets)->default_value("1.0"),
      "max accuracy drop in points; a list (0.1,0.3,1) = pareto")(
      "objective", po::value<std::string>(&o.objective)->default_value("throughput"),
      "throughput (at --batch) | latency (batch 1)")(
      "batch", po::value<int64_t>(&o.batch)->default_value(16), "batch for throughput")(
      "strategy", po::value<std::string>(&o.strategy)->default_value("speed_aware"),
      "speed_aware|accuracy_aware|exhaustive")(
      "max-full-evaluations", po::value<int>(&o.max_full_evaluations)->default_value(40),
      "limit on full evaluations (FP32 and all-INT8 included)")(
      "parallel", po::value<int>(&o.parallel)->default_value(1),
      "speed_aware: configs verified per round")(
      "min-gain", po::value<double>(&o.min_gain)->default_value(0.05),
      "speed_aware: verify a config only if predicted this fraction faster than the best "
      "verified")("confirm-rounds", po::value<int>(&o.confirm_rounds)->default_value(3),
                  "head-to-head rounds at the end: the answer, its close rivals, FP32 and "
                  "all-INT8 benchmarked again together (0 = none)")(
      "reference-int8", po::bool_switch(&o.reference_int8),
      "speed_aware: evaluate all-INT8 in full even when not needed (for the summary)")(
      "output,o", po::value<std::string>(&o.output), "output folder (summary, config, QDQ)")(
      "json", po::bool_switch(&o.json), "print one JSON object");
  AddEngineOptions(&desc, &o.engine);
  if (!Parse("search", desc, args)) return 0;
  o.budgets = ParseDoubleList(budgets, "--budget");
  mixq::Status s = mixq::RunSearchCommand(o, std::cout);
  return s.ok() ? 0 : Fail("search", s);
}

int Profile(const std::vector<std::string>& args) {
  mixq::ProfileCommandOptions o;
  po::options_description desc("mixq profile: per-layer FP32 and INT8 times");
  desc.add_options()("model", po::value<std::string>(&o.model)->required(), "ONNX model file")(
      "batch", po::value<int64_t>(&o.batch)->default_value(1), "batch size")(
      "runs", po::value<int>(&o.runs)->default_value(20), "timed runs per model (medians)")(
      "warmup", po::value<int>(&o.warmup)->default_value(3), "untimed runs per model")(
      "json", po::bool_switch(&o.json), "print one JSON object");
  AddEngineOptions(&desc, &o.engine);
  AddQuantOptions(&desc, &o.quant);
  if (!Parse("profile", desc, args)) return 0;
  mixq::Status s = mixq::RunProfileCommand(o, std::cout);
  return s.ok() ? 0 : Fail("profile", s);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(std::cerr);
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (command == "eval") return Eval(args);
    if (command == "bench") return Bench(args);
    if (command == "calibrate") return Calibrate(args);
    if (command == "profile") return Profile(args);
    if (command == "export") return mixq::ExportMain(args);
    if (command == "search") return Search(args);
    if (auto code = mixq::RunCoordinatorCommand(command, args)) return *code;
    if (auto code = mixq::RunQueryCommand(command, args, std::cout, std::cerr)) return *code;
    if (command == "version" || command == "--version") {
      std::cout << "mixq " << MIXQ_VERSION << "\n";
      return 0;
    }
    if (command == "help" || command == "--help" || command == "-h") {
      PrintUsage(std::cout);
      return 0;
    }
    std::cerr << "mixq: unknown command '" << command << "'\n\n";
    PrintUsage(std::cerr);
    return 2;
  } catch (const po::error& e) {
    std::cerr << "mixq " << command << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "mixq " << command << ": internal error: " << e.what() << "\n";
    return 1;
  }
}
