#include "engine/ir/graph.h"
#include "engine/ops/op_def.h"
#include "engine/ops/op_families.h"

namespace mixq {

const OpDef* FindOpDef(OpType op) {
  using Lookup = const OpDef* (*)(OpType);
  static constexpr Lookup kFamilies[] = {
      GenerateOpDef,      IndexingOpDef,      UnaryOpDef,      BinaryOpDef,
      LogicOpDef,         PReluOpDef,         ReduceOpDef,     NormalizationOpDef,
      ConvTransposeOpDef, EinsumOpDef,        PadOpDef,        SliceSplitOpDef,
      ResizeOpDef,        BroadcastCopyOpDef, SpaceDepthOpDef, GatherCastOpDef};
  for (Lookup lookup : kFamilies) {
    if (const OpDef* def = lookup(op)) return def;
  }
  return nullptr;
}

}  // namespace mixq
