#include "common/idx_reader.h"

#include <cstdio>
#include <utility>

#include "common/file_bytes.h"

namespace mixq {
namespace {

uint32_t BigEndianU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08X", v);
  return buf;
}

bool IdxDType(uint8_t code, DType* dtype) {
  switch (code) {
    case 0x08:
      *dtype = DType::kU8;
      return true;
    case 0x09:
      *dtype = DType::kI8;
      return true;
    case 0x0C:
      *dtype = DType::kI32;
      return true;
    case 0x0D:
      *dtype = DType::kF32;
      return true;
    case 0x0E:
      *dtype = DType::kF64;
      return true;
    default:
      return false;
  }
}

}  // namespace

StatusOr<RawArray> ParseIdx(std::vector<uint8_t> bytes, const std::string& source) {
  if (bytes.size() < 4) {
    return DataLoss(source + ": truncated IDX file: " + std::to_string(bytes.size()) +
                    " bytes, shorter than the 4-byte magic number");
  }
  const uint32_t magic = BigEndianU32(bytes.data());
  const uint8_t type_code = bytes[2];
  const uint8_t rank = bytes[3];
  const bool known_type = type_code == 0x08 || type_code == 0x09 || type_code == 0x0B ||
                          type_code == 0x0C || type_code == 0x0D || type_code == 0x0E;
  if (bytes[0] != 0 || bytes[1] != 0 || !known_type || rank == 0) {
    return InvalidArgument(source + ": not an IDX file: magic number " + Hex32(magic) +
                           " (expected 0x00000803 for uint8 images, 0x00000801 for uint8 labels)");
  }
  RawArray array;
  if (!IdxDType(type_code, &array.dtype)) {
    return Unimplemented(source + ": IDX element type 0x0B (int16) is not supported");
  }

  const size_t header_bytes = 4 + 4 * size_t{rank};
  if (bytes.size() < header_bytes) {
    return DataLoss(source + ": truncated IDX header: expected " + std::to_string(header_bytes) +
                    " bytes for " + std::to_string(rank) + " dimensions, file has " +
                    std::to_string(bytes.size()));
  }
  for (size_t i = 0; i < rank; ++i) array.shape.push_back(BigEndianU32(&bytes[4 + 4 * i]));

  MIXQ_ASSIGN_OR_RETURN(const size_t payload, PayloadBytes(array.shape, array.dtype, source));
  const size_t expected = header_bytes + payload;
  if (bytes.size() != expected) {
    return DataLoss(source + (bytes.size() < expected ? ": truncated" : ": trailing data") +
                    ": expected " + std::to_string(expected) + " bytes (" +
                    std::to_string(header_bytes) + "-byte header + " + ShapeToString(array.shape) +
                    " " + DTypeName(array.dtype) + "), file has " + std::to_string(bytes.size()));
  }

  // Drop the header in place rather than copying the (possibly large) payload.
  bytes.erase(bytes.begin(), bytes.begin() + header_bytes);
  array.data = std::move(bytes);
  ReverseByteOrder(&array.data, DTypeSize(array.dtype));
  return array;
}

StatusOr<RawArray> ReadIdx(const std::string& path) {
  MIXQ_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  return ParseIdx(std::move(bytes), path);
}

}  // namespace mixq
