#include "search/search_runner.h"

#include <algorithm>

#include "common/log.h"
#include "coordinator/job_files.h"
#include "search/search_job.h"

namespace mixq {
namespace {

// The job's own files (job_files.h) and those only a search names: its
// calibration slice, calibration file and output folder.
Status CheckSearchFiles(const SearchJobSpec& spec, const FileRoots& roots) {
  const std::string& at = spec.job.source;
  MIXQ_RETURN_IF_ERROR(CheckJobFiles(spec.job, roots));
  if (!spec.calibration_dataset.empty()) {
    MIXQ_RETURN_IF_ERROR(
        CheckDatasetFiles(spec.calibration_dataset, at + ": data.calibration.dataset", roots));
  }
  if (!spec.calibration_file.empty()) {
    MIXQ_RETURN_IF_ERROR(roots.CheckRead(spec.calibration_file, at + ": calibration.file"));
  }
  if (!spec.output.empty()) MIXQ_RETURN_IF_ERROR(roots.CheckWrite(spec.output, at + ": output"));
  return Status::Ok();
}

}  // namespace

std::string LocalEndpoint(const std::string& bind) {
  for (const std::string wildcard : {"tcp://*:", "tcp://0.0.0.0:"}) {
    if (bind.rfind(wildcard, 0) == 0) return "tcp://127.0.0.1:" + bind.substr(wildcard.size());
  }
  return bind;
}

SearchRunner::SearchRunner(std::string db, const std::string& bind, FileRoots roots)
    : db_(std::move(db)), endpoint_(LocalEndpoint(bind)), roots_(std::move(roots)) {}

SearchRunner::~SearchRunner() {
  stopping_ = true;
  for (std::thread& t : threads_) t.join();
}

std::unique_ptr<JobDriver> SearchRunner::Make(const JobDriverContext& context) {
  return std::make_unique<SearchRunner>(context.db, context.bind, context.roots);
}

const std::string& SearchRunner::kind() const {
  static const std::string kKind = "search";
  return kKind;
}

StatusOr<int64_t> SearchRunner::Submit(Store* store, const JobSpec& job, const std::string& yaml,
                                       const std::string& owner) {
  MIXQ_ASSIGN_OR_RETURN(SearchJobSpec spec, ParseSearchJobSpec(job));
  MIXQ_RETURN_IF_ERROR(CheckSearchFiles(spec, roots_));
  MIXQ_ASSIGN_OR_RETURN(int64_t id, FileSearchJob(store, spec, yaml, owner));
  Start(id, std::move(spec));
  return id;
}

Status SearchRunner::Resume(Store* store) {
  MIXQ_ASSIGN_OR_RETURN(auto searches, LoadRunningSearches(store));
  for (auto& [id, spec] : searches) {
    // Started again with other roots: the job may no longer name its files.
    Status files = CheckSearchFiles(spec, roots_);
    if (!files.ok()) {
      log().warn("search job {} failed: {}", id, files.message());
      MIXQ_RETURN_IF_ERROR(store->SetJobState(id, "failed"));
      continue;
    }
    log().info("resuming search job {}", id);
    Start(id, std::move(spec));
  }
  return Status::Ok();
}

void SearchRunner::Start(int64_t job_id, SearchJobSpec spec) {
  threads_.emplace_back([this, job_id, spec = std::move(spec)] {
    SearchJobOptions options;
    options.db = db_;
    options.endpoint = endpoint_;
    options.stop = [this] { return stopping_.load(); };
    options.on_line = [this, job_id](const std::string& line) { Append(job_id, line); };
    SearchJobResult result;
    Status s = DriveSearchJob(job_id, spec, options, &result);
    if (s.ok()) {
      log().info("search job {} done: outputs in {}", job_id, result.output);
    } else {
      log().warn("search job {}: {}", job_id, s.message());
    }
  });
}

void SearchRunner::Append(int64_t job_id, std::string line) {
  std::lock_guard<std::mutex> lock(log_mu_);
  JobLog& log = logs_[job_id];
  // A long-lived coordinator forgets the oldest jobs' lines (lowest ids).
  if (logs_.size() > kMaxLogJobs) {
    auto oldest = logs_.begin();
    if (oldest->first == job_id) ++oldest;
    logs_.erase(oldest);
  }
  log.lines.push_back(std::move(line));
  if (log.lines.size() > kMaxLogLines) {
    log.lines.pop_front();
    ++log.first;
  }
}

std::vector<std::string> SearchRunner::Log(int64_t job_id, int64_t from, int64_t* next) const {
  std::lock_guard<std::mutex> lock(log_mu_);
  auto it = logs_.find(job_id);
  if (it == logs_.end()) {
    *next = 0;
    return {};
  }
  const JobLog& log = it->second;
  *next = log.first + static_cast<int64_t>(log.lines.size());
  std::vector<std::string> out;
  for (int64_t i = std::max(from, log.first); i < *next; ++i)
    out.push_back(log.lines[i - log.first]);
  return out;
}

}  // namespace mixq
