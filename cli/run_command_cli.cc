#include "cli/run_command_cli.h"

#include <boost/program_options.hpp>
#include <iostream>

#include "cli/run_command.h"

namespace po = boost::program_options;

namespace mixq {

const char kRunCommandsUsage[] =
    "  run     run a job file on an embedded coordinator and local workers\n"
    "  submit  send a job file to a running coordinator\n"
    "  status  show a running coordinator and one of its jobs\n"
    "  cancel  cancel a job on a running coordinator\n";

namespace {

// False after printing help.
bool Parse(const std::string& command, po::options_description& desc,
           const po::positional_options_description& positional,
           const std::vector<std::string>& args) {
  desc.add_options()("help,h", "show this help");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: mixq " << command << " [options]\n" << desc;
    return false;
  }
  po::notify(vm);
  return true;
}

int Finish(const std::string& command, const Status& status) {
  if (status.ok()) return 0;
  std::cerr << "mixq " << command << ": " << status.message() << "\n";
  return 1;
}

}  // namespace

std::optional<int> RunCoordinatorCommand(const std::string& command,
                                         const std::vector<std::string>& args) {
  po::positional_options_description positional;
  if (command == "run") {
    RunCommandOptions o;
    bool quiet = false;
    po::options_description desc("mixq run JOB.yaml: a job on this machine");
    desc.add_options()("job", po::value<std::string>(&o.job)->required(), "job YAML")(
        "workers", po::value<int>(&o.workers)->default_value(0),
        "local worker processes; 0 = max(1, cores/2)")(
        "db", po::value<std::string>(&o.db)->default_value("mixq.db"), "results database")(
        "threads", po::value<int>(&o.threads)->default_value(0),
        "oneDNN threads per worker; 0 = cores/workers")(
        "max-isa", po::value<std::string>(&o.max_isa),
        "cap oneDNN's ISA in every worker; a list (avx2,avx,sse41) starts --workers workers "
        "per ISA, one hardware class each")("quiet,q", po::bool_switch(&quiet),
                                            "no progress on stderr");
    positional.add("job", 1);
    if (!Parse(command, desc, positional, args)) return 0;
    o.progress = !quiet;
    return Finish(command, RunJobCommand(o, std::cout));
  }
  if (command == "submit" || command == "status" || command == "cancel") {
    ClientCommandOptions o;
    po::options_description desc("mixq " + command + ": talk to a running coordinator");
    desc.add_options()("coordinator",
                       po::value<std::string>(&o.coordinator)->default_value(o.coordinator),
                       "coordinator endpoint")(
        "timeout-ms", po::value<int>(&o.timeout_ms)->default_value(10000), "reply timeout");
    if (command == "submit") {
      desc.add_options()("job", po::value<std::string>(&o.job)->required(), "job YAML")(
          "wait", po::bool_switch(&o.wait), "wait for the job and print its result");
      positional.add("job", 1);
    } else {
      desc.add_options()("job-id", po::value<int64_t>(&o.job_id)->default_value(0),
                         "job id (status: 0 = coordinator only)");
      positional.add("job-id", 1);
    }
    if (!Parse(command, desc, positional, args)) return 0;
    if (command == "submit") return Finish(command, SubmitCommand(o, std::cout));
    if (command == "status") return Finish(command, StatusCommand(o, std::cout));
    return Finish(command, CancelCommand(o, std::cout));
  }
  return std::nullopt;
}

}  // namespace mixq
