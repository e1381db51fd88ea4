// `mixq export`: writes a model and a precision config as a standard QDQ ONNX
// model (engine/onnx/qdq_export.h) that ONNX Runtime and mixq itself can run. The
// config (a file, or the shorthand int8 / fp32) is checked against the model
// like every other command's; the calibration file gives the activation
// scales.
#ifndef MIXQ_CLI_EXPORT_COMMAND_H_
#define MIXQ_CLI_EXPORT_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"

namespace mixq {

struct ExportCommandOptions {
  std::string model;               // .onnx path
  std::string config;              // config JSON path, or "int8" / "fp32"
  std::string calibration;         // calibration JSON (calibration_file.h)
  std::string output;              // the QDQ .onnx to write
  std::string seven_bit = "none";  // none | first | all
};

// Writes the QDQ model and one summary line to `out`.
Status RunExportCommand(const ExportCommandOptions& options, std::ostream& out);

// `mixq export ARGS...`: parses the command line (throws
// boost::program_options::error on a malformed one, as mixq_main expects)
// and returns the exit code: 0, or 1 after printing the error as one line.
int ExportMain(const std::vector<std::string>& args);

}  // namespace mixq

#endif  // MIXQ_CLI_EXPORT_COMMAND_H_
