// `mixq-worker`: the worker daemon. Options in, RunWorker() until a signal;
// a refusal or error ends as one line on stderr and a non-zero exit.
#include <boost/program_options.hpp>
#include <iostream>

#include "common/hardware_info.h"
#include "common/log.h"
#include "common/number_flag.h"
#include "engine/runtime/isa.h"
#include "worker/worker_daemon.h"

namespace po = boost::program_options;

namespace {

// An unknown --max-isa is a usage error before the worker connects.
void CheckIsa(const std::string& name) {
  const mixq::Status known = mixq::CheckIsaName(name);
  if (!known.ok()) throw po::error("--max-isa: " + known.message());
}

}  // namespace

int main(int argc, char** argv) {
  mixq::WorkerOptions o;
  std::string log_level = "info";
  bool no_local_paths = false;
  po::options_description desc("mixq-worker: runs mixq tasks for a coordinator");
  desc.add_options()("help,h", "show this help")(
      "connect", po::value<std::string>(&o.connect)->default_value(o.connect),
      "coordinator endpoint")("key", po::value<std::string>(&o.keys.key),
                              "this worker's CURVE key pair (mixq keygen; default $MIXQ_KEY)")(
      "coordinator-key", po::value<std::string>(&o.keys.coordinator_key),
      "the coordinator's public key file (default $MIXQ_COORDINATOR_KEY)")(
      "insecure", po::bool_switch(&o.keys.insecure),
      "plain TCP without keys, to a coordinator run --insecure")(
      "threads", mixq::IntegerFlag("threads", &o.threads, 0, mixq::kMaxThreads),
      "oneDNN threads; 0 = every usable core")(
      "max-isa", po::value<std::string>(&o.max_isa)->notifier(CheckIsa),
      "cap oneDNN's ISA (a different hardware class)")(
      "cache", po::value<std::string>(&o.cache), "blob cache folder (default $TMPDIR/mixq-cache)")(
      "no-local-paths", po::bool_switch(&no_local_paths),
      "always fetch blobs from the coordinator, even if the same file is here")(
      "log-level", po::value<std::string>(&log_level)->default_value("info"),
      "trace|debug|info|warn|error|off");
  po::options_description hidden("testing");
  hidden.add_options()("protocol-version",
                       mixq::IntegerFlag("protocol-version", &o.protocol_version, 0, 1000000),
                       "pretend to speak another protocol version")(
      "task-delay-ms", mixq::IntegerFlag("task-delay-ms", &o.task_delay_ms, 0, 3600 * 1000),
      "sleep before each task");
  po::options_description all;
  all.add(desc).add(hidden);
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, all), vm);
    if (vm.count("help")) {
      std::cout << desc;
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "mixq-worker: " << e.what() << "\n";
    return 2;
  }
  o.use_local_paths = !no_local_paths;
  mixq::KeyFilesFromEnvironment(&o.keys);
  mixq::Status level = mixq::SetLogLevel(log_level);
  if (!level.ok()) {
    std::cerr << "mixq-worker: " << level.message() << "\n";
    return 2;
  }
  try {
    mixq::Status s = mixq::RunWorker(o);
    if (!s.ok()) {
      std::cerr << "mixq-worker: " << s.message() << "\n";
      return s.code() == mixq::StatusCode::kFailedPrecondition ? 3 : 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "mixq-worker: internal error: " << e.what() << "\n";
    return 1;
  }
}
