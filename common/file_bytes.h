// Whole-file reads for the dataset readers. Files may be gzip-compressed
// (Fashion-MNIST ships as .gz) or plain; zlib tells them apart by content, so
// the name does not matter. A missing file is NotFound, a damaged or cut-off
// gzip stream is DataLoss; every message starts with the path.
#ifndef MIXQ_COMMON_FILE_BYTES_H_
#define MIXQ_COMMON_FILE_BYTES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace mixq {

// The file's contents, decompressed if it is gzip.
StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::string& path);

}  // namespace mixq

#endif  // MIXQ_COMMON_FILE_BYTES_H_
