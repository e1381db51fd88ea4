#include "common/input_shapes.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>

namespace mixq {
namespace {

constexpr int64_t kMaxDim = std::numeric_limits<int32_t>::max();
constexpr int64_t kMaxElements = int64_t{1} << 62;

// A dim of the text form: digits only, in [1, kMaxDim]; nullopt otherwise.
std::optional<int64_t> ParseDim(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > kMaxDim) return std::nullopt;
  return value;
}

}  // namespace

Status CheckInputShape(const Shape& shape) {
  if (shape.empty()) return InvalidArgument("a shape needs at least one dim");
  if (shape.size() > kMaxInputRank) {
    return InvalidArgument(ShapeToString(shape) + " has " + std::to_string(shape.size()) +
                           " dims; at most " + std::to_string(kMaxInputRank) + " are allowed");
  }
  int64_t elements = 1;
  for (int64_t d : shape) {
    if (d < 1 || d > kMaxDim) {
      return InvalidArgument(ShapeToString(shape) + ": dim " + std::to_string(d) +
                             " is not in [1, " + std::to_string(kMaxDim) + "]");
    }
    if (elements > kMaxElements / d) {
      return InvalidArgument(ShapeToString(shape) + " has more than 2^62 elements");
    }
    elements *= d;
  }
  return Status::Ok();
}

StatusOr<Shape> ParseShapeText(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return InvalidArgument("an empty shape; write it as 1x3x640x640");
  Shape shape;
  size_t begin = 0;
  while (true) {
    const size_t end = std::min(text.find('x', begin), text.size());
    const std::string_view item = text.substr(begin, end - begin);
    if (shape.size() == kMaxInputRank) {
      return InvalidArgument(quoted + " has more than " + std::to_string(kMaxInputRank) + " dims");
    }
    std::optional<int64_t> dim = ParseDim(item);
    if (!dim) {
      return InvalidArgument(quoted + ": '" + std::string(item) +
                             "' is not an integer in [1, 2^31 - 1] (write a shape as "
                             "1x3x640x640)");
    }
    shape.push_back(*dim);
    if (end == text.size()) break;
    begin = end + 1;
  }
  Status fits = CheckInputShape(shape);
  if (!fits.ok()) return InvalidArgument(quoted + ": " + fits.message());
  return shape;
}

Status AddInputShapeText(std::string_view text, InputShapes* shapes) {
  const size_t colon = text.rfind(':');
  const std::string name =
      colon == std::string_view::npos ? "" : std::string(text.substr(0, colon));
  if (colon != std::string_view::npos && name.empty()) {
    return InvalidArgument("'" + std::string(text) + "': the input name before ':' is empty");
  }
  MIXQ_ASSIGN_OR_RETURN(
      Shape shape, ParseShapeText(colon == std::string_view::npos ? text : text.substr(colon + 1)));
  if (!shapes->emplace(name, std::move(shape)).second) {
    return InvalidArgument(name.empty() ? "the first input's shape is given twice"
                                        : "input '" + name + "' is given twice");
  }
  return Status::Ok();
}

std::string ShapeText(const Shape& shape) {
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "x" : "") + std::to_string(shape[i]);
  return text;
}

std::string InputShapesText(const InputShapes& shapes) {
  std::string text;
  for (const auto& [name, shape] : shapes) {
    if (!text.empty()) text += ", ";
    text += (name.empty() ? "" : name + ":") + ShapeText(shape);
  }
  return text;
}

InputShapes MergeInputShapes(InputShapes base, const InputShapes& over) {
  for (const auto& [name, shape] : over) base[name] = shape;
  return base;
}

}  // namespace mixq
