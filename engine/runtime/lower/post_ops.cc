#include "engine/runtime/lower/post_ops.h"

#include <limits>

namespace mixq {

using dnnl::algorithm;

StatusOr<std::vector<EltwiseStep>> EltwiseChain(OpType op, float alpha, float beta) {
  switch (op) {
    case OpType::kRelu:
      return std::vector<EltwiseStep>{{algorithm::eltwise_relu, 0.f, 0.f}};
    case OpType::kLeakyRelu:
      return std::vector<EltwiseStep>{{algorithm::eltwise_relu, alpha, 0.f}};
    case OpType::kClip:
      // Clip(0, inf) is a ReLU; the ReLU kernels are the cheaper post-op.
      if (alpha == 0.f && beta == std::numeric_limits<float>::infinity()) {
        return std::vector<EltwiseStep>{{algorithm::eltwise_relu, 0.f, 0.f}};
      }
      return std::vector<EltwiseStep>{{algorithm::eltwise_clip, alpha, beta}};
    case OpType::kSigmoid:
      return std::vector<EltwiseStep>{{algorithm::eltwise_logistic, 0.f, 0.f}};
    case OpType::kTanh:
      return std::vector<EltwiseStep>{{algorithm::eltwise_tanh, 0.f, 0.f}};
    case OpType::kHardSwish:
      return std::vector<EltwiseStep>{{algorithm::eltwise_hardswish, 0.f, 0.f}};
    case OpType::kMul:
      // Swish, x * Sigmoid(alpha * x): how the IR writes SiLU as a post-op
      // (engine/passes/activation_patterns.h).
      return std::vector<EltwiseStep>{{algorithm::eltwise_swish, alpha, 0.f}};
    case OpType::kHardSigmoid:
      // oneDNN 2.6 has no hardsigmoid: max(0, min(1, alpha * x + beta)).
      return std::vector<EltwiseStep>{{algorithm::eltwise_linear, alpha, beta},
                                      {algorithm::eltwise_clip, 0.f, 1.f}};
    case OpType::kAbs:
      return std::vector<EltwiseStep>{{algorithm::eltwise_abs, 0.f, 0.f}};
    case OpType::kNeg:
      return std::vector<EltwiseStep>{{algorithm::eltwise_linear, -1.f, 0.f}};
    case OpType::kSqrt:
      return std::vector<EltwiseStep>{{algorithm::eltwise_sqrt, 0.f, 0.f}};
    case OpType::kReciprocal:
      // eltwise_pow computes alpha * x^beta.
      return std::vector<EltwiseStep>{{algorithm::eltwise_pow, 1.f, -1.f}};
    case OpType::kExp:
      return std::vector<EltwiseStep>{{algorithm::eltwise_exp, 0.f, 0.f}};
    case OpType::kLog:
      return std::vector<EltwiseStep>{{algorithm::eltwise_log, 0.f, 0.f}};
    case OpType::kRound:
      // Rounds halves to even, as ONNX's Round does.
      return std::vector<EltwiseStep>{{algorithm::eltwise_round, 0.f, 0.f}};
    case OpType::kElu:
      return std::vector<EltwiseStep>{{algorithm::eltwise_elu, alpha, 0.f}};
    case OpType::kSelu:
      // gamma * elu_alpha(x); beta carries gamma (see EltwisePostOpOf).
      return std::vector<EltwiseStep>{{algorithm::eltwise_elu, alpha, 0.f},
                                      {algorithm::eltwise_linear, beta, 0.f}};
    case OpType::kSoftplus:
      // oneDNN 2.6's soft_relu is log(1 + e^x), with no parameter.
      return std::vector<EltwiseStep>{{algorithm::eltwise_soft_relu, 0.f, 0.f}};
    case OpType::kGelu:
      return std::vector<EltwiseStep>{
          {alpha != 0.f ? algorithm::eltwise_gelu_tanh : algorithm::eltwise_gelu_erf, 0.f, 0.f}};
    default:
      break;
  }
  return Unimplemented(std::string(OpTypeName(op)) + " is not an element-wise op");
}

StatusOr<dnnl::primitive_attr> PostOpsAttr(const Node& node, dnnl::post_ops leading) {
  for (const PostOp& op : node.post_ops) {
    if (op.kind == PostOp::Kind::kSum) {
      leading.append_sum(1.f);
      continue;
    }
    MIXQ_ASSIGN_OR_RETURN(std::vector<EltwiseStep> chain,
                          EltwiseChain(op.eltwise, op.alpha, op.beta));
    for (const EltwiseStep& step : chain) {
      leading.append_eltwise(1.f, step.algorithm, step.alpha, step.beta);
    }
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(leading);
  return attr;
}

}  // namespace mixq
