// How graph-level element-wise ops map to oneDNN eltwise algorithms, and the
// post-op chains fused into Conv/Gemm/MatMul/binary primitives.
#ifndef MIXQ_WORKER_LOWER_POST_OPS_H_
#define MIXQ_WORKER_LOWER_POST_OPS_H_

#include <dnnl.hpp>
#include <vector>

#include "common/status.h"
#include "worker/graph.h"

namespace mixq {

struct EltwiseStep {
  dnnl::algorithm algorithm;
  float alpha = 0.f;
  float beta = 0.f;
};

// The oneDNN eltwise chain computing `op` with its attribute values (alpha,
// beta as in PostOp). HardSigmoid needs two steps (linear, then clip).
StatusOr<std::vector<EltwiseStep>> EltwiseChain(OpType op, float alpha, float beta);
// The PostOp form of an eltwise node's attributes.
StatusOr<PostOp> EltwisePostOpOf(const Node& node);

// Appends `node.post_ops` to `ops` in order (sum with scale 1).
Status AppendPostOps(const Node& node, dnnl::post_ops* ops);

}  // namespace mixq

#endif  // MIXQ_WORKER_LOWER_POST_OPS_H_
