// Merges nodes that compute the same value twice: the same op on the same
// inputs with the same attributes. Exporters repeat such work where the
// source code does (torch's `x.var()` beside `x.mean()` in a hand-written
// LayerNorm centres x twice, once per ReduceMean), which both costs time and
// hides the pattern the fusions look for (one centred x feeding the
// variance and the division). Quantizable layers are left alone: each is a
// named entry of the precision config, and two layers that happen to read
// the same input with the same weights stay two entries.
#ifndef MIXQ_ENGINE_PASSES_COMMON_SUBEXPRESSIONS_H_
#define MIXQ_ENGINE_PASSES_COMMON_SUBEXPRESSIONS_H_

#include "engine/ir/graph.h"

namespace mixq {

// Rewrites `graph` in place: a node equal to an earlier one is removed and
// its outputs' readers read the earlier node's outputs instead. A node one
// of whose outputs is a graph output is kept (the output's name must stay).
// Returns how many nodes it removed.
int MergeCommonSubexpressions(Graph* graph);

}  // namespace mixq

#endif  // MIXQ_ENGINE_PASSES_COMMON_SUBEXPRESSIONS_H_
