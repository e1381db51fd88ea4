// A sum of doubles that does not depend on the order of its terms, so that
// shards summed on different workers and merged in any order give the same
// bits as one process adding every term in sequence. Each term is added
// exactly into a fixed-point number of 21 32-bit digits whose lowest bit
// weighs 2^-320 (the bits of a term below that are dropped, the same way
// whatever the order, so the result is still order-free); the sum's
// magnitude must stay below 2^350, far past the square of any float32
// (2^256) summed 2^40 times. Value() rounds the exact sum to a double.
#ifndef MIXQ_METRICS_EXACT_SUM_H_
#define MIXQ_METRICS_EXACT_SUM_H_

#include <array>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "metrics/byte_codec.h"

namespace mixq {

class ExactSum {
 public:
  // Adds `v`. A term that is not finite, or past the range, marks the sum
  // invalid (valid() false) rather than wrapping around.
  void Add(double v);
  void Merge(const ExactSum& other);

  bool valid() const { return valid_; }
  // The sum rounded to a double (a deterministic function of the exact sum);
  // NaN when not valid().
  double Value() const;

  bool operator==(const ExactSum& other) const;

  void Write(ByteWriter* out) const;
  static StatusOr<ExactSum> Read(ByteReader* in, const std::string& what);

 private:
  static constexpr int kLimbs = 21;
  static constexpr int kLowBit = -320;  // the weight of limb 0's lowest bit
  // Propagates carries so that limbs 0..kLimbs-2 are in [0, 2^32) and the
  // top one holds the sign: one representation per value.
  void Normalize();

  std::array<int64_t, kLimbs> limbs_{};
  int64_t unnormalized_ = 0;  // Add()s since the last Normalize()
  bool valid_ = true;
};

}  // namespace mixq

#endif  // MIXQ_METRICS_EXACT_SUM_H_
