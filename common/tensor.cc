#include "common/tensor.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace mixq {

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return 4;
    case DType::kF64:
      return 8;
    case DType::kF16:
      return 2;
    case DType::kI64:
      return 8;
    case DType::kI32:
      return 4;
    case DType::kI8:
      return 1;
    case DType::kU8:
      return 1;
    case DType::kBool:
      return 1;
  }
  return 1;
}

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "float32";
    case DType::kF64:
      return "float64";
    case DType::kF16:
      return "float16";
    case DType::kI64:
      return "int64";
    case DType::kI32:
      return "int32";
    case DType::kI8:
      return "int8";
    case DType::kU8:
      return "uint8";
    case DType::kBool:
      return "bool";
  }
  return "unknown";
}

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i] < 0 ? std::string("?") : std::to_string(shape[i]);
  }
  return s + "]";
}

void Tensor::Free::operator()(void* p) const { std::free(p); }

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  for (int64_t d : shape_) {
    if (d < 0)
      throw std::invalid_argument("Tensor: negative dimension in " + ShapeToString(shape_));
  }
  size_ = NumElements(shape_);
  size_t n = bytes();
  size_t alloc = ((n + 63) / 64) * 64;
  if (alloc == 0) alloc = 64;
  void* p = std::aligned_alloc(64, alloc);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, alloc);
  data_.reset(p);
}

Tensor::Tensor(const Tensor& other) : Tensor(other.dtype_, other.shape_) {
  if (other.bytes()) std::memcpy(raw(), other.raw(), other.bytes());
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) {
    Tensor copy(other);
    *this = std::move(copy);
  }
  return *this;
}

void Tensor::Reshape(Shape shape) {
  if (NumElements(shape) != size_) {
    throw std::invalid_argument("Tensor::Reshape: " + ShapeToString(shape_) + " to " +
                                ShapeToString(shape) + " changes the element count");
  }
  shape_ = std::move(shape);
}

int64_t Tensor::IntAt(int64_t i) const {
  switch (dtype_) {
    case DType::kF32:
      return static_cast<int64_t>(data<float>()[i]);
    case DType::kF64:
      return static_cast<int64_t>(data<double>()[i]);
    case DType::kI64:
      return data<int64_t>()[i];
    case DType::kI32:
      return data<int32_t>()[i];
    case DType::kI8:
      return data<int8_t>()[i];
    case DType::kU8:
      return data<uint8_t>()[i];
    case DType::kBool:
      return data<uint8_t>()[i];
    case DType::kF16:
      break;
  }
  throw std::invalid_argument(std::string("Tensor::IntAt: unsupported dtype ") + DTypeName(dtype_));
}

double Tensor::FloatAt(int64_t i) const {
  switch (dtype_) {
    case DType::kF32:
      return data<float>()[i];
    case DType::kF64:
      return data<double>()[i];
    default:
      return static_cast<double>(IntAt(i));
  }
}

std::vector<int64_t> Tensor::ToInt64Vector() const {
  std::vector<int64_t> v(size_);
  for (int64_t i = 0; i < size_; ++i) v[i] = IntAt(i);
  return v;
}

}  // namespace mixq
