#include "metrics/byte_codec.h"

#include <cstring>
#include <utility>

namespace mixq {

void ByteWriter::PutVarint(uint64_t v) {
  while (v >= 0x80) {
    PutByte(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  PutByte(static_cast<uint8_t>(v));
}

void ByteWriter::PutSignedVarint(int64_t v) {
  // Zigzag: 0, -1, 1, -2, ... become 0, 1, 2, 3, ... (the shift of the
  // unsigned value avoids shifting a negative number left).
  const uint64_t u = static_cast<uint64_t>(v);
  PutVarint((u << 1) ^ (v < 0 ? ~uint64_t{0} : uint64_t{0}));
}

void ByteWriter::PutDouble(double v) {
  uint64_t bits;
  static_assert(sizeof(bits) == sizeof(v), "IEEE-754 double");
  std::memcpy(&bits, &v, sizeof(bits));
  for (int i = 0; i < 8; ++i) PutByte(static_cast<uint8_t>(bits >> (8 * i)));
}

ByteReader::ByteReader(const std::string& bytes, std::string source)
    : bytes_(bytes), source_(std::move(source)) {}

Status ByteReader::Corrupt(const std::string& message) const {
  return DataLoss(source_ + ": " + message + " at byte " + std::to_string(pos_));
}

Status ByteReader::ExpectBytes(const std::string& expected, const std::string& what) {
  if (remaining() < expected.size() || bytes_.compare(pos_, expected.size(), expected) != 0) {
    return Corrupt("not " + what);
  }
  pos_ += expected.size();
  return Status::Ok();
}

Status ByteReader::ReadByte(uint8_t* out, const std::string& what) {
  if (remaining() < 1) return Corrupt("truncated: no " + what);
  *out = static_cast<uint8_t>(bytes_[pos_++]);
  return Status::Ok();
}

Status ByteReader::ReadVarint(uint64_t* out, const std::string& what) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (remaining() < 1) return Corrupt("truncated: no " + what);
    const uint8_t b = static_cast<uint8_t>(bytes_[pos_++]);
    // The tenth byte may carry only the top bit of a 64-bit value.
    if (shift == 63 && b > 1) return Corrupt(what + " overflows 64 bits");
    value |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = value;
      return Status::Ok();
    }
  }
  return Corrupt(what + " is a varint longer than 10 bytes");
}

Status ByteReader::ReadBoundedVarint(uint64_t max, uint64_t* out, const std::string& what) {
  MIXQ_RETURN_IF_ERROR(ReadVarint(out, what));
  if (*out > max) {
    return Corrupt(what + " " + std::to_string(*out) + " is more than " + std::to_string(max));
  }
  return Status::Ok();
}

Status ByteReader::ReadSignedVarint(int64_t* out, const std::string& what) {
  uint64_t u = 0;
  MIXQ_RETURN_IF_ERROR(ReadVarint(&u, what));
  *out = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return Status::Ok();
}

Status ByteReader::ReadDouble(double* out, const std::string& what) {
  if (remaining() < 8) return Corrupt("truncated: no " + what);
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) {
    bits |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[pos_ + i])) << (8 * i);
  }
  pos_ += 8;
  std::memcpy(out, &bits, sizeof(bits));
  return Status::Ok();
}

Status ByteReader::CheckCount(uint64_t count, size_t min_item_bytes,
                              const std::string& what) const {
  if (min_item_bytes > 0 && count > remaining() / min_item_bytes) {
    return Corrupt(what + " count " + std::to_string(count) + " is more than the " +
                   std::to_string(remaining()) + " bytes left can hold");
  }
  return Status::Ok();
}

Status ByteReader::ExpectEnd() const {
  if (remaining() != 0) return Corrupt(std::to_string(remaining()) + " trailing bytes");
  return Status::Ok();
}

}  // namespace mixq
