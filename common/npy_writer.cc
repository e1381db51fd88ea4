#include "common/npy_writer.h"

#include <cstring>
#include <fstream>

namespace mixq {
namespace {

const char* Descr(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "<f4";
    case DType::kF64:
      return "<f8";
    case DType::kF16:
      return "<f2";
    case DType::kI64:
      return "<i8";
    case DType::kI32:
      return "<i4";
    case DType::kI8:
      return "|i1";
    case DType::kU8:
      return "|u1";
    case DType::kBool:
      return "|b1";
  }
  return "|u1";
}

// "(2, 3)", "(5,)" or "()", as Python writes a tuple.
std::string ShapeTuple(const Shape& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

std::vector<uint8_t> NpyBytes(const Tensor& tensor) {
  std::string header = std::string("{'descr': '") + Descr(tensor.dtype()) +
                       "', 'fortran_order': False, 'shape': " + ShapeTuple(tensor.shape()) + ", }";
  // Magic (6), version (2), header length (2 in 1.0, 4 in 2.0), then the
  // header: padded so that the data starts on a 64-byte boundary.
  const bool v1 = header.size() + 1 + 10 <= 65535;
  const size_t prefix = v1 ? 10 : 12;
  const size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';
  std::vector<uint8_t> bytes = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(v1 ? 1 : 2), 0};
  const uint32_t length = static_cast<uint32_t>(header.size());
  for (size_t i = 0; i < (v1 ? 2u : 4u); ++i) bytes.push_back((length >> (8 * i)) & 0xff);
  bytes.insert(bytes.end(), header.begin(), header.end());
  const uint8_t* data = static_cast<const uint8_t*>(tensor.raw());
  if (tensor.bytes() > 0) bytes.insert(bytes.end(), data, data + tensor.bytes());
  return bytes;
}

Status WriteNpy(const std::string& path, const Tensor& tensor) {
  const std::vector<uint8_t> bytes = NpyBytes(tensor);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return NotFound(path + ": cannot open for writing");
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return DataLoss(path + ": write failed");
  return Status::Ok();
}

}  // namespace mixq
