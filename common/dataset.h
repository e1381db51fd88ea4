// Labelled image datasets for calibration and evaluation: a YAML spec names
// the files and the preprocessing (schemas/dataset.md); readers for IDX
// (optionally gzip, as Fashion-MNIST ships) and NPY (float32 or uint8
// samples, int64/int32/uint8 labels) load them; Fill() writes preprocessed
// float32 samples for an index range, in the layout the model takes. Shards
// are deterministic index ranges, so every process that shards the same
// dataset the same way gets the same samples.
//
// Layouts. The sample array is [N, ...] as stored in the file:
//   [N,F]      flat features: sample shape {F}, one channel, layout ignored;
//   [N,H,W]    single-channel images: sample shape {1,H,W} (nchw) or {H,W,1}
//              (nhwc);
//   [N,A,B,C]  images stored as the spec's `stored_layout` says ([N,C,H,W]
//              for nchw, the default; [N,H,W,C] for nhwc), converted to the
//              spec's `preprocess.layout`, the layout the model takes.
// Preprocessing, per element of channel c, in float32 and in this order:
//   y = (float(raw) * scale - mean[c]) / std[c]
// (mean 0 and std 1 when not given; one mean/std value applies to every
// channel).
#ifndef MIXQ_COMMON_DATASET_H_
#define MIXQ_COMMON_DATASET_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/input_shapes.h"
#include "common/status.h"
#include "common/tensor.h"

namespace mixq {

struct Preprocess {
  float scale = 1.0f;       // raw value * scale first (e.g. 1/255)
  std::vector<float> mean;  // then (x - mean[c]) / std[c]; empty = none
  std::vector<float> std;   // one value per channel, or one for all
  enum class Layout { kNchw, kNhwc } layout = Layout::kNchw;  // the model's
};

const char* LayoutName(Preprocess::Layout layout);  // "nchw" | "nhwc"

struct DatasetSpec {
  std::string source;  // the YAML file, for error messages
  std::string format;  // "idx" | "npy"
  std::string images;  // path (relative paths resolve against the YAML's folder)
  std::string labels;
  Preprocess preprocess;
  // How 4-D sample files ([N,A,B,C]) are stored; ignored for other ranks.
  Preprocess::Layout stored_layout = Preprocess::Layout::kNchw;
  // `input_shape`: the shapes models with symbolic input dims are fixed to
  // on this dataset (common/input_shapes.h; the first input's dim 0 is each
  // run's batch); empty = none. A command's --input-shape and a job's
  // input_shape win over it.
  InputShapes input_shapes;
};

// Parses a dataset YAML; unknown keys are refused with their path, e.g.
// "configs/datasets/x.yaml: unknown key 'preprocess.scal'"; so are missing
// required keys and bad values (std of 0, unknown layout). Relative `images`
// and `labels` paths are made relative to the YAML's folder. Does not open
// the data files (Dataset::Open does).
StatusOr<DatasetSpec> LoadDatasetSpec(const std::string& yaml_path);

// An opened dataset: all samples in memory as stored, preprocessed on Fill().
// Immutable after Open(), so concurrent Fill() calls are safe.
class Dataset {
 public:
  // Reads the files the spec names; fails with a clear message on a missing
  // file (NotFound), a wrong magic number (InvalidArgument), a truncated file
  // (DataLoss), labels that do not match the images or a mean/std whose
  // length is neither 1 nor the channel count (InvalidArgument).
  static StatusOr<std::unique_ptr<Dataset>> Open(const DatasetSpec& spec);

  int64_t size() const { return static_cast<int64_t>(labels_.size()); }
  // Shape of one preprocessed sample, in the spec's layout: {C,H,W} or {H,W,C}
  // ({F} for flat features).
  const Shape& sample_shape() const { return sample_shape_; }
  const std::vector<int64_t>& labels() const { return labels_; }
  const DatasetSpec& spec() const { return spec_; }

  // Only Open() can name the key, so only Open() constructs (via make_unique).
  class Key {
    friend class Dataset;
    Key() = default;
  };
  explicit Dataset(Key) {}

  // Checks that samples fit a model input of shape {N, ...} (N may be -1; so
  // may other dims, which then take any size). InvalidArgument otherwise, e.g.
  // "dataset 'x.yaml' gives samples [1,28,28], model 'm.onnx' input 'input'
  // wants [?,3,32,32]".
  Status CheckFits(const Shape& model_input_shape, const std::string& model_name,
                   const std::string& input_name = "") const;

  // Writes samples [begin, begin+count) preprocessed into `batch` (shape
  // {count, sample_shape...}, float32; its storage is reused when it already
  // has that shape) and their labels into `labels` (may be null). OutOfRange
  // if the range is not inside [0, size()).
  Status Fill(int64_t begin, int64_t count, Tensor* batch, std::vector<int64_t>* labels) const;

 private:
  DatasetSpec spec_;
  DType raw_dtype_ = DType::kU8;  // of the stored samples
  Shape raw_shape_;               // one sample as stored, e.g. {28,28} or {C,H,W}
  Shape sample_shape_;
  int64_t channels_ = 1, height_ = 1, width_ = 1;
  bool raw_nhwc_ = false;          // raw_ is [N,H,W,C] rather than [N,C,H,W]
  std::vector<float> mean_, std_;  // one per channel
  std::vector<uint8_t> raw_;       // all samples, raw bytes
  std::vector<int64_t> labels_;
};

// A contiguous, deterministic slice of a dataset.
struct Shard {
  int64_t index = 0;
  int64_t begin = 0;
  int64_t count = 0;
};

// Splits [begin, begin+count) into shards of `shard_size` (the last may be
// shorter), indexed from 0. count <= 0 gives no shards; shard_size <= 0 gives
// one shard of everything.
std::vector<Shard> MakeShards(int64_t begin, int64_t count, int64_t shard_size);

}  // namespace mixq

#endif  // MIXQ_COMMON_DATASET_H_
