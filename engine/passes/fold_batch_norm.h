// Folds an inference-mode BatchNormalization into the Conv, ConvTranspose or
// Gemm feeding it: with s = gamma / sqrt(var + eps), the weights' output
// channels are scaled by s (a ConvTranspose's W [C_in, C_out / group, ...]
// holds output channel g * (C_out / group) + j at [group g's inputs, j]) and
// the bias becomes (b - mean) * s + beta. The BN node then disappears and
// the layer produces the BN's output value. A BN is left standalone when its
// producer's output has another consumer or is a graph output, or when any
// weight involved is not a float32 constant.
#ifndef MIXQ_ENGINE_PASSES_FOLD_BATCH_NORM_H_
#define MIXQ_ENGINE_PASSES_FOLD_BATCH_NORM_H_

#include "common/status.h"
#include "engine/ir/graph.h"

namespace mixq {

// Rewrites `graph` in place. Weights used by this Conv/Gemm alone are
// updated under their own names; shared ones are copied to
// "<node>_bn_folded_weight" / "<node>_bn_folded_bias" first.
Status FoldBatchNorm(Graph* graph);

}  // namespace mixq

#endif  // MIXQ_ENGINE_PASSES_FOLD_BATCH_NORM_H_
