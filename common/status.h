// Errors as values. A Status is OK or carries a code and a one-line message
// with its context (file, node, worker); StatusOr<T> holds a value or an
// error. Codes follow abseil's so callers can decide whether to retry:
// kInvalidArgument (bad user input: fix it), kUnimplemented (op or feature
// not supported), kNotFound, kDataLoss (corrupt or truncated data),
// kUnavailable (peer lost: retry elsewhere), kDeadlineExceeded,
// kFailedPrecondition (do not retry), kInternal (a bug in mixq).
//
// Library exceptions (dnnl::error, protobuf, yaml-cpp, zmq) are caught at the
// adapter that calls the library and turned into a Status there.
#ifndef MIXQ_COMMON_STATUS_H_
#define MIXQ_COMMON_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace mixq {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kUnimplemented,
  kDataLoss,
  kUnavailable,
  kDeadlineExceeded,
  kFailedPrecondition,
  kOutOfRange,
  kInternal,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  // `message` is made one line of valid UTF-8 (common/utf8.h OneLineUtf8):
  // messages quote names and bytes from files and peers, and end up in
  // terminals, JSON and SQLite.
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: <message>", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>".
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// A value or an error. Accessing value() of an error is a bug (asserts).
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT
  StatusOr(T value) : value_(std::move(value)) {}                                  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace mixq

#define MIXQ_CONCAT_INNER_(a, b) a##b
#define MIXQ_CONCAT_(a, b) MIXQ_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define MIXQ_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::mixq::Status mixq_status_ = (expr);        \
    if (!mixq_status_.ok()) return mixq_status_; \
  } while (0)

// MIXQ_ASSIGN_OR_RETURN(auto x, MakeX()); declares x from a StatusOr or
// returns its error.
#define MIXQ_ASSIGN_OR_RETURN(lhs, expr) \
  MIXQ_ASSIGN_OR_RETURN_IMPL_(MIXQ_CONCAT_(mixq_statusor_, __LINE__), lhs, expr)
#define MIXQ_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

#endif  // MIXQ_COMMON_STATUS_H_
