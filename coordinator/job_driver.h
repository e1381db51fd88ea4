// Job kinds that the coordinator hosts but does not plan tasks for itself
// (search): a driver files a submitted job, drives it on threads of its own
// as a client of this coordinator (its measurements are sub-jobs with
// tasks), resumes the jobs of its kind that a restart finds running, and
// keeps the progress lines that STATUS_REPLY carries to `mixq status`.
//
// The coordinator core knows the kinds it plans itself (evaluate,
// calibrate) and reaches every other kind only through this interface; the
// daemon's main registers the drivers (coordinator_main.cc registers the
// search driver, search/search_runner.h), so search sits above the core and
// the core builds and runs without it.
#ifndef MIXQ_COORDINATOR_JOB_DRIVER_H_
#define MIXQ_COORDINATOR_JOB_DRIVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/file_roots.h"
#include "coordinator/job_spec.h"
#include "coordinator/store.h"

namespace mixq {

class JobDriver {
 public:
  virtual ~JobDriver() = default;

  // The `kind:` of the job files this driver takes, e.g. "search".
  virtual const std::string& kind() const = 0;

  // Files `job` (parsed from `yaml`, the text as submitted) in `store` as
  // `owner`'s (the client's CURVE public key, "" when keyless) and starts
  // driving it; returns its id, or why the job was refused. Called on the
  // coordinator's thread.
  virtual StatusOr<int64_t> Submit(Store* store, const JobSpec& job, const std::string& yaml,
                                   const std::string& owner) = 0;

  // Starts driving the jobs of this kind that `store` has running (a
  // coordinator restarting); their finished measurements are memoized.
  virtual Status Resume(Store* store) = 0;

  // Job `job_id`'s progress lines numbered `from` on; `*next` is the number
  // after the last. Empty with *next = 0 for a job this driver never drove.
  // Thread-safe.
  virtual std::vector<std::string> Log(int64_t job_id, int64_t from, int64_t* next) const = 0;

  // Asks every job being driven to give up at its next poll, leaving it
  // running in the store for the next start. Does not wait; destroying the
  // driver joins its threads.
  virtual void RequestStop() = 0;
};

// What a driver needs from the coordinator that hosts it.
struct JobDriverContext {
  std::string db;  // the coordinator's SQLite file: drivers open their own connections
  // A keyless endpoint of the coordinator (a private ipc:// file): drivers
  // connect to it as clients.
  std::string bind;
  // What a driven job may name: a driver checks every file it reads or
  // writes on a job's word against these before touching it.
  FileRoots roots;
};

using JobDriverFactory = std::function<std::unique_ptr<JobDriver>(const JobDriverContext&)>;

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_JOB_DRIVER_H_
