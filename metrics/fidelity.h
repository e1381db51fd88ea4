// Label-free fidelity: how far a quantised model's outputs stray from the
// FP32 model's on the same inputs, for any model and any output, so that a
// dataset without labels can still budget a search. Per output:
//   SQNR (dB)  = 10 log10( sum ref^2 / sum (out - ref)^2 ) over every element;
//   cosine     = the mean over samples of cos(out_i, ref_i), each sample's
//                elements taken as one vector (1 when both are all zeros, 0
//                when only one is);
// and the top-1 agreement of the first output stays where it was (EvalCounts).
// Sums are ExactSum: shards merge in any order to the same bits as one run.
#ifndef MIXQ_METRICS_FIDELITY_H_
#define MIXQ_METRICS_FIDELITY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/tensor.h"
#include "metrics/exact_sum.h"

namespace mixq {

struct OutputFidelity {
  std::string output;  // the graph output's name
  ExactSum signal;     // sum of ref^2
  ExactSum noise;      // sum of (out - ref)^2
  ExactSum cosine;     // sum over samples of the sample's cosine
  int64_t samples = 0;

  // +infinity when the outputs are identical (no noise); NaN when the sums
  // are not valid (a non-finite output) or there were no samples.
  double SqnrDb() const;
  double MeanCosine() const;  // NaN without samples
};

// The most outputs one statistic tracks (a model's graph outputs).
inline constexpr int64_t kMaxFidelityOutputs = 4096;

class FidelityStats {
 public:
  // One batch: `reference` and `outputs` hold the same graph outputs
  // (`names`, in order), float32, with the batch's samples along dim 0.
  // InvalidArgument when shapes or types differ, or when `names` differ
  // from those of earlier batches.
  Status Add(const std::vector<std::string>& names, const std::vector<Tensor>& reference,
             const std::vector<Tensor>& outputs);
  // Sums another shard's statistics in (the same outputs, by name and
  // order; InvalidArgument otherwise). Merging into an empty one copies.
  Status Merge(const FidelityStats& other);

  const std::vector<OutputFidelity>& outputs() const { return outputs_; }
  bool empty() const { return outputs_.empty(); }

  // "MQFS" ver:byte(1) n:varint { name_len:varint name samples:varint
  // signal noise cosine }*, each ExactSum as a validity byte and 21
  // zigzag varints. Parse() checks every count against the bytes left.
  std::string Serialize() const;
  static StatusOr<FidelityStats> Parse(const std::string& bytes, const std::string& source);

 private:
  std::vector<OutputFidelity> outputs_;
};

}  // namespace mixq

#endif  // MIXQ_METRICS_FIDELITY_H_
