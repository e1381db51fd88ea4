// A dense host tensor: element type, shape and owned, row-major storage.
// This is the currency between dataset readers, the ONNX importer (constant
// initializers), the executor's inputs and outputs, and tests. It is a value
// type: copying copies the data. Storage is 64-byte aligned so the executor can
// hand it to oneDNN without a copy.
#ifndef MIXQ_COMMON_TENSOR_H_
#define MIXQ_COMMON_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mixq {

// Element types mixq handles. Others in an ONNX file are refused at import.
enum class DType : uint8_t { kF32, kF64, kF16, kI64, kI32, kI8, kU8, kBool };

size_t DTypeSize(DType dtype);
const char* DTypeName(DType dtype);  // "float32", "int64", ...

// A shape; in graph value infos a dimension of -1 means "not known until a
// batch size is chosen" (the dynamic batch dimension).
using Shape = std::vector<int64_t>;

// Product of the dimensions (1 for a scalar). Undefined for -1 dims.
int64_t NumElements(const Shape& shape);
std::string ShapeToString(const Shape& shape);  // "[1,3,224,224]"

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor of `dtype` and `shape` (all dims >= 0).
  Tensor(DType dtype, Shape shape);

  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size() const { return size_; }  // number of elements
  size_t bytes() const { return size_ * DTypeSize(dtype_); }
  bool empty() const { return size_ == 0; }

  void* raw() { return data_.get(); }
  const void* raw() const { return data_.get(); }
  template <typename T>
  T* data() {
    return static_cast<T*>(raw());
  }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(raw());
  }

  // Same data, new shape with the same number of elements.
  void Reshape(Shape shape);

  // Scalar helpers for small constant tensors (shape arithmetic): element i
  // converted to int64 / double, whatever the dtype.
  int64_t IntAt(int64_t i) const;
  double FloatAt(int64_t i) const;
  std::vector<int64_t> ToInt64Vector() const;

 private:
  struct Free {
    void operator()(void* p) const;
  };
  DType dtype_ = DType::kF32;
  Shape shape_;
  int64_t size_ = 0;
  std::unique_ptr<void, Free> data_;
};

}  // namespace mixq

#endif  // MIXQ_COMMON_TENSOR_H_
