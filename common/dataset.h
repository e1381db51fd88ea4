// Labelled datasets for calibration and evaluation: a YAML spec names the
// files and the preprocessing (schemas/dataset.md); readers for IDX
// (optionally gzip, as Fashion-MNIST ships) and NPY (float or integer
// samples, int64/int32/uint8 labels) load them; Fill() writes the samples of
// an index range as the model's inputs take them. Shards are deterministic
// index ranges, so every process that shards the same dataset the same way
// gets the same samples.
//
// Inputs. The `images` form gives one sample file, which feeds the model's
// only input; the `inputs` form gives one file per model input, by name
// (e.g. a text model's `input_ids` and `attention_mask`). Each model input
// is fed by its type: a float32 input gets the samples preprocessed as
// below (every float input alike); an int64 or int32 input gets an integer
// file's values unchanged, converted to its type (a value outside that type
// is an error naming the file and the sample).
//
// Layouts (float inputs; integer inputs take samples as stored). The sample
// array is [N, ...] as stored in the file:
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
//
// Image folders (`format: images`): `images` names a folder of class folders
// or a list file (image_listing.h); labels come from it, so there is no
// `labels` file. Each sample is decoded when it is first filled, converted
// to RGB (or grey), resized, center-cropped (image_samples.h, matching
// torchvision's transforms on PIL images), optionally put in B, G, R order,
// and then scaled and normalised as above, mean[c] and std[c] applying to
// the model's channel c. Without a center crop or an exact resize the
// samples take the model's input height and width.
#ifndef MIXQ_COMMON_DATASET_H_
#define MIXQ_COMMON_DATASET_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/image_samples.h"
#include "common/input_shapes.h"
#include "common/status.h"
#include "common/task_spec.h"
#include "common/tensor.h"

namespace mixq {

struct Preprocess {
  float scale = 1.0f;       // raw value * scale first (e.g. 1/255)
  std::vector<float> mean;  // then (x - mean[c]) / std[c]; empty = none
  std::vector<float> std;   // one value per channel, or one for all
  enum class Layout { kNchw, kNhwc } layout = Layout::kNchw;  // the model's
  // `format: images` only: decoding, resize and crop, then channel order.
  ImageResizeCrop image;
  bool bgr = false;  // colour channels in B, G, R order (models trained with OpenCV)
};

const char* LayoutName(Preprocess::Layout layout);  // "nchw" | "nhwc"

// One named model input's sample file in the `inputs` form.
struct DatasetInput {
  std::string name;  // the model input it feeds
  std::string path;  // samples [N, ...]
};

struct DatasetSpec {
  std::string source;  // the YAML file, for error messages
  std::string format;  // "idx" | "npy" | "images"
  // Exactly one of `images` (one sample file, for the model's only input;
  // for `format: images` the folder or list file) and `inputs` (files by
  // model input name, in the YAML's order) is set. Relative paths resolve
  // against the YAML's folder.
  std::string images;
  std::vector<DatasetInput> inputs;
  std::string labels;  // empty for `format: images`
  Preprocess preprocess;
  // How 4-D sample files ([N,A,B,C]) are stored; ignored for other ranks.
  Preprocess::Layout stored_layout = Preprocess::Layout::kNchw;
  // What the samples are scored on: labels (the default), or for an image
  // folder a detection annotation file or segmentation masks, whose images
  // are then the files directly in `images` (no class folders, no labels:
  // every label is -1).
  TaskSpec task;
  // `input_shape`: the shapes models with symbolic input dims are fixed to
  // on this dataset (common/input_shapes.h; the first input's dim 0 is each
  // run's batch); empty = none. A command's --input-shape and a job's
  // input_shape win over it.
  InputShapes input_shapes;
};

// The files that hold a spec's samples: the `images` file (named "") or the
// `inputs` files, in the spec's order.
std::vector<DatasetInput> SampleFiles(const DatasetSpec& spec);

// Parses a dataset YAML; unknown keys are refused with their path, e.g.
// "configs/datasets/x.yaml: unknown key 'preprocess.scal'"; so are missing
// required keys and bad values (std of 0, unknown layout, `images` and
// `inputs` together). Relative sample and label
// paths are made relative to the YAML's folder. Does not open the data files
// (Dataset::Open does).
StatusOr<DatasetSpec> LoadDatasetSpec(const std::string& yaml_path);

// A model input as a dataset feeds it: its name, element type and shape
// {N, ...} (N may be -1; so may other dims, which then take any size).
struct ModelInput {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;
};

// An opened dataset: all samples in memory as stored, preprocessed on Fill().
// Immutable after Open(), so concurrent Fill() calls are safe.
class Dataset {
 public:
  // One sample file as opened.
  struct Input {
    std::string name;  // the model input it feeds; "" in the `images` form
    std::string path;
    DType dtype = DType::kU8;  // of the stored samples
    Shape raw_shape;           // one sample as stored (what integer inputs take)
    Shape sample_shape;        // one sample preprocessed for a float input
    int64_t channels = 1, height = 1, width = 1;
    bool raw_nhwc = false;             // stored [N,H,W,C] rather than [N,C,H,W]
    std::vector<float> mean, std;      // one per channel
    Status preprocess = Status::Ok();  // why the samples cannot feed a float input
    std::vector<uint8_t> raw;          // all samples, raw bytes
  };

