// `mixq run JOB.yaml`: one job on this machine, on an embedded coordinator
// and local worker processes that it starts and stops. Evaluate and
// calibrate jobs are submitted and waited for; a search job's driver runs in
// the coordinator (its progress on the coordinator's stderr, which is ours)
// and its report is printed from its output folder; a compare job
// (results/compare_job.h) is expanded here into an evaluate sub-job per
// model, calibrating models in this process when it must. Progress goes to
// stderr, results to `out`.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/calibrate_command.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/engine_options.h"
#include "cli/job_client.h"
#include "common/hardware_info.h"
#include "common/number_flag.h"
#include "common/table_format.h"
#include "coordinator/coordinator_client.h"
#include "coordinator/job_spec.h"
#include "coordinator/store.h"
#include "engine/runtime/isa.h"
#include "results/compare_job.h"
#include "results/queries.h"
#include "search/search_job.h"
#include "search/search_job_spec.h"

extern char** environ;

namespace mixq {
namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;
using std::chrono::milliseconds;

// The most local workers one run starts (every ISA's together), and the
// most oneDNN threads they start together (kMaxThreads, as for one
// process): each worker is a process with its own threads and cache.
constexpr int kMaxLocalWorkers = 256;

struct RunCommandOptions {
  std::string job;  // job YAML (schemas/job.md)
  int workers = 0;  // local worker processes; 0 = max(1, cores / 2)
  std::string db = "mixq.db";
  int threads = 0;      // oneDNN threads per worker; 0 = cores / workers
  std::string max_isa;  // passed to every worker
  bool progress = true;
};

// Child processes that are stopped (SIGTERM, then SIGKILL) when this object
// goes away, however the command ends. A child that exits is reaped once and
// remembered, so asking again keeps the answer.
class Children {
 public:
  ~Children() { StopAll(); }

  StatusOr<pid_t> Spawn(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // The children talk over a private ipc:// socket without CURVE; key
    // variables meant for the user's cluster would make a worker ask for a
    // key pair it must not use here.
    std::vector<char*> env;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view entry(*e);
      if (entry.rfind("MIXQ_KEY=", 0) == 0 || entry.rfind("MIXQ_COORDINATOR_KEY=", 0) == 0) {
        continue;
      }
      env.push_back(*e);
    }
    env.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), env.data()) != 0) {
      return Unavailable("cannot start " + argv[0]);
    }
    pids_.push_back(pid);
    return pid;
  }

  // True if `pid` has exited; then `*how` (may be null) says how, e.g.
  // "exit status 2" or "signal 9".
  bool Exited(pid_t pid, std::string* how = nullptr) {
    auto it = exited_.find(pid);
    if (it == exited_.end()) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) != pid) return false;
      const std::string text = WIFEXITED(status)
                                   ? "exit status " + std::to_string(WEXITSTATUS(status))
                                   : "signal " + std::to_string(WTERMSIG(status));
      it = exited_.emplace(pid, text).first;
    }
    if (how != nullptr) *how = it->second;
    return true;
  }

  void StopAll() {
    for (pid_t pid : pids_) {
      if (exited_.count(pid) == 0) kill(pid, SIGTERM);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (pid_t pid : pids_) {
      if (exited_.count(pid) != 0) continue;
      int status = 0;
      while (waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          kill(pid, SIGKILL);
          waitpid(pid, &status, 0);
          break;
        }
        std::this_thread::sleep_for(milliseconds(20));
      }
    }
    pids_.clear();
    exited_.clear();
  }

 private:
  std::vector<pid_t> pids_;
  std::map<pid_t, std::string> exited_;  // reaped children and how they ended
};

// Whether the run can still make progress: the coordinator is up and at
// least one local worker is. A worker that cannot start (a bad --max-isa, a
// missing library) exits at once; when all have, nothing would ever run the
// tasks, so the command must not wait for them.
class Liveness {
 public:
  Liveness(Children* children, pid_t coordinator, std::vector<pid_t> workers)
      : children_(children), coordinator_(coordinator), workers_(std::move(workers)) {}

