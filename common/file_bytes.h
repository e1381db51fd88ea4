// Whole-file reads for the dataset readers. Files may be gzip-compressed
// (Fashion-MNIST ships as .gz) or plain; zlib tells them apart by content, so
// the name does not matter. A missing file is NotFound, a damaged or cut-off
// gzip stream is DataLoss; every message starts with the path.
#ifndef MIXQ_COMMON_FILE_BYTES_H_
#define MIXQ_COMMON_FILE_BYTES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/resource_limits.h"
#include "common/status.h"

namespace mixq {

// The file's contents, decompressed if it is gzip. A file that holds (or
// inflates to) more than `max_bytes` is refused (InvalidArgument naming the
// limit) once its first max_bytes are read, so a small gzip stream that
// inflates to terabytes costs at most that much memory.
StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::string& path,
                                             uint64_t max_bytes = kMaxDataFileBytes);

}  // namespace mixq

#endif  // MIXQ_COMMON_FILE_BYTES_H_
