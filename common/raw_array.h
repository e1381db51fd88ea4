// An n-dimensional array as a data file stores it: element type, shape and
// the bytes, row-major and already in the host's (little-endian) byte order.
// The IDX and NPY readers produce it; Dataset turns it into samples and
// labels.
#ifndef MIXQ_COMMON_RAW_ARRAY_H_
#define MIXQ_COMMON_RAW_ARRAY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/tensor.h"

namespace mixq {

struct RawArray {
  DType dtype = DType::kU8;
  Shape shape;                // all dims >= 0; shape[0] is the item count
  std::vector<uint8_t> data;  // NumElements(shape) * DTypeSize(dtype) bytes
};

// Reverses the byte order of each `element_size`-byte element in place (IDX
// and big-endian NPY files store multi-byte numbers big-endian).
void ReverseByteOrder(std::vector<uint8_t>* data, size_t element_size);

// Class labels from an integer array of shape [N] or [N,1] (uint8, int8,
// int32 or int64). `source` names the file in errors.
StatusOr<std::vector<int64_t>> ArrayToLabels(const RawArray& array, const std::string& source);

// The number of bytes an array of `shape` and `dtype` takes; DataLoss if a
// corrupt header declares a size beyond 2^62 bytes. `source` names the file.
StatusOr<size_t> PayloadBytes(const Shape& shape, DType dtype, const std::string& source);

}  // namespace mixq

#endif  // MIXQ_COMMON_RAW_ARRAY_H_