  // Ok while the run can go on; Unavailable naming what ended otherwise.
  Status Check() {
    std::string how;
    if (children_->Exited(coordinator_, &how)) {
      return Unavailable("the coordinator exited (" + how + "; its error is above)");
    }
    std::string first;
    for (pid_t pid : workers_) {
      if (!children_->Exited(pid, &how)) return Status::Ok();
      if (first.empty()) first = how;
    }
    return Unavailable("every local worker exited (the first with " + first +
                       "; its error is above)");
  }

 private:
  Children* children_;
  pid_t coordinator_;
  std::vector<pid_t> workers_;
};

// Waits until the coordinator answers and `workers` workers have said HELLO,
// giving up as soon as the coordinator or every worker has exited, so a
// coordinator that cannot open its database or workers that cannot start
// end the command at once instead of after a SUBMIT's timeout.
Status WaitForLocalWorkers(CoordinatorClient* client, int workers, Liveness* liveness) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    if (InterruptScope::Raised()) return Unavailable("interrupted");
    MIXQ_RETURN_IF_ERROR(liveness->Check());
    StatusOr<proto::StatusReply> s = client->GetStatus(0, milliseconds(500));
    if (s.ok() && s->workers() >= workers) return Status::Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return Unavailable(s.ok() ? "the local workers did not connect within 60 s"
                                : "the coordinator did not answer within 60 s: " +
                                      s.status().message());
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
}

std::string BinaryDir() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : self.parent_path().string();
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  if (out.empty()) out.push_back("");  // no cap
  return out;
}

// How many workers a run starts, and with how many threads each.
struct LocalWorkers {
  int per_isa = 1;  // workers of each --max-isa class
  int workers = 1;  // in all
  int threads = 1;  // oneDNN threads of each
};

// --max-isa a,b,c: workers of each capped class (hardware classes on one
// machine); --workers is per class.
LocalWorkers CountLocalWorkers(const RunCommandOptions& options) {
  const int isas = static_cast<int>(SplitCommas(options.max_isa).size());
  const int cores = UsableCores();
  LocalWorkers w;
  w.per_isa = options.workers > 0 ? options.workers : std::max(1, cores / 2 / isas);
  w.workers = w.per_isa * isas;
  w.threads = options.threads > 0 ? options.threads : std::max(1, cores / w.workers);
  return w;
}

// The limits on the processes and threads a run starts, checked before it
// starts any: a usage error naming the options.
void CheckLocalWorkers(const RunCommandOptions& options) {
  const LocalWorkers w = CountLocalWorkers(options);
  if (w.workers > kMaxLocalWorkers) {
    throw po::error("--workers " + std::to_string(w.per_isa) + " per ISA for " +
                    std::to_string(w.workers / w.per_isa) + " ISAs: " + std::to_string(w.workers) +
                    " workers, more than the limit of " + std::to_string(kMaxLocalWorkers));
  }
  if (int64_t{w.workers} * w.threads > kMaxThreads) {
    throw po::error("--threads " + std::to_string(w.threads) + " x " + std::to_string(w.workers) +
                    " workers: " + std::to_string(int64_t{w.workers} * w.threads) +
                    " threads, more than the limit of " + std::to_string(kMaxThreads));
  }
}

// A compare job's calibrations run in this process (mixq calibrate's code).
Status CalibrateInProcess(const CompareSpec& spec, const std::string& model,
                          const std::string& output) {
  CalibrateCommandOptions c;
  c.model = model;
  c.dataset = spec.calibration_dataset;
  c.samples = spec.calibration_samples;
  c.begin = spec.calibration_begin;
  c.method = spec.calibration_method;
  c.job_input_shapes = ModelInputShapes(spec, model);
  c.job_file = spec.source;
  c.output = output;
  c.progress = false;
  std::ostringstream sink;
  return RunCalibrateCommand(c, sink);
}

