// `mixq-coordinator`: the coordinator daemon. Options in, Coordinator::Run()
// until SIGINT/SIGTERM; errors end as one line and a non-zero exit. The
// daemon composes the coordinator core with the search jobs' driver
// (coordinator/job_driver.h).
#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/number_flag.h"
#include "coordinator/coordinator.h"
#include "search/search_runner.h"

namespace po = boost::program_options;

namespace {

constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kWeekMs = 7 * 24 * kHourMs;
// --max-message-bytes' largest: 1 GiB (the default is 16 MiB; blobs travel
// in 1 MiB chunks, so only a huge STATUS page needs more).
constexpr int64_t kMaxMessageBytesLimit = int64_t{1} << 30;

}  // namespace

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
      "heartbeat-ms", mixq::IntegerFlag("heartbeat-ms", &o.heartbeat_ms, 1, kHourMs),
      "heartbeat interval")("liveness", mixq::IntegerFlag("liveness", &o.liveness, 1, 1000),
                            "missed heartbeats before a worker is lost")(
      "lease-ms", mixq::IntegerFlag("lease-ms", &o.lease_ms, 1, kWeekMs),
      "time a worker has for one task")("max-attempts",
                                        mixq::IntegerFlag("max-attempts", &o.max_attempts, 1, 1000),
                                        "runs of a task before it fails for good")(
      "missing-class-grace-ms",
      mixq::IntegerFlag("missing-class-grace-ms", &o.missing_class_grace_ms, 0, kWeekMs),
      "a task for a hardware class no connected worker has fails after this long")(
      "flush-ms", mixq::IntegerFlag("flush-ms", &o.flush_ms, 0, 60000),
      "longest wait of a result for its SQLite commit")(
      "max-message-bytes",
      mixq::IntegerFlag("max-message-bytes", &o.max_message_bytes, 1024, kMaxMessageBytesLimit),
      "larger messages are refused by the socket and counted (schemas/protocol.md)")(
      "max-workers", mixq::IntegerFlag("max-workers", &o.max_workers, 1, 1000000),
      "workers beyond this many are refused")(
      "hellos-per-minute", mixq::IntegerFlag("hellos-per-minute", &o.hellos_per_minute, 1, 1000000),
      "HELLOs one address may send per minute")(
      "status-page-bytes",
      mixq::IntegerFlag("status-page-bytes", &o.status_page_bytes, 1, kMaxMessageBytesLimit),
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
