#include "common/tensor.h"

#include <cstdlib>
#include <cstring>
#include <iterator>
#include <stdexcept>

namespace mixq {

namespace {

// What each DType is called and whether it holds real numbers, in the
// enum's order.
struct DTypeFacts {
  const char* name;
  bool floating;
};
constexpr DTypeFacts kDTypeFacts[] = {
    {"float32", true}, {"float64", true}, {"float16", true}, {"int64", false},
    {"int32", false},  {"int8", false},   {"uint8", false},  {"bool", false},
};
static_assert(std::size(kDTypeFacts) == std::tuple_size_v<DTypeStorageTypes>, "one row per DType");

const DTypeFacts* FactsOf(DType dtype) {
  const size_t i = static_cast<size_t>(dtype);
  return i < std::size(kDTypeFacts) ? &kDTypeFacts[i] : nullptr;
}

// Tensors of float16 hold bits that the scalar helpers do not decode or
// encode; mixq widens float16 to float32 at import, so none reach them.
void RefuseHalf(DType dtype, const char* caller) {
  if (dtype == DType::kF16) {
    throw std::invalid_argument(std::string(caller) + ": unsupported dtype " + DTypeName(dtype));
  }
}

// Element i of `tensor` converted to R.
template <typename R>
R Load(const Tensor& tensor, int64_t i) {
  return VisitDType(tensor.dtype(),
                    [&](auto zero) { return static_cast<R>(tensor.data<decltype(zero)>()[i]); });
}

// Stores v as element i of `tensor`; bool keeps only whether v is non-zero.
template <typename V>
void Store(Tensor* tensor, int64_t i, V v) {
  if (tensor->dtype() == DType::kBool) {
    tensor->data<uint8_t>()[i] = v != 0;
    return;
  }
  VisitDType(tensor->dtype(), [&](auto zero) {
    using T = decltype(zero);
    tensor->data<T>()[i] = static_cast<T>(v);
  });
}

}  // namespace

namespace internal {

void ThrowInvalidDType(DType dtype) {
  throw std::invalid_argument("invalid DType " + std::to_string(static_cast<int>(dtype)));
}

}  // namespace internal

size_t DTypeSize(DType dtype) {
  return VisitDType(dtype, [](auto zero) { return sizeof(zero); });
}

const char* DTypeName(DType dtype) {
  const DTypeFacts* facts = FactsOf(dtype);
  return facts ? facts->name : "unknown";
}

bool IsFloatingPoint(DType dtype) {
  const DTypeFacts* facts = FactsOf(dtype);
  return facts && facts->floating;
}

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Status CheckTensorSize(const Shape& shape, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d <= 0) {
      if (d == 0) return Status::Ok();  // empty, whatever the other dims
      continue;
    }
    if (n > kMaxTensorElements / d) {
      return InvalidArgument(what + " would have more than " + std::to_string(kMaxTensorElements) +
                             " elements " + ShapeToString(shape) + " (the limit of one tensor)");
    }
    n *= d;
  }
  return Status::Ok();
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
  RefuseHalf(dtype_, "Tensor::IntAt");
  return Load<int64_t>(*this, i);
}

double Tensor::FloatAt(int64_t i) const {
  RefuseHalf(dtype_, "Tensor::FloatAt");
  return Load<double>(*this, i);
}

void Tensor::SetFromDouble(int64_t i, double v) {
  RefuseHalf(dtype_, "Tensor::SetFromDouble");
  Store(this, i, v);
}

void Tensor::SetFromInt(int64_t i, int64_t v) {
  RefuseHalf(dtype_, "Tensor::SetFromInt");
  // Through double, as constant folding always stored integer results into
  // floating tensors: int64 -> double -> float can round differently from
  // int64 -> float, and folded constants stay as they were.
  if (IsFloatingPoint(dtype_)) {
    Store(this, i, static_cast<double>(v));
  } else {
    Store(this, i, v);
  }
}

std::vector<int64_t> Tensor::ToInt64Vector() const {
  std::vector<int64_t> v(size_);
  for (int64_t i = 0; i < size_; ++i) v[i] = IntAt(i);
  return v;
}

}  // namespace mixq
