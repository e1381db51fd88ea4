// Fixed input shapes for models whose inputs have symbolic dims (an export
// from another framework declares [N,3,H,W] or ['batch', 3, 'height',
// 'width']): what `--input-shape` and the `input_shape` key of job and
// dataset files give, before any model is read. Keys are input names; the
// empty key names the model's first input, whatever it is called. Checking
// them against a model and specialising it is engine/passes/input_shapes.h.
//
// Text form (the command line, and also accepted in YAML files):
//   shape  := dim ("x" dim)*          e.g. 1x3x640x640
//   dim    := a decimal integer in [1, 2^31 - 1], digits only
//   entry  := shape | NAME ":" shape  (split at the last ':', so TensorFlow
//                                       names like "input:0" work)
// At most kMaxInputRank dims, and at most 2^62 elements in all.
#ifndef MIXQ_COMMON_INPUT_SHAPES_H_
#define MIXQ_COMMON_INPUT_SHAPES_H_

#include <map>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/tensor.h"

namespace mixq {

// Input name -> shape; "" = the model's first input.
using InputShapes = std::map<std::string, Shape>;

// oneDNN's limit on a tensor's rank (DNNL_MAX_NDIMS).
inline constexpr size_t kMaxInputRank = 12;

// InvalidArgument, one line without context, when `shape` is not a shape a
// user may fix an input to: empty, more than kMaxInputRank dims, a dim
// outside [1, 2^31 - 1], or more than 2^62 elements.
Status CheckInputShape(const Shape& shape);

// "1x3x640x640" -> {1, 3, 640, 640}. InvalidArgument quoting the text and
// saying what is wrong ("'1x3xAx4': 'A' is not a positive integer").
StatusOr<Shape> ParseShapeText(std::string_view text);

// Adds one entry, "NAME:1x3x640x640" or "1x3x640x640" (the first input), to
// `shapes`. InvalidArgument for malformed text or an input given twice.
Status AddInputShapeText(std::string_view text, InputShapes* shapes);

// "1x3x640x640", "images:1x3x640x640" and such entries joined by ", " in key
// order: for messages and for reading back with AddInputShapeText().
std::string InputShapesText(const InputShapes& shapes);

// "1x3x640x640".
std::string ShapeText(const Shape& shape);

// `base` with every entry of `over` added, replacing an entry of the same
// key: a command's --input-shape over a dataset file's input_shape. Merge
// shapes keyed by input name (ResolveInputShapes(), engine/passes/
// input_shapes.h), or "" would stand beside the first input's name.
InputShapes MergeInputShapes(InputShapes base, const InputShapes& over);

}  // namespace mixq

#endif  // MIXQ_COMMON_INPUT_SHAPES_H_
