// Specialisation: the imported graph with concrete input shapes, in the form
// the executor compiles. Every shape becomes known, Shape/Gather/... chains
// fold into constants (constant_folding.h), a Pad before a Conv or pool
// becomes that op's padding where it can (fold_pad.h), Identity/Dropout go,
// nodes computing the same thing twice merge (common_subexpressions.h),
// GELU and LayerNorm written out in elementary ops become one Gelu or
// LayerNormalization node (gelu_fusion.h, layer_norm_fusion.h), and
// Flatten/Squeeze/Unsqueeze/Reshape become kReshape (graph_cleanup.h).
#ifndef MIXQ_ENGINE_PASSES_SPECIALIZE_H_
#define MIXQ_ENGINE_PASSES_SPECIALIZE_H_

#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"
#include "common/tensor.h"
#include "engine/ir/graph.h"

namespace mixq {

// Returns a copy of `graph` specialised to concrete input shapes (see the
// file comment). `input_shapes` maps each graph input to its shape; inputs
// not named keep the shape the model declares (which must then be static).
// Fails with InvalidArgument naming the node when shapes do not fit.
StatusOr<Graph> Specialize(const Graph& graph, const std::map<std::string, Shape>& input_shapes);

// Convenience: the first input's declared shape with the batch dim set to
// `batch`, then Specialize().
StatusOr<Graph> SpecializeForBatch(const Graph& graph, int64_t batch);

}  // namespace mixq

#endif  // MIXQ_ENGINE_PASSES_SPECIALIZE_H_
