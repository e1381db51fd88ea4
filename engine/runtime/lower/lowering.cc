#include "engine/runtime/lower/lowering.h"

namespace mixq {

LowerFn FindLowering(OpType op) {
  if (IsEltwise(op)) return LowerEltwise;
  switch (op) {
    case OpType::kConv:
      return LowerConv;
    case OpType::kGemm:
      return LowerGemm;
    case OpType::kMatMul:
      return LowerMatMul;
    case OpType::kBatchNorm:
      return LowerBatchNorm;
    case OpType::kAdd:
    case OpType::kSub:
    case OpType::kMul:
    case OpType::kDiv:
      return LowerBinary;
    case OpType::kMaxPool:
    case OpType::kAveragePool:
    case OpType::kGlobalAveragePool:
    case OpType::kGlobalMaxPool:
      return LowerPool;
    // Specialize() lowers these to Reshape; they are the same data movement.
    case OpType::kFlatten:
    case OpType::kSqueeze:
    case OpType::kUnsqueeze:
    case OpType::kReshape:
      return LowerReshape;
    case OpType::kTranspose:
      return LowerTranspose;
    case OpType::kConcat:
      return LowerConcat;
    case OpType::kSoftmax:
      return LowerSoftmax;
    default:
      return nullptr;
  }
}

}  // namespace mixq
