#include "metrics/segmentation.h"

#include <cmath>
#include <limits>
#include <utility>

#include "metrics/byte_codec.h"

namespace mixq {
namespace {

constexpr char kMagic[] = "MQSS";
constexpr uint8_t kVersion = 1;

// Argmax over dim 1 of float32 [N, C, H, W]: the first of equal maxima, and
// NaN never compares greater, so it wins only where every value is NaN.
std::vector<int64_t> ArgmaxOverChannels(const Tensor& logits) {
  const Shape& s = logits.shape();
  const int64_t n = s[0];
  const int64_t c = s[1];
  const int64_t hw = s[2] * s[3];
  std::vector<int64_t> out(n * hw, 0);
  const float* x = logits.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = 0; p < hw; ++p) {
      float best = -std::numeric_limits<float>::infinity();
      int64_t best_c = 0;
      for (int64_t k = 0; k < c; ++k) {
        const float v = x[(i * c + k) * hw + p];
        if (v > best) {
          best = v;
          best_c = k;
        }
      }
      out[i * hw + p] = best_c;
    }
  }
  return out;
}

Status CheckLogits(const Tensor& logits, int64_t num_classes, const char* what) {
  if (logits.dtype() != DType::kF32 || logits.rank() != 4) {
    return InvalidArgument(std::string(what) + " must be float32 [N, C, H, W], not " +
                           DTypeName(logits.dtype()) + " " + ShapeToString(logits.shape()));
  }
  if (logits.shape()[1] != num_classes) {
    return InvalidArgument(std::string(what) + " " + ShapeToString(logits.shape()) + " has " +
                           std::to_string(logits.shape()[1]) + " channels, not the " +
                           std::to_string(num_classes) + " classes");
  }
  return Status::Ok();
}

StatusOr<std::vector<int64_t>> LabelValues(const Tensor& labels) {
  std::vector<int64_t> out(labels.size());
  switch (labels.dtype()) {
    case DType::kI64:
      for (int64_t i = 0; i < labels.size(); ++i) out[i] = labels.data<int64_t>()[i];
      break;
    case DType::kI32:
      for (int64_t i = 0; i < labels.size(); ++i) out[i] = labels.data<int32_t>()[i];
      break;
    case DType::kU8:
      for (int64_t i = 0; i < labels.size(); ++i) out[i] = labels.data<uint8_t>()[i];
      break;
    case DType::kI8:
      for (int64_t i = 0; i < labels.size(); ++i) out[i] = labels.data<int8_t>()[i];
      break;
    default:
      return InvalidArgument(std::string("labels must be int64, int32, uint8 or int8, not ") +
                             DTypeName(labels.dtype()));
  }
  return out;
}

}  // namespace

SegmentationStats::SegmentationStats(int64_t num_classes, std::optional<int64_t> ignore_index)
    : num_classes_(num_classes),
      ignore_index_(ignore_index),
      counts_(num_classes * num_classes, 0) {}

StatusOr<SegmentationStats> SegmentationStats::Create(int64_t num_classes,
                                                      std::optional<int64_t> ignore_index) {
  if (num_classes < 1 || num_classes > kMaxSegmentationClasses) {
    return InvalidArgument("segmentation class count " + std::to_string(num_classes) +
                           " is outside [1, " + std::to_string(kMaxSegmentationClasses) + "]");
  }
  if (ignore_index && *ignore_index >= 0 && *ignore_index < num_classes) {
    return InvalidArgument("ignore index " + std::to_string(*ignore_index) +
                           " is a class (there are " + std::to_string(num_classes) + ")");
  }
  return SegmentationStats(num_classes, ignore_index);
}

Status SegmentationStats::CheckValue(int64_t value, const char* what, int64_t position) const {
  if (value < 0 || value >= num_classes_) {
    return InvalidArgument(
        std::string(what) + " " + std::to_string(value) + " at pixel " + std::to_string(position) +
        " is outside [0, " + std::to_string(num_classes_) + ")" +
        (ignore_index_ ? " and not the ignore index " + std::to_string(*ignore_index_)
                       : std::string()));
  }
  return Status::Ok();
}

