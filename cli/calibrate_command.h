// `mixq calibrate` (CalibrateMain in commands.h): runs the two-pass
// calibration (engine/runtime/calibrator.h) of a model over a dataset slice
// in this process and writes
// the calibration file (calibration_file.h) that eval, bench, profile and
// export read. Progress goes to stderr; the summary (tensors, u8/s8 counts,
// time) to `out`, as a table or with --json one JSON object.
#ifndef MIXQ_CLI_CALIBRATE_COMMAND_H_
#define MIXQ_CLI_CALIBRATE_COMMAND_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "cli/engine_options.h"
#include "common/status.h"

namespace mixq {

struct CalibrateCommandOptions {
  std::string model;              // .onnx path
  std::string dataset;            // dataset YAML; use a slice disjoint from the evaluation set
  bool synthetic = false;         // instead of a dataset: fixed-seed random inputs (timing only)
  std::string output;             // calibration file to write
  std::string method = "minmax";  // minmax | percentile | kl | mse
  double percentile = 99.99;      // for percentile, in (0, 100]
  int64_t samples = 300;
  int64_t begin = 0;
  int64_t batch = 100;
  bool json = false;
  bool progress = true;
  EngineOptions engine;
};

Status RunCalibrateCommand(const CalibrateCommandOptions& options, std::ostream& out);

}  // namespace mixq

#endif  // MIXQ_CLI_CALIBRATE_COMMAND_H_
