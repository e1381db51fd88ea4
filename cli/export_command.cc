#include "cli/export_command.h"

#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <iterator>

#include "common/precision_config.h"
#include "common/sha256.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/onnx/qdq_export.h"
#include "engine/quant/calibration_file.h"
#include "engine/runtime/isa.h"

namespace mixq {
namespace {

// The config's JSON text: the shorthand word itself, or the file's contents.
StatusOr<std::string> ConfigText(const std::string& config) {
  if (config == "int8" || config == "fp32" || config == "bf16") return config;
  std::ifstream in(config);
  if (!in) return NotFound(config + ": cannot open the config file");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

Status RunExportCommand(const ExportCommandOptions& options, std::ostream& out) {
  MIXQ_ASSIGN_OR_RETURN(SevenBitWeights seven_bit, ParseSevenBitWeights(options.seven_bit));
  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(options.model));
  MIXQ_ASSIGN_OR_RETURN(std::string sha, Sha256File(options.model));
  MIXQ_ASSIGN_OR_RETURN(std::string text, ConfigText(options.config));
  auto config = ParsePrecisionConfig(text, graph.QuantizableLayers(), sha);
  if (!config.ok()) {
    return Status(config.status().code(), options.config + ": " + config.status().message());
  }
  MIXQ_ASSIGN_OR_RETURN(Calibration calibration, LoadCalibration(options.calibration));
  if (!calibration.model_sha256.empty() && calibration.model_sha256 != sha) {
    return InvalidArgument(options.calibration + ": the calibration was made for another model (" +
                           calibration.model_sha256 + ", " + options.model + " is " + sha + ")");
  }
  QdqExportOptions export_options;
  export_options.seven_bit = seven_bit;
  MIXQ_RETURN_IF_ERROR(
      ExportQdqFile(options.model, *config, calibration, export_options, options.output));
  out << "wrote " << options.output << ": " << config->Count(Precision::kInt8) << " of "
      << config->layers.size() << " layers int8 (QDQ, per-channel weights, 7-bit weights "
      << SevenBitWeightsName(seven_bit) << ")\n";
  return Status::Ok();
}

int ExportMain(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  ExportCommandOptions o;
  std::string max_isa;
  po::options_description desc("mixq export: a precision config as a QDQ ONNX model");
  desc.add_options()("model", po::value<std::string>(&o.model)->required(), "ONNX model file")(
      "config", po::value<std::string>(&o.config)->required(),
      "precision config JSON, or int8 / fp32 for every layer")(
      "calibration", po::value<std::string>(&o.calibration)->required(),
      "calibration JSON (mixq calibrate)")(
      "output,o", po::value<std::string>(&o.output)->required(), "QDQ ONNX file to write")(
      "seven-bit", po::value<std::string>(&o.seven_bit)->default_value("none"),
      "7-bit weights: none | first | all")(
      "max-isa", po::value<std::string>(&max_isa),
      "cap oneDNN's ISA, as on every command (export itself runs no kernels)")("help,h",
                                                                               "show this help");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: mixq export [options]\n" << desc;
    return 0;
  }
  po::notify(vm);
  Status s = max_isa.empty() ? Status::Ok() : SetMaxIsa(max_isa);
  if (s.ok()) s = RunExportCommand(o, std::cout);
  if (s.ok()) return 0;
  std::cerr << "mixq export: " << s.message() << "\n";
  return 1;
}

}  // namespace mixq
