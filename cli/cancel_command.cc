// `mixq cancel JOB`: cancels a running job on a coordinator.
#include <chrono>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/job_client.h"
#include "coordinator/coordinator_client.h"

namespace mixq {
namespace {

using std::chrono::milliseconds;

Status CancelJob(const CoordinatorAddress& address, int64_t job_id, std::ostream& out) {
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<CoordinatorClient> connected, ConnectClient(address));
  CoordinatorClient& client = *connected;
  MIXQ_ASSIGN_OR_RETURN(proto::CancelReply reply,
                        client.Cancel(job_id, milliseconds(address.timeout_ms)));
  if (!reply.error().empty()) return FailedPrecondition(reply.error());
  out << "job " << job_id << " cancelled\n";
  return Status::Ok();
}

}  // namespace

int CancelMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CoordinatorAddress address;
  int64_t job_id = 0;
  if (!ParseJobCommandLine("cancel", args, out, &address, &job_id, "job id")) return 0;
  return ExitCode("cancel", CancelJob(address, job_id, out), err);
}

}  // namespace mixq
