// `mixq search`: the accuracy-aware search on this machine, in this process
// (LocalBackend): calibrates, then runs a strategy for one budget or a list
// of budgets (pareto), printing each step, and writes the summary, the chosen
// config and its QDQ export to an output folder. The distributed form runs
// the same strategies through the coordinator (`mixq run`, kind: search).
#ifndef MIXQ_CLI_SEARCH_COMMAND_H_
#define MIXQ_CLI_SEARCH_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "cli/engine_commands.h"
#include "common/status.h"

namespace mixq {

struct SearchCommandOptions {
  std::string model;
  std::string calibration_dataset;  // dataset YAML for calibration (e.g. the training set)
  int64_t calibration_samples = 300;
  std::string method = "minmax";  // scale method
  std::string calibration;        // an existing calibration file instead of calibrating
  std::string dataset;            // evaluation dataset YAML
  int64_t eval_count = -1;        // samples of the evaluation set (-1 = all)
  int64_t ranking_samples = 300;
  std::string metric = "top1";           // top1 | top5
  std::vector<double> budgets = {1.0};   // absolute points; more than one = pareto
  std::string objective = "throughput";  // throughput (at --batch) | latency (batch 1)
  int64_t batch = 16;
  std::string strategy = "speed_aware";
  int max_full_evaluations = 40;
  int parallel = 1;
  bool reference_int8 = false;
  double min_gain = 0.05;
  int confirm_rounds = 3;
  std::string output;  // output folder ("" = none)
  bool json = false;
  EngineOptions engine;
};

Status RunSearchCommand(const SearchCommandOptions& options, std::ostream& out);

}  // namespace mixq

#endif  // MIXQ_CLI_SEARCH_COMMAND_H_
