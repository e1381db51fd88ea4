// Recognises the sub-graphs exporters write for activations that ONNX lacks
// (SiLU) or that they spell out (HardSwish before opset 14), and rewrites
// each into one node that the fusion pass (fusion.h) folds into the layer
// before it:
//
//   x * Sigmoid(x)                              -> Swish post-op carrier
//   x * HardSigmoid(x), alpha 1/6, beta 1/2     -> HardSwish
//   x * Relu6(x + 3) / 6, x * (Relu6(x + 3) / 6) -> HardSwish
//
// Relu6 is Clip(0, 6) or any chain of Relu and Clip nodes that clamps to
// [0, 6] (torch writes Relu then Clip); "/ 6" is a Div by 6 or a Mul by 1/6
// (scalar constants). Every Mul and Add may have its operands in either
// order. A sub-graph is rewritten only when the Mul reads the very value x
// that the activation reads, and every intermediate value has that one
// consumer and is not a graph output; otherwise it is left as it is. The
// new node takes the name of the sub-graph's last node and its output value.
//
// SiLU has no op in the IR, so its node is a post-op carrier: a kIdentity
// node whose post_ops hold the Swish post-op (SwishPostOp()), i.e. its input
// passed through its post-ops. The fusion pass folds a carrier like an
// eltwise node; one it cannot fold runs on its own (lower/eltwise.cc).
#ifndef MIXQ_ENGINE_PASSES_ACTIVATION_PATTERNS_H_
#define MIXQ_ENGINE_PASSES_ACTIVATION_PATTERNS_H_

#include "engine/ir/graph.h"

namespace mixq {

// Swish, x * Sigmoid(alpha * x), as a post-op: {kEltwise, eltwise = kMul,
// alpha} ("x times its own Sigmoid"); SiLU is alpha 1.
PostOp SwishPostOp(float alpha = 1.f);

// True for a post-op carrier: a kIdentity node with one input and only
// eltwise post-ops.
bool IsPostOpCarrier(const Node& node);

// Rewrites the sub-graphs above in place (see the file comment).
void RewriteActivationPatterns(Graph* graph);

}  // namespace mixq

#endif  // MIXQ_ENGINE_PASSES_ACTIVATION_PATTERNS_H_