// A compare job (results/compare_job.h), once every local worker is
// connected: submits one evaluate job per model under a parent job row,
// waits for them and prints the comparison.
Status RunCompareJob(const CompareSpec& spec, const std::string& yaml,
                     const std::vector<SubJob>& sub_jobs, const RunCommandOptions& options,
                     CoordinatorClient* client, const std::function<Status()>& alive,
                     std::ostream& out) {
  int64_t parent = 0;
  {
    MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(options.db));
    MIXQ_ASSIGN_OR_RETURN(parent, store->CreateJob(spec.name, "compare", yaml, 0, 0));
  }
  std::vector<int64_t> ids;
  for (const SubJob& job : sub_jobs) {
    // The coordinator files the sub-job under its parent when it plans it
    // (schemas/job.md, parent_job), as a search's sub-jobs are.
    const std::string sub_yaml = job.yaml + "\nparent_job: " + std::to_string(parent) + "\n";
    MIXQ_ASSIGN_OR_RETURN(proto::SubmitReply reply,
                          client->Submit(sub_yaml, "", milliseconds(60000)));
    if (!reply.error().empty()) return InvalidArgument(reply.error());
    ids.push_back(reply.job_id());
  }
  std::fprintf(stderr, "job %lld (compare): %zu sub-job(s)\n", static_cast<long long>(parent),
               ids.size());
  bool all_done = true;
  for (int64_t id : ids) {
    MIXQ_ASSIGN_OR_RETURN(proto::StatusReply status,
                          WaitForJob(client, id, options.progress, alive));
    PrintResult(status, out);
    all_done = all_done && status.state() == "done";
  }
  {
    MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(options.db));
    MIXQ_RETURN_IF_ERROR(store->SetJobState(parent, all_done ? "done" : "failed"));
  }
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, OpenQueryDb(options.db));
  CompareQuery query;
  for (const CompareModel& m : spec.models) query.models.push_back(m.model);
  if (!(spec.hardware.size() == 1 && spec.hardware[0] == "all")) query.hardware = spec.hardware;
  MIXQ_ASSIGN_OR_RETURN(CompareTables tables, QueryCompare(*db, query));
  out << "\njob " << parent << " (compare): accuracy drop vs FP32, points\n"
      << RenderTable(tables.accuracy, TableFormat::kTable) << "\nspeed-up over FP32\n"
      << RenderTable(tables.speedup, TableFormat::kTable);
  for (const std::string& c : tables.missing) out << "missing hardware class: " << c << "\n";
  if (!all_done || !tables.missing.empty()) {
    return Internal("compare job " + std::to_string(parent) +
                    (tables.missing.empty() ? " had failed tasks" : " misses hardware classes"));
  }
  return Status::Ok();
}

// A search job on the embedded coordinator, once every local worker is
// connected: its driver runs there (progress on the coordinator's stderr,
// which is ours); it is submitted and waited for, and its report printed
// from the output folder.
Status RunSearch(CoordinatorClient* client, const std::string& yaml, const std::string& base_dir,
                 const SearchJobSpec& search, const RunCommandOptions& options,
                 const std::function<Status()>& alive, std::ostream& out) {
  MIXQ_ASSIGN_OR_RETURN(proto::SubmitReply submitted,
                        client->Submit(yaml, base_dir, milliseconds(60000)));
  if (!submitted.error().empty()) return InvalidArgument(submitted.error());
  MIXQ_ASSIGN_OR_RETURN(proto::StatusReply final_status,
                        WaitForJob(client, submitted.job_id(), false, alive));
  const std::string output = SearchOutputDir(search, options.db, submitted.job_id());
  StatusOr<std::string> report = ReadJobFile(output + "/search.txt");
  if (final_status.state() != "done") {
    const std::string why = final_status.task_errors_size() > 0
                                ? ": " + final_status.task_errors(0)
                                : " (its error is in the log above)";
    return Internal("search job " + std::to_string(submitted.job_id()) + " ended " +
                    final_status.state() + why);
  }
  if (!report.ok()) return report.status();
  out << *report;
  return Status::Ok();
}