  // Reads the files the spec names; fails with a clear message on a missing
  // file (NotFound), a wrong magic number (InvalidArgument), a truncated file
  // (DataLoss), files whose sample counts differ from each other or from the
  // labels (naming the files), or, in the `images` form, a mean/std whose
  // length is neither 1 nor the channel count (InvalidArgument; in the
  // `inputs` form that is an error only for a file that feeds a float input).
  static StatusOr<std::unique_ptr<Dataset>> Open(const DatasetSpec& spec);
  // A `format: images` dataset whose files are given rather than listed
  // from spec.images (a worker's cached copies; an empty path is a file
  // this machine does not hold, and filling it fails).
  static StatusOr<std::unique_ptr<Dataset>> OpenImages(const DatasetSpec& spec,
                                                       std::vector<ImageFile> files);

  int64_t size() const { return static_cast<int64_t>(labels_.size()); }
  // The sample files, in the spec's order (one in the `images` form).
  const std::vector<Input>& inputs() const { return inputs_; }
  // Shape of one preprocessed sample of the first file, in the spec's
  // layout: {C,H,W} or {H,W,C} ({F} for flat features). An image folder
  // without a fixed size has -1 for H and W (the model's size decides).
  const Shape& sample_shape() const { return inputs_[0].sample_shape; }
  const std::vector<int64_t>& labels() const { return labels_; }
  const DatasetSpec& spec() const { return spec_; }
  // The image files of a `format: images` dataset; null for the others.
  const ImageSamples* images() const { return images_.get(); }
  // Names the file of image sample `index` (OpenImages' empty paths are
  // filled as a worker fetches its slices). Not thread-safe: no Fill() may
  // run meanwhile. Ignored for other datasets and indexes outside them.
  void SetImagePath(int64_t index, const std::string& path);
  // The same for sample `index`'s label mask (a segmentation dataset).
  void SetMaskPath(int64_t index, const std::string& path);

  // Only Open() can name the key, so only Open() constructs (via make_unique).
  class Key {
    friend class Dataset;
    Key() = default;
  };
  explicit Dataset(Key) {}

  // Checks that the dataset feeds every input of model `model_name`, by name
  // (the `images` form feeds a model with one input, whatever its name): no
  // model input without a file and no file for an input the model lacks (one
  // line naming both sides), types that fit (float32 inputs take any file;
  // int64 and int32 inputs take integer files), and sample shapes that fit.
  // InvalidArgument otherwise, e.g. "dataset 'x.yaml' gives samples
  // [1,28,28], model 'm.onnx' input 'input' wants [?,3,32,32]".
  Status CheckFits(const std::vector<ModelInput>& model_inputs,
                   const std::string& model_name) const;
  // The same for a model with one float32 input of `model_input_shape`.
  Status CheckFits(const Shape& model_input_shape, const std::string& model_name,
                   const std::string& input_name = "") const;

  // Writes samples [begin, begin+count) into `batch`, one tensor per model
  // input in `model_inputs`' order, each of that input's type and shape
  // {count, sample...} (storage is reused when a tensor already has it), and
  // their labels into `labels` (may be null). OutOfRange if the range is not
  // inside [0, size()); InvalidArgument when the inputs do not fit (see
  // CheckFits) or an integer value is outside the input's type.
  Status Fill(int64_t begin, int64_t count, const std::vector<ModelInput>& model_inputs,
              std::vector<Tensor>* batch, std::vector<int64_t>* labels) const;
  // The same for a one-input dataset feeding a float32 input.
  Status Fill(int64_t begin, int64_t count, Tensor* batch, std::vector<int64_t>* labels) const;

 private:
  // For each of `model_inputs`, the index of the file that feeds it.
  StatusOr<std::vector<size_t>> Match(const std::vector<ModelInput>& model_inputs,
                                      const std::string& model_name) const;
  // Decodes and preprocesses image samples [begin, begin+count) at
  // height x width into `out` ({count, sample...} in the spec's layout).
  Status FillImages(int64_t begin, int64_t count, int64_t height, int64_t width, float* out) const;

  DatasetSpec spec_;
  std::vector<Input> inputs_;
  std::vector<int64_t> labels_;
  std::unique_ptr<ImageSamples> images_;  // `format: images` only
};

// The label mask of a segmentation dataset's image: `<image stem>.png` in
// the `masks` folder (common/task_spec.h).
std::string MaskPath(const std::string& masks, const std::string& image_path);

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