Status SegmentationStats::Add(const int64_t* predicted, const int64_t* labels, int64_t count) {
  // Checked first, so a bad pixel leaves the counts as they were.
  for (int64_t i = 0; i < count; ++i) {
    if (ignore_index_ && labels[i] == *ignore_index_) continue;
    MIXQ_RETURN_IF_ERROR(CheckValue(labels[i], "label", i));
    MIXQ_RETURN_IF_ERROR(CheckValue(predicted[i], "prediction", i));
  }
  for (int64_t i = 0; i < count; ++i) {
    if (ignore_index_ && labels[i] == *ignore_index_) continue;
    ++counts_[labels[i] * num_classes_ + predicted[i]];
  }
  return Status::Ok();
}

Status SegmentationStats::AddArgmax(const Tensor& logits, const Tensor& labels) {
  MIXQ_RETURN_IF_ERROR(CheckLogits(logits, num_classes_, "logits"));
  const Shape& s = logits.shape();
  const Shape expected3 = {s[0], s[2], s[3]};
  const Shape expected4 = {s[0], 1, s[2], s[3]};
  if (labels.shape() != expected3 && labels.shape() != expected4) {
    return InvalidArgument("labels " + ShapeToString(labels.shape()) + " do not fit logits " +
                           ShapeToString(s) + " (want " + ShapeToString(expected3) + " or " +
                           ShapeToString(expected4) + ")");
  }
  MIXQ_ASSIGN_OR_RETURN(std::vector<int64_t> label_values, LabelValues(labels));
  const std::vector<int64_t> predicted = ArgmaxOverChannels(logits);
  return Add(predicted.data(), label_values.data(), static_cast<int64_t>(predicted.size()));
}

Status SegmentationStats::AddArgmaxAgreement(const Tensor& logits, const Tensor& reference_logits) {
  MIXQ_RETURN_IF_ERROR(CheckLogits(logits, num_classes_, "logits"));
  MIXQ_RETURN_IF_ERROR(CheckLogits(reference_logits, num_classes_, "reference logits"));
  if (logits.shape() != reference_logits.shape()) {
    return InvalidArgument("logits " + ShapeToString(logits.shape()) + " and reference logits " +
                           ShapeToString(reference_logits.shape()) + " differ in shape");
  }
  const std::vector<int64_t> predicted = ArgmaxOverChannels(logits);
  const std::vector<int64_t> labels = ArgmaxOverChannels(reference_logits);
  return Add(predicted.data(), labels.data(), static_cast<int64_t>(predicted.size()));
}

Status SegmentationStats::Merge(const SegmentationStats& other) {
  if (other.num_classes_ != num_classes_ || other.ignore_index_ != ignore_index_) {
    return InvalidArgument("cannot merge segmentation statistics of " +
                           std::to_string(other.num_classes_) + " classes into " +
                           std::to_string(num_classes_) + " classes, or with another ignore index");
  }
  // Every count stays at most the total, so a total that fits means every
  // cell does.
  int64_t merged_total = 0;
  if (__builtin_add_overflow(total(), other.total(), &merged_total)) {
    return InvalidArgument("merged segmentation counts overflow int64");
  }
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  return Status::Ok();
}

std::vector<double> SegmentationStats::ClassIoU() const {
  std::vector<double> iou(num_classes_, std::nan(""));
  for (int64_t k = 0; k < num_classes_; ++k) {
    int64_t label_total = 0;      // TP + FN: row k
    int64_t predicted_total = 0;  // TP + FP: column k
    for (int64_t j = 0; j < num_classes_; ++j) {
      label_total += count(k, j);
      predicted_total += count(j, k);
    }
    const int64_t tp = count(k, k);
    // Row plus the column's FP: cells of the matrix counted once each, so at
    // most total(), where row + column could pass int64 (fuzz/regressions/
    // metrics_stats/segmentation_iou_union_overflow).
    const int64_t uni = label_total + (predicted_total - tp);
    if (uni > 0) iou[k] = static_cast<double>(tp) / static_cast<double>(uni);
  }
  return iou;
}

