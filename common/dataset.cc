// Dataset::Open, CheckFits, Fill and MakeShards; the spec parser lives in
// dataset_spec.cc, the file formats in idx_reader.cc and npy_reader.cc.
#include "common/dataset.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/idx_reader.h"
#include "common/log.h"
#include "common/npy_reader.h"

namespace mixq {
namespace {

StatusOr<RawArray> ReadArray(const std::string& format, const std::string& path) {
  if (format == "idx") return ReadIdx(path);
  if (format == "npy") return ReadNpy(path);
  return InvalidArgument(path + ": unknown dataset format '" + format + "' (use idx or npy)");
}

// One value per channel from a spec list of 1 or `channels` values; `fill`
// when the list is empty.
StatusOr<std::vector<float>> PerChannel(const std::vector<float>& values, int64_t channels,
                                        float fill, const std::string& what,
                                        const std::string& source) {
  if (values.empty()) return std::vector<float>(channels, fill);
  if (values.size() == 1) return std::vector<float>(channels, values[0]);
  if (static_cast<int64_t>(values.size()) == channels) return values;
  return InvalidArgument(source + ": 'preprocess." + what + "' has " +
                         std::to_string(values.size()) + " values, but the samples have " +
                         std::to_string(channels) + " channels (give 1 or " +
                         std::to_string(channels) + ")");
}

// How one sample is laid out and normalised: everything Fill's inner loop needs.
struct SampleTransform {
  int64_t channels, height, width;
  bool raw_nhwc, out_nhwc;
  float scale;
  const std::vector<float>& mean;  // one per channel
  const std::vector<float>& std_dev;
};

// Preprocesses `count` samples stored as elements of type T. The loop order
// follows the output so writes are sequential.
template <typename T>
void PreprocessSamples(const uint8_t* raw, int64_t count, const SampleTransform& t, float* out) {
  const int64_t hw = t.height * t.width;
  const int64_t per_sample = t.channels * hw;
  for (int64_t n = 0; n < count; ++n) {
    const uint8_t* sample = raw + n * per_sample * sizeof(T);
    auto value = [&](int64_t c, int64_t pixel) {
      const int64_t index = t.raw_nhwc ? pixel * t.channels + c : c * hw + pixel;
      T v;
      std::memcpy(&v, sample + index * sizeof(T), sizeof(T));
      return (static_cast<float>(v) * t.scale - t.mean[c]) / t.std_dev[c];
    };
    float* dst = out + n * per_sample;
    if (t.out_nhwc) {
      for (int64_t p = 0; p < hw; ++p) {
        for (int64_t c = 0; c < t.channels; ++c) *dst++ = value(c, p);
      }
    } else {
      for (int64_t c = 0; c < t.channels; ++c) {
        for (int64_t p = 0; p < hw; ++p) *dst++ = value(c, p);
      }
    }
  }
}

}  // namespace

StatusOr<std::unique_ptr<Dataset>> Dataset::Open(const DatasetSpec& spec) {
  const std::string& source = spec.source.empty() ? spec.images : spec.source;
  MIXQ_ASSIGN_OR_RETURN(RawArray images, ReadArray(spec.format, spec.images));
  MIXQ_ASSIGN_OR_RETURN(RawArray label_array, ReadArray(spec.format, spec.labels));
  MIXQ_ASSIGN_OR_RETURN(std::vector<int64_t> labels, ArrayToLabels(label_array, spec.labels));

  const DType dtype = images.dtype;
  if (dtype != DType::kU8 && dtype != DType::kI8 && dtype != DType::kI32 && dtype != DType::kF32 &&
      dtype != DType::kF64) {
    return Unimplemented(spec.images + ": samples of type " + DTypeName(dtype) +
                         " are not supported");
  }
  if (images.shape.size() < 2 || images.shape.size() > 4) {
    return InvalidArgument(spec.images +
                           ": samples must be [N,F], [N,H,W] or [N,C,H,W]/[N,H,W,C], " + "got " +
                           ShapeToString(images.shape));
  }
  const int64_t n = images.shape[0];
  if (static_cast<int64_t>(labels.size()) != n) {
    return InvalidArgument(source + ": " + std::to_string(labels.size()) + " labels in " +
                           spec.labels + " but " + std::to_string(n) + " samples in " +
                           spec.images);
  }

  auto ds = std::make_unique<Dataset>(Key());
  ds->spec_ = spec;
  ds->raw_dtype_ = dtype;
  ds->raw_shape_.assign(images.shape.begin() + 1, images.shape.end());
  const Shape& s = ds->raw_shape_;
  const bool out_nhwc = spec.preprocess.layout == Preprocess::Layout::kNhwc;
  switch (s.size()) {
    case 1:  // flat features: one channel of F values
      ds->width_ = s[0];
      ds->sample_shape_ = {s[0]};
      break;
    case 2:  // one channel
      ds->height_ = s[0];
      ds->width_ = s[1];
      break;
    default:
      ds->raw_nhwc_ = spec.stored_layout == Preprocess::Layout::kNhwc;
      ds->channels_ = ds->raw_nhwc_ ? s[2] : s[0];
      ds->height_ = ds->raw_nhwc_ ? s[0] : s[1];
      ds->width_ = ds->raw_nhwc_ ? s[1] : s[2];
      break;
  }
  if (s.size() >= 2) {
    ds->sample_shape_ = out_nhwc ? Shape{ds->height_, ds->width_, ds->channels_}
                                 : Shape{ds->channels_, ds->height_, ds->width_};
  }
  MIXQ_ASSIGN_OR_RETURN(ds->mean_,
                        PerChannel(spec.preprocess.mean, ds->channels_, 0.0f, "mean", source));
  MIXQ_ASSIGN_OR_RETURN(ds->std_,
                        PerChannel(spec.preprocess.std, ds->channels_, 1.0f, "std", source));
  ds->raw_ = std::move(images.data);
  ds->labels_ = std::move(labels);
  log().debug("dataset {}: {} samples of {} {} (stored {}), preprocessed to {} {}", source, n,
              DTypeName(dtype), ShapeToString(ds->raw_shape_),
              s.size() == 3 ? LayoutName(spec.stored_layout) : "single-channel",
              ShapeToString(ds->sample_shape_), LayoutName(spec.preprocess.layout));
  return ds;
}

Status Dataset::CheckFits(const Shape& model_input_shape, const std::string& model_name,
                          const std::string& input_name) const {
  bool fits = model_input_shape.size() == sample_shape_.size() + 1;
  for (size_t i = 0; fits && i < sample_shape_.size(); ++i) {
    const int64_t want = model_input_shape[i + 1];
    fits = want < 0 || want == sample_shape_[i];
  }
  if (fits) return Status::Ok();

  std::string message = "dataset '" + spec_.source + "' gives samples " +
                        ShapeToString(sample_shape_) + ", model '" + model_name + "'";
  if (!input_name.empty()) message += " input '" + input_name + "'";
  message += " wants " + ShapeToString(model_input_shape);
  // The common slip: the right image in the other layout.
  if (sample_shape_.size() == 3 && model_input_shape.size() == 4) {
    const bool nhwc = spec_.preprocess.layout == Preprocess::Layout::kNhwc;
    const Shape other =
        nhwc ? Shape{channels_, height_, width_} : Shape{height_, width_, channels_};
    if (std::equal(other.begin(), other.end(), model_input_shape.begin() + 1,
                   [](int64_t have, int64_t want) { return want < 0 || want == have; })) {
      message += std::string(" (set 'preprocess.layout: ") + (nhwc ? "nchw" : "nhwc") + "')";
    }
  }
  return InvalidArgument(message);
}

Status Dataset::Fill(int64_t begin, int64_t count, Tensor* batch,
                     std::vector<int64_t>* labels) const {
  if (batch == nullptr) return InvalidArgument("Dataset::Fill: batch is null");
  if (begin < 0 || count < 0 || begin > size() || count > size() - begin) {
    return OutOfRange(spec_.source + ": cannot take " + std::to_string(count) +
                      " samples from index " + std::to_string(begin) + ": the dataset has " +
                      std::to_string(size()));
  }
  Shape shape = {count};
  shape.insert(shape.end(), sample_shape_.begin(), sample_shape_.end());
  if (batch->dtype() != DType::kF32 || batch->shape() != shape) *batch = Tensor(DType::kF32, shape);

  const int64_t per_sample = channels_ * height_ * width_;
  const uint8_t* raw = raw_.data() + begin * per_sample * DTypeSize(raw_dtype_);
  const SampleTransform t = {channels_,
                             height_,
                             width_,
                             raw_nhwc_,
                             spec_.preprocess.layout == Preprocess::Layout::kNhwc,
                             spec_.preprocess.scale,
                             mean_,
                             std_};
  float* out = batch->data<float>();
  switch (raw_dtype_) {
    case DType::kU8:
      PreprocessSamples<uint8_t>(raw, count, t, out);
      break;
    case DType::kI8:
      PreprocessSamples<int8_t>(raw, count, t, out);
      break;
    case DType::kI32:
      PreprocessSamples<int32_t>(raw, count, t, out);
      break;
    case DType::kF32:
      PreprocessSamples<float>(raw, count, t, out);
      break;
    case DType::kF64:
      PreprocessSamples<double>(raw, count, t, out);
      break;
    default:
      return Internal("Dataset::Fill: unexpected sample type " +
                      std::string(DTypeName(raw_dtype_)));
  }
  if (labels != nullptr) labels->assign(labels_.begin() + begin, labels_.begin() + begin + count);
  return Status::Ok();
}

std::vector<Shard> MakeShards(int64_t begin, int64_t count, int64_t shard_size) {
  std::vector<Shard> shards;
  if (count <= 0) return shards;
  if (shard_size <= 0) shard_size = count;
  for (int64_t offset = 0; offset < count; offset += shard_size) {
    shards.push_back({static_cast<int64_t>(shards.size()), begin + offset,
                      std::min(shard_size, count - offset)});
  }
  return shards;
}

}  // namespace mixq