// Submits an evaluate job to the embedded coordinator and waits for it.
Status SubmitAndWait(CoordinatorClient* client, const std::string& yaml,
                     const std::string& base_dir, const RunCommandOptions& options,
                     const std::function<Status()>& alive, std::ostream& out) {
  MIXQ_ASSIGN_OR_RETURN(proto::SubmitReply submitted,
                        client->Submit(yaml, base_dir, milliseconds(60000)));
  if (!submitted.error().empty()) return InvalidArgument(submitted.error());
  std::fprintf(stderr, "job %lld: %lld task(s), %lld to run (others already in %s)\n",
               static_cast<long long>(submitted.job_id()),
               static_cast<long long>(submitted.tasks_total()),
               static_cast<long long>(submitted.tasks_planned()), options.db.c_str());
  MIXQ_ASSIGN_OR_RETURN(proto::StatusReply final_status,
                        WaitForJob(client, submitted.job_id(), options.progress, alive));
  PrintResult(final_status, out);
  if (final_status.state() != "done") {
    return Internal("job " + std::to_string(submitted.job_id()) + " ended " + final_status.state());
  }
  return Status::Ok();
}

// --db is checked before any process starts, so that a path the
// coordinator cannot open is one line (the coordinator's own refusal comes
// with the lines of the run that started it): its folder must exist and be
// writable, and the path itself, when it exists, must be a file.
Status CheckDbPath(const std::string& db) {
  std::error_code ec;
  const fs::path path(db);
  const fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  if (!fs::is_directory(folder, ec)) {
    return InvalidArgument("--db " + db + ": its folder '" + folder.string() +
                           (fs::exists(folder, ec) ? "' is not a folder" : "' does not exist"));
  }
  if (access(folder.c_str(), W_OK | X_OK) != 0) {
    return InvalidArgument("--db " + db + ": its folder '" + folder.string() +
                           "' is not writable (the database and its lock file go there)");
  }
  if (fs::exists(path, ec) && !fs::is_regular_file(path, ec)) {
    return InvalidArgument("--db " + db + ": is not a file");
  }
  return Status::Ok();
}

