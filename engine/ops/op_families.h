// The op families' lookups, which op_registry.cc consults in turn: each
// returns its OpDef for the ops it defines and nullptr for the others.
// Internal to engine/ops/.
#ifndef MIXQ_ENGINE_OPS_OP_FAMILIES_H_
#define MIXQ_ENGINE_OPS_OP_FAMILIES_H_

#include "engine/ir/graph.h"
#include "engine/ops/op_def.h"

namespace mixq {

const OpDef* GenerateOpDef(OpType op);  // generate.cc: ConstantOfShape, Range
const OpDef* IndexingOpDef(OpType op);  // indexing.cc: Mod, ScatterND
const OpDef* UnaryOpDef(OpType op);     // unary.cc: Abs, Neg, Sqrt, Exp, ..., Gelu
const OpDef* BinaryOpDef(OpType op);    // binary.cc: Pow, Min, Max, Sum, Mean
const OpDef* LogicOpDef(OpType op);     // logic.cc: Equal, Greater, ..., And, Or, Not, Where
const OpDef* PReluOpDef(OpType op);     // prelu.cc: PRelu
const OpDef* ReduceOpDef(OpType op);    // reduce.cc: ReduceMean ... ReduceSumSquare, ArgMax/Min
const OpDef* NormalizationOpDef(OpType op);  // normalization.cc: Layer/InstanceNormalization, LRN
const OpDef* ConvTransposeOpDef(OpType op);  // conv_transpose.cc: ConvTranspose
const OpDef* EinsumOpDef(OpType op);         // einsum.cc: Einsum
const OpDef* PadOpDef(OpType op);            // pad.cc: Pad
const OpDef* SliceSplitOpDef(OpType op);     // slice_split.cc: Slice, Split
const OpDef* ResizeOpDef(OpType op);         // resize.cc: Resize, Upsample
const OpDef* BroadcastCopyOpDef(OpType op);  // broadcast_copy.cc: Expand, Tile
const OpDef* SpaceDepthOpDef(OpType op);     // space_depth.cc: DepthToSpace, SpaceToDepth
const OpDef* GatherCastOpDef(OpType op);     // gather_cast.cc: Gather, Cast (host kernels)

}  // namespace mixq

#endif  // MIXQ_ENGINE_OPS_OP_FAMILIES_H_
