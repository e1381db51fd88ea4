// A SearchBackend that measures through a coordinator: each batched call is
// one evaluate sub-job (jobs.parent_job_id = the search job) whose tasks the
// coordinator shards across its workers of the target hardware class. Full
// evaluations run on the evaluation slice, rankings on its first samples,
// benchmarks at the objective's batch, profiles as profile tasks of the
// all-INT8 config and two checkerboards. The calibration is a `kind:
// calibrate` sub-job too (calibrate tasks of both passes, merged by the
// coordinator into a file it serves to workers as a blob). Configs travel
// inline as JSON, so the coordinator needs no file from this process.
// Results are read back from the sub-job's rows in the results DB; the
// coordinator memoizes tasks by key, so running a stopped search again
// replays its measurements for free.
#ifndef MIXQ_SEARCH_DISTRIBUTED_BACKEND_H_
#define MIXQ_SEARCH_DISTRIBUTED_BACKEND_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/eval_metric.h"
#include "common/input_shapes.h"
#include "coordinator/coordinator_client.h"
#include "coordinator/store.h"
#include "search/search_space.h"
#include "search/strategy.h"

namespace mixq {

struct DistributedBackendOptions {
  std::string search_name;    // sub-jobs are named "<search_name> <kind>"
  int64_t parent_job_id = 0;  // the search job
  std::string model;          // absolute path, as the coordinator reads it
  std::string eval_dataset;   // dataset YAML (absolute)
  int64_t eval_begin = 0;
  int64_t eval_count = -1;  // -1: to the end
  int64_t shard_size = 1000;
  int64_t eval_batch = 100;
  int64_t ranking_count = 300;            // the first samples of the evaluation slice
  EvalMetric metric = EvalMetric::kTop1;  // read from the merged rows
  int64_t batch = 16;                     // benchmark batch (the objective's)
  double bench_seconds = 1.0;
  std::string calibration_file;  // absolute
  std::string seven_bit = "none";
  std::string hardware = "any";  // the target class
  // The search job's input shapes (ResolveJobInputShapes(), keyed by input
  // name), written into every sub-job as its input_shape; empty = none.
  InputShapes input_shapes;
  // Measurements stop with OutOfRange once this is passed (a time limit).
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::function<void(const std::string&)> progress;  // may be empty
  std::function<bool()> stop;  // true: give up (Unavailable) at the next poll; may be empty
};

// The slice and method of a calibration (`kind: calibrate` sub-job).
struct CalibrateRequest {
  std::string dataset;  // dataset YAML (absolute)
  int64_t begin = 0;
  int64_t samples = 300;
  std::string method = "minmax";
  double percentile = 99.99;
  std::string output;  // absolute: where the coordinator writes the calibration file
};

class DistributedBackend final : public SearchBackend {
 public:
  // `client` talks to the coordinator; `store` is this process's own
  // connection to the coordinator's DB (read-only use here).
  DistributedBackend(CoordinatorClient* client, Store* store, const SearchSpace& space,
                     std::string model_sha256, DistributedBackendOptions options);

  StatusOr<std::vector<double>> EvaluateFull(const std::vector<Mask>& masks) override;
  StatusOr<std::vector<double>> EvaluateRanking(const std::vector<Mask>& masks) override;
  StatusOr<std::vector<double>> Benchmark(const std::vector<Mask>& masks, int round) override;
  StatusOr<ProfileData> Profile() override;

  // Calibrates the model on the workers (any class: one calibration serves
  // every target) with the scales `mixq calibrate` would compute; the file
  // is at request.output once this returns. The sub-job's id.
  StatusOr<int64_t> Calibrate(const CalibrateRequest& request);

  // The ranking subset's size, when it is chosen from budgets known only
  // after FP32 was measured (relative budgets); before the first ranking.
  void set_ranking_count(int64_t count) { options_.ranking_count = count; }

  // Tasks the coordinator had to run (not memoized) over all sub-jobs so far.
  int64_t tasks_planned() const { return tasks_planned_; }
  int64_t tasks_total() const { return tasks_total_; }
  int sub_jobs() const { return sub_jobs_; }

  // The config entry a sub-job names for `mask` ("fp32" for all-FP32, so
  // its results are shared with evaluate jobs) and the configs row's hash.
  std::string ConfigEntry(const Mask& mask) const;
  std::string ConfigSha(const Mask& mask) const;

 private:
  struct SubJob {
    std::string kind;  // full | ranking | benchmark | profile
    std::vector<Mask> masks;
    int64_t begin = 0;
    int64_t count = 0;  // 0: no evaluate tasks
    bool benchmark = false;
    int bench_round = 0;
    bool profile = false;
  };
  // Submits the evaluate sub-job, waits for it to end; its job id.
  StatusOr<int64_t> Run(const SubJob& sub);
  // Submits a sub-job's YAML, waits for it to end; its job id. Gives up at
  // the deadline or on stop, cancelling it.
  StatusOr<int64_t> SubmitAndWait(const std::string& yaml, const std::string& label);
  StatusOr<std::vector<double>> Accuracies(const std::vector<Mask>& masks, int64_t begin,
                                           int64_t count, const std::string& kind);
  // Sub-job `job_id`'s options_.metric in points, by config sha256: top-1 or
  // top-5 from its evaluations, mAP or mIoU from its shards' merged
  // statistics (Store::TaskMetrics).
  StatusOr<std::unordered_map<std::string, double>> Points(int64_t job_id);

  CoordinatorClient* client_;
  Store* store_;
  const SearchSpace& space_;
  std::string model_sha256_;
  DistributedBackendOptions options_;
  int64_t tasks_planned_ = 0;
  int64_t tasks_total_ = 0;
  int sub_jobs_ = 0;
};

}  // namespace mixq

#endif  // MIXQ_SEARCH_DISTRIBUTED_BACKEND_H_
