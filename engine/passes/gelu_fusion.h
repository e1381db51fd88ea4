// Recognises GELU written out in elementary ops, as exporters emit it for
// opsets before 20 (which has no Gelu op), and replaces each match with one
// Gelu node, which oneDNN runs as one eltwise (or fuses into the Conv,
// Gemm or MatMul before it):
//   erf form:  x * 0.5 * (1 + Erf(x / sqrt(2)))      (or Erf(x * 0.7071...))
//   tanh form: x * 0.5 * (1 + Tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))
//              or Tanh((x * sqrt(2 / pi)) * (1 + 0.044715 * x^2)), the factored
//              ("fast") form; x^2 as x * x, Pow(x, 2) or a product of x,
//              x and 0.044715 in any grouping
// The 0.5 may multiply x, the (1 + ...) term or their product; Add and Mul
// operands may come in either order; x^3 may be Pow(x, 3), x * (x * x) or
// (x * x) * x. Each constant is a one-element float or integer constant
// within 1e-4 (relative) of its value; a pattern with another constant
// (0.6 for 0.5) is not GELU and stays as it is.
//
// A match also needs every intermediate value to have its single consumer
// inside the pattern and not to be a graph output, x to be float32 or
// float64, and the result to have x's shape. Specialize() runs it once
// every shape is known and Identity nodes are gone.
#ifndef MIXQ_ENGINE_PASSES_GELU_FUSION_H_
#define MIXQ_ENGINE_PASSES_GELU_FUSION_H_

#include "engine/ir/graph.h"

namespace mixq {

// Rewrites `graph` in place: the Gelu node takes the pattern's last node's
// place, name and output; the other nodes of the pattern and their output
// values are removed (constants they alone used are left to
// RemoveDeadCode()). Returns the number of patterns replaced.
int FuseGelu(Graph* graph);

}  // namespace mixq

#endif  // MIXQ_ENGINE_PASSES_GELU_FUSION_H_
