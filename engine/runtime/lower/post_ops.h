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

// A primitive attribute carrying `leading` (post-ops a lowering needs first,
// e.g. Gemm's bias add) followed by `node.post_ops` in order (sum with scale 1).
StatusOr<dnnl::primitive_attr> PostOpsAttr(const Node& node, dnnl::post_ops leading = {});

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_LOWER_POST_OPS_H_
