// Runs one task on this worker: the single place where a TaskAssign becomes
// engine calls (import, Evaluate, Benchmark, ProfileLayers), with the
// QuantSpec built from the task's config and calibration (MakeQuantSpec) and
// the model's inputs fixed to the task's input_shapes (FixInputShapes).
// Keeps the last imported model, opened dataset and built spec, as a worker
// usually gets many shards of the same ones in a row. An evaluate task of a
// quantised config also counts top-1 agreement with the FP32 model on its
// shard; the FP32 predictions come from the worker's cache (top1_cache.h).
#ifndef MIXQ_WORKER_TASK_RUNNER_H_
#define MIXQ_WORKER_TASK_RUNNER_H_

#include <memory>
#include <string>
#include <vector>

#include "common/dataset.h"
#include "common/status.h"
#include "engine/ir/graph.h"
#include "engine/quant/quant_spec.h"
#include "schemas/mixq.pb.h"
#include "worker/top1_cache.h"

namespace mixq {

// Local files for a task's blobs (from the BlobCache).
struct TaskFiles {
  std::string model;
  std::string images;       // evaluate and calibrate only, one-input datasets
                            // (an image folder's manifest)
  std::string labels;       // evaluate and calibrate only
  std::string calibration;  // tasks with a calibration_sha256 only
  // Evaluate and calibrate only, datasets with named inputs (then no images).
  std::vector<DatasetInput> inputs;
  // Image folders: the files of samples [begin, begin+count) of the task.
  std::vector<std::string> image_paths;
  // Evaluate tasks of a detection dataset: the annotation file; of a
  // segmentation dataset: the masks' manifest and the slice's masks.
  std::string annotations;
  std::string masks;
  std::vector<std::string> mask_paths;
};

class TaskRunner {
 public:
  // `cache_dir`: where FP32 predictions are kept ("" = recomputed each time).
  explicit TaskRunner(int threads, std::string cache_dir = "")
      : threads_(threads), top1_cache_(std::move(cache_dir)) {}

  // The result, or an error: InvalidArgument/Unimplemented/NotFound mean the
  // task fails the same way everywhere (not worth retrying).
  StatusOr<proto::TaskResult> Run(const proto::TaskAssign& task, const TaskFiles& files);

 private:
  // The task's model with its inputs fixed to the task's input_shapes.
  Status LoadModel(const proto::TaskAssign& task, const std::string& path);
  Status LoadDataset(const proto::DatasetRef& ref, const TaskFiles& files);
  // An image folder: the manifest's dataset (kept across tasks, with its
  // decoded-image cache) and the task's slice of files.
  Status LoadImages(const proto::TaskAssign& task, const TaskFiles& files);
  // The spec of the task's config and calibration (empty for "fp32").
  Status LoadQuant(const proto::TaskAssign& task, const TaskFiles& files);
  StatusOr<proto::TaskResult> Evaluate(const proto::TaskAssign& task);
  // The FP32 model's top-1 classes on the task's slice, cached.
  StatusOr<std::vector<int32_t>> Fp32Top1(const proto::TaskAssign& task);
  StatusOr<proto::TaskResult> Calibrate(const proto::TaskAssign& task);

  int threads_;
  Top1Cache top1_cache_;
  std::string model_key_;  // the model's sha256 and the input shapes graph_ has
  std::unique_ptr<Graph> graph_;
  std::string dataset_key_;
  std::unique_ptr<Dataset> dataset_;
  std::string quant_key_;
  QuantSpec quant_;
};

}  // namespace mixq

#endif  // MIXQ_WORKER_TASK_RUNNER_H_
