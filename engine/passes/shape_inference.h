// Shape inference for one node of the graph IR. From the input types and
// shapes in graph.values (and the graph's constants) it writes the outputs'
// ValueInfos, checks that the inputs fit the op (channel counts, inner
// dimensions, broadcasting), and normalises the attributes that need ranks or
// constant inputs: Conv/pool kernel_shape, strides, dilations and pads made
// explicit (auto_pad resolved once spatial dims are known), axes made
// non-negative, Transpose perm made explicit, and Clip min/max, Squeeze/
// Unsqueeze axes, Dropout ratio/training_mode moved from constant inputs into
// attributes (the inputs are then dropped).
//
// Dims of -1 (a dynamic batch) propagate as -1.
#ifndef MIXQ_ENGINE_PASSES_SHAPE_INFERENCE_H_
#define MIXQ_ENGINE_PASSES_SHAPE_INFERENCE_H_

#include "common/status.h"
#include "engine/ir/broadcast.h"
#include "engine/ir/graph.h"

namespace mixq {

// Returns true when the outputs were inferred, false when they cannot be yet
// (an input's shape is unknown, or a shape-defining input is not constant)
// and `concrete` is false. With `concrete` true every input must be known and
// not knowing an output is an error. Shape mismatches are InvalidArgument,
// unsupported variants Unimplemented; messages name the file and the node.
StatusOr<bool> InferNodeShapes(Graph* graph, Node* node, bool concrete);

}  // namespace mixq

#endif  // MIXQ_ENGINE_PASSES_SHAPE_INFERENCE_H_
