// `mixq cancel JOB`: cancels a running job on a coordinator.
#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/job_client.h"
#include "coordinator/coordinator_client.h"

namespace mixq {
namespace {

namespace po = boost::program_options;
using std::chrono::milliseconds;

Status CancelJob(const CoordinatorAddress& address, int64_t job_id, std::ostream& out) {
  CoordinatorClient client(address.coordinator);
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
  po::options_description desc("mixq cancel: talk to a running coordinator");
  AddCoordinatorOptions(&desc, &address);
  desc.add_options()("job-id", po::value<int64_t>(&job_id)->default_value(0), "job id");
  po::positional_options_description positional;
  positional.add("job-id", 1);
  if (!ParseCommandLine("cancel", desc, args, out, positional)) return 0;
  return ExitCode("cancel", CancelJob(address, job_id, out), err);
}

}  // namespace mixq
