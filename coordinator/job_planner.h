// Turns a job into tasks in the store: an evaluate job becomes one evaluate
// task per (dataset shard x config x hardware class) and one benchmark task
// per (config x batch x hardware class), plus with `profile: true` one
// profile task per (non-fp32 config x hardware class). A task's id is the
// SHA-256 of everything that determines its result (the calibration's hash
// included), so a task planned before (by any job) is linked, not run again.
// Models, dataset files and the calibration are registered as blobs by
// content hash so workers can fetch them. Configs are checked against the
// model here: INT8 layers without a calibration are refused at submission.
#ifndef MIXQ_COORDINATOR_JOB_PLANNER_H_
#define MIXQ_COORDINATOR_JOB_PLANNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/job_spec.h"
#include "common/status.h"
#include "coordinator/store.h"

namespace mixq {

struct PlanResult {
  int64_t job_id = 0;
  int64_t total = 0;                // tasks of the job
  std::vector<PendingTask> to_run;  // those without a result yet
};

// Plans `job` (its YAML text kept in the jobs table) in one transaction.
// `hardware: all` means every class in `known_classes` (the classes of the
// workers connected now); FailedPrecondition if there are none.
// InvalidArgument/NotFound for a model or dataset that cannot be read.
StatusOr<PlanResult> PlanJob(Store* store, const JobSpec& job, const std::string& yaml_text,
                             uint32_t lease_ms, const std::vector<std::string>& known_classes);

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_JOB_PLANNER_H_
