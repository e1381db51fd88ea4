// The `mixq` commands that run the engine in this process: eval and bench.
// mixq_main.cc parses the command line into these option structs; each
// command writes its report (a table, or JSON with --json) to `out`, progress
// to stderr, and returns an error Status for the caller to print as one line.
#ifndef MIXQ_CLI_ENGINE_COMMANDS_H_
#define MIXQ_CLI_ENGINE_COMMANDS_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "cli/quant_setup.h"
#include "common/status.h"

namespace mixq {

struct EngineOptions {
  int threads = 0;       // oneDNN threads; 0 = OpenMP default (all logical CPUs)
  std::string max_isa;   // cap oneDNN's ISA ("" = the CPU's own)
  bool winograd = true;  // ExecutorOptions::winograd: mixq's Winograd 3x3 convolutions
};

struct EvalCommandOptions {
  std::string model;    // .onnx path
  std::string dataset;  // dataset YAML
  int64_t batch = 100;
  int64_t begin = 0;   // first sample
  int64_t count = -1;  // samples; -1 = all
  bool json = false;
  bool progress = true;  // progress lines on stderr
  EngineOptions engine;
  QuantArgs quant;  // INT8 layers need quant.calibration
};

struct BenchCommandOptions {
  std::string model;
  std::vector<int64_t> batches = {1, 16};
  int warmup = 3;
  int min_iterations = 10;
  double min_seconds = 2.0;
  bool json = false;
  EngineOptions engine;
  QuantArgs quant;  // INT8 without quant.calibration: synthetic scales, said so in the report
};

Status RunEvalCommand(const EvalCommandOptions& options, std::ostream& out);
Status RunBenchCommand(const BenchCommandOptions& options, std::ostream& out);

}  // namespace mixq

#endif  // MIXQ_CLI_ENGINE_COMMANDS_H_
