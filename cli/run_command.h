// The `mixq` commands that use a coordinator: `run` (an embedded coordinator
// and local worker processes for one job), `submit`, `status` and `cancel`
// (clients of a running one). Progress goes to stderr, results to `out`.
#ifndef MIXQ_CLI_RUN_COMMAND_H_
#define MIXQ_CLI_RUN_COMMAND_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "common/status.h"

namespace mixq {

struct RunCommandOptions {
  std::string job;  // job YAML (schemas/job.md)
  int workers = 0;  // local worker processes; 0 = max(1, cores / 2)
  std::string db = "mixq.db";
  int threads = 0;      // oneDNN threads per worker; 0 = cores / workers
  std::string max_isa;  // passed to every worker
  bool progress = true;
};

struct ClientCommandOptions {
  std::string coordinator = "tcp://localhost:5555";
  std::string job;     // submit: job YAML
  int64_t job_id = 0;  // status, cancel
  bool wait = false;   // submit: wait for the job and print its result
  int timeout_ms = 10000;
};

Status RunJobCommand(const RunCommandOptions& options, std::ostream& out);
Status SubmitCommand(const ClientCommandOptions& options, std::ostream& out);
Status StatusCommand(const ClientCommandOptions& options, std::ostream& out);
Status CancelCommand(const ClientCommandOptions& options, std::ostream& out);

}  // namespace mixq

#endif  // MIXQ_CLI_RUN_COMMAND_H_
