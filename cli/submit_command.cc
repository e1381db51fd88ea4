// `mixq submit JOB.yaml`: sends a job file to a running coordinator and, with
// --wait, follows it to its end (a search job's progress lines as they come)
// and prints its result.
#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/job_client.h"
#include "coordinator/coordinator_client.h"
#include "coordinator/job_spec.h"

namespace mixq {
namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;
using std::chrono::milliseconds;

struct SubmitCommandOptions {
  CoordinatorAddress address;
  std::string job;    // job YAML (schemas/job.md)
  bool wait = false;  // wait for the job and print its result
};

Status Submit(const SubmitCommandOptions& options, std::ostream& out) {
  MIXQ_ASSIGN_OR_RETURN(JobSpec job, LoadJobSpec(options.job));
  MIXQ_ASSIGN_OR_RETURN(std::string yaml, ReadJobFile(options.job));
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<CoordinatorClient> connected,
                        ConnectClient(options.address));
  CoordinatorClient& client = *connected;
  const std::string base = fs::absolute(options.job).parent_path().string();
  MIXQ_ASSIGN_OR_RETURN(proto::SubmitReply reply,
                        client.Submit(yaml, base, milliseconds(options.address.timeout_ms)));
  if (!reply.error().empty()) return InvalidArgument(reply.error());
  if (job.kind == "search") {
    out << "job " << reply.job_id()
        << ": search job; its driver runs on the coordinator (follow it with `mixq status "
        << reply.job_id() << "`)\n";
  } else {
    out << "job " << reply.job_id() << ": " << reply.tasks_total() << " task(s), "
        << reply.tasks_planned() << " to run\n";
  }
  if (!options.wait) return Status::Ok();
  MIXQ_ASSIGN_OR_RETURN(proto::StatusReply status,
                        WaitForJob(&client, reply.job_id(), true, [] { return Status::Ok(); }));
  PrintResult(status, out);
  // A script that waits must be able to tell a failed or cancelled job from
  // a finished one by the exit code alone.
  if (status.state() != "done") {
    return Internal("job " + std::to_string(reply.job_id()) + " ended " + status.state());
  }
  return Status::Ok();
}

}  // namespace

int SubmitMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  SubmitCommandOptions o;
  po::options_description desc("mixq submit: talk to a running coordinator");
  AddCoordinatorOptions(&desc, &o.address);
  desc.add_options()("job", po::value<std::string>(&o.job)->required(), "job YAML")(
      "wait", po::bool_switch(&o.wait), "wait for the job and print its result");
  po::positional_options_description positional;
  positional.add("job", 1);
  if (!ParseCommandLine("submit", desc, args, out, positional)) return 0;
  return ExitCode("submit", Submit(o, out), err);
}

}  // namespace mixq
