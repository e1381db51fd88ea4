// The coordinator's search drivers: one thread per running search job,
// started when the job is submitted and again when a restarted coordinator
// finds the job still running in the DB. Each thread drives its job through
// the coordinator's own endpoint as a client (DriveSearchJob), with its own
// Store connection, so the coordinator's event loop and Store stay
// single-threaded. Stopping asks every driver to give up at its next poll and
// joins them; their jobs stay running in the DB for the next start.
#ifndef MIXQ_COORDINATOR_SEARCH_SEARCH_RUNNER_H_
#define MIXQ_COORDINATOR_SEARCH_SEARCH_RUNNER_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/search/search_job_spec.h"

namespace mixq {

class SearchRunner {
 public:
  // `bind` is the coordinator's listening endpoint; drivers connect to it
  // (a wildcard host becomes loopback).
  SearchRunner(std::string db, const std::string& bind);
  ~SearchRunner();
  SearchRunner(const SearchRunner&) = delete;
  SearchRunner& operator=(const SearchRunner&) = delete;

  void Start(int64_t job_id, SearchJobSpec spec);
  // Asks every driver to stop (does not wait).
  void RequestStop() { stopping_ = true; }

  const std::string& endpoint() const { return endpoint_; }

 private:
  std::string db_;
  std::string endpoint_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

// The endpoint a local client reaches a socket bound to `bind` at:
// "tcp://*:5555" and "tcp://0.0.0.0:5555" become "tcp://127.0.0.1:5555".
std::string LocalEndpoint(const std::string& bind);

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_SEARCH_SEARCH_RUNNER_H_
