// A search job's rows in the results database (schemas/db.md): every step of
// a strategy in search_steps, numbered per target class, and each class and
// budget's answer in search_results. Configs are filed in `configs` by the
// hash of their canonical form (the backend's), so queries join on them.
#ifndef MIXQ_SEARCH_SEARCH_RECORDS_H_
#define MIXQ_SEARCH_SEARCH_RECORDS_H_

#include <cstdint>
#include <string>

#include "common/status.h"
#include "coordinator/store.h"
#include "search/distributed_backend.h"
#include "search/strategy.h"

namespace mixq {

// Writes the steps of one target class's search, numbered from 0 in the
// order written. A resumed search writes its steps again over the old rows.
class SearchStepWriter {
 public:
  SearchStepWriter(Store* store, int64_t job_id, std::string hardware);

  // `backend` names the step's config (its canonical entry and hash).
  Status Write(const DistributedBackend& backend, const SearchStep& step);

 private:
  Store* store_;
  int64_t job_id_;
  std::string hardware_;
  int step_ = 0;
};

// Writes (or replaces) the answer of `hardware` at `budget`; `seconds` is
// the wall time the class's search took.
Status WriteSearchResult(Store* store, const DistributedBackend& backend, int64_t job_id,
                         const std::string& hardware, double budget, const std::string& strategy,
                         const SearchOutcome& outcome, double seconds);

}  // namespace mixq

#endif  // MIXQ_SEARCH_SEARCH_RECORDS_H_
