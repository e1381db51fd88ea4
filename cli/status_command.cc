// `mixq status [JOB]`: a running coordinator's workers and malformed-message
// counts, and one job's state, results and latest search log lines.
#include <chrono>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/job_client.h"
#include "coordinator/coordinator_client.h"

namespace mixq {
namespace {

using std::chrono::milliseconds;

Status ShowStatus(const CoordinatorAddress& address, int64_t job_id, std::ostream& out) {
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<CoordinatorClient> connected, ConnectClient(address));
  CoordinatorClient& client = *connected;
  MIXQ_ASSIGN_OR_RETURN(proto::StatusReply reply,
                        client.GetStatus(job_id, milliseconds(address.timeout_ms)));
  if (!reply.error().empty()) return Internal(reply.error());
  out << "coordinator " << address.coordinator << ": " << reply.workers() << " worker(s)";
  for (const auto& [kind, n] : reply.malformed()) out << ", " << n << " malformed (" << kind << ")";
  out << "\n";
  // A long search's log is shown by its latest lines: where it stands.
  if (job_id > 0) PrintResult(reply, out, 12);
  return Status::Ok();
}

}  // namespace

int StatusMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CoordinatorAddress address;
  int64_t job_id = 0;
  if (!ParseJobCommandLine("status", args, out, &address, &job_id,
                           "job id (status: 0 = coordinator only)"))
    return 0;
  return ExitCode("status", ShowStatus(address, job_id, out), err);
}

}  // namespace mixq
