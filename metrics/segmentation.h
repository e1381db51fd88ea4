// Semantic segmentation metrics as a confusion matrix that merges exactly.
//
// SegmentationStats counts pixels by (label, predicted class) in an
// num_classes x num_classes matrix of int64. Shards merge by adding their
// integer counts, so a sharded evaluation gives the very matrix, and so the
// very mIoU, of one process.
//
// MeanIoU() is the mean over classes whose union (TP + FP + FN) is not zero
// of TP / (TP + FP + FN). A class that appears neither in the labels nor in
// the predictions has no IoU and is left out, rather than counted as 0 or 1:
// this is torchmetrics' JaccardIndex with nan-skipping and mmseg's nanmean.
// A class present only in the predictions has IoU 0 and is counted.
//
// The labels may also be the FP32 model's argmax (AddArgmaxAgreement), which
// measures how far a quantized model's masks moved from the FP32 model's;
// argmax labels never equal an ignore index.
//
// A SegmentationStats is a value: not safe for concurrent mutation, safe for
// concurrent const use.
#ifndef MIXQ_METRICS_SEGMENTATION_H_
#define MIXQ_METRICS_SEGMENTATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/tensor.h"

namespace mixq {

// Most classes a matrix may have: 1024 (8 MiB of counts); ADE20K has 150,
// COCO-Stuff 171. Checked by Create() and by Parse() before allocating.
inline constexpr int64_t kMaxSegmentationClasses = 1024;

class SegmentationStats {
 public:
  // num_classes in [1, kMaxSegmentationClasses]; `ignore_index` (commonly
  // 255), when given, must lie outside [0, num_classes). InvalidArgument
  // otherwise.
  static StatusOr<SegmentationStats> Create(int64_t num_classes,
                                            std::optional<int64_t> ignore_index);

  // Counts `count` pixels: predicted[i] against labels[i]. A pixel whose
  // label is the ignore index is skipped. A label or a prediction outside
  // [0, num_classes) (other than an ignored label) is InvalidArgument naming
  // the value and its position, and then nothing is counted.
  Status Add(const int64_t* predicted, const int64_t* labels, int64_t count);

  // Add() with predictions = argmax over C of float32 `logits` [N, C, H, W]
  // (the first of equal maxima; NaN never wins). `labels` are [N, H, W] or
  // [N, 1, H, W] of int64, int32, uint8 or int8; C must equal num_classes.
  Status AddArgmax(const Tensor& logits, const Tensor& labels);

  // AddArgmax() with labels = argmax of `reference_logits` (same shape), for
  // agreement with the FP32 model.
  Status AddArgmaxAgreement(const Tensor& logits, const Tensor& reference_logits);

  // Adds another shard's counts. InvalidArgument, and nothing changes, when
  // the class count or ignore index differ or a count would overflow int64.
  Status Merge(const SegmentationStats& other);

  // See the top of this file; -1 when no class has a union (nothing counted).
  double MeanIoU() const;
  // Per class, TP / (TP + FP + FN); NaN where the union is zero.
  std::vector<double> ClassIoU() const;
  // Correct pixels over counted pixels; -1 when none was counted.
  double PixelAccuracy() const;

  int64_t num_classes() const { return num_classes_; }
  std::optional<int64_t> ignore_index() const { return ignore_index_; }
  // Pixels labelled `label` and predicted `predicted` (both in range).
  int64_t count(int64_t label, int64_t predicted) const {
    return counts_[label * num_classes_ + predicted];
  }
  int64_t total() const;  // counted pixels

  // The matrix as a compact binary string (byte_codec.h's primitives):
  //
  //   stats := "MQSS" version:byte(=1) num_classes:varint
  //            has_ignore:byte(0|1) [ignore_index:zigzag]
  //            count:varint * num_classes^2   (row = label, column = predicted)
  //
  // Most cells are 0 and take one byte. Example: 2 classes, ignore 255,
  // counts [[3, 1], [0, 2]]: "MQSS" 01 02 01 fe03 03 01 00 02.
  std::string Serialize() const;

  // The inverse of Serialize(); DataLoss starting with `source` for a wrong
  // magic or version, truncation, trailing bytes, a class count past
  // kMaxSegmentationClasses or more than the input can hold, an ignore index
  // inside [0, num_classes), or counts whose sum overflows int64.
  static StatusOr<SegmentationStats> Parse(const std::string& bytes, const std::string& source);

 private:
  SegmentationStats(int64_t num_classes, std::optional<int64_t> ignore_index);

  // OK when `value` is a class; InvalidArgument naming it and `position`.
  Status CheckValue(int64_t value, const char* what, int64_t position) const;

  int64_t num_classes_ = 0;
  std::optional<int64_t> ignore_index_;
  std::vector<int64_t> counts_;  // row-major [label][predicted]
};

}  // namespace mixq

#endif  // MIXQ_METRICS_SEGMENTATION_H_
