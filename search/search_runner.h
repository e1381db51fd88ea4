// The coordinator's driver of `kind: search` jobs (coordinator/job_driver.h;
// coordinator_main.cc registers it): one thread per running search job,
// started when the job is submitted and again when a restarted coordinator
// finds the job still running in the DB. Each thread drives its job through
// the coordinator's own endpoint as a client (DriveSearchJob), with its own
// Store connection, so the coordinator's event loop and Store stay
// single-threaded. Stopping asks every driver to give up at its next poll and
// joins them; their jobs stay running in the DB for the next start.
//
// Each driver's progress lines are also kept here (the last kMaxLogLines per
// job, for the kMaxLogJobs newest jobs), so that STATUS_REPLY can show a
// submitter what the coordinator's stderr shows: `mixq status` and
// `mixq submit --wait` print them.
#ifndef MIXQ_SEARCH_SEARCH_RUNNER_H_
#define MIXQ_SEARCH_SEARCH_RUNNER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/job_driver.h"
#include "search/search_job_spec.h"

namespace mixq {

class SearchRunner : public JobDriver {
 public:
  // `bind` is the coordinator's listening endpoint; drivers connect to it
  // (a wildcard host becomes loopback). Jobs name files under `roots`.
  SearchRunner(std::string db, const std::string& bind, FileRoots roots);
  ~SearchRunner() override;
  SearchRunner(const SearchRunner&) = delete;
  SearchRunner& operator=(const SearchRunner&) = delete;

  // The factory coordinator_main.cc registers.
  static std::unique_ptr<JobDriver> Make(const JobDriverContext& context);

  const std::string& kind() const override;
  // Validates the search sections (search_job_spec.h), checks the files
  // they name against the roots (refused before any is read), files the job
  // (FileSearchJob) and starts its thread.
  StatusOr<int64_t> Submit(Store* store, const JobSpec& job, const std::string& yaml,
                           const std::string& owner) override;
  // Starts a thread for each search job left running (LoadRunningSearches);
  // one whose files are outside this start's roots is marked failed.
  Status Resume(Store* store) override;
  // Asks every driver thread to stop (does not wait).
  void RequestStop() override { stopping_ = true; }

  void Start(int64_t job_id, SearchJobSpec spec);

  const std::string& endpoint() const { return endpoint_; }

  // Job `job_id`'s progress lines numbered `from` on (from the oldest kept
  // when `from` is older); `*next` is the number after the last one. Empty
  // for a job this runner never drove. Thread-safe.
  std::vector<std::string> Log(int64_t job_id, int64_t from, int64_t* next) const override;

  // Adds a line to job `job_id`'s log (the drivers' on_line). Thread-safe.
  void Append(int64_t job_id, std::string line);

  static constexpr size_t kMaxLogLines = 1000;
  static constexpr size_t kMaxLogJobs = 100;

 private:
  struct JobLog {
    int64_t first = 0;  // the number of lines.front()
    std::deque<std::string> lines;
  };

  std::string db_;
  std::string endpoint_;
  FileRoots roots_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  mutable std::mutex log_mu_;
  std::map<int64_t, JobLog> logs_;
};

// The endpoint a local client reaches a socket bound to `bind` at:
// "tcp://*:5555" and "tcp://0.0.0.0:5555" become "tcp://127.0.0.1:5555".
std::string LocalEndpoint(const std::string& bind);

}  // namespace mixq

#endif  // MIXQ_SEARCH_SEARCH_RUNNER_H_
