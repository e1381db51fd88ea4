// The executor's fusion pass: first rewrites the activation sub-graphs of
// activation_patterns.h (SiLU, HardSwish spelled out) into single nodes,
// then folds element-wise ops and post-op carriers into the Conv, Gemm,
// MatMul, binary or carrier node that produces their input, and a residual
// Add into the Conv producing one of its operands (a sum post-op), so that
// oneDNN runs them inside the producer's primitive. Fused nodes disappear;
// the producer takes over the last fused node's output name and lists the
// fused ops in Node::post_ops.
//
// An op is fused only when the producer's output has that op as its single
// consumer and is not a graph output. A residual Add is fused into a Conv
// without post-ops when the other operand has the same shape, is not a
// constant, and is computed before the Conv; a ReLU (or other eltwise) after
// the Add then follows as a post-op too.
#ifndef MIXQ_ENGINE_PASSES_FUSION_H_
#define MIXQ_ENGINE_PASSES_FUSION_H_

#include "engine/ir/graph.h"

namespace mixq {

// Returns `graph` with post-ops fused (see the file comment).
Graph FusePostOps(const Graph& graph);

}  // namespace mixq

#endif  // MIXQ_ENGINE_PASSES_FUSION_H_
