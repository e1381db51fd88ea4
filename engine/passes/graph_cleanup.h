// Rewrites that turn a shape-checked graph into the executor's form: no
// Identity/Dropout, one reshape op, no dead nodes or unused values. Run by
// Specialize() after every shape is concrete.
#ifndef MIXQ_ENGINE_PASSES_GRAPH_CLEANUP_H_
#define MIXQ_ENGINE_PASSES_GRAPH_CLEANUP_H_

#include "common/status.h"
#include "engine/ir/graph.h"

namespace mixq {

// Removes Identity and Dropout nodes by renaming values. Graph output names
// are kept: when the removed node produced an output, its producer's output
// is renamed instead; when that is impossible (the input is a graph input or
// another output) the node becomes a copying kReshape.
Status RemoveIdentities(Graph* graph);

// Flatten, Squeeze, Unsqueeze and Reshape become kReshape with one input
// and attrs {shape: concrete output shape, allowzero: 1}.
void LowerReshapes(Graph* graph);

// Drops nodes whose outputs no graph output needs, then constants and value
// infos nothing refers to (graph inputs are always kept).
void RemoveDeadCode(Graph* graph);

}  // namespace mixq

#endif  // MIXQ_ENGINE_PASSES_GRAPH_CLEANUP_H_
