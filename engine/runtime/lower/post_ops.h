// How graph-level element-wise ops map to oneDNN eltwise algorithms, and the
// post-op chains fused into Conv/Gemm/MatMul/binary primitives.
#ifndef MIXQ_ENGINE_RUNTIME_LOWER_POST_OPS_H_
#define MIXQ_ENGINE_RUNTIME_LOWER_POST_OPS_H_

#include <dnnl.hpp>
#include <vector>

#include "common/status.h"
#include "engine/ir/graph.h"

namespace mixq {

struct EltwiseStep {
  dnnl::algorithm algorithm;
  float alpha = 0.f;
  float beta = 0.f;
};

// The oneDNN eltwise chain computing `op` with its attribute values (alpha,
// beta as in PostOp). HardSigmoid needs two steps (linear, then clip).
StatusOr<std::vector<EltwiseStep>> EltwiseChain(OpType op, float alpha, float beta);

// oneDNN 2.6's jit kernels run a post-op list that holds one eltwise
// algorithm twice with the first one's parameters (measured for FP32 and
// INT8 convolutions on AVX2 and AVX-512: Clip then Clip, HardSigmoid's
// linear step then INT8's quantising one). SimplifyChain() returns an equal
// chain with fewer repeats: adjacent linear steps merge, adjacent clamps
// (Clip, ReLU, LeakyReLU of the same kind) merge, and a linear step with a
// positive slope moves ahead of the clamps before it (their bounds mapped
// through it). Other steps are left in place.
std::vector<EltwiseStep> SimplifyChain(std::vector<EltwiseStep> chain);

// Appends `run`, simplified, to `ops`; Unimplemented when an algorithm would
// then appear in `ops` twice with different parameters.
Status AppendEltwiseRun(const std::vector<EltwiseStep>& run, dnnl::post_ops* ops);

// A primitive attribute carrying `leading` (post-ops a lowering needs first,
// e.g. Gemm's bias add), then `first_steps` (eltwise steps it needs first,
// e.g. a swapped Sub's negation) and `node.post_ops` in order (sum with
// scale 1), eltwise runs simplified (AppendEltwiseRun).
StatusOr<dnnl::primitive_attr> PostOpsAttr(const Node& node, dnnl::post_ops leading = {},
                                           std::vector<EltwiseStep> first_steps = {});

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_LOWER_POST_OPS_H_
