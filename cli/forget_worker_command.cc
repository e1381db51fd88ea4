// `mixq forget-worker KEY --db FILE`: when a worker turns out bad (a broken
// machine, a stolen key), forgets every result it produced, so that no job
// is served them from memo again; the tasks run again when a job needs
// them. Finished jobs that counted them are listed for resubmission. It
// takes the coordinator's lock, so it refuses to run beside a coordinator.
#include <boost/program_options.hpp>
#include <filesystem>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "coordinator/db_lock.h"
#include "coordinator/store.h"
#include "security/curve_keys.h"

namespace mixq {
namespace {

namespace po = boost::program_options;

Status ForgetWorker(const std::string& key_or_file, const std::string& db, std::ostream& out) {
  if (key_or_file.empty()) {
    return InvalidArgument("give the worker's public key (Z85) or its .pub file");
  }
  std::string key = key_or_file;
  if (!IsCurveKey(key)) {
    MIXQ_ASSIGN_OR_RETURN(key, LoadCurvePublicKey(key_or_file));
  }
  if (!std::filesystem::exists(db)) return NotFound(db + ": no such database");
  // The coordinator's lock: a running coordinator plans from tasks it has
  // loaded and would never run the ones made pending again here.
  StatusOr<std::unique_ptr<DbLock>> lock = DbLock::Acquire(db);
  if (!lock.ok()) return lock.status().WithContext("stop the coordinator first");
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(db));
  MIXQ_ASSIGN_OR_RETURN(Store::Forgotten f, store->ForgetWorkerResults(key));
  out << "forgot " << f.results << " result row(s) of worker key " << key << "; " << f.tasks
      << " task(s) will run again when a job needs them\n";
  if (!f.jobs.empty()) {
    out << "finished jobs that counted them (resubmit to recount):";
    for (int64_t job : f.jobs) out << " " << job;
    out << "\n";
  }
  return Status::Ok();
}

}  // namespace

int ForgetWorkerMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string key, db = "mixq.db";
  po::options_description desc(
      "mixq forget-worker KEY: forget every result of a worker key (coordinator stopped)");
  desc.add_options()("key", po::value<std::string>(&key), "the worker's public key or .pub file")(
      "db", po::value<std::string>(&db)->default_value(db), "the coordinator's database");
  po::positional_options_description positional;
  positional.add("key", 1);
  if (!ParseCommandLine("forget-worker", desc, args, out, positional)) return 0;
  return ExitCode("forget-worker", ForgetWorker(key, db, out), err);
}

}  // namespace mixq
