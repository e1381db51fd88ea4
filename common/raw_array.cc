#include "common/raw_array.h"

#include <algorithm>
#include <cstring>

namespace mixq {

void ReverseByteOrder(std::vector<uint8_t>* data, size_t element_size) {
  if (element_size <= 1) return;
  for (size_t i = 0; i + element_size <= data->size(); i += element_size) {
    std::reverse(data->begin() + i, data->begin() + i + element_size);
  }
}

StatusOr<std::vector<int64_t>> ArrayToLabels(const RawArray& array, const std::string& source) {
  const bool column = array.shape.size() == 2 && array.shape[1] == 1;
  if (array.shape.size() != 1 && !column) {
    return InvalidArgument(source + ": labels must have shape [N] or [N,1], got " +
                           ShapeToString(array.shape));
  }
  const int64_t n = array.shape[0];
  std::vector<int64_t> labels(n);
  const uint8_t* p = array.data.data();
  switch (array.dtype) {
    case DType::kU8:
      for (int64_t i = 0; i < n; ++i) labels[i] = p[i];
      break;
    case DType::kI8:
      for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<int8_t>(p[i]);
      break;
    case DType::kI32:
      for (int64_t i = 0; i < n; ++i) {
        int32_t v;
        std::memcpy(&v, p + i * sizeof(v), sizeof(v));
        labels[i] = v;
      }
      break;
    case DType::kI64:
      std::memcpy(labels.data(), p, n * sizeof(int64_t));
      break;
    default:
      return InvalidArgument(source +
                             ": labels must be integers (uint8, int8, int32, int64), got " +
                             DTypeName(array.dtype));
  }
  return labels;
}

StatusOr<size_t> PayloadBytes(const Shape& shape, DType dtype, const std::string& source) {
  constexpr uint64_t kLimit = uint64_t{1} << 62;
  uint64_t bytes = DTypeSize(dtype);
  for (int64_t d : shape) {
    if (d < 0) return DataLoss(source + ": negative dimension in " + ShapeToString(shape));
    if (d != 0 && bytes > kLimit / static_cast<uint64_t>(d)) {
      return DataLoss(source + ": header declares an impossibly large array " +
                      ShapeToString(shape));
    }
    bytes *= static_cast<uint64_t>(d);
  }
  return static_cast<size_t>(bytes);
}

}  // namespace mixq
