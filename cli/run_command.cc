#include "cli/run_command.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>
#include <vector>

#include "cli/calibrate_command.h"
#include "common/hardware_info.h"
#include "coordinator/coordinator_client.h"
#include "coordinator/job_spec.h"
#include "coordinator/store.h"
#include "results/compare_job.h"
#include "results/queries.h"
#include "search/search_job.h"
#include "search/search_job_spec.h"

extern char** environ;

namespace mixq {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

volatile std::sig_atomic_t g_interrupted = 0;
void OnInterrupt(int) { g_interrupted = 1; }

// Child processes that are stopped (SIGTERM, then SIGKILL) when this object
// goes away, however the command ends.
class Children {
 public:
  ~Children() { StopAll(); }

  StatusOr<pid_t> Spawn(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) {
      return Unavailable("cannot start " + argv[0]);
    }
    pids_.push_back(pid);
    return pid;
  }

  // True if `pid` has exited (reaped).
  bool Exited(pid_t pid) {
    int status = 0;
    return waitpid(pid, &status, WNOHANG) == pid;
  }

  void StopAll() {
    for (pid_t pid : pids_) kill(pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (pid_t pid : pids_) {
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
  }

 private:
  std::vector<pid_t> pids_;
};

std::string BinaryDir() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : self.parent_path().string();
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A search job's progress lines: all of them, or the last `last` (0 = all).
void PrintSearchLog(const proto::StatusReply& s, size_t last, std::ostream& out) {
  const size_t n = static_cast<size_t>(s.search_log_size());
  const size_t skip = last > 0 && n > last ? n - last : 0;
  if (skip > 0) out << "  (" << skip << " earlier search line(s))\n";
  for (size_t i = skip; i < n; ++i) out << "  " << s.search_log(static_cast<int>(i)) << "\n";
}

void PrintResult(const proto::StatusReply& s, std::ostream& out, size_t search_lines = 0) {
  char line[256];
  out << "job " << s.job_id() << ": " << s.state();
  // A search job's measurements are its sub-jobs' tasks; its log says more.
  if (s.tasks_total() > 0 || s.search_log_next() == 0)
    out << ", " << s.tasks_done() << "/" << s.tasks_total() << " tasks";
  if (s.tasks_failed() > 0) out << ", " << s.tasks_failed() << " failed";
  out << "\n";
  for (const std::string& error : s.task_errors()) out << "  failed: " << error << "\n";
  PrintSearchLog(s, search_lines, out);
  if (s.evaluations_size() > 0) {
    std::snprintf(line, sizeof(line), "%-12s %-10s %9s %9s %9s %8s %8s %8s\n", "config", "hardware",
                  "samples", "correct1", "correct5", "top1 %", "top5 %", "agree %");
    out << line;
    for (const auto& e : s.evaluations()) {
      const double n = e.samples() > 0 ? static_cast<double>(e.samples()) : 1.0;
      // Agreement: top-1 equal to the all-FP32 model's on the same samples.
      char agree[16] = "       -";
      if (e.has_agree1()) std::snprintf(agree, sizeof(agree), "%8.2f", 100.0 * e.agree1() / n);
      std::snprintf(line, sizeof(line), "%-12s %-10s %9lld %9lld %9lld %8.2f %8.2f %s\n",
                    e.config().c_str(), e.hardware_class().c_str(),
                    static_cast<long long>(e.samples()), static_cast<long long>(e.correct1()),
                    static_cast<long long>(e.correct5()), 100.0 * e.correct1() / n,
                    100.0 * e.correct5() / n, agree);
      out << line;
    }
  }
  if (s.benchmarks_size() > 0) {
    std::snprintf(line, sizeof(line), "%-12s %6s %12s %12s  %s\n", "config", "batch", "images/s",
                  "latency ms", "hardware");
    out << line;
    for (const auto& b : s.benchmarks()) {
      std::snprintf(line, sizeof(line), "%-12s %6lld %12.1f %12.3f  %s\n", b.config().c_str(),
                    static_cast<long long>(b.batch()), b.images_per_second(), b.latency_ms_median(),
                    b.hardware_class().c_str());
      out << line;
    }
  }
}

// Polls the job until it ends; progress on stderr. `alive` is checked each
// round (false: the coordinator died).
StatusOr<proto::StatusReply> WaitForJob(CoordinatorClient* client, int64_t job_id, bool progress,
                                        const std::function<bool()>& alive) {
  const auto start = std::chrono::steady_clock::now();
  int64_t first_done = -1;
  int64_t last_printed = -1;
  int64_t search_next = 0;  // a search job's progress lines seen so far
  while (true) {
    if (g_interrupted) return Unavailable("interrupted");
    if (!alive()) return Unavailable("the coordinator exited");
    StatusOr<proto::StatusReply> s = client->GetStatus(job_id, milliseconds(10000), search_next);
    if (!s.ok()) return s.status();
    if (!s->error().empty()) return Internal(s->error());
    // The lines of the reply that ends the wait are the caller's to print.
    if (s->state() != "running") return s;
    if (progress) {
      for (const std::string& line : s->search_log()) std::fprintf(stderr, "%s\n", line.c_str());
    }
    // A restarted coordinator's resumed driver numbers its lines from 0
    // again: ask for all of them next time.
    search_next = s->search_log_next() < search_next ? 0 : s->search_log_next();
    if (first_done < 0) first_done = s->tasks_done();
    // A search job has no tasks of its own (its sub-jobs have them).
    if (progress && s->tasks_total() > 0 && s->tasks_done() != last_printed) {
      last_printed = s->tasks_done();
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double rate = secs > 0 ? (s->tasks_done() - first_done) / secs : 0;
      const int64_t left = s->tasks_total() - s->tasks_done();
      std::fprintf(stderr, "job %lld: %lld/%lld tasks done, %lld running, %d workers",
                   static_cast<long long>(job_id), static_cast<long long>(s->tasks_done()),
                   static_cast<long long>(s->tasks_total()),
                   static_cast<long long>(s->tasks_running()), s->workers());
      if (rate > 0) std::fprintf(stderr, ", ETA %.0f s", left / rate);
      std::fprintf(stderr, "\n");
    }
    std::this_thread::sleep_for(milliseconds(300));
  }
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

// A compare job's calibrations run in this process (mixq calibrate's code).
Status CalibrateInProcess(const CompareSpec& spec, const std::string& model,
                          const std::string& output) {
  CalibrateCommandOptions c;
  c.model = model;
  c.dataset = spec.calibration_dataset;
  c.samples = spec.calibration_samples;
  c.begin = spec.calibration_begin;
  c.method = spec.calibration_method;
  c.output = output;
  c.progress = false;
  std::ostringstream sink;
  return RunCalibrateCommand(c, sink);
}

// A compare job (results/compare_job.h): waits for every local worker
// (so that 'hardware: all' sees every class), submits one evaluate job per
// model under a parent job row, waits for them and prints the comparison.
Status RunCompareJob(const CompareSpec& spec, const std::string& yaml,
                     const std::vector<SubJob>& sub_jobs, const RunCommandOptions& options,
                     int workers, CoordinatorClient* client, const std::function<bool()>& alive,
                     std::ostream& out) {
  for (int tries = 0;; ++tries) {
    StatusOr<proto::StatusReply> s = client->GetStatus(0, milliseconds(10000));
    if (!s.ok()) return s.status();
    if (s->workers() >= workers) break;
    if (tries > 600 || !alive()) return Unavailable("the local workers did not all connect");
    std::this_thread::sleep_for(milliseconds(100));
  }
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

// A search job on the embedded coordinator: its driver runs there (progress
// on the coordinator's stderr, which is ours); once every local worker is
// connected, so that `hardware: all` sees them all, it is submitted and
// waited for, and its report printed from the output folder.
Status RunSearch(CoordinatorClient* client, const std::string& yaml, const std::string& base_dir,
                 const SearchJobSpec& search, const RunCommandOptions& options, int workers,
                 const std::function<bool()>& alive, std::ostream& out) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    if (g_interrupted) return Unavailable("interrupted");
    if (!alive()) return Unavailable("the coordinator exited");
    StatusOr<proto::StatusReply> s = client->GetStatus(0, milliseconds(10000));
    if (s.ok() && s->workers() >= workers) break;
    if (std::chrono::steady_clock::now() > deadline) {
      return Unavailable("the local workers did not connect within 60 s");
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  MIXQ_ASSIGN_OR_RETURN(proto::SubmitReply submitted,
                        client->Submit(yaml, base_dir, milliseconds(60000)));
  if (!submitted.error().empty()) return InvalidArgument(submitted.error());
  MIXQ_ASSIGN_OR_RETURN(proto::StatusReply final_status,
                        WaitForJob(client, submitted.job_id(), false, alive));
  const std::string output = SearchOutputDir(search, options.db, submitted.job_id());
  StatusOr<std::string> report = ReadFile(output + "/search.txt");
  if (final_status.state() != "done") {
    return Internal("search job " + std::to_string(submitted.job_id()) + " ended " +
                    final_status.state() + " (its error is in the log above)");
  }
  if (!report.ok()) return report.status();
  out << *report;
  return Status::Ok();
}

// Submits an evaluate job to the embedded coordinator and waits for it.
Status SubmitAndWait(CoordinatorClient* client, const std::string& yaml,
                     const std::string& base_dir, const RunCommandOptions& options,
                     const std::function<bool()>& alive, std::ostream& out) {
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

}  // namespace

Status RunJobCommand(const RunCommandOptions& options, std::ostream& out) {
  MIXQ_ASSIGN_OR_RETURN(std::string yaml, ReadFile(options.job));
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
  // --max-isa a,b,c: workers of each capped class (hardware classes on one
  // machine); `workers` is per class.
  const std::vector<std::string> isas = SplitCommas(options.max_isa);
  const int cores = UsableCores();
  const int per_isa = options.workers > 0 ? options.workers
                                          : std::max(1, cores / 2 / static_cast<int>(isas.size()));
  const int workers = per_isa * static_cast<int>(isas.size());
  const int threads = options.threads > 0 ? options.threads : std::max(1, cores / workers);

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

  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);
  Status result;
  {
    Children children;
    MIXQ_ASSIGN_OR_RETURN(pid_t coordinator,
                          children.Spawn({bin + "/mixq-coordinator", "--bind", endpoint, "--db",
                                          options.db, "--log-level", "warn"}));
    for (int i = 0; i < workers; ++i) {
      std::vector<std::string> argv = {
          bin + "/mixq-worker", "--connect", endpoint,  "--threads",   std::to_string(threads),
          "--log-level",        "warn",      "--cache", dir + "/cache"};
      if (!isas[i / per_isa].empty()) {
        argv.push_back("--max-isa");
        argv.push_back(isas[i / per_isa]);
      }
      MIXQ_RETURN_IF_ERROR(children.Spawn(argv).status());
    }
    std::fprintf(stderr, "mixq run: coordinator and %d worker(s) x %d thread(s) on %s\n", workers,
                 threads, endpoint.c_str());
    CoordinatorClient client(endpoint);
    bool exited = false;
    auto alive = [&] { return exited || (exited = children.Exited(coordinator), !exited); };
    if (compare) {
      result = RunCompareJob(compare_spec, yaml, sub_jobs, options, workers, &client, alive, out);
    } else if (is_search) {
      result = RunSearch(&client, yaml, fs::path(options.job).parent_path().string(), search,
                         options, workers, alive, out);
    } else {
      result = SubmitAndWait(&client, yaml, fs::path(options.job).parent_path().string(), options,
                             alive, out);
    }
  }  // children stopped here, also on errors and Ctrl-C
  std::error_code ec;
  fs::remove_all(dir, ec);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return result;
}

Status SubmitCommand(const ClientCommandOptions& options, std::ostream& out) {
  MIXQ_ASSIGN_OR_RETURN(JobSpec job, LoadJobSpec(options.job));
  MIXQ_ASSIGN_OR_RETURN(std::string yaml, ReadFile(options.job));
  CoordinatorClient client(options.coordinator);
  const std::string base = fs::absolute(options.job).parent_path().string();
  MIXQ_ASSIGN_OR_RETURN(proto::SubmitReply reply,
                        client.Submit(yaml, base, milliseconds(options.timeout_ms)));
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
                        WaitForJob(&client, reply.job_id(), true, [] { return true; }));
  PrintResult(status, out);
  return Status::Ok();
}

Status StatusCommand(const ClientCommandOptions& options, std::ostream& out) {
  CoordinatorClient client(options.coordinator);
  MIXQ_ASSIGN_OR_RETURN(proto::StatusReply reply,
                        client.GetStatus(options.job_id, milliseconds(options.timeout_ms)));
  if (!reply.error().empty()) return Internal(reply.error());
  out << "coordinator " << options.coordinator << ": " << reply.workers() << " worker(s)";
  for (const auto& [kind, n] : reply.malformed()) out << ", " << n << " malformed (" << kind << ")";
  out << "\n";
  // A long search's log is shown by its latest lines: where it stands.
  if (options.job_id > 0) PrintResult(reply, out, 12);
  return Status::Ok();
}

Status CancelCommand(const ClientCommandOptions& options, std::ostream& out) {
  CoordinatorClient client(options.coordinator);
  MIXQ_ASSIGN_OR_RETURN(proto::CancelReply reply,
                        client.Cancel(options.job_id, milliseconds(options.timeout_ms)));
  if (!reply.error().empty()) return FailedPrecondition(reply.error());
  out << "job " << options.job_id << " cancelled\n";
  return Status::Ok();
}

}  // namespace mixq
