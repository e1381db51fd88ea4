// Job files (schemas/job.md): what `mixq run` and `mixq submit` send to a
// coordinator. An evaluate job measures a model's accuracy on a dataset slice
// for each precision config, shard by shard, on each hardware class, plus its
// speed per batch size. Search keys (calibration as a mapping, budget, objective, strategy,
// limits, metric) are checked for shape and kept as YAML text for the search
// to read later. Unknown keys are refused with their dotted path.
#ifndef MIXQ_COORDINATOR_JOB_SPEC_H_
#define MIXQ_COORDINATOR_JOB_SPEC_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/input_shapes.h"
#include "common/status.h"

namespace mixq {

struct Graph;  // engine/ir/graph.h

// `calibration:` as a mapping: the coordinator calibrates the model itself
// with calibrate tasks sharded over workers (schemas/job.md), then runs the
// job's configs with that calibration.
struct CalibrateSpec {
  bool enabled = false;
  std::string dataset;  // dataset YAML, resolved; "" = the evaluation dataset
  int64_t begin = 0;
  int64_t samples = 300;
  std::string method = "minmax";  // minmax | percentile | kl | mse
  double percentile = 99.99;
  int64_t shard_size = 100;  // samples per calibrate task
  int64_t batch = 100;       // samples per forward pass (as mixq calibrate --batch)
};

struct JobSpec {
  std::string source;  // the YAML file (or "<submitted>"), for messages
  std::string name;
  // "evaluate", "calibrate" (calibrate tasks only; the calibration file goes
  // to `output`) or "search" (search/search_job_spec.h).
  std::string kind = "evaluate";
  std::string model;  // path, resolved against the YAML's folder
  // data.evaluation
  std::string eval_dataset;  // dataset YAML path, resolved
  int64_t shard_size = 1000;
  int64_t begin = 0;
  int64_t count = -1;  // -1: to the end of the dataset; 0: no evaluate tasks
  int64_t eval_batch = 100;
  // data.evaluation.fidelity: quantised configs' evaluate tasks also run FP32
  // beside them and measure each output's SQNR and cosine (metrics/fidelity.h).
  bool fidelity = false;
  // Precision configs: "fp32", "int8", a path to a config JSON (resolved) or
  // the config's JSON text itself (starts with '{'), so that a client needs
  // no file system shared with the coordinator.
  std::vector<std::string> configs = {"fp32"};
  // `calibration: FILE` (from `mixq calibrate`, resolved): the activation
  // scales of every INT8 layer; "" = none (FP32 configs only).
  std::string calibration_file;
  // seven_bit: 7-bit weights of INT8 layers (engine/quant/quant_spec.h): "none",
  // "first" or "all", as `mixq eval --seven-bit`.
  std::string seven_bit = "none";
  // benchmark: batch sizes (empty: no speed tasks) and timed seconds each.
  std::vector<int64_t> bench_batches = {1, 16};
  double bench_seconds = 1.0;
  // benchmark.round: a repeat of the same benchmarks, timed again (round 0
  // is the first measurement; round r > 0 has its own task keys), so that a
  // search can measure rivals head to head instead of reusing old timings.
  int64_t bench_round = 0;
  // profile: true: one profile task (per-layer FP32/INT8 times at batch 1)
  // per non-fp32 config and hardware entry.
  bool profile = false;
  int64_t profile_batch = 1;  // profile_batch: the batch profile tasks time
  // hardware: "any" (one result, whichever worker runs it), or class names
  // (one result per class, run only by workers of that class).
  std::vector<std::string> hardware = {"any"};
  CalibrateSpec calibrate;
  std::string output;  // kind calibrate: where to copy the calibration file ("" = none)
  // parent_job: the search job this job is a step of (jobs.parent_job_id); 0 = none.
  int64_t parent_job_id = 0;
  // input_shape: fixed shapes of the model's inputs (common/input_shapes.h;
  // the first input's dim 0 stays each task's batch); empty = as declared.
  // ResolveJobInputShapes() merges them with the datasets' own.
  InputShapes input_shapes;
  // The folder relative paths resolve against (also for the search sections).
  std::string base_dir;
  // Search-specific sections as YAML text, keyed by their top-level name
  // (also data.calibration and data.ranking as "data.calibration", ...).
  std::map<std::string, std::string> search;
};

// Parses job YAML text; relative paths resolve against `base_dir`; messages
// start with `source`.
StatusOr<JobSpec> ParseJobSpec(const std::string& yaml_text, const std::string& base_dir,
                               const std::string& source);

// Reads and parses a job file; relative paths resolve against its folder.
StatusOr<JobSpec> LoadJobSpec(const std::string& path);

// The shapes every task of `job` fixes the model's inputs to, keyed by input
// name: the job's input_shape over the evaluation dataset's over the
// calibration dataset's (calibrate.dataset), input by input; empty when none
// gives any. `graph` is the job's model as imported. InvalidArgument naming
// the file and its 'input_shape' when a shape does not fit the model.
StatusOr<InputShapes> ResolveJobInputShapes(const JobSpec& job, const Graph& graph);

// True when `job` or one of its datasets gives input shapes, i.e. when
// ResolveJobInputShapes() needs the model (a dataset file that cannot be
// read counts as giving none: planning reports it).
bool JobHasInputShapes(const JobSpec& job);

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_JOB_SPEC_H_
