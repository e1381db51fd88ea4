// Families of OpType that several layers treat alike (beside graph.h's
// IsQuantizable and IsEltwise): the importer sets their attribute defaults
// together and the executor picks one lowering for them.
#ifndef MIXQ_ENGINE_IR_OP_KINDS_H_
#define MIXQ_ENGINE_IR_OP_KINDS_H_

#include "engine/ir/graph.h"

namespace mixq {

// True for ReduceMean ... ReduceSumSquare (not the arg-reductions).
bool IsReduction(OpType op);

}  // namespace mixq

#endif  // MIXQ_ENGINE_IR_OP_KINDS_H_
