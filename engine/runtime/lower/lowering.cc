#include "engine/runtime/lower/lowering.h"

#include "engine/ir/op_kinds.h"
#include "engine/runtime/lower/host_op.h"

namespace mixq {

LowerFn FindLowering(OpType op) {
  if (IsEltwise(op)) return LowerEltwise;
  if (IsReduction(op)) return LowerReduce;
  switch (op) {
    case OpType::kConv:
      return LowerConv;
    case OpType::kConvTranspose:
      return LowerConvTranspose;
    case OpType::kEinsum:
      return LowerEinsum;
    case OpType::kGemm:
      return LowerGemm;
    case OpType::kMatMul:
      return LowerMatMul;
    case OpType::kBatchNorm:
      return LowerBatchNorm;
    // Specialize() removes Identity nodes; the fusion pass makes post-op
    // carriers of this op (engine/passes/activation_patterns.h).
    case OpType::kIdentity:
      return LowerEltwise;
    case OpType::kAdd:
    case OpType::kSub:
    case OpType::kMul:
    case OpType::kDiv:
      return LowerBinary;
    case OpType::kMin:
    case OpType::kMax:
    case OpType::kSum:
    case OpType::kMean:
      return LowerVariadic;
    case OpType::kPow:
      return LowerPow;
    case OpType::kPRelu:
      return LowerPRelu;
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
    case OpType::kLogSoftmax:
      return LowerSoftmax;
    case OpType::kLayerNormalization:
      return LowerLayerNorm;
    case OpType::kLRN:
      return LowerLrn;
    // oneDNN where its convention matches, else the host kernel.
    case OpType::kResize:
    case OpType::kUpsample:
      return LowerResize;
    case OpType::kSlice:
      return LowerSlice;
    case OpType::kSplit:
      return LowerSplit;
    default:
      // Ops oneDNN lacks run on their host kernels (engine/ops/).
      return HasHostKernel(op) ? LowerHostOp : nullptr;
  }
}

}  // namespace mixq
