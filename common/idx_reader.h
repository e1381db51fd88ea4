// Reader for the IDX format of MNIST and Fashion-MNIST: a 4-byte magic
// number 0x0000TTRR (TT the element type, RR the rank), RR big-endian uint32
// dimensions, then the elements, big-endian, row-major. Images are
// 0x00000803 (uint8 [N,H,W]), labels 0x00000801 (uint8 [N]). Element types
// read: 0x08 uint8, 0x09 int8, 0x0C int32, 0x0D float32, 0x0E float64
// (0x0B int16 has no mixq dtype and is refused). Files may be gzip'd.
#ifndef MIXQ_COMMON_IDX_READER_H_
#define MIXQ_COMMON_IDX_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/raw_array.h"
#include "common/status.h"

namespace mixq {

// Parses IDX bytes (already decompressed). Errors: InvalidArgument for a
// wrong magic number, Unimplemented for an element type mixq lacks, DataLoss
// for a truncated (or over-long) file, saying expected and actual bytes.
// `source` names the file in errors. Consumes `bytes` to avoid a copy.
StatusOr<RawArray> ParseIdx(std::vector<uint8_t> bytes, const std::string& source);

// Reads and parses an IDX file, gzip'd or plain.
StatusOr<RawArray> ReadIdx(const std::string& path);

}  // namespace mixq

#endif  // MIXQ_COMMON_IDX_READER_H_
