// The driver of a `kind: search` job: files the search job in the DB,
// calibrates through a `kind: calibrate` sub-job (cached by its inputs),
// runs the strategy once per target hardware class through a
// DistributedBackend (sub-jobs on the coordinator), writes every step to
// search_steps and every answer to search_results, prints progress (current
// best, full evaluations done and planned, ETA) on stderr and to a listener
// (the coordinator's STATUS_REPLY search log), and leaves what
// `mixq search -o` writes in the job's output folder. It runs on a thread of
// the coordinator process (search/search_runner.h), talks to its
// coordinator as a client and has its own Store connection to the DB.
// Driving a stopped search again is its resume: every finished measurement
// is a memoized task.
#ifndef MIXQ_SEARCH_SEARCH_JOB_H_
#define MIXQ_SEARCH_SEARCH_JOB_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "coordinator/store.h"
#include "search/distributed_backend.h"
#include "search/search_job_spec.h"

namespace mixq {

struct SearchJobOptions {
  std::string db;               // the coordinator's DB file
  std::string endpoint;         // the coordinator, as this process reaches it
  int min_workers = 1;          // waited for before target classes are resolved
  int worker_wait_seconds = 0;  // give up waiting for workers after this; 0 = never
  bool progress = true;         // lines on stderr
  // Called with every progress line (as printed, time stamp first), whether
  // or not they go to stderr, then with each budget and class's verdict and
  // a last line ("done: outputs in ...", "failed: ...", "cancelled") before
  // the job's state changes.
  std::function<void(const std::string&)> on_line;
  // True when the coordinator is stopping: the driver gives up and leaves
  // the job running, to be resumed when the coordinator restarts.
  std::function<bool()> stop;
};

struct SearchJobResult {
  int64_t job_id = 0;
  std::string output;         // the output folder
  int64_t tasks_planned = 0;  // tasks the sub-jobs had to run (0: all memoized)
  int64_t tasks_total = 0;
  int sub_jobs = 0;
  bool met = true;  // every class and budget met its budget
};

// Files a search job (state running) with its YAML and base folder, so a
// restarted coordinator can drive it again; registers the model.
StatusOr<int64_t> FileSearchJob(Store* store, const SearchJobSpec& spec,
                                const std::string& yaml_text, const std::string& owner = "");

// The search jobs left running (a coordinator restarting resumes them).
StatusOr<std::vector<std::pair<int64_t, SearchJobSpec>>> LoadRunningSearches(Store* store);

// The job's output folder: `output:` or <db dir>/search-<job id>.
std::string SearchOutputDir(const SearchJobSpec& spec, const std::string& db, int64_t job_id);

// Drives filed search job `job_id` to its end through the coordinator at
// options.endpoint, with its own Store on options.db; marks it done or
// failed, and writes the printed report to <output>/search.txt. When
// options.stop() turns true it returns Unavailable and leaves the job running.
Status DriveSearchJob(int64_t job_id, const SearchJobSpec& spec, const SearchJobOptions& options,
                      SearchJobResult* result = nullptr);

// The target classes of `hardware` among the connected `classes`: "any",
// "all" (every connected class), full class names, or an ISA name such as
// "avx2" (each connected class with that effective ISA). InvalidArgument
// naming the entry that matches nothing.
StatusOr<std::vector<std::string>> ResolveTargetClasses(const std::vector<std::string>& hardware,
                                                        const std::vector<std::string>& classes);

}  // namespace mixq

#endif  // MIXQ_SEARCH_SEARCH_JOB_H_
