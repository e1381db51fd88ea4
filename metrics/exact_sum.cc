#include "metrics/exact_sum.h"

#include <cmath>
#include <limits>

namespace mixq {
namespace {

// Adds of 32-bit digits a limb absorbs before a carry pass: each adds less
// than 2^33 in magnitude (three digits of one term may land in a limb only
// once), so 2^29 of them stay far inside int64.
constexpr int64_t kAddsBetweenCarries = int64_t{1} << 29;

}  // namespace

void ExactSum::Add(double v) {
  if (!valid_) return;
  if (!std::isfinite(v)) {
    valid_ = false;
    return;
  }
  if (v == 0) return;
  int exponent = 0;
  const double fraction = std::frexp(std::fabs(v), &exponent);  // |v| = fraction * 2^exponent
  // |v| = mantissa * 2^(exponent - 53), mantissa a 53-bit integer.
  uint64_t mantissa = static_cast<uint64_t>(std::ldexp(fraction, 53));
  int shift = exponent - 53 - kLowBit;
  if (shift < 0) {
    if (shift <= -64) return;  // wholly below the lowest bit
    mantissa >>= -shift;       // the bits below 2^-320 go, whatever the order
    shift = 0;
  }
  const int limb = shift / 32;
  if (limb + 2 >= kLimbs) {
    valid_ = false;
    return;
  }
  const unsigned __int128 wide = static_cast<unsigned __int128>(mantissa) << (shift % 32);
  const int64_t sign = v < 0 ? -1 : 1;
  limbs_[limb] += sign * static_cast<int64_t>(static_cast<uint64_t>(wide) & 0xffffffffu);
  limbs_[limb + 1] += sign * static_cast<int64_t>(static_cast<uint64_t>(wide >> 32) & 0xffffffffu);
  limbs_[limb + 2] += sign * static_cast<int64_t>(static_cast<uint64_t>(wide >> 64));
  if (++unnormalized_ >= kAddsBetweenCarries) Normalize();
}

void ExactSum::Normalize() {
  for (int i = 0; i + 1 < kLimbs; ++i) {
    const int64_t carry = limbs_[i] >> 32;  // floor division by 2^32
    limbs_[i] -= carry * (int64_t{1} << 32);
    limbs_[i + 1] += carry;
  }
  // The top limb holds the sign and what is above; the range (2^350) keeps
  // it small.
  if (std::llabs(limbs_[kLimbs - 1]) >= (int64_t{1} << 40)) valid_ = false;
  unnormalized_ = 0;
}

void ExactSum::Merge(const ExactSum& other) {
  valid_ = valid_ && other.valid_;
  ExactSum copy = other;
  copy.Normalize();
  Normalize();
  for (int i = 0; i < kLimbs; ++i) limbs_[i] += copy.limbs_[i];
  Normalize();
}

double ExactSum::Value() const {
  if (!valid_) return std::numeric_limits<double>::quiet_NaN();
  ExactSum n = *this;
  n.Normalize();
  if (!n.valid_) return std::numeric_limits<double>::quiet_NaN();
  // From the top down in long double (64-bit mantissa): the leading limbs
  // decide the double; the result depends only on the normalized limbs.
  long double sum = 0;
  for (int i = kLimbs - 1; i >= 0; --i) {
    sum += std::ldexp(static_cast<long double>(n.limbs_[i]), kLowBit + 32 * i);
  }
  return static_cast<double>(sum);
}

bool ExactSum::operator==(const ExactSum& other) const {
  ExactSum a = *this, b = other;
  a.Normalize();
  b.Normalize();
  return a.valid_ == b.valid_ && a.limbs_ == b.limbs_;
}

void ExactSum::Write(ByteWriter* out) const {
  ExactSum n = *this;
  n.Normalize();
  out->PutByte(n.valid_ ? 1 : 0);
  for (int64_t limb : n.limbs_) out->PutSignedVarint(limb);
}

StatusOr<ExactSum> ExactSum::Read(ByteReader* in, const std::string& what) {
  ExactSum sum;
  uint8_t valid = 0;
  MIXQ_RETURN_IF_ERROR(in->ReadByte(&valid, what + " validity"));
  if (valid > 1) return in->Corrupt(what + ": validity byte " + std::to_string(valid));
  sum.valid_ = valid == 1;
  for (int i = 0; i < kLimbs; ++i) {
    MIXQ_RETURN_IF_ERROR(in->ReadSignedVarint(&sum.limbs_[i], what + " digit"));
    // A normalized sum's lower digits are in [0, 2^32), its top one small.
    const bool top = i == kLimbs - 1;
    if ((!top && (sum.limbs_[i] < 0 || sum.limbs_[i] >= (int64_t{1} << 32))) ||
        (top && std::llabs(sum.limbs_[i]) >= (int64_t{1} << 40))) {
      return in->Corrupt(what + ": digit " + std::to_string(i) + " out of range");
    }
  }
  return sum;
}

}  // namespace mixq
