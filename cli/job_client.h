// Following a job on a coordinator from the command line (mixq run, submit,
// status): waiting for its end with progress on stderr (tasks done, running,
// ETA, and a search job's progress lines as its driver writes them), and
// printing its result (state, failed tasks' errors, evaluations and
// benchmarks). Ctrl-C while a command waits ends the wait (InterruptScope).
#ifndef MIXQ_CLI_JOB_CLIENT_H_
#define MIXQ_CLI_JOB_CLIENT_H_

#include <boost/program_options.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/coordinator_client.h"
#include "schemas/mixq.pb.h"
#include "security/endpoint_security.h"

namespace mixq {

// Where a running coordinator is, for submit, status and cancel.
struct CoordinatorAddress {
  std::string coordinator = "tcp://localhost:5555";
  int timeout_ms = 10000;  // for each reply
  PeerKeyFiles keys;       // --key, --coordinator-key, --insecure
};

// A client of the coordinator at `address`, with the keys its options or
// $MIXQ_KEY / $MIXQ_COORDINATOR_KEY name; InvalidArgument when a tcp://
// endpoint has none and is not --insecure.
StatusOr<std::unique_ptr<CoordinatorClient>> ConnectClient(CoordinatorAddress address);

// The text of a job file (schemas/job.md); NotFound naming it when it
// cannot be opened.
StatusOr<std::string> ReadJobFile(const std::string& path);

// --coordinator, --timeout-ms, --key, --coordinator-key, --insecure.
void AddCoordinatorOptions(boost::program_options::options_description* desc,
                           CoordinatorAddress* address);

// The command line of a command about one job of a running coordinator
// (status, cancel): the coordinator options and the job id, also as the
// first positional argument (default 0; `job_id_help` says what 0 means).
// False after printing --help; throws boost::program_options::error like
// ParseCommandLine().
bool ParseJobCommandLine(const std::string& command, const std::vector<std::string>& args,
                         std::ostream& out, CoordinatorAddress* address, int64_t* job_id,
                         const std::string& job_id_help);

// While one exists, SIGINT and SIGTERM set a flag that WaitForJob() sees
// (it then returns Unavailable "interrupted"), instead of killing the
// process: a command that started processes stops them on its way out.
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  // True once a signal came while a scope existed.
  static bool Raised();
};

// Polls job `job_id` until it is no longer running and returns its last
// status. With `progress`, prints task counts and a search job's log lines
// on stderr as they come. `alive` is asked every round: an error (the
// coordinator or every worker of a local run has exited) ends the wait with
// that error.
StatusOr<proto::StatusReply> WaitForJob(CoordinatorClient* client, int64_t job_id, bool progress,
                                        const std::function<Status()>& alive);

// A job's state, task counts and errors, then its search log (all of it, or
// the last `search_lines` when not 0), evaluations and benchmarks.
void PrintResult(const proto::StatusReply& s, std::ostream& out, size_t search_lines = 0);

}  // namespace mixq

#endif  // MIXQ_CLI_JOB_CLIENT_H_
