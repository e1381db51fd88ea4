// PRelu's slope alignment, shared by its shape rule and host kernel
// (prelu.cc) and its oneDNN lowering (runtime/lower/prelu.cc).
#ifndef MIXQ_ENGINE_OPS_PRELU_H_
#define MIXQ_ENGINE_OPS_PRELU_H_

#include "common/tensor.h"

namespace mixq {

// The shape in which PRelu reads its slope against an input of shape `x`,
// as many dims as `x` (leading 1s added): the slope's own shape where it
// broadcasts to `x` without changing `x`'s shape (ONNX's unidirectional
// broadcast), otherwise [1, C, 1, ..., 1] for a 1-D slope of `x`'s channel
// count C (opset 6's per-channel slope, which some exporters still write
// for 3-D and 4-D inputs). False when neither applies.
bool PReluSlopeShape(const Shape& x, const Shape& slope, Shape* aligned);

}  // namespace mixq

#endif  // MIXQ_ENGINE_OPS_PRELU_H_
