// Dataset::Open, CheckFits, Fill and MakeShards; the spec parser lives in
// dataset_spec.cc, the file formats in idx_reader.cc and npy_reader.cc.
#include "common/dataset.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>

#include "common/idx_reader.h"
#include "common/log.h"
#include "common/npy_reader.h"

namespace mixq {
namespace {

StatusOr<RawArray> ReadArray(const std::string& format, const std::string& path) {
  if (format == "idx") return ReadIdx(path);
  if (format == "npy") return ReadNpy(path);
  return InvalidArgument(path + ": unknown dataset format '" + format +
                         "' (use idx, npy or images)");
}

// One value per channel from a spec list of 1 or `channels` values; `fill`
// when the list is empty.
StatusOr<std::vector<float>> PerChannel(const std::vector<float>& values, int64_t channels,
                                        float fill, const std::string& what,
                                        const std::string& source) {
  if (values.empty()) return std::vector<float>(channels, fill);
  if (values.size() == 1) return std::vector<float>(channels, values[0]);
  if (static_cast<int64_t>(values.size()) == channels) return values;
  return InvalidArgument(
      source + ": 'preprocess." + what + "' has " + std::to_string(values.size()) +
      " values, but the samples have " + std::to_string(channels) +
      (channels == 1 ? " channel (give 1 value)"
                     : " channels (give 1 or " + std::to_string(channels) + ")"));
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

bool IsIntegerType(DType dtype) {
  return dtype == DType::kU8 || dtype == DType::kI8 || dtype == DType::kI32 || dtype == DType::kI64;
}

std::string QuotedList(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "'" : ", '") + name + "'";
  return text;
}

// Opens one sample file, which must hold one sample per label;
// `images_form` makes a bad mean/std an error now (that file can only feed a
// float input) rather than when it feeds one.
StatusOr<Dataset::Input> OpenInput(const DatasetSpec& spec, const DatasetInput& file,
                                   size_t label_count, bool images_form,
                                   const std::string& source) {
  MIXQ_ASSIGN_OR_RETURN(RawArray samples, ReadArray(spec.format, file.path));
  const DType dtype = samples.dtype;
  if (!IsIntegerType(dtype) && dtype != DType::kF32 && dtype != DType::kF64) {
    return Unimplemented(file.path + ": samples of type " + DTypeName(dtype) +
                         " are not supported");
  }
  if (samples.shape.size() < 2 || samples.shape.size() > 4) {
    return InvalidArgument(file.path + ": samples must be [N,F], [N,H,W] or [N,C,H,W]/[N,H,W,C], " +
                           "got " + ShapeToString(samples.shape));
  }
  if (static_cast<int64_t>(label_count) != samples.shape[0]) {
    return InvalidArgument(source + ": " + std::to_string(label_count) + " labels in " +
                           spec.labels + " but " + std::to_string(samples.shape[0]) +
                           " samples in " + file.path);
  }
  Dataset::Input in;
  in.name = file.name;
  in.path = file.path;
  in.dtype = dtype;
  in.raw_shape.assign(samples.shape.begin() + 1, samples.shape.end());
  const Shape& s = in.raw_shape;
  const bool out_nhwc = spec.preprocess.layout == Preprocess::Layout::kNhwc;
  switch (s.size()) {
    case 1:  // flat features: one channel of F values
      in.width = s[0];
      in.sample_shape = {s[0]};
      break;
    case 2:  // one channel
      in.height = s[0];
      in.width = s[1];
      break;
    default:
      in.raw_nhwc = spec.stored_layout == Preprocess::Layout::kNhwc;
      in.channels = in.raw_nhwc ? s[2] : s[0];
      in.height = in.raw_nhwc ? s[0] : s[1];
      in.width = in.raw_nhwc ? s[1] : s[2];
      break;
  }
  if (s.size() >= 2) {
    in.sample_shape = out_nhwc ? Shape{in.height, in.width, in.channels}
                               : Shape{in.channels, in.height, in.width};
  }
  StatusOr<std::vector<float>> mean =
      PerChannel(spec.preprocess.mean, in.channels, 0.0f, "mean", source);
  StatusOr<std::vector<float>> std_dev =
      PerChannel(spec.preprocess.std, in.channels, 1.0f, "std", source);
  in.preprocess = !mean.ok() ? mean.status() : std_dev.status();
  if (!in.preprocess.ok()) {
    if (images_form) return in.preprocess;
    in.preprocess = in.preprocess.WithContext(file.path);
  } else {
    in.mean = std::move(*mean);
    in.std = std::move(*std_dev);
  }
  in.raw = std::move(samples.data);
  log().debug("dataset {}: {} samples of {} {} from {} (stored {}), {} {} for a float input",
              source, samples.shape[0], DTypeName(dtype), ShapeToString(in.raw_shape), file.path,
              s.size() == 3 ? LayoutName(spec.stored_layout) : "single-channel",
              ShapeToString(in.sample_shape), LayoutName(spec.preprocess.layout));
  return in;
}

// Copies `count` integer values of type From into To, refusing values
// outside To; `first` is the sample index of raw[0] for errors.
template <typename From, typename To>
Status CopyIntegers(const uint8_t* raw, int64_t count, int64_t per_sample, int64_t first,
                    const Dataset::Input& in, const ModelInput& target, To* out) {
  for (int64_t i = 0; i < count; ++i) {
    From v;
    std::memcpy(&v, raw + i * sizeof(From), sizeof(From));
    if constexpr (sizeof(From) > sizeof(To)) {
      if (v < std::numeric_limits<To>::lowest() || v > std::numeric_limits<To>::max()) {
        return InvalidArgument(in.path + ": sample " + std::to_string(first + i / per_sample) +
                               " holds " + std::to_string(v) + ", outside model input '" +
                               target.name + "''s " + DTypeName(target.dtype));
      }
    }
    out[i] = static_cast<To>(v);
  }
  return Status::Ok();
}

template <typename To>
Status CopyIntegersFrom(const Dataset::Input& in, const uint8_t* raw, int64_t count,
                        int64_t per_sample, int64_t first, const ModelInput& target, To* out) {
  switch (in.dtype) {
    case DType::kU8:
      return CopyIntegers<uint8_t, To>(raw, count, per_sample, first, in, target, out);
    case DType::kI8:
      return CopyIntegers<int8_t, To>(raw, count, per_sample, first, in, target, out);
    case DType::kI32:
      return CopyIntegers<int32_t, To>(raw, count, per_sample, first, in, target, out);
    case DType::kI64:
      return CopyIntegers<int64_t, To>(raw, count, per_sample, first, in, target, out);
    default:
      return Internal(in.path + ": integer copy of " + DTypeName(in.dtype) + " samples");
  }
}

Status PreprocessInto(const Dataset::Input& in, const Preprocess& preprocess, int64_t begin,
                      int64_t count, float* out) {
  const int64_t per_sample = in.channels * in.height * in.width;
  const uint8_t* raw = in.raw.data() + begin * per_sample * DTypeSize(in.dtype);
  const SampleTransform t = {in.channels,
                             in.height,
                             in.width,
                             in.raw_nhwc,
                             preprocess.layout == Preprocess::Layout::kNhwc,
                             preprocess.scale,
                             in.mean,
                             in.std};
  switch (in.dtype) {
    case DType::kU8:
      PreprocessSamples<uint8_t>(raw, count, t, out);
      break;
    case DType::kI8:
      PreprocessSamples<int8_t>(raw, count, t, out);
      break;
    case DType::kI32:
      PreprocessSamples<int32_t>(raw, count, t, out);
      break;
    case DType::kI64:
      PreprocessSamples<int64_t>(raw, count, t, out);
      break;
    case DType::kF32:
      PreprocessSamples<float>(raw, count, t, out);
      break;
    case DType::kF64:
      PreprocessSamples<double>(raw, count, t, out);
      break;
    default:
      return Internal("Dataset::Fill: unexpected sample type " + std::string(DTypeName(in.dtype)));
  }
  return Status::Ok();
}

}  // namespace

std::vector<DatasetInput> SampleFiles(const DatasetSpec& spec) {
  if (spec.inputs.empty()) return {{"", spec.images}};
  return spec.inputs;
}

StatusOr<std::unique_ptr<Dataset>> Dataset::Open(const DatasetSpec& spec) {
  if (spec.format == "images") {
    if (spec.images.empty()) {
      return InvalidArgument(spec.source + ": 'images' must name an image folder or list file");
    }
    MIXQ_ASSIGN_OR_RETURN(ImageListing listing, spec.task.kind == TaskSpec::Kind::kClassification
                                                    ? ListImages(spec.images)
                                                    : ListUnlabelledImages(spec.images));
    log().debug("dataset {}: {} images in {} classes under {}", spec.source, listing.files.size(),
                listing.classes.size(), spec.images);
    if (spec.task.kind == TaskSpec::Kind::kSegmentation) {
      for (ImageFile& file : listing.files) {
        file.mask = MaskPath(spec.task.masks, file.path);
      }
    }
    return OpenImages(spec, std::move(listing.files));
  }
  if (spec.images.empty() == spec.inputs.empty()) {
    return InvalidArgument((spec.source.empty() ? spec.labels : spec.source) +
                           ": give either 'images' or 'inputs'");
  }
  const bool images_form = !spec.images.empty();
  const std::vector<DatasetInput> files = SampleFiles(spec);
  const std::string& source = spec.source.empty() ? files[0].path : spec.source;
  MIXQ_ASSIGN_OR_RETURN(RawArray label_array, ReadArray(spec.format, spec.labels));
  MIXQ_ASSIGN_OR_RETURN(std::vector<int64_t> labels, ArrayToLabels(label_array, spec.labels));

  auto ds = std::make_unique<Dataset>(Key());
  for (const DatasetInput& file : files) {
    MIXQ_ASSIGN_OR_RETURN(Input in, OpenInput(spec, file, labels.size(), images_form, source));
    ds->inputs_.push_back(std::move(in));
  }
  ds->spec_ = spec;
  ds->labels_ = std::move(labels);
  return ds;
}

StatusOr<std::unique_ptr<Dataset>> Dataset::OpenImages(const DatasetSpec& spec,
                                                       std::vector<ImageFile> files) {
  const std::string& source = spec.source.empty() ? spec.images : spec.source;
  if (files.empty()) return InvalidArgument(source + ": no images");
  Input in;
  in.path = spec.images;
  in.dtype = DType::kU8;
  in.channels = spec.preprocess.image.color == ColorMode::kGray ? 1 : 3;
  const auto [height, width] = FixedImageSize(spec.preprocess.image);
  in.height = height > 0 ? height : -1;
  in.width = width > 0 ? width : -1;
  in.raw_shape = {in.height, in.width, in.channels};
  in.sample_shape = spec.preprocess.layout == Preprocess::Layout::kNhwc
                        ? Shape{in.height, in.width, in.channels}
                        : Shape{in.channels, in.height, in.width};
  MIXQ_ASSIGN_OR_RETURN(in.mean,
                        PerChannel(spec.preprocess.mean, in.channels, 0.0f, "mean", source));
  MIXQ_ASSIGN_OR_RETURN(in.std, PerChannel(spec.preprocess.std, in.channels, 1.0f, "std", source));
  auto ds = std::make_unique<Dataset>(Key());
  ds->labels_.reserve(files.size());
  for (const ImageFile& file : files) ds->labels_.push_back(file.label);
  ds->images_ = std::make_unique<ImageSamples>(std::move(files), spec.preprocess.image);
  ds->inputs_.push_back(std::move(in));
  ds->spec_ = spec;
  return ds;
}

void Dataset::SetImagePath(int64_t index, const std::string& path) {
  if (images_ != nullptr) images_->SetPath(index, path);
}

void Dataset::SetMaskPath(int64_t index, const std::string& path) {
  if (images_ != nullptr) images_->SetMaskPath(index, path);
}

std::string MaskPath(const std::string& masks, const std::string& image_path) {
  const std::string stem = std::filesystem::path(image_path).stem();
  return (std::filesystem::path(masks) / (stem + ".png")).string();
}

Status Dataset::FillImages(int64_t begin, int64_t count, int64_t height, int64_t width,
                           float* out) const {
  const Input& in = inputs_[0];
  const int64_t channels = in.channels;
  const int64_t hw = height * width;
  const bool out_nhwc = spec_.preprocess.layout == Preprocess::Layout::kNhwc;
  const float scale = spec_.preprocess.scale;
  for (int64_t n = 0; n < count; ++n) {
    MIXQ_ASSIGN_OR_RETURN(std::shared_ptr<const Image> image,
                          images_->Get(begin + n, height, width));
    const uint8_t* pixels = image->pixels.data();
    float* dst = out + n * channels * hw;
    for (int64_t c = 0; c < channels; ++c) {
      // The model's channel c; in B, G, R order it reads the image's 2 - c.
      const int64_t from = spec_.preprocess.bgr && channels == 3 ? 2 - c : c;
      const float mean = in.mean[c], std_dev = in.std[c];
      for (int64_t p = 0; p < hw; ++p) {
        const float value =
            (static_cast<float>(pixels[p * channels + from]) * scale - mean) / std_dev;
        dst[out_nhwc ? p * channels + c : c * hw + p] = value;
      }
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<size_t>> Dataset::Match(const std::vector<ModelInput>& model_inputs,
                                             const std::string& model_name) const {
  std::vector<std::string> model_names;
  for (const ModelInput& m : model_inputs) model_names.push_back(m.name);
  if (spec_.inputs.empty()) {
    if (model_inputs.size() == 1) return std::vector<size_t>{0};
    return InvalidArgument("dataset '" + spec_.source +
                           "' gives one sample file ('images'), model '" + model_name + "' has " +
                           std::to_string(model_inputs.size()) + " inputs (" +
                           QuotedList(model_names) + "): give a file per input under 'inputs'");
  }
  std::vector<size_t> match;
  std::vector<std::string> missing, extra;
  for (const ModelInput& m : model_inputs) {
    auto it = std::find_if(inputs_.begin(), inputs_.end(),
                           [&](const Input& in) { return in.name == m.name; });
    if (it == inputs_.end()) {
      missing.push_back(m.name);
    } else {
      match.push_back(static_cast<size_t>(it - inputs_.begin()));
    }
  }
  for (const Input& in : inputs_) {
    if (std::find(model_names.begin(), model_names.end(), in.name) == model_names.end()) {
      extra.push_back(in.name);
    }
  }
  if (missing.empty() && extra.empty()) return match;
  std::string message =
      "dataset '" + spec_.source + "' and model '" + model_name + "' name different inputs:";
  if (!missing.empty()) message += " model input " + QuotedList(missing) + " has no file;";
  if (!extra.empty()) message += " dataset input " + QuotedList(extra) + " is not a model input;";
  message += " the model's inputs are " + QuotedList(model_names);
  return InvalidArgument(message);
}

Status Dataset::CheckFits(const std::vector<ModelInput>& model_inputs,
                          const std::string& model_name) const {
  MIXQ_ASSIGN_OR_RETURN(std::vector<size_t> match, Match(model_inputs, model_name));
  for (size_t i = 0; i < model_inputs.size(); ++i) {
    const ModelInput& m = model_inputs[i];
    const Input& in = inputs_[match[i]];
    const bool to_float = m.dtype == DType::kF32;
    if (to_float && !in.preprocess.ok()) return in.preprocess;
    if (!to_float && m.dtype != DType::kI64 && m.dtype != DType::kI32) {
      return InvalidArgument("model '" + model_name + "' input '" + m.name + "' takes " +
                             DTypeName(m.dtype) +
                             "; datasets feed float32, int64 and int32 inputs");
    }
    if (!to_float && !IsIntegerType(in.dtype)) {
      return InvalidArgument("dataset '" + spec_.source + "' gives " + DTypeName(in.dtype) +
                             " samples in " + in.path + ", model '" + model_name + "' input '" +
                             m.name + "' takes " + DTypeName(m.dtype) +
                             " (give an integer file: <i8, <i4, |i1 or |u1)");
    }
    const Shape& sample = to_float ? in.sample_shape : in.raw_shape;
    bool fits = m.shape.size() == sample.size() + 1;
    bool sized = true;  // every dim the samples leave open is fixed by the model
    for (size_t d = 0; fits && d < sample.size(); ++d) {
      const int64_t want = m.shape[d + 1];
      fits = want < 0 || sample[d] < 0 || want == sample[d];
      sized = sized && (sample[d] >= 0 || want >= 0);
    }
    if (fits && !sized) {
      return InvalidArgument("dataset '" + spec_.source +
                             "' takes its image size from the model, but model '" + model_name +
                             "' input '" + m.name + "' is " + ShapeToString(m.shape) +
                             ": fix it with --input-shape (or the job's input_shape), or give "
                             "'preprocess.center_crop'");
    }
    if (fits) continue;

    std::string message = "dataset '" + spec_.source + "' gives samples " + ShapeToString(sample) +
                          ", model '" + model_name + "'";
    if (!m.name.empty()) message += " input '" + m.name + "'";
    message += " wants " + ShapeToString(m.shape);
    // The common slip: the right image in the other layout.
    if (to_float && sample.size() == 3 && m.shape.size() == 4) {
      const bool nhwc = spec_.preprocess.layout == Preprocess::Layout::kNhwc;
      const Shape other =
          nhwc ? Shape{in.channels, in.height, in.width} : Shape{in.height, in.width, in.channels};
      if (std::equal(other.begin(), other.end(), m.shape.begin() + 1,
                     [](int64_t have, int64_t want) { return want < 0 || want == have; })) {
        message += std::string(" (set 'preprocess.layout: ") + (nhwc ? "nchw" : "nhwc") + "')";
      }
    }
    return InvalidArgument(message);
  }
  return Status::Ok();
}

Status Dataset::CheckFits(const Shape& model_input_shape, const std::string& model_name,
                          const std::string& input_name) const {
  const std::string name = spec_.inputs.empty() ? input_name : inputs_[0].name;
  return CheckFits({{name, DType::kF32, model_input_shape}}, model_name);
}

Status Dataset::Fill(int64_t begin, int64_t count, const std::vector<ModelInput>& model_inputs,
                     std::vector<Tensor>* batch, std::vector<int64_t>* labels) const {
  if (batch == nullptr) return InvalidArgument("Dataset::Fill: batch is null");
  if (begin < 0 || count < 0 || begin > size() || count > size() - begin) {
    return OutOfRange(spec_.source + ": cannot take " + std::to_string(count) +
                      " samples from index " + std::to_string(begin) + ": the dataset has " +
                      std::to_string(size()));
  }
  MIXQ_ASSIGN_OR_RETURN(std::vector<size_t> match, Match(model_inputs, "the model"));
  batch->resize(model_inputs.size());
  for (size_t i = 0; i < model_inputs.size(); ++i) {
    const ModelInput& m = model_inputs[i];
    const Input& in = inputs_[match[i]];
    const bool to_float = m.dtype == DType::kF32;
    if (!to_float &&
        (!IsIntegerType(in.dtype) || (m.dtype != DType::kI64 && m.dtype != DType::kI32))) {
      return InvalidArgument(in.path + ": " + DTypeName(in.dtype) + " samples cannot feed " +
                             DTypeName(m.dtype) + " input '" + m.name + "'");
    }
    if (to_float && !in.preprocess.ok()) return in.preprocess;
    Shape sample = to_float ? in.sample_shape : in.raw_shape;
    if (images_ != nullptr) {
      if (!to_float) {
        return InvalidArgument(spec_.source + ": images feed float32 inputs, not input '" + m.name +
                               "' of " + DTypeName(m.dtype));
      }
      // An open height or width is the model's (CheckFits() makes sure it has one).
      for (size_t d = 0; d < sample.size(); ++d) {
        if (sample[d] < 0 && m.shape.size() == sample.size() + 1) sample[d] = m.shape[d + 1];
        if (sample[d] < 0) {
          return InvalidArgument(spec_.source +
                                 ": the image size is open and the model's input does not fix "
                                 "it; give --input-shape or 'preprocess.center_crop'");
        }
      }
    }
    Shape shape = {count};
    shape.insert(shape.end(), sample.begin(), sample.end());
    Tensor& out = (*batch)[i];
    if (out.dtype() != m.dtype || out.shape() != shape) out = Tensor(m.dtype, shape);
    if (images_ != nullptr) {
      const bool nhwc = spec_.preprocess.layout == Preprocess::Layout::kNhwc;
      MIXQ_RETURN_IF_ERROR(FillImages(begin, count, nhwc ? sample[0] : sample[1],
                                      nhwc ? sample[1] : sample[2], out.data<float>()));
      continue;
    }
    if (to_float) {
      MIXQ_RETURN_IF_ERROR(PreprocessInto(in, spec_.preprocess, begin, count, out.data<float>()));
      continue;
    }
    const int64_t per_sample = NumElements(in.raw_shape);
    const uint8_t* raw = in.raw.data() + begin * per_sample * DTypeSize(in.dtype);
    MIXQ_RETURN_IF_ERROR(m.dtype == DType::kI64
                             ? CopyIntegersFrom(in, raw, count * per_sample, per_sample, begin, m,
                                                out.data<int64_t>())
                             : CopyIntegersFrom(in, raw, count * per_sample, per_sample, begin, m,
                                                out.data<int32_t>()));
  }
  if (labels != nullptr) labels->assign(labels_.begin() + begin, labels_.begin() + begin + count);
  return Status::Ok();
}

Status Dataset::Fill(int64_t begin, int64_t count, Tensor* batch,
                     std::vector<int64_t>* labels) const {
  if (batch == nullptr) return InvalidArgument("Dataset::Fill: batch is null");
  if (inputs_.size() != 1) {
    return InvalidArgument(spec_.source + ": " + std::to_string(inputs_.size()) +
                           " inputs; fill them by the model's inputs");
  }
  // The caller's tensor goes in and out so that its storage is reused.
  std::vector<Tensor> one(1);
  one[0] = std::move(*batch);
  const Status status = Fill(begin, count, {{inputs_[0].name, DType::kF32, {}}}, &one, labels);
  *batch = std::move(one[0]);
  return status;
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
