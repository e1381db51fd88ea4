// Turns a job into tasks in the store: an evaluate job becomes one evaluate
// task per (dataset shard x config x hardware class) and one benchmark task
// per (config x batch x hardware class), plus with `profile: true` one
// profile task per (non-fp32 config x hardware class). A task's id is the
// SHA-256 of everything that determines its result (the calibration's hash
// included), so a task planned before (by any job) is linked, not run again.
// Models, dataset files and the calibration are registered as blobs by
// content hash so workers can fetch them. Configs are checked against the
// model here: INT8 layers without a calibration are refused at submission.
//
// A job with `calibration:` as a mapping is planned in phases: calibrate
// tasks (pass 1 on every shard; pass 2 over the merged ranges when the method
// needs histograms), then, with the calibration made from the merged
// statistics, its configs. Each phase is planned when the one before has
// all its results stored (PlanNextPhase), so the phase is always derivable
// from the store: a restart or a rerun plans only what is missing.
#ifndef MIXQ_COORDINATOR_JOB_PLANNER_H_
#define MIXQ_COORDINATOR_JOB_PLANNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/file_roots.h"
#include "coordinator/job_spec.h"
#include "coordinator/store.h"

namespace mixq {

struct PlanResult {
  int64_t job_id = 0;
  int64_t total = 0;                // tasks of the job
  std::vector<PendingTask> to_run;  // those without a result yet
};

struct PlanOptions {
  uint32_t lease_ms = 10 * 60 * 1000;
  std::vector<std::string> known_classes;  // classes connected now, for `hardware: all`
  std::string base_dir;                    // the job's relative paths resolve against it
  // Where calibrations made from calibrate tasks are written (named by hash).
  std::string calibration_dir = "calibrations";
  // The files a job may name (file_roots.h); the default refuses every one.
  FileRoots roots;
  std::string owner;  // the submitting client's CURVE public key; "" when keyless
};

// Plans `job` (its YAML text kept in the jobs table) in one transaction.
// `hardware: all` means every class in `known_classes` (the classes of the
// workers connected now); FailedPrecondition if there are none. Every file
// the job names is checked against `options.roots` first (job_files.h):
// InvalidArgument for one outside them, InvalidArgument/NotFound for a
// model or dataset inside them that cannot be read.
StatusOr<PlanResult> PlanJob(Store* store, const JobSpec& job, const std::string& yaml_text,
                             const PlanOptions& options);

// For a job whose planned tasks all ended: plans its next phase from what is
// stored (re-reading the job's YAML and base_dir from the store, and
// checking its files against `options.roots` again). An empty
// `to_run` means nothing is left to plan: the job can be finished. Jobs
// without phases return at once.
StatusOr<PlanResult> PlanNextPhase(Store* store, int64_t job_id, const PlanOptions& options);

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_JOB_PLANNER_H_
