// `mixq export`: writes a model and a precision config as a standard QDQ ONNX
// model (engine/onnx/qdq_export.h) that ONNX Runtime and mixq itself can run.
// The config (a file, or the shorthand int8 / fp32) is checked against the
// model like every other command's; the calibration file gives the
// activation scales.
#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/engine_options.h"
#include "cli/input_shape_option.h"
#include "common/precision_config.h"
#include "common/sha256.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/onnx/qdq_export.h"
#include "engine/quant/calibration_file.h"
#include "engine/runtime/isa.h"

namespace mixq {
namespace {

namespace po = boost::program_options;

struct ExportCommandOptions {
  std::string model;               // .onnx path
  std::string config;              // config JSON path, or "int8" / "fp32"
  std::string calibration;         // calibration JSON (calibration_file.h)
  std::string output;              // the QDQ .onnx to write
  std::string seven_bit = "none";  // none | first | all
  InputShapes input_shapes;        // --input-shape: for the export's shape work only
};

// The config's JSON text: the shorthand word itself, or the file's contents.
StatusOr<std::string> ConfigText(const std::string& config) {
  if (config == "int8" || config == "fp32" || config == "bf16") return config;
  std::ifstream in(config);
  if (!in) return NotFound(config + ": cannot open the config file");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Writes the QDQ model and one summary line to `out`.
Status RunExport(const ExportCommandOptions& options, std::ostream& out) {
  MIXQ_ASSIGN_OR_RETURN(SevenBitWeights seven_bit, ParseSevenBitWeights(options.seven_bit));
  MIXQ_ASSIGN_OR_RETURN(Graph graph, ImportOnnx(options.model));
  MIXQ_ASSIGN_OR_RETURN(const InputShapes input_shapes,
                        ApplyInputShapes(options.input_shapes, {}, &graph));
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
  export_options.input_shapes = input_shapes;
  MIXQ_RETURN_IF_ERROR(
      ExportQdqFile(options.model, *config, calibration, export_options, options.output));
  out << "wrote " << options.output << ": " << config->Count(Precision::kInt8) << " of "
      << config->layers.size() << " layers int8 (QDQ, per-channel weights, 7-bit weights "
      << SevenBitWeightsName(seven_bit) << ")\n";
  return Status::Ok();
}

}  // namespace

int ExportMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ExportCommandOptions o;
  std::string max_isa;
  po::options_description desc("mixq export: a precision config as a QDQ ONNX model");
  desc.add_options()("model", po::value<std::string>(&o.model)->required(), "ONNX model file")(
      "config", po::value<std::string>(&o.config)->required()->notifier(CheckConfigArgument),
      "precision config JSON, or int8 / fp32 for every layer")(
      "calibration", po::value<std::string>(&o.calibration)->required(),
      "calibration JSON (mixq calibrate)")(
      "output,o", po::value<std::string>(&o.output)->required(), "QDQ ONNX file to write")(
      "seven-bit", po::value<std::string>(&o.seven_bit)->default_value("none"),
      "7-bit weights: none | first | all")(
      "max-isa", po::value<std::string>(&max_isa)->notifier(CheckIsaList),
      "cap oneDNN's ISA, as on every command (export itself runs no kernels)");
  AddInputShapeOption(&desc, &o.input_shapes, false);
  if (!ParseCommandLine("export", desc, args, out)) return 0;
  Status s = max_isa.empty() ? Status::Ok() : SetMaxIsa(max_isa);
  if (s.ok()) s = RunExport(o, out);
  return ExitCode("export", s, err);
}

}  // namespace mixq
