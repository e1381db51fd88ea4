// The byte-level pieces of metrics' serialized statistics. DetectionStats
// and SegmentationStats travel from workers to the coordinator as compact
// binary strings built from these (their headers give each format as a small
// grammar): a 4-byte magic, a version byte, then unsigned LEB128 varints,
// zigzag varints for signed integers, and doubles as their 8 IEEE-754 bytes,
// little-endian, so every score arrives bit for bit as it left.
//
// A ByteReader never trusts its input: each read checks what is left and
// fails with DataLoss naming the source and the byte offset, and
// CheckCount() bounds a declared count by the bytes left before anything is
// allocated for it.
#ifndef MIXQ_METRICS_BYTE_CODEC_H_
#define MIXQ_METRICS_BYTE_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace mixq {

// Appends to a string; never fails.
class ByteWriter {
 public:
  void PutBytes(const std::string& bytes) { out_ += bytes; }
  void PutByte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void PutVarint(uint64_t v);
  void PutSignedVarint(int64_t v);  // zigzag, so small negatives stay short
  void PutDouble(double v);         // the 8 bytes of its bit pattern, little-endian

  const std::string& bytes() const { return out_; }
  std::string Release() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads a string that ByteWriter wrote, or anything else: every method fails
// (DataLoss "<source>: ... at byte N") instead of reading past the end or
// accepting an over-long varint. `what` names the field in the message.
class ByteReader {
 public:
  // `bytes` must outlive the reader (a temporary cannot bind).
  ByteReader(const std::string& bytes, std::string source);
  ByteReader(std::string&& bytes, std::string source) = delete;

  Status ExpectBytes(const std::string& expected, const std::string& what);
  Status ReadByte(uint8_t* out, const std::string& what);
  Status ReadVarint(uint64_t* out, const std::string& what);
  // A varint that must be at most `max` (OK otherwise DataLoss naming the
  // value and the bound); for counts, indices and flags.
  Status ReadBoundedVarint(uint64_t max, uint64_t* out, const std::string& what);
  Status ReadSignedVarint(int64_t* out, const std::string& what);
  Status ReadDouble(double* out, const std::string& what);

  // OK when `count` items of at least `min_item_bytes` each can still be in
  // the input, so a corrupt count cannot make the caller allocate more than
  // the input's size allows.
  Status CheckCount(uint64_t count, size_t min_item_bytes, const std::string& what) const;
  // OK when every byte has been read; DataLoss naming the trailing count.
  Status ExpectEnd() const;

  size_t remaining() const { return bytes_.size() - pos_; }
  // DataLoss "<source>: <message> at byte <offset>", for the callers' own checks.
  Status Corrupt(const std::string& message) const;

 private:
  const std::string& bytes_;
  std::string source_;
  size_t pos_ = 0;
};

}  // namespace mixq

#endif  // MIXQ_METRICS_BYTE_CODEC_H_
