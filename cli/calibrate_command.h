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
#include "common/input_shapes.h"
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
  bool batch_given = false;  // --batch given: it must agree with input_shapes' batch
  // --input-shape (cli/input_shape_option.h), over `job_input_shapes` (a
  // compare job's input_shape for this model, from `job_file`), over the
  // dataset file's. --input-shape's shapes that do not fit the model throw
  // boost::program_options::error; the files' are an InvalidArgument.
  InputShapes input_shapes;
  InputShapes job_input_shapes;
  std::string job_file;
  bool json = false;
  bool progress = true;
  EngineOptions engine;
};

Status RunCalibrateCommand(const CalibrateCommandOptions& options, std::ostream& out);

}  // namespace mixq

#endif  // MIXQ_CLI_CALIBRATE_COMMAND_H_
