#include "coordinator/search/search_runner.h"

#include "common/log.h"
#include "coordinator/search/search_job.h"

namespace mixq {

std::string LocalEndpoint(const std::string& bind) {
  for (const std::string wildcard : {"tcp://*:", "tcp://0.0.0.0:"}) {
    if (bind.rfind(wildcard, 0) == 0) return "tcp://127.0.0.1:" + bind.substr(wildcard.size());
  }
  return bind;
}

SearchRunner::SearchRunner(std::string db, const std::string& bind)
    : db_(std::move(db)), endpoint_(LocalEndpoint(bind)) {}

SearchRunner::~SearchRunner() {
  stopping_ = true;
  for (std::thread& t : threads_) t.join();
}

void SearchRunner::Start(int64_t job_id, SearchJobSpec spec) {
  threads_.emplace_back([this, job_id, spec = std::move(spec)] {
    SearchJobOptions options;
    options.db = db_;
    options.endpoint = endpoint_;
    options.stop = [this] { return stopping_.load(); };
    SearchJobResult result;
    Status s = DriveSearchJob(job_id, spec, options, &result);
    if (s.ok()) {
      log().info("search job {} done: outputs in {}", job_id, result.output);
    } else {
      log().warn("search job {}: {}", job_id, s.message());
    }
  });
}

}  // namespace mixq
