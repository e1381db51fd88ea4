// `mixq-coordinator`: the coordinator daemon. Options in, Coordinator::Run()
// until SIGINT/SIGTERM; errors end as one line and a non-zero exit. The
// daemon composes the coordinator core with the search jobs' driver
// (coordinator/job_driver.h).
#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "common/log.h"
#include "coordinator/coordinator.h"
#include "search/search_runner.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  mixq::CoordinatorOptions o;
  std::string log_level = "info";
  po::options_description desc("mixq-coordinator: schedules mixq tasks over ZeroMQ");
  desc.add_options()("help,h", "show this help")(
      "bind", po::value<std::string>(&o.bind)->default_value(o.bind), "ZeroMQ endpoint")(
      "key", po::value<std::string>(&o.key_file),
      "this coordinator's CURVE key pair (mixq keygen); a tcp:// endpoint needs it and --allow")(
      "allow", po::value<std::string>(&o.allow_file),
      "allow-list: lines 'worker|client|admin PUBLIC_KEY [NAME]' (schemas/keys.md)")(
      "insecure", po::bool_switch(&o.insecure),
      "serve plain TCP without keys: anyone who reaches the port may do anything")(
      "db", po::value<std::string>(&o.db)->default_value(o.db), "SQLite results database")(
      "heartbeat-ms", po::value<uint32_t>(&o.heartbeat_ms)->default_value(o.heartbeat_ms),
      "heartbeat interval")("liveness", po::value<uint32_t>(&o.liveness)->default_value(o.liveness),
                            "missed heartbeats before a worker is lost")(
      "lease-ms", po::value<uint32_t>(&o.lease_ms)->default_value(o.lease_ms),
      "time a worker has for one task")(
      "max-attempts", po::value<int>(&o.max_attempts)->default_value(o.max_attempts),
      "runs of a task before it fails for good")(
      "missing-class-grace-ms",
      po::value<uint32_t>(&o.missing_class_grace_ms)->default_value(o.missing_class_grace_ms),
      "a task for a hardware class no connected worker has fails after this long")(
      "flush-ms", po::value<uint32_t>(&o.flush_ms)->default_value(o.flush_ms),
      "longest wait of a result for its SQLite commit")(
      "max-message-bytes",
      po::value<size_t>(&o.max_message_bytes)->default_value(o.max_message_bytes),
      "larger messages are dropped and counted")(
      "max-workers", po::value<uint32_t>(&o.max_workers)->default_value(o.max_workers),
      "workers beyond this many are refused")(
      "hellos-per-minute",
      po::value<uint32_t>(&o.hellos_per_minute)->default_value(o.hellos_per_minute),
      "HELLOs one address may send per minute")(
      "status-page-bytes",
      po::value<size_t>(&o.status_page_bytes)->default_value(o.status_page_bytes),
      "STATUS_REPLY rows beyond this many bytes go to the next page")(
      "shared-timing", po::bool_switch(),
      "let benchmark and profile tasks run beside other tasks on the same host (default: "
      "alone, so workers sharing a machine do not skew each other's timings)")(
      "data-root", po::value<std::vector<std::string>>(&o.data_roots)->composing(),
      "a folder whose files jobs may read (repeatable; default: the working directory)")(
      "output-root", po::value<std::string>(&o.output_root),
      "the folder jobs may write outputs under (default: the folder of --db)")(
      "log-level", po::value<std::string>(&log_level)->default_value("info"),
      "trace|debug|info|warn|error|off");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::cout << desc;
      return 0;
    }
    po::notify(vm);
    o.exclusive_timing = !vm["shared-timing"].as<bool>();
  } catch (const po::error& e) {
    std::cerr << "mixq-coordinator: " << e.what() << "\n";
    return 2;
  }
  mixq::Status level = mixq::SetLogLevel(log_level);
  if (!level.ok()) {
    std::cerr << "mixq-coordinator: " << level.message() << "\n";
    return 2;
  }
  try {
    mixq::StatusOr<std::unique_ptr<mixq::Coordinator>> coordinator =
        mixq::Coordinator::Create(o, {mixq::SearchRunner::Make});
    if (!coordinator.ok()) {
      std::cerr << "mixq-coordinator: " << coordinator.status().message() << "\n";
      return 1;
    }
    mixq::Status s = (*coordinator)->Run();
    if (!s.ok()) {
      std::cerr << "mixq-coordinator: " << s.message() << "\n";
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "mixq-coordinator: internal error: " << e.what() << "\n";
    return 1;
  }
}