double SegmentationStats::MeanIoU() const {
  double sum = 0;
  int64_t classes = 0;
  for (double v : ClassIoU()) {
    if (std::isnan(v)) continue;
    sum += v;
    ++classes;
  }
  return classes == 0 ? -1 : sum / static_cast<double>(classes);
}

int64_t SegmentationStats::total() const {
  int64_t sum = 0;
  for (int64_t c : counts_) sum += c;
  return sum;
}

double SegmentationStats::PixelAccuracy() const {
  const int64_t all = total();
  if (all == 0) return -1;
  int64_t correct = 0;
  for (int64_t k = 0; k < num_classes_; ++k) correct += count(k, k);
  return static_cast<double>(correct) / static_cast<double>(all);
}

std::string SegmentationStats::Serialize() const {
  ByteWriter out;
  out.PutBytes(kMagic);
  out.PutByte(kVersion);
  out.PutVarint(static_cast<uint64_t>(num_classes_));
  out.PutByte(ignore_index_ ? 1 : 0);
  if (ignore_index_) out.PutSignedVarint(*ignore_index_);
  for (int64_t c : counts_) out.PutVarint(static_cast<uint64_t>(c));
  return out.Release();
}

StatusOr<SegmentationStats> SegmentationStats::Parse(const std::string& bytes,
                                                     const std::string& source) {
  ByteReader in(bytes, source);
  MIXQ_RETURN_IF_ERROR(in.ExpectBytes(kMagic, "segmentation statistics (no MQSS magic)"));
  uint8_t version = 0;
  MIXQ_RETURN_IF_ERROR(in.ReadByte(&version, "version"));
  if (version != kVersion) {
    return in.Corrupt("segmentation statistics version " + std::to_string(version) +
                      " (this build reads " + std::to_string(kVersion) + ")");
  }
  uint64_t num_classes = 0;
  MIXQ_RETURN_IF_ERROR(in.ReadBoundedVarint(kMaxSegmentationClasses, &num_classes, "class count"));
  if (num_classes == 0) return in.Corrupt("class count 0");
  uint8_t has_ignore = 0;
  MIXQ_RETURN_IF_ERROR(in.ReadByte(&has_ignore, "ignore flag"));
  if (has_ignore > 1) return in.Corrupt("ignore flag " + std::to_string(has_ignore));
  std::optional<int64_t> ignore_index;
  if (has_ignore) {
    int64_t value = 0;
    MIXQ_RETURN_IF_ERROR(in.ReadSignedVarint(&value, "ignore index"));
    if (value >= 0 && static_cast<uint64_t>(value) < num_classes) {
      return in.Corrupt("ignore index " + std::to_string(value) + " is a class");
    }
    ignore_index = value;
  }
  const uint64_t cells = num_classes * num_classes;
  MIXQ_RETURN_IF_ERROR(in.CheckCount(cells, 1, "matrix cell"));
  SegmentationStats stats(static_cast<int64_t>(num_classes), ignore_index);
  int64_t sum = 0;
  for (uint64_t i = 0; i < cells; ++i) {
    uint64_t c = 0;
    MIXQ_RETURN_IF_ERROR(in.ReadBoundedVarint(
        static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), &c, "count"));
    stats.counts_[i] = static_cast<int64_t>(c);
    if (__builtin_add_overflow(sum, stats.counts_[i], &sum)) {
      return in.Corrupt("counts whose sum overflows int64");
    }
  }
  MIXQ_RETURN_IF_ERROR(in.ExpectEnd());
  return stats;
}

}  // namespace mixq
