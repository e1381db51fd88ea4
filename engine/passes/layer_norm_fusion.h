// Recognises the LayerNorm that exporters decompose for opsets before 17
// (torch.onnx writes it so) and replaces it with one LayerNormalization node:
//
//   m = ReduceMean(x, axes A)              A: the trailing axes k..rank-1
//   d = Sub(x, m)
//   v = ReduceMean(Pow(d, 2) | Mul(d, d), axes A)
//   n = Div(d, Sqrt(Add(v, epsilon)))      epsilon: a one-element constant;
//       or Mul(d, r), r = Div(1, Sqrt(...)) or Reciprocal(Sqrt(...))
//       (torch's rsqrt)
//   y = Add(Mul(n, scale), bias)           either or both may be absent;
//                                          constants that broadcast to
//                                          x's dims k.. only
//
// becomes LayerNormalization(x, scale, [bias]) {axis: k, epsilon} producing
// y (an absent scale becomes a constant of ones). A LayerNorm that centres x
// twice (torch's x.var() beside x.mean()) matches once Specialize() has
// merged the two (MergeCommonSubexpressions). Every value inside the
// pattern must feed only the pattern (d: the squaring and the Div) and none
// may be a graph output; keepdims must be 1. Anything else - another axis
// set for either mean, an exponent other than 2, a scale that broadcasts
// over other axes - is left as it is.
#ifndef MIXQ_ENGINE_PASSES_LAYER_NORM_FUSION_H_
#define MIXQ_ENGINE_PASSES_LAYER_NORM_FUSION_H_

#include "engine/ir/graph.h"

namespace mixq {

// Rewrites `graph` in place (shapes must be inferred: the pattern is found
// by x's rank); returns how many LayerNorms it fused. Leaves the removed
// nodes' values and constants for RemoveDeadCode().
int FuseLayerNorms(Graph* graph);

}  // namespace mixq

#endif  // MIXQ_ENGINE_PASSES_LAYER_NORM_FUSION_H_
