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
#include <tuple>
#include <vector>

#include "common/status.h"

namespace mixq {

// Element types mixq handles. Others in an ONNX file are refused at import.
// A new one goes at the end, with its row in DTypeStorageTypes below and in
// tensor.cc's table of names.
enum class DType : uint8_t { kF32, kF64, kF16, kI64, kI32, kI8, kU8, kBool };

// The C++ type that stores one element of each DType, in the enum's order:
// float16 keeps its bits in a uint16_t (C++ has no half type to compute
// in), bool is one byte holding 0 or 1.
using DTypeStorageTypes =
    std::tuple<float, double, uint16_t, int64_t, int32_t, int8_t, uint8_t, uint8_t>;
static_assert(std::tuple_size_v<DTypeStorageTypes> == static_cast<size_t>(DType::kBool) + 1,
              "one storage type per DType");

template <DType D>
using StorageOf = std::tuple_element_t<static_cast<size_t>(D), DTypeStorageTypes>;

// Calls f with a zero of dtype's storage type, so that a generic lambda
// `[&](auto zero) { using T = decltype(zero); ... }` runs with T bound to
// it, and returns what f returns (the same type for every T). Storage alone
// does not tell kU8 from kBool, nor that kF16 holds bits: code that treats
// those apart tests the dtype itself. Throws std::invalid_argument for a
// value outside the enum.
template <typename F>
decltype(auto) VisitDType(DType dtype, F&& f);

size_t DTypeSize(DType dtype);       // sizeof its storage type
const char* DTypeName(DType dtype);  // "float32", "int64", ...; "unknown" outside the enum
bool IsFloatingPoint(DType dtype);   // float32, float64 and float16

// A shape; in graph value infos a dimension of -1 means "not known until a
// batch size is chosen" (the dynamic batch dimension).
using Shape = std::vector<int64_t>;

// Product of the dimensions (1 for a scalar). Undefined for -1 dims.
int64_t NumElements(const Shape& shape);

// The most elements one tensor may have: 2^32 (16 GiB of float32), far
// above any activation of a real model at a sane batch. Shapes that come
// from models and files are checked against it before anything is
// allocated, so a model declaring a 10^12-element tensor is refused with
// one line instead of attempted.
constexpr int64_t kMaxTensorElements = int64_t{1} << 32;

// Ok when `shape`'s known dims (unknown ones, -1, are skipped) multiply to
// at most kMaxTensorElements; the product is formed without overflow.
// InvalidArgument otherwise: "<what> would have N elements [..] (more than
// the limit of 4294967296)".
Status CheckTensorSize(const Shape& shape, const std::string& what);
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
  // converted to int64 / double by static_cast, whatever the dtype. Throw
  // std::invalid_argument for float16, whose bits they do not decode.
  int64_t IntAt(int64_t i) const;
  double FloatAt(int64_t i) const;
  std::vector<int64_t> ToInt64Vector() const;

  // The inverses, for constant folding: store v as element i by static_cast
  // to the storage type, except that bool stores v != 0. SetFromInt goes
  // through double for the floating types, so an int64 rounds to double
  // before float. Throw std::invalid_argument for float16.
  void SetFromDouble(int64_t i, double v);
  void SetFromInt(int64_t i, int64_t v);

 private:
  struct Free {
    void operator()(void* p) const;
  };
  DType dtype_ = DType::kF32;
  Shape shape_;
  int64_t size_ = 0;
  std::unique_ptr<void, Free> data_;
};

namespace internal {

[[noreturn]] void ThrowInvalidDType(DType dtype);

// Compares dtype with each DType from the I-th on, in enum order, and calls
// f with the storage of the one that matches.
template <size_t I, typename F>
decltype(auto) VisitDTypeFrom(DType dtype, F& f) {
  constexpr DType kDType = static_cast<DType>(I);
  if constexpr (I + 1 < std::tuple_size_v<DTypeStorageTypes>) {
    if (dtype != kDType) return VisitDTypeFrom<I + 1>(dtype, f);
  } else {
    if (dtype != kDType) ThrowInvalidDType(dtype);
  }
  return f(StorageOf<kDType>{});
}

}  // namespace internal

template <typename F>
decltype(auto) VisitDType(DType dtype, F&& f) {
  return internal::VisitDTypeFrom<0>(dtype, f);
}

}  // namespace mixq

#endif  // MIXQ_COMMON_TENSOR_H_
