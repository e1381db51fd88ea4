// The options of the sub-commands that run the engine in this process (eval,
// bench, calibrate, profile, search): oneDNN's threads and ISA cap and the
// Winograd switch, and, for eval, bench and profile, the precision config.
// --threads (0..kMaxThreads) and --max-isa's names are checked as they are
// parsed (a usage error);
// ApplyEngineOptions() caps the ISA, and every engine command calls it
// first, before any primitive exists (oneDNN takes an ISA cap only then;
// engine/runtime/isa.h).
#ifndef MIXQ_CLI_ENGINE_OPTIONS_H_
#define MIXQ_CLI_ENGINE_OPTIONS_H_

#include <boost/program_options.hpp>
#include <string>

#include "cli/quant_setup.h"
#include "common/status.h"

namespace mixq {

struct EngineOptions {
  int threads = 0;       // oneDNN threads; 0 = OpenMP default (all logical CPUs)
  std::string max_isa;   // cap oneDNN's ISA ("" = the CPU's own)
  bool winograd = true;  // ExecutorOptions::winograd: mixq's Winograd 3x3 convolutions
};

// --threads, --max-isa, --winograd on|off.
void AddEngineOptions(boost::program_options::options_description* desc, EngineOptions* engine);

// --max-isa's check: throws boost::program_options::error naming the first
// unknown ISA of `list` (one name, or several separated by commas).
void CheckIsaList(const std::string& list);

// --config's check: the shorthand bf16 names layers no kernel runs, so it
// is a usage error (a file named bf16 is a config file like any other;
// BF16 layers in a file are refused when it is read).
void CheckConfigArgument(const std::string& config);

// --config, --calibration, --seven-bit.
void AddQuantOptions(boost::program_options::options_description* desc, QuantArgs* quant);

// Caps oneDNN's ISA at --max-isa when one is given (InvalidArgument for an
// unknown name).
Status ApplyEngineOptions(const EngineOptions& engine);

}  // namespace mixq

#endif  // MIXQ_CLI_ENGINE_OPTIONS_H_
