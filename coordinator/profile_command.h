// `mixq profile`: where the time of one forward pass goes, per quantizable
// layer. It compiles the model twice - all FP32, and the given config (all
// INT8 when none is given) - times every primitive with RunProfiled() over
// several runs (median per step) and groups the steps by layer: a layer's
// group is its own primitive and every step after it up to the next
// quantizable layer (the ops that follow it: pooling, adds, reorders).
// Reorders in the config's model are reported apart: with mixed precision
// they are the cost of the FP32<->INT8 boundaries. The sum of the groups is
// compared with the median of plain Run()s of the same model.
#ifndef MIXQ_COORDINATOR_PROFILE_COMMAND_H_
#define MIXQ_COORDINATOR_PROFILE_COMMAND_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "common/status.h"
#include "coordinator/engine_commands.h"
#include "coordinator/quant_setup.h"

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

#endif  // MIXQ_COORDINATOR_PROFILE_COMMAND_H_
