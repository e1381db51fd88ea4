// `kind: compare` job files (schemas/job.md): models x configs (default
// fp32, int8 and each model's chosen config from its latest search) on
// every hardware class. The client (`mixq run`) expands one into an
// evaluate sub-job per model - calibrating each model first when the job
// names a calibration dataset - and files them under a parent job row
// (jobs.parent_job_id) so that `mixq query compare` and `mixq report` see
// them as one. Hardware classes asked for but not connected fail their
// tasks in the coordinator and so show as missing, never as skipped.
#ifndef MIXQ_RESULTS_COMPARE_JOB_H_
#define MIXQ_RESULTS_COMPARE_JOB_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "common/input_shapes.h"
#include "common/status.h"

namespace mixq {

struct CompareModel {
  std::string model;                 // resolved path
  std::string calibration;           // resolved calibration file; "" = calibrate (or none)
  std::vector<std::string> configs;  // config files for this model only (resolved)
  InputShapes input_shapes;          // input_shape of this model; empty = the job's
};

struct CompareSpec {
  std::string source;  // the YAML file, for messages
  std::string name;
  std::vector<CompareModel> models;
  // data.evaluation, with the dataset path resolved.
  std::string eval_dataset;
  int64_t shard_size = 1000, begin = 0, count = -1, eval_batch = 100;
  // calibration: {dataset, samples, begin, method}: the client calibrates
  // every model without a calibration file on this slice.
  std::string calibration_dataset;
  int64_t calibration_samples = 300, calibration_begin = 0;
  std::string calibration_method = "minmax";
  std::vector<std::string> configs = {"fp32", "int8", "chosen"};
  std::vector<int64_t> bench_batches = {1, 16};
  double bench_seconds = 1.0;
  std::string seven_bit = "none";
  std::vector<std::string> hardware = {"all"};
  // input_shape: the shapes every model's inputs are fixed to, unless the
  // model gives its own (ModelInputShapes()).
  InputShapes input_shapes;
};

// The input shapes of the model at path `model` in `spec`: its own
// input_shape, else the job's (empty: none). The sub-jobs carry them and
// the calibrator must fix the model's inputs to them.
InputShapes ModelInputShapes(const CompareSpec& spec, const std::string& model);

// True when the YAML text is a mapping whose `kind` is compare.
bool IsCompareJob(const std::string& yaml_text);

StatusOr<CompareSpec> ParseCompareSpec(const std::string& yaml_text, const std::string& base_dir,
                                       const std::string& source);
StatusOr<CompareSpec> LoadCompareSpec(const std::string& path);

struct SubJob {
  std::string model;  // the model's path
  std::string yaml;   // an evaluate job with absolute paths
};

// Calibrates `model` on the spec's calibration slice (dataset, samples,
// begin, method) and writes the calibration file `output`. The caller runs
// the engine (the `mixq run` client does it in its own process), so this
// module needs none.
using CompareCalibrator = std::function<Status(const CompareSpec& spec, const std::string& model,
                                               const std::string& output)>;

// One evaluate job per model. Calibrations and chosen configs are files
// written under `work_dir`; chosen configs come from `db_path`'s search
// results for the model (read-only; none when the file does not exist).
// A model without a calibration file is calibrated by `calibrate` when the
// spec names a calibration dataset and a config needs scales. Notes (a
// model without a search result) go to `log`.
StatusOr<std::vector<SubJob>> ExpandCompareJob(const CompareSpec& spec, const std::string& db_path,
                                               const std::string& work_dir,
                                               const CompareCalibrator& calibrate,
                                               std::ostream& log);

}  // namespace mixq

#endif  // MIXQ_RESULTS_COMPARE_JOB_H_
