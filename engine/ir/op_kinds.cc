#include "engine/ir/op_kinds.h"

namespace mixq {

bool IsReduction(OpType op) {
  switch (op) {
    case OpType::kReduceMean:
    case OpType::kReduceSum:
    case OpType::kReduceMax:
    case OpType::kReduceMin:
    case OpType::kReduceProd:
    case OpType::kReduceL1:
    case OpType::kReduceL2:
    case OpType::kReduceSumSquare:
      return true;
    default:
      return false;
  }
}

}  // namespace mixq
