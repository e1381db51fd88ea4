// Constant folding: evaluates on the host the nodes whose inputs are all
// constants (and Shape of a value whose shape is fully known), so that
// shape computations such as PyTorch's Shape->Gather->Unsqueeze->Concat->
// Reshape chain become plain constants. Only data-movement and small
// arithmetic ops fold (Shape, Gather, Concat, Cast, Identity, Dropout,
// Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Add, Sub, Mul, Div); heavy
// ops stay nodes for the executor.
#ifndef MIXQ_ENGINE_PASSES_CONSTANT_FOLDING_H_
#define MIXQ_ENGINE_PASSES_CONSTANT_FOLDING_H_

#include "common/status.h"
#include "engine/ir/graph.h"

namespace mixq {

// If `node` can be folded, stores its outputs in graph->constants (and their
// infos in graph->values) and returns true; the caller drops the node.
// Returns false, leaving the graph as it was, when it cannot fold.
StatusOr<bool> TryFoldNode(Graph* graph, const Node& node);

// Walks the nodes in order, folding what folds and inferring the shapes of
// the rest (see shape_inference.h); folded nodes are removed. With
// `concrete`, every value must end with a fully known shape.
Status PropagateShapes(Graph* graph, bool concrete);

}  // namespace mixq

#endif  // MIXQ_ENGINE_PASSES_CONSTANT_FOLDING_H_
