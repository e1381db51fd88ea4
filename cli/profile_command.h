// `mixq profile`: where the time of one forward pass goes, per quantizable
// layer, FP32 against the given config (all INT8 when none is given), as a
// table or JSON. The measurement is engine/runtime/layer_profile.h's ProfileLayers();
// the sum of the groups is compared with the median of plain Run()s.
#ifndef MIXQ_CLI_PROFILE_COMMAND_H_
#define MIXQ_CLI_PROFILE_COMMAND_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "cli/engine_commands.h"
#include "cli/quant_setup.h"
#include "common/status.h"

namespace mixq {

struct ProfileCommandOptions {
  std::string model;
  int64_t batch = 1;
  int warmup = 3;  // untimed runs per model
  int runs = 20;   // profiled runs and plain runs per model; medians are reported
  bool json = false;
  EngineOptions engine;
  QuantArgs quant;  // config "" = all INT8; no calibration = synthetic scales
};

Status RunProfileCommand(const ProfileCommandOptions& options, std::ostream& out);

}  // namespace mixq

#endif  // MIXQ_CLI_PROFILE_COMMAND_H_