Status RunJob(const RunCommandOptions& options, std::ostream& out) {
  MIXQ_RETURN_IF_ERROR(CheckDbPath(options.db));
  MIXQ_ASSIGN_OR_RETURN(std::string yaml, ReadJobFile(options.job));
  const bool compare = IsCompareJob(yaml);
  CompareSpec compare_spec;
  SearchJobSpec search;
  bool is_search = false;
  if (compare) {
    MIXQ_ASSIGN_OR_RETURN(compare_spec, LoadCompareSpec(options.job));
  } else {
    MIXQ_ASSIGN_OR_RETURN(JobSpec job, LoadJobSpec(options.job));  // fail early, before spawning
    is_search = job.kind == "search";
    if (is_search) {
      MIXQ_ASSIGN_OR_RETURN(search, ParseSearchJobSpec(job));
    }
  }
  const std::vector<std::string> isas = SplitCommas(options.max_isa);
  const LocalWorkers local = CountLocalWorkers(options);
  const int per_isa = local.per_isa, workers = local.workers, threads = local.threads;

  char dir_template[] = "/tmp/mixq-run-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return Unavailable("cannot create a temp folder");
  const std::string dir = dir_template;
  const std::string endpoint = "ipc://" + dir + "/coordinator";
  const std::string bin = BinaryDir();
  std::vector<SubJob> sub_jobs;
  if (compare) {
    StatusOr<std::vector<SubJob>> expanded =
        ExpandCompareJob(compare_spec, options.db, dir, CalibrateInProcess, std::cerr);
    if (!expanded.ok()) {
      std::error_code ec;
      fs::remove_all(dir, ec);
      return expanded.status();
    }
    sub_jobs = std::move(*expanded);
  }

  InterruptScope interrupt_scope;  // Ctrl-C stops the children below, not this process
  Status result;
  {
    Children children;
    std::vector<pid_t> worker_pids;
    // The user's own machine and a private ipc:// socket in a folder of
    // this run: the jobs may name any file the user can, as `mixq eval` and
    // `mixq calibrate` may, so the roots are the whole file system.
    MIXQ_ASSIGN_OR_RETURN(
        pid_t coordinator,
        children.Spawn({bin + "/mixq-coordinator", "--bind", endpoint, "--db", options.db,
                        "--data-root", "/", "--output-root", "/", "--log-level", "warn"}));
    for (int i = 0; i < workers; ++i) {
      std::vector<std::string> argv = {
          bin + "/mixq-worker", "--connect", endpoint,  "--threads",   std::to_string(threads),
          "--log-level",        "warn",      "--cache", dir + "/cache"};
      if (!isas[i / per_isa].empty()) {
        argv.push_back("--max-isa");
        argv.push_back(isas[i / per_isa]);
      }
      MIXQ_ASSIGN_OR_RETURN(pid_t worker, children.Spawn(argv));
      worker_pids.push_back(worker);
    }
    std::fprintf(stderr, "mixq run: coordinator and %d worker(s) x %d thread(s) on %s\n", workers,
                 threads, endpoint.c_str());
    CoordinatorClient client(endpoint);
    Liveness liveness(&children, coordinator, worker_pids);
    // Every kind of job waits for all local workers first, so that
    // `hardware: all` sees every class and a run that cannot start ends now.
    // Later, a run whose coordinator or last worker has gone stops waiting.
    auto alive = [&liveness] { return liveness.Check(); };
    result = WaitForLocalWorkers(&client, workers, &liveness);
    if (!result.ok()) {
      // Nothing was submitted.
    } else if (compare) {
      result = RunCompareJob(compare_spec, yaml, sub_jobs, options, &client, alive, out);
    } else if (is_search) {
      result = RunSearch(&client, yaml, fs::path(options.job).parent_path().string(), search,
                         options, alive, out);
    } else {
      result = SubmitAndWait(&client, yaml, fs::path(options.job).parent_path().string(), options,
                             alive, out);
    }
  }  // children stopped here, also on errors and Ctrl-C
  std::error_code ec;
  fs::remove_all(dir, ec);
  return result;
}

}  // namespace

int RunMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  RunCommandOptions o;
  bool quiet = false;
  po::options_description desc("mixq run JOB.yaml: a job on this machine");
  desc.add_options()("job", po::value<std::string>(&o.job)->required(), "job YAML")(
      "workers", IntegerFlag("workers", &o.workers, 0, kMaxLocalWorkers),
      "local worker processes; 0 = max(1, cores/2)")(
      "db", po::value<std::string>(&o.db)->default_value("mixq.db"), "results database")(
      "threads", IntegerFlag("threads", &o.threads, 0, kMaxThreads),
      "oneDNN threads per worker; 0 = cores/workers")(
      "max-isa", po::value<std::string>(&o.max_isa)->notifier(CheckIsaList),
      "cap oneDNN's ISA in every worker; a list (avx2,avx,sse41) starts --workers workers "
      "per ISA, one hardware class each")("quiet,q", po::bool_switch(&quiet),
                                          "no progress on stderr");
  po::positional_options_description positional;
  positional.add("job", 1);
  if (!ParseCommandLine("run", desc, args, out, positional)) return 0;
  CheckLocalWorkers(o);
  o.progress = !quiet;
  return ExitCode("run", RunJob(o, out), err);
}

}  // namespace mixq
