#include "common/npy_reader.h"

#include <cctype>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "common/file_bytes.h"

namespace mixq {
namespace {

constexpr std::string_view kMagic("\x93NUMPY", 6);

// The three entries numpy writes in the header dict.
struct NpyHeader {
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<Shape> shape;
};

// A recursive-descent parser for the small subset of Python literals that
// numpy.lib.format writes: a dict of string keys whose values are a string,
// True/False, or a tuple of non-negative integers.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  // Fills `header` or returns a description of what was wrong.
  std::optional<std::string> Parse(NpyHeader* header) {
    SkipSpace();
    if (!Consume('{')) return "expected '{'";
    for (;;) {
      SkipSpace();
      if (Consume('}')) break;
      std::string key;
      if (!ParseString(&key)) return "expected a quoted key";
      SkipSpace();
      if (!Consume(':')) return "expected ':' after '" + key + "'";
      SkipSpace();
      if (key == "descr") {
        std::string descr;
        if (!ParseString(&descr)) return "'descr' must be a string";
        header->descr = descr;
      } else if (key == "fortran_order") {
        bool value = false;
        if (!ParseBool(&value)) return "'fortran_order' must be True or False";
        header->fortran_order = value;
      } else if (key == "shape") {
        Shape shape;
        if (!ParseTuple(&shape)) return "'shape' must be a tuple of non-negative integers";
        header->shape = shape;
      } else {
        return "unexpected key '" + key + "'";
      }
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume('}')) break;
      return "expected ',' or '}'";
    }
    SkipSpace();
    if (pos_ != text_.size()) return "unexpected text after the dict";
    return std::nullopt;
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool ConsumeWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  bool ParseString(std::string* out) {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) return false;
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) return false;
    *out = std::string(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return true;
  }
  bool ParseBool(bool* out) {
    if (ConsumeWord("True")) {
      *out = true;
      return true;
    }
    if (ConsumeWord("False")) {
      *out = false;
      return true;
    }
    return false;
  }
  bool ParseInt(int64_t* out) {
    const size_t start = pos_;
    int64_t value = 0;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      if (value > (int64_t{1} << 55)) return false;  // far beyond any real array
      value = value * 10 + (text_[pos_++] - '0');
    }
    if (pos_ == start) return false;
    Consume('L');  // Python 2 long literals
    *out = value;
    return true;
  }
  bool ParseTuple(Shape* out) {
    if (!Consume('(')) return false;
    for (;;) {
      SkipSpace();
      if (Consume(')')) return true;
      int64_t dim = 0;
      if (!ParseInt(&dim)) return false;
      out->push_back(dim);
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      return Consume(')');
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// Maps a descr such as '<f4' to a dtype; `swap` is set for big-endian data.
bool DescrDType(const std::string& descr, DType* dtype, bool* swap) {
  if (descr.size() != 3) return false;
  const char order = descr[0];
  const std::string type = descr.substr(1);
  if (type == "f4") {
    *dtype = DType::kF32;
  } else if (type == "f8") {
    *dtype = DType::kF64;
  } else if (type == "u1") {
    *dtype = DType::kU8;
  } else if (type == "i1") {
    *dtype = DType::kI8;
  } else if (type == "i4") {
    *dtype = DType::kI32;
  } else if (type == "i8") {
    *dtype = DType::kI64;
  } else {
    return false;
  }
  const bool one_byte = DTypeSize(*dtype) == 1;
  if (order == '<' || order == '=' || (order == '|' && one_byte)) {
    *swap = false;  // mixq runs on little-endian x86-64 only
    return true;
  }
  if (order == '>') {
    *swap = true;
    return true;
  }
  return false;
}

}  // namespace

StatusOr<RawArray> ParseNpy(std::vector<uint8_t> bytes, const std::string& source) {
  if (bytes.size() < kMagic.size() ||
      std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) {
    return InvalidArgument(source + ": not an NPY file: it does not start with \"\\x93NUMPY\"");
  }
  if (bytes.size() < 10) {
    return DataLoss(source + ": truncated NPY header: file has " + std::to_string(bytes.size()) +
                    " bytes");
  }
  const int major = bytes[6];
  size_t header_len = 0;
  size_t header_start = 0;
  if (major == 1) {
    header_len = size_t{bytes[8]} | (size_t{bytes[9]} << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) {
      return DataLoss(source + ": truncated NPY header: file has " + std::to_string(bytes.size()) +
                      " bytes");
    }
    header_len = size_t{bytes[8]} | (size_t{bytes[9]} << 8) | (size_t{bytes[10]} << 16) |
                 (size_t{bytes[11]} << 24);
    header_start = 12;
  } else {
    return Unimplemented(source + ": NPY format version " + std::to_string(major) + "." +
                         std::to_string(bytes[7]) + " is not supported (1.0, 2.0, 3.0 are)");
  }
  if (bytes.size() < header_start + header_len) {
    return DataLoss(source + ": truncated NPY header: expected " +
                    std::to_string(header_start + header_len) + " bytes, file has " +
                    std::to_string(bytes.size()));
  }

  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + header_start),
                              header_len);
  NpyHeader header;
  if (auto error = HeaderParser(text).Parse(&header)) {
    return InvalidArgument(source + ": bad NPY header: " + *error);
  }
  if (!header.descr || !header.fortran_order || !header.shape) {
    return InvalidArgument(source +
                           ": bad NPY header: it needs 'descr', 'fortran_order' and 'shape'");
  }
  if (*header.fortran_order) {
    return Unimplemented(source + ": NPY array is in Fortran order; save it in C order " +
                         "(numpy.ascontiguousarray)");
  }
  RawArray array;
  bool swap = false;
  if (!DescrDType(*header.descr, &array.dtype, &swap)) {
    return Unimplemented(source + ": NPY element type '" + *header.descr +
                         "' is not supported (f4, f8, u1, i1, i4, i8)");
  }
  if (header.shape->empty()) {
    return InvalidArgument(source + ": NPY array is a scalar (shape ()), expected [N, ...]");
  }
  array.shape = *header.shape;

  const size_t data_start = header_start + header_len;
  MIXQ_ASSIGN_OR_RETURN(const size_t payload, PayloadBytes(array.shape, array.dtype, source));
  const size_t expected = data_start + payload;
  if (bytes.size() != expected) {
    return DataLoss(source + (bytes.size() < expected ? ": truncated" : ": trailing data") +
                    ": expected " + std::to_string(expected) + " bytes (" +
                    std::to_string(data_start) + "-byte header + " + ShapeToString(array.shape) +
                    " " + DTypeName(array.dtype) + "), file has " + std::to_string(bytes.size()));
  }
  bytes.erase(bytes.begin(), bytes.begin() + data_start);
  array.data = std::move(bytes);
  if (swap) ReverseByteOrder(&array.data, DTypeSize(array.dtype));
  return array;
}

StatusOr<RawArray> ReadNpy(const std::string& path) {
  MIXQ_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  return ParseNpy(std::move(bytes), path);
}

}  // namespace mixq
