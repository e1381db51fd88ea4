// Labelled image datasets for calibration and evaluation: a YAML spec names
// the files and the preprocessing; readers for IDX (optionally gzip, as
// Fashion-MNIST ships) and NPY (float32 or uint8 samples, int64 labels) load
// them; Fill() writes preprocessed float32 samples for an index range, in the
// layout the model takes. Shards are deterministic index ranges, so every
// process that shards the same dataset the same way gets the same samples.
#ifndef MIXQ_COMMON_DATASET_H_
#define MIXQ_COMMON_DATASET_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/tensor.h"

namespace mixq {

struct Preprocess {
  float scale = 1.0f;        // raw value * scale first (e.g. 1/255)
  std::vector<float> mean;   // then (x - mean[c]) / std[c]; empty = none
  std::vector<float> std;    // one value per channel, or one for all
  enum class Layout { kNchw, kNhwc } layout = Layout::kNchw;
};

struct DatasetSpec {
  std::string source;  // the YAML file, for error messages
  std::string format;  // "idx" | "npy"
  std::string images;  // path (relative paths resolve against the YAML's folder)
  std::string labels;
  Preprocess preprocess;
};

// Parses a dataset YAML; unknown keys are refused with their path.
StatusOr<DatasetSpec> LoadDatasetSpec(const std::string& yaml_path);

class Dataset {
 public:
  // Reads the files the spec names; fails with a clear message on a wrong
  // magic number, a truncated file, or labels that do not match the images.
  static StatusOr<std::unique_ptr<Dataset>> Open(const DatasetSpec& spec);

  int64_t size() const { return static_cast<int64_t>(labels_.size()); }
  // Shape of one preprocessed sample, in the spec's layout: {C,H,W} or {H,W,C}.
  const Shape& sample_shape() const { return sample_shape_; }
  const std::vector<int64_t>& labels() const { return labels_; }

  // Checks that samples fit a model input of shape {N, ...} (N may be -1).
  Status CheckFits(const Shape& model_input_shape, const std::string& model_name) const;

  // Writes samples [begin, begin+count) preprocessed into `batch` (shape
  // {count, sample_shape...}, float32) and their labels into `labels`.
  Status Fill(int64_t begin, int64_t count, Tensor* batch, std::vector<int64_t>* labels) const;

 private:
  Dataset() = default;
  DatasetSpec spec_;
  DType raw_dtype_ = DType::kU8;       // of the stored samples
  Shape raw_shape_;                    // one sample as stored, e.g. {28,28} or {C,H,W}
  Shape sample_shape_;
  std::vector<uint8_t> raw_;           // all samples, raw bytes
  std::vector<int64_t> labels_;
};

// A contiguous, deterministic slice of a dataset.
struct Shard {
  int64_t index = 0;
  int64_t begin = 0;
  int64_t count = 0;
};

// Splits [begin, begin+count) into shards of `shard_size` (the last may be
// shorter).
std::vector<Shard> MakeShards(int64_t begin, int64_t count, int64_t shard_size);

}  // namespace mixq

#endif  // MIXQ_COMMON_DATASET_H_
